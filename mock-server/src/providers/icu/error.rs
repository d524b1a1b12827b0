//! icu's error envelope. icu's own error codes are not public, so each class of error borrows
//! Tencent Cloud ASR's error name (icu passes Tencent's API through) and gets one numeric code
//! of ours [inferred]. Answers use HTTP 200 [tencent convention] with
//! `{"code":<non-zero>,"msg":"<TencentName>: <reason>","success":false,"data":null}`.
//!
//! The handler layer turns an [`IcuError`] into a response; this module knows nothing of HTTP.

use serde::Serialize;

/// `InvalidParameter`: the body cannot be parsed at all (bad JSON, unsupported content type).
pub const CODE_INVALID_PARAMETER: i64 = 4000;
/// `InvalidParameterValue`: a parameter has a value outside its rule.
pub const CODE_INVALID_PARAMETER_VALUE: i64 = 4001;
/// `InvalidParameterValue.ErrorInvalidUrl`: `Url` is not a usable http(s) address.
pub const CODE_INVALID_URL: i64 = 4002;
/// `InvalidParameterValue.ErrorVoicedataTooLong`: `Data` (or the whole body) is too big.
pub const CODE_VOICE_DATA_TOO_LONG: i64 = 4003;
/// `InvalidParameterValue.ErrorInvalidVoicedata`: `Data` is not strict standard base64.
pub const CODE_INVALID_VOICE_DATA: i64 = 4004;
/// `MissingParameter`: a required parameter is absent (or null or empty).
pub const CODE_MISSING_PARAMETER: i64 = 4005;
/// `AuthFailure.InvalidAuthorization`: the opt-in signature check failed.
pub const CODE_AUTH_FAILURE: i64 = 4010;
/// `RequestLimitExceeded`: over the per-second rate limit (mirrors HTTP 429).
pub const CODE_REQUEST_LIMIT_EXCEEDED: i64 = 4029;
/// `FailedOperation.NoSuchTask`: unknown or expired TaskId (mirrors HTTP 404).
pub const CODE_NO_SUCH_TASK: i64 = 4040;
/// `InternalError`: the simulator's own failure, or a scenario asking for one.
pub const CODE_INTERNAL_ERROR: i64 = 5000;

/// Tencent's wording for an unknown TaskId [tencent].
pub const MSG_NO_SUCH_TASK: &str = "错误的TaskId";

/// The longest piece of caller input echoed in a reason, so a 5 MB `Data` or TaskId never
/// ends up whole in an error message.
const MAX_ECHO_CHARS: usize = 64;

/// The class of an icu error: decides the Tencent name at the start of `msg` and the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcuErrorKind {
    /// The body cannot be parsed at all (bad JSON, non-object JSON, unsupported content type).
    InvalidParameter,
    /// A parameter's value breaks its rule.
    InvalidParameterValue,
    /// `Url` is too long or not an absolute http(s) URL with a host.
    InvalidUrl,
    /// `Data` decodes to 5 MB or more, or the submit body is over its cap.
    VoiceDataTooLong,
    /// `Data` is not strict standard base64.
    InvalidVoiceData,
    /// A required parameter is absent.
    MissingParameter,
    /// The signature check (opt-in strict mode) failed.
    AuthFailure,
    /// A rate limit was exceeded.
    RequestLimitExceeded,
    /// The TaskId is unknown or its result has expired.
    NoSuchTask,
    /// The simulator failed, or a scenario injected a failure.
    InternalError,
}

impl IcuErrorKind {
    /// Every kind, in code order (for tests and the control API's documentation).
    pub const ALL: [IcuErrorKind; 10] = [
        IcuErrorKind::InvalidParameter,
        IcuErrorKind::InvalidParameterValue,
        IcuErrorKind::InvalidUrl,
        IcuErrorKind::VoiceDataTooLong,
        IcuErrorKind::InvalidVoiceData,
        IcuErrorKind::MissingParameter,
        IcuErrorKind::AuthFailure,
        IcuErrorKind::RequestLimitExceeded,
        IcuErrorKind::NoSuchTask,
        IcuErrorKind::InternalError,
    ];

    /// Tencent's error name, the first part of `msg` [tencent names, inferred mapping].
    pub fn name(self) -> &'static str {
        match self {
            IcuErrorKind::InvalidParameter => "InvalidParameter",
            IcuErrorKind::InvalidParameterValue => "InvalidParameterValue",
            IcuErrorKind::InvalidUrl => "InvalidParameterValue.ErrorInvalidUrl",
            IcuErrorKind::VoiceDataTooLong => "InvalidParameterValue.ErrorVoicedataTooLong",
            IcuErrorKind::InvalidVoiceData => "InvalidParameterValue.ErrorInvalidVoicedata",
            IcuErrorKind::MissingParameter => "MissingParameter",
            IcuErrorKind::AuthFailure => "AuthFailure.InvalidAuthorization",
            IcuErrorKind::RequestLimitExceeded => "RequestLimitExceeded",
            IcuErrorKind::NoSuchTask => "FailedOperation.NoSuchTask",
            IcuErrorKind::InternalError => "InternalError",
        }
    }

    /// The envelope's `code` [inferred: icu's real codes are not public].
    pub fn code(self) -> i64 {
        match self {
            IcuErrorKind::InvalidParameter => CODE_INVALID_PARAMETER,
            IcuErrorKind::InvalidParameterValue => CODE_INVALID_PARAMETER_VALUE,
            IcuErrorKind::InvalidUrl => CODE_INVALID_URL,
            IcuErrorKind::VoiceDataTooLong => CODE_VOICE_DATA_TOO_LONG,
            IcuErrorKind::InvalidVoiceData => CODE_INVALID_VOICE_DATA,
            IcuErrorKind::MissingParameter => CODE_MISSING_PARAMETER,
            IcuErrorKind::AuthFailure => CODE_AUTH_FAILURE,
            IcuErrorKind::RequestLimitExceeded => CODE_REQUEST_LIMIT_EXCEEDED,
            IcuErrorKind::NoSuchTask => CODE_NO_SUCH_TASK,
            IcuErrorKind::InternalError => CODE_INTERNAL_ERROR,
        }
    }
}

/// An error a client sees in icu's envelope; `Display` is the envelope's `msg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", kind.name())]
pub struct IcuError {
    /// Which class, hence which name and code.
    pub kind: IcuErrorKind,
    /// What exactly was wrong, for a human; names the parameter where there is one.
    pub reason: String,
}

impl IcuError {
    /// Any kind with any reason (scenarios build their errors this way).
    pub fn new(kind: IcuErrorKind, reason: impl Into<String>) -> Self {
        IcuError {
            kind,
            reason: reason.into(),
        }
    }

    /// The body cannot be parsed at all.
    pub fn invalid_parameter(reason: impl Into<String>) -> Self {
        Self::new(IcuErrorKind::InvalidParameter, reason)
    }

    /// `field` breaks its rule: the reason reads `<field> <detail>`, e.g.
    /// `ChannelNum must be 1 or 2, got 3`.
    pub fn invalid_value(field: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            IcuErrorKind::InvalidParameterValue,
            format!("{field} {detail}"),
        )
    }

    /// `Url` is unusable: the reason reads `Url <detail>`.
    pub fn invalid_url(detail: impl std::fmt::Display) -> Self {
        Self::new(IcuErrorKind::InvalidUrl, format!("Url {detail}"))
    }

    /// `Data` decodes to `size` bytes, not under `limit`.
    pub fn voice_data_too_long(size: usize, limit: usize) -> Self {
        Self::new(
            IcuErrorKind::VoiceDataTooLong,
            format!(
                "Data decodes to {size} bytes; the audio must be under {limit} bytes ({} MB)",
                limit / (1024 * 1024)
            ),
        )
    }

    /// The submit body is over `limit` bytes, refused before it is read whole.
    pub fn body_too_long(limit: usize) -> Self {
        Self::new(
            IcuErrorKind::VoiceDataTooLong,
            format!(
                "the request body is over {limit} bytes; Data must decode to under {} MB",
                super::limits::MAX_DATA_BYTES / (1024 * 1024)
            ),
        )
    }

    /// `Data` is not strict standard base64: the reason reads `Data <detail>`.
    pub fn invalid_voice_data(detail: impl std::fmt::Display) -> Self {
        Self::new(IcuErrorKind::InvalidVoiceData, format!("Data {detail}"))
    }

    /// `field` is required and absent (or null or empty).
    pub fn missing(field: &str) -> Self {
        Self::new(
            IcuErrorKind::MissingParameter,
            format!("the required parameter {field} is missing"),
        )
    }

    /// `field` is required because of another parameter's value, e.g.
    /// `missing_when("Url", "SourceType is 0")`.
    pub fn missing_when(field: &str, condition: &str) -> Self {
        Self::new(
            IcuErrorKind::MissingParameter,
            format!("the parameter {field} is required when {condition}"),
        )
    }

    /// The signature check failed.
    pub fn auth_failure(reason: impl Into<String>) -> Self {
        Self::new(IcuErrorKind::AuthFailure, reason)
    }

    /// A rate limit was exceeded; `reason` should say which limit.
    pub fn request_limit_exceeded(reason: impl Into<String>) -> Self {
        Self::new(IcuErrorKind::RequestLimitExceeded, reason)
    }

    /// Unknown or expired TaskId: Tencent's `错误的TaskId`, followed by the id when known.
    pub fn no_such_task(task_id: Option<&str>) -> Self {
        let reason = match task_id {
            Some(id) => format!("{MSG_NO_SUCH_TASK} {}", echo(id)),
            None => MSG_NO_SUCH_TASK.to_owned(),
        };
        Self::new(IcuErrorKind::NoSuchTask, reason)
    }

    /// The simulator's own failure.
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::new(IcuErrorKind::InternalError, reason)
    }

    /// The body the handler sends with HTTP 200.
    pub fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            code: self.kind.code(),
            msg: self.to_string(),
            success: false,
            data: None,
        }
    }
}

/// icu's error body: `{"code":4001,"msg":"InvalidParameterValue: …","success":false,"data":null}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// The kind's code, never 0 (0 means success).
    pub code: i64,
    /// `<TencentName>: <reason>`, so clients that only print `msg` still see the class.
    pub msg: String,
    /// Always false; success answers carry `true` (query) or omit it (submit).
    pub success: bool,
    /// Always `None`, serialised as `null` like the provider's error answers.
    pub data: Option<()>,
}

/// Caller input shortened for an error message: at most [`MAX_ECHO_CHARS`] characters,
/// then `…` and the full length in bytes.
pub(crate) fn echo(input: &str) -> String {
    match shorten(input) {
        (short, false) => short.to_owned(),
        (short, true) => format!("{short}… ({} bytes)", input.len()),
    }
}

/// The first [`MAX_ECHO_CHARS`] characters of `input`, and whether anything was cut.
pub(crate) fn shorten(input: &str) -> (&str, bool) {
    match input.char_indices().nth(MAX_ECHO_CHARS) {
        None => (input, false),
        Some((cut, _)) => (input.get(..cut).unwrap_or(input), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_match_the_table() {
        let table = [
            (IcuErrorKind::InvalidParameter, "InvalidParameter", 4000),
            (
                IcuErrorKind::InvalidParameterValue,
                "InvalidParameterValue",
                4001,
            ),
            (
                IcuErrorKind::InvalidUrl,
                "InvalidParameterValue.ErrorInvalidUrl",
                4002,
            ),
            (
                IcuErrorKind::VoiceDataTooLong,
                "InvalidParameterValue.ErrorVoicedataTooLong",
                4003,
            ),
            (
                IcuErrorKind::InvalidVoiceData,
                "InvalidParameterValue.ErrorInvalidVoicedata",
                4004,
            ),
            (IcuErrorKind::MissingParameter, "MissingParameter", 4005),
            (
                IcuErrorKind::AuthFailure,
                "AuthFailure.InvalidAuthorization",
                4010,
            ),
            (
                IcuErrorKind::RequestLimitExceeded,
                "RequestLimitExceeded",
                4029,
            ),
            (IcuErrorKind::NoSuchTask, "FailedOperation.NoSuchTask", 4040),
            (IcuErrorKind::InternalError, "InternalError", 5000),
        ];
        assert_eq!(table.len(), IcuErrorKind::ALL.len());
        for ((kind, name, code), listed) in table.into_iter().zip(IcuErrorKind::ALL) {
            assert_eq!(kind, listed);
            assert_eq!(kind.name(), name);
            assert_eq!(kind.code(), code);
        }
    }

    #[test]
    fn codes_are_distinct_and_non_zero() {
        let mut codes: Vec<i64> = IcuErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert!(codes.iter().all(|&c| c != 0));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), IcuErrorKind::ALL.len());
    }

    #[test]
    fn envelope_serialises_exactly() {
        let e = IcuError::invalid_value("ChannelNum", "must be 1 or 2, got 3");
        assert_eq!(
            e.to_string(),
            "InvalidParameterValue: ChannelNum must be 1 or 2, got 3"
        );
        let json = serde_json::to_string(&e.envelope()).unwrap();
        assert_eq!(
            json,
            r#"{"code":4001,"msg":"InvalidParameterValue: ChannelNum must be 1 or 2, got 3","success":false,"data":null}"#
        );
    }

    #[test]
    fn constructors_pick_their_kind() {
        assert_eq!(
            IcuError::invalid_parameter("x").kind,
            IcuErrorKind::InvalidParameter
        );
        assert_eq!(IcuError::invalid_url("x").kind, IcuErrorKind::InvalidUrl);
        assert_eq!(
            IcuError::voice_data_too_long(6, 5).kind,
            IcuErrorKind::VoiceDataTooLong
        );
        assert_eq!(
            IcuError::body_too_long(5).kind,
            IcuErrorKind::VoiceDataTooLong
        );
        assert_eq!(
            IcuError::invalid_voice_data("x").kind,
            IcuErrorKind::InvalidVoiceData
        );
        assert_eq!(
            IcuError::missing("Url").kind,
            IcuErrorKind::MissingParameter
        );
        assert_eq!(
            IcuError::missing_when("Url", "SourceType is 0").kind,
            IcuErrorKind::MissingParameter
        );
        assert_eq!(IcuError::auth_failure("x").kind, IcuErrorKind::AuthFailure);
        assert_eq!(
            IcuError::request_limit_exceeded("x").kind,
            IcuErrorKind::RequestLimitExceeded
        );
        assert_eq!(IcuError::internal("x").kind, IcuErrorKind::InternalError);
        assert_eq!(
            IcuError::missing("EngineModelType").to_string(),
            "MissingParameter: the required parameter EngineModelType is missing"
        );
        assert_eq!(
            IcuError::invalid_url("must be http").to_string(),
            "InvalidParameterValue.ErrorInvalidUrl: Url must be http"
        );
    }

    #[test]
    fn no_such_task_uses_tencents_wording() {
        let e = IcuError::no_such_task(Some("18446744073709551615"));
        assert_eq!(e.kind, IcuErrorKind::NoSuchTask);
        assert_eq!(
            e.envelope().msg,
            "FailedOperation.NoSuchTask: 错误的TaskId 18446744073709551615"
        );
        assert_eq!(
            IcuError::no_such_task(None).to_string(),
            "FailedOperation.NoSuchTask: 错误的TaskId"
        );
        assert_eq!(IcuError::no_such_task(None).envelope().code, 4040);
    }

    #[test]
    fn long_input_is_shortened_on_a_char_boundary() {
        let long = "错".repeat(1000);
        let shown = echo(&long);
        assert!(shown.starts_with(&"错".repeat(MAX_ECHO_CHARS)));
        assert!(shown.ends_with("… (3000 bytes)"));
        assert_eq!(echo("short"), "short");
        let exactly = "a".repeat(MAX_ECHO_CHARS);
        assert_eq!(echo(&exactly), exactly);
    }
}
