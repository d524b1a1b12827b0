//! A callback receiver built into the simulator, for trying callbacks with no server of your
//! own: point `CallbackUrl` at `/__admin/sink`; it acknowledges as the provider expects and
//! keeps what it received (bounded) for `GET /__admin/sink`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

use crate::control::types::SinkLog;
use crate::routes;
use crate::state::AppState;
use crate::stores::sink::Received;

/// `POST /__admin/sink` (receive) and `GET /__admin/sink` (read back).
pub fn router() -> Router<AppState> {
    Router::new().route(routes::admin::SINK, post(receive).get(list).delete(clear))
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Json<Ack> {
    state.sink.push(Received {
        time_ms: state.clock.now_ms(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
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

async fn list(State(state): State<AppState>) -> Json<SinkLog> {
    Json(SinkLog {
        received: state.sink.list(),
    })
}

async fn clear(State(state): State<AppState>) -> StatusCode {
    state.sink.clear();
    StatusCode::NO_CONTENT
}
