//! The event bus the dashboard listens to (`GET /__admin/events`): what changed, as small
//! JSON notes, on a bounded broadcast channel. Publishers never wait and never buffer for a
//! slow listener: a listener that falls behind loses the oldest notes and is told so (it
//! then reloads everything). With no listener a publish costs one atomic load and builds
//! nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::{broadcast, watch};

/// Notes kept for listeners that have not read them yet; a listener further behind skips
/// to a fresh snapshot.
pub const CAPACITY: usize = 256;

/// What a note is about; the SSE event's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// An icu task was submitted, planned, polled to its end, forced, or ended on the clock.
    Task,
    /// A request was journaled.
    Request,
    /// A callback attempt was journaled.
    Callback,
    /// The clock was set, switched or advanced.
    Clock,
    /// A scenario was activated or deactivated.
    Scenario,
    /// A fixture was added.
    Fixture,
    /// A streaming session opened or closed.
    Stream,
    /// Everything may have changed (a reset): reload it all.
    Snapshot,
}

impl Topic {
    /// The SSE event name.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Task => "task",
            Topic::Request => "request",
            Topic::Callback => "callback",
            Topic::Clock => "clock",
            Topic::Scenario => "scenario",
            Topic::Fixture => "fixture",
            Topic::Stream => "stream",
            Topic::Snapshot => "snapshot",
        }
    }
}

/// One note: its topic and a small JSON body (ids and statuses, not whole records).
#[derive(Debug, Clone)]
pub struct Event {
    /// What it is about.
    pub topic: Topic,
    /// The details.
    pub data: Value,
}

/// The bus; clones share the channel.
#[derive(Debug, Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Event>,
    listeners: AtomicUsize,
    /// Set at shutdown: listeners end, so open event streams do not hold the server up.
    closed: watch::Sender<bool>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Bus {
    /// A bus keeping `capacity` unread notes per listener (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Bus {
            inner: Arc::new(Inner {
                tx,
                listeners: AtomicUsize::new(0),
                closed: watch::Sender::new(false),
            }),
        }
    }

    /// Ends every listener, now and to come (the server is shutting down).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Publishes a note built by `data`, which runs only when someone listens.
    pub fn publish_with(&self, topic: Topic, data: impl FnOnce() -> Value) {
        if self.inner.listeners.load(Ordering::Relaxed) == 0 {
            return;
        }
        // An error only means the last listener left meanwhile.
        let _ = self.inner.tx.send(Event {
            topic,
            data: data(),
        });
    }

    /// A new listener, which sees notes published from now on.
    pub fn subscribe(&self) -> Listener {
        self.inner.listeners.fetch_add(1, Ordering::Relaxed);
        Listener {
            rx: self.inner.tx.subscribe(),
            closed: self.inner.closed.subscribe(),
            bus: self.inner.clone(),
        }
    }

    /// How many listeners there are.
    pub fn listeners(&self) -> usize {
        self.inner.listeners.load(Ordering::Relaxed)
    }
}

/// What a listener gets next.
#[derive(Debug)]
pub enum Received {
    /// The next note.
    Event(Event),
    /// The listener fell behind and `skipped` notes were lost: reload everything.
    Lagged {
        /// How many.
        skipped: u64,
    },
    /// The bus is gone.
    Closed,
}

/// One subscriber; dropping it stops the notes.
#[derive(Debug)]
pub struct Listener {
    rx: broadcast::Receiver<Event>,
    closed: watch::Receiver<bool>,
    bus: Arc<Inner>,
}

impl Listener {
    /// Waits for the next note.
    pub async fn recv(&mut self) -> Received {
        let received = tokio::select! {
            biased;
            _ = self.closed.wait_for(|closed| *closed) => return Received::Closed,
            received = self.rx.recv() => received,
        };
        match received {
            Ok(event) => Received::Event(event),
            Err(broadcast::error::RecvError::Lagged(skipped)) => Received::Lagged { skipped },
            Err(broadcast::error::RecvError::Closed) => Received::Closed,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.bus.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A bus a component gets after it is built (the composition root wires one bus into
/// every publisher); until then publishing does nothing.
#[derive(Debug, Default)]
pub struct BusSlot(OnceLock<Bus>);

impl BusSlot {
    /// Connects the slot to `bus`; a second call is ignored.
    pub fn connect(&self, bus: Bus) {
        let _ = self.0.set(bus);
    }

    /// Publishes through the connected bus, if any.
    pub fn publish_with(&self, topic: Topic, data: impl FnOnce() -> Value) {
        if let Some(bus) = self.0.get() {
            bus.publish_with(topic, data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn nothing_is_built_without_a_listener() {
        let bus = Bus::with_capacity(4);
        bus.publish_with(Topic::Task, || panic!("built with no listener"));
        let mut listener = bus.subscribe();
        assert_eq!(bus.listeners(), 1);
        bus.publish_with(Topic::Clock, || json!({"now_ms": 1}));
        match listener.recv().await {
            Received::Event(e) => {
                assert_eq!((e.topic, e.data), (Topic::Clock, json!({"now_ms": 1})))
            }
            other => panic!("{other:?}"),
        }
        drop(listener);
        assert_eq!(bus.listeners(), 0);
    }

    #[tokio::test]
    async fn a_slow_listener_skips_instead_of_holding_notes() {
        let bus = Bus::with_capacity(4);
        let mut slow = bus.subscribe();
        for i in 0..100 {
            bus.publish_with(Topic::Request, || json!({ "seq": i }));
        }
        match slow.recv().await {
            Received::Lagged { skipped } => assert_eq!(skipped, 96),
            other => panic!("{other:?}"),
        }
        // Then the newest four, in order.
        for want in 96..100 {
            match slow.recv().await {
                Received::Event(e) => assert_eq!(e.data, json!({ "seq": want })),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn closing_ends_listeners() {
        let bus = Bus::default();
        let mut before = bus.subscribe();
        bus.close();
        let mut after = bus.subscribe();
        assert!(matches!(before.recv().await, Received::Closed));
        assert!(matches!(after.recv().await, Received::Closed));
    }

    #[test]
    fn an_unconnected_slot_publishes_nothing() {
        let slot = BusSlot::default();
        slot.publish_with(Topic::Task, || panic!("built with no bus"));
        let bus = Bus::default();
        let _listener = bus.subscribe();
        slot.connect(bus.clone());
        let mut built = false;
        slot.publish_with(Topic::Task, || {
            built = true;
            Value::Null
        });
        assert!(built);
    }
}
