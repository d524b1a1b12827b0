//! One delivery on its way: the [`Job`], its [`Slot`] in the book, and [`deliver`], which
//! makes its attempts with retries, each bounded by a deadline on the clock, and journals
//! every one of them.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::outbound::guard::Outbound;
use crate::outbound::{describe_duration, duration_ms, root_cause};

use super::journal::{CallbackAttempt, SHUTDOWN_UNSENT};
use super::plan::CallbackPolicy;
use super::receivers::{Lane, Permits};
use super::{Inner, Payload};

/// How much of a receiver's answer is kept in the journal.
const ANSWER_KEEP: usize = 1024;
/// How much of a receiver's answer is read at most; an acknowledgement is tiny.
const ANSWER_READ_LIMIT: usize = 64 * 1024;

/// One delivery: what to send, where, how often, and what its scenario changes.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) task_id: u64,
    pub(super) url: String,
    pub(super) payload: Payload,
    pub(super) policy: CallbackPolicy,
    /// The first this many attempts fail without a request.
    pub(super) fail_attempts: u32,
    /// Extra copies after the first acknowledgement.
    pub(super) duplicates: u32,
    pub(super) scenario: Option<String>,
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
    pub(super) fn by_scenario(&self, what: &str) -> String {
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

impl Inner {
    /// Journals a delivery that never reached the network.
    pub(super) fn record_unsent(&self, job: Job, error: String) {
        self.count("not_sent");
        tracing::warn!(task_id = job.task_id, url = %job.url, scenario = ?job.scenario, %error, "callback not delivered");
        self.journal.record(CallbackAttempt {
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
        self.count(if acknowledged {
            "acknowledged"
        } else if outcome.status.is_some() {
            "rejected"
        } else if outcome
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(SHUTDOWN_UNSENT))
        {
            "not_sent"
        } else {
            "failed"
        });
        let final_attempt = acknowledged || last;
        let (task_id, url, scenario) = (job.task_id, &job.url, &job.scenario);
        if acknowledged {
            tracing::debug!(task_id, attempt, copy, %url, ?scenario, latency_ms, "callback acknowledged");
        } else if final_attempt {
            tracing::warn!(task_id, attempt, copy, %url, ?scenario, status = ?outcome.status, error = ?outcome.error, "callback failed; no attempts left");
        } else {
            tracing::info!(task_id, attempt, copy, %url, ?scenario, status = ?outcome.status, error = ?outcome.error, "callback failed; will retry");
        }
        self.journal.record(CallbackAttempt {
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

    /// Counts an attempt's outcome in the server's metrics, if it has them.
    fn count(&self, outcome: &'static str) {
        if let Some(metrics) = self.metrics.get() {
            metrics.callback_attempt(outcome);
        }
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

    /// POSTs the payload and judges the answer by the acknowledgement rule.
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

/// Polls `future` once: `Pending` leaves it queued (its waker registered) to be awaited later.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
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
pub(super) fn clamp_ms(ms: u64) -> i64 {
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
pub(super) struct Slot {
    pub(super) inner: Arc<Inner>,
    pub(super) id: u64,
    /// `Some(due)` while parked for a retry, `None` while active.
    pub(super) parked_until: Option<i64>,
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

    /// Waits until the delivery may start, then takes its receiver's permit and a global
    /// one if it will send a request (through `lane`). A parked delivery waits for its due
    /// time and for every delivery due before it to leave the book, and joins the permits'
    /// queues before leaving itself, so deliveries released by one clock move queue in due
    /// order. `Err` only if the permits were closed.
    async fn start<'a>(
        &mut self,
        permits: &'a Semaphore,
        lane: Option<&'a Lane>,
    ) -> Result<Option<Permits<'a>>, Halt> {
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
        let Some(lane) = lane else {
            self.unpark();
            return Ok(None);
        };
        // The receiver's permit first: a delivery waiting for a busy receiver holds none of
        // the global permits. Each wait is polled once (joining its queue) before leaving
        // the book; the global one only once the receiver's is held.
        let mut receiver_wait = pin!(lane.semaphore().acquire());
        let mut global_wait = pin!(permits.acquire());
        let receiver = poll_once(receiver_wait.as_mut()).await;
        let global = match receiver {
            Poll::Ready(_) => poll_once(global_wait.as_mut()).await,
            Poll::Pending => Poll::Pending,
        };
        self.unpark();
        let receiver = match receiver {
            Poll::Ready(held) => held,
            Poll::Pending => receiver_wait.await,
        };
        let receiver = receiver.map_err(|_| Halt::Closed)?;
        let global = match global {
            Poll::Ready(held) => held,
            Poll::Pending => global_wait.await,
        };
        let global = global.map_err(|_| Halt::Closed)?;
        Ok(Some(Permits::new(receiver, global)))
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
pub(super) async fn deliver(mut slot: Slot, job: Job) {
    let inner = Arc::clone(&slot.inner);
    if let Err(why) = inner.guard.check(&job.url, Outbound::Callback).await {
        inner.record_unsent(job, format!("not sent: {why}"));
        return;
    }
    let lane = inner.receivers.lane(&job.url);
    let attempts = job.policy.attempts.max(1);
    let interval_ms = clamp_ms(duration_ms(job.policy.interval));
    let mut first_ms: Option<i64> = None;
    let mut acknowledged = false;
    for n in 1..=attempts {
        if let Some(first) = first_ms {
            slot.park(first.saturating_add(interval_ms.saturating_mul(i64::from(n - 1))));
        }
        let simulated = n <= job.fail_attempts;
        let permit = match slot
            .start(&inner.permits, (!simulated).then_some(&lane))
            .await
        {
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
        let Ok(permit) = lane.acquire(&inner.permits).await else {
            return;
        };
        let started = inner.clock.now_ms();
        let outcome = inner.attempt(&job).await;
        drop(permit);
        inner.journal_outcome(&job, 1, copy, started, outcome, true);
    }
}
