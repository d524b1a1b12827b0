//! Answers for what no handler answers: a path no route serves, and what the connection layer
//! refuses (a head hyper cannot parse, a body that arrived too slowly, a connection over the
//! cap). Each comes in the envelope of the path's owner, so no client reads it as success:
//! Coze's (a code, the logid in header and body), icu's (`success: false`), the control
//! API's `{"error": …}`, and for any other path a JSON body with a non-zero `code`, `msg`,
//! `error` and the endpoints the simulator serves.

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::journal_layer;
use crate::control::types::ErrorBody;
use crate::http::refusal::{Refusal, RefusalKind, Refuser};
use crate::providers::coze::error::CozeError;
use crate::providers::icu::error::{IcuError, IcuErrorKind};
use crate::routes::{self, Provider};
use crate::state::AppState;

/// The most of a caller's path echoed in a message.
const MAX_ECHO_BYTES: usize = 256;

/// The answer to `refusal` in the envelope of its path's owner (not journaled).
pub fn answer(state: &AppState, refusal: &Refusal<'_>) -> Response {
    let status = refusal.kind.status();
    if routes::is_admin(refusal.path) {
        let body = ErrorBody {
            error: refusal.message.clone(),
        };
        return (status, Json(body)).into_response();
    }
    match routes::provider_of_unknown(refusal.path) {
        Some(Provider::Coze) => {
            let err = match refusal.kind {
                RefusalKind::NotFound => CozeError::not_found(refusal.path),
                _ => CozeError::refused(status, capitalized(&refusal.message)),
            };
            err.answer(state.coze.logids.next()).into_response()
        }
        Some(Provider::Icu) => {
            let kind = match refusal.kind {
                RefusalKind::Overloaded => IcuErrorKind::RequestLimitExceeded,
                _ => IcuErrorKind::InvalidParameter,
            };
            (status, IcuError::new(kind, refusal.message.clone())).into_response()
        }
        None => generic(status, &refusal.message),
    }
}

/// The connection layer's renderer: [`answer`], journaled like any request outside the
/// control API.
pub fn refuser(state: AppState) -> Refuser {
    Refuser::new(move |refusal| {
        let mut response = answer(&state, refusal);
        if !routes::is_admin(refusal.path) {
            let asked = journal_layer::Asked::new(
                refusal.method,
                refusal.path,
                refusal.query,
                state.clock.now_ms(),
            );
            journal_layer::journal(&state, asked, &mut response);
        }
        response
    })
}

/// The router's fallback: 404 in the envelope of the path's owner, with a hint when the path
/// holds an endpoint behind a wrong base URL.
pub async fn no_such_endpoint(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let shown = routes::shorten(path, MAX_ECHO_BYTES);
    let message = match routes::suggest(path) {
        Some(endpoint) => format!(
            "no such endpoint: {shown}; did you mean {endpoint}? The base URL must be the \
             scheme, host and port only, with no path and no trailing slash"
        ),
        None => format!("no such endpoint: {shown}"),
    };
    let refusal = Refusal {
        kind: RefusalKind::NotFound,
        method: method.as_str(),
        path,
        query: uri.query(),
        message,
    };
    answer(&state, &refusal)
}

/// The answer to a request whose body arrived too slowly.
pub fn body_timeout(state: &AppState, method: &str, path: &str) -> Response {
    let refusal = Refusal {
        kind: RefusalKind::BodyTimeout,
        method,
        path,
        query: None,
        message: "the request body arrived too slowly and was cut off: send it at a steady \
                  pace (see --body-timeout-ms and --body-min-rate)"
            .to_owned(),
    };
    answer(state, &refusal)
}

/// Any other path: a JSON body with a non-zero `code`, so that no SDK reads it as success,
/// and the endpoints the simulator serves.
fn generic(status: StatusCode, message: &str) -> Response {
    let endpoints = [
        format!("POST {}", routes::COZE_TRANSCRIBE),
        format!("POST {}", routes::ICU_SUBMIT),
        format!("GET|POST {}", routes::ICU_QUERY),
        format!("GET {}", routes::admin::HEALTH),
    ];
    (
        status,
        Json(serde_json::json!({
            "code": status.as_u16(),
            "msg": message,
            "error": message,
            "endpoints": endpoints,
        })),
    )
        .into_response()
}

/// Coze's messages are sentences: a capital first letter and a full stop.
fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
