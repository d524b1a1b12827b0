//! Callbacks received by the built-in receiver at `/__admin/sink`, newest last, bounded.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Bodies kept, newest last.
const CAPACITY: usize = 1000;

/// One received callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Simulated ms it arrived.
    pub time_ms: i64,
    /// Its Content-Type.
    pub content_type: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

/// The received callbacks.
#[derive(Debug, Default)]
pub struct Sink {
    received: Mutex<VecDeque<Received>>,
}

impl Sink {
    pub fn push(&self, entry: Received) {
        let mut received = self.received.lock();
        if received.len() == CAPACITY {
            received.pop_front();
        }
        received.push_back(entry);
    }

    /// Everything kept, oldest first.
    pub fn list(&self) -> Vec<Received> {
        self.received.lock().iter().cloned().collect()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.received.lock().clear();
    }
}
