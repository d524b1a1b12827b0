//! What happens to a task's audio: examined for real (container, duration, channels), failed
//! with the provider's code when a real condition says so, otherwise "recognised" with the
//! shared transcript engine into a [`Recipe`] the result is rendered from.

use std::sync::Arc;

use rand::Rng;

use super::params::SubmitParams;
use super::recipe::{self, Generation, Recipe};
use super::replay;
use super::result::Rendered;
use crate::audio::{self, ProbeError, ProbeOptions};
use crate::failure::FailureCode;
use crate::providers::icu::tasks::{Outcome, Plan, SubmitOptions};
use crate::transcript::{FixtureStore, GenerateInput};

/// The timing and limits of recognition.
#[derive(Debug, Clone)]
pub struct RecognizeSettings {
    /// Queue delay range in ms, drawn per task from the seed.
    pub queue_delay_ms: (u64, u64),
    /// Recognition speed as a multiple of real time: "doing" lasts duration / speed
    /// (Tencent: 1 h of audio takes 1–3 min, so 30 by default).
    pub speed: f64,
    /// Shortest audio recognised (10002 below it).
    pub min_duration_ms: u64,
    /// Longest audio recognised (10003 above it): 5 h.
    pub max_duration_ms: u64,
    /// How uploads are probed.
    pub probe: ProbeOptions,
}

impl Default for RecognizeSettings {
    fn default() -> Self {
        RecognizeSettings {
            queue_delay_ms: (500, 3000),
            speed: 30.0,
            min_duration_ms: 1000,
            max_duration_ms: 5 * 3600 * 1000,
            probe: ProbeOptions::default(),
        }
    }
}

/// What examining an upload gave.
#[derive(Debug)]
pub struct Examined {
    /// The task's outcome.
    pub outcome: Outcome,
    /// The generated result as examination rendered it, so the first polls find it ready.
    pub rendered: Option<Arc<Rendered>>,
    /// Whether a registered fixture gave the text: the outcome then depends on the fixture
    /// store as well as on the upload, and is not reused for another upload.
    pub from_fixture: bool,
}

/// Examines `bytes` (whose SHA-256 is `audio_sha256`) for a task and decides its outcome.
pub fn examine(
    seed: u64,
    fixtures: &FixtureStore,
    settings: &RecognizeSettings,
    params: &SubmitParams,
    bytes: &[u8],
    audio_sha256: &[u8; 32],
    filename: Option<&str>,
) -> Examined {
    let failed = |code: FailureCode, message: String, duration_ms: Option<u64>| Examined {
        outcome: Outcome::Failed {
            code,
            message,
            duration_ms,
        },
        rendered: None,
        from_fixture: false,
    };
    let info = match audio::probe(bytes, filename, &settings.probe) {
        Ok(info) => info,
        Err(ProbeError::Unrecognized) => {
            return failed(
                FailureCode::TranscodeFailed,
                "Audio transcoding failed: the data is not in a supported audio format".into(),
                None,
            )
        }
        Err(ProbeError::Empty) => {
            return failed(
                FailureCode::InvalidAudio,
                "Invalid audio file: the file is empty".into(),
                None,
            )
        }
        Err(err @ ProbeError::Corrupt { .. }) => {
            return failed(
                FailureCode::InvalidAudio,
                format!("Invalid audio file: {err}"),
                None,
            )
        }
    };
    let duration = Some(info.duration_ms);
    if info.duration_ms == 0 {
        return failed(
            FailureCode::InvalidAudio,
            "Invalid audio file: it holds no audio samples".into(),
            duration,
        );
    }
    if info.duration_ms > settings.max_duration_ms {
        return failed(
            FailureCode::TooLong,
            format!(
                "Audio is too long: {:.1} hours, the limit is {:.1} hours",
                info.duration_ms as f64 / 3_600_000.0,
                settings.max_duration_ms as f64 / 3_600_000.0
            ),
            duration,
        );
    }
    if info.duration_ms < settings.min_duration_ms {
        return failed(
            FailureCode::TooShort,
            format!(
                "Audio is too short: {} ms, at least {} ms of audio is needed",
                info.duration_ms, settings.min_duration_ms
            ),
            duration,
        );
    }
    if params.channel_num == 2 && info.channels != 2 {
        return failed(
            FailureCode::TrackMismatch,
            format!(
                "Track count mismatch: ChannelNum is 2 but the audio has {} channel(s)",
                info.channels
            ),
            duration,
        );
    }
    let options = submit_options(params);
    let success = |recipe| Outcome::Success {
        recipe,
        duration_ms: info.duration_ms,
    };
    if let Some(fixture) = fixtures.get(audio_sha256) {
        let r = match &fixture.icu {
            // A recorded icu answer: exact for its settings, shaped from its words otherwise.
            Some(recording) => replay::replay(
                recording,
                seed,
                audio_sha256,
                params.engine,
                params.res_text_format,
                &options,
            ),
            None => {
                let input = GenerateInput {
                    seed,
                    audio_sha256: *audio_sha256,
                    language: params.engine.language(),
                    duration_ms: info.duration_ms,
                    voiced: info.voiced.as_deref(),
                };
                recipe::shape(
                    &fixture.transcript(&input),
                    seed,
                    audio_sha256,
                    params.engine,
                    params.res_text_format,
                    &options,
                )
            }
        };
        return Examined {
            outcome: success(Recipe::rendered(r.result, r.detail)),
            rendered: None,
            from_fixture: true,
        };
    }
    let generation = Generation {
        seed,
        audio_sha256: *audio_sha256,
        duration_ms: info.duration_ms,
        voiced: info.voiced.map(Vec::into_boxed_slice),
        engine: params.engine,
        res_text_format: params.res_text_format,
        options,
    };
    let rendered = generation.render();
    if rendered.result.is_empty() && rendered.detail.is_empty() {
        return Examined {
            outcome: success(Recipe::rendered(String::new(), Vec::new())),
            rendered: None,
            from_fixture: false,
        };
    }
    Examined {
        outcome: success(Arc::new(Recipe::Generated(generation))),
        rendered: Some(Arc::new(rendered)),
        from_fixture: false,
    }
}

/// The submit options a task keeps (and that its result depends on).
pub fn submit_options(params: &SubmitParams) -> SubmitOptions {
    SubmitOptions {
        channel_num: params.channel_num,
        speaker_diarization: params.speaker_diarization,
        speaker_number: params.speaker_number,
        filter_dirty: params.filter_dirty,
        filter_modal: params.filter_modal,
        convert_num_mode: params.convert_num_mode,
        filter_punc: params.filter_punc,
    }
}

/// The queue delay of a task, from (seed, TaskId).
pub fn queue_delay_ms(seed: u64, task_id: u64, settings: &RecognizeSettings) -> i64 {
    let (lo, hi) = settings.queue_delay_ms;
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let mut rng = crate::rng::derive(seed, "icu-queue-delay", &task_id.to_le_bytes());
    rng.gen_range(lo..=hi) as i64
}

/// When a task whose audio was ready at `ready_ms` starts and ends. Failures found by
/// examination end as soon as the task would start; a download failure goes straight from
/// `waiting` to `failed`.
pub fn plan(
    seed: u64,
    task_id: u64,
    outcome: Outcome,
    queue_until_ms: i64,
    ready_ms: i64,
    download_failed: bool,
    settings: &RecognizeSettings,
) -> Plan {
    let start = queue_until_ms.max(ready_ms);
    if download_failed {
        return Plan {
            doing_at_ms: start,
            done_at_ms: start,
            outcome,
        };
    }
    let processing = match &outcome {
        Outcome::Success { duration_ms, .. } => {
            let mut rng = crate::rng::derive(seed, "icu-processing", &task_id.to_le_bytes());
            let jitter: f64 = rng.gen_range(0.8..1.2);
            let speed = if settings.speed.is_finite() && settings.speed > 0.0 {
                settings.speed
            } else {
                30.0
            };
            ((*duration_ms as f64 / speed * jitter) as i64).max(500)
        }
        Outcome::Failed { .. } => 200,
    };
    Plan {
        doing_at_ms: queue_until_ms,
        done_at_ms: start.saturating_add(processing),
        outcome,
    }
}
