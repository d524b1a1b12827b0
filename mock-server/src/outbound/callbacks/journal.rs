//! The attempt journal: every HTTP attempt (and every delivery that never reached the
//! network) as one [`CallbackAttempt`], the newest kept up to a capacity, for tests, the
//! control API and the state file.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::bus::{BusSlot, Topic};

/// How the journal's entry for a delivery cut short by shutdown begins: a restart with a
/// state file sends such a delivery again.
pub const SHUTDOWN_UNSENT: &str = "not delivered: the simulator shut down";

/// One HTTP attempt at delivering a callback, as the journal keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackAttempt {
    /// The task whose result was delivered.
    pub task_id: u64,
    /// Which attempt of this delivery, from 1.
    pub attempt: u32,
    /// Simulated time the attempt started, ms since the Unix epoch.
    pub time_ms: i64,
    /// Where it was sent.
    pub url: String,
    /// The body sent.
    pub body: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The first 1 KiB of the receiver's answer, lossy UTF-8.
    pub answer: Option<String>,
    /// How long the attempt took on the simulator clock, ms.
    pub latency_ms: i64,
    /// Why the attempt did not count as acknowledged; `None` when it did.
    pub error: Option<String>,
    /// Whether the receiver answered 2xx with a body the acknowledgement rule accepts.
    pub acknowledged: bool,
    /// No further attempt of this copy follows: acknowledged, attempts exhausted, or dropped.
    /// A duplicate copy gets one attempt, so its entry is always final.
    pub final_attempt: bool,
    /// The scenario that planned this delivery; `None` for ordinary deliveries.
    pub scenario: Option<String>,
    /// 0 for the original delivery's attempts, 1.. for a scenario's duplicate copies.
    pub copy: u32,
}

/// The bounded journal: the oldest attempt goes first when it is full.
#[derive(Debug)]
pub(super) struct Journal {
    capacity: usize,
    attempts: Mutex<VecDeque<CallbackAttempt>>,
    /// Bumped on every change, so persistence knows when to save.
    changes: AtomicU64,
    /// Where attempts are announced (the dashboard).
    pub(super) bus: BusSlot,
}

impl Journal {
    /// An empty journal keeping `capacity` attempts (at least 1).
    pub(super) fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            attempts: Mutex::new(VecDeque::new()),
            changes: AtomicU64::new(0),
            bus: BusSlot::default(),
        }
    }

    /// Adds an attempt, dropping the oldest when full.
    pub(super) fn record(&self, attempt: CallbackAttempt) {
        self.bus.publish_with(Topic::Callback, || {
            serde_json::json!({
                "task_id": attempt.task_id.to_string(),
                "attempt": attempt.attempt,
                "status": attempt.status,
                "acknowledged": attempt.acknowledged,
                "final_attempt": attempt.final_attempt,
            })
        });
        let mut attempts = self.attempts.lock();
        while attempts.len() >= self.capacity {
            attempts.pop_front();
        }
        attempts.push_back(attempt);
        drop(attempts);
        self.touch();
    }

    /// Every attempt, oldest first.
    pub(super) fn all(&self) -> Vec<CallbackAttempt> {
        self.attempts.lock().iter().cloned().collect()
    }

    /// The attempts for one task, oldest first.
    pub(super) fn for_task(&self, task_id: u64) -> Vec<CallbackAttempt> {
        self.attempts
            .lock()
            .iter()
            .filter(|a| a.task_id == task_id)
            .cloned()
            .collect()
    }

    /// Forgets every attempt.
    pub(super) fn clear(&self) {
        self.attempts.lock().clear();
        self.touch();
    }

    /// Replaces the attempts with saved ones, the newest kept up to capacity.
    pub(super) fn restore(&self, attempts: Vec<CallbackAttempt>) {
        let skip = attempts.len().saturating_sub(self.capacity);
        *self.attempts.lock() = attempts.into_iter().skip(skip).collect();
        self.touch();
    }

    /// How many changes the journal has seen.
    pub(super) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// How many attempts it keeps.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    fn touch(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }
}
