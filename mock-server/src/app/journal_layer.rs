//! The layer that journals every request outside the control API, with the notes the
//! provider handler and the scenario layer left on the answer. It also replaces the answer
//! to a request whose body was cut off for arriving too slowly (the handler saw only a
//! broken body) with a 408 in the path's envelope, so the client and the journal see why.
//!
//! Headers are journaled with every credential redacted ([`redact`]); the body is not
//! read here: the handler that parsed it leaves a summary ([`BodyNote`]) on its answer.
//!
//! What it journals it also counts in the server's metrics (requests, latency, streaming
//! sessions).

use std::collections::BTreeMap;

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::refusals;
use super::scenario_layer::ScenarioNote;
use crate::clock::Stopwatch;
use crate::http::control::ConnectionControl;
use crate::metrics::RequestLabels;
use crate::routes::{self, Provider};
use crate::state::AppState;
use crate::stores::journal::{self, DeferredEntry, JournalNote, RequestEntry};
use crate::stores::redact::{is_credential, redact};
use crate::stores::request_body::BodyNote;

/// What was asked, as the journal records it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub method: String,
    /// Cut to the journal's limit (see [`journal::bounded`]).
    pub path: String,
    /// Cut like the path.
    pub query: Option<String>,
    /// Request headers, credentials redacted (see [`headers_of`]).
    pub headers: BTreeMap<String, String>,
    /// Whether the path, query or headers were cut.
    pub cut: bool,
    /// Simulated time it arrived.
    pub time_ms: i64,
    /// The endpoint's metric label (`other` for a path no route serves).
    endpoint: &'static str,
    /// The path's provider when no handler names one (a 404 under a provider's prefix).
    owner: Option<Provider>,
    /// Real time since it arrived, for the latency metric.
    started: Stopwatch,
}

impl Asked {
    /// What a request asked, with its texts cut to the journal's limit.
    pub fn new(method: &str, path: &str, query: Option<&str>, time_ms: i64) -> Self {
        let (owner, endpoint) = route_of(method, path);
        let (path, cut_path) = journal::bounded(path);
        let query = query.map(journal::bounded);
        let cut = cut_path || query.as_ref().is_some_and(|(_, cut)| *cut);
        Asked {
            method: method.to_owned(),
            path,
            query: query.map(|(q, _)| q),
            headers: BTreeMap::new(),
            cut,
            time_ms,
            endpoint,
            owner,
            started: Stopwatch::start(),
        }
    }

    /// Adds the request's headers (redacted and bounded).
    pub fn with_headers(mut self, headers: &HeaderMap) -> Self {
        self.headers = headers_of(headers);
        self.cut |= journal::bound_headers(&mut self.headers);
        self
    }
}

/// Request headers by name, repeats joined with `, `, credentials [redacted](redact),
/// values that are not UTF-8 shown lossily.
pub fn headers_of(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        let text = match value.to_str() {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value.as_bytes()),
        };
        let shown = if is_credential(name) {
            redact(&text)
        } else {
            text.into_owned()
        };
        out.entry(name.to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&shown);
            })
            .or_insert(shown);
    }
    out
}

/// The provider and endpoint label of a request: the routes' own names, `stream` for the
/// WebSocket upgrade, `other` for anything no route serves.
fn route_of(method: &str, path: &str) -> (Option<Provider>, &'static str) {
    let method = axum::http::Method::from_bytes(method.as_bytes()).ok();
    if let Some((provider, endpoint)) = method.as_ref().and_then(|m| routes::classify(m, path)) {
        return (Some(provider), endpoint.as_str());
    }
    if method == Some(axum::http::Method::GET) && path == routes::COZE_TRANSCRIBE {
        return (Some(Provider::Coze), "stream");
    }
    (routes::provider_of_unknown(path), "other")
}

/// The metric label of who ended a streaming session, from the journal's words.
fn ended_by(record: Option<&str>) -> &'static str {
    match record {
        Some("client") => "client",
        Some("server") => "server",
        Some("dropped") => "dropped",
        Some(_) => "other",
        None => "not_upgraded",
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
    )
    .with_headers(req.headers());
    let proxied = asked
        .owner
        .zip(state.proxy.as_ref())
        .filter(|(provider, proxy)| proxy.upstream(*provider).is_some());
    // Both on the heap: their state machines are large, and this one is moved into a box on
    // every request, so its size is paid in copies (it was most of a poll's memcpy).
    let mut response = match proxied {
        // A proxied provider's every request goes upstream, past the scenarios.
        Some((provider, proxy)) => {
            Box::pin(crate::proxy::forward(
                proxy.clone(),
                state.coze.clone(),
                provider,
                req,
            ))
            .await
        }
        // Inside the journal, the scenario layer (it passes every other path straight on).
        None => {
            Box::pin(super::scenario_layer::apply(
                State(state.clone()),
                req,
                next,
            ))
            .await
        }
    };
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
    let body = response
        .extensions_mut()
        .remove::<BodyNote>()
        .map(|BodyNote(summary)| summary);
    // A dropped connection answered nothing: status 0.
    let status = if scenario.dropped {
        0
    } else {
        response.status().as_u16()
    };
    let provider = note
        .provider
        .or(asked.owner)
        .map_or("none", Provider::as_str);
    let labels = RequestLabels {
        provider,
        endpoint: asked.endpoint,
        status,
        code: note.code,
    };
    state.metrics.request(labels, asked.started.seconds());
    let entry = RequestEntry {
        seq: 0,
        time_ms: asked.time_ms,
        method: asked.method,
        path: asked.path,
        query: asked.query,
        headers: asked.headers,
        body,
        status,
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
            state.metrics.stream_opened();
            tokio::spawn(async move {
                let mut entry = entry;
                let record = record.await.ok();
                let by = ended_by(record.as_ref().map(|r| r.ended_by.as_str()));
                state.metrics.stream_ended(by);
                entry.stream = record.map(|mut r| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_keep_only_their_scheme_and_last_four() {
        assert_eq!(redact("Bearer pat_unknown"), "Bearer …nown");
        assert_eq!(redact("Bearer short"), "Bearer …");
        assert_eq!(redact("abcdefghijkl"), "…ijkl");
        assert_eq!(redact(""), "…");
        for name in [
            "authorization",
            "sign",
            "c-secret",
            "x-api-key",
            "x-admin-token",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in ["content-type", "user-agent", "x-mock-scenario", "c-date"] {
            assert!(!is_credential(name), "{name}");
        }
        let mut map = HeaderMap::new();
        map.append("authorization", "Bearer secret-token-1234".parse().unwrap());
        map.append("accept", "a".parse().unwrap());
        map.append("accept", "b".parse().unwrap());
        let got = headers_of(&map);
        assert_eq!(got["authorization"], "Bearer …1234");
        assert_eq!(got["accept"], "a, b");
    }
}
