//! Callbacks like a provider's: when a task with a callback URL ends, the simulator POSTs the
//! body its provider encoded there, counts only what the provider's acknowledgement rule
//! accepts (given to [`Callbacks::new`]), and retries on the simulator clock. The dispatcher
//! knows no provider: it sends a [`Payload`] as it is and applies the rule it was given. Every attempt lands in a bounded journal that tests and
//! the control API read back.
//!
//! Request handling never waits for a receiver: [`Callbacks::enqueue`] only books the
//! delivery and spawns it. Deliveries then queue for one of `concurrency` permits, so a flood
//! of finished tasks cannot open unbounded connections; the number of unfinished deliveries is
//! bounded too, and one past the bound is dropped with a journaled error.
//!
//! Timeouts, delays and retry waits run on the [`Clock`]: under a manual clock a hanging
//! receiver holds its attempt, and a delayed delivery or a retry stays parked, until the clock
//! is advanced. Parked deliveries that come due together start in due-time order (then in
//! submission order), so a seeded jitter reorders callbacks the same way on every run.
//!
//! Scenarios change single deliveries through a [`DeliveryPlan`] (delay, simulated failures,
//! duplicates, drops); every journal entry of such a delivery names its scenario.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::{watch, AcquireError, Semaphore, SemaphorePermit};

use crate::clock::Clock;
use crate::hosts::HostAllowlist;
use crate::outbound::{describe_duration, duration_ms, root_cause, USER_AGENT};

/// How many HTTP attempts may be in flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// How many attempts the journal keeps, by default (oldest dropped first).
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;
/// How many deliveries may be unfinished at once, by default; more are dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 100_000;
/// How the journal's entry for a delivery cut short by shutdown begins: a restart with a
/// state file sends such a delivery again.
pub const SHUTDOWN_UNSENT: &str = "not delivered: the simulator shut down";

/// How much of a receiver's answer is kept in the journal.
const ANSWER_KEEP: usize = 1024;
/// How much of a receiver's answer is read at most; an acknowledgement is tiny.
const ANSWER_READ_LIMIT: usize = 64 * 1024;

/// When and how often a callback is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackPolicy {
    /// Attempts in all, first one included (0 is treated as 1).
    pub attempts: u32,
    /// Time between the first attempt's start and each retry's due time, on the clock.
    pub interval: Duration,
    /// How long one attempt may take (connect, send, answer), on the clock.
    pub timeout: Duration,
}

impl Default for CallbackPolicy {
    /// 2 attempts [tencent]; retry after 5 s and a 10 s timeout [inferred].
    fn default() -> Self {
        CallbackPolicy {
            attempts: 2,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Scenario-driven changes to one delivery (all default to "as the provider does").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryPlan {
    /// Overrides the dispatcher's policy.
    pub policy: Option<CallbackPolicy>,
    /// Holds the first attempt this long on the clock (the caller adds any seeded jitter).
    pub delay_ms: u64,
    /// The first N attempts fail without any request being sent; they count toward the
    /// policy's attempts and follow its retry schedule.
    pub fail_attempts: u32,
    /// After the first acknowledged attempt, this many extra copies are sent right after, in
    /// order, one attempt each (not retried) with its own journal entry.
    pub duplicates: u32,
    /// Never deliver: one journal entry says so, at once; the rest of the plan is moot.
    pub drop: bool,
    /// Named in every journal entry of this delivery.
    pub scenario: Option<String>,
}

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

/// One HTTP attempt at delivering a callback, as the journal keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Bounds the unfinished deliveries.
    queue_capacity: AtomicUsize,
    journal_capacity: usize,
    journal: Mutex<VecDeque<CallbackAttempt>>,
    /// Bumped on every journal change, so persistence knows when to save.
    journal_changes: AtomicU64,
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

/// One delivery: what to send, where, how often, and what its scenario changes.
#[derive(Debug)]
struct Job {
    task_id: u64,
    url: String,
    payload: Payload,
    policy: CallbackPolicy,
    /// The first this many attempts fail without a request.
    fail_attempts: u32,
    /// Extra copies after the first acknowledgement.
    duplicates: u32,
    scenario: Option<String>,
}

impl Job {
    /// A journal entry for this delivery; the outcome fields are filled in by the caller.
    fn entry(&self, attempt: u32, copy: u32, time_ms: i64) -> CallbackAttempt {
        CallbackAttempt {
            task_id: self.task_id,
            attempt,
            time_ms,
            url: self.url.clone(),
            body: self.payload.body.clone(),
            status: None,
            answer: None,
            latency_ms: 0,
            error: None,
            acknowledged: false,
            final_attempt: true,
            scenario: self.scenario.clone(),
            copy,
        }
    }

    /// `what`, naming the scenario that caused it.
    fn by_scenario(&self, what: &str) -> String {
        match &self.scenario {
            Some(name) => format!("{what} (scenario {name})"),
            None => what.to_owned(),
        }
    }
}

/// What one attempt came to.
#[derive(Debug)]
struct Outcome {
    status: Option<u16>,
    answer: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn failed(error: String) -> Self {
        Outcome {
            status: None,
            answer: None,
            error: Some(error),
        }
    }
}

impl Callbacks {
    /// A sender with `concurrency` simultaneous attempts (at least 1) and a journal of
    /// `journal_capacity` attempts (at least 1), counting an answer as acknowledged when
    /// `acknowledge` accepts it. The HTTP client follows no redirects (a 3xx
    /// is a failed attempt) and keeps no cookies.
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
                queue_capacity: AtomicUsize::new(DEFAULT_QUEUE_CAPACITY),
                journal_capacity: journal_capacity.max(1),
                journal: Mutex::new(VecDeque::new()),
                journal_changes: AtomicU64::new(0),
                book: Mutex::new(Book::default()),
                changed,
                runtime: Handle::try_current().ok(),
                next_delivery: AtomicU64::new(0),
                allow: Mutex::new(None),
                closing: watch::channel(false).0,
            }),
        }
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

    /// Every journaled attempt, oldest first.
    pub fn attempts(&self) -> Vec<CallbackAttempt> {
        self.inner.journal.lock().iter().cloned().collect()
    }

    /// The journaled attempts for one task, oldest first.
    pub fn attempts_for(&self, task_id: u64) -> Vec<CallbackAttempt> {
        self.inner
            .journal
            .lock()
            .iter()
            .filter(|a| a.task_id == task_id)
            .cloned()
            .collect()
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
        self.inner.journal.lock().clear();
        self.inner.journal_changes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many changes the attempt journal has seen (for persistence's dirty check).
    pub fn journal_changes(&self) -> u64 {
        self.inner.journal_changes.load(Ordering::Relaxed)
    }

    /// The attempt journal's capacity.
    pub fn journal_capacity(&self) -> usize {
        self.inner.journal_capacity
    }

    /// Replaces the attempt journal with saved attempts (the newest kept up to capacity).
    pub fn restore_journal(&self, attempts: Vec<CallbackAttempt>) {
        let skip = attempts.len().saturating_sub(self.inner.journal_capacity);
        *self.inner.journal.lock() = attempts.into_iter().skip(skip).collect();
        self.inner.journal_changes.fetch_add(1, Ordering::Relaxed);
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

    fn record(&self, attempt: CallbackAttempt) {
        let mut journal = self.journal.lock();
        while journal.len() >= self.journal_capacity {
            journal.pop_front();
        }
        journal.push_back(attempt);
        drop(journal);
        self.journal_changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Journals a delivery that never reached the network.
    fn record_unsent(&self, job: Job, error: String) {
        tracing::warn!(task_id = job.task_id, url = %job.url, scenario = ?job.scenario, %error, "callback not delivered");
        self.record(CallbackAttempt {
            error: Some(error),
            ..job.entry(1, 0, self.clock.now_ms())
        });
    }

    /// Journals one attempt of `copy` that started at `started`; `last` when no retry may
    /// follow. Returns whether the receiver acknowledged.
    fn journal_outcome(
        &self,
        job: &Job,
        attempt: u32,
        copy: u32,
        started: i64,
        outcome: Outcome,
        last: bool,
    ) -> bool {
        let latency_ms = self.clock.now_ms().saturating_sub(started);
        let acknowledged = outcome.error.is_none();
        let final_attempt = acknowledged || last;
        let (task_id, url, scenario) = (job.task_id, &job.url, &job.scenario);
        if acknowledged {
            tracing::debug!(task_id, attempt, copy, %url, ?scenario, latency_ms, "callback acknowledged");
        } else if final_attempt {
            tracing::warn!(task_id, attempt, copy, %url, ?scenario, status = ?outcome.status, error = ?outcome.error, "callback failed; no attempts left");
        } else {
            tracing::info!(task_id, attempt, copy, %url, ?scenario, status = ?outcome.status, error = ?outcome.error, "callback failed; will retry");
        }
        self.record(CallbackAttempt {
            status: outcome.status,
            answer: outcome.answer,
            latency_ms,
            error: outcome.error,
            acknowledged,
            final_attempt,
            ..job.entry(attempt, copy, started)
        });
        acknowledged
    }

    /// One attempt, bounded by the policy's timeout on the clock.
    async fn attempt(&self, job: &Job) -> Outcome {
        let timeout_ms = duration_ms(job.policy.timeout);
        let deadline = self.clock.now_ms().saturating_add(clamp_ms(timeout_ms));
        with_deadline(&self.clock, deadline, self.post(job), || {
            Outcome::failed(format!(
                "no answer within {} (simulator clock)",
                describe_duration(timeout_ms)
            ))
        })
        .await
    }

    /// POSTs the body and judges the answer.
    async fn post(&self, job: &Job) -> Outcome {
        let client = match &self.client {
            Ok(client) => client,
            Err(e) => return Outcome::failed(e.clone()),
        };
        if let Some(list) = self.allow.lock().as_ref() {
            let allowed = reqwest::Url::parse(&job.url).is_ok_and(|u| list.allows(&u));
            if !allowed {
                return Outcome::failed(format!(
                    "callback host not on the simulator's allowlist (--allow-hosts {})",
                    list.entries().join(",")
                ));
            }
        }
        let sent = client
            .post(&job.url)
            .header(reqwest::header::CONTENT_TYPE, job.payload.content_type)
            .body(job.payload.body.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Outcome::failed(format!("connection failed: {}", root_cause(&e)))
            }
            Err(e) if e.is_builder() => {
                return Outcome::failed(format!("invalid callback URL: {}", root_cause(&e)))
            }
            Err(e) => return Outcome::failed(format!("request failed: {}", root_cause(&e))),
        };
        let status = response.status();
        let mut buf: Vec<u8> = Vec::new();
        let mut read_error = None;
        let mut too_long = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = ANSWER_READ_LIMIT - buf.len();
                    if chunk.len() > room {
                        buf.extend_from_slice(&chunk[..room]);
                        too_long = true;
                        break;
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(format!("answer interrupted: {}", root_cause(&e)));
                    break;
                }
            }
        }
        let answer = String::from_utf8_lossy(&buf[..buf.len().min(ANSWER_KEEP)]).into_owned();
        let error = if !status.is_success() {
            Some(format!("HTTP status {}", status.as_u16()))
        } else if let Some(e) = read_error {
            Some(e)
        } else if too_long {
            Some(format!(
                "answer longer than {} KiB is not an acknowledgement",
                ANSWER_READ_LIMIT / 1024
            ))
        } else {
            (self.acknowledge)(&buf).err()
        };
        Outcome {
            status: Some(status.as_u16()),
            answer: Some(answer),
            error,
        }
    }
}

/// Runs `work` until simulated time reaches `deadline`; then gives up with `on_timeout()`.
async fn with_deadline<T>(
    clock: &Clock,
    deadline: i64,
    work: impl Future<Output = T>,
    on_timeout: impl FnOnce() -> T,
) -> T {
    tokio::select! {
        biased;
        out = work => out,
        () = clock.sleep_until(deadline) => on_timeout(),
    }
}

/// ms as the clock's i64, saturating.
fn clamp_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Why a delivery stopped waiting to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Halt {
    /// The simulator is shutting down.
    Closing,
    /// The permits were closed (never happens in practice).
    Closed,
}

/// A delivery's place in the book; dropping it (finished, or the runtime went away) frees it.
#[derive(Debug)]
struct Slot {
    inner: Arc<Inner>,
    id: u64,
    /// `Some(due)` while parked for a retry, `None` while active.
    parked_until: Option<i64>,
}

impl Slot {
    /// Parks the delivery until `due`: it no longer counts as busy for `wait_idle` until then.
    fn park(&mut self, due: i64) {
        {
            let mut book = self.inner.book.lock();
            book.active = book.active.saturating_sub(1);
            book.waiting.insert((due, self.id));
        }
        self.parked_until = Some(due);
        self.inner.notify();
    }

    /// Waits until the delivery may start, then takes a permit if it will `send` a request.
    /// A parked delivery waits for its due time and for every delivery due before it to leave
    /// the book, and takes its permit before leaving itself, so deliveries released by one
    /// clock move queue for permits in due order. `Err` only if the permits were closed.
    async fn start<'a>(
        &mut self,
        permits: &'a Semaphore,
        send: bool,
    ) -> Result<Option<SemaphorePermit<'a>>, Halt> {
        if let Some(due) = self.parked_until {
            let mut closing = self.inner.closing.subscribe();
            tokio::select! {
                () = self.inner.clock.sleep_until(due) => {}
                _ = closing.wait_for(|closing| *closing) => return Err(Halt::Closing),
            }
            // Everything ahead in the book is due too (it sorts first), so it leaves soon.
            let mut changes = self.inner.changed.subscribe();
            loop {
                let head = self.inner.book.lock().waiting.first().copied();
                if head.is_none_or(|head| head == (due, self.id)) {
                    break;
                }
                if changes.changed().await.is_err() {
                    break;
                }
            }
        }
        let permit = if send {
            Some(
                permits
                    .acquire()
                    .await
                    .map_err(|_: AcquireError| Halt::Closed)?,
            )
        } else {
            None
        };
        self.unpark();
        Ok(permit)
    }

    /// Makes the delivery active again once its due time has come.
    fn unpark(&mut self) {
        if let Some(due) = self.parked_until.take() {
            {
                let mut book = self.inner.book.lock();
                book.waiting.remove(&(due, self.id));
                book.active += 1;
            }
            self.inner.notify();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut book = self.inner.book.lock();
            match self.parked_until {
                Some(due) => {
                    book.waiting.remove(&(due, self.id));
                }
                None => book.active = book.active.saturating_sub(1),
            }
        }
        self.inner.notify();
    }
}

/// Sends one delivery: attempt n (from 1) starts at `first + (n-1) × interval` on the clock,
/// where `first` is the start of attempt 1 (after any delay), or at once if the previous
/// attempt ran past that. The plan's simulated failures take the first attempts; once one is
/// acknowledged, the plan's duplicate copies follow, one attempt each.
async fn deliver(mut slot: Slot, job: Job) {
    let inner = Arc::clone(&slot.inner);
    let attempts = job.policy.attempts.max(1);
    let interval_ms = clamp_ms(duration_ms(job.policy.interval));
    let mut first_ms: Option<i64> = None;
    let mut acknowledged = false;
    for n in 1..=attempts {
        if let Some(first) = first_ms {
            slot.park(first.saturating_add(interval_ms.saturating_mul(i64::from(n - 1))));
        }
        let simulated = n <= job.fail_attempts;
        let permit = match slot.start(&inner.permits, !simulated).await {
            Ok(permit) => permit,
            Err(Halt::Closing) => {
                let outcome =
                    Outcome::failed(format!("{SHUTDOWN_UNSENT} before attempt {n} was due"));
                inner.journal_outcome(&job, n, 0, inner.clock.now_ms(), outcome, true);
                return;
            }
            // The semaphore is never closed; if it were, the delivery simply ends.
            Err(Halt::Closed) => return,
        };
        let started = inner.clock.now_ms();
        first_ms.get_or_insert(started);
        let outcome = if simulated {
            Outcome::failed(job.by_scenario("simulated failure"))
        } else {
            inner.attempt(&job).await
        };
        drop(permit);
        acknowledged = inner.journal_outcome(&job, n, 0, started, outcome, n == attempts);
        if acknowledged {
            break;
        }
    }
    if !acknowledged {
        return;
    }
    for copy in 1..=job.duplicates {
        let Ok(permit) = inner.permits.acquire().await else {
            return;
        };
        let started = inner.clock.now_ms();
        let outcome = inner.attempt(&job).await;
        drop(permit);
        inner.journal_outcome(&job, 1, copy, started, outcome, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::SocketAddr;

    use axum::extract::State;
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::Router;
    use tokio::net::TcpListener;

    const SEED_BODY: &str = "code=0&requestId=4000048858&appid=12516&projectid=0&text=%5B0%3A1.640%2C0%3A4.600%5D++%E6%88%91%E5%9C%A8%E9%A9%AC%E4%B8%8A%E4%B8%8A%E5%A4%9C%E7%8F%AD%E3%80%82%0A%5B0%3A5.420%2C0%3A7.820%5D++%E6%98%8E%E5%A4%A9%E6%97%A9%E4%B8%8A%E8%AF%B4%E5%93%88%E3%80%82%0A&audioTime=8.420000&message=&resultDetail=";
    const START: i64 = 1_000_000;
    /// What the test receivers answer to acknowledge.
    const ACKNOWLEDGEMENT: &str = r#"{"code":0,"message":"success"}"#;
    /// The content type the test payloads carry.
    const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

    /// The test receivers' acknowledgement rule: exactly [`ACKNOWLEDGEMENT`].
    fn exact_ack(answer: &[u8]) -> Result<(), String> {
        if answer == ACKNOWLEDGEMENT.as_bytes() {
            Ok(())
        } else {
            Err("not the acknowledgement".to_owned())
        }
    }

    /// A form payload with `body`.
    fn form(body: impl Into<String>) -> Payload {
        Payload {
            body: body.into(),
            content_type: FORM_CONTENT_TYPE,
        }
    }

    /// The seed's callback example, as its provider encodes it.
    fn seed() -> Payload {
        form(SEED_BODY)
    }

    /// What a test receiver does with request number `n` (from 1).
    #[derive(Debug, Clone, Copy)]
    enum Reply {
        Ack,
        Status(u16),
        Json(&'static str),
        /// Never answers.
        Hang,
        /// Acknowledges after this many real ms (to overlap requests).
        SlowAck(u64),
    }

    /// One request as received: (Content-Type, User-Agent, body).
    type SeenRequest = (Option<String>, Option<String>, String);

    /// Counters a test receiver keeps.
    #[derive(Debug, Default)]
    struct Seen {
        hits: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        requests: Mutex<Vec<SeenRequest>>,
    }

    #[derive(Clone)]
    struct Receiver {
        script: fn(usize) -> Reply,
        seen: Arc<Seen>,
    }

    async fn handle(State(rx): State<Receiver>, headers: HeaderMap, body: String) -> Response {
        let n = rx.seen.hits.fetch_add(1, Ordering::SeqCst) + 1;
        let now = rx.seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        rx.seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let text = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        rx.seen
            .requests
            .lock()
            .push((text(header::CONTENT_TYPE), text(header::USER_AGENT), body));
        let reply = match (rx.script)(n) {
            Reply::Ack => ACKNOWLEDGEMENT.into_response(),
            Reply::Status(code) => (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                ACKNOWLEDGEMENT,
            )
                .into_response(),
            Reply::Json(text) => text.into_response(),
            Reply::Hang => std::future::pending::<Response>().await,
            Reply::SlowAck(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ACKNOWLEDGEMENT.into_response()
            }
        };
        rx.seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        reply
    }

    /// A receiver on a fresh loopback port answering per `script`.
    async fn receiver(script: fn(usize) -> Reply) -> (String, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let app = Router::new()
            .route("/cb", post(handle))
            .with_state(Receiver {
                script,
                seen: Arc::clone(&seen),
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}/cb"), seen)
    }

    fn callbacks(clock: &Clock, policy: CallbackPolicy, concurrency: usize) -> Callbacks {
        Callbacks::new(
            clock.clone(),
            policy,
            concurrency,
            DEFAULT_JOURNAL_CAPACITY,
            exact_ack,
        )
    }

    /// `wait_idle`, but a hang fails the test instead of stalling it.
    async fn idle(cb: &Callbacks) {
        tokio::time::timeout(Duration::from_secs(10), cb.wait_idle())
            .await
            .expect("callbacks went idle");
    }

    /// Waits (in real time) until the receiver has seen `n` requests.
    async fn hits(seen: &Seen, n: usize) {
        for _ in 0..1000 {
            if seen.hits.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("receiver never saw {n} requests");
    }

    #[tokio::test]
    async fn an_acknowledged_callback_is_sent_once() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        cb.enqueue(4_000_048_858, url.clone(), seed());
        idle(&cb).await;
        let attempts = cb.attempts_for(4_000_048_858);
        assert_eq!(attempts.len(), 1);
        let a = &attempts[0];
        assert_eq!((a.attempt, a.time_ms, a.latency_ms), (1, START, 0));
        assert_eq!(a.url, url);
        assert_eq!(a.body, SEED_BODY);
        assert_eq!(a.status, Some(200));
        assert_eq!(a.answer.as_deref(), Some(ACKNOWLEDGEMENT));
        assert_eq!(a.error, None);
        assert!(a.acknowledged && a.final_attempt);
        assert_eq!(cb.pending(), 0);
        let requests = seen.requests.lock().clone();
        assert_eq!(
            requests,
            vec![(
                Some(FORM_CONTENT_TYPE.to_owned()),
                Some(USER_AGENT.to_owned()),
                SEED_BODY.to_owned()
            )]
        );
        assert!(cb.attempts_for(1).is_empty());
    }

    #[tokio::test]
    async fn a_failed_attempt_is_retried_one_interval_later_on_the_clock() {
        let first_failures: [fn(usize) -> Reply; 3] = [
            |n| {
                if n == 1 {
                    Reply::Status(500)
                } else {
                    Reply::Ack
                }
            },
            |n| {
                if n == 1 {
                    Reply::Json(r#"{"code":1,"message":"busy"}"#)
                } else {
                    Reply::Ack
                }
            },
            |n| {
                if n == 1 {
                    Reply::Json("OK")
                } else {
                    Reply::Ack
                }
            },
        ];
        for script in first_failures {
            let (url, seen) = receiver(script).await;
            let clock = Clock::manual(START);
            let cb = callbacks(&clock, CallbackPolicy::default(), 4);
            cb.enqueue(7, url, seed());
            idle(&cb).await;
            let first = cb.attempts();
            assert_eq!(first.len(), 1);
            assert!(!first[0].acknowledged && !first[0].final_attempt);
            assert!(first[0].error.is_some());
            assert_eq!(cb.pending(), 1, "the retry is parked");

            clock.advance(Duration::from_millis(4_999));
            idle(&cb).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(cb.attempts().len(), 1, "not due yet");
            assert_eq!(seen.hits.load(Ordering::SeqCst), 1);

            clock.advance(Duration::from_millis(1));
            idle(&cb).await;
            let all = cb.attempts();
            assert_eq!(all.len(), 2);
            assert_eq!(all[1].attempt, 2);
            assert_eq!(all[1].time_ms, START + 5_000);
            assert!(all[1].acknowledged && all[1].final_attempt);
            assert_eq!(cb.pending(), 0);
        }
    }

    #[tokio::test]
    async fn the_callers_rule_decides_what_acknowledges() {
        let (url, _seen) = receiver(|_| Reply::Json("OK")).await;
        let clock = Clock::manual(START);
        let anything = Callbacks::new(clock.clone(), CallbackPolicy::default(), 4, 8, |_| Ok(()));
        anything.enqueue(1, url.clone(), seed());
        idle(&anything).await;
        assert!(anything.attempts_for(1)[0].acknowledged);

        let nothing = Callbacks::new(clock, CallbackPolicy::default(), 4, 8, |_| {
            Err("never good enough".to_owned())
        });
        nothing.enqueue(2, url, seed());
        idle(&nothing).await;
        let refused = &nothing.attempts_for(2)[0];
        assert_eq!(refused.status, Some(200));
        assert_eq!(refused.answer.as_deref(), Some("OK"));
        assert_eq!(refused.error.as_deref(), Some("never good enough"));
        assert!(!refused.acknowledged && !refused.final_attempt);
    }

    #[tokio::test]
    async fn failing_receivers_get_exactly_the_policy_attempts() {
        let (url, seen) = receiver(|_| Reply::Status(503)).await;
        let clock = Clock::manual(START);
        let policy = CallbackPolicy {
            attempts: 3,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        };
        let cb = callbacks(&clock, policy, 4);
        cb.enqueue(9, url, seed());
        for _ in 0..5 {
            idle(&cb).await;
            clock.advance(Duration::from_secs(5));
        }
        idle(&cb).await;
        let all = cb.attempts_for(9);
        assert_eq!(all.len(), 3);
        assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
        let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
        assert_eq!(times, vec![START, START + 5_000, START + 10_000]);
        assert_eq!(
            all.iter().map(|a| a.final_attempt).collect::<Vec<_>>(),
            vec![false, false, true]
        );
        assert!(all.iter().all(|a| !a.acknowledged && a.status == Some(503)));
        assert_eq!(all[2].error.as_deref(), Some("HTTP status 503"));
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn an_unreachable_receiver_is_a_failed_attempt() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let clock = Clock::manual(START);
        let policy = CallbackPolicy {
            attempts: 1,
            ..CallbackPolicy::default()
        };
        let cb = callbacks(&clock, policy, 4);
        cb.enqueue(3, format!("http://{addr}/cb"), seed());
        idle(&cb).await;
        let all = cb.attempts();
        assert_eq!(all.len(), 1);
        let error = all[0].error.clone().unwrap_or_default();
        assert!(error.starts_with("connection failed: "), "{error}");
        assert!(all[0].final_attempt && !all[0].acknowledged);
        assert_eq!(all[0].status, None);
    }

    #[tokio::test]
    async fn a_hanging_receiver_times_out_on_the_clock() {
        let (url, seen) = receiver(|_| Reply::Hang).await;
        let clock = Clock::manual(START);
        let policy = CallbackPolicy {
            attempts: 1,
            ..CallbackPolicy::default()
        };
        let cb = callbacks(&clock, policy, 4);
        cb.enqueue(5, url, seed());
        hits(&seen, 1).await;
        clock.advance(Duration::from_millis(9_999));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(cb.attempts().is_empty(), "still in flight");
        assert_eq!(cb.pending(), 1);
        clock.advance(Duration::from_millis(1));
        idle(&cb).await;
        let all = cb.attempts();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].latency_ms, 10_000);
        assert_eq!(
            all[0].error.as_deref(),
            Some("no answer within 10 s (simulator clock)")
        );
        assert_eq!(all[0].status, None);
        assert!(all[0].final_attempt);
    }

    #[tokio::test]
    async fn only_concurrency_attempts_reach_the_receiver_at_once() {
        // Every attempt hangs until the clock times it out, so exactly `concurrency` requests
        // can be at the receiver; the rest wait for a permit.
        let (url, seen) = receiver(|_| Reply::Hang).await;
        let clock = Clock::manual(START);
        let policy = CallbackPolicy {
            attempts: 1,
            ..CallbackPolicy::default()
        };
        let cb = callbacks(&clock, policy, 2);
        for task in 0..5 {
            cb.enqueue(task, url.clone(), seed());
        }
        for expected in [2, 4, 5] {
            hits(&seen, expected).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(seen.hits.load(Ordering::SeqCst), expected);
            clock.advance(Duration::from_secs(10));
        }
        idle(&cb).await;
        let all = cb.attempts();
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|a| a.error.is_some() && a.final_attempt));
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let (url, seen) = receiver(|_| Reply::SlowAck(40)).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 2);
        for task in 0..8 {
            cb.enqueue(task, url.clone(), seed());
        }
        assert_eq!(cb.pending(), 8);
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 8);
        let max = seen.max_in_flight.load(Ordering::SeqCst);
        assert!((1..=2).contains(&max), "{max} requests at once");
        assert_eq!(cb.attempts().iter().filter(|a| a.acknowledged).count(), 8);
    }

    #[tokio::test]
    async fn the_journal_keeps_only_the_newest_attempts() {
        let (url, _seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = Callbacks::new(clock, CallbackPolicy::default(), 4, 3, exact_ack);
        for task in 1..=5 {
            cb.enqueue(task, url.clone(), seed());
            idle(&cb).await;
        }
        let ids: Vec<u64> = cb.attempts().iter().map(|a| a.task_id).collect();
        assert_eq!(ids, vec![3, 4, 5]);
        cb.clear();
        assert!(cb.attempts().is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn enqueue_never_waits_for_the_receiver() {
        // On a single-threaded runtime, any wait inside enqueue would deadlock this test.
        let (url, _seen) = receiver(|_| Reply::Hang).await;
        let cb = callbacks(&Clock::manual(START), CallbackPolicy::default(), 1);
        cb.set_queue_capacity(50);
        for task in 0..50 {
            cb.enqueue(task, url.clone(), seed());
        }
        assert_eq!(cb.pending(), 50);
        assert!(cb.attempts().is_empty());
        // One more than the queue holds is dropped, and the drop journaled.
        cb.enqueue(50, url, seed());
        assert_eq!(cb.pending(), 50);
        let dropped = cb.attempts_for(50);
        assert_eq!(dropped.len(), 1);
        assert!(dropped[0].final_attempt && !dropped[0].acknowledged);
        assert_eq!(
            dropped[0].error.as_deref(),
            Some("callback queue is full (50 deliveries unfinished); delivery dropped")
        );
    }

    #[tokio::test]
    async fn a_raw_body_goes_out_with_its_own_policy() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let policy = CallbackPolicy {
            attempts: 1,
            interval: Duration::ZERO,
            timeout: Duration::from_secs(1),
        };
        cb.enqueue_with(11, url, form("not=a&real=form"), policy);
        idle(&cb).await;
        assert!(cb.attempts_for(11)[0].acknowledged);
        assert_eq!(seen.requests.lock()[0].2, "not=a&real=form");
    }

    /// A plan for scenario `name`; the rest as the provider does.
    fn plan(name: &str) -> DeliveryPlan {
        DeliveryPlan {
            scenario: Some(name.to_owned()),
            ..DeliveryPlan::default()
        }
    }

    #[tokio::test]
    async fn a_delayed_delivery_waits_on_the_clock() {
        let (url, seen) = receiver(|n| {
            if n == 1 {
                Reply::Status(500)
            } else {
                Reply::Ack
            }
        })
        .await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let delayed = DeliveryPlan {
            delay_ms: 3_000,
            ..plan("slow")
        };
        cb.enqueue_planned(21, url, seed(), delayed);
        assert_eq!(cb.pending(), 1);
        idle(&cb).await;
        clock.advance(Duration::from_millis(2_999));
        idle(&cb).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 0, "not due yet");
        assert!(cb.attempts().is_empty());
        assert_eq!(cb.pending(), 1);

        clock.advance(Duration::from_millis(1));
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        // The retry schedule counts from the delayed first attempt.
        clock.advance(Duration::from_millis(4_999));
        idle(&cb).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_millis(1));
        idle(&cb).await;
        let all = cb.attempts_for(21);
        let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
        assert_eq!(times, vec![START + 3_000, START + 8_000]);
        assert!(all[1].acknowledged && all[1].final_attempt);
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn a_simulated_failure_sends_nothing_and_is_retried() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let flaky = DeliveryPlan {
            fail_attempts: 1,
            ..plan("flaky")
        };
        cb.enqueue_planned(22, url, seed(), flaky);
        idle(&cb).await;
        let first = cb.attempts_for(22);
        assert_eq!(first.len(), 1);
        let a = &first[0];
        assert_eq!((a.attempt, a.time_ms, a.latency_ms), (1, START, 0));
        assert_eq!((a.status, a.answer.as_deref()), (None, None));
        assert_eq!(
            a.error.as_deref(),
            Some("simulated failure (scenario flaky)")
        );
        assert!(!a.acknowledged && !a.final_attempt);
        assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
        assert_eq!(cb.pending(), 1, "the retry is parked");

        clock.advance(Duration::from_secs(5));
        idle(&cb).await;
        let all = cb.attempts_for(22);
        assert_eq!(all.len(), 2);
        assert_eq!((all[1].attempt, all[1].time_ms), (2, START + 5_000));
        assert_eq!(all[1].status, Some(200));
        assert!(all[1].acknowledged && all[1].final_attempt);
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn simulated_failures_can_use_up_every_attempt() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        for (task, fail_attempts) in [(23, 2), (24, 7)] {
            let broken = DeliveryPlan {
                fail_attempts,
                ..plan("down")
            };
            cb.enqueue_planned(task, url.clone(), seed(), broken);
        }
        for _ in 0..3 {
            idle(&cb).await;
            clock.advance(Duration::from_secs(5));
        }
        idle(&cb).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
        for task in [23, 24] {
            let all = cb.attempts_for(task);
            let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
            assert_eq!(times, vec![START, START + 5_000]);
            assert_eq!(
                all.iter().map(|a| a.final_attempt).collect::<Vec<_>>(),
                vec![false, true]
            );
            assert!(all.iter().all(|a| !a.acknowledged && a.status.is_none()));
        }
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn duplicates_follow_the_acknowledged_attempt() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let twice_more = DeliveryPlan {
            duplicates: 2,
            ..plan("echo")
        };
        cb.enqueue_planned(25, url, seed(), twice_more);
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
        let bodies: Vec<String> = seen.requests.lock().iter().map(|r| r.2.clone()).collect();
        assert_eq!(bodies, vec![SEED_BODY.to_owned(); 3]);
        let all = cb.attempts_for(25);
        assert_eq!(
            all.iter().map(|a| a.copy).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(all.iter().all(|a| a.attempt == 1 && a.time_ms == START));
        assert!(all.iter().all(|a| a.acknowledged && a.final_attempt));
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn no_duplicates_without_an_acknowledgement() {
        let (url, seen) = receiver(|_| Reply::Status(500)).await;
        let clock = Clock::manual(START);
        let policy = CallbackPolicy {
            attempts: 1,
            ..CallbackPolicy::default()
        };
        let cb = callbacks(&clock, policy, 4);
        let echo = DeliveryPlan {
            duplicates: 2,
            ..plan("echo")
        };
        cb.enqueue_planned(26, url, seed(), echo);
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        assert_eq!(cb.attempts_for(26).len(), 1);
    }

    #[tokio::test]
    async fn a_dropped_delivery_is_journaled_once_and_never_sent() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let lost = DeliveryPlan {
            drop: true,
            delay_ms: 1_000,
            ..plan("lost")
        };
        cb.enqueue_planned(27, url.clone(), seed(), lost);
        assert_eq!(cb.pending(), 0);
        clock.advance(Duration::from_secs(60));
        idle(&cb).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
        let all = cb.attempts_for(27);
        assert_eq!(all.len(), 1);
        let a = &all[0];
        assert_eq!((a.attempt, a.time_ms, a.copy), (1, START, 0));
        assert_eq!((a.url.as_str(), a.body.as_str()), (url.as_str(), SEED_BODY));
        assert_eq!(a.status, None);
        assert_eq!(a.error.as_deref(), Some("dropped (scenario lost)"));
        assert!(a.final_attempt && !a.acknowledged);
    }

    #[tokio::test]
    async fn every_entry_names_its_scenario() {
        let (url, _seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        let mixed = DeliveryPlan {
            fail_attempts: 1,
            duplicates: 1,
            ..plan("mixed")
        };
        cb.enqueue_planned(28, url.clone(), seed(), mixed);
        cb.enqueue(29, url.clone(), seed());
        idle(&cb).await;
        clock.advance(Duration::from_secs(5));
        idle(&cb).await;
        cb.set_queue_capacity(1);
        let parked = DeliveryPlan {
            delay_ms: 1,
            ..plan("parked")
        };
        cb.enqueue_planned(30, url.clone(), seed(), parked);
        cb.enqueue_planned(31, url, seed(), plan("full"));

        let planned = cb.attempts_for(28);
        assert_eq!(planned.len(), 3);
        assert!(planned
            .iter()
            .all(|a| a.scenario.as_deref() == Some("mixed")));
        assert_eq!(
            planned.iter().map(|a| a.copy).collect::<Vec<_>>(),
            vec![0, 0, 1]
        );
        let ordinary = cb.attempts_for(29);
        assert_eq!(ordinary.len(), 1);
        assert_eq!(
            (ordinary[0].scenario.as_deref(), ordinary[0].copy),
            (None, 0)
        );
        let full = cb.attempts_for(31);
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].scenario.as_deref(), Some("full"));
        assert!(full[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("callback queue is full")));
        let json = serde_json::to_value(&planned[2]).unwrap();
        assert_eq!(
            (json["scenario"].as_str(), json["copy"].as_u64()),
            (Some("mixed"), Some(1))
        );
    }

    #[tokio::test]
    async fn delayed_deliveries_count_toward_the_queue_bound() {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        cb.set_queue_capacity(2);
        for task in 40..43 {
            let later = DeliveryPlan {
                delay_ms: 1_000,
                ..DeliveryPlan::default()
            };
            cb.enqueue_planned(task, url.clone(), seed(), later);
        }
        assert_eq!(cb.pending(), 2);
        let dropped = cb.attempts_for(42);
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            dropped[0].error.as_deref(),
            Some("callback queue is full (2 deliveries unfinished); delivery dropped")
        );
        clock.advance(Duration::from_secs(1));
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 2);
        assert_eq!(cb.pending(), 0);
    }

    #[tokio::test]
    async fn shorter_delays_overtake_longer_ones() {
        // One permit, so arrival order is start order; the clock passes both delays at once.
        for _ in 0..5 {
            let (url, seen) = receiver(|_| Reply::Ack).await;
            let clock = Clock::manual(START);
            let cb = callbacks(&clock, CallbackPolicy::default(), 1);
            for (task, delay_ms) in [(51, 2_000), (52, 1_000)] {
                let jittered = DeliveryPlan {
                    delay_ms,
                    ..plan("jitter")
                };
                cb.enqueue_planned(task, url.clone(), form(format!("task={task}")), jittered);
            }
            idle(&cb).await;
            assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
            clock.advance(Duration::from_millis(2_000));
            idle(&cb).await;
            let bodies: Vec<String> = seen.requests.lock().iter().map(|r| r.2.clone()).collect();
            assert_eq!(bodies, vec!["task=52".to_owned(), "task=51".to_owned()]);
            let tasks: Vec<u64> = cb.attempts().iter().map(|a| a.task_id).collect();
            assert_eq!(tasks, vec![52, 51]);
            assert_eq!(cb.pending(), 0);
        }
    }
}
