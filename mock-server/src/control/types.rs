//! The control API's requests and answers, one type per body, shared by the handlers in
//! `admin` and the [`Control`](super::Control) client so the two cannot drift.
//!
//! A request whose fields the server checks itself (a clock mode, a task status, a progress
//! kind) has two forms: the typed value a client builds, and a lenient `…Body` the server
//! reads, so that a bad value is answered 400 with a reason rather than a decoding error.
//! The typed value serializes through its body, so both sides speak the same JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

pub use super::matcher::{RequestCount, RequestMatcher, Since};
pub use super::records::{
    OutcomeRecord, PlanRecord, SavedReport, ScenarioInfo, TaskLine, TaskRecord,
};
pub use crate::clock::ClockMode;
use crate::clock::MAX_ADVANCE;
pub use crate::failure::FailureCode;
pub use crate::outbound::callbacks::CallbackAttempt;
pub use crate::providers::icu::tasks::{Progress, Status};
pub use crate::routes::Provider;
pub use crate::stores::journal::RequestEntry;
pub use crate::stores::sink::Received;
pub use crate::transcript::{
    Fixture, FixtureSentence, IcuRecording, RecordedSentence, RecordedWord,
};

/// Every control-API error: `{"error": "…"}` with a 4xx (or 500 when a save fails).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

/// `GET /__admin/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The simulator's version.
    pub version: String,
    /// The seed behind every random choice.
    pub seed: u64,
    /// Simulated time, ms since the Unix epoch.
    pub now_ms: i64,
    /// Transcript fixtures registered.
    pub fixtures: usize,
    /// icu tasks kept.
    pub icu_tasks: usize,
    /// Callback deliveries not yet finished.
    pub callbacks_pending: usize,
}

/// `POST /__admin/reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResetDone {
    /// Always true.
    pub reset: bool,
}

/// `POST /__admin/state/save`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Saved {
    /// Always true.
    pub saved: bool,
    /// What was written.
    pub report: SavedReport,
}

/// `GET /__admin/requests?limit=`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams,
)]
pub struct RequestsQuery {
    /// How many of the newest entries to return (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The journal, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Requests {
    /// The newest entries.
    pub requests: Vec<RequestEntry>,
}

/// `GET /__admin/fixtures`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fixtures {
    /// Every fixture, from the folder and the API.
    pub fixtures: Vec<FixtureInfo>,
}

/// One registered fixture.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FixtureInfo {
    /// The audio's SHA-256, hex.
    pub sha256: String,
    /// `api`, or the file it came from.
    pub source: String,
    /// The transcript.
    #[serde(flatten)]
    pub fixture: Fixture,
}

/// `POST /__admin/fixtures`: the audio named by its SHA-256 or given whole in base64
/// (exactly one of the two).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFixture {
    /// The audio's SHA-256, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The audio itself, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_base64: Option<String>,
    /// The whole text.
    pub text: String,
    /// Exact sentence timings, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentences: Option<Vec<FixtureSentence>>,
    /// An icu answer to replay, as a fixture file's `[icu]` table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icu: Option<IcuRecording>,
}

impl NewFixture {
    /// A fixture for the audio with this SHA-256 (hex).
    pub fn by_sha256(sha256: impl Into<String>, text: impl Into<String>) -> Self {
        NewFixture {
            sha256: Some(sha256.into()),
            audio_base64: None,
            text: text.into(),
            sentences: None,
            icu: None,
        }
    }

    /// A fixture for these audio bytes (sent in base64).
    pub fn by_audio(audio: &[u8], text: impl Into<String>) -> Self {
        NewFixture {
            sha256: None,
            audio_base64: Some(base64::engine::general_purpose::STANDARD.encode(audio)),
            text: text.into(),
            sentences: None,
            icu: None,
        }
    }
}

/// The answer to a registered fixture (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FixtureAdded {
    /// The audio's SHA-256, hex: the fixture's key.
    pub sha256: String,
}

/// `GET /__admin/clock` and the answer to every clock change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockView {
    /// Simulated time, ms since the Unix epoch.
    pub now_ms: i64,
    /// The same in RFC 3339 UTC with milliseconds.
    pub now: String,
    /// How simulated time runs (`{"mode": "scaled", "factor": 60.0}`).
    pub mode: ClockMode,
}

/// `POST /__admin/clock`: a new mode and/or a new time (never backwards).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(into = "ClockChangeBody")]
pub struct ClockChange {
    /// The new mode.
    pub mode: Option<ClockMode>,
    /// The new simulated time, ms since the Unix epoch.
    pub now_ms: Option<i64>,
}

/// A [`ClockChange`] as sent: `{"mode": "scaled", "factor": 100, "now_ms": …}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockChangeBody {
    /// `real`, `scaled` or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Only with `scaled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// New simulated time, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_ms: Option<i64>,
}

impl From<ClockChange> for ClockChangeBody {
    fn from(c: ClockChange) -> Self {
        let (mode, factor) = match c.mode {
            None => (None, None),
            Some(ClockMode::Real) => (Some("real"), None),
            Some(ClockMode::Manual) => (Some("manual"), None),
            Some(ClockMode::Scaled { factor }) => (Some("scaled"), Some(factor)),
        };
        ClockChangeBody {
            mode: mode.map(str::to_owned),
            factor,
            now_ms: c.now_ms,
        }
    }
}

impl TryFrom<ClockChangeBody> for ClockChange {
    type Error = String;

    fn try_from(b: ClockChangeBody) -> Result<Self, String> {
        let mode = match (b.mode.as_deref(), b.factor) {
            (None, None) => None,
            (Some("real"), None) => Some(ClockMode::Real),
            (Some("manual"), None) => Some(ClockMode::Manual),
            (Some("scaled"), Some(factor)) => {
                let mode = ClockMode::Scaled { factor };
                mode.validate().map_err(|e| e.to_string())?;
                Some(mode)
            }
            (Some("scaled"), None) => return Err("mode scaled needs a factor".into()),
            (Some(other), _) if !["real", "manual"].contains(&other) => {
                return Err(format!(
                    "unknown clock mode {other:?}: use real, scaled or manual"
                ))
            }
            _ => return Err("factor goes only with mode scaled".into()),
        };
        Ok(ClockChange {
            mode,
            now_ms: b.now_ms,
        })
    }
}

/// `POST /__admin/clock/advance`: `{"ms": 1500}` or `{"seconds": 3600}` (exactly one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Seconds, finite and >= 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl Advance {
    /// This many milliseconds.
    pub fn ms(ms: u64) -> Self {
        Advance {
            ms: Some(ms),
            seconds: None,
        }
    }

    /// This many seconds.
    pub fn seconds(seconds: f64) -> Self {
        Advance {
            ms: None,
            seconds: Some(seconds),
        }
    }

    /// The move asked for: exactly one of `ms` and `seconds`, at most 100 years
    /// ([`MAX_ADVANCE`]); `seconds` finite and not negative.
    pub fn duration(&self) -> Result<Duration, String> {
        let limit = || {
            format!(
                "the clock moves by at most 100 years at a time ({} s, {} ms)",
                MAX_ADVANCE.as_secs(),
                MAX_ADVANCE.as_millis()
            )
        };
        match (self.ms, self.seconds) {
            (Some(ms), None) => {
                let by = Duration::from_millis(ms);
                if by > MAX_ADVANCE {
                    return Err(format!("ms is {ms}, but {}", limit()));
                }
                Ok(by)
            }
            (None, Some(s)) if !(s.is_finite() && s >= 0.0) => {
                Err(format!("seconds must be a finite number >= 0, got {s:?}"))
            }
            (None, Some(s)) => match Duration::try_from_secs_f64(s) {
                Ok(by) if by <= MAX_ADVANCE => Ok(by),
                _ => Err(format!("seconds is {s:?}, but {}", limit())),
            },
            _ => Err("give exactly one of ms and seconds".into()),
        }
    }
}

/// `GET /__admin/tasks?status=&limit=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(into = "TasksQueryBody")]
pub struct TasksQuery {
    /// Only tasks in this status.
    pub status: Option<Status>,
    /// How many of the newest (default 100).
    pub limit: Option<usize>,
}

/// A [`TasksQuery`] as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TasksQueryBody {
    /// `waiting`, `doing`, `success` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// How many of the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl From<TasksQuery> for TasksQueryBody {
    fn from(q: TasksQuery) -> Self {
        TasksQueryBody {
            status: q.status.map(|s| s.as_str().to_owned()),
            limit: q.limit,
        }
    }
}

impl TryFrom<TasksQueryBody> for TasksQuery {
    type Error = String;

    fn try_from(b: TasksQueryBody) -> Result<Self, String> {
        let status = match b.status.as_deref() {
            None => None,
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                format!("unknown status {s:?}: use waiting, doing, success or failed")
            })?),
        };
        Ok(TasksQuery {
            status,
            limit: b.limit,
        })
    }
}

/// The task list, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tasks {
    /// One line per task.
    pub tasks: Vec<TaskLine>,
}

/// `GET /__admin/tasks/{id}`: the task, its status now, and its callback attempts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskDetail {
    /// The TaskId.
    pub task_id: u64,
    /// What a poll would show now (without counting as one).
    pub status: Status,
    /// The task as stored.
    pub task: TaskRecord,
    /// Every delivery attempt of its callback.
    pub callbacks: Vec<CallbackAttempt>,
}

/// `POST /__admin/tasks/{id}/transition`: move a task forward, optionally failing it with
/// one of the codes 10000–10007 (10001 when none is given) and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "TransitionBody")]
pub struct Transition {
    /// The target status.
    pub status: Status,
    /// Only with `failed`.
    pub code: Option<i64>,
    /// Only with `failed`; the code's usual message when absent.
    pub message: Option<String>,
}

impl Transition {
    /// To `status`, with no failure details.
    pub fn to(status: Status) -> Self {
        Transition {
            status,
            code: None,
            message: None,
        }
    }

    /// To `failed` with this code and message.
    pub fn fail(code: i64, message: impl Into<String>) -> Self {
        Transition {
            status: Status::Failed,
            code: Some(code),
            message: Some(message.into()),
        }
    }
}

/// A [`Transition`] as sent: `{"status": "failed", "code": 10001, "message": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// `doing`, `success` or `failed`.
    pub status: String,
    /// Only with `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Only with `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<Transition> for TransitionBody {
    fn from(t: Transition) -> Self {
        TransitionBody {
            status: t.status.as_str().to_owned(),
            code: t.code,
            message: t.message,
        }
    }
}

impl TryFrom<TransitionBody> for Transition {
    type Error = String;

    fn try_from(b: TransitionBody) -> Result<Self, String> {
        let status = Status::parse(&b.status).ok_or_else(|| {
            format!(
                "unknown status {:?}: use doing, success or failed",
                b.status
            )
        })?;
        Ok(Transition {
            status,
            code: b.code,
            message: b.message,
        })
    }
}

/// The answer to a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transitioned {
    /// The TaskId.
    pub task_id: u64,
    /// Its status now.
    pub status: Status,
}

/// `GET /__admin/callbacks?task_id=`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
pub struct CallbacksQuery {
    /// Only this task's attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<u64>,
}

/// Callback attempts, oldest first, and how many deliveries are still under way.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackLog {
    /// The attempts.
    pub attempts: Vec<CallbackAttempt>,
    /// Deliveries not yet finished.
    pub pending: usize,
}

/// `GET /__admin/icu/settings` and the answer to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IcuSettings {
    /// How tasks advance (`{"mode": "polls", "per_status": 2}`).
    pub progress: Progress,
    /// Submits per second (0: no limit).
    pub submit_rate: u32,
    /// Queries per second (0: no limit).
    pub query_rate: u32,
    /// How long an ended task stays queryable.
    pub retention_ms: i64,
    /// Most tasks kept.
    pub capacity: usize,
}

/// `POST /__admin/icu/settings`: any of progress and the two rate limits (0 switches a
/// limit off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(into = "SettingsChangeBody")]
pub struct SettingsChange {
    /// How tasks advance.
    pub progress: Option<Progress>,
    /// Submits per second.
    pub submit_rate: Option<u32>,
    /// Queries per second.
    pub query_rate: Option<u32>,
}

/// A [`SettingsChange`] as sent: `{"progress": "polls", "polls_per_status": 2}`,
/// `{"progress": "time"}`, `{"submit_rate": 0}`, `{"query_rate": 50}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChangeBody {
    /// `time` or `polls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Only with `polls` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polls_per_status: Option<u32>,
    /// Submits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_rate: Option<u32>,
    /// Queries per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_rate: Option<u32>,
}

impl From<SettingsChange> for SettingsChangeBody {
    fn from(c: SettingsChange) -> Self {
        let (progress, polls_per_status) = match c.progress {
            None => (None, None),
            Some(Progress::Time) => (Some("time"), None),
            Some(Progress::Polls { per_status }) => (Some("polls"), Some(per_status)),
        };
        SettingsChangeBody {
            progress: progress.map(str::to_owned),
            polls_per_status,
            submit_rate: c.submit_rate,
            query_rate: c.query_rate,
        }
    }
}

impl TryFrom<SettingsChangeBody> for SettingsChange {
    type Error = String;

    fn try_from(b: SettingsChangeBody) -> Result<Self, String> {
        let progress = match (b.progress.as_deref(), b.polls_per_status) {
            (None, None) => None,
            (Some("time"), None) => Some(Progress::Time),
            (Some("polls"), n) => Some(Progress::Polls {
                per_status: n.unwrap_or(1).max(1),
            }),
            (Some("time"), Some(_)) | (None, Some(_)) => {
                return Err("polls_per_status goes only with progress polls".into())
            }
            (Some(other), _) => {
                return Err(format!("unknown progress {other:?}: use time or polls"))
            }
        };
        Ok(SettingsChange {
            progress,
            submit_rate: b.submit_rate,
            query_rate: b.query_rate,
        })
    }
}

/// `GET /__admin/scenarios`: the library and what is active.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScenarioList {
    /// Every scenario, built in and loaded.
    pub scenarios: Vec<ScenarioInfo>,
    /// What applies without a header.
    pub active: Active,
}

/// Activated scenarios: for every request, and per bearer token. Also the answer to an
/// activation or deactivation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Active {
    /// For every request.
    pub global: Vec<String>,
    /// For requests with this token.
    pub by_token: BTreeMap<String, Vec<String>>,
}

/// `POST /__admin/scenarios/activate` and `…/deactivate`: `{"name": "flaky-gateway"}` or
/// `{"name": "…", "token": "pat_x"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activation {
    /// The scenario.
    pub name: String,
    /// Only for requests with this bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Activation {
    /// For every request.
    pub fn global(name: impl Into<String>) -> Self {
        Activation {
            name: name.into(),
            token: None,
        }
    }

    /// For requests carrying `token`.
    pub fn for_token(name: impl Into<String>, token: impl Into<String>) -> Self {
        Activation {
            name: name.into(),
            token: Some(token.into()),
        }
    }
}

/// `GET /__admin/audio`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AudioFiles {
    /// Hosted files by name.
    pub files: Vec<AudioFile>,
}

/// A hosted file; also the answer to an upload (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AudioFile {
    /// Its name.
    pub name: String,
    /// Its size.
    pub bytes: usize,
    /// Its path on the simulator (`/__admin/audio/{name}`).
    pub url: String,
}

impl AudioFile {
    /// The listing of `name`, `bytes` long.
    pub fn new(name: String, bytes: usize) -> Self {
        AudioFile {
            url: crate::routes::admin::fill(crate::routes::admin::AUDIO_FILE, &name),
            name,
            bytes,
        }
    }
}

/// The generators under `/__admin/audio/generated/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// `silence.wav`: digital silence.
    Silence,
    /// `speechlike.wav`: tone bursts with pauses, which the speech detector takes for speech.
    Speechlike,
}

impl Generated {
    /// The file name in the path.
    pub fn file_name(self) -> &'static str {
        match self {
            Generated::Silence => "silence.wav",
            Generated::Speechlike => "speechlike.wav",
        }
    }
}

/// `GET /__admin/audio/generated/{kind}?seconds=&rate=&channels=`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GenerateQuery {
    /// Length in seconds.
    pub seconds: f64,
    /// Sample rate (default 1000 Hz: tiny files even for hours of audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u32>,
    /// Channels (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
}

impl GenerateQuery {
    /// This many seconds at the default rate, mono.
    pub fn seconds(seconds: f64) -> Self {
        GenerateQuery {
            seconds,
            rate: None,
            channels: None,
        }
    }
}

/// `GET /__admin/sink`: callbacks the built-in receiver got, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SinkLog {
    /// Bytes the kept callbacks count against the budget.
    #[serde(default)]
    pub bytes: u64,
    /// The budget (`--sink-max-bytes`): the oldest callbacks go first to stay within it.
    #[serde(default)]
    pub max_bytes: u64,
    /// Callbacks dropped to stay within the budget since the last clear.
    #[serde(default)]
    pub dropped: u64,
    /// What arrived and is still kept.
    pub received: Vec<Received>,
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;

    /// Serializes `typed`, reads it back as the server does, and checks both the JSON and
    /// the round trip.
    fn round_trip<T, B>(typed: T, wire: serde_json::Value)
    where
        T: Serialize + TryFrom<B, Error = String> + PartialEq + std::fmt::Debug + Clone,
        B: DeserializeOwned,
    {
        assert_eq!(serde_json::to_value(typed.clone()).unwrap(), wire);
        let body: B = serde_json::from_value(wire).unwrap();
        assert_eq!(T::try_from(body).unwrap(), typed);
    }

    #[test]
    fn typed_requests_speak_the_wire_shapes() {
        round_trip::<_, ClockChangeBody>(
            ClockChange {
                mode: Some(ClockMode::Scaled { factor: 60.0 }),
                now_ms: Some(5),
            },
            json!({"mode": "scaled", "factor": 60.0, "now_ms": 5}),
        );
        round_trip::<_, ClockChangeBody>(
            ClockChange {
                mode: Some(ClockMode::Manual),
                now_ms: None,
            },
            json!({"mode": "manual"}),
        );
        round_trip::<_, TransitionBody>(
            Transition::fail(10001, "engine overloaded"),
            json!({"status": "failed", "code": 10001, "message": "engine overloaded"}),
        );
        round_trip::<_, SettingsChangeBody>(
            SettingsChange {
                progress: Some(Progress::Polls { per_status: 2 }),
                ..SettingsChange::default()
            },
            json!({"progress": "polls", "polls_per_status": 2}),
        );
        round_trip::<_, TasksQueryBody>(
            TasksQuery {
                status: Some(Status::Waiting),
                limit: None,
            },
            json!({"status": "waiting"}),
        );
    }

    #[test]
    fn the_servers_checks_keep_their_reasons() {
        let clock =
            |v| ClockChange::try_from(serde_json::from_value::<ClockChangeBody>(v).unwrap());
        assert_eq!(
            clock(json!({"mode": "fast"})).unwrap_err(),
            "unknown clock mode \"fast\": use real, scaled or manual"
        );
        assert_eq!(
            clock(json!({"mode": "scaled"})).unwrap_err(),
            "mode scaled needs a factor"
        );
        assert_eq!(
            clock(json!({"mode": "real", "factor": 2.0})).unwrap_err(),
            "factor goes only with mode scaled"
        );
        assert_eq!(
            clock(json!({"mode": "scaled", "factor": 1e308})).unwrap_err(),
            "time scale must be a finite number greater than 0 and at most 1000000 (1e6), got 1e308"
        );
        assert!(clock(json!({"mode": "scaled", "factor": 0})).is_err());
        let advance = |v| serde_json::from_value::<Advance>(v).unwrap().duration();
        assert_eq!(
            advance(json!({"seconds": 1.5})),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(advance(json!({"ms": 7})), Ok(Duration::from_millis(7)));
        for bad in [
            json!({"seconds": 1e300}),
            json!({"seconds": -1}),
            json!({"ms": u64::MAX}),
            json!({"ms": 9_223_372_036_854_775_808_u64}),
            json!({"seconds": 100.0 * 31_557_600.0 + 1.0}),
            json!({}),
            json!({"ms": 1, "seconds": 1}),
        ] {
            assert!(advance(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(
            advance(json!({"seconds": 1e300})).unwrap_err(),
            "seconds is 1e300, but the clock moves by at most 100 years at a time (3155760000 s, 3155760000000 ms)"
        );
        let settings = SettingsChange::try_from(SettingsChangeBody {
            progress: Some("polls".into()),
            polls_per_status: Some(0),
            ..SettingsChangeBody::default()
        });
        assert_eq!(
            settings.unwrap().progress,
            Some(Progress::Polls { per_status: 1 })
        );
    }
}
