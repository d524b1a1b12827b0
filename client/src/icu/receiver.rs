//! An axum app that receives icu callbacks (feature `receiver`).
//!
//! icu counts a delivery as done only when the answer is 2xx JSON with `code` 0, and
//! otherwise tries again (twice in all), so a callback is acknowledged only once it has
//! been parsed and handed over. Receivers may still see a task twice: deduplicate by
//! [`Callback::request_id`](super::Callback::request_id).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let (tx, mut rx) = tokio::sync::mpsc::channel(64);
//! let app = axum::Router::new().nest("/icu-callback", asr_client::icu::receiver::router(tx));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8000").await?;
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! while let Some(cb) = rx.recv().await {
//!     println!("task {} ended with code {}", cb.request_id, cb.code);
//! }
//! # Ok(()) }
//! ```

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::sync::mpsc::Sender;

use super::callback::{parse_callback, Callback};

/// The acknowledgement, byte for byte as the provider documents it.
pub const ACK: &str = r#"{"code":0,"message":"success"}"#;

/// Largest body read: a 5-hour task's word detail, form-encoded (which can triple it).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `POST /` parses the callback, sends it on `tx`, and answers [`ACK`]. A body it cannot
/// parse gets code 1 (HTTP 400), and a closed channel code 2 (HTTP 503), so the provider
/// tries again. When `tx` is full the answer waits for room; the provider's own timeout
/// then counts the attempt as failed and retries.
pub fn router(tx: Sender<Callback>) -> Router {
    Router::new()
        .route("/", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(tx)
}

async fn receive(
    State(tx): State<Sender<Callback>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return refuse(e.status(), 1, format!("cannot read the body: {e}")),
    };
    let callback = match parse_callback(&body) {
        Ok(cb) => cb,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, 1, e.to_string()),
    };
    match tx.send(callback).await {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], ACK).into_response(),
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            "the receiver is shutting down".to_owned(),
        ),
    }
}

fn refuse(status: StatusCode, code: i64, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}
