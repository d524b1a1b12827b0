//! Callbacks received by the built-in receiver at `/__admin/sink`, newest last, bounded in
//! entries and in bytes (`--sink-max-bytes`): the oldest go first. The sink is open to
//! anyone who can reach the port (the simulator's own callbacks need it), so its budget is
//! what stands between a stream of 20 MB posts and the process's memory.
//!
//! Bodies are kept as `Bytes` and a read takes a snapshot that shares them; the JSON log is
//! then encoded piece by piece ([`json_chunks`]), so reading never copies every body at once.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Entries kept at most, whatever their size.
pub const CAPACITY: usize = 1000;
/// Default of `--sink-max-bytes`.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// What an entry costs besides its body and content type.
const ENTRY_OVERHEAD: usize = 96;
/// The longest content type kept.
const MAX_CONTENT_TYPE: usize = 256;
/// The size of the pieces a body is encoded in when the log is read.
const PIECE: usize = 64 * 1024;

/// One received callback, as `GET /__admin/sink` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Received {
    /// Simulated ms it arrived.
    pub time_ms: i64,
    /// Its Content-Type.
    pub content_type: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The body's full size in bytes, present only when `body` was cut to fit the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_from: Option<u64>,
}

/// One received callback as kept: the body's bytes, shared with readers.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Simulated ms it arrived.
    pub time_ms: i64,
    /// Its Content-Type (cut to 256 bytes).
    pub content_type: Option<String>,
    /// The body (cut to fit the budget).
    pub body: Bytes,
    /// The body's full size, when it was cut.
    pub truncated_from: Option<u64>,
}

impl Kept {
    /// Bytes this entry counts against the budget.
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD + self.body.len() + self.content_type.as_ref().map_or(0, String::len)
    }
}

/// What a read sees: the entries (sharing their bodies) and the budget's state.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The entries, oldest first.
    pub entries: Vec<Kept>,
    /// Bytes they count against the budget.
    pub bytes: usize,
    /// The budget.
    pub max_bytes: usize,
    /// Entries dropped to stay within it since the last clear.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Kept>,
    bytes: usize,
    dropped: u64,
}

/// The received callbacks.
#[derive(Debug)]
pub struct Sink {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new(DEFAULT_MAX_BYTES)
    }
}

impl Sink {
    /// A sink that keeps at most `max_bytes` (at least enough for one small entry).
    pub fn new(max_bytes: usize) -> Self {
        Sink {
            max_bytes: max_bytes.max(ENTRY_OVERHEAD + MAX_CONTENT_TYPE + 1024),
            inner: Mutex::default(),
        }
    }

    /// The most of one body an entry keeps: the budget, less an entry's other costs.
    pub fn room(&self) -> usize {
        self.max_bytes - ENTRY_OVERHEAD - MAX_CONTENT_TYPE
    }

    /// Keeps a callback whose body was `full` bytes long (`body` holds at most
    /// [`Sink::room`] of them; more is cut), dropping the oldest until it fits. The body is
    /// kept as given: the caller hands over a buffer of its own, not a slice of a larger one.
    pub fn push(&self, time_ms: i64, content_type: Option<&str>, body: Bytes, full: u64) {
        let content_type = content_type.map(|ct| cut(ct, MAX_CONTENT_TYPE).to_owned());
        let body = if body.len() > self.room() {
            // A copy: a slice would keep the whole buffer alive.
            Bytes::copy_from_slice(&body[..self.room()])
        } else {
            body
        };
        let truncated_from = (full > body.len() as u64).then_some(full);
        let entry = Kept {
            time_ms,
            content_type,
            body,
            truncated_from,
        };
        let cost = entry.cost();
        let mut inner = self.inner.lock();
        while !inner.entries.is_empty()
            && (inner.entries.len() >= CAPACITY || inner.bytes + cost > self.max_bytes)
        {
            if let Some(old) = inner.entries.pop_front() {
                inner.bytes -= old.cost();
                inner.dropped += 1;
            }
        }
        inner.bytes += cost;
        inner.entries.push_back(entry);
    }

    /// Everything kept, oldest first, sharing the bodies.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.inner.lock();
        Snapshot {
            entries: inner.entries.iter().cloned().collect(),
            bytes: inner.bytes,
            max_bytes: self.max_bytes,
            dropped: inner.dropped,
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        *self.inner.lock() = Inner::default();
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The log as `GET /__admin/sink` answers it —
/// `{"bytes":…,"max_bytes":…,"dropped":…,"received":[{"time_ms":…,"content_type":…,"body":"…"},…]}`
/// — in pieces of at most about 400 KiB (a 64 KiB piece of body, escaped), bodies as lossy
/// UTF-8 exactly as `String::from_utf8_lossy` reads them.
pub fn json_chunks(snapshot: Snapshot) -> impl Iterator<Item = Bytes> + Send {
    let mut head = Some(format!(
        r#"{{"bytes":{},"max_bytes":{},"dropped":{},"received":["#,
        snapshot.bytes, snapshot.max_bytes, snapshot.dropped
    ));
    let mut entries = snapshot.entries.into_iter().enumerate();
    let mut current: Option<(Kept, usize)> = None;
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        if let Some(head) = head.take() {
            return Some(Bytes::from(head));
        }
        let mut out = BytesMut::new();
        if current.is_none() {
            match entries.next() {
                Some((index, entry)) => {
                    if index > 0 {
                        out.extend_from_slice(b",");
                    }
                    out.extend_from_slice(
                        format!(r#"{{"time_ms":{},"content_type":"#, entry.time_ms).as_bytes(),
                    );
                    out.extend_from_slice(&json_value(&entry.content_type));
                    out.extend_from_slice(br#","body":""#);
                    current = Some((entry, 0));
                }
                None => {
                    finished = true;
                    return Some(Bytes::from_static(b"]}"));
                }
            }
        }
        if let Some((entry, offset)) = current.as_mut() {
            let end = piece_end(&entry.body, *offset);
            escape_into(&mut out, &entry.body[*offset..end]);
            *offset = end;
            if end == entry.body.len() {
                out.extend_from_slice(b"\"");
                if let Some(full) = entry.truncated_from {
                    out.extend_from_slice(format!(r#","truncated_from":{full}"#).as_bytes());
                }
                out.extend_from_slice(b"}");
                current = None;
            }
        }
        Some(out.freeze())
    })
}

fn json_value<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// Where the piece of `body` from `offset` ends: about [`PIECE`] bytes on, never inside a
/// UTF-8 sequence (so each piece is read the way the whole body would be).
fn piece_end(body: &[u8], offset: usize) -> usize {
    let end = offset.saturating_add(PIECE).min(body.len());
    if end == body.len() {
        return end;
    }
    // A character starts at most 3 bytes back; four continuation bytes are not UTF-8 anyway.
    (end - 3..=end)
        .rev()
        .find(|&i| i > offset && (body[i] & 0xC0) != 0x80)
        .unwrap_or(end)
}

/// Appends `bytes` as the inside of a JSON string, invalid UTF-8 as U+FFFD.
fn escape_into(out: &mut BytesMut, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        let text = chunk.valid().as_bytes();
        let mut run = 0;
        for (i, &b) in text.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1F => b"",
                _ => continue,
            };
            out.extend_from_slice(&text[run..i]);
            if escaped.is_empty() {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            } else {
                out.extend_from_slice(escaped);
            }
            run = i + 1;
        }
        out.extend_from_slice(&text[run..]);
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8]) -> Bytes {
        Bytes::copy_from_slice(bytes)
    }

    fn log(sink: &Sink) -> serde_json::Value {
        let bytes: Vec<u8> = json_chunks(sink.snapshot())
            .flat_map(|b| b.to_vec())
            .collect();
        serde_json::from_slice(&bytes).expect("the log is JSON")
    }

    #[test]
    fn the_oldest_go_first_to_stay_within_the_budget() {
        let sink = Sink::new(10_000);
        for i in 0..10u8 {
            sink.push(
                i64::from(i),
                Some("text/plain"),
                body(&[b'a' + i; 3000]),
                3000,
            );
        }
        let snap = sink.snapshot();
        assert!(snap.bytes <= 10_000, "{}", snap.bytes);
        let times: Vec<i64> = snap.entries.iter().map(|e| e.time_ms).collect();
        assert_eq!(times, [7, 8, 9]);
        assert_eq!(snap.dropped, 7);
        sink.clear();
        assert_eq!(sink.snapshot().bytes, 0);
    }

    #[test]
    fn at_most_capacity_entries() {
        let sink = Sink::new(usize::MAX);
        for i in 0..(CAPACITY as i64 + 5) {
            sink.push(i, None, body(b"x"), 1);
        }
        let snap = sink.snapshot();
        assert_eq!(snap.entries.len(), CAPACITY);
        assert_eq!(snap.entries[0].time_ms, 5);
    }

    #[test]
    fn a_body_over_the_budget_is_cut_and_says_so() {
        let sink = Sink::new(4096);
        sink.push(1, None, body(&[b'z'; 100_000]), 100_000);
        // What the receiver hands over when it kept only the room: cut, and says so.
        sink.push(2, None, body(&vec![b'y'; sink.room()]), 200_000);
        let json = log(&sink);
        let entry = &json["received"][0];
        assert_eq!(entry["truncated_from"], 200_000);
        assert!(entry["body"].as_str().unwrap().len() < 4096);
        assert!(sink.snapshot().bytes <= 4096);
    }

    #[test]
    fn the_streamed_log_reads_like_the_typed_one() {
        let sink = Sink::new(usize::MAX);
        let mut binary: Vec<u8> = (0..=255u8).cycle().take(3 * PIECE + 7).collect();
        binary.extend_from_slice("ü€😀\"\\\n".as_bytes());
        let text = "é".repeat(PIECE); // two bytes each: pieces fall inside characters
        let form = "application/x-www-form-urlencoded";
        sink.push(1, Some(form), body(b"code=0&msg=ok"), 13);
        sink.push(2, None, body(&binary), binary.len() as u64);
        sink.push(3, Some("a\"b"), body(text.as_bytes()), text.len() as u64);
        sink.push(4, None, body(b""), 0);
        let got: Vec<Received> = serde_json::from_value(log(&sink)["received"].clone()).unwrap();
        let want: Vec<Received> = sink
            .snapshot()
            .entries
            .into_iter()
            .map(|e| Received {
                time_ms: e.time_ms,
                content_type: e.content_type,
                body: String::from_utf8_lossy(&e.body).into_owned(),
                truncated_from: None,
            })
            .collect();
        assert_eq!(got, want);

        let empty = Sink::new(10_000);
        assert_eq!(log(&empty)["received"], serde_json::json!([]));
    }
}
