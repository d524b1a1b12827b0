//! The named checks. Each talks to a [`Target`] through the typed client where it can (so
//! the client is proven too) and through raw HTTP where the wire itself is the point, and
//! ends in an [`Outcome`].
//!
//! With a control API (a simulator) a check moves the simulator's clock, so a task ends in
//! milliseconds and every run sees the same statuses; without one (a real provider) it
//! waits in real time with [`IcuClient::wait`](asr_client::icu::IcuClient::wait) under the
//! target's deadline. A check that cannot be made against the target — it needs to force a
//! failure, or a callback cannot reach this machine — is skipped, never passed.
//!
//! This module holds the list ([`all`]) and the runner ([`Check::run`]); the checks live in
//! one file per group (`coze`, `icu`, `icu_errors`, `callbacks`), and what several groups
//! need in `support`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;

use crate::outcome::{Checked, Outcome};
use crate::target::Target;

mod callbacks;
mod coze;
mod icu;
mod icu_errors;
mod support;

pub use support::finish;

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

impl Check {
    /// Runs the check. With a control API the simulator's clock first moves one second, so
    /// every check starts in a fresh rate-limit window. A panic is a failure, not a crash.
    pub async fn run(&self, target: &Target) -> Outcome {
        if let Some(control) = target.control() {
            if let Err(e) = support::advance(control, 1000).await {
                return Outcome::Fail(format!("cannot move the simulator's clock: {}", e.detail()));
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

/// A [`Check`] from its name, what it proves, and its `async fn(&Target) -> Checked`.
macro_rules! check {
    ($name:literal, $about:literal, $body:path) => {
        Check {
            name: $name,
            about: $about,
            body: |t| Box::pin($body(t)),
        }
    };
}

/// Every check, in the order the binary runs them.
pub fn all() -> Vec<Check> {
    vec![
        check!(
            "coze.success.speech",
            "speech gets non-empty text and a logid, from bytes and from a streamed file",
            coze::success_speech
        ),
        check!(
            "coze.success.silence",
            "silent audio gets success with text \"\"",
            coze::success_silence
        ),
        check!(
            "coze.logid",
            "success is JSON with the same 34-character logid in X-Tt-Logid and detail.logid",
            coze::logid
        ),
        check!(
            "coze.error.4100",
            "an unknown or missing bearer token gets 4100, HTTP 401",
            coze::error_4100
        ),
        check!(
            "coze.error.4000",
            "a form without a `file` part gets 4000 with the provider's wording",
            coze::error_4000
        ),
        check!(
            "coze.error.4300",
            "an empty file gets 4300",
            coze::error_4300
        ),
        check!(
            "coze.error.4303",
            "a file in no supported format gets 4303",
            coze::error_4303
        ),
        check!(
            "icu.submit",
            "a submit answers {msg:操作成功, code:0, data:{TaskId}} with a uint64 TaskId",
            icu::submit
        ),
        check!(
            "icu.query.lifecycle",
            "polls show waiting, doing, then success, in the provider's shape, never backwards",
            icu::query_lifecycle
        ),
        check!(
            "icu.query.detail",
            "ResTextFormat 1 and 2 fill ResultDetail in step with the Result lines",
            icu::query_detail
        ),
        check!(
            "icu.query.post",
            "searchResult by POST (JSON and form) answers as GET does",
            icu::query_post
        ),
        check!(
            "icu.wait",
            "IcuClient::wait returns the final status",
            icu::wait
        ),
        check!(
            "icu.url_source",
            "a Url task is downloaded and gives the same text as the same audio inline",
            icu::url_source
        ),
        check!(
            "icu.failed.not_audio",
            "bytes that are not audio end in failed with an ErrorMsg",
            icu::failed_not_audio
        ),
        check!(
            "icu.failed.forced",
            "a failure forced through the control API (10001) shows as failed",
            icu::failed_forced
        ),
        check!(
            "icu.error.no_such_task",
            "an unknown TaskId gets FailedOperation.NoSuchTask in icu's envelope",
            icu_errors::no_such_task
        ),
        check!(
            "icu.error.missing_parameter",
            "a body without EngineModelType gets MissingParameter naming it",
            icu_errors::missing_parameter
        ),
        check!(
            "icu.error.invalid_value",
            "out-of-range values get InvalidParameterValue naming the field",
            icu_errors::invalid_value
        ),
        check!(
            "icu.validation.local",
            "the client refuses what the server refuses, naming the same field, sending nothing",
            icu_errors::validation_local
        ),
        check!(
            "icu.callback.success",
            "the callback of a successful task reaches the receiver and agrees with the poll",
            callbacks::success
        ),
        check!(
            "icu.callback.failed",
            "the callback of a failed task carries code 10000 and the poll's ErrorMsg",
            callbacks::failed
        ),
        check!(
            "icu.signature",
            "signed calls pass; a wrong key or no signature gets AuthFailure.InvalidAuthorization",
            icu_errors::signature
        ),
        check!(
            "icu.rate_limit",
            "the 21st submit and the 51st query within a second get RequestLimitExceeded",
            icu_errors::rate_limit
        ),
    ]
}
