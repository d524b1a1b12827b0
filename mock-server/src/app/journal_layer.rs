//! The layer that journals every request outside the control API, with the notes the
//! provider handler and the scenario layer left on the answer. It also replaces the answer
//! to a request whose body was cut off for arriving too slowly (the handler saw only a
//! broken body) with a 408 in the path's envelope, so the client and the journal see why.

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::refusals;
use super::scenario_layer::ScenarioNote;
use crate::http::control::ConnectionControl;
use crate::state::AppState;
use crate::stores::journal::{self, DeferredEntry, JournalNote, RequestEntry};

/// What was asked, as the journal records it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub method: String,
    /// Cut to the journal's limit (see [`journal::bounded`]).
    pub path: String,
    /// Cut like the path.
    pub query: Option<String>,
    /// Whether the path or query was cut.
    pub cut: bool,
    /// Simulated time it arrived.
    pub time_ms: i64,
}

impl Asked {
    /// What a request asked, with its texts cut to the journal's limit.
    pub fn new(method: &str, path: &str, query: Option<&str>, time_ms: i64) -> Self {
        let (path, cut_path) = journal::bounded(path);
        let query = query.map(journal::bounded);
        let cut = cut_path || query.as_ref().is_some_and(|(_, cut)| *cut);
        Asked {
            method: method.to_owned(),
            path,
            query: query.map(|(q, _)| q),
            cut,
            time_ms,
        }
    }
}

/// Middleware that journals every request outside the control API, with the scenario
/// layer inside it.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Only a request with a body can have one cut off; the others skip the lookup.
    let control = if req.body().is_end_stream() {
        None
    } else {
        req.extensions().get::<ConnectionControl>().cloned()
    };
    if crate::routes::is_admin(req.uri().path()) {
        let Some(control) = control else {
            return next.run(req).await;
        };
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let response = next.run(req).await;
        if control.body_timed_out() {
            return refusals::body_timeout(&state, method.as_str(), &path);
        }
        return response;
    }
    let uri = req.uri();
    let asked = Asked::new(
        req.method().as_str(),
        uri.path(),
        uri.query(),
        state.clock.now_ms(),
    );
    // Inside the journal, the scenario layer (it passes every other path straight on).
    let mut response = super::scenario_layer::apply(State(state.clone()), req, next).await;
    if control.is_some_and(|c| c.body_timed_out()) {
        response = refusals::body_timeout(&state, &asked.method, &asked.path);
    }
    journal(&state, asked, &mut response);
    response
}

/// Journals an answer, taking the notes the handler and the scenario layer left on it.
pub fn journal(state: &AppState, asked: Asked, response: &mut Response) {
    // Taken, not cloned: the notes are only for the journal.
    let note = response
        .extensions_mut()
        .remove::<JournalNote>()
        .unwrap_or_default();
    let scenario = response
        .extensions_mut()
        .remove::<ScenarioNote>()
        .unwrap_or_default();
    tracing::debug!(
        method = %asked.method,
        path = %asked.path,
        status = response.status().as_u16(),
        code = note.code,
        id = note.id.as_deref(),
        fault = scenario.fault.as_deref(),
        "answered"
    );
    let deferred = response
        .extensions_mut()
        .remove::<DeferredEntry>()
        .and_then(|d| d.take());
    let entry = RequestEntry {
        seq: 0,
        time_ms: asked.time_ms,
        method: asked.method,
        path: asked.path,
        query: asked.query,
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
        stream: None,
        truncated: asked.cut,
    };
    match deferred {
        // A WebSocket session: written when it ends, with its traffic.
        Some(record) => {
            let state = state.clone();
            tokio::spawn(async move {
                let mut entry = entry;
                entry.stream = record.await.ok().map(|mut r| {
                    if entry.scenarios.is_empty() {
                        entry.scenarios = std::mem::take(&mut r.scenarios);
                    }
                    r
                });
                state.journal.push(entry);
            });
        }
        None => state.journal.push(entry),
    }
}
