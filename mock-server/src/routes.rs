//! The one route table: every path the simulator serves is written here once, with the
//! provider and endpoint it belongs to. The router, the scenario and journal layers, the
//! handlers and the scenario files all name paths through these constants.

use axum::http::Method;

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// Which provider a scenario (or one of its parts) concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Provider A, synchronous transcription.
    Coze,
    /// Provider B, asynchronous tasks.
    Icu,
}

impl Provider {
    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Coze => "coze",
            Provider::Icu => "icu",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoint a fault or rate limit acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// Coze `POST /v1/audio/transcriptions`.
    Transcribe,
    /// icu `POST /openapi/asr/voiceToText`.
    Submit,
    /// icu `/openapi/asr/searchResult`.
    Query,
    /// Every provider endpoint (faults only).
    Any,
}

impl Endpoint {
    /// The name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Transcribe => "transcribe",
            Endpoint::Submit => "submit",
            Endpoint::Query => "query",
            Endpoint::Any => "any",
        }
    }

    /// The provider that serves this endpoint (`None` for `Any`).
    pub fn provider(self) -> Option<Provider> {
        match self {
            Endpoint::Transcribe => Some(Provider::Coze),
            Endpoint::Submit | Endpoint::Query => Some(Provider::Icu),
            Endpoint::Any => None,
        }
    }

    /// The endpoint a request path belongs to, if it is one the simulator serves.
    pub fn for_path(path: &str) -> Option<Endpoint> {
        match path {
            COZE_TRANSCRIBE => Some(Endpoint::Transcribe),
            ICU_SUBMIT => Some(Endpoint::Submit),
            ICU_QUERY => Some(Endpoint::Query),
            _ => None,
        }
    }

    /// Whether a fault declared for `self` acts on a request to `request`.
    pub fn covers(self, request: Endpoint) -> bool {
        self == Endpoint::Any || self == request
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The control API's paths, for its router and for the typed client alike. A `{…}` is a
/// path parameter; [`admin::fill`] puts a value in.
pub mod admin {
    /// `/__admin/health`.
    pub const HEALTH: &str = "/__admin/health";
    /// `/__admin/openapi.json`: the OpenAPI 3.1 document of every route.
    pub const OPENAPI: &str = "/__admin/openapi.json";
    /// `/__admin/reset`.
    pub const RESET: &str = "/__admin/reset";
    /// `/__admin/state/save`.
    pub const STATE_SAVE: &str = "/__admin/state/save";
    /// `/__admin/requests`.
    pub const REQUESTS: &str = "/__admin/requests";
    /// `/__admin/requests/find`.
    pub const REQUESTS_FIND: &str = "/__admin/requests/find";
    /// `/__admin/requests/count`.
    pub const REQUESTS_COUNT: &str = "/__admin/requests/count";
    /// `/__admin/fixtures`.
    pub const FIXTURES: &str = "/__admin/fixtures";
    /// `/__admin/clock`.
    pub const CLOCK: &str = "/__admin/clock";
    /// `/__admin/clock/advance`.
    pub const CLOCK_ADVANCE: &str = "/__admin/clock/advance";
    /// `/__admin/tasks`.
    pub const TASKS: &str = "/__admin/tasks";
    /// `/__admin/tasks/{id}`.
    pub const TASK: &str = "/__admin/tasks/{id}";
    /// `/__admin/tasks/{id}/transition`.
    pub const TASK_TRANSITION: &str = "/__admin/tasks/{id}/transition";
    /// `/__admin/callbacks`.
    pub const CALLBACKS: &str = "/__admin/callbacks";
    /// `/__admin/icu/settings`.
    pub const ICU_SETTINGS: &str = "/__admin/icu/settings";
    /// `/__admin/scenarios`.
    pub const SCENARIOS: &str = "/__admin/scenarios";
    /// `/__admin/scenarios/activate`.
    pub const SCENARIOS_ACTIVATE: &str = "/__admin/scenarios/activate";
    /// `/__admin/scenarios/deactivate`.
    pub const SCENARIOS_DEACTIVATE: &str = "/__admin/scenarios/deactivate";
    /// `/__admin/sink`.
    pub const SINK: &str = "/__admin/sink";
    /// `/__admin/metrics`.
    pub const METRICS: &str = "/__admin/metrics";
    /// `/__admin/audio`.
    pub const AUDIO: &str = "/__admin/audio";
    /// `/__admin/audio/{name}`.
    pub const AUDIO_FILE: &str = "/__admin/audio/{name}";
    /// `/__admin/audio/generated/{kind}`.
    pub const AUDIO_GENERATED: &str = "/__admin/audio/generated/{kind}";
    /// `/__admin/ui`: the dashboard page.
    pub const UI: &str = "/__admin/ui";
    /// `/__admin/ui/{file}`: the dashboard's script and style sheet.
    pub const UI_ASSET: &str = "/__admin/ui/{file}";
    /// `/__admin/events`: server-sent events for the dashboard.
    pub const EVENTS: &str = "/__admin/events";
    /// `/__admin/events/ticket`: a read-only ticket for the event stream (with a token).
    pub const EVENTS_TICKET: &str = "/__admin/events/ticket";

    /// `template` with its one `{…}` parameter replaced by `value`.
    pub fn fill(template: &str, value: impl std::fmt::Display) -> String {
        match (template.find('{'), template.find('}')) {
            (Some(open), Some(close)) if open < close => {
                format!("{}{value}{}", &template[..open], &template[close + 1..])
            }
            _ => template.to_owned(),
        }
    }
}

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

/// The provider whose envelope answers a path no route serves: a path under a provider's
/// prefix (repeated slashes read as one, as in `//v1/…`), or one that holds a provider's
/// endpoint behind a wrong base URL (`/prefix/v1/audio/transcriptions`, a trailing slash).
/// Other paths, and the control API's, belong to no provider.
pub fn provider_of_unknown(path: &str) -> Option<Provider> {
    if is_admin(path) {
        return None;
    }
    let collapsed = collapse_slashes(path);
    if collapsed.starts_with(COZE_PREFIX) || collapsed == "/v1" {
        return Some(Provider::Coze);
    }
    if collapsed.starts_with(ICU_PREFIX) {
        return Some(Provider::Icu);
    }
    suggest(path).and_then(|endpoint| Endpoint::for_path(endpoint)?.provider())
}

/// The endpoint a path no route serves was probably meant for: one it contains once repeated
/// slashes are read as one, such as `/v1/audio/transcriptions` in `//v1/audio/transcriptions`,
/// `/v1/audio/transcriptions/` or `/base/v1/audio/transcriptions`.
pub fn suggest(path: &str) -> Option<&'static str> {
    let collapsed = collapse_slashes(path);
    [COZE_TRANSCRIBE, ICU_SUBMIT, ICU_QUERY]
        .into_iter()
        .find(|endpoint| path != *endpoint && collapsed.contains(endpoint))
}

/// `path` with each run of slashes read as one slash (only the 404 path pays for it).
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(4096));
    let mut slash = false;
    for c in path.chars() {
        if c == '/' && slash {
            continue;
        }
        slash = c == '/';
        out.push(c);
    }
    out
}

/// `text` cut to at most `max` bytes at a character boundary, with `…` when cut: for
/// echoing a caller's path in a message without echoing 64 KB of it.
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// Whether a path belongs to the control API.
pub fn is_admin(path: &str) -> bool {
    path == ADMIN_PREFIX || path.starts_with("/__admin/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_find_their_provider() {
        for path in [
            "//v1/audio/transcriptions",
            "/v1/audio/transcriptions/",
            "/prefix/v1/audio/transcriptions",
            "/v1/nothing",
            "///v1",
        ] {
            assert_eq!(provider_of_unknown(path), Some(Provider::Coze), "{path}");
        }
        for path in [
            "//openapi/asr/voiceToText",
            "/base/openapi/asr/searchResult",
            "/openapi/other",
        ] {
            assert_eq!(provider_of_unknown(path), Some(Provider::Icu), "{path}");
        }
        for path in ["/", "/health", "/__admin/nothing", "/v2/audio", "/v1x"] {
            assert_eq!(provider_of_unknown(path), None, "{path}");
        }
    }

    #[test]
    fn the_meant_endpoint_is_suggested() {
        assert_eq!(
            suggest("/prefix/v1/audio/transcriptions"),
            Some(COZE_TRANSCRIBE)
        );
        assert_eq!(suggest("//v1/audio/transcriptions/"), Some(COZE_TRANSCRIBE));
        assert_eq!(suggest("//v1/audio/transcriptions"), Some(COZE_TRANSCRIBE));
        assert_eq!(suggest("/x/openapi/asr/searchResult"), Some(ICU_QUERY));
        assert_eq!(suggest(COZE_TRANSCRIBE), None);
        assert_eq!(suggest("/v1/files"), None);
    }

    #[test]
    fn shorten_cuts_at_a_character() {
        assert_eq!(shorten("abc", 10), "abc");
        assert_eq!(shorten("ééé", 3), "é…");
    }
}
