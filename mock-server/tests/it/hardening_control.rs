//! The control API against cross-site requests and DNS rebinding (Origin, Host, JSON
//! bodies), its token compared whole, its clock arithmetic checked, and icu strict
//! signatures held to a freshness window on the simulator's clock.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HOST, ORIGIN};
use reqwest::RequestBuilder;
use serde_json::{json, Value};

use asr_mock::control::types::{Advance, ClockMode, NewFixture};
use asr_mock::control::Control;
use asr_mock::testing::{request_params, sign, RawParams};
use asr_mock::{Config, MockServer};

use crate::support::{TestApp, START_MS};

/// Sends `req`; the status and the JSON body.
async fn call(req: RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("an answer");
    let status = res.status().as_u16();
    let raw = res.bytes().await.unwrap();
    let body = serde_json::from_slice(&raw)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&raw)));
    (status, body)
}

/// The control API's error message.
fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_else(|| panic!("{body}"))
}

impl TestApp {
    /// Registers a fixture a reset would forget.
    async fn mark(&self) {
        let marker = NewFixture::by_sha256("cd".repeat(32), "still here");
        self.control.add_fixture(&marker).await.unwrap();
    }

    async fn marked(&self) -> bool {
        let fixtures = self.control.fixtures().await.unwrap().fixtures;
        fixtures.iter().any(|f| f.fixture.text == "still here")
    }

    fn host_header(&self) -> String {
        self.server.addr().to_string()
    }
}

async fn with_config(config: Config) -> TestApp {
    TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await
}

#[tokio::test]
async fn cross_site_posts_cannot_drive_the_control_api() {
    let app = TestApp::start().await;
    app.mark().await;
    // The browser attack: a simple form post from another site.
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let (status, body) = call(
            app.http
                .post(app.url("/__admin/reset"))
                .header(ORIGIN, origin)
                .header(CONTENT_TYPE, "text/plain")
                .body("x"),
        )
        .await;
        assert_eq!(status, 403, "{origin}: {body}");
        assert!(
            error(&body).starts_with(&format!("cross-site request refused: Origin {origin} ")),
            "{body}"
        );
    }
    // The same from another site with a JSON body, and to other state-changing routes.
    let (status, _) = call(
        app.http
            .post(app.url("/__admin/clock/advance"))
            .header(ORIGIN, "https://evil.example")
            .json(&json!({"seconds": 60})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        app.http
            .delete(app.url("/__admin/requests"))
            .header(ORIGIN, "http://evil.example"),
    )
    .await;
    assert_eq!(status, 403);
    // Without an Origin, a non-JSON body is refused all the same (415).
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app.http.post(app.url("/__admin/reset")).body("x");
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        let (status, body) = call(req).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
        assert!(
            error(&body).starts_with(
                "the control API reads JSON: send the body with Content-Type: application/json"
            ),
            "{body}"
        );
    }
    assert!(app.marked().await, "nothing was reset");
    assert_eq!(app.control.clock().await.unwrap().now_ms, START_MS);

    // Reads stay open to any Origin (a browser cannot read the answer without CORS anyway).
    let (status, _) = call(
        app.http
            .get(app.url("/__admin/requests"))
            .header(ORIGIN, "http://evil.example"),
    )
    .await;
    assert_eq!(status, 200);
    // The server's own origin, and clients that send none, may change state.
    let own = format!("http://{}", app.host_header());
    let (status, body) = call(
        app.http
            .post(app.url("/__admin/clock/advance"))
            .header(ORIGIN, own)
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(r#"{"seconds": 1}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(app.http.post(app.url("/__admin/reset"))).await;
    assert_eq!(
        (status, &body["reset"]),
        (200, &json!(true)),
        "no body needs no type"
    );
    assert!(!app.marked().await);
    // The typed client keeps working.
    app.mark().await;
    app.control.reset().await.expect("the typed client resets");
    app.control.advance_clock(Advance::ms(5)).await.unwrap();
    assert!(!app.marked().await);
}

#[tokio::test]
async fn the_control_api_answers_only_to_its_own_names() {
    let app = TestApp::start().await;
    app.mark().await;
    let port = app.server.addr().port();
    // DNS rebinding: the attacker's name now points at 127.0.0.1, the Host header stays.
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "localhost.evil.example",
    ] {
        for req in [
            app.http.get(app.url("/__admin/requests")),
            app.http.get(app.url("/__admin/health")),
            app.http.post(app.url("/__admin/reset")),
        ] {
            let (status, body) = call(req.header(HOST, host)).await;
            assert_eq!(status, 403, "{host}: {body}");
            let msg = error(&body);
            assert!(
                msg.starts_with(&format!("the control API does not answer to Host {host:?}")),
                "{msg}"
            );
            assert!(msg.contains("--allowed-host"), "{msg}");
        }
    }
    assert!(app.marked().await);
    for host in [
        format!("localhost:{port}"),
        format!("app.localhost:{port}"),
        format!("127.0.0.2:{port}"),
        format!("[::1]:{port}"),
        app.host_header(),
    ] {
        let (status, body) =
            call(app.http.get(app.url("/__admin/health")).header(HOST, &host)).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    // The providers' endpoints answer whatever the Host or Origin: SDKs call them by any name.
    let (status, body) = call(
        app.http
            .get(app.url("/openapi/asr/searchResult?TaskId=1"))
            .header(HOST, "api.icuapi.com")
            .header(ORIGIN, "http://evil.example"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .starts_with("FailedOperation.NoSuchTask"),
        "{body}"
    );
    let (status, body) = call(
        app.http
            .post(app.url("/v1/audio/transcriptions"))
            .header(HOST, "api.coze.cn")
            .bearer_auth("pat_x"),
    )
    .await;
    assert_ne!(status, 403, "{body}");
    assert!(body["code"].is_i64(), "Coze's own envelope: {body}");
    assert!(body["detail"]["logid"].is_string(), "{body}");
}

#[tokio::test]
async fn allowed_hosts_add_names_or_turn_the_check_off() {
    let app = with_config(Config {
        allowed_hosts: vec!["sim.example".into(), "*.test.example".into()],
        ..Config::default()
    })
    .await;
    for (host, status) in [
        ("sim.example:8080", 200),
        ("a.test.example", 200),
        ("test.example", 403),
        ("evil.example", 403),
        ("localhost", 200),
    ] {
        let (got, body) = call(app.http.get(app.url("/__admin/clock")).header(HOST, host)).await;
        assert_eq!(got, status, "{host}: {body}");
    }
    // Behind a proxy under that name, the page's own origin may post.
    let (status, body) = call(
        app.http
            .post(app.url("/__admin/clock/advance"))
            .header(HOST, "sim.example")
            .header(ORIGIN, "https://sim.example")
            .json(&json!({"ms": 1})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let open = with_config(Config {
        allowed_hosts: vec!["all".into()],
        ..Config::default()
    })
    .await;
    let (status, _) = call(
        open.http
            .get(open.url("/__admin/clock"))
            .header(HOST, "evil.example"),
    )
    .await;
    assert_eq!(status, 200, "all: no Host check");
    // The Origin check still holds: a foreign page cannot post.
    let (status, _) = call(
        open.http
            .post(open.url("/__admin/reset"))
            .header(HOST, "evil.example")
            .header(ORIGIN, "http://other.example"),
    )
    .await;
    assert_eq!(status, 403);

    let broken = MockServer::builder()
        .config(Config {
            allowed_hosts: vec!["sim.example:8080".into()],
            ..Config::default()
        })
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        broken.to_string(),
        "allowed-host: \"sim.example:8080\": name the host without a port (any port is accepted)"
    );
}

#[tokio::test]
async fn the_sink_takes_callbacks_but_not_cross_site_posts() {
    let app = TestApp::start().await;
    // A callback as the simulator (or a provider) sends it: a form, no Origin.
    let (status, body) = call(
        app.http
            .post(app.url("/__admin/sink"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("code=0&requestId=1"),
    )
    .await;
    assert_eq!((status, &body["code"]), (200, &json!(0)));
    let (status, _) = call(
        app.http
            .post(app.url("/__admin/sink"))
            .header(ORIGIN, "http://evil.example")
            .body("code=0&requestId=2"),
    )
    .await;
    assert_eq!(status, 403);
    let received = app.control.sink().await.unwrap().received;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "code=0&requestId=1");
    // Hosted audio uploads keep their raw bodies.
    app.control
        .upload_audio("a.wav", b"RIFF".to_vec())
        .await
        .expect("raw audio needs no JSON type");
}

#[tokio::test]
async fn the_admin_token_must_match_whole() {
    let app = with_config(Config {
        admin_token: Some("s3cret-token".into()),
        ..Config::default()
    })
    .await;
    let anonymous = Control::new(app.server.base_url());
    let long = "s".repeat(4096);
    for wrong in [
        "s3cret-tokeN",
        "s3cret-toke",
        "s3cret-token0",
        "",
        "x",
        long.as_str(),
    ] {
        let err = anonymous
            .clone()
            .with_token(wrong)
            .clock()
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{wrong:?}");
        let res = app
            .http
            .get(app.url("/__admin/clock"))
            .header("X-Admin-Token", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{wrong:?}");
    }
    assert!(anonymous.clock().await.is_err());
    let right = anonymous.with_token("s3cret-token");
    assert_eq!(right.clock().await.unwrap().now_ms, START_MS);
    let res = app
        .http
        .get(app.url("/__admin/clock"))
        .header("X-Admin-Token", "s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn clock_bodies_out_of_range_are_refused_and_move_nothing() {
    let app = TestApp::start().await;
    let post = |path: &'static str, body: &'static str| {
        app.http
            .post(app.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    };
    for (body, says) in [
        (
            r#"{"seconds":1e300}"#,
            "seconds is 1e300, but the clock moves by at most 100 years",
        ),
        (
            r#"{"seconds":3155760001}"#,
            "the clock moves by at most 100 years",
        ),
        (r#"{"seconds":-1}"#, "seconds must be a finite number >= 0"),
        (
            r#"{"ms":18446744073709551615}"#,
            "ms is 18446744073709551615, but the clock",
        ),
        (
            r#"{"ms":9223372036854775808}"#,
            "ms is 9223372036854775808, but the clock",
        ),
        (r#"{"ms":-1}"#, "ms"),
        (r#"{"ms":1.5}"#, "ms"),
        (r#"{"seconds":"soon"}"#, "seconds"),
        (r#"{}"#, "give exactly one of ms and seconds"),
    ] {
        let (status, answer) = call(post("/__admin/clock/advance", body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(error(&answer).contains(says), "{body}: {answer}");
    }
    for (body, says) in [
        (
            r#"{"mode":"scaled","factor":1e308}"#,
            "at most 1000000 (1e6), got 1e308",
        ),
        (r#"{"mode":"scaled","factor":0}"#, "greater than 0"),
        (r#"{"mode":"scaled","factor":-5}"#, "greater than 0"),
        (
            r#"{"now_ms":9223372036854775807}"#,
            "9999-12-31T23:59:59.999Z",
        ),
        (r#"{"now_ms":253402300800000}"#, "9999-12-31T23:59:59.999Z"),
        (r#"{"now_ms":9223372036854775808}"#, "now_ms"),
        (r#"{"now_ms":1e20}"#, "now_ms"),
        // A bad factor refuses the whole change: the time is not set either.
        (
            r#"{"now_ms":1767225600000,"mode":"scaled","factor":1e9}"#,
            "1e6",
        ),
    ] {
        let (status, answer) = call(post("/__admin/clock", body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(error(&answer).contains(says), "{body}: {answer}");
    }
    let clock = app.control.clock().await.unwrap();
    assert_eq!((clock.now_ms, clock.mode), (START_MS, ClockMode::Manual));

    // The edges are accepted; past the last instant nothing moves.
    let (status, answer) = call(post("/__admin/clock/advance", r#"{"seconds":3155760000}"#)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = call(post("/__admin/clock", r#"{"now_ms":253402300799999}"#)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["now"], "9999-12-31T23:59:59.999Z");
    let (status, answer) = call(post("/__admin/clock/advance", r#"{"ms":1}"#)).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = call(post("/__admin/clock", r#"{"mode":"scaled","factor":1e6}"#)).await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = app.control.clock().await.unwrap().now_ms;
    assert_eq!(now, 253_402_300_799_999, "a running clock stops at the end");
    app.control.health().await.expect("the server is still up");
}

/// A strict-mode server on the manual clock at 2025-01-01T00:00:00Z (08:00 in Beijing).
async fn strict(window: Option<u64>) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    std::fs::write(
        &path,
        "[[secrets]]\nsecret_id = \"AKIDtest\"\nsecret_key = \"k3y\"\n",
    )
    .unwrap();
    let mut config = Config {
        icu_secrets: Some(path),
        ..Config::default()
    };
    if let Some(window) = window {
        config.icu_signature_window_secs = window;
    }
    (with_config(config).await, dir)
}

/// Queries an unknown task signed with `date`; the answer's `msg`.
async fn query_signed_at(app: &TestApp, date: &str) -> String {
    let query = "TaskId=1";
    let params = request_params([&RawParams::from_query(Some(query)).unwrap()]);
    let (_, body) = call(
        app.http
            .get(app.url(&format!("/openapi/asr/searchResult?{query}")))
            .header("C-Secret", "AKIDtest")
            .header("C-Date", date)
            .header("Sign", sign(&params, "AKIDtest", "k3y", date)),
    )
    .await;
    body["msg"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

const PASSED: &str = "FailedOperation.NoSuchTask";

#[tokio::test]
async fn strict_signatures_must_be_fresh_on_the_simulators_clock() {
    let (app, _dir) = strict(None).await;
    for date in [
        "2025-01-01 08:00:00",
        "2025-01-01 08:04:59",
        "2025-01-01 07:55:01",
        "2025-01-01 08:05:00",
    ] {
        let msg = query_signed_at(&app, date).await;
        assert!(msg.starts_with(PASSED), "{date} is inside ±5 min: {msg}");
    }
    for (date, way) in [
        ("2000-01-01 00:00:00", "behind"),
        ("2999-12-31 23:59:59", "ahead of"),
        ("2025-01-01 08:05:01", "301 s ahead of"),
        ("2025-01-01 07:54:59", "301 s behind"),
    ] {
        let msg = query_signed_at(&app, date).await;
        assert!(
            msg.starts_with(&format!(
                "AuthFailure.InvalidAuthorization: C-Date {date} is "
            )),
            "{msg}"
        );
        assert!(msg.contains(way), "{msg}");
        assert!(msg.contains("(2025-01-01 08:00:00 Beijing time)"), "{msg}");
        assert!(
            msg.contains("; it must be within 300 s of it: sign with"),
            "{msg}"
        );
    }
    // The window moves with the simulator's clock, not the wall's.
    app.server.clock().advance(Duration::from_secs(3600));
    assert!(query_signed_at(&app, "2025-01-01 08:00:00")
        .await
        .starts_with("AuthFailure"));
    assert!(query_signed_at(&app, "2025-01-01 09:00:00")
        .await
        .starts_with(PASSED));

    let (narrow, _dir) = strict(Some(30)).await;
    assert!(query_signed_at(&narrow, "2025-01-01 08:00:30")
        .await
        .starts_with(PASSED));
    assert!(query_signed_at(&narrow, "2025-01-01 08:00:31")
        .await
        .starts_with("AuthFailure"));
    let (off, _dir) = strict(Some(0)).await;
    assert!(query_signed_at(&off, "2000-01-01 00:00:00")
        .await
        .starts_with(PASSED));
}
