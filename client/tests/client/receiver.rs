//! The callback receiver (feature `receiver`): in-process, and behind a real socket with
//! the simulator delivering.

use std::time::Duration;

use asr_client::icu::receiver::{router, ACK};
use asr_client::icu::{Engine, IcuClient, Source, Status, SubmitRequest, WaitOptions};
use asr_mock::control::types::CallbacksQuery;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::support::{mock_by_polls, speech_wav};

const SEED_BODY: &str = "code=0&requestId=4000048858&appid=12516&projectid=0&text=%5B0%3A1.640%2C0%3A4.600%5D++%E6%88%91%E5%9C%A8%E9%A9%AC%E4%B8%8A%E4%B8%8A%E5%A4%9C%E7%8F%AD%E3%80%82%0A&audioTime=8.420000&message=&resultDetail=";

async fn post(app: axum::Router, body: &'static [u8]) -> (StatusCode, Option<String>, Vec<u8>) {
    let request = Request::post("/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, content_type, bytes.to_vec())
}

#[tokio::test]
async fn acknowledges_exactly_as_documented() {
    let (tx, mut rx) = mpsc::channel(4);
    let (status, content_type, body) = post(router(tx), SEED_BODY.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body, br#"{"code":0,"message":"success"}"#);
    assert_eq!(body, ACK.as_bytes());
    let cb = rx.recv().await.expect("handed over");
    assert_eq!(cb.request_id, 4000048858);
}

#[tokio::test]
async fn junk_gets_a_non_zero_code_so_the_provider_retries() {
    let (tx, mut rx) = mpsc::channel(4);
    for body in [&b"garbage"[..], b"", b"code=0", b"{\"code\":0}"] {
        let (status, _, answer) = post(router(tx.clone()), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let json: serde_json::Value = serde_json::from_slice(&answer).expect("JSON");
        assert_ne!(json["code"].as_i64(), Some(0));
        assert!(json["message"].is_string());
    }
    drop(tx);
    assert!(rx.recv().await.is_none(), "nothing was handed over");
}

#[tokio::test]
async fn a_closed_channel_is_not_acknowledged() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let (status, _, answer) = post(router(tx), SEED_BODY.as_bytes()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(answer, ACK.as_bytes());
}

/// The simulator delivers a real callback; the receiver parses it and the simulator's
/// journal records the acknowledgement.
#[tokio::test]
async fn end_to_end_with_the_simulator() {
    let server = mock_by_polls(1).await;
    let (tx, mut rx) = mpsc::channel(4);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().nest("/icu/callback", router(tx));
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });

    let icu = IcuClient::new(server.base_url());
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(speech_wav(&server, 4).await));
    req.res_text_format = 2;
    req.callback_url = Some(format!("http://{addr}/icu/callback"));
    let task_id = icu.submit(&req).await.expect("submit");
    let done = icu
        .wait(
            task_id,
            WaitOptions {
                initial: Duration::from_millis(5),
                max_interval: Duration::from_millis(50),
                deadline: Duration::from_secs(20),
                ..WaitOptions::default()
            },
        )
        .await
        .expect("wait");
    assert_eq!(done.status, Status::Success);

    let cb = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("delivered in time")
        .expect("a callback");
    assert_eq!(cb.request_id, task_id);
    assert_eq!(cb.text, done.result);
    assert_eq!(cb.result_detail.as_ref(), Some(&done.result_detail));

    // The simulator saw the acknowledgement and will not retry.
    let control = server.control();
    let mut acknowledged = false;
    for _ in 0..100 {
        let query = CallbacksQuery {
            task_id: Some(task_id),
        };
        let log = control.callbacks(query).await.expect("callback attempts");
        if log.attempts.iter().any(|a| a.acknowledged) {
            acknowledged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(acknowledged);
    serving.abort();
}
