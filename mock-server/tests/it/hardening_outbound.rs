//! The data plane cannot reach the control API: a task's `CallbackUrl` or `Url` that points
//! at the simulator's own `/__admin/` (however spelt) is refused before any request is sent,
//! with the provider's own failure; the sink (callbacks) and hosted audio (downloads) stay
//! reachable.

use std::time::Duration;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use asr_mock::control::types::{Active, CallbackAttempt, NewFixture, OutcomeRecord, TasksQuery};

use crate::support::{fixture, TestApp};

const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";

impl TestApp {
    fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// Submits `body`; the TaskId.
    async fn submit_task(&self, body: &Value) -> u64 {
        let res = self.http.post(self.url(SUBMIT)).json(body).send().await;
        let answer: Value = res.unwrap().json().await.unwrap();
        answer["data"]["TaskId"]
            .as_u64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    /// Submits inline speech that calls back to `callback`.
    async fn submit_with_callback(&self, callback: &str) -> u64 {
        let data = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            fixture("speech-cmn-16k.wav"),
        );
        self.submit_task(&json!({
            "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
            "SourceType": 1, "Data": data, "CallbackUrl": callback,
        }))
        .await
    }

    /// Waits (in real time, generously) until `task_id` has `count` callback attempts.
    async fn attempts_when(&self, task_id: u64, count: usize) -> Vec<CallbackAttempt> {
        for _ in 0..500 {
            let attempts = self.callback_attempts(task_id).await;
            if attempts.len() >= count {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("task {task_id} never had {count} callback attempts");
    }

    /// Polls a Url task until it ends, moving the clock once it has a plan.
    async fn ended(&self, task_id: u64) -> Value {
        for _ in 0..1200 {
            let url = self.url(&format!("{QUERY}?TaskId={task_id}"));
            let answer: Value = self
                .http
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if answer["data"]["Status"].as_u64() >= Some(2) {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self
                .control
                .task(task_id)
                .await
                .unwrap()
                .task
                .plan
                .is_some()
            {
                self.server.clock().advance(Duration::from_secs(3600));
            }
        }
        panic!("task {task_id} never ended");
    }
}

/// A receiver that fails its first attempt and acknowledges the rest, counting attempts.
async fn flaky_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = Router::new().route(
        "/cb",
        axum::routing::post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "oops")
                } else {
                    (
                        axum::http::StatusCode::OK,
                        r#"{"code":0,"message":"success"}"#,
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), seen)
}

#[tokio::test]
async fn a_callback_url_at_the_control_api_is_never_sent_nor_retried() {
    let app = TestApp::start().await;
    let port = app.port();
    // State a reset would wipe.
    app.control
        .add_fixture(&NewFixture::by_sha256("ab".repeat(32), "kept"))
        .await
        .unwrap();
    let refused = [
        app.url("/__admin/reset"),
        format!("http://localhost:{port}/x/../__admin/reset"),
        format!("http://127.0.0.2:{port}/%5F%5Fadmin/reset"),
        format!("http://[::1]:{port}/__admin/reset"),
        format!("http://0.0.0.0:{port}/__admin/scenarios/activate"),
        app.url("/__admin/audio/overwritten.wav"),
    ];
    let mut ids = Vec::new();
    for url in &refused {
        ids.push((app.submit_with_callback(url).await, url));
    }
    let sink = app.submit_with_callback(&app.url("/__admin/sink")).await;
    let (flaky_url, flaky_seen) = flaky_receiver().await;
    let flaky = app.submit_with_callback(&flaky_url).await;
    app.server.clock().advance(Duration::from_secs(10));

    for (id, url) in &ids {
        let attempts = app.attempts_when(*id, 1).await;
        let first = &attempts[0];
        let error = first.error.as_deref().unwrap_or_default();
        assert!(error.starts_with("not sent: "), "{url}: {error}");
        assert!(error.contains("the simulator's own control API"), "{error}");
        assert!(
            error.contains("/__admin/sink"),
            "names what is allowed: {error}"
        );
        assert_eq!(first.status, None, "{url}: no request was made");
        assert!(first.final_attempt, "{url}: no retry is planned");
        assert!(!first.acknowledged);
    }
    // The sink, the one control route callbacks may use, still receives.
    assert!(app.attempts_when(sink, 1).await[0].acknowledged);
    assert_eq!(app.control.sink().await.unwrap().received.len(), 1);

    // Past the retry interval: the flaky receiver gets its retry, the refused ones get none.
    app.attempts_when(flaky, 1).await;
    app.server.clock().advance(Duration::from_secs(10));
    assert!(app.attempts_when(flaky, 2).await[1].acknowledged);
    assert_eq!(flaky_seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    for (id, url) in &ids {
        assert_eq!(app.callback_attempts(*id).await.len(), 1, "{url}");
    }

    // Nothing was wiped or changed: tasks, fixture, journal and activations are all there.
    let tasks = app.control.tasks(TasksQuery::default()).await.unwrap();
    assert_eq!(tasks.tasks.len(), refused.len() + 2);
    let fixtures = app.control.fixtures().await.unwrap().fixtures;
    assert!(fixtures.iter().any(|f| f.fixture.text == "kept"));
    assert!(app.journal().await.iter().any(|e| e.path == SUBMIT));
    assert_eq!(
        app.control.scenarios().await.unwrap().active,
        Active::default()
    );
    assert!(app.control.audio_files().await.unwrap().files.is_empty());
}

#[tokio::test]
async fn a_task_url_at_the_control_api_fails_with_10007() {
    let app = TestApp::start().await;
    let port = app.port();
    app.control
        .upload_audio("call.wav", fixture("speech-cmn-16k.wav"))
        .await
        .unwrap();
    // A server elsewhere that redirects to the control API.
    let target = app.url("/__admin/requests");
    let redirector = Router::new().route(
        "/r",
        get(move || {
            let target = target.clone();
            async move { Redirect::temporary(&target) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, redirector).await });

    let url_body = |url: &str| {
        json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
               "SourceType": 0, "Url": url})
    };
    for url in [
        app.url("/__admin/requests"),
        format!("http://localhost:{port}/x/../__admin/tasks"),
        app.url("/%5F%5Fadmin/callbacks"),
        format!("http://127.0.0.2:{port}/__admin/sink"),
        format!("http://{other}/r"),
    ] {
        let id = app.submit_task(&url_body(&url)).await;
        let done = app.ended(id).await;
        assert_eq!(done["data"]["Status"], 3, "{url}: {done}");
        let msg = done["data"]["ErrorMsg"].as_str().unwrap();
        assert!(
            msg.starts_with("Failed to download audio file! "),
            "{url}: {msg}"
        );
        assert!(
            msg.contains("the simulator's own control API"),
            "{url}: {msg}"
        );
        assert!(
            msg.contains("/__admin/audio/"),
            "names what is allowed: {msg}"
        );
        let plan = app.control.task(id).await.unwrap().task.plan.unwrap();
        assert!(
            matches!(plan.outcome, OutcomeRecord::Failed { code, .. } if i64::from(code) == 10007),
            "{url}: {:?}",
            plan.outcome
        );
    }
    // Hosted audio, the one control route downloads may use, works under any own name.
    for url in [
        app.control.audio_url("call.wav"),
        format!("http://localhost:{port}/__admin/audio/call.wav"),
    ] {
        let id = app.submit_task(&url_body(&url)).await;
        let done = app.ended(id).await;
        assert_eq!(done["data"]["Status"], 2, "{url}: {done}");
    }
}
