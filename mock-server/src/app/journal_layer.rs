//! The layer that journals every request outside the control API, with the notes the
//! provider handler and the scenario layer left on the answer.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::scenario_layer::ScenarioNote;
use crate::state::AppState;
use crate::stores::journal::{DeferredEntry, JournalNote, RequestEntry};

/// Middleware that journals every request outside the control API, with the scenario
/// layer inside it.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if crate::routes::is_admin(req.uri().path()) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let method = req.method().to_string();
    let query = req.uri().query().map(str::to_owned);
    let time_ms = state.clock.now_ms();
    // Inside the journal, the scenario layer (it passes every other path straight on).
    let mut response = super::scenario_layer::apply(State(state.clone()), req, next).await;
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
        %method,
        %path,
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
        stream: None,
    };
    match deferred {
        // A WebSocket session: written when it ends, with its traffic.
        Some(record) => {
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
    response
}
