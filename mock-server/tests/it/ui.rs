//! The dashboard: its files with their types and CSP, the event stream it listens to (a task
//! event after a submit and a clock advance), the admin-token flow (a read-only ticket for
//! the stream) and the bound on the event bus. The browser itself: scripts/ui-check.sh.

use std::time::Duration;

use asr_mock::control::types::Advance;
use base64::Engine;
use serde_json::json;

use crate::support::{fixture, TestApp, START_MS};

/// Reads a server-sent-event stream until `want` has appeared in it (each event is small;
/// the stream is event-driven, the timeout only stops a broken test from hanging).
struct Events {
    res: reqwest::Response,
    seen: String,
}

impl Events {
    async fn open(app: &TestApp, query: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = app.http.get(app.url(&format!("/__admin/events{query}")));
        if let Some(token) = token {
            req = req.header("X-Admin-Token", token);
        }
        req.send().await.unwrap()
    }

    fn new(res: reqwest::Response) -> Events {
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Events {
            res,
            seen: String::new(),
        }
    }

    /// Waits for an event named `name` whose data contains `needle`; returns its data.
    async fn until(&mut self, name: &str, needle: &str) -> String {
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(data) = self.take(name, needle) {
                    return data;
                }
                let chunk = self
                    .res
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream stays open");
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {name} event with {needle:?}; saw:\n{}", self.seen))
    }

    /// Removes events up to and including the first match from what was seen.
    fn take(&mut self, name: &str, needle: &str) -> Option<String> {
        let mut consumed = 0;
        for block in self.seen.split_inclusive("\n\n") {
            if !block.ends_with("\n\n") {
                break;
            }
            consumed += block.len();
            let event = block.lines().find_map(|l| l.strip_prefix("event: "));
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(event), Some(data)) = (event, data) {
                if event == name && data.contains(needle) {
                    let data = data.to_owned();
                    self.seen.drain(..consumed);
                    return Some(data);
                }
            }
        }
        None
    }
}

async fn submit(app: &TestApp) -> u64 {
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(fixture("speech-cmn-16k.wav")),
        "CallbackUrl": app.url("/__admin/sink"),
    });
    app.submit_ok(&body).await
}

#[tokio::test]
async fn the_page_and_its_files_come_with_their_types_and_a_strict_csp() {
    let app = TestApp::start().await;
    for (path, content_type) in [
        ("/__admin/ui", "text/html; charset=utf-8"),
        ("/__admin/ui/app.js", "text/javascript; charset=utf-8"),
        ("/__admin/ui/app.css", "text/css; charset=utf-8"),
    ] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = res.text().await.unwrap();
        if path == "/__admin/ui" {
            // No inline script: every <script> loads a file.
            let scripts: Vec<&str> = body.split("<script").skip(1).collect();
            assert_eq!(scripts.len(), 1, "{body}");
            assert!(scripts[0]
                .trim_start()
                .starts_with("src=\"/__admin/ui/app.js\""));
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "no CDN"
            );
            let handler = body.split(" on").skip(1).any(|rest| {
                let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
                name_len > 0 && rest[name_len..].starts_with('=')
            });
            assert!(!handler, "no inline event handlers");
        }
    }
    let res = app
        .http
        .get(app.url("/__admin/ui/secrets.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("app.js"), "{body}");
}

#[tokio::test]
async fn the_event_stream_tells_of_a_submit_a_clock_advance_and_the_task_ending() {
    let app = TestApp::start().await;
    let mut events = Events::new(Events::open(&app, "", None).await);
    events.until("snapshot", "connected").await;
    let id = submit(&app).await;
    let id_text = format!("\"task_id\":\"{id}\"");
    // The handler stores the task before the journal layer records the request.
    let submitted = events.until("task", &id_text).await;
    assert!(submitted.contains("submitted"), "{submitted}");
    events.until("request", "voiceToText").await;
    app.control
        .advance_clock(Advance::ms(30_000))
        .await
        .unwrap();
    let clock = events.until("clock", "now_ms").await;
    assert!(clock.contains(&(START_MS + 30_000).to_string()), "{clock}");
    let ended = events.until("task", &id_text).await;
    assert!(ended.contains("ended"), "{ended}");
    let callback = events.until("callback", &id_text).await;
    assert!(callback.contains("\"acknowledged\":true"), "{callback}");
}

#[tokio::test]
async fn scenario_switches_and_fixtures_are_announced() {
    let app = TestApp::start().await;
    let mut events = Events::new(Events::open(&app, "", None).await);
    events.until("snapshot", "connected").await;
    app.control
        .activate(&asr_mock::control::types::Activation::global(
            "flaky-gateway",
        ))
        .await
        .unwrap();
    let note = events.until("scenario", "flaky-gateway").await;
    assert!(note.contains("activated"), "{note}");
    let res = app
        .http
        .post(app.url("/__admin/fixtures"))
        .json(&json!({"sha256": "00".repeat(32), "text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    events.until("fixture", &"00".repeat(32)).await;
}

#[tokio::test]
async fn with_an_admin_token_the_stream_opens_with_its_ticket_only() {
    let app = TestApp::with_admin_token("s3cret").await;
    // The page itself opens without the token (it asks for it).
    let page = app.http.get(app.url("/__admin/ui")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    for query in ["", "?ticket=0000", "?token=s3cret", "?ticket=s3cret"] {
        let res = Events::open(&app, query, None).await;
        assert_eq!(res.status(), 401, "{query}");
    }
    let refused = app
        .http
        .get(app.url("/__admin/events/ticket"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let ticket: serde_json::Value = app
        .http
        .get(app.url("/__admin/events/ticket"))
        .header("X-Admin-Token", "s3cret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["ticket"].as_str().expect("a ticket").to_owned();
    assert!(!ticket.contains("s3cret"));
    // The ticket opens the stream and nothing else.
    let other = app
        .http
        .get(app.url(&format!("/__admin/requests?ticket={ticket}")))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
    let mut events = Events::new(Events::open(&app, &format!("?ticket={ticket}"), None).await);
    events.until("snapshot", "connected").await;
    let id = submit(&app).await;
    events.until("task", &id.to_string()).await;
    // The header works on the stream too (clients other than browsers).
    let mut by_header = Events::new(Events::open(&app, "", Some("s3cret")).await);
    by_header.until("snapshot", "connected").await;
}

#[tokio::test]
async fn the_bus_is_bounded_and_forgets_listeners_that_leave() {
    let app = TestApp::start().await;
    let bus = &app.server.state().bus;
    assert_eq!(bus.listeners(), 0);
    let mut events = Events::new(Events::open(&app, "", None).await);
    events.until("snapshot", "connected").await;
    assert_eq!(bus.listeners(), 1);
    // A listener that reads nothing while 400 requests are journaled.
    let mut idle = bus.subscribe();
    for _ in 0..400 {
        app.http
            .get(app.url("/openapi/asr/no-such-endpoint"))
            .send()
            .await
            .unwrap();
    }
    // It kept only the newest 256 notes (the bus's bound), not all 400.
    let first = format!("{:?}", idle.recv().await);
    assert!(first.starts_with("Lagged { skipped: "), "{first}");
    let skipped: u64 = first["Lagged { skipped: ".len()..]
        .trim_end_matches(" }")
        .parse()
        .unwrap();
    assert!(skipped >= 400 - 256, "{first}");
    drop(idle);
    drop(events);
    // The stream's listener goes with its connection.
    let gone = tokio::time::timeout(Duration::from_secs(40), async {
        while bus.listeners() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "listener kept");
}
