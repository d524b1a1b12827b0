//! The per-task state machine, as pure functions of the task and `now`: no clock reads, no
//! I/O, so every rule here is testable with plain numbers.
//!
//! A task is `waiting` until its queue delay ends, `doing` while its audio is fetched and
//! "recognised", then `success` or `failed`. Status only moves forward: what a client once
//! saw is a floor (`shown`) that later answers never go below, whatever the clock or a
//! forced transition says.

use std::sync::Arc;

use serde::Serialize;

use crate::providers::icu::wire::SentenceDetail;

/// The four statuses of the provider, in the order a task moves through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// A finished recognition, rendered once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResult {
    /// The `Result` text.
    pub result: String,
    /// `ResultDetail` (empty for ResTextFormat 0).
    pub detail: Vec<SentenceDetail>,
    /// The audio's duration, for the callback's `audioTime`.
    pub duration_ms: u64,
}

/// How a task ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "outcome")]
pub enum Outcome {
    /// Recognised.
    Success(Arc<TaskResult>),
    /// One of the failure codes 10000–10007 and its `ErrorMsg`.
    Failed {
        /// 10000–10007.
        code: i64,
        /// Shown as `ErrorMsg` and as the callback's `message`.
        message: String,
        /// The audio's duration when it was known (for `audioTime`).
        duration_ms: Option<u64>,
    },
}

impl Outcome {
    /// The final status this outcome shows.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Success(_) => Status::Success,
            Outcome::Failed { .. } => Status::Failed,
        }
    }
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
    /// When the task first showed a final status.
    pub finished_ms: Option<i64>,
    /// Whether the end-of-task callback has been handed to the dispatcher.
    pub callback_sent: bool,
}

/// The options of a submit that matter after it was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSpec {
    /// `EngineModelType` as sent.
    pub engine: String,
    /// `ResTextFormat`.
    pub res_text_format: u8,
    /// The audio's Url when SourceType was 0 (the callback's `audioUrl`).
    pub audio_url: Option<String>,
    /// Where to POST the callback.
    pub callback_url: Option<String>,
}

impl Task {
    /// The status without the floor: what the clock (or the poll count) says now.
    fn computed(&self, now_ms: i64, progress: Progress) -> Status {
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

    /// The status at `now_ms`, never below what was already shown.
    pub fn status(&self, now_ms: i64, progress: Progress) -> Status {
        let computed = self.computed(now_ms, progress);
        if computed.rank() >= self.shown.rank() {
            computed
        } else {
            self.shown
        }
    }

    /// Records that `status` was shown at `now_ms`; returns true when the task just ended.
    pub fn observe(&mut self, status: Status, now_ms: i64) -> bool {
        if status.rank() > self.shown.rank() {
            self.shown = status;
        }
        if status.is_final() && self.finished_ms.is_none() {
            self.finished_ms = Some(now_ms);
            return true;
        }
        false
    }

    /// The final outcome, when the task has ended.
    pub fn outcome_if_final(&self, now_ms: i64, progress: Progress) -> Option<&Outcome> {
        if !self.status(now_ms, progress).is_final() {
            return None;
        }
        self.plan.as_ref().map(|p| &p.outcome)
    }

    /// Forces the task to `target` at `now_ms` (control API). Only forward moves are
    /// allowed; `failed` needs the code and message; `success` needs a known successful
    /// outcome (the audio must have been examined and found good).
    pub fn force(
        &mut self,
        target: Status,
        failure: Option<(i64, String)>,
        now_ms: i64,
        progress: Progress,
    ) -> Result<(), String> {
        let current = self.status(now_ms, progress);
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
            }
            Status::Success => match &mut self.plan {
                Some(plan) if matches!(plan.outcome, Outcome::Success(_)) => {
                    plan.doing_at_ms = plan.doing_at_ms.min(now_ms);
                    plan.done_at_ms = now_ms;
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
                let duration_ms = match self.plan.as_ref().map(|p| &p.outcome) {
                    Some(Outcome::Success(r)) => Some(r.duration_ms),
                    Some(Outcome::Failed { duration_ms, .. }) => *duration_ms,
                    None => None,
                };
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

    fn task(plan: Option<Plan>) -> Task {
        Task {
            id: 1,
            created_ms: 0,
            spec: TaskSpec {
                engine: "16k_zh".into(),
                res_text_format: 0,
                audio_url: None,
                callback_url: None,
            },
            queue_until_ms: 1_000,
            plan,
            polls: 0,
            shown: Status::Waiting,
            finished_ms: None,
            callback_sent: false,
        }
    }

    fn success_plan() -> Plan {
        Plan {
            doing_at_ms: 1_000,
            done_at_ms: 5_000,
            outcome: Outcome::Success(Arc::new(TaskResult {
                result: "[0:0.100,0:0.900]  好。\n".into(),
                detail: vec![],
                duration_ms: 1_000,
            })),
        }
    }

    #[test]
    fn time_progress_follows_the_plan() {
        let t = task(Some(success_plan()));
        assert_eq!(t.status(0, Progress::Time), Status::Waiting);
        assert_eq!(t.status(1_000, Progress::Time), Status::Doing);
        assert_eq!(t.status(4_999, Progress::Time), Status::Doing);
        assert_eq!(t.status(5_000, Progress::Time), Status::Success);
    }

    #[test]
    fn an_unknown_outcome_waits_then_is_doing() {
        let t = task(None);
        assert_eq!(t.status(999, Progress::Time), Status::Waiting);
        assert_eq!(t.status(1_000_000, Progress::Time), Status::Doing);
    }

    #[test]
    fn poll_progress_counts_polls() {
        let mut t = task(Some(success_plan()));
        let p = Progress::Polls { per_status: 2 };
        let mut seen = vec![];
        for _ in 0..6 {
            t.polls += 1;
            seen.push(t.status(0, p));
        }
        use Status::*;
        assert_eq!(seen, [Waiting, Waiting, Doing, Doing, Success, Success]);
    }

    #[test]
    fn the_shown_floor_keeps_status_monotonic() {
        let mut t = task(Some(success_plan()));
        let s = t.status(1_500, Progress::Time);
        t.observe(s, 1_500);
        // Switching to poll-count mode with no polls would compute `waiting`.
        assert_eq!(
            t.status(1_500, Progress::Polls { per_status: 1 }),
            Status::Doing
        );
    }

    #[test]
    fn forcing_moves_forward_only() {
        let mut t = task(Some(success_plan()));
        t.force(Status::Doing, None, 10, Progress::Time).unwrap();
        assert_eq!(t.status(10, Progress::Time), Status::Doing);
        assert!(t.force(Status::Doing, None, 11, Progress::Time).is_err());
        t.force(
            Status::Failed,
            Some((10001, "recognition failed".into())),
            20,
            Progress::Time,
        )
        .unwrap();
        assert_eq!(t.status(20, Progress::Time), Status::Failed);
        assert!(t.force(Status::Success, None, 30, Progress::Time).is_err());
        assert!(task(None)
            .force(Status::Success, None, 0, Progress::Time)
            .is_err());
    }
}
