//! `GET /__admin/events`: what changes in the simulator, as server-sent events, for the
//! dashboard. Each event names its topic (`task`, `request`, `callback`, `clock`,
//! `scenario`, `fixture`, `stream`) and carries a small JSON note; the page reloads what it
//! shows from the control API. The first event, and the one after a listener fell behind
//! the bus's bounded buffer, is `snapshot`: reload everything. A comment every 15 s keeps
//! proxies from closing an idle stream.
//!
//! Browsers cannot put a header on an `EventSource`, so with `--admin-token` the stream also
//! takes `?ticket=`: a value derived from the token that opens this read-only stream and
//! nothing else, fetched with the token from `GET /__admin/events/ticket`. The token itself
//! never goes into a URL.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use sha2::{Digest, Sha256};

use super::AdminError;
use crate::bus::{Listener, Received, Topic};
use crate::routes;
use crate::state::AppState;

/// How often an idle stream gets a keep-alive comment (real time: it is for proxies).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Routes under `/__admin/events`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::EVENTS, get(events))
        .route(routes::admin::EVENTS_TICKET, get(ticket_for_page))
}

/// The ticket that opens the event stream when `token` guards the control API: SHA-256 of a
/// fixed label and the token, so it cannot be turned back into the token.
pub(super) fn ticket(token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"asr-mock event stream ticket\0");
    digest.update(token.as_bytes());
    hex::encode(digest.finalize())
}

/// `{"ticket": …}`; reached only with the token (or with none configured: then `null`).
async fn ticket_for_page(State(state): State<AppState>) -> Json<serde_json::Value> {
    let ticket = state.admin_token.as_deref().map(ticket);
    Json(serde_json::json!({ "ticket": ticket }))
}

async fn events(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AdminError> {
    let listener = state.bus.subscribe();
    let first = snapshot("connected".into());
    let rest = futures_util::stream::unfold(listener, next);
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(first)]), rest);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// The next event for one listener; `None` ends the stream (shutdown).
async fn next(mut listener: Listener) -> Option<(Result<Event, Infallible>, Listener)> {
    let (name, data) = frame(listener.recv().await)?;
    Some((Ok(Event::default().event(name).data(data)), listener))
}

/// The event's name and data for what a listener received: a note as it is, a lag as a
/// snapshot (the page reloads everything instead of the bus holding notes for it).
fn frame(received: Received) -> Option<(&'static str, String)> {
    match received {
        Received::Event(e) => Some((e.topic.name(), e.data.to_string())),
        Received::Lagged { skipped } => Some((
            Topic::Snapshot.name(),
            snapshot_data(&format!("lagged: {skipped} events skipped")),
        )),
        Received::Closed => None,
    }
}

/// Tells the page to reload everything, and why.
fn snapshot(reason: String) -> Event {
    Event::default()
        .event(Topic::Snapshot.name())
        .data(snapshot_data(&reason))
}

fn snapshot_data(reason: &str) -> String {
    serde_json::json!({ "reason": reason }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Bus;

    #[tokio::test]
    async fn a_listener_behind_the_bound_gets_a_snapshot_then_the_newest() {
        let bus = Bus::with_capacity(4);
        let mut listener = bus.subscribe();
        for seq in 0..10 {
            bus.publish_with(Topic::Request, || serde_json::json!({ "seq": seq }));
        }
        let first = frame(listener.recv().await).expect("a frame");
        assert_eq!(first.0, "snapshot");
        assert!(first.1.contains("lagged: 6 events skipped"), "{}", first.1);
        let second = frame(listener.recv().await).expect("a frame");
        assert_eq!(second, ("request", r#"{"seq":6}"#.to_owned()));
        bus.close();
        assert_eq!(frame(listener.recv().await), None);
    }

    #[test]
    fn the_ticket_is_not_the_token_and_depends_on_it() {
        let a = ticket("s3cret");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("s3cret"));
        assert_ne!(a, ticket("s3cret2"));
        assert_eq!(a, ticket("s3cret"));
    }
}
