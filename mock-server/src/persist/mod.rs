//! Crash-safe persistence (`--state-file PATH`): icu tasks, the request and callback
//! journals, the id ordinals and the simulated clock survive a restart, so a client polling
//! a long task never sees it vanish because the simulator was redeployed or killed.
//!
//! The file is one JSON document with a `version`. Saves are atomic (write `PATH.tmp`,
//! fsync, rename), so a crash mid-save leaves the previous file whole. A saver wakes every
//! second of real time and writes only when a change counter moved; snapshots are clones
//! taken under the stores' locks, and serialising and writing run on `spawn_blocking`, so
//! request handling waits only for the clone. The file holds what the bounded stores hold,
//! no more.

pub(crate) mod handle;

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::failure::FailureCode;
use crate::outbound::callbacks::{CallbackAttempt, SHUTDOWN_UNSENT};
use crate::providers::icu::recipe::Recipe;
use crate::providers::icu::tasks::{
    Outcome, Plan, Scripted, Status, SubmitOptions, Task, TaskSpec,
};
use crate::scenarios::library::Library;
use crate::state::AppState;
use crate::stores::journal::RequestEntry;
pub use handle::Persist;
use handle::{Fingerprint, Resume};

/// The format this build writes and reads; a file with another version is refused.
/// Version 2: results are saved as recipes, each once, instead of their rendered text.
pub const FORMAT_VERSION: u32 = 2;

/// How often the saver looks for changes, in real time.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// What a save wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    /// The state file.
    pub path: String,
    /// Tasks written.
    pub tasks: usize,
    /// Request journal entries written.
    pub requests: usize,
    /// Callback attempts written.
    pub callback_attempts: usize,
    /// Size of the file.
    pub bytes: u64,
}

/// Why a save failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The simulator runs without `--state-file`.
    #[error("no state file configured (start the simulator with --state-file PATH)")]
    NotConfigured,
    /// Writing failed.
    #[error("cannot write state file {path}: {reason}")]
    Write {
        /// The state file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The file: everything needed to continue where the last run stopped.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    /// Simulated time at the save, ms since the Unix epoch.
    now_ms: i64,
    /// The seed of the run that wrote it (informational: ids and logids derive from it).
    seed: u64,
    /// Next TaskId draw ordinal.
    task_ordinal: u64,
    /// Next logid ordinal.
    logid_ordinal: u64,
    /// Last request journal sequence number.
    journal_seq: u64,
    requests: Vec<RequestEntry>,
    callback_attempts: Vec<CallbackAttempt>,
    /// What successful tasks' results are rendered from, each once however many tasks
    /// share it (tasks name them by index).
    recipes: Vec<Arc<Recipe>>,
    /// Oldest first.
    tasks: Vec<TaskRecord>,
}

/// Only the version, read first so another format gets a clear refusal.
#[derive(Debug, Deserialize)]
struct Header {
    version: Option<u32>,
}

/// A task as saved: scripts and callback behaviours are kept by scenario name and looked up
/// again in the scenario library when loading.
#[derive(Debug, Serialize, Deserialize)]
struct TaskRecord {
    id: u64,
    created_ms: i64,
    engine: String,
    res_text_format: u8,
    audio_url: Option<String>,
    callback_url: Option<String>,
    options: SubmitOptions,
    queue_until_ms: i64,
    plan: Option<PlanRecord>,
    polls: u32,
    shown: Status,
    finished_ms: Option<i64>,
    callback_sent: bool,
    script: Option<ScriptRecord>,
    callback_scenario: Option<String>,
}

/// A task's plan, its recipe named by index into [`StateFile::recipes`].
#[derive(Debug, Serialize, Deserialize)]
struct PlanRecord {
    doing_at_ms: i64,
    done_at_ms: i64,
    outcome: OutcomeRecord,
}

/// An outcome as saved.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
enum OutcomeRecord {
    Success {
        recipe: usize,
        duration_ms: u64,
    },
    Failed {
        code: FailureCode,
        message: String,
        duration_ms: Option<u64>,
    },
}

/// The recipes of the tasks being saved, each once: tasks sharing one recipe keep sharing
/// it after a restart.
#[derive(Debug, Default)]
struct RecipeTable {
    recipes: Vec<Arc<Recipe>>,
    /// By address: every recipe here is kept alive by `recipes`, so no address is reused.
    index: std::collections::HashMap<*const Recipe, usize>,
}

impl RecipeTable {
    fn plan(&mut self, plan: Plan) -> PlanRecord {
        let outcome = match plan.outcome {
            Outcome::Success {
                recipe,
                duration_ms,
            } => {
                let next = self.recipes.len();
                let index = *self.index.entry(Arc::as_ptr(&recipe)).or_insert(next);
                if index == next {
                    self.recipes.push(recipe);
                }
                OutcomeRecord::Success {
                    recipe: index,
                    duration_ms,
                }
            }
            Outcome::Failed {
                code,
                message,
                duration_ms,
            } => OutcomeRecord::Failed {
                code,
                message,
                duration_ms,
            },
        };
        PlanRecord {
            doing_at_ms: plan.doing_at_ms,
            done_at_ms: plan.done_at_ms,
            outcome,
        }
    }
}

impl PlanRecord {
    /// The plan again; `Err` for a recipe index the file does not hold.
    fn into_plan(self, recipes: &[Arc<Recipe>]) -> Result<Plan, String> {
        let outcome = match self.outcome {
            OutcomeRecord::Success {
                recipe,
                duration_ms,
            } => Outcome::Success {
                recipe: recipes.get(recipe).cloned().ok_or_else(|| {
                    format!("recipe {recipe} is not among the {} saved", recipes.len())
                })?,
                duration_ms,
            },
            OutcomeRecord::Failed {
                code,
                message,
                duration_ms,
            } => Outcome::Failed {
                code,
                message,
                duration_ms,
            },
        };
        Ok(Plan {
            doing_at_ms: self.doing_at_ms,
            done_at_ms: self.done_at_ms,
            outcome,
        })
    }
}

/// How far along its scenario's path a task is.
#[derive(Debug, Serialize, Deserialize)]
struct ScriptRecord {
    scenario: String,
    step: usize,
    step_started_ms: i64,
    step_polls: u32,
}

impl TaskRecord {
    fn from_task(t: Task, recipes: &mut RecipeTable) -> Self {
        TaskRecord {
            id: t.id,
            created_ms: t.created_ms,
            engine: t.spec.engine.code().to_owned(),
            res_text_format: t.spec.res_text_format,
            audio_url: t.spec.audio_url,
            callback_url: t.spec.callback_url,
            options: t.spec.options,
            queue_until_ms: t.queue_until_ms,
            plan: t.plan.map(|p| recipes.plan(p)),
            polls: t.polls,
            shown: t.shown,
            finished_ms: t.finished_ms,
            callback_sent: t.callback_sent,
            script: t.script.map(|s| ScriptRecord {
                scenario: s.scenario,
                step: s.step,
                step_started_ms: s.step_started_ms,
                step_polls: s.step_polls,
            }),
            callback_scenario: t.callback_behaviour.map(|b| b.0),
        }
    }

    /// The task again; `Err` for an engine this build does not know.
    fn into_task(self, library: &Library, recipes: &[Arc<Recipe>]) -> Result<Task, String> {
        let engine = Engine::from_code(&self.engine)
            .ok_or_else(|| format!("task {} has an unknown engine {:?}", self.id, self.engine))?;
        let spec = TaskSpec {
            engine,
            res_text_format: self.res_text_format,
            audio_url: self.audio_url,
            callback_url: self.callback_url,
            options: self.options,
        };
        let mut task = Task::new(self.id, self.created_ms, spec, self.queue_until_ms);
        task.plan = self
            .plan
            .map(|p| p.into_plan(recipes))
            .transpose()
            .map_err(|e| format!("task {}: {e}", self.id))?;
        task.polls = self.polls;
        task.shown = self.shown;
        task.finished_ms = self.finished_ms;
        task.callback_sent = self.callback_sent;
        // A scenario no longer in the library takes its script with it: the task then
        // follows the plain timing, which is all that is left to go on.
        task.script = self.script.and_then(|r| {
            let path = library.get(&r.scenario)?.task.clone()?;
            let steps = path.steps.len();
            Some(Box::new(Scripted {
                step: r.step.min(steps),
                step_started_ms: r.step_started_ms,
                step_polls: r.step_polls,
                ..Scripted::new(r.scenario, Arc::new(path), self.created_ms)
            }))
        });
        task.callback_behaviour = self.callback_scenario.and_then(|name| {
            let behaviour = library.get(&name)?.callback.clone()?;
            Some(Box::new((name, Arc::new(behaviour))))
        });
        Ok(task)
    }
}

fn fingerprint(state: &AppState) -> Fingerprint {
    [
        state.icu.tasks.changes(),
        state.journal.changes(),
        state.icu.tasks.callbacks().journal_changes(),
        state.clock.generation(),
        state.icu.ordinal(),
        state.coze.logids.ordinal(),
    ]
}

/// Loads the state file into a freshly built `state`, if the file exists. Returns how many
/// tasks were restored. Every problem with an existing file is an error: starting empty
/// would silently lose what the file holds.
pub fn load(state: &AppState) -> Result<Option<usize>, String> {
    let Some(persist) = &state.persist else {
        return Ok(None);
    };
    let path = &persist.path;
    let where_ = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            *persist.saved.lock() = Some(fingerprint(state));
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot read {where_}: {e}")),
    };
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{where_} is not a readable state file: {e}"))?;
    match header.version {
        Some(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "{where_} was written in state format version {v}; this build reads version {FORMAT_VERSION} (move the file away to start empty)"
            ))
        }
        None => return Err(format!("{where_} has no `version`: not an asr-mock state file")),
    }
    let file: StateFile = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{where_} is not a readable state file: {e}"))?;
    drop(bytes);

    if file.now_ms > state.clock.now_ms() {
        state
            .clock
            .set(file.now_ms)
            .map_err(|e| format!("{where_}: cannot restore the clock: {e}"))?;
    }
    state.icu.set_ordinal(file.task_ordinal);
    state.coze.logids.set_ordinal(file.logid_ordinal);
    state.journal.restore(file.journal_seq, file.requests);

    let callbacks = state.icu.tasks.callbacks();
    // Deliveries whose outcome is known: a final attempt of the original copy, other than
    // the note a shutdown leaves for a delivery it cut short.
    let delivered: std::collections::HashSet<u64> = file
        .callback_attempts
        .iter()
        .filter(|a| {
            a.final_attempt
                && a.copy == 0
                && !a
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(SHUTDOWN_UNSENT))
        })
        .map(|a| a.task_id)
        .collect();
    // A full journal has dropped its oldest attempts: tasks that ended before its oldest
    // entry are taken as delivered rather than called back again days later.
    let journal_full = file.callback_attempts.len() >= callbacks.journal_capacity();
    let oldest_attempt = file.callback_attempts.first().map(|a| a.time_ms);
    callbacks.restore_journal(file.callback_attempts);

    let library = state.scenarios.library();
    let mut tasks = Vec::with_capacity(file.tasks.len());
    let mut resume = Resume::default();
    let capacity = state.icu.tasks.settings().capacity;
    let skip = file.tasks.len().saturating_sub(capacity);
    for record in file.tasks.into_iter().skip(skip) {
        let task = record
            .into_task(library, &file.recipes)
            .map_err(|e| format!("{where_}: {e}"))?;
        if task.plan.is_none() && task.finished_ms.is_none() && task.spec.audio_url.is_some() {
            resume.downloads.push(task.id);
        }
        if let (Some(finished), true, Some(_)) = (
            task.finished_ms,
            task.callback_sent,
            &task.spec.callback_url,
        ) {
            let evicted = journal_full && oldest_attempt.is_some_and(|t| finished < t);
            if !delivered.contains(&task.id) && !evicted {
                resume.callbacks.push(task.id);
            }
        }
        tasks.push(task);
    }
    let count = tasks.len();
    state.icu.tasks.restore(tasks);
    *persist.resume.lock() = resume;
    *persist.saved.lock() = Some(fingerprint(state));
    Ok(Some(count))
}

/// Restarts what the restart interrupted: downloads of Url tasks still being fetched, and
/// callbacks handed to the dispatcher with no final attempt journaled (a receiver may see
/// such a callback twice, as the provider warns it can). Needs the runtime; `run` calls it.
pub fn resume(state: &AppState) {
    let Some(persist) = &state.persist else {
        return;
    };
    let resume = std::mem::take(&mut *persist.resume.lock());
    let (mut downloads, mut callbacks) = (0usize, 0usize);
    for id in resume.downloads {
        if let Some((task, _)) = state.icu.tasks.inspect(id) {
            if state.icu.resume(&task) {
                downloads += 1;
            }
        }
    }
    for id in resume.callbacks {
        if state.icu.tasks.resend_callback(id) {
            callbacks += 1;
        }
    }
    if downloads + callbacks > 0 {
        tracing::info!(
            downloads,
            callbacks,
            "resumed work interrupted by the restart"
        );
    }
}

/// Whether anything changed since the last save.
pub fn dirty(state: &AppState) -> bool {
    state
        .persist
        .as_ref()
        .is_some_and(|p| *p.saved.lock() != Some(fingerprint(state)))
}

/// Saves now: clones the stores, then serialises and writes off the async workers.
pub async fn save(state: &AppState) -> Result<SaveReport, SaveError> {
    let persist = state.persist.as_ref().ok_or(SaveError::NotConfigured)?;
    let guard = Arc::clone(&persist.writing).lock_owned().await;
    let counters = fingerprint(state);
    let file = snapshot(state);
    let mut report = SaveReport {
        path: persist.path.display().to_string(),
        tasks: file.tasks.len(),
        requests: file.requests.len(),
        callback_attempts: file.callback_attempts.len(),
        bytes: 0,
    };
    let path = persist.path.clone();
    let written = tokio::task::spawn_blocking(move || {
        let written = write_atomic(&path, &file);
        drop(guard);
        written
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()));
    match written {
        Ok(bytes) => {
            report.bytes = bytes;
            *persist.saved.lock() = Some(counters);
            Ok(report)
        }
        Err(reason) => Err(SaveError::Write {
            path: report.path,
            reason,
        }),
    }
}

fn snapshot(state: &AppState) -> StateFile {
    let (journal_seq, requests) = state.journal.snapshot();
    let mut recipes = RecipeTable::default();
    let tasks = state
        .icu
        .tasks
        .snapshot()
        .into_iter()
        .map(|t| TaskRecord::from_task(t, &mut recipes))
        .collect();
    StateFile {
        version: FORMAT_VERSION,
        now_ms: state.clock.now_ms(),
        seed: state.seed,
        task_ordinal: state.icu.ordinal(),
        logid_ordinal: state.coze.logids.ordinal(),
        journal_seq,
        requests,
        callback_attempts: state.icu.tasks.callbacks().attempts(),
        recipes: recipes.recipes,
        tasks,
    }
}

/// `PATH.tmp` beside the file, so the rename stays on one file system.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `file` to `PATH.tmp`, fsyncs it, renames it over `path`, and fsyncs the folder so
/// the rename itself survives a power cut. Returns the size written.
fn write_atomic(path: &Path, file: &StateFile) -> std::io::Result<u64> {
    let tmp = tmp_path(path);
    let out = File::create(&tmp)?;
    let mut writer = BufWriter::with_capacity(1 << 20, out);
    serde_json::to_writer(&mut writer, file).map_err(std::io::Error::other)?;
    writer.flush()?;
    let out = writer.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    let bytes = out.metadata()?.len();
    drop(out);
    std::fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        // Not every platform can fsync a folder; the file itself is already safe.
        let _ = dir.sync_all();
    }
    Ok(bytes)
}

/// Saves every second of real time while something changed; aborted by `run` at shutdown,
/// which then saves once more.
pub async fn run_saver(state: AppState) {
    loop {
        tokio::time::sleep(SAVE_INTERVAL).await;
        if dirty(&state) {
            if let Err(e) = save(&state).await {
                tracing::warn!(error = %e, "state not saved");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClockKind, Config};

    fn config(path: &Path) -> Config {
        Config {
            clock: ClockKind::Manual,
            clock_start: Some(1_000_000),
            state_file: Some(path.to_path_buf()),
            ..Config::default()
        }
    }

    fn task(id: u64, library: &Library) -> Task {
        let spec = TaskSpec {
            engine: crate::engine::Engine::Zh16k,
            res_text_format: 2,
            audio_url: Some("http://example.invalid/a.wav".into()),
            callback_url: Some("http://example.invalid/cb".into()),
            options: SubmitOptions {
                speaker_diarization: true,
                filter_punc: 2,
                ..SubmitOptions::default()
            },
        };
        let mut t = Task::new(id, 1_000_000, spec, 1_002_000);
        t.plan = Some(Plan {
            doing_at_ms: 1_002_000,
            done_at_ms: 1_005_000,
            outcome: Outcome::Success {
                recipe: Recipe::rendered("[0:0.100,0:0.900]  好。\n".into(), vec![]),
                duration_ms: 1_000,
            },
        });
        t.polls = 3;
        t.shown = Status::Doing;
        let slow = library.get("slow-queue").and_then(|s| s.task.clone());
        t.script = slow.map(|path| {
            Box::new(Scripted {
                step: 1,
                step_polls: 2,
                ..Scripted::new("slow-queue".into(), Arc::new(path), 1_000_000)
            })
        });
        let retry = library
            .get("callback-retry")
            .and_then(|s| s.callback.clone());
        t.callback_behaviour = retry.map(|b| Box::new(("callback-retry".into(), Arc::new(b))));
        t
    }

    #[tokio::test]
    async fn a_saved_state_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = crate::build_state(&config(&path)).unwrap();
        assert!(!dirty(&state), "a fresh state has nothing to save");
        let t = task(42, state.scenarios.library());
        assert!(t.script.is_some() && t.callback_behaviour.is_some());
        state.icu.tasks.insert(t);
        state.icu.set_ordinal(9);
        state.clock.advance(Duration::from_millis(1_500));
        assert!(dirty(&state));
        let report = save(&state).await.unwrap();
        assert_eq!(report.tasks, 1);
        assert!(!dirty(&state));

        let restored = crate::build_state(&config(&path)).unwrap();
        assert_eq!(restored.clock.now_ms(), 1_001_500);
        assert_eq!(restored.icu.ordinal(), 9);
        let (got, _) = restored.icu.tasks.inspect(42).unwrap();
        let (want, _) = state.icu.tasks.inspect(42).unwrap();
        assert_eq!(got.spec, want.spec);
        assert_eq!(got.plan, want.plan);
        assert_eq!((got.polls, got.shown), (want.polls, want.shown));
        let script = got.script.as_ref().unwrap();
        assert_eq!((script.step, script.step_polls), (1, 2));
        assert_eq!(script.path.steps.len(), 2);
        assert_eq!(got.callback_behaviour.as_ref().unwrap().0, "callback-retry");
        // Restored, not yet changed: nothing to save.
        assert!(!dirty(&restored));
    }

    #[tokio::test]
    async fn a_vanished_scenario_drops_the_script_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let state = crate::build_state(&config(&path)).unwrap();
        state.icu.tasks.insert(task(7, state.scenarios.library()));
        let file = snapshot(&state);
        let mut text = serde_json::to_string(&file).unwrap();
        text = text.replace("slow-queue", "gone-scenario");
        std::fs::write(&path, text).unwrap();
        let restored = crate::build_state(&config(&path)).unwrap();
        let (got, _) = restored.icu.tasks.inspect(7).unwrap();
        assert!(got.script.is_none());
        assert!(got.plan.is_some());
    }
}
