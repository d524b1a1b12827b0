//! Verification over the request journal, as WireMock offers it: `POST
//! /__admin/requests/find` answers the entries a matcher accepts, `POST
//! /__admin/requests/count` how many (see `control::matcher` for the fields). An empty body
//! is the empty matcher: every entry.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use super::AdminError;
use crate::control::matcher::{Compiled, RequestCount, RequestMatcher};
use crate::control::types::Requests;
use crate::routes;
use crate::state::AppState;

/// Routes under `/__admin/requests/`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::REQUESTS_FIND, post(find))
        .route(routes::admin::REQUESTS_COUNT, post(count))
}

/// The body as a compiled matcher, or a 400 naming the bad field.
fn matcher(body: &[u8]) -> Result<Compiled, AdminError> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| AdminError::bad(format!("the matcher is not valid JSON: {e}")))?
    };
    RequestMatcher::from_json(&value)
        .and_then(RequestMatcher::compile)
        .map_err(AdminError::bad)
}

async fn find(State(state): State<AppState>, body: Bytes) -> Result<Json<Requests>, AdminError> {
    let m = matcher(&body)?;
    Ok(Json(Requests {
        requests: state.journal.find(m.limit, |e| m.matches(e)),
    }))
}

async fn count(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<RequestCount>, AdminError> {
    let m = matcher(&body)?;
    Ok(Json(RequestCount {
        count: state.journal.count(|e| m.matches(e)),
    }))
}
