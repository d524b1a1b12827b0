//! The file as written: serde mirrors of the TOML that keep every value's span
//! ([`toml::Spanned`]), so that [`parse`](super::parse()) can point semantic errors at their
//! line too. Unknown keys are refused here, before any validation.

use serde::Deserialize;
use toml::Spanned;

use super::model::{Endpoint, Provider, StepStatus};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Spanned<String>,
    pub(super) description: Spanned<String>,
    #[serde(rename = "match")]
    pub(super) matcher: Option<Spanned<RawMatch>>,
    #[serde(default)]
    pub(super) fault: Vec<Spanned<RawFault>>,
    pub(super) task: Option<Spanned<RawTask>>,
    pub(super) callback: Option<Spanned<RawCallback>>,
    #[serde(default)]
    pub(super) rate_limit: Vec<Spanned<RawRateLimit>>,
    pub(super) identity: Option<Spanned<RawIdentity>>,
    pub(super) stream: Option<Spanned<RawStream>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [match] table")]
pub(super) struct RawMatch {
    pub(super) provider: Option<Spanned<Provider>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) token: Option<Spanned<String>>,
    pub(super) url_contains: Option<Spanned<String>>,
    pub(super) filename: Option<Spanned<String>>,
    pub(super) audio_sha256: Option<Spanned<String>>,
    pub(super) engine: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[fault]] table")]
pub(super) struct RawFault {
    pub(super) endpoint: Option<Spanned<Endpoint>>,
    pub(super) on: Option<Spanned<RawOn>>,
    pub(super) action: Option<Spanned<ActionKind>>,
    pub(super) status: Option<Spanned<i64>>,
    pub(super) code: Option<Spanned<i64>>,
    pub(super) error: Option<Spanned<String>>,
    pub(super) message: Option<Spanned<String>>,
    pub(super) latency_ms: Option<Spanned<i64>>,
    pub(super) latency: Option<Spanned<RawLatency>>,
    pub(super) bytes: Option<Spanned<i64>>,
    pub(super) keep: Option<Spanned<f64>>,
    pub(super) chunk_bytes: Option<Spanned<i64>>,
    pub(super) interval_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ActionKind {
    Status,
    Latency,
    Reset,
    Empty,
    Garbage,
    Truncate,
    Drip,
}

impl ActionKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ActionKind::Status => "status",
            ActionKind::Latency => "latency",
            ActionKind::Reset => "reset",
            ActionKind::Empty => "empty",
            ActionKind::Garbage => "garbage",
            ActionKind::Truncate => "truncate",
            ActionKind::Drip => "drip",
        }
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with one key, such as { every = 5 }"
)]
pub(super) struct RawOn {
    pub(super) nth: Option<Spanned<i64>>,
    pub(super) every: Option<Spanned<i64>>,
    pub(super) first: Option<Spanned<i64>>,
    pub(super) after: Option<Spanned<i64>>,
    pub(super) fraction: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "{ uniform = [MIN, MAX] } or { lognormal = { median_ms = M, sigma = S } }"
)]
pub(super) struct RawLatency {
    pub(super) uniform: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(super) lognormal: Option<Spanned<RawLogNormal>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "{ median_ms = M, sigma = S }")]
pub(super) struct RawLogNormal {
    pub(super) median_ms: Spanned<f64>,
    pub(super) sigma: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [task] table")]
pub(super) struct RawTask {
    pub(super) steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    pub(super) outcome: Option<Spanned<toml::Value>>,
    pub(super) callback_early_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a step such as { status = \"waiting\", ms = 1000 }"
)]
pub(super) struct RawStep {
    pub(super) status: Spanned<StepStatus>,
    pub(super) ms: Option<Spanned<i64>>,
    pub(super) polls: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [callback] table")]
pub(super) struct RawCallback {
    pub(super) delay_ms: Option<Spanned<i64>>,
    pub(super) jitter_ms: Option<Spanned<i64>>,
    pub(super) fail_attempts: Option<Spanned<i64>>,
    pub(super) attempts: Option<Spanned<i64>>,
    pub(super) interval_ms: Option<Spanned<i64>>,
    pub(super) timeout_ms: Option<Spanned<i64>>,
    pub(super) duplicates: Option<Spanned<i64>>,
    pub(super) drop: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[rate_limit]] table")]
pub(super) struct RawRateLimit {
    pub(super) endpoint: Spanned<Endpoint>,
    pub(super) limit: Spanned<i64>,
    pub(super) window_ms: Spanned<i64>,
    pub(super) code: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [identity] table")]
pub(super) struct RawIdentity {
    pub(super) task_ids: Option<Spanned<String>>,
    pub(super) coze_no_speech: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [stream] table")]
pub(super) struct RawStream {
    pub(super) error_code: Option<Spanned<i64>>,
    pub(super) error_message: Option<Spanned<String>>,
    pub(super) drop_after_updates: Option<Spanned<i64>>,
    pub(super) update_delay_ms: Option<Spanned<i64>>,
    pub(super) completed_delay_ms: Option<Spanned<i64>>,
}
