//! The validated scenario: what a file becomes once [`parse`](super::parse()) has accepted it.
//! It keeps no spans and cannot hold an invalid value; the bounds below say what valid means.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};

use crate::engine::Engine;
use crate::failure::FailureCode;

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

pub use crate::routes::{Endpoint, Provider};

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
    pub engine: Option<Engine>,
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
        code: FailureCode,
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

/// `[stream]`: how Coze streaming-recognition connections under the scenario misbehave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamBehaviour {
    /// An `error` event with this code (and `error_message`) instead of
    /// `transcriptions.created`, then a close.
    pub error_code: Option<i64>,
    /// The message of that `error` (default: Coze's wording for an internal error).
    pub error_message: Option<String>,
    /// Drop the connection (no close frame) right after the Nth `transcriptions.message.update`.
    pub drop_after_updates: Option<u32>,
    /// Every `transcriptions.message.update` comes this much later on the clock.
    pub update_delay_ms: u64,
    /// The answer to `input_audio_buffer.complete` (`completed`, the final update,
    /// `message.completed`) waits this long on the clock.
    pub completed_delay_ms: u64,
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
    /// `[stream]`.
    pub stream: Option<StreamBehaviour>,
}
impl Scenario {
    /// The provider this scenario is limited to by its `[match]`, if any.
    pub fn provider(&self) -> Option<Provider> {
        self.matcher.as_ref().and_then(Match::implied_provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
            Endpoint::for_path(crate::routes::COZE_TRANSCRIBE),
            Some(Endpoint::Transcribe)
        );
        assert_eq!(
            Endpoint::for_path(crate::routes::ICU_SUBMIT),
            Some(Endpoint::Submit)
        );
        assert_eq!(
            Endpoint::for_path(crate::routes::ICU_QUERY),
            Some(Endpoint::Query)
        );
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
}
