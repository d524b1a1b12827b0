//! The request journal: what the simulator was asked and what it answered, newest last,
//! bounded so a long-running mock cannot grow without limit. Tests read it through
//! `/__admin/requests` to assert what their code really sent. The layer that fills it is
//! `app::journal_layer`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

pub use crate::routes::Provider;

/// What a provider handler adds to its response for the journal (via response extensions).
#[derive(Debug, Clone, Default)]
pub struct JournalNote {
    /// The provider whose endpoint answered.
    pub provider: Option<Provider>,
    /// The provider-level code in the body (0 on success).
    pub code: Option<i64>,
    /// The provider's message on failure.
    pub msg: Option<String>,
    /// The logid or task id the answer carried, to find an entry from a client's log line.
    pub id: Option<String>,
}

/// One answered request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestEntry {
    /// Position since start (or the last reset), from 1.
    pub seq: u64,
    /// Simulated time the request arrived, ms since the Unix epoch.
    pub time_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Request path, without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// HTTP status answered.
    pub status: u16,
    /// Provider that answered, when the path belongs to one.
    pub provider: Option<Provider>,
    /// Provider-level code in the answer.
    pub code: Option<i64>,
    /// Provider message on failure.
    pub msg: Option<String>,
    /// Logid or TaskId the answer carried.
    pub id: Option<String>,
    /// Scenarios that applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// The scenario fault that acted, described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// A WebSocket session's traffic (the entry is written when the session ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamRecord>,
}

/// Longest final text a journal entry keeps, in bytes (the journal is bounded in bytes too).
pub const MAX_RECORDED_TEXT_BYTES: usize = 4096;

/// What one streaming session exchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Client messages received (text, binary, ping, pong and close frames).
    pub frames_in: u64,
    /// Their payload bytes.
    pub bytes_in: u64,
    /// Server messages sent.
    pub frames_out: u64,
    /// Their payload bytes.
    pub bytes_out: u64,
    /// The last cycle's final text, cut at [`MAX_RECORDED_TEXT_BYTES`] on a char boundary.
    pub final_text: Option<String>,
    /// The close code the server sent; absent when the connection dropped or the client
    /// closed first.
    pub close_code: Option<u16>,
    /// Who ended the session: `server`, `client` or `dropped`.
    pub ended_by: String,
    /// The scenarios the session ran under (moved to the entry's `scenarios`).
    #[serde(skip)]
    pub scenarios: Vec<String>,
}

impl StreamRecord {
    /// Keeps `text` as the final text, cut to the bound.
    pub fn set_final_text(&mut self, text: &str) {
        let mut end = text.len().min(MAX_RECORDED_TEXT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.final_text = Some(text[..end].to_owned());
    }
}

/// Left on a `101 Switching Protocols` answer by a streaming handler: the journal layer
/// hands its entry to the receiver instead of writing it, and the session's record arrives
/// here when the connection ends (a dropped sender: the upgrade never completed).
#[derive(Debug, Clone)]
pub struct DeferredEntry(pub Arc<Mutex<Option<tokio::sync::oneshot::Receiver<StreamRecord>>>>);

impl DeferredEntry {
    /// A slot and the sender the session completes it with.
    pub fn new() -> (Self, tokio::sync::oneshot::Sender<StreamRecord>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (DeferredEntry(Arc::new(Mutex::new(Some(rx)))), tx)
    }

    /// The receiver, once.
    pub fn take(&self) -> Option<tokio::sync::oneshot::Receiver<StreamRecord>> {
        self.0.lock().take()
    }
}

/// A bounded ring of [`RequestEntry`].
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<JournalInner>,
    /// Bumped on every change, so persistence knows when to save.
    changes: AtomicU64,
}

#[derive(Debug, Default)]
struct JournalInner {
    next_seq: u64,
    entries: VecDeque<RequestEntry>,
}

impl Journal {
    /// A journal that keeps the newest `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            inner: Mutex::new(JournalInner::default()),
            changes: AtomicU64::new(0),
        }
    }

    /// Records an entry, assigning its sequence number.
    pub fn push(&self, mut entry: RequestEntry) {
        let mut inner = self.inner.lock();
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        if inner.entries.len() == self.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
        drop(inner);
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<RequestEntry> {
        let inner = self.inner.lock();
        let skip = inner.entries.len().saturating_sub(limit);
        inner.entries.iter().skip(skip).cloned().collect()
    }

    /// Forgets everything and restarts numbering.
    pub fn clear(&self) {
        *self.inner.lock() = JournalInner::default();
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many changes the journal has seen (for persistence's dirty check).
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// The last sequence number given and every entry, oldest first (for saving).
    pub fn snapshot(&self) -> (u64, Vec<RequestEntry>) {
        let inner = self.inner.lock();
        (inner.next_seq, inner.entries.iter().cloned().collect())
    }

    /// Replaces the journal with saved entries (the newest `capacity` kept); numbering goes
    /// on from `last_seq`.
    pub fn restore(&self, last_seq: u64, entries: Vec<RequestEntry>) {
        let skip = entries.len().saturating_sub(self.capacity);
        let mut inner = self.inner.lock();
        inner.entries = entries.into_iter().skip(skip).collect();
        let newest = inner.entries.back().map_or(0, |e| e.seq);
        inner.next_seq = last_seq.max(newest);
        drop(inner);
        self.changes.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> RequestEntry {
        RequestEntry {
            seq: 0,
            time_ms: 0,
            method: "GET".into(),
            path: path.into(),
            query: None,
            status: 200,
            provider: None,
            code: None,
            msg: None,
            id: None,
            scenarios: Vec::new(),
            fault: None,
            stream: None,
        }
    }

    #[test]
    fn keeps_only_the_newest() {
        let j = Journal::new(2);
        for p in ["/a", "/b", "/c"] {
            j.push(entry(p));
        }
        let got = j.recent(10);
        assert_eq!(
            got.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["/b", "/c"]
        );
        assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(j.recent(1)[0].path, "/c");
        j.clear();
        assert!(j.recent(10).is_empty());
    }

    #[test]
    fn a_final_text_is_cut_on_a_char_boundary() {
        let mut r = StreamRecord::default();
        let long = "语".repeat(MAX_RECORDED_TEXT_BYTES);
        r.set_final_text(&long);
        let kept = r.final_text.clone().unwrap();
        assert!(kept.len() <= MAX_RECORDED_TEXT_BYTES && kept.len() > MAX_RECORDED_TEXT_BYTES - 3);
        assert!(kept.chars().all(|c| c == '语'));
        r.set_final_text("short");
        assert_eq!(r.final_text.as_deref(), Some("short"));
    }
}
