//! Provider B's tasks: a bounded store, the pure state machine in [`model`], and a scheduler
//! that wakes at each task's due time on the simulator clock (no busy polling) to end it,
//! hand its callback to the dispatcher, and later forget it.
//!
//! Polls and callbacks always agree: a task's end is recorded once, by whichever comes
//! first — the scheduler at the due time, a poll that sees the final status (poll-count
//! mode), or a forced transition — and only then is its callback sent.

pub mod durable;
pub mod model;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::engine::Engine;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;

use std::time::Duration;

use rand::Rng;

pub use super::recipe::SubmitOptions;
use crate::bus::{Bus, BusSlot, Topic};
use crate::clock::Clock;
use crate::failure::FailureCode;
use crate::outbound::callbacks::{CallbackPolicy, Callbacks, DeliveryPlan};
use crate::providers::icu::callback::CallbackForm;
use crate::providers::icu::recipe::Renders;
use crate::providers::icu::result::Rendered;
use crate::scenarios::CallbackBehaviour;
pub use durable::Durable;
pub use model::{Outcome, Plan, Progress, Scripted, Status, Task, TaskSpec};

/// Settings of the task engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How tasks advance (clock or poll count).
    pub progress: Progress,
    /// How long an ended task stays queryable (24 h by default).
    pub retention_ms: i64,
    /// Most tasks kept; past that the oldest is forgotten.
    pub capacity: usize,
    /// The callback's `appid`.
    pub appid: u64,
    /// Whether a ResTextFormat 0 callback carries an empty `resultDetail=` (the seed's
    /// example) instead of leaving the field out (the seed's table).
    pub empty_result_detail: bool,
    /// The server seed, for scenario callback jitter.
    pub seed: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            progress: Progress::Time,
            retention_ms: 24 * 3600 * 1000,
            capacity: 100_000,
            appid: 12516,
            empty_result_detail: false,
            seed: 0,
        }
    }
}

/// What a poll sees.
#[derive(Debug, Clone)]
pub struct TaskView {
    /// The TaskId.
    pub id: u64,
    /// The status shown.
    pub status: Status,
    /// The outcome, when the status is final.
    pub outcome: Option<Outcome>,
    /// A successful outcome's result, rendered (through the cache) for this answer.
    pub result: Option<Arc<Rendered>>,
}

/// A task's planned end, waiting in the heap.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at_ms: i64,
    seq: u64,
    task_id: u64,
}

#[derive(Debug, Default)]
struct Store {
    /// Boxed: a dense map of pointers wastes little on the empty half of its table.
    /// foldhash, not SipHash: every poll looks its task up (ids are ours, the hasher seeded).
    tasks: HashMap<u64, Box<Task>, foldhash::fast::RandomState>,
    /// Insertion order, for evicting the oldest; may hold ids already gone.
    order: VecDeque<u64>,
    /// Planned ends, earliest first.
    due: BinaryHeap<Reverse<Due>>,
    /// Ended tasks by end time: retention is one constant and the clock never goes back,
    /// so a queue keeps them in expiry order without a heap.
    expiries: VecDeque<(i64, u64)>,
    next_seq: u64,
}

impl Store {
    fn schedule(&mut self, at_ms: i64, task_id: u64) {
        self.next_seq += 1;
        self.due.push(Reverse(Due {
            at_ms,
            seq: self.next_seq,
            task_id,
        }));
    }

    /// The earliest time anything is due: a planned end or an expiry.
    fn next_due(&self, retention_ms: i64) -> Option<i64> {
        let end = self.due.peek().map(|Reverse(d)| d.at_ms);
        let expiry = self
            .expiries
            .front()
            .map(|(ended, _)| ended.saturating_add(retention_ms));
        match (end, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The task engine: cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskEngine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    settings: Mutex<EngineSettings>,
    store: Mutex<Store>,
    wake: Notify,
    callbacks: Callbacks,
    /// Bumped on every change to a task, so persistence knows when to save.
    changes: AtomicU64,
    /// Results rendered lately: tasks keep recipes, polls and callbacks need the text.
    renders: Renders,
    /// Where task changes are announced (the dashboard).
    bus: BusSlot,
}

impl TaskEngine {
    /// An engine on `clock`, sending callbacks through `callbacks`.
    pub fn new(clock: Clock, settings: EngineSettings, callbacks: Callbacks) -> Self {
        TaskEngine {
            inner: Arc::new(Inner {
                clock,
                settings: Mutex::new(settings),
                store: Mutex::new(Store::default()),
                wake: Notify::new(),
                callbacks,
                changes: AtomicU64::new(0),
                renders: Renders::default(),
                bus: BusSlot::default(),
            }),
        }
    }

    /// Announces task changes on `bus` from now on.
    pub fn connect_bus(&self, bus: Bus) {
        self.inner.bus.connect(bus);
    }

    /// Tells the dashboard that task `id` changed (`what`: submitted, planned, ended…).
    fn announce(&self, id: u64, what: &'static str) {
        self.inner.bus.publish_with(
            Topic::Task,
            || serde_json::json!({ "task_id": id.to_string(), "change": what }),
        );
    }

    /// The callback dispatcher.
    pub fn callbacks(&self) -> &Callbacks {
        &self.inner.callbacks
    }

    /// The cache of rendered results (examination fills it too).
    pub fn renders(&self) -> &Renders {
        &self.inner.renders
    }

    /// The current settings.
    pub fn settings(&self) -> EngineSettings {
        self.inner.settings.lock().clone()
    }

    /// Switches between clock and poll-count progress (control API).
    pub fn set_progress(&self, progress: Progress) {
        self.inner.settings.lock().progress = progress;
        self.inner.wake.notify_one();
    }

    /// Whether `id` is taken (TaskIds are drawn at random and must not repeat).
    pub fn contains(&self, id: u64) -> bool {
        self.inner.store.lock().tasks.contains_key(&id)
    }

    /// Adds a new task (outcome possibly still unknown, plan possibly known already for
    /// inline audio), evicting the oldest when full.
    pub fn insert(&self, task: Task) {
        let capacity = self.inner.settings.lock().capacity.max(1);
        let mut store = self.inner.store.lock();
        while store.tasks.len() >= capacity {
            match store.order.pop_front() {
                Some(old) => {
                    store.tasks.remove(&old);
                }
                None => break,
            }
        }
        // Evicted and expired tasks leave ids and events behind; sweep them now and then
        // so both stay proportional to the capacity.
        if store.order.len() > 2 * capacity {
            let Store { tasks, order, .. } = &mut *store;
            order.retain(|id| tasks.contains_key(id));
        }
        if store.due.len() > 4 * capacity {
            let Store { tasks, due, .. } = &mut *store;
            due.retain(|Reverse(d)| tasks.contains_key(&d.task_id));
        }
        if store.expiries.len() > 2 * capacity {
            let Store {
                tasks, expiries, ..
            } = &mut *store;
            expiries.retain(|(_, id)| tasks.contains_key(id));
        }
        let id = task.id;
        let due = task.plan.as_ref().map(|p| p.done_at_ms);
        let scripted_end = task.script.as_ref().and_then(|s| s.timed_end_ms());
        // A scripted task whose outcome is known at once (inline audio) ends as soon as its
        // steps are over, as `set_plan` arranges for one examined later.
        let scripted_now =
            (task.script.is_some() && task.plan.is_some()).then(|| self.inner.clock.now_ms());
        store.order.push_back(id);
        store.tasks.insert(id, Box::new(task));
        for at in [due, scripted_end, scripted_now].into_iter().flatten() {
            store.schedule(at, id);
        }
        drop(store);
        self.touch();
        self.announce(id, "submitted");
        self.inner.wake.notify_one();
    }

    /// Sets the plan of a task whose audio has just been examined. Returns false when the
    /// task is gone (evicted or reset meanwhile) or already ended (forced).
    pub fn set_plan(&self, id: u64, plan: Plan) -> bool {
        let mut store = self.inner.store.lock();
        let Some(task) = store.tasks.get_mut(&id) else {
            return false;
        };
        if task.finished_ms.is_some() || task.plan.is_some() {
            return false;
        }
        let at = plan.done_at_ms;
        task.plan = Some(plan);
        let scripted = task.script.is_some();
        store.schedule(at, id);
        if scripted {
            // A scripted task whose steps are already over ends once its outcome is known.
            store.schedule(self.inner.clock.now_ms(), id);
        }
        drop(store);
        self.touch();
        self.announce(id, "planned");
        self.inner.wake.notify_one();
        true
    }

    /// Answers a poll: counts it, computes the status, and ends the task if this poll is
    /// the first to see it final. `None` for unknown or expired ids.
    pub fn poll(&self, id: u64) -> Option<TaskView> {
        let now = self.inner.clock.now_ms();
        let settings = self.settings();
        let progress = settings.progress;
        let mut store = self.inner.store.lock();
        let task = store.tasks.get_mut(&id)?;
        self.touch();
        let (status, ended) = task.evaluate(now, progress, true);
        let outcome = status.is_final().then(|| task.outcome()).flatten();
        if ended {
            self.on_end(&mut store, id, now, &settings);
        }
        drop(store);
        let result = outcome
            .as_ref()
            .and_then(Outcome::recipe)
            .map(|recipe| self.inner.renders.get(recipe));
        Some(TaskView {
            id,
            status,
            outcome,
            result,
        })
    }

    /// A copy of the task, without counting a poll (control API).
    pub fn inspect(&self, id: u64) -> Option<(Task, Status)> {
        let now = self.inner.clock.now_ms();
        let progress = self.inner.settings.lock().progress;
        let store = self.inner.store.lock();
        store
            .tasks
            .get(&id)
            .map(|t| ((**t).clone(), t.peek(now, progress)))
    }

    /// Summaries of the newest `limit` tasks, optionally only those in `status`.
    pub fn list(&self, status: Option<Status>, limit: usize) -> Vec<TaskSummary> {
        let now = self.inner.clock.now_ms();
        let progress = self.inner.settings.lock().progress;
        let store = self.inner.store.lock();
        store
            .order
            .iter()
            .rev()
            .filter_map(|id| store.tasks.get(id))
            .map(|t| TaskSummary {
                task_id: t.id,
                status: t.peek(now, progress),
                created_ms: t.created_ms,
                engine: t.spec.engine,
                polls: t.polls,
            })
            .filter(|s| status.is_none_or(|want| s.status == want))
            .take(limit)
            .collect()
    }

    /// Forces a transition (control API); ends the task and sends its callback when the
    /// target is final.
    pub fn force(
        &self,
        id: u64,
        target: Status,
        failure: Option<(FailureCode, String)>,
    ) -> Result<Status, ForceError> {
        let now = self.inner.clock.now_ms();
        let settings = self.settings();
        let progress = settings.progress;
        let mut store = self.inner.store.lock();
        let task = store.tasks.get_mut(&id).ok_or(ForceError::NoSuchTask)?;
        task.force(target, failure, now, progress)
            .map_err(ForceError::Refused)?;
        self.touch();
        self.announce(id, "forced");
        let (status, ended) = task.evaluate(now, progress, false);
        if ended {
            self.on_end(&mut store, id, now, &settings);
        }
        Ok(status)
    }

    /// Forgets every task and pending event (control API reset).
    pub fn clear(&self) {
        *self.inner.store.lock() = Store::default();
        self.touch();
        self.inner.wake.notify_one();
    }

    /// How many tasks are kept in each status now, in the life cycle's order (metrics).
    pub fn status_counts(&self) -> [(Status, usize); 4] {
        let now = self.inner.clock.now_ms();
        let progress = self.inner.settings.lock().progress;
        let mut counts = [
            (Status::Waiting, 0),
            (Status::Doing, 0),
            (Status::Success, 0),
            (Status::Failed, 0),
        ];
        let store = self.inner.store.lock();
        for task in store.tasks.values() {
            let status = task.peek(now, progress);
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                slot.1 += 1;
            }
        }
        counts
    }

    /// Number of tasks kept.
    pub fn len(&self) -> usize {
        self.inner.store.lock().tasks.len()
    }

    /// Whether no task is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs the scheduler: sleeps on the clock until the earliest due event, then handles
    /// every event that is due. The server aborts it on shutdown.
    pub async fn run_scheduler(self) {
        loop {
            let notified = self.inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let retention = self.inner.settings.lock().retention_ms;
            let next = self.inner.store.lock().next_due(retention);
            match next {
                Some(at) if at <= self.inner.clock.now_ms() => self.run_due(),
                Some(at) => {
                    tokio::select! {
                        _ = self.inner.clock.sleep_until(at) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Handles every event due now.
    pub fn run_due(&self) {
        let now = self.inner.clock.now_ms();
        let settings = self.inner.settings.lock().clone();
        let mut store = self.inner.store.lock();
        while let Some(Reverse(due)) = store.due.peek() {
            if due.at_ms > now {
                break;
            }
            let Some(Reverse(due)) = store.due.pop() else {
                break;
            };
            let Some(task) = store.tasks.get_mut(&due.task_id) else {
                continue;
            };
            self.touch();
            let (_, ended) = task.evaluate(now, settings.progress, false);
            if ended {
                self.on_end(&mut store, due.task_id, now, &settings);
            }
        }
        while let Some(&(ended, id)) = store.expiries.front() {
            if ended.saturating_add(settings.retention_ms) > now {
                break;
            }
            store.expiries.pop_front();
            // Only if it is still the task that ended then (ids are never reused while kept).
            if store
                .tasks
                .get(&id)
                .is_some_and(|t| t.finished_ms.is_some())
            {
                store.tasks.remove(&id);
                self.touch();
            }
        }
    }

    /// How many changes tasks have seen (a counter, for persistence's dirty check).
    pub fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::Relaxed)
    }

    fn touch(&self) {
        self.inner.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Copies of every kept task, oldest first (for saving). The store is locked for a few
    /// thousand clones at a time, so requests never wait for a whole large store to copy; a
    /// task that goes in between is simply left out, which the next save catches up on.
    pub fn snapshot(&self) -> Vec<Task> {
        const CHUNK: usize = 2048;
        let ids: Vec<u64> = {
            let store = self.inner.store.lock();
            let mut seen = std::collections::HashSet::with_capacity(store.tasks.len());
            // `order` may name an id twice (evicted, then drawn again): the last place counts.
            let mut ids: Vec<u64> = store
                .order
                .iter()
                .rev()
                .filter(|id| store.tasks.contains_key(id) && seen.insert(**id))
                .copied()
                .collect();
            ids.reverse();
            ids
        };
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let store = self.inner.store.lock();
            out.extend(
                chunk
                    .iter()
                    .filter_map(|id| store.tasks.get(id).map(|t| (**t).clone())),
            );
        }
        out
    }

    /// Replaces the store with restored tasks (oldest first) and rebuilds their due events:
    /// planned ends, scripted ends and expiries.
    pub fn restore(&self, tasks: Vec<Task>) {
        let now = self.inner.clock.now_ms();
        let mut store = Store::default();
        let mut ended: Vec<(i64, u64)> = Vec::new();
        for task in tasks {
            let id = task.id;
            match task.finished_ms {
                Some(at) => ended.push((at, id)),
                None => {
                    let due = task.plan.as_ref().map(|p| p.done_at_ms);
                    let scripted_end = task.script.as_ref().and_then(|s| s.timed_end_ms());
                    // A scripted task past its steps ends once its outcome is known.
                    let scripted_now =
                        (task.script.is_some() && task.plan.is_some()).then_some(now);
                    for at in [due, scripted_end, scripted_now].into_iter().flatten() {
                        store.schedule(at, id);
                    }
                }
            }
            store.order.push_back(id);
            store.tasks.insert(id, Box::new(task));
        }
        ended.sort_unstable();
        store.expiries = ended.into();
        *self.inner.store.lock() = store;
        self.touch();
        self.inner.wake.notify_one();
    }

    /// Hands an ended task's callback to the dispatcher again (after a restart lost it).
    /// Returns false when the task is gone, has not ended, or has no callback.
    pub fn resend_callback(&self, id: u64) -> bool {
        let settings = self.settings();
        let store = self.inner.store.lock();
        let Some(task) = store.tasks.get(&id) else {
            return false;
        };
        let (Some(url), Some(outcome), Some(_)) = (
            task.spec.callback_url.clone(),
            task.outcome(),
            task.finished_ms,
        ) else {
            return false;
        };
        let form = callback_form(task, &outcome, &self.inner.renders, &settings);
        let behaviour = task.callback_behaviour.clone();
        drop(store);
        match behaviour {
            None => self.inner.callbacks.enqueue(id, url, form.payload()),
            Some(boxed) => {
                let (scenario, behaviour) = &*boxed;
                let plan = delivery_plan(scenario, behaviour, settings.seed, id);
                self.inner
                    .callbacks
                    .enqueue_planned(id, url, form.payload(), plan);
            }
        }
        true
    }

    /// A task has just ended at `now`: schedule its expiry and send its callback.
    fn on_end(&self, store: &mut Store, id: u64, now: i64, settings: &EngineSettings) {
        store.expiries.push_back((now, id));
        self.announce(id, "ended");
        let Some(task) = store.tasks.get_mut(&id) else {
            return;
        };
        let (Some(url), Some(outcome)) = (task.spec.callback_url.clone(), task.outcome()) else {
            return;
        };
        if task.callback_sent {
            return;
        }
        task.callback_sent = true;
        let form = callback_form(task, &outcome, &self.inner.renders, settings);
        match &task.callback_behaviour {
            None => self.inner.callbacks.enqueue(id, url, form.payload()),
            Some(boxed) => {
                let (scenario, behaviour) = &**boxed;
                let plan = delivery_plan(scenario, behaviour, settings.seed, id);
                self.inner
                    .callbacks
                    .enqueue_planned(id, url, form.payload(), plan);
            }
        }
    }
}

/// How a scenario changes one task's callback: its delay (plus a seeded jitter per task,
/// which reorders callbacks across tasks), failures, duplicates, drop, and retry policy.
fn delivery_plan(scenario: &str, b: &CallbackBehaviour, seed: u64, task_id: u64) -> DeliveryPlan {
    let jitter = if b.jitter_ms == 0 {
        0
    } else {
        crate::rng::derive(seed, "callback-jitter", &task_id.to_le_bytes())
            .gen_range(0..=b.jitter_ms)
    };
    let default = CallbackPolicy::default();
    let policy =
        (b.attempts.is_some() || b.interval_ms.is_some() || b.timeout_ms.is_some()).then(|| {
            CallbackPolicy {
                attempts: b.attempts.unwrap_or(default.attempts),
                interval: b
                    .interval_ms
                    .map_or(default.interval, Duration::from_millis),
                timeout: b.timeout_ms.map_or(default.timeout, Duration::from_millis),
            }
        });
    DeliveryPlan {
        policy,
        delay_ms: b.delay_ms.saturating_add(jitter),
        fail_attempts: b.fail_attempts,
        duplicates: b.duplicates,
        drop: b.drop,
        scenario: Some(scenario.to_owned()),
    }
}

/// The provider's callback fields for an ended task.
pub fn callback_form(
    task: &Task,
    outcome: &Outcome,
    renders: &Renders,
    settings: &EngineSettings,
) -> CallbackForm {
    let rendered = outcome.recipe().map(|recipe| renders.get(recipe));
    let (code, message, text, detail, duration_ms) = match outcome {
        Outcome::Success { duration_ms, .. } => (
            0,
            String::new(),
            rendered
                .as_ref()
                .map(|r| r.result.clone())
                .unwrap_or_default(),
            rendered.as_ref().map(|r| &r.detail),
            Some(*duration_ms),
        ),
        Outcome::Failed {
            code,
            message,
            duration_ms,
        } => (
            code.code(),
            message.clone(),
            String::new(),
            None,
            *duration_ms,
        ),
    };
    let result_detail = if task.spec.res_text_format == 0 {
        settings.empty_result_detail.then(String::new)
    } else {
        Some(
            detail
                .map(|d| serde_json::to_string(d).unwrap_or_else(|_| "[]".into()))
                .unwrap_or_else(|| "[]".into()),
        )
    };
    CallbackForm {
        code,
        request_id: task.id,
        appid: settings.appid,
        projectid: 0,
        audio_url: task.spec.audio_url.clone(),
        text,
        audio_time: crate::providers::icu::result::audio_time(duration_ms.unwrap_or(0)),
        message,
        result_detail,
    }
}

/// A line of the control API's task list.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
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

/// Why a forced transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForceError {
    /// Unknown or expired id.
    #[error("no such task")]
    NoSuchTask,
    /// Not a forward move, or no outcome to show.
    #[error("{0}")]
    Refused(String),
}
