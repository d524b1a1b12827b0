//! Mirrors of server types that control-API answers embed ([`Task`], [`TaskSummary`],
//! [`ScenarioView`], [`SaveReport`]): those serialize only (they hold `&'static str`s and
//! skipped fields), so a client decodes these instead. The server converts into them, and a
//! test checks each serializes exactly like its original.

use crate::engine::Engine;
use crate::failure::FailureCode;
use serde::{Deserialize, Serialize};

use crate::persist::SaveReport;
use crate::providers::icu::result::Rendered;
use crate::providers::icu::tasks::model::{Outcome, Plan, Scripted, Task, TaskSpec};
use crate::providers::icu::tasks::{Status, TaskSummary};
use crate::scenarios::ScenarioView;

/// What a save wrote (the fields of [`SaveReport`], readable back by a client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedReport {
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

impl From<SaveReport> for SavedReport {
    fn from(r: SaveReport) -> Self {
        SavedReport {
            path: r.path,
            tasks: r.tasks,
            requests: r.requests,
            callback_attempts: r.callback_attempts,
            bytes: r.bytes,
        }
    }
}

/// A line of the task list (the fields of [`TaskSummary`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskLine {
    /// The TaskId.
    pub task_id: u64,
    /// Its status now.
    pub status: Status,
    /// When it was submitted.
    pub created_ms: i64,
    /// Its engine.
    pub engine: Engine,
    /// Polls answered.
    pub polls: u32,
}

impl From<TaskSummary> for TaskLine {
    fn from(s: TaskSummary) -> Self {
        TaskLine {
            task_id: s.task_id,
            status: s.status,
            created_ms: s.created_ms,
            engine: s.engine,
            polls: s.polls,
        }
    }
}

/// A stored task (the serialized fields of [`Task`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskRecord {
    /// The TaskId.
    pub id: u64,
    /// Simulated ms of the submit.
    pub created_ms: i64,
    /// The submit's options the task still needs.
    pub spec: TaskSpecRecord,
    /// Until then the task waits in the queue.
    pub queue_until_ms: i64,
    /// Timing and outcome, once the audio has been examined.
    pub plan: Option<PlanRecord>,
    /// Polls answered so far.
    pub polls: u32,
    /// The highest status any answer has shown.
    pub shown: Status,
    /// When the task ended.
    pub finished_ms: Option<i64>,
    /// Whether the end-of-task callback has been handed to the dispatcher.
    pub callback_sent: bool,
    /// A scenario's scripted path and how far along it the task is.
    pub script: Option<ScriptRecord>,
}

/// When a task shows `doing` and its outcome (the serialized fields of [`Plan`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanRecord {
    /// Simulated ms at which it shows `doing`.
    pub doing_at_ms: i64,
    /// Simulated ms at which it shows the outcome (`i64::MAX`: never, until forced).
    pub done_at_ms: i64,
    /// The outcome.
    pub outcome: OutcomeRecord,
}

/// How a task ends, its result rendered (the serialized form of [`Outcome`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub enum OutcomeRecord {
    /// Recognised.
    Success {
        /// `Result` and `ResultDetail` as a poll shows them.
        #[serde(flatten)]
        rendered: Rendered,
        /// The audio's duration.
        duration_ms: u64,
    },
    /// Failed with a code 10000–10007.
    Failed {
        /// 10000–10007.
        code: FailureCode,
        /// The `ErrorMsg`.
        message: String,
        /// The audio's duration when it was known.
        duration_ms: Option<u64>,
    },
}

impl From<Plan> for PlanRecord {
    fn from(p: Plan) -> Self {
        PlanRecord {
            doing_at_ms: p.doing_at_ms,
            done_at_ms: p.done_at_ms,
            outcome: match p.outcome {
                Outcome::Success {
                    recipe,
                    duration_ms,
                } => OutcomeRecord::Success {
                    rendered: (*recipe.render()).clone(),
                    duration_ms,
                },
                Outcome::Failed {
                    code,
                    message,
                    duration_ms,
                } => OutcomeRecord::Failed {
                    code,
                    message,
                    duration_ms,
                },
            },
        }
    }
}

/// A task's submit options (the serialized fields of [`TaskSpec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskSpecRecord {
    /// `EngineModelType`.
    pub engine: Engine,
    /// `ResTextFormat`.
    pub res_text_format: u8,
    /// The audio's Url when SourceType was 0.
    pub audio_url: Option<String>,
    /// Where the callback goes.
    pub callback_url: Option<String>,
}

/// Where a task is on a scenario's path (the serialized fields of [`Scripted`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScriptRecord {
    /// The scenario that gave it.
    pub scenario: String,
    /// Index of the current step.
    pub step: usize,
    /// When the current step began.
    pub step_started_ms: i64,
    /// Polls answered in the current step.
    pub step_polls: u32,
}

impl From<Task> for TaskRecord {
    fn from(t: Task) -> Self {
        TaskRecord {
            id: t.id,
            created_ms: t.created_ms,
            spec: t.spec.into(),
            queue_until_ms: t.queue_until_ms,
            plan: t.plan.map(Into::into),
            polls: t.polls,
            shown: t.shown,
            finished_ms: t.finished_ms,
            callback_sent: t.callback_sent,
            script: t.script.map(|s| (*s).into()),
        }
    }
}

impl From<TaskSpec> for TaskSpecRecord {
    fn from(s: TaskSpec) -> Self {
        TaskSpecRecord {
            engine: s.engine,
            res_text_format: s.res_text_format,
            audio_url: s.audio_url,
            callback_url: s.callback_url,
        }
    }
}

impl From<Scripted> for ScriptRecord {
    fn from(s: Scripted) -> Self {
        ScriptRecord {
            scenario: s.scenario,
            step: s.step,
            step_started_ms: s.step_started_ms,
            step_polls: s.step_polls,
        }
    }
}

/// A scenario's listing (the fields of [`ScenarioView`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Built in, or the file it came from.
    pub source: String,
    /// Whether it applies by itself to matching requests.
    pub has_match: bool,
}

impl From<ScenarioView> for ScenarioInfo {
    fn from(v: ScenarioView) -> Self {
        ScenarioInfo {
            name: v.name,
            description: v.description,
            source: v.source,
            has_match: v.has_match,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::providers::icu::recipe::SubmitOptions;

    #[test]
    fn records_serialize_like_the_types_they_mirror() {
        let library = crate::scenarios::library::Library::builtin().unwrap();
        let scenario = library.get("callback-retry").unwrap();
        let spec = TaskSpec {
            engine: crate::engine::Engine::Zh16k,
            res_text_format: 2,
            audio_url: Some("http://a.invalid/a.wav".into()),
            callback_url: None,
            options: SubmitOptions::default(),
        };
        let mut task = Task::new(7, 100, spec, 200);
        let path = library
            .list()
            .iter()
            .find_map(|s| s.task.clone())
            .expect("a built-in task path");
        task.script = Some(Box::new(Scripted::new(
            scenario.name.clone(),
            Arc::new(path),
            100,
        )));
        assert_eq!(
            serde_json::to_value(TaskRecord::from(task.clone())).unwrap(),
            serde_json::to_value(&task).unwrap()
        );

        let view = ScenarioView::from(scenario.as_ref());
        assert_eq!(
            serde_json::to_value(ScenarioInfo::from(view.clone())).unwrap(),
            serde_json::to_value(&view).unwrap()
        );

        let summary = TaskSummary {
            task_id: 7,
            status: Status::Doing,
            created_ms: 100,
            engine: crate::engine::Engine::Zh16k,
            polls: 3,
        };
        assert_eq!(
            serde_json::to_value(TaskLine::from(summary.clone())).unwrap(),
            serde_json::to_value(&summary).unwrap()
        );

        let report = SaveReport {
            path: "state.json".into(),
            tasks: 1,
            requests: 2,
            callback_attempts: 3,
            bytes: 4,
        };
        assert_eq!(
            serde_json::to_value(SavedReport::from(report.clone())).unwrap(),
            serde_json::to_value(&report).unwrap()
        );
    }
}
