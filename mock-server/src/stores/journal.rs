//! The request journal: what the simulator was asked and what it answered, newest last,
//! bounded in entries (`--journal-size`) and bytes (`--journal-max-bytes`) so a long-running
//! mock cannot grow without limit: the oldest go first. One entry keeps at most
//! [`MAX_TEXT`] bytes of each path, query and message (a 60 KB query string would otherwise
//! cost 60 KB an entry) and says when it was cut. Tests read it through `/__admin/requests`
//! to assert what their code really sent. The layer that fills it is `app::journal_layer`.
//! Each entry also keeps the request's headers (credentials redacted by the layer, at most
//! [`MAX_TEXT`] bytes of them) and a summary of its body ([`request_body`](super::request_body)).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

pub use super::request_body::BodySummary;
use crate::bus::{Bus, BusSlot, Topic};
pub use crate::routes::Provider;

/// Default of `--journal-max-bytes`.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The most of a path, query or message an entry keeps.
pub const MAX_TEXT: usize = 4096;
/// What an entry costs besides its texts.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<RequestEntry>() + 32;

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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Request headers by lowercase name (repeats joined with `, `), credentials redacted
    /// to their scheme and last four characters; at most [`MAX_TEXT`] bytes of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// What the body held, when a handler read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodySummary>,
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
    /// True when the path, query or message was longer than 4 KiB and was cut (the cut
    /// text ends with `…`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Longest final text a journal entry keeps, in bytes (the journal is bounded in bytes too).
pub const MAX_RECORDED_TEXT_BYTES: usize = 4096;

/// What one streaming session exchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

impl RequestEntry {
    /// Cuts the path, query, message and headers to [`MAX_TEXT`] bytes, marking the entry if
    /// any was.
    pub fn bound(&mut self) {
        let mut cut = bound_text(&mut self.path);
        cut |= bound_headers(&mut self.headers);
        if let Some(query) = &mut self.query {
            cut |= bound_text(query);
        }
        if let Some(msg) = &mut self.msg {
            cut |= bound_text(msg);
        }
        self.truncated |= cut;
    }

    /// Bytes this entry counts against the journal's budget.
    fn cost(&self) -> usize {
        let texts = [
            Some(&self.method),
            Some(&self.path),
            self.query.as_ref(),
            self.msg.as_ref(),
        ]
        .into_iter()
        .chain([self.id.as_ref(), self.fault.as_ref()])
        .flatten()
        .map(String::len)
        .sum::<usize>();
        let scenarios: usize = self.scenarios.iter().map(|s| s.len() + 24).sum();
        // A session's record sits inline (in the overhead) but its texts are on the heap.
        let stream = self.stream.as_ref().map_or(0, |r| {
            r.final_text.as_ref().map_or(0, String::len)
                + r.ended_by.len()
                + r.scenarios.iter().map(|s| s.len() + 24).sum::<usize>()
        });
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 48)
            .sum();
        let body = self.body.as_ref().map_or(0, BodySummary::cost);
        ENTRY_OVERHEAD + texts + scenarios + stream + headers + body
    }
}

/// Keeps headers, in name order, while their names and values fit in [`MAX_TEXT`] bytes;
/// a value alone over the bound is cut. Whether any was dropped or cut.
pub fn bound_headers(headers: &mut BTreeMap<String, String>) -> bool {
    let mut used = 0;
    let mut cut = false;
    headers.retain(|name, value| {
        if used >= MAX_TEXT || name.len() > MAX_TEXT / 4 {
            cut = true;
            return false;
        }
        let room = (MAX_TEXT - used).saturating_sub(name.len());
        if value.len() > room.min(MAX_TEXT / 2) {
            let mut end = room.min(MAX_TEXT / 2).saturating_sub('…'.len_utf8());
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            value.push('…');
            cut = true;
        }
        used += name.len() + value.len();
        true
    });
    cut
}

/// The longest prefix of `text` that fits in `MAX_TEXT` bytes with a trailing `…`, without
/// reallocating.
fn bound_text(text: &mut String) -> bool {
    if text.len() <= MAX_TEXT {
        return false;
    }
    let mut end = MAX_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text.shrink_to_fit();
    true
}

/// `text` cut to at most [`MAX_TEXT`] bytes (the caller then marks the entry truncated), for
/// building an entry without copying all of a long text first.
pub fn bounded(text: &str) -> (String, bool) {
    if text.len() <= MAX_TEXT {
        return (text.to_owned(), false);
    }
    let mut end = MAX_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(MAX_TEXT);
    out.push_str(&text[..end]);
    out.push('…');
    (out, true)
}

/// A bounded ring of [`RequestEntry`].
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<JournalInner>,
    /// Bumped on every change, so persistence knows when to save.
    changes: AtomicU64,
    /// Where entries are announced (the dashboard).
    bus: BusSlot,
}

#[derive(Debug, Default)]
struct JournalInner {
    next_seq: u64,
    entries: VecDeque<RequestEntry>,
    /// What the entries count against the budget.
    bytes: usize,
}

impl JournalInner {
    /// Drops the oldest entries until `room` more bytes and one more entry fit.
    fn make_room(&mut self, capacity: usize, max_bytes: usize, room: usize) {
        while !self.entries.is_empty()
            && (self.entries.len() >= capacity || self.bytes + room > max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.cost();
            }
        }
    }
}

impl Journal {
    /// A journal that keeps the newest `capacity` entries (at least one) within the default
    /// byte budget.
    pub fn new(capacity: usize) -> Self {
        Self::with_budget(capacity, DEFAULT_MAX_BYTES)
    }

    /// A journal that keeps the newest entries, at most `capacity` (at least one) and
    /// `max_bytes` of them.
    pub fn with_budget(capacity: usize, max_bytes: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            max_bytes,
            inner: Mutex::new(JournalInner::default()),
            changes: AtomicU64::new(0),
            bus: BusSlot::default(),
        }
    }

    /// Announces every new entry on `bus` from now on.
    pub fn connect_bus(&self, bus: Bus) {
        self.bus.connect(bus);
    }

    /// Records an entry, assigning its sequence number; its texts are cut to [`MAX_TEXT`].
    pub fn push(&self, mut entry: RequestEntry) {
        entry.bound();
        let cost = entry.cost();
        let mut inner = self.inner.lock();
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        inner.make_room(self.capacity, self.max_bytes, cost);
        inner.bytes += cost;
        self.bus.publish_with(Topic::Request, || {
            serde_json::json!({
                "seq": entry.seq,
                "path": entry.path,
                "status": entry.status,
                "provider": entry.provider,
                "code": entry.code,
            })
        });
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

    /// The newest `limit` entries that `matches` accepts, oldest first.
    pub fn find(&self, limit: usize, matches: impl Fn(&RequestEntry) -> bool) -> Vec<RequestEntry> {
        let inner = self.inner.lock();
        let mut found: Vec<RequestEntry> = inner
            .entries
            .iter()
            .rev()
            .filter(|e| matches(e))
            .take(limit)
            .cloned()
            .collect();
        found.reverse();
        found
    }

    /// How many entries `matches` accepts.
    pub fn count(&self, matches: impl Fn(&RequestEntry) -> bool) -> usize {
        self.inner
            .lock()
            .entries
            .iter()
            .filter(|e| matches(e))
            .count()
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

    /// Bytes the entries count against the budget.
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    /// Replaces the journal with saved entries (the newest that fit are kept); numbering
    /// goes on from `last_seq`.
    pub fn restore(&self, last_seq: u64, entries: Vec<RequestEntry>) {
        let mut inner = self.inner.lock();
        *inner = JournalInner::default();
        let newest = entries.last().map_or(0, |e| e.seq);
        for mut entry in entries {
            entry.bound();
            let cost = entry.cost();
            inner.make_room(self.capacity, self.max_bytes, cost);
            inner.bytes += cost;
            inner.entries.push_back(entry);
        }
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
            headers: BTreeMap::new(),
            body: None,
            status: 200,
            provider: None,
            code: None,
            msg: None,
            id: None,
            scenarios: Vec::new(),
            fault: None,
            stream: None,
            truncated: false,
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

    #[test]
    fn the_byte_budget_drops_the_oldest_and_long_texts_are_cut() {
        let j = Journal::with_budget(1000, 64 * 1024);
        for i in 0..100 {
            let mut e = entry(&format!("/p{i}"));
            e.query = Some("q".repeat(60_000));
            j.push(e);
        }
        assert!(j.bytes() <= 64 * 1024, "{}", j.bytes());
        let got = j.recent(1000);
        assert!(got.len() > 5 && got.len() < 100, "{}", got.len());
        assert_eq!(got.last().unwrap().path, "/p99");
        assert_eq!(got.last().unwrap().seq, 100);
        let first = &got[0];
        assert!(first.truncated);
        let query = first.query.as_deref().unwrap();
        assert!(query.len() <= MAX_TEXT && query.ends_with('…'));
        // Restoring the same entries into a smaller journal keeps the newest that fit.
        let small = Journal::with_budget(1000, 20 * 1024);
        small.restore(100, got);
        assert!(small.bytes() <= 20 * 1024);
        assert_eq!(small.recent(1).last().unwrap().path, "/p99");
    }

    #[test]
    fn a_sessions_final_text_counts_against_the_byte_budget() {
        let plain = entry("/ws").cost();
        let mut e = entry("/ws");
        let mut record = StreamRecord {
            ended_by: "server".to_owned(),
            ..StreamRecord::default()
        };
        record.set_final_text(&"x".repeat(MAX_RECORDED_TEXT_BYTES));
        e.stream = Some(record);
        assert_eq!(e.cost(), plain + MAX_RECORDED_TEXT_BYTES + "server".len());
        // So a journal of sessions with long texts stays within its bytes.
        let j = Journal::with_budget(1000, 32 * 1024);
        for _ in 0..50 {
            j.push(e.clone());
        }
        assert!(j.bytes() <= 32 * 1024, "{}", j.bytes());
        assert!(j.recent(1000).len() < 50);
    }

    #[test]
    fn headers_and_body_summaries_count_against_the_byte_budget() {
        let plain = entry("/h").cost();
        let mut e = entry("/h");
        for i in 0..100 {
            e.headers.insert(format!("x-h{i:03}"), "v".repeat(500));
        }
        e.body = Some(BodySummary::text(&[b'a'; 5000], 5000));
        let j = Journal::with_budget(1000, 64 * 1024);
        j.push(e.clone());
        let kept = &j.recent(1)[0];
        assert!(kept.truncated);
        let header_bytes: usize = kept.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(header_bytes <= MAX_TEXT, "{header_bytes}");
        assert!(!kept.headers.is_empty());
        let mut bounded = e;
        bounded.bound();
        assert!(
            bounded.cost() > plain + MAX_TEXT / 2 + 1024,
            "{}",
            bounded.cost()
        );
        for _ in 0..100 {
            j.push(bounded.clone());
        }
        assert!(j.bytes() <= 64 * 1024, "{}", j.bytes());
        assert!(j.recent(1000).len() < 20);
    }

    #[test]
    fn find_and_count_take_the_newest_matches() {
        let j = Journal::new(10);
        for p in ["/a", "/b", "/a", "/a"] {
            j.push(entry(p));
        }
        let found = j.find(2, |e| e.path == "/a");
        assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(j.count(|e| e.path == "/a"), 3);
        assert_eq!(j.count(|e| e.path == "/c"), 0);
    }

    #[test]
    fn bounded_cuts_at_a_character() {
        assert_eq!(bounded("abc"), ("abc".to_owned(), false));
        let (cut, was) = bounded(&"é".repeat(MAX_TEXT));
        assert!(was && cut.len() <= MAX_TEXT && cut.ends_with('…'));
    }
}
