//! The named checks. Each talks to a [`Target`] through the typed client where it can (so
//! the client is proven too) and through raw HTTP where the wire itself is the point, and
//! ends in an [`Outcome`].
//!
//! With a control API (a simulator) a check moves the simulator's clock, so a task ends in
//! milliseconds and every run sees the same statuses; without one (a real provider) it
//! waits in real time with [`IcuClient::wait`](asr_client::icu::IcuClient::wait) under the
//! target's deadline. A check that cannot be made against the target — it needs to force a
//! failure, or a callback cannot reach this machine — is skipped, never passed.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use asr_client::icu::{
    parse_result, Engine, IcuClient, Segment, Source, Status, SubmitRequest, TaskStatus,
    WaitOptions,
};
use asr_client::Error;
use futures_util::FutureExt;
use serde_json::{json, Value};

use crate::fixtures;
use crate::outcome::{Checked, Outcome};
use crate::shape;
use crate::target::Target;
use crate::wire::{self, Answer};

/// A check body.
pub type CheckFn = for<'a> fn(&'a Target) -> Pin<Box<dyn Future<Output = Checked> + Send + 'a>>;

/// One named check.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable name, `provider.area.case` (tests pin the list by these).
    pub name: &'static str,
    /// What it proves, one line.
    pub about: &'static str,
    body: CheckFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

/// Simulated time between polls when a check drives a simulator's clock: short enough that
/// every status of a few-second task is seen.
const STEP_MS: u64 = 250;
/// Polls before a driven task counts as stuck (60 simulated seconds).
const MAX_STEPS: usize = 240;
/// How long a callback may take to arrive once a simulator has ended the task (real time).
const CALLBACK_GRACE: Duration = Duration::from_secs(10);

impl Check {
    /// Runs the check. With a control API the simulator's clock first moves one second, so
    /// every check starts in a fresh rate-limit window. A panic is a failure, not a crash.
    pub async fn run(&self, target: &Target) -> Outcome {
        if let Some(control) = target.control() {
            if let Err(e) = control.advance(1000).await {
                return Outcome::Fail(format!("cannot move the simulator's clock: {e}"));
            }
        }
        match AssertUnwindSafe((self.body)(target)).catch_unwind().await {
            Ok(Ok(())) => Outcome::Pass,
            Ok(Err(outcome)) => outcome,
            Err(panic) => Outcome::Fail(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            )),
        }
    }
}

macro_rules! check {
    ($name:literal, $about:literal, $body:path) => {
        Check {
            name: $name,
            about: $about,
            body: |t| Box::pin($body(t)),
        }
    };
}

/// Fails the check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            return Err(Outcome::Fail(format!($($arg)+)));
        }
    }};
}

/// Every check, in the order the binary runs them.
pub fn all() -> Vec<Check> {
    vec![
        check!(
            "coze.success.speech",
            "speech gets non-empty text and a logid, from bytes and from a streamed file",
            coze_success_speech
        ),
        check!(
            "coze.success.silence",
            "silent audio gets success with text \"\"",
            coze_success_silence
        ),
        check!(
            "coze.logid",
            "success is JSON with the same 34-character logid in X-Tt-Logid and detail.logid",
            coze_logid
        ),
        check!(
            "coze.error.4100",
            "an unknown or missing bearer token gets 4100, HTTP 401",
            coze_error_4100
        ),
        check!(
            "coze.error.4000",
            "a form without a `file` part gets 4000 with the provider's wording",
            coze_error_4000
        ),
        check!(
            "coze.error.4300",
            "an empty file gets 4300",
            coze_error_4300
        ),
        check!(
            "coze.error.4303",
            "a file in no supported format gets 4303",
            coze_error_4303
        ),
        check!(
            "icu.submit",
            "a submit answers {msg:操作成功, code:0, data:{TaskId}} with a uint64 TaskId",
            icu_submit
        ),
        check!(
            "icu.query.lifecycle",
            "polls show waiting, doing, then success, in the provider's shape, never backwards",
            icu_query_lifecycle
        ),
        check!(
            "icu.query.detail",
            "ResTextFormat 1 and 2 fill ResultDetail in step with the Result lines",
            icu_query_detail
        ),
        check!(
            "icu.query.post",
            "searchResult by POST (JSON and form) answers as GET does",
            icu_query_post
        ),
        check!(
            "icu.wait",
            "IcuClient::wait returns the final status",
            icu_wait
        ),
        check!(
            "icu.url_source",
            "a Url task is downloaded and gives the same text as the same audio inline",
            icu_url_source
        ),
        check!(
            "icu.failed.not_audio",
            "bytes that are not audio end in failed with an ErrorMsg",
            icu_failed_not_audio
        ),
        check!(
            "icu.failed.forced",
            "a failure forced through the control API (10001) shows as failed",
            icu_failed_forced
        ),
        check!(
            "icu.error.no_such_task",
            "an unknown TaskId gets FailedOperation.NoSuchTask in icu's envelope",
            icu_error_no_such_task
        ),
        check!(
            "icu.error.missing_parameter",
            "a body without EngineModelType gets MissingParameter naming it",
            icu_error_missing_parameter
        ),
        check!(
            "icu.error.invalid_value",
            "out-of-range values get InvalidParameterValue naming the field",
            icu_error_invalid_value
        ),
        check!(
            "icu.validation.local",
            "the client refuses what the server refuses, naming the same field, sending nothing",
            icu_validation_local
        ),
        check!(
            "icu.callback.success",
            "the callback of a successful task reaches the receiver and agrees with the poll",
            icu_callback_success
        ),
        check!(
            "icu.callback.failed",
            "the callback of a failed task carries code 10000 and the poll's ErrorMsg",
            icu_callback_failed
        ),
        check!(
            "icu.signature",
            "signed calls pass; a wrong key or no signature gets AuthFailure.InvalidAuthorization",
            icu_signature
        ),
        check!(
            "icu.rate_limit",
            "the 21st submit and the 51st query within a second get RequestLimitExceeded",
            icu_rate_limit
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Helpers

fn fail(msg: impl Into<String>) -> Outcome {
    Outcome::Fail(msg.into())
}

/// `?` with a message: any displayable error becomes a failure saying what was being done.
trait Context<T> {
    fn context(self, what: &str) -> Result<T, Outcome>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Outcome> {
        self.map_err(|e| fail(format!("{what}: {e}")))
    }
}

/// The parts of an [`Error::Api`], or a failure saying what came instead.
struct ApiError {
    status: u16,
    code: i64,
    msg: String,
    logid: Option<String>,
}

fn expect_api<T: std::fmt::Debug>(
    result: Result<T, Error>,
    what: &str,
) -> Result<ApiError, Outcome> {
    match result {
        Err(Error::Api {
            status,
            code,
            msg,
            logid,
        }) => Ok(ApiError {
            status,
            code,
            msg,
            logid,
        }),
        other => Err(fail(format!(
            "{what}: expected the provider's error, got {other:?}"
        ))),
    }
}

/// A Coze error answer in full: status, code, JSON type, and the same well-formed logid in
/// the header and the body.
fn coze_error_envelope(answer: &Answer, status: u16, code: i64) -> Result<Value, Outcome> {
    let body = answer.json().context("Coze error")?;
    ensure!(
        answer.status == status && body["code"] == code,
        "expected HTTP {status} with code {code}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "an error needs a non-empty msg (cozepy raises otherwise): {}",
        answer.body_preview()
    );
    ensure!(
        body.get("data").is_none(),
        "an error carries no data: {body}"
    );
    coze_logids(answer, &body)?;
    Ok(body)
}

/// Coze's JSON content type and logid rule: header `X-Tt-Logid` = `detail.logid`, 34 chars.
fn coze_logids(answer: &Answer, body: &Value) -> Checked {
    let content_type = answer.header("content-type").unwrap_or_default();
    ensure!(
        content_type.starts_with("application/json"),
        "Content-Type must be application/json, got {content_type:?}"
    );
    let header = answer.header("x-tt-logid");
    let detail = body["detail"]["logid"].as_str();
    ensure!(
        header.is_some() && header == detail,
        "X-Tt-Logid {header:?} and detail.logid {detail:?} must be the same"
    );
    shape::logid(detail.unwrap_or_default()).map_err(fail)
}

fn speech_request(format: u8) -> SubmitRequest {
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::SPEECH.to_vec()));
    req.res_text_format = format;
    req
}

/// Polls until the task ends. With a control API the simulator's clock moves between polls
/// (deterministic, milliseconds of real time); without, [`IcuClient::wait`] in real time.
pub async fn finish(t: &Target, task_id: u64) -> Result<TaskStatus, Outcome> {
    let client = t.icu_client()?;
    let Some(control) = t.control() else {
        return client
            .wait(task_id, real_time_wait(t))
            .await
            .context(&format!("waiting for task {task_id}"));
    };
    for _ in 0..MAX_STEPS {
        let status = client.query(task_id).await.context("query")?;
        if status.status.is_final() {
            return Ok(status);
        }
        control.advance(STEP_MS).await.context("advance")?;
    }
    Err(fail(format!(
        "task {task_id} did not end within {} simulated seconds",
        STEP_MS * MAX_STEPS as u64 / 1000
    )))
}

/// Polling for a real provider: gentle, well under its 50/s limit, up to the deadline.
fn real_time_wait(t: &Target) -> WaitOptions {
    WaitOptions {
        initial: t.poll_interval(),
        factor: 1.5,
        max_interval: Duration::from_secs(10),
        deadline: t.wait_deadline(),
        max_rate: 5,
    }
}

/// Checks a searchResult answer's envelope and its data for `status` (when given); returns
/// the data.
fn query_envelope(answer: &Answer, status: Option<Status>) -> Result<Value, Outcome> {
    let body = answer.json().context("searchResult")?;
    ensure!(
        answer.status == 200
            && body["code"] == 0
            && body["success"] == true
            && body["msg"] == "操作成功",
        "expected HTTP 200 {{code:0, success:true, msg:操作成功}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    let data = &body["data"];
    for key in [
        "TaskId",
        "Status",
        "StatusStr",
        "ErrorMsg",
        "Result",
        "ResultDetail",
    ] {
        ensure!(data.get(key).is_some(), "data has no {key}: {data}");
    }
    ensure!(
        data["TaskId"].as_u64().is_some_and(|id| id > 0),
        "data.TaskId must be a positive uint64: {}",
        data["TaskId"]
    );
    let code = data["Status"]
        .as_i64()
        .and_then(Status::from_code)
        .ok_or_else(|| fail(format!("data.Status must be 0–3: {}", data["Status"])))?;
    ensure!(
        data["StatusStr"] == code.as_str(),
        "StatusStr {} does not match Status {}",
        data["StatusStr"],
        data["Status"]
    );
    if let Some(expected) = status {
        ensure!(code == expected, "expected {expected}, got {code}: {data}");
    }
    let error_msg = data["ErrorMsg"].as_str().unwrap_or("?");
    let result = data["Result"].as_str().unwrap_or("?");
    let detail_empty = data["ResultDetail"].is_null()
        || data["ResultDetail"].as_array().is_some_and(Vec::is_empty);
    match code {
        Status::Waiting | Status::Doing => ensure!(
            error_msg.is_empty() && result.is_empty() && detail_empty,
            "a {code} task has Result \"\", ErrorMsg \"\" and an empty ResultDetail: {data}"
        ),
        Status::Success => ensure!(
            error_msg.is_empty() && data["Result"].is_string(),
            "a successful task has ErrorMsg \"\" and a string Result: {data}"
        ),
        Status::Failed => ensure!(
            !error_msg.is_empty() && result.is_empty() && detail_empty,
            "a failed task has an ErrorMsg, Result \"\" and no ResultDetail: {data}"
        ),
    }
    Ok(data.clone())
}

/// An icu error answer: HTTP 200, `{code≠0, msg:"Name: reason", success:false, data:null}`.
/// Returns the Tencent name and the whole msg.
fn icu_error(answer: &Answer) -> Result<(String, String), Outcome> {
    let body = answer.json().context("icu error")?;
    ensure!(
        answer.status == 200,
        "icu answers errors with HTTP 200, got {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["code"].as_i64().is_some_and(|c| c != 0)
            && body["success"] == false
            && body["data"].is_null(),
        "expected {{code≠0, success:false, data:null}}, got {body}"
    );
    let msg = body["msg"].as_str().unwrap_or_default();
    let name = shape::icu_error_msg(msg).map_err(fail)?;
    Ok((name.to_owned(), msg.to_owned()))
}

/// Sends a raw JSON body to an icu path as the target's client would (signed).
async fn icu_raw(t: &Target, path: &str, body: &Value) -> Result<Answer, Outcome> {
    let icu = t.icu()?;
    wire::icu_post_json(
        t.http(),
        &icu.base_url,
        path,
        icu.credentials.as_ref(),
        body,
    )
    .await
    .map_err(fail)
}

/// The typed request's wire parameters as a JSON object of strings.
fn params_json(req: &SubmitRequest) -> Value {
    Value::Object(
        req.to_params()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// Segments must be in order, inside the audio, with text.
fn check_segments(segments: &[Segment], duration_ms: u64) -> Checked {
    ensure!(!segments.is_empty(), "speech gave no Result lines");
    let mut last_end = 0;
    for s in segments {
        ensure!(
            s.start_ms <= s.end_ms && s.start_ms >= last_end && s.end_ms <= duration_ms + 50,
            "segment {s:?} is out of order or past the audio's {duration_ms} ms"
        );
        ensure!(!s.text.is_empty(), "segment {s:?} has no text");
        last_end = s.end_ms;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Coze

async fn coze_success_speech(t: &Target) -> Checked {
    let client = t.coze_client()?;
    let from_bytes = client
        .transcribe_bytes(fixtures::SPEECH.to_vec(), fixtures::SPEECH_NAME)
        .await
        .context("transcribe_bytes")?;
    ensure!(!from_bytes.text.is_empty(), "speech gave empty text");
    let logid = from_bytes.logid.as_deref().unwrap_or_default();
    shape::logid(logid).map_err(fail)?;

    let dir = tempfile::tempdir().context("temporary folder")?;
    let path = dir.path().join(fixtures::SPEECH_NAME);
    std::fs::write(&path, fixtures::SPEECH).context("writing the fixture")?;
    let from_file = client
        .transcribe_path(&path)
        .await
        .context("transcribe_path")?;
    ensure!(
        from_file.text == from_bytes.text,
        "the same audio streamed from a file gave {:?}, from bytes {:?}",
        from_file.text,
        from_bytes.text
    );
    ensure!(
        from_file.logid.is_some() && from_file.logid != from_bytes.logid,
        "every request gets its own logid: {:?} then {:?}",
        from_bytes.logid,
        from_file.logid
    );
    Ok(())
}

async fn coze_success_silence(t: &Target) -> Checked {
    let got = t
        .coze_client()?
        .transcribe_bytes(fixtures::SILENCE.to_vec(), fixtures::SILENCE_NAME)
        .await
        .context("transcribe silence")?;
    ensure!(got.text.is_empty(), "silence gave text {:?}", got.text);
    shape::logid(got.logid.as_deref().unwrap_or_default()).map_err(fail)
}

async fn coze_logid(t: &Target) -> Checked {
    let coze = t.coze()?;
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        Some(&format!("Bearer {}", coze.token)),
        wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME),
    )
    .await
    .map_err(fail)?;
    let body = answer.json().context("Coze success")?;
    ensure!(
        answer.status == 200 && body["code"] == 0 && body["msg"] == "",
        "expected HTTP 200 {{code:0, msg:\"\"}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["data"]["text"].is_string(),
        "data.text must be a string: {body}"
    );
    coze_logids(&answer, &body)
}

async fn coze_error_4100(t: &Target) -> Checked {
    let unknown = t
        .coze_client_with_token("pat_contract_not_a_real_token")?
        .transcribe_bytes(fixtures::SPEECH.to_vec(), fixtures::SPEECH_NAME)
        .await;
    // A simulator started without a tokens file takes any token; the missing-token half
    // below still holds there.
    let open_simulator = unknown.is_ok() && t.control().is_some();
    if !open_simulator {
        let e = expect_api(unknown, "an unknown token")?;
        ensure!(
            (e.status, e.code, e.msg.as_str()) == (401, 4100, "authentication is invalid"),
            "an unknown token: expected HTTP 401, 4100 \"authentication is invalid\", got HTTP {} {} {:?}",
            e.status,
            e.code,
            e.msg
        );
        shape::logid(e.logid.as_deref().unwrap_or_default()).map_err(fail)?;
    }
    let coze = t.coze()?;
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        None,
        wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME),
    )
    .await
    .map_err(fail)?;
    let body = coze_error_envelope(&answer, 401, 4100)?;
    ensure!(
        body["msg"] == "authentication is invalid",
        "no token: msg {}",
        body["msg"]
    );
    Ok(())
}

/// The provider's observed wording for a request without a usable `file` part.
pub const COZE_MSG_FILE_INVALID: &str =
    "The parameter file is invalid. It should follow the format: file. Please review your input.";

async fn coze_error_4000(t: &Target) -> Checked {
    let coze = t.coze()?;
    let form = reqwest::multipart::Form::new().part(
        "audio",
        reqwest::multipart::Part::bytes(fixtures::SPEECH.to_vec()).file_name(fixtures::SPEECH_NAME),
    );
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        Some(&format!("Bearer {}", coze.token)),
        form,
    )
    .await
    .map_err(fail)?;
    let body = coze_error_envelope(&answer, 400, 4000)?;
    ensure!(
        body["msg"] == COZE_MSG_FILE_INVALID,
        "msg {} is not the provider's wording",
        body["msg"]
    );
    Ok(())
}

async fn coze_error_4300(t: &Target) -> Checked {
    coze_upload_refused(t, Vec::new(), "empty.wav", "an empty file", 4300).await
}

async fn coze_error_4303(t: &Target) -> Checked {
    let bytes = fixtures::NOT_AUDIO.to_vec();
    coze_upload_refused(t, bytes, fixtures::NOT_AUDIO_NAME, "a text file", 4303).await
}

/// An upload Coze must refuse with HTTP 400, `code`, a message and a well-formed logid.
async fn coze_upload_refused(
    t: &Target,
    bytes: Vec<u8>,
    filename: &str,
    what: &str,
    code: i64,
) -> Checked {
    let got = t.coze_client()?.transcribe_bytes(bytes, filename).await;
    let e = expect_api(got, what)?;
    ensure!(
        (e.status, e.code) == (400, code) && !e.msg.is_empty(),
        "{what}: expected HTTP 400 code {code}, got HTTP {} {} {:?}",
        e.status,
        e.code,
        e.msg
    );
    shape::logid(e.logid.as_deref().unwrap_or_default()).map_err(fail)
}

// ---------------------------------------------------------------------------------------
// icu: submit and query

async fn icu_submit(t: &Target) -> Checked {
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    ensure!(id > 0, "TaskId must be positive, got {id}");
    // The same request raw, to see the envelope itself.
    let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &params_json(&speech_request(0))).await?;
    let body = answer.json().context("submit")?;
    ensure!(
        answer.status == 200 && body["code"] == 0 && body["msg"] == "操作成功",
        "expected HTTP 200 {{msg:操作成功, code:0}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    let raw_id = body["data"]["TaskId"].as_u64().unwrap_or(0);
    ensure!(
        raw_id > 0 && raw_id != id,
        "data.TaskId must be a new positive uint64, got {} after {id}",
        body["data"]["TaskId"]
    );
    Ok(())
}

async fn icu_query_lifecycle(t: &Target) -> Checked {
    let icu = t.icu()?;
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    let poll = || async {
        let answer = wire::icu_query_get(
            t.http(),
            &icu.base_url,
            icu.credentials.as_ref(),
            &id.to_string(),
        )
        .await
        .map_err(fail)?;
        let data = query_envelope(&answer, None)?;
        ensure!(
            data["TaskId"] == id,
            "asked for {id}, got {}",
            data["TaskId"]
        );
        Ok::<_, Outcome>(data)
    };
    // Only a manual clock makes the statuses seen certain.
    let frozen = match t.control() {
        Some(c) => c.manual_clock().await.map_err(fail)?,
        None => false,
    };
    let mut seen = vec![];
    let mut data = poll().await?;
    let first = data["Status"].as_i64().unwrap_or(-1);
    if frozen {
        ensure!(first == 0, "a new task is waiting, got {data}");
    }
    seen.push(first);
    let control = t.control();
    let mut pause = t.poll_interval();
    let mut waited = Duration::ZERO;
    while data["Status"] != 2 && data["Status"] != 3 {
        match control {
            Some(c) => c.advance(STEP_MS).await.context("advance")?,
            None => {
                ensure!(
                    waited < t.wait_deadline(),
                    "task {id} did not end within {:?}",
                    t.wait_deadline()
                );
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 3 / 2).min(Duration::from_secs(10));
            }
        }
        ensure!(
            seen.len() < MAX_STEPS,
            "task {id} did not end after {MAX_STEPS} polls"
        );
        data = poll().await?;
        let status = data["Status"].as_i64().unwrap_or(-1);
        ensure!(
            status >= *seen.last().unwrap_or(&0),
            "status went backwards: {seen:?} then {status}"
        );
        seen.push(status);
    }
    if frozen {
        ensure!(
            seen.contains(&1),
            "polls every {STEP_MS} simulated ms never saw doing: {seen:?}"
        );
    }
    let data = query_envelope(
        &wire::icu_query_get(
            t.http(),
            &icu.base_url,
            icu.credentials.as_ref(),
            &id.to_string(),
        )
        .await
        .map_err(fail)?,
        Some(Status::Success),
    )?;
    let result = data["Result"].as_str().unwrap_or_default();
    ensure!(
        result.ends_with('\n'),
        "every Result line ends in \\n, the last one too: {result:?}"
    );
    let segments = parse_result(result).context("Result")?;
    check_segments(&segments, fixtures::SPEECH_DURATION_MS)?;
    ensure!(
        data["ResultDetail"].as_array().is_some_and(Vec::is_empty)
            || data["ResultDetail"].is_null(),
        "ResTextFormat 0 has no ResultDetail: {}",
        data["ResultDetail"]
    );
    // The typed client reads the same answer.
    let typed = t.icu_client()?.query(id).await.context("typed query")?;
    ensure!(
        typed.status == Status::Success && typed.result == result && typed.task_id == id,
        "the client read {typed:?}"
    );
    Ok(())
}

async fn icu_query_detail(t: &Target) -> Checked {
    let client = t.icu_client()?;
    for format in [1u8, 2] {
        let id = client
            .submit(&speech_request(format))
            .await
            .context("submit")?;
        let done = finish(t, id).await?;
        ensure!(
            done.status == Status::Success,
            "format {format}: task ended {}: {}",
            done.status,
            done.error_msg
        );
        let segments = done.segments().context("Result")?;
        check_segments(&segments, fixtures::SPEECH_DURATION_MS)?;
        let detail = &done.result_detail;
        ensure!(
            detail.len() == segments.len(),
            "format {format}: {} ResultDetail entries for {} Result lines",
            detail.len(),
            segments.len()
        );
        for (d, s) in detail.iter().zip(&segments) {
            ensure!(
                (d.start_ms, d.end_ms) == (s.start_ms, s.end_ms),
                "format {format}: sentence {}–{} ms, Result line {}–{} ms",
                d.start_ms,
                d.end_ms,
                s.start_ms,
                s.end_ms
            );
            ensure!(
                d.words_num as usize == d.words.len() && !d.words.is_empty(),
                "format {format}: WordsNum {} for {} words",
                d.words_num,
                d.words.len()
            );
            let joined: Vec<&str> = d.words.iter().map(|w| w.word.as_str()).collect();
            ensure!(
                d.slice_sentence == joined.join(" "),
                "format {format}: SliceSentence {:?} is not the words joined by spaces",
                d.slice_sentence
            );
            for w in &d.words {
                ensure!(
                    w.offset_start_ms <= w.offset_end_ms
                        && w.offset_end_ms <= d.end_ms - d.start_ms,
                    "format {format}: word {w:?} is not inside its {}–{} ms sentence \
                     (offsets are relative to the sentence)",
                    d.start_ms,
                    d.end_ms
                );
            }
            ensure!(
                d.speech_speed > 0.0,
                "format {format}: SpeechSpeed {}",
                d.speech_speed
            );
            ensure!(
                d.speaker_id.is_none(),
                "format {format}: SpeakerId without diarization: {:?}",
                d.speaker_id
            );
            let punctuated = |s: &str| s.chars().any(|c| "，。？！、；：,.?!;:".contains(c));
            if format == 1 {
                ensure!(
                    !punctuated(&d.final_sentence) && !d.words.iter().any(|w| punctuated(&w.word)),
                    "format 1 has no punctuation: {:?}",
                    d.final_sentence
                );
            }
        }
        if format == 2 {
            ensure!(
                detail
                    .iter()
                    .any(|d| d.final_sentence.chars().any(|c| "，。？！".contains(c))),
                "format 2 keeps punctuation: {:?}",
                detail.iter().map(|d| &d.final_sentence).collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

async fn icu_query_post(t: &Target) -> Checked {
    let icu = t.icu()?;
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    finish(t, id).await?;
    let get = query_envelope(
        &wire::icu_query_get(
            t.http(),
            &icu.base_url,
            icu.credentials.as_ref(),
            &id.to_string(),
        )
        .await
        .map_err(fail)?,
        Some(Status::Success),
    )?;
    for body in [json!({ "TaskId": id }), json!({ "TaskId": id.to_string() })] {
        let post = query_envelope(&icu_raw(t, wire::ICU_QUERY_PATH, &body).await?, None)?;
        ensure!(
            post == get,
            "POST {body} answered {post}, GET answered {get}"
        );
    }
    let form_params = std::collections::BTreeMap::from([("TaskId".to_owned(), id.to_string())]);
    let form = wire::icu_signed(
        t.http()
            .post(format!("{}{}", icu.base_url, wire::ICU_QUERY_PATH))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("TaskId={id}")),
        icu.credentials.as_ref(),
        &form_params,
    );
    let post = query_envelope(&Answer::fetch(form).await.map_err(fail)?, None)?;
    ensure!(post == get, "POST form answered {post}, GET answered {get}");
    Ok(())
}

async fn icu_wait(t: &Target) -> Checked {
    let client = t.icu_client()?;
    let id = client.submit(&speech_request(0)).await.context("submit")?;
    let done = match t.control() {
        None => client.wait(id, real_time_wait(t)).await.context("wait")?,
        Some(control) => {
            // Time moves on the simulator while `wait` polls in real time.
            let control = control.clone();
            let clock = tokio::spawn(async move {
                for _ in 0..2000 {
                    if control.advance(STEP_MS).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            let opts = WaitOptions {
                initial: Duration::from_millis(5),
                factor: 2.0,
                max_interval: Duration::from_millis(40),
                deadline: Duration::from_secs(20),
                max_rate: 0,
            };
            let done = client.wait(id, opts).await;
            clock.abort();
            done.context("wait")?
        }
    };
    ensure!(
        done.task_id == id && done.status == Status::Success && !done.result.is_empty(),
        "wait returned {done:?}"
    );
    Ok(())
}

async fn icu_url_source(t: &Target) -> Checked {
    let control = t.require_control("the simulator hosts the audio the task downloads")?;
    let client = t.icu_client()?;
    let url = control
        .host_audio("contract-speech.wav", fixtures::SPEECH)
        .await
        .map_err(fail)?;
    let by_url = SubmitRequest::new(Engine::Zh16k, Source::Url(url));
    let url_done = finish(t, client.submit(&by_url).await.context("submit Url")?).await?;
    let data_done = finish(
        t,
        client
            .submit(&speech_request(0))
            .await
            .context("submit Data")?,
    )
    .await?;
    ensure!(
        url_done.status == Status::Success && url_done.result == data_done.result,
        "the same audio by Url gave {:?} ({}), inline {:?}",
        url_done.result,
        url_done.status,
        data_done.result
    );
    // An unreachable Url fails the task with 10007's message.
    let unreachable = SubmitRequest::new(
        Engine::Zh16k,
        Source::Url(format!(
            "{}/__admin/audio/contract-missing.wav",
            control.base_url()
        )),
    );
    let failed = finish(t, client.submit(&unreachable).await.context("submit")?).await?;
    ensure!(
        failed.status == Status::Failed
            && failed
                .error_msg
                .starts_with("Failed to download audio file!"),
        "a Url that answers 404 ends failed with \"Failed to download audio file!\", got {} {:?}",
        failed.status,
        failed.error_msg
    );
    Ok(())
}

async fn icu_failed_not_audio(t: &Target) -> Checked {
    let icu = t.icu()?;
    let req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::NOT_AUDIO.to_vec()));
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(
        done.status == Status::Failed && done.status_str == "failed" && !done.error_msg.is_empty(),
        "a text file as audio must fail with an ErrorMsg, got {done:?}"
    );
    ensure!(
        done.result.is_empty() && done.result_detail.is_empty(),
        "a failed task has no result: {done:?}"
    );
    query_envelope(
        &wire::icu_query_get(
            t.http(),
            &icu.base_url,
            icu.credentials.as_ref(),
            &id.to_string(),
        )
        .await
        .map_err(fail)?,
        Some(Status::Failed),
    )?;
    Ok(())
}

async fn icu_failed_forced(t: &Target) -> Checked {
    let control = t.require_control("forcing a failure")?;
    let client = t.icu_client()?;
    let id = client.submit(&speech_request(0)).await.context("submit")?;
    control
        .transition(id, json!({ "status": "failed", "code": 10001 }))
        .await
        .map_err(fail)?;
    let done = client.query(id).await.context("query")?;
    ensure!(
        done.status == Status::Failed && done.error_msg == "Recognition failed",
        "a forced 10001 shows failed with \"Recognition failed\", got {done:?}"
    );
    // Forward only: an ended task cannot be moved again.
    let again = control.transition(id, json!({ "status": "success" })).await;
    ensure!(again.is_err(), "an ended task was moved again: {again:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// icu: errors and validation

/// A TaskId no account has: near the top of the uint64 range.
const UNKNOWN_TASK_ID: u64 = 18_446_744_073_709_551_000;

async fn icu_error_no_such_task(t: &Target) -> Checked {
    let e = expect_api(
        t.icu_client()?.query(UNKNOWN_TASK_ID).await,
        "an unknown TaskId",
    )?;
    ensure!(
        e.status == 200 && e.code != 0 && e.logid.is_none(),
        "icu errors come with HTTP 200 and no logid, got HTTP {} code {} logid {:?}",
        e.status,
        e.code,
        e.logid
    );
    let name = shape::icu_error_msg(&e.msg).map_err(fail)?;
    ensure!(
        name == "FailedOperation.NoSuchTask",
        "expected FailedOperation.NoSuchTask, got {:?}",
        e.msg
    );
    let icu = t.icu()?;
    let answer = wire::icu_query_get(
        t.http(),
        &icu.base_url,
        icu.credentials.as_ref(),
        &UNKNOWN_TASK_ID.to_string(),
    )
    .await
    .map_err(fail)?;
    let (name, _) = icu_error(&answer)?;
    ensure!(name == "FailedOperation.NoSuchTask", "raw GET: {name}");
    Ok(())
}

async fn icu_error_missing_parameter(t: &Target) -> Checked {
    let mut body = params_json(&speech_request(0));
    if let Value::Object(map) = &mut body {
        map.remove("EngineModelType");
    }
    let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &body).await?;
    let (name, msg) = icu_error(&answer)?;
    ensure!(
        name == "MissingParameter" && msg.contains("EngineModelType"),
        "expected MissingParameter naming EngineModelType, got {msg:?}"
    );
    Ok(())
}

async fn icu_error_invalid_value(t: &Target) -> Checked {
    for (field, value) in [
        ("ChannelNum", "3"),
        ("ConvertNumMode", "2"),
        ("ResTextFormat", "x"),
    ] {
        let mut body = params_json(&speech_request(0));
        body[field] = Value::String(value.to_owned());
        let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &body).await?;
        let (name, msg) = icu_error(&answer)?;
        ensure!(
            name == "InvalidParameterValue" && msg.contains(field),
            "{field}={value:?}: expected InvalidParameterValue naming {field}, got {msg:?}"
        );
    }
    Ok(())
}

/// Requests with exactly one problem each, and the field both sides must name.
fn invalid_requests() -> Vec<(SubmitRequest, &'static str)> {
    let base = || speech_request(0);
    let with = |f: fn(&mut SubmitRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    vec![
        (with(|r| r.channel_num = 3), "ChannelNum"),
        (with(|r| r.res_text_format = 3), "ResTextFormat"),
        (with(|r| r.speaker_number = 11), "SpeakerNumber"),
        (
            with(|r| r.callback_url = Some("ftp://example.com/cb".into())),
            "CallbackUrl",
        ),
        (
            with(|r| r.source = Source::Url("example.com/a.wav".into())),
            "Url",
        ),
        (with(|r| r.source = Source::Data(Vec::new())), "Data"),
        (with(|r| r.filter_dirty = 3), "FilterDirty"),
        (with(|r| r.filter_modal = 3), "FilterModal"),
        (with(|r| r.convert_num_mode = 2), "ConvertNumMode"),
        (with(|r| r.filter_punc = 3), "FilterPunc"),
        (with(|r| r.channel_num = 2), "ChannelNum"),
        (
            with(|r| {
                r.engine = Engine::En16k;
                r.speaker_diarization = true;
            }),
            "SpeakerDiarization",
        ),
        (
            with(|r| {
                r.engine = Engine::Zh8k;
                r.channel_num = 2;
                r.speaker_diarization = true;
            }),
            "SpeakerDiarization",
        ),
    ]
}

async fn icu_validation_local(t: &Target) -> Checked {
    let client = t.icu_client()?;
    let before = match t.control() {
        Some(c) => Some(c.last_request_seq().await.map_err(fail)?),
        None => None,
    };
    let cases = invalid_requests();
    for (req, field) in &cases {
        match client.submit(req).await {
            Err(Error::Invalid(e)) if e.field == *field => {}
            other => {
                return Err(fail(format!(
                    "{req:?}: expected a local refusal naming {field}, got {other:?}"
                )))
            }
        }
    }
    if let (Some(c), Some(before)) = (t.control(), before) {
        let after = c.last_request_seq().await.map_err(fail)?;
        ensure!(
            after == before,
            "local refusals sent {} requests",
            after - before
        );
    }
    // The server refuses the same parameters, naming the same field.
    for (req, field) in &cases {
        let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &params_json(req)).await?;
        let (_, msg) = icu_error(&answer)?;
        ensure!(
            msg.contains(field),
            "the client names {field} for {req:?}, the server says {msg:?}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// icu: callbacks and authentication

async fn icu_callback_success(t: &Target) -> Checked {
    let mut receiver = t.callback_receiver().await?;
    let mut req = speech_request(2);
    req.callback_url = Some(receiver.url.clone());
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(done.status == Status::Success, "task ended {done:?}");
    let grace = if t.control().is_some() {
        CALLBACK_GRACE
    } else {
        t.wait_deadline()
    };
    let cb = tokio::time::timeout(grace, receiver.callbacks.recv())
        .await
        .map_err(|_| fail(format!("no callback within {grace:?}")))?
        .ok_or_else(|| fail("the receiver stopped"))?;
    ensure!(
        cb.request_id == id && cb.code == 0 && cb.message.is_empty(),
        "expected requestId {id}, code 0, message \"\", got {cb:?}"
    );
    ensure!(
        cb.text == done.result,
        "callback text {:?} differs from the poll's Result {:?}",
        cb.text,
        done.result
    );
    ensure!(
        cb.result_detail.as_ref() == Some(&done.result_detail),
        "callback resultDetail differs from the poll's ResultDetail"
    );
    let expected_s = fixtures::SPEECH_DURATION_MS as f64 / 1000.0;
    ensure!(
        (cb.audio_time - expected_s).abs() < 0.1,
        "audioTime {} for {expected_s} s of audio",
        cb.audio_time
    );
    ensure!(
        cb.audio_url.is_none() && cb.appid > 0,
        "an inline task has no audioUrl and the account's appid: {cb:?}"
    );
    if let Some(control) = t.control() {
        // The simulator journals an attempt once the receiver's answer is in, which can be
        // a moment after the receiver handed the callback over.
        let mut attempts = Vec::new();
        for _ in 0..250 {
            attempts = control.callback_attempts(id).await.map_err(fail)?;
            if !attempts.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ensure!(
            attempts.len() == 1 && attempts[0]["acknowledged"] == true,
            "one acknowledged attempt expected, the simulator journaled {attempts:?}"
        );
    }
    Ok(())
}

async fn icu_callback_failed(t: &Target) -> Checked {
    let mut receiver = t.callback_receiver().await?;
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::NOT_AUDIO.to_vec()));
    req.callback_url = Some(receiver.url.clone());
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(done.status == Status::Failed, "task ended {done:?}");
    let grace = if t.control().is_some() {
        CALLBACK_GRACE
    } else {
        t.wait_deadline()
    };
    let cb = tokio::time::timeout(grace, receiver.callbacks.recv())
        .await
        .map_err(|_| fail(format!("no callback within {grace:?}")))?
        .ok_or_else(|| fail("the receiver stopped"))?;
    ensure!(
        cb.request_id == id && cb.code == 10000,
        "expected requestId {id} with code 10000 (transcoding failed), got {cb:?}"
    );
    ensure!(
        cb.message == done.error_msg && cb.text.is_empty() && cb.result_detail.is_none(),
        "callback message {:?} must be the poll's ErrorMsg {:?}, with no text",
        cb.message,
        done.error_msg
    );
    Ok(())
}

async fn icu_signature(t: &Target) -> Checked {
    let icu = t.icu()?;
    let Some(credentials) = icu.credentials.clone() else {
        return Err(Outcome::Skip(format!(
            "no credentials to sign with ({} and {} unset)",
            crate::target::ENV_ICU_SECRET_ID,
            crate::target::ENV_ICU_SECRET_KEY
        )));
    };
    let signed = t.icu_client()?;
    signed
        .submit(&speech_request(0))
        .await
        .context("a signed submit")?;
    // A signed query of an unknown task gets past authentication to NoSuchTask.
    let e = expect_api(signed.query(UNKNOWN_TASK_ID).await, "a signed query")?;
    ensure!(
        e.msg.starts_with("FailedOperation.NoSuchTask"),
        "a signed query must pass authentication, got {:?}",
        e.msg
    );
    let wrong = IcuClient::new(&icu.base_url)
        .with_http(t.http().clone())
        .with_credentials(asr_client::icu::Credentials {
            secret_key: format!("{}-wrong", credentials.secret_key),
            ..credentials
        });
    let unsigned = IcuClient::new(&icu.base_url).with_http(t.http().clone());
    for (who, client) in [("a wrong key", &wrong), ("no signature", &unsigned)] {
        let submit = expect_api(client.submit(&speech_request(0)).await, who)?;
        let query = expect_api(client.query(UNKNOWN_TASK_ID).await, who)?;
        for e in [submit, query] {
            ensure!(
                e.status == 200
                    && e.code != 0
                    && e.msg.starts_with("AuthFailure.InvalidAuthorization"),
                "{who}: expected AuthFailure.InvalidAuthorization, got HTTP {} {} {:?}",
                e.status,
                e.code,
                e.msg
            );
        }
    }
    Ok(())
}

async fn icu_rate_limit(t: &Target) -> Checked {
    let control = t.require_control("bursting past the limits at a real provider spends quota")?;
    if !control.manual_clock().await.map_err(fail)? {
        return Err(Outcome::Skip(
            "the simulator's clock runs: a burst cannot be held inside one simulated second".into(),
        ));
    }
    let settings = control.icu_settings(json!({})).await.map_err(fail)?;
    let submit_rate = settings["submit_rate"].as_u64().unwrap_or(0);
    let query_rate = settings["query_rate"].as_u64().unwrap_or(0);
    if submit_rate == 0 || query_rate == 0 {
        return Err(Outcome::Skip(format!(
            "the simulator's rate limits are off: {settings}"
        )));
    }
    ensure!(
        (submit_rate, query_rate) == (20, 50),
        "the provider allows 20 submits and 50 queries per second, the simulator {settings}"
    );
    let client = t.icu_client()?;
    // The clock stands still, so every call lands in the same second.
    let mut last = None;
    for _ in 0..=submit_rate {
        last = Some(client.submit(&speech_request(0)).await);
    }
    let e = expect_api(last.unwrap_or(Ok(0)), "one submit over the limit")?;
    ensure!(
        e.msg.starts_with("RequestLimitExceeded"),
        "submit {}: expected RequestLimitExceeded, got {:?}",
        submit_rate + 1,
        e.msg
    );
    let mut last = None;
    for _ in 0..=query_rate {
        last = Some(client.query(UNKNOWN_TASK_ID).await);
    }
    let e = expect_api(
        last.unwrap_or(Err(Error::Timeout)),
        "one query over the limit",
    )?;
    ensure!(
        e.msg.starts_with("RequestLimitExceeded"),
        "query {}: expected RequestLimitExceeded, got {:?}",
        query_rate + 1,
        e.msg
    );
    // A second later the window is free again.
    control.advance(1000).await.map_err(fail)?;
    client
        .submit(&speech_request(0))
        .await
        .context("a submit after the window")?;
    Ok(())
}
