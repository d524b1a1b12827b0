//! A callback receiver built into the simulator, for trying callbacks with no server of your
//! own: point `CallbackUrl` at `/__admin/sink`; it acknowledges as the provider expects and
//! keeps what it received (bounded) for `GET /__admin/sink`.

use std::collections::VecDeque;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::control::types::SinkLog;
use crate::state::AppState;

/// Bodies kept, newest last.
const CAPACITY: usize = 1000;

/// One received callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Simulated ms it arrived.
    pub time_ms: i64,
    /// Its Content-Type.
    pub content_type: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

/// The received callbacks.
#[derive(Debug, Default)]
pub struct Sink {
    received: Mutex<VecDeque<Received>>,
}

impl Sink {
    fn push(&self, entry: Received) {
        let mut received = self.received.lock();
        if received.len() == CAPACITY {
            received.pop_front();
        }
        received.push_back(entry);
    }

    /// Everything kept, oldest first.
    pub fn list(&self) -> Vec<Received> {
        self.received.lock().iter().cloned().collect()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.received.lock().clear();
    }
}

/// `POST /__admin/sink` (receive) and `GET /__admin/sink` (read back).
pub fn router() -> Router<AppState> {
    Router::new().route("/__admin/sink", post(receive).get(list).delete(clear))
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
