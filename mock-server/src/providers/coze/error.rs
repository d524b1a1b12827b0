//! Provider A's error codes and wording. Exact texts seen from the real service are named
//! constants; the others are inferred (FIDELITY.md says which).

use axum::http::StatusCode;

use crate::routes;

/// 4100, observed wording.
pub const MSG_AUTH_INVALID: &str = "authentication is invalid";
/// 4000 for a missing or malformed `file` part, observed wording.
pub const MSG_FILE_INVALID: &str =
    "The parameter file is invalid. It should follow the format: file. Please review your input.";
/// 5000, observed wording.
pub const MSG_INTERNAL: &str = "service internal error, please retry after";

/// Largest accepted file part (10 MB, seed).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Largest accepted request body (15 MB, docs overview).
pub const MAX_BODY_BYTES: u64 = 15 * 1024 * 1024;
/// Audio must be shorter than this (30 min, seed).
pub const MAX_DURATION_MS: u64 = 30 * 60 * 1000;

/// The most of a caller's path echoed in a message.
const MAX_ECHO_BYTES: usize = 256;

/// A Coze error: the body code, the HTTP status and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CozeError {
    /// Code in the body.
    pub code: i64,
    /// HTTP status.
    pub status: StatusCode,
    /// Message in the body.
    pub msg: String,
}

impl CozeError {
    fn new(code: i64, status: StatusCode, msg: impl Into<String>) -> Self {
        CozeError {
            code,
            status,
            msg: msg.into(),
        }
    }

    /// 4100 / 401: no, malformed or unknown bearer token.
    pub fn auth_invalid() -> Self {
        Self::new(4100, StatusCode::UNAUTHORIZED, MSG_AUTH_INVALID)
    }

    /// 4101 / 403: the token lacks `createTranscription`.
    pub fn permission_denied(permission: &str) -> Self {
        Self::new(
            4101,
            StatusCode::FORBIDDEN,
            format!(
                "The token you entered does not have the permission {permission}. \
                 Please add it to the token and try again."
            ),
        )
    }

    /// 4000 / 400: not multipart, no `file` part, or a part without a filename.
    pub fn file_invalid() -> Self {
        Self::new(4000, StatusCode::BAD_REQUEST, MSG_FILE_INVALID)
    }

    /// 4000 / 400 with a specific reason (malformed multipart body, duration limit).
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(4000, StatusCode::BAD_REQUEST, msg)
    }

    /// 4000 / 413: the whole body is over 15 MB.
    pub fn body_too_large() -> Self {
        Self::new(
            4000,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is too large: the limit is {} MB.",
                MAX_BODY_BYTES / 1024 / 1024
            ),
        )
    }

    /// 4300 / 400: a 0-byte file.
    pub fn file_empty() -> Self {
        Self::new(
            4300,
            StatusCode::BAD_REQUEST,
            "The file is empty. Please upload a non-empty audio file.",
        )
    }

    /// 4301 / 400: more than one `file` part.
    pub fn too_many_files() -> Self {
        Self::new(
            4301,
            StatusCode::BAD_REQUEST,
            "Only one file can be uploaded per request, but the request has more than one file part.",
        )
    }

    /// 4302 / 400: the file part is over 10 MB.
    pub fn file_too_large() -> Self {
        Self::new(
            4302,
            StatusCode::BAD_REQUEST,
            format!(
                "The file is too large: the limit is {} MB.",
                MAX_FILE_BYTES / 1024 / 1024
            ),
        )
    }

    /// 4303 / 400: a format the account's model does not take.
    pub fn unsupported_format(format: &str, model: &str, supported: &str) -> Self {
        Self::new(
            4303,
            StatusCode::BAD_REQUEST,
            format!(
                "The audio format {format} is not supported by {model}-model speech recognition. \
                 Supported formats: {supported}."
            ),
        )
    }

    /// 4304 / 400: known container, undecodable content.
    pub fn undecodable(reason: &str) -> Self {
        Self::new(
            4304,
            StatusCode::BAD_REQUEST,
            format!("The audio file cannot be decoded: {reason}."),
        )
    }

    /// 4000 / 400: 30 minutes or longer.
    pub fn too_long(duration_ms: u64) -> Self {
        Self::bad_request(format!(
            "The audio is too long: {:.1} minutes, it must be shorter than 30 minutes.",
            duration_ms as f64 / 60_000.0
        ))
    }

    /// 4000 / 405: a method other than POST on the transcription path.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            4000,
            StatusCode::METHOD_NOT_ALLOWED,
            format!("The method {method} is not allowed here: use POST with a multipart/form-data body."),
        )
    }

    /// 4200 / 404: an API path the simulator does not serve; when it holds an endpoint
    /// behind a wrong base URL (a path prefix, a trailing or doubled slash), the message
    /// says which and how to fix the base URL.
    pub fn not_found(path: &str) -> Self {
        let shown = routes::shorten(path, MAX_ECHO_BYTES);
        let msg = match routes::suggest(path) {
            Some(endpoint) => format!(
                "The resource {shown} was not found. Did you mean {endpoint}? \
                 The base URL must be the scheme, host and port only, with no path and no trailing slash."
            ),
            None => format!("The resource {shown} was not found."),
        };
        Self::new(4200, StatusCode::NOT_FOUND, msg)
    }

    /// What the connection layer refuses, with its HTTP status: 4000 for a request it could
    /// not take (400, 408, 414, 431), 4009 for a server at its connection limit (503)
    /// [inferred: the real service's gateway answers these itself].
    pub fn refused(status: StatusCode, msg: impl Into<String>) -> Self {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            4009
        } else {
            4000
        };
        Self::new(code, status, msg)
    }

    /// A scenario's scripted error: its status, with its code and message where it gives
    /// them (5000 and the provider's internal-error wording otherwise).
    pub fn scripted(status: StatusCode, code: Option<i64>, msg: Option<String>) -> Self {
        Self::new(
            code.unwrap_or(5000),
            status,
            msg.unwrap_or_else(|| MSG_INTERNAL.to_owned()),
        )
    }

    /// 429 with 4020 (requests per minute) or 4009 (the system's limit), as a scenario's
    /// rate limit answers.
    pub fn rate_limited(code: Option<i64>) -> Self {
        let code = code.unwrap_or(4020);
        let msg = if code == 4009 {
            "The system request limit has been reached. Please retry later."
        } else {
            "Your requests per minute (RPM) exceeded the limit. Please retry later."
        };
        Self::new(code, StatusCode::TOO_MANY_REQUESTS, msg)
    }

    /// 5000 / 500: internal error (only scenarios produce it).
    pub fn internal() -> Self {
        Self::new(5000, StatusCode::INTERNAL_SERVER_ERROR, MSG_INTERNAL)
    }
}
