//! What the state store holds, as saved: the whole-state snapshot ([`StateFile`]) and the
//! record of each accepted task ([`SubmitRecord`]), both JSON; and the check that every time
//! in them is a sane moment, so a tampered file cannot push the clock out of range.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::failure::FailureCode;
use crate::outbound::callbacks::CallbackAttempt;
use crate::providers::icu::recipe::Recipe;
use crate::providers::icu::tasks::{
    Outcome, Plan, Scripted, Status, SubmitOptions, Task, TaskSpec,
};
use crate::scenarios::library::Library;
use crate::stores::journal::RequestEntry;

/// The file: everything needed to continue where the last run stopped.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StateFile {
    pub(super) version: u32,
    /// Simulated time at the save, ms since the Unix epoch.
    pub(super) now_ms: i64,
    /// The seed of the run that wrote it (informational: ids and logids derive from it).
    pub(super) seed: u64,
    /// Next TaskId draw ordinal.
    pub(super) task_ordinal: u64,
    /// Submit records up to this sequence number are reflected here: their tasks are in
    /// `tasks`, or had left the store before the snapshot was taken.
    pub(super) covered_seq: u64,
    /// Next logid ordinal.
    pub(super) logid_ordinal: u64,
    /// Last request journal sequence number.
    pub(super) journal_seq: u64,
    pub(super) requests: Vec<RequestEntry>,
    pub(super) callback_attempts: Vec<CallbackAttempt>,
    /// What successful tasks' results are rendered from, each once however many tasks
    /// share it (tasks name them by index).
    pub(super) recipes: Vec<Arc<Recipe>>,
    /// Oldest first.
    pub(super) tasks: Vec<TaskRecord>,
}

impl StateFile {
    /// A snapshot of nothing, for a file that holds submit records only.
    pub(super) fn empty(seed: u64, now_ms: i64) -> Self {
        StateFile {
            version: super::FORMAT_VERSION,
            now_ms,
            seed,
            task_ordinal: 0,
            covered_seq: 0,
            logid_ordinal: 0,
            journal_seq: 0,
            requests: Vec::new(),
            callback_attempts: Vec::new(),
            recipes: Vec::new(),
            tasks: Vec::new(),
        }
    }
}

/// Only the version, read first so another format gets a clear refusal.
#[derive(Debug, Deserialize)]
pub(super) struct Header {
    pub(super) version: Option<u32>,
}

/// A task as saved: scripts and callback behaviours are kept by scenario name and looked up
/// again in the scenario library when loading.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TaskRecord {
    pub(super) id: u64,
    pub(super) created_ms: i64,
    pub(super) engine: String,
    pub(super) res_text_format: u8,
    pub(super) audio_url: Option<String>,
    pub(super) callback_url: Option<String>,
    pub(super) options: SubmitOptions,
    pub(super) queue_until_ms: i64,
    pub(super) plan: Option<PlanRecord>,
    pub(super) polls: u32,
    pub(super) shown: Status,
    pub(super) finished_ms: Option<i64>,
    pub(super) callback_sent: bool,
    pub(super) script: Option<ScriptRecord>,
    pub(super) callback_scenario: Option<String>,
}

/// A task's plan, its recipe named by index into [`StateFile::recipes`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PlanRecord {
    pub(super) doing_at_ms: i64,
    pub(super) done_at_ms: i64,
    pub(super) outcome: OutcomeRecord,
}

/// An outcome as saved.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub(super) enum OutcomeRecord {
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
pub(super) struct RecipeTable {
    pub(super) recipes: Vec<Arc<Recipe>>,
    /// By address: every recipe here is kept alive by `recipes`, so no address is reused.
    pub(super) index: std::collections::HashMap<*const Recipe, usize>,
}

impl RecipeTable {
    pub(super) fn plan(&mut self, plan: Plan) -> PlanRecord {
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
pub(super) struct ScriptRecord {
    pub(super) scenario: String,
    pub(super) step: usize,
    pub(super) step_started_ms: i64,
    pub(super) step_polls: u32,
}

impl TaskRecord {
    pub(super) fn from_task(t: Task, recipes: &mut RecipeTable) -> Self {
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
    pub(super) fn into_task(
        self,
        library: &Library,
        recipes: &[Arc<Recipe>],
    ) -> Result<Task, String> {
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

/// One accepted task as recorded at submit, before its answer went out: enough to bring it
/// back if the simulator dies before the next snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SubmitRecord {
    /// The TaskId draw ordinal to continue from (the service's, after this task's draw).
    pub(super) ordinal: u64,
    /// The recipe of its plan, if inline audio was examined already.
    pub(super) recipes: Vec<Arc<Recipe>>,
    pub(super) task: TaskRecord,
}

impl SubmitRecord {
    pub(super) fn new(task: Task, ordinal: u64) -> Self {
        let mut recipes = RecipeTable::default();
        let task = TaskRecord::from_task(task, &mut recipes);
        SubmitRecord {
            ordinal,
            recipes: recipes.recipes,
            task,
        }
    }
}

/// The latest moment a saved time may name: the end of year 9999 (ms since the epoch).
pub(super) const LATEST_MS: i64 = 253_402_300_799_999;

/// Checks that `ms`, named `what`, is a moment between 1970 and the end of 9999.
fn moment(what: &str, ms: i64) -> Result<(), String> {
    if (0..=LATEST_MS).contains(&ms) {
        Ok(())
    } else {
        Err(format!(
            "{what} is {ms} ms since the epoch, outside the years 1970–9999"
        ))
    }
}

/// A planned time: a moment, or `i64::MAX` for "never, until forced". Plans are computed
/// with saturating sums, so anything from the epoch on is accepted.
fn planned(what: &str, ms: i64) -> Result<(), String> {
    if ms >= 0 {
        Ok(())
    } else {
        Err(format!("{what} is {ms} ms since the epoch, before 1970"))
    }
}

impl TaskRecord {
    /// Checks every time the task names.
    pub(super) fn check_times(&self) -> Result<(), String> {
        let id = self.id;
        moment(&format!("task {id}'s created_ms"), self.created_ms)?;
        planned(&format!("task {id}'s queue_until_ms"), self.queue_until_ms)?;
        if let Some(plan) = &self.plan {
            planned(&format!("task {id}'s doing_at_ms"), plan.doing_at_ms)?;
            planned(&format!("task {id}'s done_at_ms"), plan.done_at_ms)?;
        }
        if let Some(finished) = self.finished_ms {
            moment(&format!("task {id}'s finished_ms"), finished)?;
        }
        if let Some(script) = &self.script {
            moment(
                &format!("task {id}'s step_started_ms"),
                script.step_started_ms,
            )?;
        }
        Ok(())
    }
}

impl StateFile {
    /// Checks every time the snapshot names: the clock, the journals, the tasks.
    pub(super) fn check_times(&self) -> Result<(), String> {
        moment("now_ms", self.now_ms)?;
        for r in &self.requests {
            moment(&format!("request {}'s time_ms", r.seq), r.time_ms)?;
        }
        for a in &self.callback_attempts {
            moment(
                &format!("the callback attempt for task {}'s time_ms", a.task_id),
                a.time_ms,
            )?;
        }
        self.tasks.iter().try_for_each(TaskRecord::check_times)
    }
}
