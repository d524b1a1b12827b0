//! The request journal: what the simulator was asked and what it answered, newest last,
//! bounded so a long-running mock cannot grow without limit. Tests read it through
//! `/__admin/requests` to assert what their code really sent.

use std::collections::VecDeque;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use serde::Serialize;

use crate::scenarios::middleware::ScenarioNote;
use crate::state::AppState;

/// What a provider handler adds to its response for the journal (via response extensions).
#[derive(Debug, Clone, Default)]
pub struct JournalNote {
    /// The provider whose endpoint answered (`coze`, `icu`).
    pub provider: Option<&'static str>,
    /// The provider-level code in the body (0 on success).
    pub code: Option<i64>,
    /// The provider's message on failure.
    pub msg: Option<String>,
    /// The logid or task id the answer carried, to find an entry from a client's log line.
    pub id: Option<String>,
}

/// One answered request.
#[derive(Debug, Clone, Serialize)]
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
    pub provider: Option<&'static str>,
    /// Provider-level code in the answer.
    pub code: Option<i64>,
    /// Provider message on failure.
    pub msg: Option<String>,
    /// Logid or TaskId the answer carried.
    pub id: Option<String>,
    /// Scenarios that applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// The scenario fault that acted, described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// A bounded ring of [`RequestEntry`].
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<JournalInner>,
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
    }
}

/// Middleware that journals every request outside the control API.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__admin") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = req.uri().query().map(str::to_owned);
    let time_ms = state.clock.now_ms();
    let response = next.run(req).await;
    let note = response
        .extensions()
        .get::<JournalNote>()
        .cloned()
        .unwrap_or_default();
    let scenario = response
        .extensions()
        .get::<ScenarioNote>()
        .cloned()
        .unwrap_or_default();
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        code = note.code,
        id = note.id.as_deref(),
        fault = scenario.fault.as_deref(),
        "answered"
    );
    state.journal.push(RequestEntry {
        seq: 0,
        time_ms,
        method,
        path,
        query,
        // A dropped connection answered nothing: status 0.
        status: if scenario.dropped {
            0
        } else {
            response.status().as_u16()
        },
        provider: note.provider,
        code: note.code,
        msg: note.msg,
        id: note.id,
        scenarios: scenario.scenarios,
        fault: scenario.fault,
    });
    response
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
}
