//! Callback fairness (issue 10, "Hardening"): a receiver that never answers holds only its
//! own share of the callback permits, so a healthy receiver's callback goes out at once.
//! The durability checks of the same issue live in `persist.rs`, beside the other restarts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use asr_mock::config::ProgressKind;
use asr_mock::{Config, MockServer};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::{fixture, post_json, TestApp, START_MS};

/// A receiver on a free loopback port counting requests; `answer` says whether it ever
/// answers them.
async fn receiver(answer: bool) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&hits);
    let app = Router::new().route(
        "/cb",
        post(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                if !answer {
                    std::future::pending::<()>().await;
                }
                r#"{"code":0,"message":"success"}"#
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), hits)
}

/// Waits in real time, generously, until `hits` reaches `n`.
async fn reaches(hits: &AtomicUsize, n: usize) -> bool {
    for _ in 0..1000 {
        if hits.load(Ordering::SeqCst) >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Submits a task calling back `url` and polls it to its end (tasks end on the third poll:
/// the clock never moves, so no callback attempt ever times out).
async fn run_task(app: &TestApp, url: &str) -> u64 {
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(fixture("speech-cmn-16k.wav")),
        "CallbackUrl": url,
    });
    let submit = app.url("/openapi/asr/voiceToText");
    let answer: Value = post_json(&app.http, submit, &body).await;
    let id = answer["data"]["TaskId"].as_u64().expect("accepted");
    let query = app.url(&format!("/openapi/asr/searchResult?TaskId={id}"));
    let mut last = Value::Null;
    for _ in 0..3 {
        last = app
            .http
            .get(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    assert_eq!(last["data"]["StatusStr"], "success", "{last}");
    id
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_delay_another_receivers_callback() {
    let (hanging, stuck) = receiver(false).await;
    let (healthy, served) = receiver(true).await;
    let config = Config {
        icu_progress: ProgressKind::Polls,
        icu_submit_rate: 0,
        icu_query_rate: 0,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;

    for _ in 0..64 {
        run_task(&app, &hanging).await;
    }
    assert!(
        reaches(&stuck, 4).await,
        "the hanging receiver got its share"
    );
    let id = run_task(&app, &healthy).await;
    assert!(
        reaches(&served, 1).await,
        "the healthy receiver's callback went out while 64 others hang"
    );
    let mut acknowledged = false;
    for _ in 0..500 {
        let attempts = app.callback_attempts(id).await;
        if attempts.first().is_some_and(|a| a.acknowledged) {
            acknowledged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(acknowledged, "and it was journaled as acknowledged");
    assert_eq!(
        stuck.load(Ordering::SeqCst),
        4,
        "no more than --callback-per-receiver (4) at the hanging one"
    );
}
