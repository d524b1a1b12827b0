//! Crash-safe persistence (`--state-file PATH`): icu tasks, the request and callback
//! journals, the id ordinals and the simulated clock survive a restart — a `kill -9`
//! included — so a client polling a task never sees it vanish, nor its TaskId handed to
//! someone else, because the simulator was redeployed or killed.
//!
//! The file is a redb database (`store.rs`) holding two things:
//! - every accepted task's record, committed (fsync) before its submit is answered, with
//!   the TaskId draw ordinal to continue from; concurrent submits share one commit;
//! - a whole-state snapshot (`records.rs`: clock, journals, ordinals, every task's latest
//!   state), saved by a saver that wakes every second of real time and writes only when a
//!   change counter moved, and at shutdown. A snapshot deletes the submit records it
//!   covers, so the file holds what the bounded stores hold, no more.
//!
//! Loading takes the snapshot, then adds the tasks of the records it does not cover.
//! Status changes after a submit (polls, ends) come back as of the last snapshot: a
//! restored task resumes its plan from there. Snapshots are clones taken under the stores'
//! locks; serialising runs on `spawn_blocking`, writing on the store's thread.

pub(crate) mod handle;
mod records;
mod store;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::outbound::callbacks::SHUTDOWN_UNSENT;
use crate::providers::icu::recipe::Recipe;
use crate::state::AppState;
pub use handle::Persist;
use handle::{Fingerprint, Resume};
use records::{RecipeTable, StateFile, TaskRecord};
pub use store::edit_snapshot;

/// The format this build writes and reads; a file with another version is refused.
/// Version 2: results are saved as recipes, each once, instead of their rendered text.
/// Version 3: a redb database of submit records and the snapshot, instead of one JSON file.
/// Version 4: the same layout, but recipes of decoded audio render other text (sentences keyed
/// by where each speech span starts), so a task saved before would change its answer.
pub const FORMAT_VERSION: u32 = 4;

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
    /// Size of the snapshot.
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

/// Why the state file stops start-up. Every problem with it does: starting empty would
/// silently lose what the file holds, and starting without it would lose what comes next.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file cannot be created, opened for writing, or read.
    #[error("cannot open {} for reading and writing: {source}", path.display())]
    Open {
        /// The state file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Another simulator has it open.
    #[error("{} is in use by another running simulator (one state file per simulator)", path.display())]
    InUse {
        /// The state file.
        path: PathBuf,
    },
    /// Not a database, or a damaged one.
    #[error("{} is not a readable state file: {reason}", path.display())]
    Unreadable {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON state file, as builds before format version 3 wrote.
    #[error("{} is a JSON state file{}; this build keeps state in a database file, format version {FORMAT_VERSION} (move the file away to start empty)", path.display(), found.map(|v| format!(" of format version {v}")).unwrap_or_default())]
    Json {
        /// The state file.
        path: PathBuf,
        /// Its `version`, if it has one.
        found: Option<u32>,
    },
    /// A state database of another format version.
    #[error("{} was written in state format version {found}; this build reads version {FORMAT_VERSION} (move the file away to start empty)", path.display())]
    Version {
        /// The state file.
        path: PathBuf,
        /// The version it names.
        found: u64,
    },
    /// A database without our version mark: some other program's.
    #[error("{} has no format version: not an asr-mock state file", path.display())]
    NotOurs {
        /// The state file.
        path: PathBuf,
    },
    /// Readable, but holding something impossible (a time outside 1970–9999, an unknown
    /// engine, a result it does not hold).
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The state file.
        path: PathBuf,
        /// What is impossible.
        reason: String,
    },
    /// The database failed while being read or first written.
    #[error("{}: {source}", path.display())]
    Store {
        /// The state file.
        path: PathBuf,
        /// What the database said.
        #[source]
        source: Box<redb::Error>,
    },
}

/// Applies what the state file held to a freshly built `state`: the snapshot, then the
/// tasks of submit records it does not cover. Returns how many tasks were restored (`None`
/// without a state file, or with a new one).
pub fn load(state: &AppState) -> Result<Option<usize>, StateError> {
    let Some(persist) = &state.persist else {
        return Ok(None);
    };
    let loaded = std::mem::take(&mut *persist.loaded.lock());
    let invalid = |reason: String| StateError::Invalid {
        path: persist.path.clone(),
        reason,
    };
    if loaded.snapshot.is_none() && loaded.submits.is_empty() {
        // A new file: nothing to restore, nothing to save yet.
        *persist.saved.lock() = Some(fingerprint(state));
        return Ok(None);
    }
    let file = loaded
        .snapshot
        .unwrap_or_else(|| StateFile::empty(state.seed, state.clock.now_ms()));
    // Submits after the snapshot: their tasks, the clock they saw and the ordinal to go on
    // from (so no TaskId a client has seen is drawn again).
    let mut ordinal = file.task_ordinal;
    let mut now_ms = file.now_ms;
    let in_snapshot: HashSet<u64> = file.tasks.iter().map(|t| t.id).collect();
    let mut later: Vec<(TaskRecord, Vec<Arc<Recipe>>)> = Vec::with_capacity(loaded.submits.len());
    for record in loaded.submits {
        ordinal = ordinal.max(record.ordinal);
        now_ms = now_ms.max(record.task.created_ms);
        // A task in the snapshot too is there in a later state.
        if !in_snapshot.contains(&record.task.id) {
            later.push((record.task, record.recipes));
        }
    }
    if now_ms > state.clock.now_ms() {
        state
            .clock
            .set(now_ms)
            .map_err(|e| invalid(format!("cannot restore the clock: {e}")))?;
    }
    state.icu.set_ordinal(ordinal);
    state.coze.logids.set_ordinal(file.logid_ordinal);
    state.journal.restore(file.journal_seq, file.requests);

    let callbacks = state.icu.tasks.callbacks();
    // Deliveries whose outcome is known: a final attempt of the original copy, other than
    // the note a shutdown leaves for a delivery it cut short.
    let delivered: HashSet<u64> = file
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
    let mut resume = Resume::default();
    let capacity = state.icu.tasks.settings().capacity;
    let skip = (file.tasks.len() + later.len()).saturating_sub(capacity);
    let mut tasks = Vec::with_capacity(file.tasks.len() + later.len() - skip);
    let snapshot_recipes = file.recipes;
    let records = file.tasks.into_iter().map(|t| (t, None)).chain(
        later
            .into_iter()
            .map(|(task, recipes)| (task, Some(recipes))),
    );
    for (record, own_recipes) in records.skip(skip) {
        let recipes = own_recipes.as_deref().unwrap_or(&snapshot_recipes);
        let task = record.into_task(library, recipes).map_err(invalid)?;
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

/// Saves now: clones the stores, serialises off the async workers, and has the store's
/// thread write the snapshot (deleting the submit records it covers).
pub async fn save(state: &AppState) -> Result<SaveReport, SaveError> {
    let persist = state.persist.as_ref().ok_or(SaveError::NotConfigured)?;
    let _one_at_a_time = persist.writing.lock().await;
    let counters = fingerprint(state);
    // Read before the clone: every submit up to here is in the store being cloned.
    let covered = persist.store.applied();
    let file = snapshot(state, covered);
    let mut report = SaveReport {
        path: persist.path.display().to_string(),
        tasks: file.tasks.len(),
        requests: file.requests.len(),
        callback_attempts: file.callback_attempts.len(),
        bytes: 0,
    };
    let failed = |reason: String| SaveError::Write {
        path: report.path.clone(),
        reason,
    };
    let blob = tokio::task::spawn_blocking(move || serde_json::to_vec(&file))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))?;
    let bytes = blob.len() as u64;
    persist.store.save(covered, blob).await.map_err(failed)?;
    report.bytes = bytes;
    *persist.saved.lock() = Some(counters);
    Ok(report)
}

fn snapshot(state: &AppState, covered_seq: u64) -> StateFile {
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
        covered_seq,
        logid_ordinal: state.coze.logids.ordinal(),
        journal_seq,
        requests,
        callback_attempts: state.icu.tasks.callbacks().attempts(),
        recipes: recipes.recipes,
        tasks,
    }
}

/// Closes the state file (after what is queued is written), so it can be opened again at
/// once. `run` calls it after the last save.
pub async fn close(state: &AppState) {
    if let Some(persist) = &state.persist {
        persist.store.close().await;
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::store::Store;
    use super::*;
    use crate::config::{ClockKind, Config};
    use crate::providers::icu::tasks::{
        Outcome, Plan, Scripted, Status, SubmitOptions, Task, TaskSpec,
    };
    use crate::scenarios::library::Library;

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

    /// Writes `blob` as the file's snapshot, as a save would, and closes the file.
    async fn write_snapshot(state: &AppState, blob: String) {
        let store = &state.persist.as_ref().unwrap().store;
        store.save(0, blob.into_bytes()).await.unwrap();
        close(state).await;
    }

    fn refusal(path: &Path) -> StateError {
        match crate::build_state(&config(path)) {
            Err(crate::StartError::State(e)) => e,
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("{} was accepted", path.display()),
        }
    }

    #[tokio::test]
    async fn a_saved_state_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
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
        close(&state).await;

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
        let path = dir.path().join("state.db");
        let state = crate::build_state(&config(&path)).unwrap();
        state.icu.tasks.insert(task(7, state.scenarios.library()));
        let text = serde_json::to_string(&snapshot(&state, 0)).unwrap();
        write_snapshot(&state, text.replace("slow-queue", "gone-scenario")).await;
        let restored = crate::build_state(&config(&path)).unwrap();
        let (got, _) = restored.icu.tasks.inspect(7).unwrap();
        assert!(got.script.is_none());
        assert!(got.plan.is_some());
    }

    #[tokio::test]
    async fn an_accepted_task_survives_without_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = crate::build_state(&config(&path)).unwrap();
        let durable = state.icu.durable.clone().unwrap();
        let mut t = task(77, state.scenarios.library());
        t.created_ms = 1_250_000;
        durable.accept(t, 31).await.unwrap();
        assert!(state.icu.tasks.contains(77), "in the engine once recorded");
        // No save: as if killed right after the answer.
        close(&state).await;

        let restored = crate::build_state(&config(&path)).unwrap();
        let (got, _) = restored.icu.tasks.inspect(77).unwrap();
        assert_eq!(got.plan, state.icu.tasks.inspect(77).unwrap().0.plan);
        assert_eq!(got.callback_behaviour.as_ref().unwrap().0, "callback-retry");
        assert_eq!(restored.icu.ordinal(), 31, "TaskId draws go on after it");
        assert_eq!(
            restored.clock.now_ms(),
            1_250_000,
            "the clock saw the submit"
        );
    }

    #[tokio::test]
    async fn a_snapshot_deletes_the_submit_records_it_covers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = crate::build_state(&config(&path)).unwrap();
        let durable = state.icu.durable.clone().unwrap();
        let library = state.scenarios.library();
        let accepts: Vec<_> = (1..=20)
            .map(|id| durable.accept(task(id, library), id))
            .collect();
        for accepted in futures_util::future::join_all(accepts).await {
            accepted.unwrap();
        }
        let store = &state.persist.as_ref().unwrap().store;
        assert_eq!(store.applied(), 20);
        save(&state).await.unwrap();
        durable.accept(task(21, library), 21).await.unwrap();
        close(&state).await;

        let engine = crate::build_state(&Config::default())
            .unwrap()
            .icu
            .tasks
            .clone();
        let (store, loaded) = Store::open(&path, engine).unwrap();
        let left: Vec<u64> = loaded.submits.iter().map(|r| r.task.id).collect();
        assert_eq!(left, [21], "only the submit after the snapshot is kept");
        assert_eq!(loaded.snapshot.unwrap().tasks.len(), 20);
        assert_eq!(store.applied(), 21, "sequence numbers go on");
        store.close().await;
    }

    #[tokio::test]
    async fn times_outside_1970_to_9999_stop_start_up() {
        let dir = tempfile::tempdir().unwrap();
        for (name, from, to) in [
            (
                "clock.db",
                "\"now_ms\":1000000",
                format!("\"now_ms\":{}", i64::MAX),
            ),
            (
                "created.db",
                "\"created_ms\":1000000",
                "\"created_ms\":-5".to_owned(),
            ),
        ] {
            let path = dir.path().join(name);
            let state = crate::build_state(&config(&path)).unwrap();
            state.icu.tasks.insert(task(5, state.scenarios.library()));
            let text = serde_json::to_string(&snapshot(&state, 0)).unwrap();
            assert!(text.contains(from), "{text}");
            write_snapshot(&state, text.replace(from, &to)).await;
            let err = refusal(&path);
            assert!(matches!(err, StateError::Invalid { .. }), "{err:?}");
            assert!(
                err.to_string().contains("outside the years 1970–9999"),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn a_file_in_use_or_of_another_kind_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = crate::build_state(&config(&path)).unwrap();
        assert!(matches!(refusal(&path), StateError::InUse { .. }));
        close(&state).await;
        crate::build_state(&config(&path)).expect("free again once closed");

        // A state database of another format version.
        let other = dir.path().join("other.db");
        close(&crate::build_state(&config(&other)).unwrap()).await;
        {
            let db = redb::Database::open(&other).unwrap();
            let txn = db.begin_write().unwrap();
            let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
            txn.open_table(meta)
                .unwrap()
                .insert("format_version", 99)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = refusal(&other);
        assert!(
            matches!(err, StateError::Version { found: 99, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("this build reads version {FORMAT_VERSION}")),
            "{err}"
        );

        for (name, content) in [
            ("old.json", &b"{\"version\": 2, \"tasks\": []}"[..]),
            ("junk.bin", &[7u8; 9000][..]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let err = refusal(&path);
            assert!(
                matches!(
                    err,
                    StateError::Json { found: Some(2), .. } | StateError::Unreadable { .. }
                ),
                "{err:?}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), content, "left as it was");
        }
    }
}
