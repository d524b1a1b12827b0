//! The one route table: every path the simulator serves is written here once, with the
//! provider and endpoint it belongs to. The router, the scenario and journal layers, the
//! handlers and the scenario files all name paths through these constants.

use axum::http::Method;

pub use crate::scenarios::format::{Endpoint, Provider};

/// Coze `POST /v1/audio/transcriptions` (and, later, its WebSocket upgrade).
pub const COZE_TRANSCRIBE: &str = "/v1/audio/transcriptions";
/// Every other path under Coze's prefix answers in Coze's envelope.
pub const COZE_PREFIX: &str = "/v1/";
/// icu `POST /openapi/asr/voiceToText`.
pub const ICU_SUBMIT: &str = "/openapi/asr/voiceToText";
/// icu `GET|POST /openapi/asr/searchResult`.
pub const ICU_QUERY: &str = "/openapi/asr/searchResult";
/// Every other path under icu's prefix answers in icu's envelope.
pub const ICU_PREFIX: &str = "/openapi/";
/// The control API's prefix.
pub const ADMIN_PREFIX: &str = "/__admin";
/// The control API's health check, named by the 404 answer.
pub const ADMIN_HEALTH: &str = "/__admin/health";

/// axum's catch-all under a prefix (`/v1/{*rest}`).
pub fn catch_all(prefix: &str) -> String {
    format!("{prefix}{{*rest}}")
}

/// The provider endpoint a request is for, if any.
pub fn classify(method: &Method, path: &str) -> Option<(Provider, Endpoint)> {
    match (method, path) {
        (&Method::POST, COZE_TRANSCRIBE) => Some((Provider::Coze, Endpoint::Transcribe)),
        (&Method::POST, ICU_SUBMIT) => Some((Provider::Icu, Endpoint::Submit)),
        (&Method::GET | &Method::POST, ICU_QUERY) => Some((Provider::Icu, Endpoint::Query)),
        _ => None,
    }
}

/// Whether a path belongs to the control API.
pub fn is_admin(path: &str) -> bool {
    path == ADMIN_PREFIX || path.starts_with("/__admin/")
}
