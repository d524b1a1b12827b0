//! Callbacks like a provider's: when a task with a callback URL ends, the simulator POSTs the
//! body its provider encoded there, counts only what the provider's acknowledgement rule
//! accepts (given to [`Callbacks::new`]), and retries on the simulator clock. The dispatcher
//! knows no provider: it sends a [`Payload`] as it is and applies the rule it was given.
//! Every attempt lands in a bounded journal that tests and the control API read back.
//!
//! Request handling never waits for a receiver: [`Callbacks::enqueue`] only books the
//! delivery and spawns it. Deliveries then queue for one of their receiver's few permits
//! (`receivers`: a receiver that hangs never delays another's callbacks), then for one of
//! `concurrency` global permits, so a flood of finished tasks cannot open unbounded
//! connections; the number of unfinished deliveries is bounded too, and one past the bound
//! is dropped with a journaled error.
//!
//! Timeouts, delays and retry waits run on the [`Clock`]: under a manual clock a hanging
//! receiver holds its attempt, and a delayed delivery or a retry stays parked, until the clock
//! is advanced. Parked deliveries that come due together start in due-time order (then in
//! submission order), so a seeded jitter reorders callbacks the same way on every run.
//!
//! Scenarios change single deliveries through a [`DeliveryPlan`] (delay, simulated failures,
//! duplicates, drops); every journal entry of such a delivery names its scenario.
//!
//! Here: the dispatcher and its book of unfinished deliveries; `journal` keeps the attempts,
//! `plan` says how a delivery is tried, `receivers` shares permits out per receiver,
//! `deliver` sends one.

mod deliver;
mod journal;
mod plan;
mod receivers;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::{watch, Semaphore};

use crate::bus::Bus;
use crate::clock::Clock;
use crate::hosts::HostAllowlist;
use crate::metrics::Metrics;
use crate::outbound::guard::SelfGuard;
use crate::outbound::{root_cause, USER_AGENT};

use deliver::{clamp_ms, deliver, Job, Slot};
use journal::Journal;
pub use journal::{CallbackAttempt, SHUTDOWN_UNSENT};
pub use plan::{CallbackPolicy, DeliveryPlan};
use receivers::{Receivers, DEFAULT_PER_RECEIVER};

/// How many attempts the journal keeps, by default (oldest dropped first).
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;
/// How many deliveries may be unfinished at once, by default; more are dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 100_000;

/// A callback body as its provider encoded it, sent byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The request body.
    pub body: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// A provider's acknowledgement rule: `Ok` when a receiver's 2xx answer body acknowledges,
/// else why not (journaled as the attempt's error).
pub type Acknowledge = fn(&[u8]) -> Result<(), String>;

/// The outbound callback sender. Cheap to clone: all clones share queue, permits and journal.
#[derive(Debug, Clone)]
pub struct Callbacks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    policy: CallbackPolicy,
    /// The provider's rule for what counts as an acknowledgement.
    acknowledge: Acknowledge,
    /// The client, or why it could not be built (journaled per attempt instead of panicking).
    client: Result<reqwest::Client, String>,
    /// Bounds the HTTP attempts in flight.
    permits: Semaphore,
    /// Bounds the attempts in flight to each receiver, below `permits`.
    receivers: Receivers,
    /// Bounds the unfinished deliveries.
    queue_capacity: AtomicUsize,
    /// Every attempt, the newest kept up to a capacity.
    journal: Journal,
    book: Mutex<Book>,
    /// Bumped whenever the book changes, so [`Callbacks::wait_idle`] re-checks.
    changed: watch::Sender<u64>,
    /// The runtime seen at construction, for `enqueue` calls from outside any runtime.
    runtime: Option<Handle>,
    next_delivery: AtomicU64,
    /// Hosts callbacks may go to; `None`: any.
    allow: Mutex<Option<HostAllowlist>>,
    /// Set at shutdown: parked deliveries stop waiting and journal that they were not sent.
    closing: watch::Sender<bool>,
    /// Keeps callbacks off the simulator's own control API (except its sink).
    guard: SelfGuard,
    /// The server's metrics, once the composition root hands them over.
    metrics: OnceLock<Metrics>,
}

/// Where every unfinished delivery is.
#[derive(Debug, Default)]
struct Book {
    /// Deliveries queued for a permit or with an attempt in flight.
    active: usize,
    /// Deliveries parked until a delay's or a retry's due time: (due ms, delivery id). Due
    /// entries leave in this order.
    waiting: BTreeSet<(i64, u64)>,
}

impl Callbacks {
    /// A sender with `concurrency` simultaneous attempts (at least 1) and a journal of
    /// `journal_capacity` attempts (at least 1), counting an answer as acknowledged when
    /// `acknowledge` accepts it. The HTTP client follows no redirects (a 3xx is a failed
    /// attempt) and keeps no cookies.
    pub fn new(
        clock: Clock,
        policy: CallbackPolicy,
        concurrency: usize,
        journal_capacity: usize,
        acknowledge: Acknowledge,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client unavailable: {}", root_cause(&e)));
        let (changed, _) = watch::channel(0);
        Callbacks {
            inner: Arc::new(Inner {
                clock,
                policy,
                acknowledge,
                client,
                permits: Semaphore::new(concurrency.clamp(1, Semaphore::MAX_PERMITS)),
                receivers: Receivers::new(DEFAULT_PER_RECEIVER),
                queue_capacity: AtomicUsize::new(DEFAULT_QUEUE_CAPACITY),
                journal: Journal::new(journal_capacity),
                book: Mutex::new(Book::default()),
                changed,
                runtime: Handle::try_current().ok(),
                next_delivery: AtomicU64::new(0),
                allow: Mutex::new(None),
                closing: watch::channel(false).0,
                guard: SelfGuard::default(),
                metrics: OnceLock::new(),
            }),
        }
    }

    /// Counts every attempt from now on in `metrics` (only the first call counts).
    pub fn set_metrics(&self, metrics: Metrics) {
        let _ = self.inner.metrics.set(metrics);
    }

    /// The check that keeps callbacks off the control API; armed once the server is bound.
    pub fn guard(&self) -> &SelfGuard {
        &self.inner.guard
    }

    /// Restricts callbacks to the hosts on `allow` (`None`: any host); an attempt to another
    /// host fails without a request.
    pub fn set_allowlist(&self, allow: Option<HostAllowlist>) {
        *self.inner.allow.lock() = allow;
    }

    /// Shutting down: lets attempts in flight (and deliveries already due) finish for up to
    /// `grace` of real time, and journals every delivery still waiting for its due time as
    /// not delivered. Returns how many were still unfinished when the grace ran out.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.inner.closing.send_replace(true);
        self.inner.notify();
        let settled = async {
            let mut changes = self.inner.changed.subscribe();
            loop {
                {
                    let book = self.inner.book.lock();
                    if book.active == 0 && book.waiting.is_empty() {
                        return;
                    }
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(grace, settled).await;
        self.pending()
    }

    /// Changes how many attempts may be in flight to one receiver (scheme, host and port) at
    /// once (at least 1); receivers with deliveries under way keep their current share.
    pub fn set_per_receiver(&self, limit: usize) {
        self.inner.receivers.set_limit(limit);
    }

    /// How many receivers have deliveries under way (the per-receiver map's size).
    pub fn receivers_busy(&self) -> usize {
        self.inner.receivers.len()
    }

    /// Changes how many deliveries may be unfinished at once (at least 1); deliveries already
    /// booked are kept.
    pub fn set_queue_capacity(&self, capacity: usize) {
        self.inner
            .queue_capacity
            .store(capacity.max(1), Ordering::Relaxed);
    }

    /// The default policy deliveries from [`Callbacks::enqueue`] use.
    pub fn policy(&self) -> &CallbackPolicy {
        &self.inner.policy
    }

    /// Delivers `payload` to `url` for `task_id` with the default policy. Never blocks or
    /// awaits.
    pub fn enqueue(&self, task_id: u64, url: String, payload: Payload) {
        self.enqueue_planned(task_id, url, payload, DeliveryPlan::default());
    }

    /// Delivers `payload` with its own `policy` (scenarios: custom retries, broken
    /// bodies). Never blocks or awaits; when too many deliveries are unfinished, the delivery
    /// is dropped and the drop journaled as a final attempt.
    pub fn enqueue_with(
        &self,
        task_id: u64,
        url: String,
        payload: Payload,
        policy: CallbackPolicy,
    ) {
        let plan = DeliveryPlan {
            policy: Some(policy),
            ..DeliveryPlan::default()
        };
        self.enqueue_planned(task_id, url, payload, plan);
    }

    /// Delivers `payload` as a scenario's `plan` says. Never blocks or awaits. A delayed
    /// delivery is parked on the clock at once, so it counts as pending but not as busy for
    /// [`Callbacks::wait_idle`]; a dropped one is journaled at once and books nothing.
    pub fn enqueue_planned(&self, task_id: u64, url: String, payload: Payload, plan: DeliveryPlan) {
        let job = Job {
            task_id,
            url,
            payload,
            policy: plan.policy.unwrap_or_else(|| self.inner.policy.clone()),
            fail_attempts: plan.fail_attempts,
            duplicates: plan.duplicates,
            scenario: plan.scenario,
        };
        if plan.drop {
            let error = job.by_scenario("dropped");
            self.inner.record_unsent(job, error);
            return;
        }
        let id = self.inner.next_delivery.fetch_add(1, Ordering::Relaxed);
        let parked_until = (plan.delay_ms > 0).then(|| {
            self.inner
                .clock
                .now_ms()
                .saturating_add(clamp_ms(plan.delay_ms))
        });
        let capacity = self.inner.queue_capacity.load(Ordering::Relaxed);
        let booked = {
            let mut book = self.inner.book.lock();
            if book.active + book.waiting.len() >= capacity {
                false
            } else {
                match parked_until {
                    Some(due) => {
                        book.waiting.insert((due, id));
                    }
                    None => book.active += 1,
                }
                true
            }
        };
        if !booked {
            let error = format!(
                "callback queue is full ({capacity} deliveries unfinished); delivery dropped"
            );
            self.inner.record_unsent(job, error);
            return;
        }
        self.inner.notify();
        let slot = Slot {
            inner: Arc::clone(&self.inner),
            id,
            parked_until,
        };
        let handle = Handle::try_current()
            .ok()
            .or_else(|| self.inner.runtime.clone());
        match handle {
            // If the runtime is shutting down the future is dropped, and the slot with it.
            Some(handle) => drop(handle.spawn(deliver(slot, job))),
            None => {
                drop(slot);
                self.inner.record_unsent(
                    job,
                    "no async runtime to send the callback on; delivery dropped".to_owned(),
                );
            }
        }
    }

    /// Announces every journaled attempt on `bus` from now on.
    pub fn connect_bus(&self, bus: Bus) {
        self.inner.journal.bus.connect(bus);
    }

    /// Every journaled attempt, oldest first.
    pub fn attempts(&self) -> Vec<CallbackAttempt> {
        self.inner.journal.all()
    }

    /// The journaled attempts for one task, oldest first.
    pub fn attempts_for(&self, task_id: u64) -> Vec<CallbackAttempt> {
        self.inner.journal.for_task(task_id)
    }

    /// Deliveries not finished: queued, in flight, or waiting for a delay or a retry.
    pub fn pending(&self) -> usize {
        let book = self.inner.book.lock();
        book.active + book.waiting.len()
    }

    /// Waits until nothing is queued or in flight and no parked delivery (delay or retry) is
    /// due. Parked deliveries whose due time the clock has not reached do not count, so under
    /// a manual clock this returns and the test advances the clock, then waits again.
    pub async fn wait_idle(&self) {
        let mut changes = self.inner.changed.subscribe();
        loop {
            if self.is_idle() {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Forgets the journal; unfinished deliveries continue and journal as usual.
    pub fn clear(&self) {
        self.inner.journal.clear();
    }

    /// How many changes the attempt journal has seen (for persistence's dirty check).
    pub fn journal_changes(&self) -> u64 {
        self.inner.journal.changes()
    }

    /// The attempt journal's capacity.
    pub fn journal_capacity(&self) -> usize {
        self.inner.journal.capacity()
    }

    /// Replaces the attempt journal with saved attempts (the newest kept up to capacity).
    pub fn restore_journal(&self, attempts: Vec<CallbackAttempt>) {
        self.inner.journal.restore(attempts);
    }

    fn is_idle(&self) -> bool {
        let now = self.inner.clock.now_ms();
        let book = self.inner.book.lock();
        book.active == 0 && book.waiting.first().is_none_or(|(due, _)| *due > now)
    }
}

impl Inner {
    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}
