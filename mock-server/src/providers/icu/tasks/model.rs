//! The per-task state machine, as pure functions of the task and `now`: no clock reads, no
//! I/O, so every rule here is testable with plain numbers.
//!
//! A task is `waiting` until its queue delay ends, `doing` while its audio is fetched and
//! "recognised", then `success` or `failed`. Status only moves forward: what a client once
//! saw is a floor (`shown`) that later answers never go below, whatever the clock or a
//! forced transition says.

use std::sync::Arc;

use crate::engine::Engine;
use serde::{Deserialize, Serialize, Serializer};

use crate::failure::FailureCode;
use crate::providers::icu::recipe::{Recipe, SubmitOptions};
use crate::scenarios::{CallbackBehaviour, ScriptOutcome, StepEnd, StepStatus, TaskScript};

/// The four statuses of the provider, in the order a task moves through them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// 0: queued.
    Waiting,
    /// 1: being recognised.
    Doing,
    /// 2: done, with a result.
    Success,
    /// 3: done, with an error.
    Failed,
}

impl Status {
    /// The wire number (`Status`).
    pub fn code(self) -> u8 {
        match self {
            Status::Waiting => 0,
            Status::Doing => 1,
            Status::Success => 2,
            Status::Failed => 3,
        }
    }

    /// The wire string (`StatusStr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Doing => "doing",
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }

    /// Position in the life cycle: success and failed are both final (rank 2).
    fn rank(self) -> u8 {
        match self {
            Status::Waiting => 0,
            Status::Doing => 1,
            Status::Success | Status::Failed => 2,
        }
    }

    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        self.rank() == 2
    }

    /// Parses `waiting`/`doing`/`success`/`failed`.
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Waiting,
            Status::Doing,
            Status::Success,
            Status::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// How tasks advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Progress {
    /// On the clock: queue delay, then processing time (the provider's behaviour).
    Time,
    /// By number of polls: `per_status` polls see `waiting`, as many see `doing`, then the
    /// outcome (as moto does), whatever the clock says.
    Polls {
        /// Polls answered with each non-final status (at least 1).
        per_status: u32,
    },
}

/// How a task ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub enum Outcome {
    /// Recognised.
    Success {
        /// What the result is rendered from, shared by the tasks of the same audio and
        /// options; the control API shows it rendered (`result`, `detail`).
        #[serde(flatten, serialize_with = "rendered")]
        recipe: Arc<Recipe>,
        /// The audio's duration, for the callback's `audioTime`.
        duration_ms: u64,
    },
    /// One of the failure codes 10000–10007 and its `ErrorMsg`.
    Failed {
        /// 10000–10007.
        code: FailureCode,
        /// Shown as `ErrorMsg` and as the callback's `message`.
        message: String,
        /// The audio's duration when it was known (for `audioTime`).
        duration_ms: Option<u64>,
    },
}

impl Outcome {
    /// The audio's duration, when known.
    pub fn duration_ms(&self) -> Option<u64> {
        match self {
            Outcome::Success { duration_ms, .. } => Some(*duration_ms),
            Outcome::Failed { duration_ms, .. } => *duration_ms,
        }
    }

    /// The recipe of a successful outcome.
    pub fn recipe(&self) -> Option<&Arc<Recipe>> {
        match self {
            Outcome::Success { recipe, .. } => Some(recipe),
            Outcome::Failed { .. } => None,
        }
    }

    /// The final status this outcome shows.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Success { .. } => Status::Success,
            Outcome::Failed { .. } => Status::Failed,
        }
    }
}

/// The control API shows a result as polls do, rendered (a rare request: no cache needed).
fn rendered<S: Serializer>(recipe: &Arc<Recipe>, serializer: S) -> Result<S::Ok, S::Error> {
    recipe.render().serialize(serializer)
}

/// When a task whose outcome is known becomes `doing` and final.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Simulated ms at which it shows `doing`.
    pub doing_at_ms: i64,
    /// Simulated ms at which it shows the outcome (`i64::MAX`: never, until forced).
    pub done_at_ms: i64,
    /// The outcome.
    pub outcome: Outcome,
}

/// One task: what was asked, when, and what it will become.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// The TaskId.
    pub id: u64,
    /// Simulated ms of the submit.
    pub created_ms: i64,
    /// The submit's options the task still needs (the audio itself is not kept).
    pub spec: TaskSpec,
    /// Until then the task waits in the queue (while its outcome is still unknown).
    pub queue_until_ms: i64,
    /// Known once the audio has been examined; `None` while it is being fetched.
    pub plan: Option<Plan>,
    /// Polls answered so far.
    pub polls: u32,
    /// The highest status any answer has shown: a floor for every later answer.
    pub shown: Status,
    /// When the task ended (its outcome became final and its callback was due).
    pub finished_ms: Option<i64>,
    /// Whether the end-of-task callback has been handed to the dispatcher.
    pub callback_sent: bool,
    /// A scenario's scripted path, and how far along it the task is (boxed: most tasks have
    /// none, and a million tasks should not each carry its room).
    pub script: Option<Box<Scripted>>,
    /// A scenario's callback behaviour (delay, failures, duplicates…), with its name.
    #[serde(skip)]
    pub callback_behaviour: Option<Box<(String, Arc<CallbackBehaviour>)>>,
}

/// A scenario's task path attached to one task.
#[derive(Debug, Clone, Serialize)]
pub struct Scripted {
    /// The scenario that gave it.
    pub scenario: String,
    /// Steps and outcome.
    #[serde(skip)]
    pub path: Arc<TaskScript>,
    /// Index of the current step (`path.steps.len()` once past them all).
    pub step: usize,
    /// When the current step began.
    pub step_started_ms: i64,
    /// Polls answered in the current step.
    pub step_polls: u32,
}

impl Scripted {
    /// A path starting at `created_ms`.
    pub fn new(scenario: String, path: Arc<TaskScript>, created_ms: i64) -> Self {
        Scripted {
            scenario,
            path,
            step: 0,
            step_started_ms: created_ms,
            step_polls: 0,
        }
    }

    /// Ends every timed step that is over by `now_ms`; each starts when the one before ends.
    fn advance(&mut self, now_ms: i64) {
        while let Some(step) = self.path.steps.get(self.step) {
            match step.end {
                StepEnd::Ms(ms) => {
                    let end = self.step_started_ms.saturating_add(ms as i64);
                    if now_ms < end {
                        return;
                    }
                    self.step_started_ms = end;
                }
                StepEnd::Polls(n) => {
                    if self.step_polls < n {
                        return;
                    }
                    self.step_started_ms = now_ms;
                }
            }
            self.step += 1;
            self.step_polls = 0;
        }
    }

    /// The current step's status, or `None` once the steps are over.
    fn step_status(&self) -> Option<Status> {
        self.path.steps.get(self.step).map(|s| match s.status {
            StepStatus::Waiting => Status::Waiting,
            StepStatus::Doing => Status::Doing,
        })
    }

    /// When the timed steps end, if every step is timed: the scheduler wakes then.
    pub fn timed_end_ms(&self) -> Option<i64> {
        let mut at = self.step_started_ms;
        for step in self.path.steps.get(self.step..)? {
            match step.end {
                StepEnd::Ms(ms) => at = at.saturating_add(ms as i64),
                StepEnd::Polls(_) => return None,
            }
        }
        Some(at)
    }
}

/// The options of a submit that matter after it was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSpec {
    /// `EngineModelType`.
    pub engine: Engine,
    /// `ResTextFormat`.
    pub res_text_format: u8,
    /// The audio's Url when SourceType was 0 (the callback's `audioUrl`).
    pub audio_url: Option<String>,
    /// Where to POST the callback.
    pub callback_url: Option<String>,
    /// The other submit options, kept so a Url download can restart after a restart.
    #[serde(skip)]
    pub options: SubmitOptions,
}

impl Task {
    /// A new task with no outcome yet.
    pub fn new(id: u64, created_ms: i64, spec: TaskSpec, queue_until_ms: i64) -> Self {
        Task {
            id,
            created_ms,
            spec,
            queue_until_ms,
            plan: None,
            polls: 0,
            shown: Status::Waiting,
            finished_ms: None,
            callback_sent: false,
            script: None,
            callback_behaviour: None,
        }
    }

    /// What the clock (or the poll count) says, before any script: the provider's timing.
    fn timed(&self, now_ms: i64, progress: Progress) -> Status {
        match progress {
            Progress::Time => match &self.plan {
                None if now_ms < self.queue_until_ms => Status::Waiting,
                None => Status::Doing,
                Some(plan) if now_ms >= plan.done_at_ms => plan.outcome.status(),
                Some(plan) if now_ms >= plan.doing_at_ms => Status::Doing,
                Some(_) => Status::Waiting,
            },
            Progress::Polls { per_status } => {
                let n = per_status.max(1);
                if self.polls <= n {
                    Status::Waiting
                } else if self.polls <= 2 * n {
                    Status::Doing
                } else {
                    match &self.plan {
                        Some(plan) if plan.done_at_ms != i64::MAX => plan.outcome.status(),
                        _ => Status::Doing,
                    }
                }
            }
        }
    }

    /// The true status at `now_ms` (script steps moved on first): what the task is,
    /// whether or not polls may see it yet.
    fn true_status(&mut self, now_ms: i64, progress: Progress) -> Status {
        let Some(script) = &mut self.script else {
            return self.timed(now_ms, progress);
        };
        let outcome = script.path.outcome.clone();
        if !script.path.steps.is_empty() {
            script.advance(now_ms);
            if let Some(status) = script.step_status() {
                return status;
            }
            // Past the steps: the scripted outcome, as soon as it is known.
            return match outcome {
                ScriptOutcome::Stuck => Status::Doing,
                ScriptOutcome::Fail { .. } => Status::Failed,
                ScriptOutcome::Success => match &self.plan {
                    Some(plan) if plan.done_at_ms != i64::MAX => plan.outcome.status(),
                    _ => Status::Doing,
                },
            };
        }
        let timed = self.timed(now_ms, progress);
        match outcome {
            _ if !timed.is_final() => timed,
            ScriptOutcome::Success => timed,
            ScriptOutcome::Fail { .. } => Status::Failed,
            ScriptOutcome::Stuck => Status::Doing,
        }
    }

    /// How long after its end polls still show the status before (a scenario's early
    /// callback).
    fn early_ms(&self) -> i64 {
        self.script
            .as_ref()
            .map_or(0, |s| s.path.callback_early_ms as i64)
    }

    /// Brings the task up to `now_ms` and returns what a poll shows. `poll` counts the
    /// request as a poll. The second value is true when the task has just ended (its
    /// callback is due now).
    pub fn evaluate(&mut self, now_ms: i64, progress: Progress, poll: bool) -> (Status, bool) {
        if poll {
            self.polls = self.polls.saturating_add(1);
        }
        let status = self.true_status(now_ms, progress);
        let just_ended = status.is_final() && self.finished_ms.is_none();
        if just_ended {
            self.finished_ms = Some(now_ms);
        }
        let mut visible = status;
        if status.is_final() {
            let ended = self.finished_ms.unwrap_or(now_ms);
            if now_ms < ended.saturating_add(self.early_ms()) {
                visible = Status::Doing;
            }
        }
        if visible.rank() < self.shown.rank() {
            visible = self.shown;
        }
        self.shown = visible;
        if poll {
            if let Some(script) = &mut self.script {
                if !visible.is_final() && script.step_status().is_some() {
                    script.step_polls = script.step_polls.saturating_add(1);
                }
            }
        }
        (visible, just_ended)
    }

    /// What polls see at `now_ms`, without changing the task (control API, listings).
    pub fn peek(&self, now_ms: i64, progress: Progress) -> Status {
        self.clone().evaluate(now_ms, progress, false).0
    }

    /// The outcome a final task shows: the scripted failure, or the examined one.
    pub fn outcome(&self) -> Option<Outcome> {
        if let Some(script) = &self.script {
            if let ScriptOutcome::Fail { code, message } = &script.path.outcome {
                return Some(Outcome::Failed {
                    code: *code,
                    message: message
                        .clone()
                        .unwrap_or_else(|| code.default_message().to_owned()),
                    duration_ms: self.plan.as_ref().and_then(|p| p.outcome.duration_ms()),
                });
            }
        }
        self.plan.as_ref().map(|p| p.outcome.clone())
    }

    /// Forces the task to `target` at `now_ms` (control API). Only forward moves are
    /// allowed; `failed` needs the code and message; `success` needs a known successful
    /// outcome (the audio must have been examined and found good). A forced end replaces
    /// any scripted path; a forced `doing` jumps to the script's next `doing` step.
    pub fn force(
        &mut self,
        target: Status,
        failure: Option<(FailureCode, String)>,
        now_ms: i64,
        progress: Progress,
    ) -> Result<(), String> {
        let current = self.peek(now_ms, progress);
        if current.is_final() {
            return Err(format!(
                "task {} has already ended ({})",
                self.id,
                current.as_str()
            ));
        }
        if target.rank() < current.rank() || target == current {
            return Err(format!(
                "a task only moves forward: it is {}, cannot become {}",
                current.as_str(),
                target.as_str()
            ));
        }
        match target {
            // Nothing is below `waiting`, so the forward check above already refused it.
            Status::Waiting => {}
            Status::Doing => {
                self.queue_until_ms = self.queue_until_ms.min(now_ms);
                if let Some(plan) = &mut self.plan {
                    plan.doing_at_ms = plan.doing_at_ms.min(now_ms);
                }
                if let Some(script) = &mut self.script {
                    let steps = &script.path.steps;
                    let next_doing = (script.step..steps.len())
                        .find(|&i| steps[i].status == StepStatus::Doing)
                        .unwrap_or(steps.len());
                    script.step = next_doing;
                    script.step_started_ms = now_ms;
                    script.step_polls = 0;
                }
            }
            Status::Success => match &mut self.plan {
                Some(plan) if matches!(plan.outcome, Outcome::Success { .. }) => {
                    plan.doing_at_ms = plan.doing_at_ms.min(now_ms);
                    plan.done_at_ms = now_ms;
                    self.script = None;
                }
                Some(_) => {
                    return Err(format!(
                    "task {} cannot succeed: its audio failed examination (force failed instead)",
                    self.id
                ))
                }
                None => {
                    return Err(format!(
                        "task {} cannot succeed yet: its audio is still being fetched",
                        self.id
                    ))
                }
            },
            Status::Failed => {
                let (code, message) = failure.ok_or("forcing failed needs a code")?;
                let duration_ms = self.plan.as_ref().and_then(|p| p.outcome.duration_ms());
                self.plan = Some(Plan {
                    doing_at_ms: self
                        .plan
                        .as_ref()
                        .map_or(now_ms, |p| p.doing_at_ms.min(now_ms)),
                    done_at_ms: now_ms,
                    outcome: Outcome::Failed {
                        code,
                        message,
                        duration_ms,
                    },
                });
                self.script = None;
            }
        }
        // The floor makes the move stick in poll-count mode too.
        self.shown = target;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::model::Step;

    fn task(plan: Option<Plan>) -> Task {
        let spec = TaskSpec {
            engine: crate::engine::Engine::Zh16k,
            res_text_format: 0,
            audio_url: None,
            callback_url: None,
            options: SubmitOptions::default(),
        };
        let mut t = Task::new(1, 0, spec, 1_000);
        t.plan = plan;
        t
    }

    fn success_plan() -> Plan {
        Plan {
            doing_at_ms: 1_000,
            done_at_ms: 5_000,
            outcome: Outcome::Success {
                recipe: Recipe::rendered("[0:0.100,0:0.900]  好。\n".into(), vec![]),
                duration_ms: 1_000,
            },
        }
    }

    fn scripted(steps: Vec<Step>, outcome: ScriptOutcome, early: u64) -> Task {
        let mut t = task(Some(success_plan()));
        let path = TaskScript {
            steps,
            outcome,
            callback_early_ms: early,
        };
        t.script = Some(Box::new(Scripted::new("test".into(), Arc::new(path), 0)));
        t
    }

    fn step(status: StepStatus, end: StepEnd) -> Step {
        Step { status, end }
    }

    #[test]
    fn time_progress_follows_the_plan() {
        let t = task(Some(success_plan()));
        assert_eq!(t.peek(0, Progress::Time), Status::Waiting);
        assert_eq!(t.peek(1_000, Progress::Time), Status::Doing);
        assert_eq!(t.peek(4_999, Progress::Time), Status::Doing);
        assert_eq!(t.peek(5_000, Progress::Time), Status::Success);
    }

    #[test]
    fn an_unknown_outcome_waits_then_is_doing() {
        let t = task(None);
        assert_eq!(t.peek(999, Progress::Time), Status::Waiting);
        assert_eq!(t.peek(1_000_000, Progress::Time), Status::Doing);
    }

    #[test]
    fn poll_progress_counts_polls() {
        let mut t = task(Some(success_plan()));
        let p = Progress::Polls { per_status: 2 };
        let seen: Vec<Status> = (0..6).map(|_| t.evaluate(0, p, true).0).collect();
        use Status::*;
        assert_eq!(seen, [Waiting, Waiting, Doing, Doing, Success, Success]);
    }

    #[test]
    fn the_shown_floor_keeps_status_monotonic() {
        let mut t = task(Some(success_plan()));
        assert_eq!(t.evaluate(1_500, Progress::Time, true).0, Status::Doing);
        // Poll-count mode with few polls would compute `waiting`.
        assert_eq!(
            t.peek(1_500, Progress::Polls { per_status: 5 }),
            Status::Doing
        );
    }

    #[test]
    fn a_task_ends_once() {
        let mut t = task(Some(success_plan()));
        assert_eq!(
            t.evaluate(5_000, Progress::Time, false),
            (Status::Success, true)
        );
        assert_eq!(
            t.evaluate(6_000, Progress::Time, true),
            (Status::Success, false)
        );
        assert_eq!(t.finished_ms, Some(5_000));
    }

    #[test]
    fn forcing_moves_forward_only() {
        let mut t = task(Some(success_plan()));
        t.force(Status::Doing, None, 10, Progress::Time).unwrap();
        assert_eq!(t.peek(10, Progress::Time), Status::Doing);
        assert!(t.force(Status::Doing, None, 11, Progress::Time).is_err());
        t.force(
            Status::Failed,
            Some((FailureCode::RecognitionFailed, "recognition failed".into())),
            20,
            Progress::Time,
        )
        .unwrap();
        assert_eq!(t.peek(20, Progress::Time), Status::Failed);
        assert!(t.force(Status::Success, None, 30, Progress::Time).is_err());
        assert!(task(None)
            .force(Status::Success, None, 0, Progress::Time)
            .is_err());
    }

    #[test]
    fn scripted_steps_run_on_time_then_polls() {
        let mut t = scripted(
            vec![
                step(StepStatus::Waiting, StepEnd::Ms(60_000)),
                step(StepStatus::Doing, StepEnd::Polls(2)),
            ],
            ScriptOutcome::Success,
            0,
        );
        let p = Progress::Time;
        assert_eq!(t.evaluate(59_999, p, true).0, Status::Waiting);
        assert_eq!(t.evaluate(60_000, p, true).0, Status::Doing);
        assert_eq!(t.evaluate(60_001, p, true).0, Status::Doing);
        assert_eq!(t.evaluate(60_002, p, true), (Status::Success, true));
    }

    #[test]
    fn scripted_failure_and_stuck() {
        let mut t = scripted(
            vec![step(StepStatus::Doing, StepEnd::Ms(10))],
            ScriptOutcome::Fail {
                code: FailureCode::RecognitionFailed,
                message: None,
            },
            0,
        );
        assert_eq!(
            t.evaluate(10, Progress::Time, false),
            (Status::Failed, true)
        );
        assert!(matches!(
            t.outcome(),
            Some(Outcome::Failed { code: FailureCode::RecognitionFailed, ref message, .. }) if message == "Recognition failed"
        ));

        let mut t = scripted(vec![], ScriptOutcome::Stuck, 0);
        assert_eq!(
            t.evaluate(i64::MAX / 2, Progress::Time, true).0,
            Status::Doing
        );
        t.force(Status::Success, None, 100, Progress::Time).unwrap();
        assert_eq!(
            t.evaluate(100, Progress::Time, true),
            (Status::Success, true)
        );
    }

    #[test]
    fn an_early_callback_precedes_the_visible_end() {
        let mut t = scripted(vec![], ScriptOutcome::Success, 3_000);
        assert_eq!(
            t.evaluate(5_000, Progress::Time, false),
            (Status::Doing, true)
        );
        assert_eq!(t.evaluate(7_999, Progress::Time, true).0, Status::Doing);
        assert_eq!(
            t.evaluate(8_000, Progress::Time, true),
            (Status::Success, false)
        );
    }
}
