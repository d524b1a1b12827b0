//! Provider B: the icu recording-file ASR (`spec/icu-recording-asr.md`). Submit a task,
//! poll it (or [`IcuClient::wait`] for it), or receive its callback.
//!
//! Every icu answer is HTTP 200 JSON; errors are the envelope
//! `{"code":<non-zero>,"msg":"<TencentName>: <reason>","success":false,"data":null}`,
//! which becomes [`Error::Api`] with `logid: None`.
//!
//! Modules: [`request`] (typed submit, local validation), [`signature`], [`result`] (task
//! status, sentence details, the `Result` text), [`callback`], and `receiver` (feature
//! `receiver`).

pub mod callback;
#[cfg(feature = "receiver")]
pub mod receiver;
pub mod request;
pub mod result;
pub mod signature;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize as _;
use serde_json::{Map, Value};

pub use callback::{parse_callback, Callback};
pub use request::{Engine, Source, SubmitRequest, ValidationError};
pub use result::{
    format_result, parse_result, ParseError, Segment, SentenceDetail, SentenceWords, Status,
    TaskStatus,
};
pub use signature::{beijing_date, beijing_now, sign, DateSource};

use crate::http::{self, Answer};
use crate::Error;

/// Deadline of one HTTP call (a 5 MiB inline submit included).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The Tencent error name icu puts first in `msg` when a rate limit is hit.
const RATE_LIMITED: &str = "RequestLimitExceeded";

/// The Tencent error name of a provider-side failure.
const INTERNAL_ERROR: &str = "InternalError";

/// Failed polls in a row that [`IcuClient::wait`] absorbs before giving up: enough to ride
/// out a flaky gateway, few enough that a wrong base URL fails fast.
const MAX_TRANSIENT_RETRIES: u32 = 3;

/// The shortest pause after a `RequestLimitExceeded`: the provider's windows are a second.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);

/// The account's API keys, for the request signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Sent as the `C-Secret` header and signed as `cSecretId`.
    pub secret_id: String,
    /// The HMAC key; never sent.
    pub secret_key: String,
}

// Manual, so the key never reaches a log.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// How [`IcuClient::wait`] polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitOptions {
    /// The first pause between polls.
    pub initial: Duration,
    /// Each pause is the previous one times this (values below 1 or not finite count as 1).
    pub factor: f64,
    /// No pause is longer than this.
    pub max_interval: Duration,
    /// Give up with [`Error::Timeout`] this long after `wait` started (the provider
    /// guarantees a result within 3 h).
    pub deadline: Duration,
    /// At most this many polls per second (the provider allows 50 per account); 0 means no
    /// cap beyond the backoff.
    pub max_rate: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            initial: Duration::from_millis(500),
            factor: 1.5,
            max_interval: Duration::from_secs(10),
            deadline: Duration::from_secs(3 * 3600),
            max_rate: 50,
        }
    }
}

/// An icu client: cheap to clone (the HTTP client is shared).
#[derive(Debug, Clone)]
pub struct IcuClient {
    /// Base URL without trailing slash, e.g. `http://api.icuapi.com`.
    base_url: String,
    /// Shared connection pool; replaceable for proxies and custom TLS.
    http: reqwest::Client,
    /// Signs every request when set; the simulator accepts unsigned calls by default.
    credentials: Option<Credentials>,
    /// Source of `C-Date`: the system clock, a simulator's, or a pinned date in tests.
    date: DateSource,
    /// Per-call deadline, applied whatever the HTTP client is.
    timeout: Duration,
}

impl IcuClient {
    /// A client for `base_url` (`http://api.icuapi.com` or a mock's `base_url()`), unsigned.
    pub fn new(base_url: impl Into<String>) -> Self {
        IcuClient {
            base_url: http::trim_base(base_url.into()),
            http: http::default_client(),
            credentials: None,
            date: DateSource::system(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Signs every request with these keys (headers `C-Date`, `C-Secret`, `Sign`).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Uses this HTTP client (proxies, TLS roots, a shared pool).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The `C-Date` source (`yyyy-MM-dd HH:mm:ss`; default: Beijing time from the system
    /// clock, [`beijing_now`]). A simulator on a manual or scaled clock checks the date
    /// against its own time: sign with that (`beijing_date(server.clock().now_ms())`).
    pub fn with_date(self, date: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.with_date_source(DateSource::new(date))
    }

    /// The `C-Date` source, shared.
    pub fn with_date_source(mut self, date: DateSource) -> Self {
        self.date = date;
        self
    }

    /// Deadline of each HTTP call (default 60 s). [`WaitOptions::deadline`] bounds a whole
    /// `wait`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Validates `req` locally ([`Error::Invalid`], nothing sent), then submits it as JSON
    /// with every value a string. Returns the TaskId.
    pub async fn submit(&self, req: &SubmitRequest) -> Result<u64, Error> {
        req.validate()?;
        let params = req.to_params();
        let body = serde_json::to_vec(&params)
            .map_err(|e| Error::Transport(format!("cannot encode the request: {e}")))?;
        let request = self
            .http
            .post(format!("{}/openapi/asr/voiceToText", self.base_url))
            .header(CONTENT_TYPE, "application/json;charset=utf-8")
            .body(body);
        let answer = http::send(self.signed(request, &params)?.timeout(self.timeout)).await?;
        let data = envelope_data(&answer)?;
        task_id(data.get("TaskId")).ok_or_else(|| {
            http::decode(
                answer.status,
                "data.TaskId is not an unsigned 64-bit integer",
                &answer.body,
            )
        })
    }

    /// One poll: `GET /openapi/asr/searchResult?TaskId=…`.
    pub async fn query(&self, task_id: u64) -> Result<TaskStatus, Error> {
        let id = task_id.to_string();
        let params = BTreeMap::from([("TaskId".to_owned(), id.clone())]);
        let request = self
            .http
            .get(format!("{}/openapi/asr/searchResult", self.base_url))
            .query(&[("TaskId", id.as_str())]);
        let answer = http::send(self.signed(request, &params)?.timeout(self.timeout)).await?;
        let data = envelope_data(&answer)?;
        task_status(&data, task_id)
            .map_err(|reason| http::decode(answer.status, reason, &answer.body))
    }

    /// Polls until the task succeeds or fails, and returns that poll.
    ///
    /// Pauses start at `opts.initial` and grow by `opts.factor` up to `opts.max_interval`,
    /// never closer than `1 / opts.max_rate` seconds. A `RequestLimitExceeded` answer is not
    /// an error: the pause grows (to at least a second) and the poll is retried. Up to 3
    /// transient failures in a row (transport, a call's timeout, an undecodable body, HTTP
    /// 5xx or `InternalError`) are retried too, on the same schedule; the 4th, and any
    /// other error (`FailedOperation.NoSuchTask`, `AuthFailure…`), ends the wait. Past
    /// `opts.deadline` the result is [`Error::Timeout`].
    ///
    /// Cancel by dropping the future (e.g. in `tokio::select!` against a shutdown signal, or
    /// under `tokio::time::timeout`): nothing runs in the background, so an abandoned wait
    /// sends no further requests. The task itself keeps running at the provider.
    pub async fn wait(&self, task_id: u64, opts: WaitOptions) -> Result<TaskStatus, Error> {
        tokio::time::timeout(opts.deadline, self.poll_until_final(task_id, opts))
            .await
            .unwrap_or(Err(Error::Timeout))
    }

    async fn poll_until_final(&self, task_id: u64, opts: WaitOptions) -> Result<TaskStatus, Error> {
        let factor = if opts.factor.is_finite() && opts.factor >= 1.0 {
            opts.factor
        } else {
            1.0
        };
        let min_gap = match opts.max_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs(1) / rate,
        };
        let mut interval = opts.initial.min(opts.max_interval);
        let mut transient = 0;
        loop {
            match self.query(task_id).await {
                Ok(status) if status.status.is_final() => return Ok(status),
                Ok(_) => transient = 0,
                Err(e) if is_rate_limited(&e) => {
                    interval = interval.max(RATE_LIMIT_PAUSE).min(opts.max_interval);
                }
                Err(e) if is_transient(&e) && transient < MAX_TRANSIENT_RETRIES => {
                    transient += 1;
                }
                Err(e) => return Err(e),
            }
            // Sleeping after each answer keeps polls at least `min_gap` apart.
            tokio::time::sleep(interval.max(min_gap)).await;
            interval = grow(interval, factor, opts.max_interval);
        }
    }

    /// Adds the signature headers when credentials are set.
    fn signed(
        &self,
        request: reqwest::RequestBuilder,
        params: &BTreeMap<String, String>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let Some(c) = &self.credentials else {
            return Ok(request);
        };
        let c_date = self.date.date();
        let signature = sign(params, &c.secret_id, &c.secret_key, &c_date);
        let header = |field: &'static str, value: &str| {
            reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                Error::Invalid(ValidationError {
                    field,
                    reason: format!("cannot be sent as an HTTP header: {value:?}"),
                })
            })
        };
        Ok(request
            .header("C-Date", header("C-Date", &c_date)?)
            .header("C-Secret", header("C-Secret", &c.secret_id)?)
            .header("Sign", header("Sign", &signature)?))
    }
}

/// Whether one failed poll says nothing about the task: a broken connection, a call past
/// its deadline, a garbled or truncated body, a gateway or internal error. Polling is
/// idempotent, so `wait` tries again.
fn is_transient(err: &Error) -> bool {
    match err {
        Error::Transport(_) | Error::Timeout | Error::Decode { .. } => true,
        Error::Api { status, msg, .. } => *status >= 500 || msg.starts_with(INTERNAL_ERROR),
        Error::Invalid(_) => false,
    }
}

/// Whether `err` is icu's rate-limit answer.
fn is_rate_limited(err: &Error) -> bool {
    matches!(err, Error::Api { msg, .. } if msg.starts_with(RATE_LIMITED))
}

/// `interval × factor`, capped (and safe from overflow and odd floats).
fn grow(interval: Duration, factor: f64, max: Duration) -> Duration {
    Duration::try_from_secs_f64(interval.as_secs_f64() * factor)
        .unwrap_or(max)
        .min(max)
}

/// The `data` object of a success envelope; the error envelope is [`Error::Api`].
fn envelope_data(answer: &Answer) -> Result<Map<String, Value>, Error> {
    let obj = http::json_object(answer)?;
    let code = http::envelope_code(answer, &obj)?;
    if code != 0 {
        return Err(Error::Api {
            status: answer.status,
            code,
            msg: http::envelope_msg(&obj),
            logid: None,
        });
    }
    if !http::is_success(answer.status) {
        return Err(http::decode(
            answer.status,
            format!("HTTP {} with code 0", answer.status),
            &answer.body,
        ));
    }
    match obj.get("data") {
        Some(Value::Object(data)) => Ok(data.clone()),
        _ => Err(http::decode(
            answer.status,
            "code 0 without a `data` object",
            &answer.body,
        )),
    }
}

/// A uint64 id as a JSON number or a string of digits (exact above 2^53).
fn task_id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// A `searchResult` `data` object; `asked` stands in for a missing TaskId.
fn task_status(data: &Map<String, Value>, asked: u64) -> Result<TaskStatus, String> {
    let task_id = match data.get("TaskId") {
        None | Some(Value::Null) => asked,
        value => task_id(value).ok_or("data.TaskId is not an unsigned 64-bit integer")?,
    };
    let status_str = data.get("StatusStr").and_then(Value::as_str);
    let status = data
        .get("Status")
        .and_then(Value::as_i64)
        .and_then(Status::from_code)
        .or_else(|| status_str.and_then(Status::from_name))
        .ok_or("data has no Status 0–3 or StatusStr waiting/doing/success/failed")?;
    let text = |name: &str| -> Result<String, String> {
        match data.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("data.{name} is not a string")),
        }
    };
    let result_detail = match data.get("ResultDetail") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => Vec::<SentenceDetail>::deserialize(value)
            .map_err(|e| format!("data.ResultDetail is not a SentenceDetail array: {e}"))?,
    };
    Ok(TaskStatus {
        task_id,
        status,
        status_str: status_str
            .filter(|s| !s.is_empty())
            .unwrap_or(status.as_str())
            .to_owned(),
        error_msg: text("ErrorMsg")?,
        result: text("Result")?,
        result_detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn task_status_is_tolerant_of_nulls() {
        let d = data(
            json!({"TaskId": 9007199254740993u64, "Status": 1, "StatusStr": "doing",
                            "ErrorMsg": null, "Result": null, "ResultDetail": null}),
        );
        let s = task_status(&d, 1);
        assert_eq!(s.as_ref().map(|s| s.task_id), Ok(9007199254740993));
        assert_eq!(s.map(|s| s.status), Ok(Status::Doing));
        let d = data(json!({"StatusStr": "failed", "ErrorMsg": "x"}));
        assert_eq!(
            task_status(&d, 7).map(|s| (s.task_id, s.status)),
            Ok((7, Status::Failed))
        );
        for bad in [
            json!({"Status": 9}),
            json!({"Status": 2, "Result": 5}),
            json!({"Status": 2, "ResultDetail": {}}),
            json!({"Status": 2, "TaskId": -1}),
        ] {
            assert!(task_status(&data(bad.clone()), 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_never_overflows() {
        let max = Duration::from_secs(10);
        assert_eq!(grow(Duration::MAX, 1e300, max), max);
        assert_eq!(
            grow(Duration::from_secs(1), 1.5, max),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn credentials_debug_hides_the_key() {
        let c = Credentials {
            secret_id: "id".into(),
            secret_key: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
