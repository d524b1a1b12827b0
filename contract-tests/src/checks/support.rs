//! What more than one group of checks needs: failing with a message ([`ensure!`],
//! [`fail`], [`Context`]), reading the typed client's provider errors, the standard speech
//! request, calling a simulator's control API, driving an icu task to its end, and sending
//! icu requests raw. One copy here, so the check files hold checks only.

use std::future::Future;
use std::time::Duration;

use asr_client::icu::{Engine, Source, SubmitRequest, TaskStatus, WaitOptions};
use asr_client::Error;
use asr_mock::control::types::{Advance, ClockMode};
use asr_mock::control::{Control, ControlError};
use serde_json::Value;

use crate::fixtures;
use crate::outcome::Outcome;
use crate::target::Target;
use crate::wire::{self, Answer, CALL_TIMEOUT};

/// Fails the check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            return Err($crate::outcome::Outcome::Fail(format!($($arg)+)));
        }
    }};
}
pub(super) use ensure;

/// Simulated time between polls when a check drives a simulator's clock: short enough that
/// every status of a few-second task is seen.
pub(super) const STEP_MS: u64 = 250;

/// Polls before a driven task counts as stuck (60 simulated seconds).
pub(super) const MAX_STEPS: usize = 240;

/// A failure with this message.
pub(super) fn fail(msg: impl Into<String>) -> Outcome {
    Outcome::Fail(msg.into())
}

/// `?` with a message: any displayable error becomes a failure saying what was being done.
pub(super) trait Context<T> {
    fn context(self, what: &str) -> Result<T, Outcome>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Outcome> {
        self.map_err(|e| fail(format!("{what}: {e}")))
    }
}

/// The parts of an [`Error::Api`], or a failure saying what came instead.
pub(super) struct ApiError {
    pub(super) status: u16,
    pub(super) code: i64,
    pub(super) msg: String,
    pub(super) logid: Option<String>,
}

pub(super) fn expect_api<T: std::fmt::Debug>(
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

/// Awaits a control-API call under [`CALL_TIMEOUT`], as every call to a target is (the
/// control client sets no deadline of its own); a failure names the call.
pub(super) async fn control_call<T>(
    what: &str,
    call: impl Future<Output = Result<T, ControlError>>,
) -> Result<T, Outcome> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| {
            fail(format!(
                "control API {what}: no answer within {CALL_TIMEOUT:?}"
            ))
        })?
        .context(&format!("control API {what}"))
}

/// Moves the simulator's clock `ms` forward (tasks, callbacks and rate windows follow).
pub(super) async fn advance(control: &Control, ms: u64) -> Result<(), Outcome> {
    control_call("clock/advance", control.advance_clock(Advance::ms(ms)))
        .await
        .map(drop)
}

/// Whether the simulator's clock is manual (moves only when told): only then is what a
/// poll shows right after a submit certain.
pub(super) async fn manual_clock(control: &Control) -> Result<bool, Outcome> {
    let clock = control_call("clock", control.clock()).await?;
    Ok(clock.mode == ClockMode::Manual)
}

/// The request most checks submit: the speech fixture, inline, Mandarin 16 kHz, in
/// `ResTextFormat` `format`.
pub(super) fn speech_request(format: u8) -> SubmitRequest {
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::SPEECH.to_vec()));
    req.res_text_format = format;
    req
}

/// Polls until the task ends. With a control API the simulator's clock moves between polls
/// (deterministic, milliseconds of real time); without,
/// [`IcuClient::wait`](asr_client::icu::IcuClient::wait) in real time.
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
        advance(control, STEP_MS).await?;
    }
    Err(fail(format!(
        "task {task_id} did not end within {} simulated seconds",
        STEP_MS * MAX_STEPS as u64 / 1000
    )))
}

/// Polling for a real provider: gentle, well under its 50/s limit, up to the deadline.
pub(super) fn real_time_wait(t: &Target) -> WaitOptions {
    WaitOptions {
        initial: t.poll_interval(),
        factor: 1.5,
        max_interval: Duration::from_secs(10),
        deadline: t.wait_deadline(),
        max_rate: 5,
    }
}

/// Sends a raw JSON body to an icu path as the target's client would (signed).
pub(super) async fn icu_raw(t: &Target, path: &str, body: &Value) -> Result<Answer, Outcome> {
    let icu = t.icu()?;
    wire::icu_post_json(t.http(), &icu.base_url, path, icu.signer(), body)
        .await
        .map_err(fail)
}

/// GETs searchResult for `task_id` raw, signed as the target's client would.
pub(super) async fn icu_query_raw(t: &Target, task_id: u64) -> Result<Answer, Outcome> {
    let icu = t.icu()?;
    wire::icu_query_get(t.http(), &icu.base_url, icu.signer(), &task_id.to_string())
        .await
        .map_err(fail)
}

/// The typed request's wire parameters as a JSON object of strings.
pub(super) fn params_json(req: &SubmitRequest) -> Value {
    Value::Object(
        req.to_params()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}
