//! The scenario file format (`scenarios/README.md` is its user-facing reference): parse one
//! TOML file and validate it completely, so that a broken file is refused at start-up with
//! its path, line and reason rather than misbehaving in the middle of a test.
//!
//! Parsing goes through `Raw*` mirrors of the file that keep every value's span
//! ([`toml::Spanned`]), so semantic errors ("nth must be ≥ 1") point at their line too; the
//! validated [`Scenario`] keeps no spans and cannot hold an invalid value.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

/// Longest wait a latency may ask for (10 min): longer only hangs a test, it proves nothing.
pub const MAX_LATENCY_MS: u64 = 10 * 60 * 1000;
/// Longest time any other scenario duration may span (7 days): task steps, callback delays,
/// rate-limit windows. Far beyond any real provider timing, far below integer overflow.
pub const MAX_SCRIPT_MS: u64 = 7 * 24 * 3600 * 1000;
/// Largest `garbage` body (1 MiB).
pub const MAX_GARBAGE_BYTES: usize = 1024 * 1024;
/// Longest scenario name, so names fit in headers and journal lines.
pub const MAX_NAME_CHARS: usize = 64;
/// Most `[[fault]]` tables in one file (every store is bounded).
pub const MAX_FAULTS: usize = 64;
/// Most `[[rate_limit]]` tables in one file.
pub const MAX_RATE_LIMITS: usize = 16;
/// Most `[task] steps`.
pub const MAX_STEPS: usize = 64;
/// Most callback attempts, failing attempts or duplicates a file may ask for.
pub const MAX_CALLBACK_REPEATS: u32 = 100;

/// The Coze transcription path.
pub const PATH_TRANSCRIBE: &str = "/v1/audio/transcriptions";
/// The icu submit path.
pub const PATH_SUBMIT: &str = "/openapi/asr/voiceToText";
/// The icu query path.
pub const PATH_QUERY: &str = "/openapi/asr/searchResult";

/// The icu error classes a `status` fault may name with `error` (Tencent's names, as the icu
/// envelope's `msg` starts with them).
pub const ICU_ERROR_CLASSES: [&str; 10] = [
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterValue.ErrorInvalidUrl",
    "InvalidParameterValue.ErrorVoicedataTooLong",
    "InvalidParameterValue.ErrorInvalidVoicedata",
    "MissingParameter",
    "AuthFailure.InvalidAuthorization",
    "RequestLimitExceeded",
    "FailedOperation.NoSuchTask",
    "InternalError",
];

/// icu's engine models: a `[match] engine` outside this list could never match.
pub const ICU_ENGINES: [&str; 12] = [
    "8k_en",
    "8k_zh",
    "16k_zh",
    "16k_zh_video",
    "16k_en",
    "16k_ca",
    "16k_ja",
    "16k_zh_edu",
    "16k_en_edu",
    "16k_zh_medical",
    "16k_th",
    "16k_wuu-SH",
];

/// Which provider a scenario (or one of its parts) concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            PATH_TRANSCRIBE => Some(Endpoint::Transcribe),
            PATH_SUBMIT => Some(Endpoint::Submit),
            PATH_QUERY => Some(Endpoint::Query),
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

/// `[match]`: the requests a scenario applies to by itself, for clients (official SDKs) that
/// cannot add the `X-Mock-Scenario` header. Every key given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Only this provider's endpoints.
    pub provider: Option<Provider>,
    /// Exact request path.
    pub path: Option<String>,
    /// Coze bearer token or icu `C-Secret` header.
    pub token: Option<String>,
    /// icu: substring of the task's `Url`.
    pub url_contains: Option<String>,
    /// Coze: the upload's file name (basename).
    pub filename: Option<String>,
    /// The audio's SHA-256.
    #[serde(serialize_with = "serialize_hex")]
    pub audio_sha256: Option<[u8; 32]>,
    /// icu: `EngineModelType`.
    pub engine: Option<String>,
}

impl Match {
    /// Whether deciding the match needs the request body: then the scenario's faults can only
    /// act on the answer, after the provider has handled the request.
    pub fn needs_body(&self) -> bool {
        self.url_contains.is_some()
            || self.filename.is_some()
            || self.audio_sha256.is_some()
            || self.engine.is_some()
    }

    /// The provider this match restricts to, stated or implied by its keys.
    pub fn implied_provider(&self) -> Option<Provider> {
        self.provider
            .or_else(|| {
                self.path
                    .as_deref()
                    .and_then(Endpoint::for_path)
                    .and_then(Endpoint::provider)
            })
            .or(if self.url_contains.is_some() || self.engine.is_some() {
                Some(Provider::Icu)
            } else if self.filename.is_some() {
                Some(Provider::Coze)
            } else {
                None
            })
    }
}

fn serialize_hex<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(bytes) => s.serialize_some(&hex::encode(bytes)),
        None => s.serialize_none(),
    }
}

/// `on`: which of the requests a fault counts it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Every request (no `on`).
    Always,
    /// The nth only.
    Nth(u64),
    /// Every nth: n, 2n, 3n…
    Every(u64),
    /// The first n, then never again (fail N times, then recover).
    First(u64),
    /// Every one after the first n (succeed first, then fail).
    After(u64),
    /// A seeded share of them.
    Fraction(f64),
}

impl Trigger {
    /// Whether the fault acts on the `count`th (1-based) request it counted. `roll` gives a
    /// seeded uniform number in [0, 1) and is called only for `Fraction`, so callers pay for
    /// randomness only where it is used. A count of 0 (not a request) never fires.
    pub fn fires(&self, count: u64, roll: impl FnOnce() -> f64) -> bool {
        match *self {
            Trigger::Always => true,
            _ if count == 0 => false,
            Trigger::Nth(n) => count == n,
            Trigger::Every(n) => n != 0 && count % n == 0,
            Trigger::First(n) => count <= n,
            Trigger::After(n) => count > n,
            Trigger::Fraction(f) => roll() < f,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Always => f.write_str("always"),
            Trigger::Nth(n) => write!(f, "nth {n}"),
            Trigger::Every(n) => write!(f, "every {n}"),
            Trigger::First(n) => write!(f, "first {n}"),
            Trigger::After(n) => write!(f, "after {n}"),
            Trigger::Fraction(x) => write!(f, "{}%", x * 100.0),
        }
    }
}

/// A wait before a fault acts, on the simulator clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Latency {
    /// Exactly this many ms (`latency_ms = N`).
    Fixed(u64),
    /// Uniform between the two bounds, inclusive.
    Uniform(u64, u64),
    /// Log-normal: most waits near the median, a long tail (how real gateways behave).
    LogNormal {
        /// The median wait in ms.
        median_ms: f64,
        /// The spread (standard deviation of the log); 0 is always the median.
        sigma: f64,
    },
}

impl Latency {
    /// Draws one wait in ms from `rng` (seeded by the caller, so the same seed gives the same
    /// waits), never above [`MAX_LATENCY_MS`]. Log-normal uses Box–Muller on two draws.
    pub fn sample_ms(&self, rng: &mut impl rand::Rng) -> u64 {
        match *self {
            Latency::Fixed(ms) => ms.min(MAX_LATENCY_MS),
            Latency::Uniform(a, b) => {
                let (lo, hi) = (a.min(b), a.max(b));
                rng.gen_range(lo..=hi).min(MAX_LATENCY_MS)
            }
            Latency::LogNormal { median_ms, sigma } => {
                // 1 - u lies in (0, 1], so the logarithm is finite.
                let u1 = 1.0 - rng.gen::<f64>();
                let u2 = rng.gen::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let ms = median_ms * (sigma * z).exp();
                // A NaN (impossible for validated values) becomes 0 through the cast.
                ms.clamp(0.0, MAX_LATENCY_MS as f64).round() as u64
            }
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(ms) => f.write_str(&fmt_ms(*ms)),
            Latency::Uniform(a, b) => write!(f, "{}–{}", fmt_ms(*a), fmt_ms(*b)),
            Latency::LogNormal { median_ms, sigma } => {
                write!(f, "~{} σ{sigma}", fmt_ms(median_ms.round() as u64))
            }
        }
    }
}

/// What a fault does to a request it acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum FaultAction {
    /// The provider's own error envelope.
    Status {
        /// HTTP status, 100–599 (default 500).
        status: u16,
        /// The envelope's code (Coze default 5000; icu: the class's code).
        code: Option<i64>,
        /// icu error class (default `InternalError`); one of [`ICU_ERROR_CLASSES`].
        error: Option<String>,
        /// The envelope's message (default: the provider's wording for the code).
        message: Option<String>,
    },
    /// Only the fault's latency, then the normal answer.
    Latency,
    /// Close the connection with a TCP reset, answering nothing.
    Reset,
    /// Close the connection cleanly, answering nothing.
    Empty,
    /// HTTP 200 with seeded random bytes as the body.
    Garbage {
        /// Body length, 1..=1 MiB.
        bytes: usize,
    },
    /// The real answer's JSON cut short.
    Truncate {
        /// Share of the body kept, in (0, 1).
        keep: f64,
    },
    /// The real answer, a few bytes at a time, on the clock.
    Drip {
        /// Bytes per chunk, ≥ 1.
        chunk_bytes: usize,
        /// Wait between chunks.
        interval_ms: u64,
    },
}

impl FaultAction {
    /// The action's name as written in files.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Status { .. } => "status",
            FaultAction::Latency => "latency",
            FaultAction::Reset => "reset",
            FaultAction::Empty => "empty",
            FaultAction::Garbage { .. } => "garbage",
            FaultAction::Truncate { .. } => "truncate",
            FaultAction::Drip { .. } => "drip",
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Status {
                status,
                code,
                error,
                ..
            } => {
                write!(f, "status {status}")?;
                if let Some(code) = code {
                    write!(f, " code {code}")?;
                }
                if let Some(error) = error {
                    write!(f, " {error}")?;
                }
                Ok(())
            }
            FaultAction::Garbage { bytes } => write!(f, "garbage {bytes} B"),
            FaultAction::Truncate { keep } => write!(f, "truncate to {}%", keep * 100.0),
            FaultAction::Drip {
                chunk_bytes,
                interval_ms,
            } => write!(f, "drip {chunk_bytes} B per {}", fmt_ms(*interval_ms)),
            other => f.write_str(other.kind()),
        }
    }
}

/// How the journal names an action: `status 503 code 5000`, `truncate to 50%` (the same text
/// as the action's `Display`).
pub fn describe_action(action: &FaultAction) -> String {
    action.to_string()
}

/// One `[[fault]]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// 1-based position in the file: names the fault in the journal (`name#1`).
    pub index: usize,
    /// Which endpoint's requests it counts.
    pub endpoint: Endpoint,
    /// Which of them it acts on.
    pub on: Trigger,
    /// What it does.
    #[serde(flatten)]
    pub action: FaultAction,
    /// Wait before acting (the whole effect of `action = "latency"`).
    pub latency: Option<Latency>,
}

impl Fault {
    /// How the journal names this fault: `flaky-gateway#1 status 503`.
    pub fn label(&self, scenario: &str) -> String {
        format!("{scenario}#{} {}", self.index, self.action)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.endpoint)?;
        if self.on != Trigger::Always {
            write!(f, "{} ", self.on)?;
        }
        match (&self.action, &self.latency) {
            (FaultAction::Latency, Some(l)) => write!(f, "→ latency {l}"),
            (action, Some(l)) => write!(f, "→ {l} then {action}"),
            (action, None) => write!(f, "→ {action}"),
        }
    }
}

/// A task status a script step shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Status 0, queued.
    Waiting,
    /// Status 1, being recognised.
    Doing,
}

/// How long a step lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepEnd {
    /// This much clock time after the step before ended.
    Ms(u64),
    /// This many polls answered with the step's status.
    Polls(u32),
}

/// One step of a task path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The status shown during the step.
    pub status: StepStatus,
    /// When it ends.
    pub end: StepEnd,
}

/// How a scripted task ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptOutcome {
    /// The real recognition (a real failure in the audio still fails).
    Success,
    /// Stays in the last step (or `doing`) until forced through the control API.
    Stuck,
    /// Fails with a code 10000–10007.
    Fail {
        /// 10000–10007.
        code: i64,
        /// `ErrorMsg`; the seed's description of the code when absent.
        message: Option<String>,
    },
}

/// `[task]`: the path of icu tasks submitted under the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskScript {
    /// The status timeline; empty means the usual timing.
    pub steps: Vec<Step>,
    /// How it ends.
    pub outcome: ScriptOutcome,
    /// Polls keep showing the previous status this long after the callback is sent.
    pub callback_early_ms: u64,
}

/// `[callback]`: how the callbacks of the scenario's tasks are delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallbackBehaviour {
    /// Hold every delivery this long.
    pub delay_ms: u64,
    /// Plus a seeded 0..=jitter wait per task, so callbacks overtake each other.
    pub jitter_ms: u64,
    /// The first N attempts fail without reaching the receiver.
    pub fail_attempts: u32,
    /// Attempts in all (server default when absent).
    pub attempts: Option<u32>,
    /// Wait between attempts (server default when absent).
    pub interval_ms: Option<u64>,
    /// Attempt timeout (server default when absent).
    pub timeout_ms: Option<u64>,
    /// Extra copies delivered after the first acknowledged one.
    pub duplicates: u32,
    /// Never deliver.
    pub drop: bool,
}

/// One `[[rate_limit]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimitRule {
    /// A concrete endpoint, never `Any`.
    pub endpoint: Endpoint,
    /// Requests admitted per window, ≥ 1.
    pub limit: u32,
    /// Window length on the clock, ≥ 1.
    pub window_ms: u64,
    /// Coze only: 4020 (default) or 4009.
    pub code: Option<i64>,
}

/// `[identity]`: id ranges and legacy behaviours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// icu TaskIds between 2^53+1 and 2^63 (`task_ids = "above-2^53"`).
    pub big_task_ids: bool,
    /// Coze audio without speech answers 5000, as it used to (`coze_no_speech = "5000"`).
    pub coze_no_speech_5000: bool,
}

impl Identity {
    /// Whether any identity setting is on.
    pub fn any(&self) -> bool {
        self.big_task_ids || self.coze_no_speech_5000
    }
}

/// Where a scenario came from: users need to know whether their file replaced a built-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioSource {
    /// Embedded in the binary; the file name in `scenarios/`.
    Builtin(String),
    /// A user's file.
    File(PathBuf),
}

impl ScenarioSource {
    /// The path error messages name: the repository path for a built-in.
    pub fn path_label(&self) -> String {
        match self {
            ScenarioSource::Builtin(file) => format!("scenarios/{file}"),
            ScenarioSource::File(path) => path.display().to_string(),
        }
    }
}

impl fmt::Display for ScenarioSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioSource::Builtin(_) => f.write_str("builtin"),
            ScenarioSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One validated scenario file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Unique name: `[a-z0-9-]{1,64}`.
    pub name: String,
    /// What it reproduces, for people.
    pub description: String,
    /// Where it came from.
    pub source: ScenarioSource,
    /// `[match]`: the requests it applies to by itself.
    #[serde(rename = "match")]
    pub matcher: Option<Match>,
    /// `[[fault]]`s, in file order.
    pub faults: Vec<Fault>,
    /// `[task]`.
    pub task: Option<TaskScript>,
    /// `[callback]`.
    pub callback: Option<CallbackBehaviour>,
    /// `[[rate_limit]]`s.
    pub rate_limits: Vec<RateLimitRule>,
    /// `[identity]`.
    pub identity: Identity,
}

impl Scenario {
    /// What the scenario does, in a few words (for `scenarios list` and the control API).
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.faults.iter().map(|f| f.to_string()).collect();
        if let Some(task) = &self.task {
            let mut path: Vec<String> = task
                .steps
                .iter()
                .map(|step| {
                    let status = match step.status {
                        StepStatus::Waiting => "waiting",
                        StepStatus::Doing => "doing",
                    };
                    match step.end {
                        StepEnd::Ms(ms) => format!("{status} {}", fmt_ms(ms)),
                        StepEnd::Polls(n) => format!("{status} {}", plural(n.into(), "poll")),
                    }
                })
                .collect();
            match &task.outcome {
                // The usual path needs no words when only the callback timing changes.
                ScriptOutcome::Success if path.is_empty() && task.callback_early_ms > 0 => {}
                ScriptOutcome::Success => path.push("success".to_owned()),
                ScriptOutcome::Stuck => path.push("stuck".to_owned()),
                ScriptOutcome::Fail { code, .. } => path.push(format!("fail {code}")),
            }
            if task.callback_early_ms > 0 {
                path.push(format!(
                    "callback {} before polls show the end",
                    fmt_ms(task.callback_early_ms)
                ));
            }
            parts.push(format!("task {}", path.join(" → ")));
        }
        if let Some(cb) = &self.callback {
            let mut bits = Vec::new();
            if cb.drop {
                bits.push("dropped".to_owned());
            }
            if cb.delay_ms > 0 {
                bits.push(format!("delay {}", fmt_ms(cb.delay_ms)));
            }
            if cb.jitter_ms > 0 {
                bits.push(format!("jitter {}", fmt_ms(cb.jitter_ms)));
            }
            if cb.fail_attempts > 0 {
                bits.push(format!(
                    "{} fail",
                    plural(cb.fail_attempts.into(), "attempt")
                ));
            }
            if let Some(n) = cb.attempts {
                bits.push(plural(n.into(), "attempt"));
            }
            if let Some(ms) = cb.interval_ms {
                bits.push(format!("retry every {}", fmt_ms(ms)));
            }
            if let Some(ms) = cb.timeout_ms {
                bits.push(format!("timeout {}", fmt_ms(ms)));
            }
            if cb.duplicates > 0 {
                bits.push(format!("+{}", plural(cb.duplicates.into(), "duplicate")));
            }
            parts.push(format!("callback {}", bits.join(", ")));
        }
        for rule in &self.rate_limits {
            let mut s = format!(
                "{} limit {}/{}",
                rule.endpoint,
                rule.limit,
                fmt_ms(rule.window_ms)
            );
            if let Some(code) = rule.code {
                s.push_str(&format!(" code {code}"));
            }
            parts.push(s);
        }
        if self.identity.big_task_ids {
            parts.push("TaskIds above 2^53".to_owned());
        }
        if self.identity.coze_no_speech_5000 {
            parts.push("no speech → 5000".to_owned());
        }
        if let Some(m) = &self.matcher {
            parts.push(format!("auto: {}", describe_match(m)));
        }
        parts.join("; ")
    }

    /// The provider this scenario is limited to by its `[match]`, if any.
    pub fn provider(&self) -> Option<Provider> {
        self.matcher.as_ref().and_then(Match::implied_provider)
    }
}

fn describe_match(m: &Match) -> String {
    let mut keys = Vec::new();
    for (key, value) in [
        ("path", &m.path),
        ("token", &m.token),
        ("url_contains", &m.url_contains),
        ("filename", &m.filename),
        ("engine", &m.engine),
    ] {
        if let Some(v) = value {
            keys.push(format!("{key}={v}"));
        }
    }
    if let Some(h) = &m.audio_sha256 {
        keys.push(format!("audio_sha256={}…", hex::encode(&h[..4])));
    }
    // Last: the other keys usually say more, and often imply it.
    if let Some(p) = m.provider {
        keys.push(format!("provider={p}"));
    }
    if keys.is_empty() {
        "every request".to_owned()
    } else {
        keys.join(" ")
    }
}

/// `1 poll`, `3 polls`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A duration the way people write it: `10min`, `7d`; `1500ms` stays as it is.
fn fmt_ms(ms: u64) -> String {
    match ms {
        0 => "0ms".to_owned(),
        _ if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// Why a scenario file was refused: `path:line: reason`, the form editors jump to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (built-ins: `scenarios/<file>`).
    pub path: String,
    /// 1-based line of the offending key or value, when there is one.
    pub line: Option<usize>,
    /// What is wrong, and where useful what would be right.
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

/// Parses and validates one scenario file.
pub fn parse(text: &str, source: ScenarioSource) -> Result<Scenario, ScenarioError> {
    parse_with_name_line(text, source).map(|(scenario, _)| scenario)
}

/// [`parse`], also returning the line of `name`, so the library can point a duplicate name at
/// its line.
pub(crate) fn parse_with_name_line(
    text: &str,
    source: ScenarioSource,
) -> Result<(Scenario, usize), ScenarioError> {
    let cx = Cx {
        text,
        path: source.path_label(),
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    let name_line = cx.line(raw.name.span());
    let scenario = cx.validate(raw, source)?;
    Ok((scenario, name_line))
}

// ---------------------------------------------------------------------------------------
// The file as written, with spans.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    description: Spanned<String>,
    #[serde(rename = "match")]
    matcher: Option<Spanned<RawMatch>>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
    task: Option<Spanned<RawTask>>,
    callback: Option<Spanned<RawCallback>>,
    #[serde(default)]
    rate_limit: Vec<Spanned<RawRateLimit>>,
    identity: Option<Spanned<RawIdentity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [match] table")]
struct RawMatch {
    provider: Option<Spanned<Provider>>,
    path: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    url_contains: Option<Spanned<String>>,
    filename: Option<Spanned<String>>,
    audio_sha256: Option<Spanned<String>>,
    engine: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[fault]] table")]
struct RawFault {
    endpoint: Option<Spanned<Endpoint>>,
    on: Option<Spanned<RawOn>>,
    action: Option<Spanned<ActionKind>>,
    status: Option<Spanned<i64>>,
    code: Option<Spanned<i64>>,
    error: Option<Spanned<String>>,
    message: Option<Spanned<String>>,
    latency_ms: Option<Spanned<i64>>,
    latency: Option<Spanned<RawLatency>>,
    bytes: Option<Spanned<i64>>,
    keep: Option<Spanned<f64>>,
    chunk_bytes: Option<Spanned<i64>>,
    interval_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ActionKind {
    Status,
    Latency,
    Reset,
    Empty,
    Garbage,
    Truncate,
    Drip,
}

impl ActionKind {
    fn as_str(self) -> &'static str {
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
struct RawOn {
    nth: Option<Spanned<i64>>,
    every: Option<Spanned<i64>>,
    first: Option<Spanned<i64>>,
    after: Option<Spanned<i64>>,
    fraction: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "{ uniform = [MIN, MAX] } or { lognormal = { median_ms = M, sigma = S } }"
)]
struct RawLatency {
    uniform: Option<Spanned<Vec<Spanned<i64>>>>,
    lognormal: Option<Spanned<RawLogNormal>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "{ median_ms = M, sigma = S }")]
struct RawLogNormal {
    median_ms: Spanned<f64>,
    sigma: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [task] table")]
struct RawTask {
    steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    outcome: Option<Spanned<toml::Value>>,
    callback_early_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a step such as { status = \"waiting\", ms = 1000 }"
)]
struct RawStep {
    status: Spanned<StepStatus>,
    ms: Option<Spanned<i64>>,
    polls: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [callback] table")]
struct RawCallback {
    delay_ms: Option<Spanned<i64>>,
    jitter_ms: Option<Spanned<i64>>,
    fail_attempts: Option<Spanned<i64>>,
    attempts: Option<Spanned<i64>>,
    interval_ms: Option<Spanned<i64>>,
    timeout_ms: Option<Spanned<i64>>,
    duplicates: Option<Spanned<i64>>,
    drop: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[rate_limit]] table")]
struct RawRateLimit {
    endpoint: Spanned<Endpoint>,
    limit: Spanned<i64>,
    window_ms: Spanned<i64>,
    code: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [identity] table")]
struct RawIdentity {
    task_ids: Option<Spanned<String>>,
    coze_no_speech: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------
// Validation.

/// The file being validated: turns spans into lines for errors.
struct Cx<'a> {
    text: &'a str,
    path: String,
}

type Res<T> = Result<T, ScenarioError>;

impl Cx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        // `get` instead of slicing: a span inside a multi-byte character must not panic.
        let before = self.text.get(..end).unwrap_or(self.text);
        before.matches('\n').count() + 1
    }

    fn err(&self, span: Range<usize>, reason: impl Into<String>) -> ScenarioError {
        ScenarioError {
            path: self.path.clone(),
            line: Some(self.line(span)),
            reason: reason.into(),
        }
    }

    fn err_at<T>(&self, value: &Spanned<T>, reason: impl Into<String>) -> ScenarioError {
        self.err(value.span(), reason)
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let mut reason = e.message().trim().replace('\n', ": ");
        // serde speaks of fields and maps; a TOML author writes keys and tables.
        if let Some(rest) = reason.strip_prefix("missing field ") {
            reason = format!("missing key {rest}");
        }
        if let Some(rest) = reason.strip_prefix("unknown field ") {
            reason = format!("unknown key {rest}");
        }
        reason = reason.replace("invalid type: map", "invalid type: table");
        if reason.contains("expected a sequence") {
            reason.push_str(" (write [[fault]] and [[rate_limit]] with double brackets)");
        }
        ScenarioError {
            path: self.path.clone(),
            // A missing top-level key is reported at the start of the document, which is not
            // where anything is wrong: no line then. (Inside a table, the table's line.)
            line: e
                .span()
                .filter(|s| !(s.start == 0 && reason.starts_with("missing key")))
                .map(|s| self.line(s)),
            reason,
        }
    }

    fn validate(&self, raw: RawScenario, source: ScenarioSource) -> Res<Scenario> {
        let name = self.name(&raw.name)?;
        let description = raw.description.get_ref().trim().to_owned();
        if description.is_empty() {
            return Err(self.err_at(&raw.description, "description must not be empty"));
        }
        let (matcher, scope) = match &raw.matcher {
            Some(m) => {
                let (m, scope) = self.matcher(m.get_ref())?;
                (Some(m), scope)
            }
            None => (None, Scope::default()),
        };
        if raw.fault.len() > MAX_FAULTS {
            return Err(self.err_at(
                &raw.fault[MAX_FAULTS],
                format!("at most {MAX_FAULTS} [[fault]] tables per file"),
            ));
        }
        let faults = raw
            .fault
            .iter()
            .enumerate()
            .map(|(i, f)| self.fault(i + 1, f, &scope))
            .collect::<Res<Vec<_>>>()?;
        let task = match &raw.task {
            Some(t) => {
                self.icu_only(t, "[task]", &scope)?;
                Some(self.task(t)?)
            }
            None => None,
        };
        let callback = match &raw.callback {
            Some(c) => {
                self.icu_only(c, "[callback]", &scope)?;
                Some(self.callback(c)?)
            }
            None => None,
        };
        if raw.rate_limit.len() > MAX_RATE_LIMITS {
            return Err(self.err_at(
                &raw.rate_limit[MAX_RATE_LIMITS],
                format!("at most {MAX_RATE_LIMITS} [[rate_limit]] tables per file"),
            ));
        }
        let rate_limits = raw
            .rate_limit
            .iter()
            .map(|r| self.rate_limit(r, &scope))
            .collect::<Res<Vec<_>>>()?;
        let identity = match &raw.identity {
            Some(i) => self.identity(i, &scope)?,
            None => Identity::default(),
        };
        if faults.is_empty()
            && task.is_none()
            && callback.is_none()
            && rate_limits.is_empty()
            && !identity.any()
        {
            return Err(ScenarioError {
                path: self.path.clone(),
                line: None,
                reason: "the scenario does nothing: give it a [[fault]], [task], [callback], \
                         [[rate_limit]] or [identity]"
                    .to_owned(),
            });
        }
        Ok(Scenario {
            name,
            description,
            source,
            matcher,
            faults,
            task,
            callback,
            rate_limits,
            identity,
        })
    }

    fn name(&self, name: &Spanned<String>) -> Res<String> {
        let n = name.get_ref();
        let valid_chars = n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if n.is_empty() || n.len() > MAX_NAME_CHARS || !valid_chars {
            return Err(self.err_at(
                name,
                format!(
                    "name must be 1–{MAX_NAME_CHARS} lowercase letters, digits or '-', got {n:?}"
                ),
            ));
        }
        Ok(n.clone())
    }

    fn matcher(&self, raw: &RawMatch) -> Res<(Match, Scope)> {
        let mut scope = Scope::default();
        if let Some(p) = &raw.provider {
            scope.provider = Some((*p.get_ref(), "provider".to_owned()));
        }
        let path = match &raw.path {
            Some(p) => {
                let v = p.get_ref();
                if !v.starts_with('/') || v.contains('?') {
                    return Err(self.err_at(
                        p,
                        format!(
                            "path must be a request path starting with '/', without a \
                             query, got {v:?}"
                        ),
                    ));
                }
                if let Some(ep) = Endpoint::for_path(v) {
                    if let Some(provider) = ep.provider() {
                        self.narrow(&mut scope, provider, p, &format!("path {v}"))?;
                    }
                    scope.endpoint = Some(ep);
                }
                Some(v.clone())
            }
            None => None,
        };
        let token = self.non_empty(&raw.token, "token")?;
        let url_contains = self.non_empty(&raw.url_contains, "url_contains")?;
        if let Some(u) = &raw.url_contains {
            self.narrow(&mut scope, Provider::Icu, u, "url_contains")?;
        }
        let engine = match &raw.engine {
            Some(e) => {
                if !ICU_ENGINES.contains(&e.get_ref().as_str()) {
                    return Err(self.err_at(
                        e,
                        format!(
                            "engine must be one of icu's EngineModelType values ({}), got {:?}",
                            ICU_ENGINES.join(", "),
                            e.get_ref()
                        ),
                    ));
                }
                self.narrow(&mut scope, Provider::Icu, e, "engine")?;
                Some(e.get_ref().clone())
            }
            None => None,
        };
        let filename = match &raw.filename {
            Some(f) => {
                let v = f.get_ref();
                if v.is_empty() || v.contains('/') || v.contains('\\') {
                    return Err(self.err_at(
                        f,
                        format!(
                            "filename must be a file name without folders (the upload's \
                             basename), got {v:?}"
                        ),
                    ));
                }
                self.narrow(&mut scope, Provider::Coze, f, "filename")?;
                Some(v.clone())
            }
            None => None,
        };
        let audio_sha256 = match &raw.audio_sha256 {
            Some(h) => {
                let mut bytes = [0u8; 32];
                let v = h.get_ref();
                if v.len() != 64 || hex::decode_to_slice(v, &mut bytes).is_err() {
                    return Err(
                        self.err_at(h, format!("audio_sha256 must be 64 hex digits, got {v:?}"))
                    );
                }
                Some(bytes)
            }
            None => None,
        };
        let m = Match {
            provider: raw.provider.as_ref().map(|p| *p.get_ref()),
            path,
            token,
            url_contains,
            filename,
            audio_sha256,
            engine,
        };
        Ok((m, scope))
    }

    /// Records that `[match]` key `key` limits the scenario to `provider`, refusing keys that
    /// contradict each other (the match could never hold).
    fn narrow<T>(
        &self,
        scope: &mut Scope,
        provider: Provider,
        at: &Spanned<T>,
        key: &str,
    ) -> Res<()> {
        match &scope.provider {
            Some((p, by)) if *p != provider => Err(self.err_at(
                at,
                format!(
                    "{key} only matches {provider} requests, but {by} only matches {p} requests: \
                     this [match] can never hold"
                ),
            )),
            Some(_) => Ok(()),
            None => {
                scope.provider = Some((provider, key.to_owned()));
                Ok(())
            }
        }
    }

    fn non_empty(&self, v: &Option<Spanned<String>>, key: &str) -> Res<Option<String>> {
        match v {
            Some(s) if s.get_ref().is_empty() => {
                Err(self.err_at(s, format!("{key} must not be empty")))
            }
            Some(s) => Ok(Some(s.get_ref().clone())),
            None => Ok(None),
        }
    }

    /// Refuses an endpoint the scenario's `[match]` can never let through.
    fn check_endpoint(&self, ep: &Spanned<Endpoint>, scope: &Scope, what: &str) -> Res<()> {
        let e = *ep.get_ref();
        if let (Some(ep_provider), Some((p, by))) = (e.provider(), &scope.provider) {
            if ep_provider != *p {
                return Err(self.err_at(
                    ep,
                    format!(
                        "endpoint \"{e}\" is {ep_provider}'s, but [match] {by} only lets {p} \
                         requests through: this {what} would never act"
                    ),
                ));
            }
        }
        if let Some(only) = scope.endpoint {
            if e != Endpoint::Any && e != only {
                return Err(self.err_at(
                    ep,
                    format!(
                        "endpoint \"{e}\", but [match] path only lets \"{only}\" requests \
                         through: this {what} would never act"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn icu_only<T>(&self, at: &Spanned<T>, what: &str, scope: &Scope) -> Res<()> {
        match &scope.provider {
            Some((Provider::Coze, by)) => Err(self.err_at(
                at,
                format!(
                    "{what} concerns icu tasks, but [match] {by} only lets coze requests through"
                ),
            )),
            _ => Ok(()),
        }
    }

    fn fault(&self, index: usize, raw: &Spanned<RawFault>, scope: &Scope) -> Res<Fault> {
        let f = raw.get_ref();
        let endpoint = match &f.endpoint {
            Some(ep) => {
                self.check_endpoint(ep, scope, "fault")?;
                *ep.get_ref()
            }
            None => Endpoint::Any,
        };
        let on = match &f.on {
            Some(on) => self.trigger(on)?,
            None => Trigger::Always,
        };
        let Some(action) = &f.action else {
            return Err(self.err_at(
                raw,
                "missing key `action` in [[fault]]: one of status, latency, reset, empty, \
                 garbage, truncate, drip",
            ));
        };
        let kind = *action.get_ref();
        // Every parameter belongs to one action: a stray one is almost always a typo'd action.
        let owned: [(&str, Option<Range<usize>>, ActionKind); 8] = [
            (
                "status",
                f.status.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "code",
                f.code.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "error",
                f.error.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "message",
                f.message.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "bytes",
                f.bytes.as_ref().map(Spanned::span),
                ActionKind::Garbage,
            ),
            (
                "keep",
                f.keep.as_ref().map(Spanned::span),
                ActionKind::Truncate,
            ),
            (
                "chunk_bytes",
                f.chunk_bytes.as_ref().map(Spanned::span),
                ActionKind::Drip,
            ),
            (
                "interval_ms",
                f.interval_ms.as_ref().map(Spanned::span),
                ActionKind::Drip,
            ),
        ];
        for (key, span, owner) in owned {
            if let Some(span) = span {
                if owner != kind {
                    return Err(self.err(
                        span,
                        format!(
                            "`{key}` goes with action = \"{}\", not action = \"{}\"",
                            owner.as_str(),
                            kind.as_str()
                        ),
                    ));
                }
            }
        }
        let latency = self.latency(f)?;
        let action = match kind {
            ActionKind::Status => {
                let status = match &f.status {
                    Some(s) => {
                        let v = *s.get_ref();
                        u16::try_from(v)
                            .ok()
                            .filter(|v| (100..=599).contains(v))
                            .ok_or_else(|| {
                                self.err_at(s, format!("status must be 100–599, got {v}"))
                            })?
                    }
                    None => 500,
                };
                let code = match &f.code {
                    Some(c) if *c.get_ref() == 0 => {
                        return Err(self.err_at(
                            c,
                            "code 0 means success: an error envelope needs a non-zero code",
                        ))
                    }
                    Some(c) => Some(*c.get_ref()),
                    None => None,
                };
                let error = match &f.error {
                    Some(e) => {
                        let coze_only = endpoint == Endpoint::Transcribe
                            || matches!(scope.provider, Some((Provider::Coze, _)));
                        if coze_only {
                            return Err(self.err_at(
                                e,
                                "`error` names an icu error class, but this fault only acts on \
                                 Coze requests: give Coze's `code` instead",
                            ));
                        }
                        if !ICU_ERROR_CLASSES.contains(&e.get_ref().as_str()) {
                            return Err(self.err_at(
                                e,
                                format!(
                                    "error must be one of {}, got {:?}",
                                    ICU_ERROR_CLASSES.join(", "),
                                    e.get_ref()
                                ),
                            ));
                        }
                        Some(e.get_ref().clone())
                    }
                    None => None,
                };
                FaultAction::Status {
                    status,
                    code,
                    error,
                    message: f.message.as_ref().map(|m| m.get_ref().clone()),
                }
            }
            ActionKind::Latency => {
                if latency.is_none() {
                    return Err(self.err_at(
                        action,
                        "action = \"latency\" needs `latency_ms = N` or `latency = { … }`",
                    ));
                }
                FaultAction::Latency
            }
            ActionKind::Reset => FaultAction::Reset,
            ActionKind::Empty => FaultAction::Empty,
            ActionKind::Garbage => {
                let bytes = match &f.bytes {
                    Some(b) => usize::try_from(*b.get_ref())
                        .ok()
                        .filter(|v| (1..=MAX_GARBAGE_BYTES).contains(v))
                        .ok_or_else(|| {
                            self.err_at(
                                b,
                                format!("bytes must be 1–{MAX_GARBAGE_BYTES}, got {}", b.get_ref()),
                            )
                        })?,
                    None => 64,
                };
                FaultAction::Garbage { bytes }
            }
            ActionKind::Truncate => {
                let keep = match &f.keep {
                    Some(k) => {
                        let v = *k.get_ref();
                        if !(v > 0.0 && v < 1.0) {
                            return Err(self.err_at(
                                k,
                                format!(
                                    "keep is the share of the body sent, strictly between 0 and 1, \
                                     got {v}"
                                ),
                            ));
                        }
                        v
                    }
                    None => 0.5,
                };
                FaultAction::Truncate { keep }
            }
            ActionKind::Drip => {
                let chunk_bytes = match &f.chunk_bytes {
                    Some(c) => usize::try_from(*c.get_ref())
                        .ok()
                        .filter(|v| (1..=MAX_GARBAGE_BYTES).contains(v))
                        .ok_or_else(|| {
                            self.err_at(
                                c,
                                format!(
                                    "chunk_bytes must be 1–{MAX_GARBAGE_BYTES}, got {}",
                                    c.get_ref()
                                ),
                            )
                        })?,
                    None => 16,
                };
                let interval_ms = match &f.interval_ms {
                    Some(i) => self.ms(i, "interval_ms", 0, MAX_LATENCY_MS)?,
                    None => 1000,
                };
                FaultAction::Drip {
                    chunk_bytes,
                    interval_ms,
                }
            }
        };
        Ok(Fault {
            index,
            endpoint,
            on,
            action,
            latency,
        })
    }

    fn trigger(&self, on: &Spanned<RawOn>) -> Res<Trigger> {
        let r = on.get_ref();
        let given = [
            r.nth.is_some(),
            r.every.is_some(),
            r.first.is_some(),
            r.after.is_some(),
            r.fraction.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(self.err_at(
                on,
                format!(
                    "`on` takes exactly one of nth, every, first, after, fraction (got {given})"
                ),
            ));
        }
        let at_least = |v: &Spanned<i64>, key: &str, min: i64| -> Res<u64> {
            let n = *v.get_ref();
            if n < min {
                return Err(self.err_at(v, format!("{key} must be ≥ {min}, got {n}")));
            }
            u64::try_from(n).map_err(|_| self.err_at(v, format!("{key} must be ≥ {min}")))
        };
        if let Some(v) = &r.nth {
            return at_least(v, "nth", 1).map(Trigger::Nth);
        }
        if let Some(v) = &r.every {
            return at_least(v, "every", 1).map(Trigger::Every);
        }
        if let Some(v) = &r.first {
            return at_least(v, "first", 1).map(Trigger::First);
        }
        if let Some(v) = &r.after {
            return at_least(v, "after", 0).map(Trigger::After);
        }
        match &r.fraction {
            Some(v) => {
                let x = *v.get_ref();
                if !(x > 0.0 && x <= 1.0) {
                    return Err(self.err_at(
                        v,
                        format!("fraction must be in (0, 1] (0.2 is one request in five), got {x}"),
                    ));
                }
                Ok(Trigger::Fraction(x))
            }
            None => Ok(Trigger::Always),
        }
    }

    fn latency(&self, f: &RawFault) -> Res<Option<Latency>> {
        match (&f.latency_ms, &f.latency) {
            (Some(_), Some(l)) => {
                Err(self.err_at(l, "give either latency_ms or latency, not both"))
            }
            (Some(ms), None) => Ok(Some(Latency::Fixed(self.ms(
                ms,
                "latency_ms",
                0,
                MAX_LATENCY_MS,
            )?))),
            (None, Some(l)) => {
                let r = l.get_ref();
                match (&r.uniform, &r.lognormal) {
                    (Some(u), None) => {
                        let [lo, hi] = u.get_ref().as_slice() else {
                            return Err(
                                self.err_at(u, "uniform takes two bounds in ms: [MIN, MAX]")
                            );
                        };
                        let lo = self.ms(lo, "uniform's MIN", 0, MAX_LATENCY_MS)?;
                        let hi_ms = self.ms(hi, "uniform's MAX", 0, MAX_LATENCY_MS)?;
                        if lo > hi_ms {
                            return Err(self.err_at(
                                u,
                                format!("uniform's MIN ({lo}) must not exceed its MAX ({hi_ms})"),
                            ));
                        }
                        Ok(Some(Latency::Uniform(lo, hi_ms)))
                    }
                    (None, Some(ln)) => {
                        let ln_ref = ln.get_ref();
                        let median = *ln_ref.median_ms.get_ref();
                        if !(median > 0.0 && median <= MAX_LATENCY_MS as f64) {
                            return Err(self.err_at(
                                &ln_ref.median_ms,
                                format!(
                                    "median_ms must be above 0 and at most 600000 (10 min), got {median}"
                                ),
                            ));
                        }
                        let sigma = *ln_ref.sigma.get_ref();
                        if !(sigma.is_finite() && sigma >= 0.0) {
                            return Err(self.err_at(
                                &ln_ref.sigma,
                                format!("sigma must be a finite number ≥ 0, got {sigma}"),
                            ));
                        }
                        Ok(Some(Latency::LogNormal {
                            median_ms: median,
                            sigma,
                        }))
                    }
                    _ => Err(self.err_at(
                        l,
                        "latency takes exactly one of uniform = [MIN, MAX] or \
                         lognormal = { median_ms = M, sigma = S }",
                    )),
                }
            }
            (None, None) => Ok(None),
        }
    }

    fn ms(&self, v: &Spanned<i64>, key: &str, min: u64, max: u64) -> Res<u64> {
        let n = *v.get_ref();
        u64::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                self.err_at(
                    v,
                    format!("{key} must be {min}–{max} ms ({}), got {n}", fmt_ms(max)),
                )
            })
    }

    fn count(&self, v: &Spanned<i64>, key: &str, min: u32, max: u32) -> Res<u32> {
        let n = *v.get_ref();
        u32::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.err_at(v, format!("{key} must be {min}–{max}, got {n}")))
    }

    fn task(&self, raw: &Spanned<RawTask>) -> Res<TaskScript> {
        let t = raw.get_ref();
        if t.steps.is_none() && t.outcome.is_none() && t.callback_early_ms.is_none() {
            return Err(self.err_at(
                raw,
                "[task] is empty: give steps, outcome or callback_early_ms",
            ));
        }
        let mut steps = Vec::new();
        if let Some(list) = &t.steps {
            if list.get_ref().is_empty() {
                return Err(self.err_at(
                    list,
                    "steps must not be empty (leave it out for the usual timing)",
                ));
            }
            if list.get_ref().len() > MAX_STEPS {
                return Err(self.err_at(list, format!("at most {MAX_STEPS} steps")));
            }
            let mut seen_doing = false;
            for s in list.get_ref() {
                let step = s.get_ref();
                let end =
                    match (&step.ms, &step.polls) {
                        (Some(ms), None) => StepEnd::Ms(self.ms(ms, "ms", 0, MAX_SCRIPT_MS)?),
                        (None, Some(p)) => StepEnd::Polls(self.count(p, "polls", 1, u32::MAX)?),
                        _ => return Err(self.err_at(
                            s,
                            "each step lasts either `ms` of clock time or a number of `polls`: \
                             give exactly one",
                        )),
                    };
                let status = *step.status.get_ref();
                if status == StepStatus::Waiting && seen_doing {
                    return Err(self.err_at(
                        &step.status,
                        "a task only moves forward: a waiting step cannot follow a doing step",
                    ));
                }
                seen_doing |= status == StepStatus::Doing;
                steps.push(Step { status, end });
            }
        }
        let outcome = match &t.outcome {
            Some(o) => self.outcome(o)?,
            None => ScriptOutcome::Success,
        };
        let callback_early_ms = match &t.callback_early_ms {
            Some(ms) => {
                let v = self.ms(ms, "callback_early_ms", 0, MAX_SCRIPT_MS)?;
                if v > 0 && outcome == ScriptOutcome::Stuck {
                    return Err(self.err_at(
                        ms,
                        "callback_early_ms has no effect on a stuck task: it never ends, so no \
                         callback is sent",
                    ));
                }
                v
            }
            None => 0,
        };
        Ok(TaskScript {
            steps,
            outcome,
            callback_early_ms,
        })
    }

    fn outcome(&self, o: &Spanned<toml::Value>) -> Res<ScriptOutcome> {
        const HINT: &str =
            "outcome must be \"success\", \"stuck\" or { code = 10000…10007, message = \"…\" }";
        match o.get_ref() {
            toml::Value::String(s) if s == "success" => Ok(ScriptOutcome::Success),
            toml::Value::String(s) if s == "stuck" => Ok(ScriptOutcome::Stuck),
            toml::Value::Table(table) => {
                if let Some(key) = table.keys().find(|k| *k != "code" && *k != "message") {
                    return Err(self.err_at(o, format!("unknown key `{key}` in outcome: {HINT}")));
                }
                let code = match table.get("code") {
                    Some(toml::Value::Integer(c)) if (10000..=10007).contains(c) => *c,
                    Some(toml::Value::Integer(c)) => {
                        return Err(self.err_at(
                            o,
                            format!(
                                "outcome code must be one of the task failure codes \
                                 10000–10007, got {c}"
                            ),
                        ))
                    }
                    Some(_) => return Err(self.err_at(o, "outcome code must be an integer")),
                    None => {
                        let reason = format!("missing key `code` in outcome: {HINT}");
                        return Err(self.err_at(o, reason));
                    }
                };
                let message = match table.get("message") {
                    Some(toml::Value::String(m)) => Some(m.clone()),
                    Some(_) => return Err(self.err_at(o, "outcome message must be a string")),
                    None => None,
                };
                Ok(ScriptOutcome::Fail { code, message })
            }
            other => Err(self.err_at(o, format!("{HINT}, got {other}"))),
        }
    }

    fn callback(&self, raw: &Spanned<RawCallback>) -> Res<CallbackBehaviour> {
        let c = raw.get_ref();
        let others: [(&str, Option<Range<usize>>); 7] = [
            ("delay_ms", c.delay_ms.as_ref().map(Spanned::span)),
            ("jitter_ms", c.jitter_ms.as_ref().map(Spanned::span)),
            ("fail_attempts", c.fail_attempts.as_ref().map(Spanned::span)),
            ("attempts", c.attempts.as_ref().map(Spanned::span)),
            ("interval_ms", c.interval_ms.as_ref().map(Spanned::span)),
            ("timeout_ms", c.timeout_ms.as_ref().map(Spanned::span)),
            ("duplicates", c.duplicates.as_ref().map(Spanned::span)),
        ];
        let drop = c.drop.as_ref().is_some_and(|d| *d.get_ref());
        if drop {
            if let Some((key, Some(span))) = others.iter().find(|(_, s)| s.is_some()) {
                return Err(self.err(
                    span.clone(),
                    format!("`{key}` has no effect with drop = true: nothing is delivered"),
                ));
            }
        }
        if c.drop.is_none() && others.iter().all(|(_, s)| s.is_none()) {
            return Err(self.err_at(
                raw,
                "[callback] is empty: give at least one of delay_ms, jitter_ms, fail_attempts, \
                 attempts, interval_ms, timeout_ms, duplicates, drop",
            ));
        }
        let ms = |v: &Option<Spanned<i64>>, key: &str, min: u64| -> Res<Option<u64>> {
            v.as_ref()
                .map(|v| self.ms(v, key, min, MAX_SCRIPT_MS))
                .transpose()
        };
        let count = |v: &Option<Spanned<i64>>, key: &str, min: u32| -> Res<Option<u32>> {
            v.as_ref()
                .map(|v| self.count(v, key, min, MAX_CALLBACK_REPEATS))
                .transpose()
        };
        Ok(CallbackBehaviour {
            delay_ms: ms(&c.delay_ms, "delay_ms", 0)?.unwrap_or(0),
            jitter_ms: ms(&c.jitter_ms, "jitter_ms", 0)?.unwrap_or(0),
            fail_attempts: count(&c.fail_attempts, "fail_attempts", 0)?.unwrap_or(0),
            attempts: count(&c.attempts, "attempts", 1)?,
            interval_ms: ms(&c.interval_ms, "interval_ms", 0)?,
            timeout_ms: ms(&c.timeout_ms, "timeout_ms", 1)?,
            duplicates: count(&c.duplicates, "duplicates", 0)?.unwrap_or(0),
            drop,
        })
    }

    fn rate_limit(&self, raw: &Spanned<RawRateLimit>, scope: &Scope) -> Res<RateLimitRule> {
        let r = raw.get_ref();
        let endpoint = *r.endpoint.get_ref();
        if endpoint == Endpoint::Any {
            return Err(self.err_at(
                &r.endpoint,
                "a rate limit counts one endpoint: \"transcribe\", \"submit\" or \"query\", \
                 not \"any\"",
            ));
        }
        self.check_endpoint(&r.endpoint, scope, "rate limit")?;
        let limit = self.count(&r.limit, "limit", 1, u32::MAX)?;
        let window_ms = self.ms(&r.window_ms, "window_ms", 1, MAX_SCRIPT_MS)?;
        let code = match &r.code {
            Some(c) if endpoint != Endpoint::Transcribe => {
                return Err(self.err_at(
                    c,
                    "`code` is for Coze (endpoint = \"transcribe\"); icu answers \
                     RequestLimitExceeded",
                ))
            }
            Some(c) if ![4020, 4009].contains(c.get_ref()) => {
                return Err(self.err_at(
                    c,
                    format!(
                        "code must be 4020 (RPM exceeded) or 4009 (system request limit), got {}",
                        c.get_ref()
                    ),
                ))
            }
            Some(c) => Some(*c.get_ref()),
            None => None,
        };
        Ok(RateLimitRule {
            endpoint,
            limit,
            window_ms,
            code,
        })
    }

    fn identity(&self, raw: &Spanned<RawIdentity>, scope: &Scope) -> Res<Identity> {
        let i = raw.get_ref();
        if i.task_ids.is_none() && i.coze_no_speech.is_none() {
            return Err(self.err_at(
                raw,
                "[identity] is empty: give task_ids = \"above-2^53\" or coze_no_speech = \"5000\"",
            ));
        }
        let mut identity = Identity::default();
        if let Some(t) = &i.task_ids {
            if t.get_ref() != "above-2^53" {
                return Err(self.err_at(
                    t,
                    format!("task_ids must be \"above-2^53\", got {:?}", t.get_ref()),
                ));
            }
            self.icu_only(t, "task_ids", scope)?;
            identity.big_task_ids = true;
        }
        if let Some(c) = &i.coze_no_speech {
            if c.get_ref() != "5000" {
                return Err(self.err_at(
                    c,
                    format!("coze_no_speech must be \"5000\", got {:?}", c.get_ref()),
                ));
            }
            if let Some((Provider::Icu, by)) = &scope.provider {
                return Err(self.err_at(
                    c,
                    format!(
                        "coze_no_speech concerns Coze, but [match] {by} only lets icu requests \
                         through"
                    ),
                ));
            }
            identity.coze_no_speech_5000 = true;
        }
        Ok(identity)
    }
}

/// What `[match]` restricts the scenario to, and which key said so (for messages).
#[derive(Default)]
struct Scope {
    provider: Option<(Provider, String)>,
    endpoint: Option<Endpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const HEAD: &str = "name = \"t\"\ndescription = \"d\"\n";

    fn parse_file(text: &str) -> Result<Scenario, ScenarioError> {
        parse(text, ScenarioSource::File(PathBuf::from("t.toml")))
    }

    fn ok(body: &str) -> Scenario {
        let text = format!("{HEAD}{body}");
        parse_file(&text).unwrap_or_else(|e| panic!("{e}\n--- file:\n{text}"))
    }

    /// The error for `HEAD + body`; its line counts `HEAD`'s two lines.
    fn err(body: &str) -> ScenarioError {
        let text = format!("{HEAD}{body}");
        match parse_file(&text) {
            Ok(s) => panic!("accepted:\n{text}\n{s:?}"),
            Err(e) => e,
        }
    }

    /// Asserts the error's line and that its reason contains `needle`.
    fn rejects(body: &str, line: usize, needle: &str) {
        let e = err(body);
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.reason.contains(needle), "{e:?} lacks {needle:?}");
    }

    fn fault(body: &str) -> Fault {
        ok(&format!("[[fault]]\n{body}")).faults.remove(0)
    }

    #[test]
    fn error_display_is_path_line_reason() {
        let e = err("[[fault]]\naction = \"reset\"\non = { nth = 0 }\n");
        assert_eq!(e.to_string(), "t.toml:5: nth must be ≥ 1, got 0");
        let e =
            parse_file("description = \"d\"\n[identity]\ntask_ids = \"above-2^53\"\n").unwrap_err();
        assert_eq!(e.to_string(), "t.toml: missing key `name`");
        let builtin =
            parse("name = \"x\"\n", ScenarioSource::Builtin("x.toml".into())).unwrap_err();
        assert!(
            builtin.to_string().starts_with("scenarios/x.toml"),
            "{builtin}"
        );
    }

    #[test]
    fn the_readme_examples_parse() {
        let s = ok("[[fault]]\nendpoint = \"query\"\non = { every = 5 }\naction = \"status\"\n\n\
                    [task]\nsteps = [\n  { status = \"waiting\", ms = 600000 },\n  \
                    { status = \"doing\", polls = 3 },\n]\n\
                    outcome = { code = 10001, message = \"Recognition failed\" }\n\
                    callback_early_ms = 0\n\n\
                    [callback]\ndelay_ms = 1\njitter_ms = 2\nfail_attempts = 1\nattempts = 3\n\
                    interval_ms = 100\ntimeout_ms = 200\nduplicates = 1\n\n\
                    [[rate_limit]]\nendpoint = \"transcribe\"\nlimit = 5\nwindow_ms = 1000\ncode = 4020\n\n\
                    [identity]\ntask_ids = \"above-2^53\"\ncoze_no_speech = \"5000\"\n");
        assert_eq!(
            s.faults,
            vec![Fault {
                index: 1,
                endpoint: Endpoint::Query,
                on: Trigger::Every(5),
                action: FaultAction::Status {
                    status: 500,
                    code: None,
                    error: None,
                    message: None
                },
                latency: None,
            }]
        );
        assert_eq!(
            s.task,
            Some(TaskScript {
                steps: vec![
                    Step {
                        status: StepStatus::Waiting,
                        end: StepEnd::Ms(600_000)
                    },
                    Step {
                        status: StepStatus::Doing,
                        end: StepEnd::Polls(3)
                    },
                ],
                outcome: ScriptOutcome::Fail {
                    code: 10001,
                    message: Some("Recognition failed".into())
                },
                callback_early_ms: 0,
            })
        );
        assert_eq!(
            s.callback,
            Some(CallbackBehaviour {
                delay_ms: 1,
                jitter_ms: 2,
                fail_attempts: 1,
                attempts: Some(3),
                interval_ms: Some(100),
                timeout_ms: Some(200),
                duplicates: 1,
                drop: false,
            })
        );
        assert_eq!(
            s.rate_limits,
            vec![RateLimitRule {
                endpoint: Endpoint::Transcribe,
                limit: 5,
                window_ms: 1000,
                code: Some(4020)
            }]
        );
        assert_eq!(
            s.identity,
            Identity {
                big_task_ids: true,
                coze_no_speech_5000: true
            }
        );
        assert_eq!(s.matcher, None);
        assert_eq!(s.name, "t");
        assert_eq!(s.description, "d");

        let m = ok(
            "[match]\nprovider = \"icu\"\npath = \"/openapi/asr/searchResult\"\n\
                    token = \"pat_ci\"\nurl_contains = \"flaky\"\naudio_sha256 = \"\
                    9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"\n\
                    engine = \"16k_zh\"\n[[fault]]\naction = \"reset\"\n",
        )
        .matcher
        .unwrap();
        assert!(m.needs_body());
        assert_eq!(m.implied_provider(), Some(Provider::Icu));
        assert_eq!(m.audio_sha256.unwrap()[0], 0x9f);
        let coze = ok("[match]\nfilename = \"silence.wav\"\n[[fault]]\naction = \"reset\"\n");
        assert_eq!(coze.provider(), Some(Provider::Coze));
        let body_free = ok("[match]\ntoken = \"pat_x\"\n[[fault]]\naction = \"reset\"\n");
        assert!(!body_free.matcher.unwrap().needs_body());
        // An empty [match] is "every key given holds": it applies to every request.
        assert_eq!(
            ok("[match]\n[[fault]]\naction = \"reset\"\n").matcher,
            Some(Match::default())
        );
    }

    #[test]
    fn actions_take_their_defaults() {
        assert_eq!(fault("action = \"reset\"").endpoint, Endpoint::Any);
        assert_eq!(fault("action = \"reset\"").on, Trigger::Always);
        assert_eq!(fault("action = \"reset\"").action, FaultAction::Reset);
        assert_eq!(fault("action = \"empty\"").action, FaultAction::Empty);
        assert_eq!(
            fault("action = \"garbage\"").action,
            FaultAction::Garbage { bytes: 64 }
        );
        assert_eq!(
            fault("action = \"truncate\"").action,
            FaultAction::Truncate { keep: 0.5 }
        );
        assert_eq!(
            fault("action = \"drip\"").action,
            FaultAction::Drip {
                chunk_bytes: 16,
                interval_ms: 1000
            }
        );
        assert_eq!(
            fault("action = \"status\"\nendpoint = \"submit\"\nstatus = 429\nerror = \"RequestLimitExceeded\"\nmessage = \"slow down\"\ncode = 4029").action,
            FaultAction::Status {
                status: 429,
                code: Some(4029),
                error: Some("RequestLimitExceeded".into()),
                message: Some("slow down".into())
            }
        );
        for class in ICU_ERROR_CLASSES {
            fault(&format!("action = \"status\"\nerror = \"{class}\""));
        }
    }

    #[test]
    fn latencies_parse_in_three_forms() {
        let f = fault("action = \"latency\"\nlatency_ms = 250");
        assert_eq!(
            (f.action, f.latency),
            (FaultAction::Latency, Some(Latency::Fixed(250)))
        );
        let f = fault("action = \"reset\"\nlatency = { uniform = [100, 900] }");
        assert_eq!(f.latency, Some(Latency::Uniform(100, 900)));
        let f = fault(
            "action = \"status\"\nlatency = { lognormal = { median_ms = 300, sigma = 0.5 } }",
        );
        assert_eq!(
            f.latency,
            Some(Latency::LogNormal {
                median_ms: 300.0,
                sigma: 0.5
            })
        );
        assert_eq!(
            fault("action = \"latency\"\nlatency = { uniform = [0, 600000] }").latency,
            Some(Latency::Uniform(0, 600_000))
        );
    }

    #[test]
    fn triggers_parse() {
        for (on, want) in [
            ("{ nth = 3 }", Trigger::Nth(3)),
            ("{ every = 5 }", Trigger::Every(5)),
            ("{ first = 2 }", Trigger::First(2)),
            ("{ after = 2 }", Trigger::After(2)),
            ("{ after = 0 }", Trigger::After(0)),
            ("{ fraction = 0.2 }", Trigger::Fraction(0.2)),
            ("{ fraction = 1 }", Trigger::Fraction(1.0)),
        ] {
            assert_eq!(
                fault(&format!("action = \"reset\"\non = {on}")).on,
                want,
                "{on}"
            );
        }
        // A sub-table is the same TOML as an inline table.
        assert_eq!(
            fault("action = \"reset\"\n[fault.on]\nevery = 2").on,
            Trigger::Every(2)
        );
    }

    #[test]
    fn fires_follows_the_readme_table() {
        let never = || -> f64 { panic!("rolled for a counted trigger") };
        let fired = |t: Trigger| -> Vec<u64> { (1..=12).filter(|&c| t.fires(c, never)).collect() };
        assert_eq!(fired(Trigger::Always), (1..=12).collect::<Vec<_>>());
        assert_eq!(fired(Trigger::Nth(3)), [3]);
        assert_eq!(fired(Trigger::Every(5)), [5, 10]);
        assert_eq!(fired(Trigger::First(2)), [1, 2]);
        assert_eq!(fired(Trigger::After(10)), [11, 12]);
        assert_eq!(fired(Trigger::After(0)).len(), 12);
        for t in [
            Trigger::Nth(1),
            Trigger::Every(1),
            Trigger::First(1),
            Trigger::After(0),
        ] {
            assert!(!t.fires(0, never), "count 0 is no request: {t:?}");
        }
        let f = Trigger::Fraction(0.2);
        assert!(f.fires(1, || 0.0));
        assert!(f.fires(1, || 0.199));
        assert!(!f.fires(1, || 0.2));
        assert!(!f.fires(1, || 0.9));
        assert!(Trigger::Fraction(1.0).fires(7, || 0.999_999));
        // A seeded roll per count picks about the asked share, the same every run.
        let pick = |seed: u64| -> Vec<u64> {
            (1..=1000)
                .filter(|&c| {
                    f.fires(c, || {
                        rand::Rng::gen::<f64>(&mut crate::rng::derive(
                            seed,
                            "test-fraction",
                            &c.to_le_bytes(),
                        ))
                    })
                })
                .collect()
        };
        let a = pick(1);
        assert_eq!(a, pick(1));
        assert_ne!(a, pick(2));
        assert!((150..=250).contains(&a.len()), "{}", a.len());
    }

    #[test]
    fn endpoints_know_their_provider_and_path() {
        assert_eq!(
            Endpoint::for_path(PATH_TRANSCRIBE),
            Some(Endpoint::Transcribe)
        );
        assert_eq!(Endpoint::for_path(PATH_SUBMIT), Some(Endpoint::Submit));
        assert_eq!(Endpoint::for_path(PATH_QUERY), Some(Endpoint::Query));
        assert_eq!(Endpoint::for_path("/__admin/health"), None);
        assert_eq!(Endpoint::Transcribe.provider(), Some(Provider::Coze));
        assert_eq!(Endpoint::Query.provider(), Some(Provider::Icu));
        assert_eq!(Endpoint::Any.provider(), None);
        assert!(Endpoint::Any.covers(Endpoint::Submit));
        assert!(Endpoint::Query.covers(Endpoint::Query));
        assert!(!Endpoint::Query.covers(Endpoint::Submit));
    }

    #[test]
    fn latency_samples_stay_in_bounds_and_repeat() {
        let mut rng = crate::rng::derive(7, "test-latency", b"");
        assert_eq!(Latency::Fixed(250).sample_ms(&mut rng), 250);
        assert_eq!(Latency::Fixed(u64::MAX).sample_ms(&mut rng), MAX_LATENCY_MS);
        assert_eq!(Latency::Uniform(5, 5).sample_ms(&mut rng), 5);
        let uniform: Vec<u64> = (0..1000)
            .map(|_| Latency::Uniform(100, 200).sample_ms(&mut rng))
            .collect();
        assert!(uniform.iter().all(|v| (100..=200).contains(v)));
        assert!(
            uniform.contains(&100) && uniform.contains(&200),
            "inclusive bounds"
        );
        // Reversed bounds (never produced by the parser) still do not panic.
        assert!((1..=9).contains(&Latency::Uniform(9, 1).sample_ms(&mut rng)));

        let ln = Latency::LogNormal {
            median_ms: 300.0,
            sigma: 0.5,
        };
        let mut samples: Vec<u64> = (0..4001).map(|_| ln.sample_ms(&mut rng)).collect();
        samples.sort_unstable();
        let median = samples[2000];
        assert!((270..=330).contains(&median), "median {median}");
        assert!(
            samples[0] > 0 && samples[4000] > 600,
            "{} {}",
            samples[0],
            samples[4000]
        );
        let flat = Latency::LogNormal {
            median_ms: 300.0,
            sigma: 0.0,
        };
        assert_eq!(flat.sample_ms(&mut rng), 300);
        let huge = Latency::LogNormal {
            median_ms: 600_000.0,
            sigma: 5.0,
        };
        assert!((0..200).all(|_| huge.sample_ms(&mut rng) <= MAX_LATENCY_MS));

        let draw = |seed: u64| -> Vec<u64> {
            let mut rng = crate::rng::derive(seed, "test-latency", b"k");
            (0..20).map(|_| ln.sample_ms(&mut rng)).collect()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        // Any rand::Rng works, not only the simulator's.
        let mut other = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        assert!(ln.sample_ms(&mut other) <= MAX_LATENCY_MS);
    }

    #[test]
    fn unknown_keys_are_refused_everywhere() {
        rejects("colour = 1\n", 3, "unknown key `colour`");
        rejects("[match]\nprovidr = \"icu\"\n", 4, "unknown key `providr`");
        rejects(
            "[[fault]]\naction = \"reset\"\nlatencyms = 5\n",
            5,
            "unknown key `latencyms`",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { nth = 1, evry = 2 }\n",
            5,
            "`evry`",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\nlatency = { uniform = [1, 2], fixed = 3 }\n",
            5,
            "`fixed`",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\nlatency = { lognormal = { median_ms = 1, sigma = 1, mu = 0 } }\n",
            5,
            "`mu`",
        );
        rejects("[task]\noutcom = \"success\"\n", 4, "`outcom`");
        rejects(
            "[task]\nsteps = [{ status = \"doing\", ms = 1, s = 2 }]\n",
            4,
            "`s`",
        );
        rejects(
            "[task]\noutcome = { code = 10001, msg = \"x\" }\n",
            4,
            "unknown key `msg`",
        );
        rejects("[callback]\nretries = 3\n", 4, "`retries`");
        rejects(
            "[[rate_limit]]\nendpoint = \"query\"\nlimit = 1\nwindow_ms = 1\nburst = 2\n",
            7,
            "`burst`",
        );
        rejects("[identity]\ntaskids = \"above-2^53\"\n", 4, "`taskids`");
        rejects(
            "[[fault]]\nendpoint = \"poll\"\naction = \"reset\"\n",
            4,
            "unknown variant `poll`",
        );
        rejects(
            "[[fault]]\naction = \"explode\"\n",
            4,
            "unknown variant `explode`",
        );
        rejects("[match]\nprovider = \"aws\"\n", 4, "unknown variant `aws`");
        rejects(
            "[task]\nsteps = [{ status = \"done\", ms = 1 }]\n",
            4,
            "unknown variant `done`",
        );
    }

    #[test]
    fn toml_and_type_errors_have_lines() {
        rejects("[[fault]]\naction = \"reset\n", 4, "");
        rejects(
            "[[fault]]\naction = \"reset\"\non = 5\n",
            5,
            "such as { every = 5 }",
        );
        rejects(
            "[[fault]]\naction = \"truncate\"\nkeep = \"half\"\n",
            5,
            "expected f64",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { nth = 1.5 }\n",
            5,
            "expected i64",
        );
        rejects("[fault]\naction = \"reset\"\n", 3, "double brackets");
        rejects("[callback]\ndrop = \"yes\"\n", 4, "expected a boolean");
        let e = parse_file("name = \"t\"\n[identity]\ntask_ids = \"above-2^53\"\n").unwrap_err();
        assert_eq!(e.reason, "missing key `description`");
        let e = parse_file("").unwrap_err();
        assert_eq!(e.line, None, "{e}");
    }

    #[test]
    fn names_and_descriptions_are_checked() {
        let file = |name: &str, desc: &str| {
            parse_file(&format!(
                "name = {name:?}\ndescription = {desc:?}\n[identity]\ntask_ids = \"above-2^53\"\n"
            ))
        };
        assert!(file("a", "d").is_ok());
        assert!(file("fail-10001", "d").is_ok());
        assert!(file(&"a".repeat(64), "d").is_ok());
        for bad in [
            "",
            "Flaky",
            "flaky_gateway",
            "flaky gateway",
            "é",
            &"a".repeat(65),
        ] {
            let e = file(bad, "d").unwrap_err();
            assert_eq!(e.line, Some(1), "{e}");
            assert!(e.reason.contains("lowercase letters, digits or '-'"), "{e}");
        }
        let e = file("a", "  ").unwrap_err();
        assert_eq!(
            (e.line, e.reason.as_str()),
            (Some(2), "description must not be empty")
        );
    }

    #[test]
    fn a_scenario_must_do_something() {
        let e = parse_file(HEAD).unwrap_err();
        assert_eq!(e.line, None);
        assert!(e.reason.contains("does nothing"), "{e}");
        let e = err("[match]\nprovider = \"icu\"\n");
        assert!(e.reason.contains("does nothing"), "{e}");
        rejects("[task]\n", 3, "[task] is empty");
        rejects("[callback]\n", 3, "[callback] is empty");
        rejects("[identity]\n", 3, "[identity] is empty");
        // Each part alone is enough.
        ok("[task]\noutcome = \"success\"\n");
        ok("[callback]\ndrop = false\n");
        ok("[[rate_limit]]\nendpoint = \"submit\"\nlimit = 1\nwindow_ms = 1\n");
    }

    #[test]
    fn triggers_are_checked() {
        rejects(
            "[[fault]]\naction = \"reset\"\non = { nth = 0 }\n",
            5,
            "nth must be ≥ 1, got 0",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { every = 0 }\n",
            5,
            "every must be ≥ 1",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { first = -1 }\n",
            5,
            "first must be ≥ 1",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { after = -1 }\n",
            5,
            "after must be ≥ 0",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { fraction = 0 }\n",
            5,
            "fraction must be in (0, 1]",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { fraction = 1.5 }\n",
            5,
            "got 1.5",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { fraction = nan }\n",
            5,
            "fraction",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = {}\n",
            5,
            "exactly one of nth, every, first, after, fraction (got 0)",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\non = { nth = 1, every = 2 }\n",
            5,
            "(got 2)",
        );
    }

    #[test]
    fn action_parameters_go_with_their_action() {
        rejects(
            "[[fault]]\nendpoint = \"query\"\n",
            3,
            "missing key `action`",
        );
        rejects(
            "[[fault]]\naction = \"status\"\nkeep = 0.5\n",
            5,
            "`keep` goes with action = \"truncate\", not action = \"status\"",
        );
        rejects(
            "[[fault]]\naction = \"reset\"\nstatus = 500\n",
            5,
            "`status` goes with action = \"status\"",
        );
        rejects(
            "[[fault]]\naction = \"garbage\"\nchunk_bytes = 4\n",
            5,
            "`chunk_bytes` goes with action = \"drip\"",
        );
        rejects(
            "[[fault]]\naction = \"drip\"\nbytes = 4\n",
            5,
            "`bytes` goes with action = \"garbage\"",
        );
        rejects(
            "[[fault]]\naction = \"truncate\"\nmessage = \"x\"\n",
            5,
            "`message` goes with",
        );
        rejects(
            "[[fault]]\naction = \"empty\"\ninterval_ms = 1\n",
            5,
            "`interval_ms` goes with",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\n",
            4,
            "needs `latency_ms = N` or `latency",
        );
        // Latency goes with every action.
        for action in [
            "status", "latency", "reset", "empty", "garbage", "truncate", "drip",
        ] {
            let f = fault(&format!("action = \"{action}\"\nlatency_ms = 10"));
            assert_eq!(f.latency, Some(Latency::Fixed(10)));
            assert_eq!(f.action.kind(), action);
        }
    }

    #[test]
    fn action_values_are_checked() {
        rejects(
            "[[fault]]\naction = \"status\"\nstatus = 99\n",
            5,
            "status must be 100–599, got 99",
        );
        rejects(
            "[[fault]]\naction = \"status\"\nstatus = 600\n",
            5,
            "got 600",
        );
        rejects(
            "[[fault]]\naction = \"status\"\ncode = 0\n",
            5,
            "non-zero code",
        );
        rejects(
            "[[fault]]\naction = \"status\"\nerror = \"Boom\"\n",
            5,
            "error must be one of InvalidParameter",
        );
        rejects(
            "[[fault]]\naction = \"status\"\nerror = \"InvalidParameterValue.ErrorNope\"\n",
            5,
            "error must be one of",
        );
        rejects("[[fault]]\nendpoint = \"transcribe\"\naction = \"status\"\nerror = \"InternalError\"\n", 6, "give Coze's `code`");
        rejects("[match]\nprovider = \"coze\"\n[[fault]]\naction = \"status\"\nerror = \"InternalError\"\n", 7, "icu error class");
        rejects(
            "[[fault]]\naction = \"garbage\"\nbytes = 0\n",
            5,
            "bytes must be 1–1048576, got 0",
        );
        rejects(
            "[[fault]]\naction = \"garbage\"\nbytes = 1048577\n",
            5,
            "got 1048577",
        );
        fault("action = \"garbage\"\nbytes = 1048576");
        rejects(
            "[[fault]]\naction = \"truncate\"\nkeep = 0\n",
            5,
            "strictly between 0 and 1",
        );
        rejects(
            "[[fault]]\naction = \"truncate\"\nkeep = 1\n",
            5,
            "strictly between 0 and 1",
        );
        rejects(
            "[[fault]]\naction = \"drip\"\nchunk_bytes = 0\n",
            5,
            "chunk_bytes must be 1–",
        );
        rejects(
            "[[fault]]\naction = \"drip\"\ninterval_ms = -1\n",
            5,
            "interval_ms must be 0–600000 ms",
        );
    }

    #[test]
    fn latency_bounds_are_checked() {
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency_ms = 600001\n",
            5,
            "latency_ms must be 0–600000 ms (10min), got 600001",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency_ms = -5\n",
            5,
            "got -5",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency_ms = 5\nlatency = { uniform = [1, 2] }\n",
            6,
            "either latency_ms or latency",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency = { uniform = [9, 1] }\n",
            5,
            "MIN (9) must not exceed its MAX (1)",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency = { uniform = [1, 600001] }\n",
            5,
            "uniform's MAX must be 0–600000",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency = { uniform = [1] }\n",
            5,
            "two bounds",
        );
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency = {}\n",
            5,
            "exactly one of uniform",
        );
        rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 0, sigma = 1 } }\n", 5, "median_ms must be above 0");
        rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 700000, sigma = 1 } }\n", 5, "median_ms");
        rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10, sigma = -0.1 } }\n", 5, "sigma must be a finite number ≥ 0");
        rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10, sigma = inf } }\n", 5, "sigma");
        rejects(
            "[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10 } }\n",
            5,
            "missing key `sigma`",
        );
    }

    #[test]
    fn match_keys_are_checked() {
        rejects(
            "[match]\npath = \"openapi/asr/searchResult\"\n",
            4,
            "starting with '/'",
        );
        rejects("[match]\npath = \"/x?a=1\"\n", 4, "without a query");
        rejects("[match]\ntoken = \"\"\n", 4, "token must not be empty");
        rejects(
            "[match]\nurl_contains = \"\"\n",
            4,
            "url_contains must not be empty",
        );
        rejects("[match]\nfilename = \"/Users/u/a.mp3\"\n", 4, "basename");
        rejects("[match]\nfilename = \"\"\n", 4, "basename");
        rejects("[match]\naudio_sha256 = \"9f86d0…\"\n", 4, "64 hex digits");
        rejects(
            &format!("[match]\naudio_sha256 = \"{}\"\n", "g".repeat(64)),
            4,
            "64 hex digits",
        );
        rejects("[match]\nengine = \"16k_zh_typo\"\n", 4, "EngineModelType");
        // Keys that can never hold together.
        rejects(
            "[match]\nprovider = \"coze\"\npath = \"/openapi/asr/voiceToText\"\n",
            5,
            "can never hold",
        );
        rejects(
            "[match]\nprovider = \"coze\"\nurl_contains = \"x\"\n",
            5,
            "url_contains only matches icu requests, but provider only matches coze",
        );
        rejects(
            "[match]\nurl_contains = \"x\"\nfilename = \"a.wav\"\n",
            5,
            "can never hold",
        );
        rejects(
            "[match]\nprovider = \"icu\"\nfilename = \"a.wav\"\n",
            5,
            "can never hold",
        );
        rejects("[match]\nprovider = \"icu\"\nengine = \"16k_zh\"\npath = \"/v1/audio/transcriptions\"\n", 6, "can never hold");
        // An unknown path is allowed (it matches nothing the providers serve, but is not
        // contradictory); a known one pins the endpoint.
        ok("[match]\npath = \"/custom\"\n[[fault]]\naction = \"reset\"\n");
    }

    #[test]
    fn endpoints_must_agree_with_the_match() {
        rejects(
            "[match]\nprovider = \"coze\"\n[[fault]]\nendpoint = \"query\"\naction = \"reset\"\n",
            6,
            "endpoint \"query\" is icu's, but [match] provider only lets coze requests through",
        );
        rejects("[match]\nprovider = \"icu\"\n[[fault]]\nendpoint = \"transcribe\"\naction = \"reset\"\n", 6, "would never act");
        rejects(
            "[match]\nfilename = \"a.wav\"\n[[fault]]\nendpoint = \"submit\"\naction = \"reset\"\n",
            6,
            "[match] filename",
        );
        rejects("[match]\npath = \"/openapi/asr/searchResult\"\n[[fault]]\nendpoint = \"submit\"\naction = \"reset\"\n", 6, "only lets \"query\" requests");
        rejects("[match]\nprovider = \"coze\"\n[[rate_limit]]\nendpoint = \"query\"\nlimit = 1\nwindow_ms = 1\n", 6, "this rate limit would never act");
        ok("[match]\nprovider = \"coze\"\n[[fault]]\nendpoint = \"transcribe\"\naction = \"reset\"\n[[fault]]\naction = \"empty\"\n");
        ok("[match]\npath = \"/openapi/asr/searchResult\"\n[[fault]]\nendpoint = \"query\"\naction = \"reset\"\n");
    }

    #[test]
    fn icu_parts_refuse_a_coze_match() {
        rejects(
            "[match]\nprovider = \"coze\"\n[task]\noutcome = \"stuck\"\n",
            5,
            "[task] concerns icu tasks",
        );
        rejects(
            "[match]\nprovider = \"coze\"\n[callback]\ndrop = true\n",
            5,
            "[callback] concerns icu tasks",
        );
        rejects(
            "[match]\nfilename = \"a.wav\"\n[identity]\ntask_ids = \"above-2^53\"\n",
            6,
            "task_ids concerns icu tasks",
        );
        rejects(
            "[match]\nengine = \"8k_zh\"\n[identity]\ncoze_no_speech = \"5000\"\n",
            6,
            "coze_no_speech concerns Coze",
        );
        let s = ok("[match]\nprovider = \"coze\"\n[identity]\ncoze_no_speech = \"5000\"\n");
        assert!(s.identity.coze_no_speech_5000 && !s.identity.big_task_ids);
    }

    #[test]
    fn task_scripts_are_checked() {
        rejects("[task]\nsteps = []\n", 4, "steps must not be empty");
        rejects(
            "[task]\nsteps = [{ status = \"doing\", ms = 1, polls = 2 }]\n",
            4,
            "give exactly one",
        );
        rejects(
            "[task]\nsteps = [{ status = \"doing\" }]\n",
            4,
            "give exactly one",
        );
        rejects("[task]\nsteps = [\n  { status = \"doing\", polls = 1 },\n  { status = \"waiting\", polls = 0 },\n]\n", 6, "polls must be 1–");
        rejects("[task]\nsteps = [\n  { status = \"doing\", polls = 1 },\n  { status = \"waiting\", polls = 1 },\n]\n", 6, "only moves forward");
        rejects(
            "[task]\nsteps = [{ status = \"doing\", ms = -1 }]\n",
            4,
            "ms must be 0–",
        );
        rejects(
            "[task]\nsteps = [{ status = \"doing\", ms = 604800001 }]\n",
            4,
            "(7d), got 604800001",
        );
        rejects(
            "[task]\noutcome = \"done\"\n",
            4,
            "outcome must be \"success\", \"stuck\" or",
        );
        rejects("[task]\noutcome = 10001\n", 4, "outcome must be");
        rejects(
            "[task]\noutcome = { code = 9999 }\n",
            4,
            "10000–10007, got 9999",
        );
        rejects("[task]\noutcome = { code = 10008 }\n", 4, "got 10008");
        rejects(
            "[task]\noutcome = { message = \"x\" }\n",
            4,
            "missing key `code`",
        );
        rejects(
            "[task]\noutcome = { code = \"10001\" }\n",
            4,
            "must be an integer",
        );
        rejects(
            "[task]\noutcome = { code = 10001, message = 1 }\n",
            4,
            "must be a string",
        );
        rejects(
            "[task]\ncallback_early_ms = -1\n",
            4,
            "callback_early_ms must be 0–",
        );
        rejects(
            "[task]\noutcome = \"stuck\"\ncallback_early_ms = 5\n",
            5,
            "no effect on a stuck task",
        );
        let t = ok("[task]\nsteps = [{ status = \"waiting\", ms = 0 }]\noutcome = \"stuck\"\n")
            .task
            .unwrap();
        assert_eq!(t.outcome, ScriptOutcome::Stuck);
        assert_eq!(t.steps[0].end, StepEnd::Ms(0));
        let t = ok("[task]\ncallback_early_ms = 3000\n").task.unwrap();
        assert_eq!(
            (t.steps.len(), t.outcome, t.callback_early_ms),
            (0, ScriptOutcome::Success, 3000)
        );
        for code in 10000..=10007 {
            let t = ok(&format!("[task]\noutcome = {{ code = {code} }}\n"))
                .task
                .unwrap();
            assert_eq!(
                t.outcome,
                ScriptOutcome::Fail {
                    code,
                    message: None
                }
            );
        }
    }

    #[test]
    fn callbacks_are_checked() {
        rejects(
            "[callback]\nattempts = 0\n",
            4,
            "attempts must be 1–100, got 0",
        );
        rejects(
            "[callback]\nduplicates = 101\n",
            4,
            "duplicates must be 0–100",
        );
        rejects(
            "[callback]\nfail_attempts = -1\n",
            4,
            "fail_attempts must be 0–100",
        );
        rejects("[callback]\ntimeout_ms = 0\n", 4, "timeout_ms must be 1–");
        rejects("[callback]\ndelay_ms = -1\n", 4, "delay_ms must be 0–");
        rejects(
            "[callback]\njitter_ms = 604800001\n",
            4,
            "jitter_ms must be 0–604800000",
        );
        rejects(
            "[callback]\ndrop = true\nduplicates = 1\n",
            5,
            "`duplicates` has no effect with drop = true",
        );
        let c = ok("[callback]\ndrop = true\n").callback.unwrap();
        assert_eq!(
            c,
            CallbackBehaviour {
                drop: true,
                ..CallbackBehaviour::default()
            }
        );
    }

    #[test]
    fn rate_limits_are_checked() {
        let rl = |body: &str| format!("[[rate_limit]]\n{body}\n");
        rejects(
            &rl("endpoint = \"any\"\nlimit = 1\nwindow_ms = 1"),
            4,
            "not \"any\"",
        );
        rejects(
            &rl("endpoint = \"query\"\nlimit = 0\nwindow_ms = 1"),
            5,
            "limit must be 1–",
        );
        rejects(
            &rl("endpoint = \"query\"\nlimit = 1\nwindow_ms = 0"),
            6,
            "window_ms must be 1–",
        );
        rejects(
            &rl("endpoint = \"query\"\nlimit = 1\nwindow_ms = 1\ncode = 4020"),
            7,
            "`code` is for Coze",
        );
        rejects(
            &rl("endpoint = \"transcribe\"\nlimit = 1\nwindow_ms = 1\ncode = 4000"),
            7,
            "4020 (RPM exceeded) or 4009",
        );
        rejects(
            &rl("endpoint = \"query\"\nwindow_ms = 1"),
            3,
            "missing key `limit`",
        );
        let r = ok(&rl(
            "endpoint = \"transcribe\"\nlimit = 3\nwindow_ms = 60000\ncode = 4009",
        ));
        assert_eq!(r.rate_limits[0].code, Some(4009));
        let r = ok(&format!(
            "{}{}",
            rl("endpoint = \"submit\"\nlimit = 3\nwindow_ms = 1000"),
            rl("endpoint = \"submit\"\nlimit = 100\nwindow_ms = 60000")
        ));
        assert_eq!(r.rate_limits.len(), 2);
        assert_eq!(r.rate_limits[0].code, None);
    }

    #[test]
    fn identity_values_are_exact() {
        rejects(
            "[identity]\ntask_ids = \"big\"\n",
            4,
            "task_ids must be \"above-2^53\"",
        );
        rejects(
            "[identity]\ncoze_no_speech = \"500\"\n",
            4,
            "coze_no_speech must be \"5000\"",
        );
        rejects(
            "[identity]\ncoze_no_speech = 5000\n",
            4,
            "expected a string",
        );
    }

    #[test]
    fn files_are_bounded() {
        let many: String = (0..=MAX_FAULTS)
            .map(|_| "[[fault]]\naction = \"reset\"\n")
            .collect();
        let e = err(&many);
        assert!(e.reason.contains("at most 64 [[fault]]"), "{e}");
        assert_eq!(e.line, Some(3 + 2 * MAX_FAULTS));
        let steps: String = (0..=MAX_STEPS)
            .map(|_| "{ status = \"doing\", polls = 1 },")
            .collect();
        rejects(
            &format!("[task]\nsteps = [{steps}]\n"),
            4,
            "at most 64 steps",
        );
    }

    #[test]
    fn faults_are_numbered_labelled_and_summarised() {
        let s = ok("[[fault]]\nendpoint = \"query\"\non = { fraction = 0.2 }\naction = \"status\"\nstatus = 502\n\
                    [[fault]]\nendpoint = \"submit\"\non = { first = 1 }\naction = \"reset\"\nlatency_ms = 1500\n");
        assert_eq!(s.faults[0].index, 1);
        assert_eq!(s.faults[1].index, 2);
        assert_eq!(s.faults[0].label("flaky"), "flaky#1 status 502");
        assert_eq!(describe_action(&s.faults[1].action), "reset");
        assert_eq!(
            s.summary(),
            "query 20% → status 502; submit first 1 → 1500ms then reset"
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["faults"][0]["action"], "status");
        assert_eq!(json["faults"][0]["on"]["fraction"], 0.2);
        assert_eq!(json["source"]["file"], "t.toml");
        let m = ok(&format!(
            "[match]\naudio_sha256 = \"{}\"\n[task]\nsteps = [{{ status = \"waiting\", ms = 600000 }}, {{ status = \"doing\", polls = 3 }}]\noutcome = {{ code = 10001 }}\ncallback_early_ms = 2000\n",
            "ab".repeat(32)
        ));
        assert_eq!(
            serde_json::to_value(&m).unwrap()["match"]["audio_sha256"],
            "ab".repeat(32)
        );
        assert_eq!(
            m.summary(),
            "task waiting 10min → doing 3 polls → fail 10001 → callback 2s before polls show the end; \
             auto: audio_sha256=abababab…"
        );
    }

    #[test]
    fn no_input_panics() {
        // Odd and hostile inputs must come back as errors, never as panics.
        for text in [
            "\u{feff}name = \"a\"",
            "name = \"é\"\n\u{0}",
            "[[fault]]\n[[fault]]\n[[fault]]",
            "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"status\"\nstatus = 9223372036854775807\n",
            "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"garbage\"\nbytes = -9223372036854775808\n",
            "name = \"a\"\ndescription = \"d\"\n[task]\nsteps = [{ status = \"doing\", polls = 4294967296 }]\n",
            "name = \"a\"\ndescription = \"d\"\n[[rate_limit]]\nendpoint = \"query\"\nlimit = 4294967296\nwindow_ms = 1\n",
            "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"reset\"\non = { fraction = -inf }\n",
            "name = \"语音\"\n",
            "a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        ] {
            assert!(parse_file(text).is_err(), "{text:?}");
        }
    }
}
