//! A callback receiver built into the simulator, for trying callbacks with no server of your
//! own: point `CallbackUrl` at `/__admin/sink`; it acknowledges as the provider expects and
//! keeps what it received (bounded in entries and bytes) for `GET /__admin/sink`, which
//! streams the log instead of building it whole.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

use crate::routes;
use crate::state::AppState;
use crate::stores::sink;

/// `POST /__admin/sink` (receive) and `GET /__admin/sink` (read back).
pub fn router() -> Router<AppState> {
    Router::new().route(routes::admin::SINK, post(receive).get(list).delete(clear))
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Json<Ack> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    state.sink.push(state.clock.now_ms(), content_type, &body);
    Json(Ack {
        code: 0,
        message: "success",
    })
}

/// The acknowledgement the provider's callbacks expect from a receiver.
#[derive(Debug, Serialize)]
struct Ack {
    code: i64,
    message: &'static str,
}

/// The log as `control::types::SinkLog`, encoded a piece at a time from a snapshot that
/// shares the kept bodies.
async fn list(State(state): State<AppState>) -> Response {
    let chunks = sink::json_chunks(state.sink.snapshot()).map(Ok::<_, std::convert::Infallible>);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}

async fn clear(State(state): State<AppState>) -> StatusCode {
    state.sink.clear();
    StatusCode::NO_CONTENT
}
