//! Provider B's operations, free of HTTP: submit a task, examine its audio, resume an
//! interrupted download, and answer a poll. The handlers, persistence and the benchmark all
//! go through these, so a task is made one way only.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::auth::Secrets;
use super::error::{IcuError, IcuErrorKind};
use super::params::{Source, SubmitParams};
use super::recipe::{Lru, Recipe};
use super::recognize::{self, RecognizeSettings};
use super::tasks::{
    Durable, Outcome, Plan, Scripted, SubmitOptions, Task, TaskEngine, TaskSpec, TaskView,
};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::failure::FailureCode;
use crate::outbound::download::Downloader;
use crate::ratelimit::RateLimiter;
use crate::scenarios::Scenario;
use crate::transcript::FixtureStore;

/// Most examinations remembered.
const EXAMINED_ENTRIES: usize = 1024;
/// Most bytes of remembered examinations (speech spans and failure messages).
const EXAMINED_BYTES: usize = 4 << 20;

/// Provider B: its parts (read through it, `icu.tasks`), and the state its operations
/// keep for themselves.
#[derive(Debug)]
pub struct IcuService {
    /// What the composition root hands over.
    parts: IcuParts,
    /// Ordinal of the next TaskId draw, so ids come from (seed, ordinal).
    ordinal: AtomicU64,
    /// TaskIds drawn by submits still on their way into the store (examining, or being
    /// recorded), so two submits never share one.
    in_flight: Arc<Mutex<HashSet<u64>>>,
    /// Outcomes of recent examinations: the same upload with the same options gets the same
    /// outcome and shares its recipe, without probing and generating again (load tests
    /// send one file many times).
    examined: Lru<ExamKey, Outcome>,
}

/// What an examination's outcome depends on besides the service's fixed seed and settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ExamKey {
    audio_sha256: [u8; 32],
    engine: Engine,
    res_text_format: u8,
    options: SubmitOptions,
    /// A Url's last segment: headerless `.pcm`/`.raw` audio is known by it.
    filename: Option<String>,
}

/// What provider B needs: tasks, downloads, rate limits, recognition settings.
#[derive(Debug)]
pub struct IcuParts {
    /// Root of TaskIds, queue delays and transcripts.
    pub seed: u64,
    /// The one clock.
    pub clock: Clock,
    /// Transcripts registered by audio hash (shared with provider A).
    pub fixtures: Arc<FixtureStore>,
    /// Tasks, their scheduler and their callbacks.
    pub tasks: TaskEngine,
    /// Fetches the audio of Url tasks.
    pub downloader: Downloader,
    /// Submit requests per second (20 by default).
    pub submit_limit: RateLimiter,
    /// Query requests per second (50 by default).
    pub query_limit: RateLimiter,
    /// Timing and limits of recognition.
    pub recognize: RecognizeSettings,
    /// Strict mode: the secrets signatures are checked against (`None`: anyone may call).
    pub secrets: Option<Secrets>,
    /// Where accepted tasks are recorded before their submit is answered (`--state-file`);
    /// `None`: they go straight into `tasks`.
    pub durable: Option<Arc<dyn Durable>>,
}

impl std::ops::Deref for IcuService {
    type Target = IcuParts;
    fn deref(&self) -> &IcuParts {
        &self.parts
    }
}

impl IcuService {
    /// Provider B over these parts.
    pub fn new(parts: IcuParts) -> Self {
        IcuService {
            parts,
            ordinal: AtomicU64::new(0),
            in_flight: Arc::default(),
            examined: Lru::new(EXAMINED_ENTRIES, EXAMINED_BYTES),
        }
    }

    /// The ordinal the next TaskId draw will use (for saving).
    pub fn ordinal(&self) -> u64 {
        self.ordinal.load(Ordering::Relaxed)
    }

    /// Continues TaskId draws from a saved ordinal, so ids do not repeat after a restart.
    pub fn set_ordinal(&self, ordinal: u64) {
        self.ordinal.store(ordinal, Ordering::Relaxed);
    }

    /// Forgets tasks, callbacks' journal, rate windows and ordinals.
    pub fn reset(&self) {
        self.tasks.clear();
        self.tasks.callbacks().clear();
        self.submit_limit.clear();
        self.query_limit.clear();
        self.ordinal.store(0, Ordering::Relaxed);
    }

    /// Takes a submit out of the submit window, or refuses it as the provider does.
    pub fn admit_submit(&self) -> Result<(), IcuError> {
        admit(&self.submit_limit, &self.clock, "submit")
    }

    /// Takes a query out of the query window, or refuses it as the provider does.
    pub fn admit_query(&self) -> Result<(), IcuError> {
        admit(&self.query_limit, &self.clock, "query")
    }

    /// Accepts a task: draws its TaskId, attaches the first scenario that scripts a path or
    /// callbacks, and examines inline audio before answering (so what a poll sees is
    /// repeatable) or downloads a Url in the background, as the provider does. With
    /// persistence the task is recorded durably before the TaskId is returned: a client
    /// never holds an id that a crash could lose. `audio_sha256` is the SHA-256 of inline
    /// `Data` when the caller has already taken it (the handler does, for the scenario
    /// facts); a Url's audio is hashed once downloaded.
    pub async fn submit(
        self: &Arc<Self>,
        params: SubmitParams,
        audio_sha256: Option<[u8; 32]>,
        scenarios: &[Arc<Scenario>],
    ) -> Result<u64, IcuError> {
        let now = self.clock.now_ms();
        let big_ids = scenarios.iter().any(|s| s.identity.big_task_ids);
        let reserved = self.next_task_id(big_ids);
        let task_id = reserved.id;
        let queue_until = now + recognize::queue_delay_ms(self.seed, task_id, &self.recognize);
        let audio_url = match &params.source {
            Source::Url(url) => Some(url.clone()),
            Source::Data(_) => None,
        };
        let spec = TaskSpec {
            engine: params.engine,
            res_text_format: params.res_text_format,
            audio_url: audio_url.clone(),
            callback_url: params.callback_url.clone(),
            options: recognize::submit_options(&params),
        };
        let mut task = Task::new(task_id, now, spec, queue_until);
        task.script = scenarios.iter().find_map(|s| {
            let path = s.task.clone()?;
            Some(Box::new(Scripted::new(s.name.clone(), Arc::new(path), now)))
        });
        task.callback_behaviour = scenarios.iter().find_map(|s| {
            let behaviour = s.callback.clone()?;
            Some(Box::new((s.name.clone(), Arc::new(behaviour))))
        });
        let download = match audio_url {
            None => {
                let sha = audio_sha256.unwrap_or_else(|| match &params.source {
                    Source::Data(bytes) => Sha256::digest(bytes).into(),
                    Source::Url(_) => [0; 32],
                });
                let outcome = self.examine(params, sha, None).await;
                task.plan = Some(self.plan(task_id, outcome, queue_until, now, false));
                None
            }
            Some(url) => Some((url, params)),
        };
        self.accept(task, download, reserved).await?;
        Ok(task_id)
    }

    /// Stores an accepted task (durably first, when persistence is on) and starts its
    /// download. Once the durable record is under way the rest runs to its end even if the
    /// client goes away: a recorded task is never left without its download.
    async fn accept(
        self: &Arc<Self>,
        task: Task,
        download: Option<(String, SubmitParams)>,
        reserved: Reserved,
    ) -> Result<(), IcuError> {
        let (task_id, queue_until) = (task.id, task.queue_until_ms);
        let Some(durable) = self.durable.clone() else {
            self.tasks.insert(task);
            drop(reserved);
            if let Some((url, params)) = download {
                self.spawn_download(task_id, queue_until, url, params);
            }
            return Ok(());
        };
        let recorded = durable.accept(task, self.ordinal());
        let service = Arc::clone(self);
        let finish = tokio::spawn(async move {
            let recorded = recorded.await;
            drop(reserved);
            if recorded.is_ok() {
                if let Some((url, params)) = download {
                    service.spawn_download(task_id, queue_until, url, params);
                }
            }
            recorded
        });
        let recorded = finish
            .await
            .unwrap_or_else(|e| Err(format!("the submit was interrupted: {e}")));
        recorded.map_err(|reason| {
            tracing::error!(task_id, %reason, "task not accepted: it could not be stored");
            IcuError::new(
                IcuErrorKind::InternalError,
                format!("the task could not be stored durably, so it was not accepted: {reason}"),
            )
        })
    }

    fn spawn_download(
        self: &Arc<Self>,
        task_id: u64,
        queue_until: i64,
        url: String,
        params: SubmitParams,
    ) {
        let service = Arc::clone(self);
        tokio::spawn(async move {
            service
                .fetch_and_examine(task_id, queue_until, url, params)
                .await
        });
    }

    /// Restarts the download of a restored Url task whose fetch a restart interrupted, with
    /// the options it was submitted with. False when the task has no Url.
    pub fn resume(self: &Arc<Self>, task: &Task) -> bool {
        let Some(url) = task.spec.audio_url.clone() else {
            return false;
        };
        let engine = task.spec.engine;
        let o = task.spec.options;
        let params = SubmitParams {
            engine,
            channel_num: o.channel_num,
            res_text_format: task.spec.res_text_format,
            source: Source::Url(url.clone()),
            speaker_diarization: o.speaker_diarization,
            speaker_number: o.speaker_number,
            callback_url: task.spec.callback_url.clone(),
            filter_dirty: o.filter_dirty,
            filter_modal: o.filter_modal,
            convert_num_mode: o.convert_num_mode,
            filter_punc: o.filter_punc,
        };
        self.spawn_download(task.id, task.queue_until_ms, url, params);
        true
    }

    /// What a poll of `task_id` shows (`NoSuchTask` when there is none).
    pub fn query(&self, task_id: u64) -> Result<TaskView, IcuError> {
        self.tasks
            .poll(task_id)
            .ok_or_else(|| IcuError::no_such_task(Some(&task_id.to_string())))
    }

    async fn fetch_and_examine(
        self: Arc<Self>,
        task_id: u64,
        queue_until: i64,
        url: String,
        params: SubmitParams,
    ) {
        let fetched = self.downloader.fetch(&url).await;
        let ready = self.clock.now_ms();
        // The download keeps its slot until examined, so few fetched files are in memory.
        let bytes = match fetched {
            Ok(mut downloaded) => downloaded.take_bytes().await.map(|b| (b, downloaded)),
            Err(err) => Err(err),
        };
        let (outcome, download_failed) = match bytes {
            Ok((bytes, downloaded)) => {
                let params = SubmitParams {
                    source: Source::Data(bytes),
                    ..params
                };
                let sha = downloaded.sha256();
                let outcome = self.examine(params, sha, url_filename(&url)).await;
                drop(downloaded);
                (outcome, false)
            }
            Err(err) => (
                Outcome::Failed {
                    code: FailureCode::DownloadFailed,
                    message: err.to_string(),
                    duration_ms: None,
                },
                true,
            ),
        };
        self.settle(task_id, outcome, queue_until, ready, download_failed);
    }

    /// Plans the timeline of a stored task from its outcome.
    fn settle(&self, task_id: u64, outcome: Outcome, queue_until: i64, ready: i64, failed: bool) {
        let plan = self.plan(task_id, outcome, queue_until, ready, failed);
        self.tasks.set_plan(task_id, plan);
    }

    /// A task's timeline from its outcome.
    fn plan(
        &self,
        task_id: u64,
        outcome: Outcome,
        queue_until: i64,
        ready: i64,
        failed: bool,
    ) -> Plan {
        recognize::plan(
            self.seed,
            task_id,
            outcome,
            queue_until,
            ready,
            failed,
            &self.recognize,
        )
    }

    /// Takes the outcome of the same upload examined before, or examines the audio off the
    /// async workers (probing decodes it). A result rendered while examining is kept for
    /// the polls to come.
    pub async fn examine(
        &self,
        params: SubmitParams,
        audio_sha256: [u8; 32],
        filename: Option<String>,
    ) -> Outcome {
        let key = ExamKey {
            audio_sha256,
            engine: params.engine,
            res_text_format: params.res_text_format,
            options: recognize::submit_options(&params),
            filename,
        };
        // A fixture registered since would change the text: such audio is examined anew.
        let fixed = self.fixtures.get(&key.audio_sha256).is_some();
        if let Some(outcome) = self.examined.get(&key).filter(|_| !fixed) {
            return outcome;
        }
        let seed = self.seed;
        let fixtures = self.fixtures.clone();
        let settings = self.recognize.clone();
        let examined = tokio::task::spawn_blocking(move || {
            let bytes = match &params.source {
                Source::Data(bytes) => bytes.as_slice(),
                Source::Url(_) => &[],
            };
            let found = recognize::examine(
                seed,
                &fixtures,
                &settings,
                &params,
                bytes,
                &key.audio_sha256,
                key.filename.as_deref(),
            );
            (key, found)
        })
        .await;
        let Ok((key, found)) = examined else {
            return Outcome::Failed {
                code: FailureCode::Other,
                message: "Recognition failed: internal error while examining the audio".into(),
                duration_ms: None,
            };
        };
        if let (Some(rendered), Some(Recipe::Generated(g))) =
            (found.rendered, found.outcome.recipe().map(|r| &**r))
        {
            self.tasks.renders().keep(g, rendered);
        }
        if !found.from_fixture {
            let bytes = size_of::<ExamKey>()
                + key.filename.as_ref().map_or(0, String::len)
                + match &found.outcome {
                    Outcome::Success { recipe, .. } => size_of::<Recipe>() + recipe.heap_bytes(),
                    Outcome::Failed { message, .. } => message.len(),
                };
            self.examined.insert(key, found.outcome.clone(), bytes);
        }
        found.outcome
    }

    /// A uint64 TaskId of realistic size (10–11 digits, like `4000048858` and
    /// `14149671390`), or above 2^53 under a `huge-task-ids` scenario; drawn from (seed,
    /// submit ordinal), redrawn in the rare case it is taken by a kept task or by a submit
    /// still on its way into the store.
    fn next_task_id(&self, big: bool) -> Reserved {
        let range = if big {
            (1u64 << 53) + 1..1u64 << 63
        } else {
            1_000_000_000u64..20_000_000_000u64
        };
        loop {
            let ordinal = self.ordinal.fetch_add(1, Ordering::Relaxed);
            let mut rng = crate::rng::derive(self.seed, "icu-task-id", &ordinal.to_le_bytes());
            let id = rng.gen_range(range.clone());
            if !self.tasks.contains(id) && self.in_flight.lock().insert(id) {
                return Reserved {
                    id,
                    in_flight: Arc::clone(&self.in_flight),
                };
            }
        }
    }
}

/// A TaskId drawn for a submit not yet in the store; dropping it frees the id.
#[derive(Debug)]
struct Reserved {
    id: u64,
    in_flight: Arc<Mutex<HashSet<u64>>>,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

fn admit(limit: &RateLimiter, clock: &Clock, what: &str) -> Result<(), IcuError> {
    if limit.try_acquire(clock.now_ms()) {
        return Ok(());
    }
    Err(IcuError::new(
        IcuErrorKind::RequestLimitExceeded,
        format!(
            "too many {what} requests: the limit is {} per second",
            limit.limit()
        ),
    ))
}

/// The last path segment of a Url, for headerless `.pcm`/`.raw` audio named by extension.
fn url_filename(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed
        .path_segments()?
        .next_back()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::synth::wav_8bit;
    use crate::transcript::Fixture;

    fn params(wav: Vec<u8>) -> SubmitParams {
        SubmitParams::defaults(Engine::Zh8k, Source::Data(wav), 0)
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    #[tokio::test]
    async fn the_same_upload_shares_one_recipe_until_a_fixture_says_otherwise() {
        let state = crate::build_state(&crate::Config::default()).unwrap();
        let icu = &state.icu;
        let wav = wav_8bit(8000, 1, 8000 * 10, true);
        let a = icu.examine(params(wav.clone()), sha(&wav), None).await;
        let b = icu.examine(params(wav.clone()), sha(&wav), None).await;
        let recipe = a.recipe().unwrap();
        assert!(Arc::ptr_eq(recipe, b.recipe().unwrap()));
        let other = SubmitParams {
            res_text_format: 2,
            ..params(wav.clone())
        };
        let c = icu.examine(other, sha(&wav), None).await;
        assert!(!Arc::ptr_eq(recipe, c.recipe().unwrap()));
        let named = icu
            .examine(params(wav.clone()), sha(&wav), Some("a.wav".into()))
            .await;
        assert!(!Arc::ptr_eq(recipe, named.recipe().unwrap()));
        assert_eq!(named, a, "another name, the same outcome");

        // A fixture registered since wins over what was remembered.
        let fixture = Fixture {
            text: "喂，你好。".into(),
            sentences: None,
            icu: None,
        };
        state
            .fixtures
            .register(Sha256::digest(&wav).into(), fixture)
            .unwrap();
        let fixed = icu.examine(params(wav.clone()), sha(&wav), None).await;
        let text = fixed.recipe().unwrap().render().result.clone();
        assert!(text.contains("喂，你好。"), "{text}");
        assert!(!a.recipe().unwrap().render().result.contains("喂，你好。"));
    }
}
