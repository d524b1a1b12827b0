//! The OpenAPI document against the router: every route the router holds is documented
//! with each method it takes, and nothing else is; every documented operation reaches a
//! handler, and unknown paths still reach the 404s.
//!
//! axum lists no routes, so the walk reads the router's `Debug` output (its route table:
//! each route's `MethodRouter` and the path it was registered under). A change in that
//! format fails the sanity checks below loudly rather than passing.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::TestApp;

/// The methods a `MethodRouter` prints, in its order.
const METHODS: [&str; 9] = [
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// `(method, path)` of every route the app's router holds, catch-alls (`{*…}`) left out.
fn router_routes() -> BTreeSet<(String, String)> {
    let state = asr_mock::build_state(&asr_mock::Config::default()).expect("state");
    let text = format!("{:?}", asr_mock::app(state));
    // The routes proper, not the fallback router's.
    let routes = &text[..text
        .find("fallback_router:")
        .expect("a fallback_router field")];
    let (table, paths) = routes
        .split_once("node: Node { paths: {")
        .expect("the route table's paths");
    let path_of = |id: &str| -> String {
        let key = format!("RouteId({id}): \"");
        let at = paths
            .find(&key)
            .unwrap_or_else(|| panic!("no path for RouteId({id})"));
        let rest = &paths[at + key.len()..];
        rest[..rest.find('"').expect("a closing quote")].to_owned()
    };
    let mut out = BTreeSet::new();
    for segment in table.split("RouteId(").skip(1) {
        let id = &segment[..segment.find(')').expect("RouteId(n)")];
        let path = path_of(id);
        assert!(
            segment.contains("MethodRouter {"),
            "{path} is not a MethodRouter route; the walk cannot tell its methods: {segment}"
        );
        if path.contains("{*") {
            continue;
        }
        for method in METHODS {
            if !segment.contains(&format!(" {method}: None")) {
                assert!(
                    segment.contains(&format!(" {method}: ")),
                    "{path}: no {method} field in {segment}"
                );
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

async fn document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(app.url("/__admin/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_route_the_router_serves_is_in_the_document() {
    let served = router_routes();
    // The walk sees the router: a format change in axum's Debug fails here, not silently.
    for known in [
        ("POST", "/v1/audio/transcriptions"),
        ("GET", "/v1/audio/transcriptions"),
        ("GET", "/openapi/asr/searchResult"),
        ("GET", "/__admin/health"),
        ("PUT", "/__admin/audio/{name}"),
    ] {
        assert!(
            served.contains(&(known.0.into(), known.1.into())),
            "the router walk missed {known:?}: {served:?}"
        );
    }
    let app = TestApp::start().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented(&doc);
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "served but not in the OpenAPI document (add each to mock-server/src/admin/openapi/): {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "in the OpenAPI document but not served: {stale:?}"
    );
}

/// What the catch-alls and method fallbacks say: no handler took the request.
fn unhandled(status: u16, body: &str) -> bool {
    status == 405
        || body.contains("no such endpoint")
        || body.contains("was not found")
        || body.contains("no control endpoint")
        || body.contains("no such API")
        || body.contains("does not take")
}

#[tokio::test]
async fn documented_operations_reach_handlers_and_unknown_paths_do_not() {
    let app = TestApp::start().await;
    let doc = document(&app).await;
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{id}", "1")
            .replace("{name}", "probe.wav")
            .replace("{kind}", "silence.wav");
        let mut req = app
            .http
            .request(method.parse().unwrap(), app.url(&concrete));
        if method == "GET" && path == "/v1/audio/transcriptions" {
            // The WebSocket upgrade: without these headers the path refuses GET.
            req = req
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let streamed = res
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        // An event stream never ends: its 200 and type show the handler took it.
        let body = if streamed {
            String::new()
        } else {
            res.text().await.unwrap_or_default()
        };
        assert!(
            !unhandled(status, &body),
            "{method} {concrete} is documented but no handler took it: {status} {body}"
        );
    }
    for (method, path) in [
        ("GET", "/__admin/nothing"),
        ("GET", "/v1/nothing"),
        ("POST", "/openapi/asr/nothing"),
        ("GET", "/nothing"),
        ("PATCH", "/__admin/health"),
        ("PUT", "/v1/audio/transcriptions"),
        ("DELETE", "/openapi/asr/voiceToText"),
    ] {
        assert!(
            !documented(&doc).contains(&(method.into(), path.into())),
            "{method} {path} is documented"
        );
        let res = app
            .http
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert!(
            unhandled(status, &body),
            "{method} {path} is not documented, yet a handler took it: {status} {body}"
        );
    }
}
