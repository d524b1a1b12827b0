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
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;

use super::{AdminError, MAX_ADMIN_BODY};
use crate::routes;
use crate::state::AppState;
use crate::stores::sink;

/// `POST /__admin/sink` (receive) and `GET /__admin/sink` (read back).
pub fn router() -> Router<AppState> {
    Router::new().route(routes::admin::SINK, post(receive).get(list).delete(clear))
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = match read_body(body, declared, state.sink.room()).await {
        Ok(body) => body,
        Err(err) => return err.into_response(),
    };
    state
        .sink
        .push(state.clock.now_ms(), content_type, body.kept, body.full);
    Json(Ack {
        code: 0,
        message: "success",
    })
    .into_response()
}

/// A received body: what the sink can keep of it, and its full size.
struct ReadBody {
    kept: Bytes,
    full: u64,
}

/// Reads a body of at most [`MAX_ADMIN_BODY`] bytes into one buffer sized from its
/// `Content-Length`, keeping at most `room` bytes of it: no copy of a large body, and no
/// buffer much larger than what is kept.
async fn read_body(
    body: Body,
    declared: Option<usize>,
    room: usize,
) -> Result<ReadBody, AdminError> {
    let too_large = || {
        AdminError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_ADMIN_BODY} bytes"),
        )
    };
    if declared.is_some_and(|len| len > MAX_ADMIN_BODY) {
        return Err(too_large());
    }
    let mut kept = BytesMut::with_capacity(declared.unwrap_or(16 * 1024).min(room));
    let mut full = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| AdminError::bad(format!("the body could not be read: {e}")))?;
        full += chunk.len();
        if full > MAX_ADMIN_BODY {
            return Err(too_large());
        }
        let take = chunk.len().min(room - kept.len());
        kept.extend_from_slice(&chunk[..take]);
    }
    // A buffer that grew past its contents (no Content-Length) is not kept as it is.
    let kept = if kept.capacity() > kept.len() + kept.len() / 4 + 4096 {
        Bytes::copy_from_slice(&kept)
    } else {
        kept.freeze()
    };
    Ok(ReadBody {
        kept,
        full: full as u64,
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
