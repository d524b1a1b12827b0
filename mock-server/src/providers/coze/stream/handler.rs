//! The upgrade on `GET /v1/audio/transcriptions` and the connection task: token check (header
//! or `authorization` query parameter), the 101 with `X-Tt-Logid`, then frames in and events
//! out, partial texts paced on the simulator's clock, and the limits.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use rand::RngCore;

use super::events::{self, Detail, ServerFrame};
use super::session::{Out, Reply, Session};
use crate::bus::Topic;
use crate::providers::coze::answer::LOGID_HEADER;
use crate::providers::coze::error::CozeError;
use crate::providers::coze::CozeService;
use crate::rng::DetRng;
use crate::routes::{self, Provider};
use crate::scenarios::chosen;
use crate::scenarios::{Facts, Scenarios, Selected, StreamBehaviour, HEADER};
use crate::stores::journal::{DeferredEntry, JournalNote, StreamRecord};

/// The upgrade. A plain GET (no upgrade headers) gets the 405 answer it got before.
pub async fn upgrade(
    State(coze): State<Arc<CozeService>>,
    State(scenarios): State<Arc<Scenarios>>,
    selected: Option<Extension<Selected>>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        // A plain GET: the route's answer for a method it does not serve.
        return CozeError::method_not_allowed("GET")
            .answer(coze.logids.next())
            .into_response();
    };
    let logid = coze.logids.next_streaming();
    let token = token(&headers, &uri);
    let denied = coze.authorize(token.as_deref()).err();
    if let (Some(err), true) = (&denied, coze.stream.auth_handshake) {
        return err.clone().answer(logid).into_response();
    }
    let facts = Facts {
        provider: Some(Provider::Coze),
        path: routes::COZE_TRANSCRIBE.into(),
        token: token.as_deref().and_then(bearer).map(str::to_owned),
        ..Facts::default()
    };
    // The scenario layer passes GETs on: the handshake chooses as it would (header,
    // activations, match keys).
    let selected = match selected {
        Some(Extension(s)) => s,
        None => {
            let header = headers.get(HEADER).and_then(|v| v.to_str().ok());
            match scenarios.select(header, &facts) {
                Ok(s) => s,
                Err(unknown) => {
                    return CozeError::bad_request(unknown.to_string())
                        .answer(logid)
                        .into_response()
                }
            }
        }
    };
    let chosen = chosen::complete(&scenarios, Some(&selected), &facts);
    let behaviour = chosen
        .scenarios
        .iter()
        .find_map(|s| s.stream.clone())
        .unwrap_or_default();
    let names = chosen.scenarios.iter().map(|s| s.name.clone()).collect();
    let limit = coze.stream.max_frame_bytes;
    let header_logid = logid.clone();
    let (deferred, record_tx) = DeferredEntry::new();
    let mut response =
        ws.max_message_size(limit)
            .max_frame_size(limit)
            .on_upgrade(move |socket| async move {
                announce(&coze, &logid, "open");
                let mut connection = Connection::new(coze, socket, logid, behaviour, names);
                let denied = denied.map(|e| (e.code, e.msg));
                connection.run(denied, chosen.scenarios).await;
                announce(&connection.coze, &connection.logid, "closed");
                let _ = record_tx.send(connection.record);
            });
    if let Ok(value) = HeaderValue::from_str(&header_logid) {
        response.headers_mut().insert(LOGID_HEADER, value);
    }
    response.extensions_mut().insert(deferred);
    response.extensions_mut().insert(JournalNote {
        provider: Some(Provider::Coze),
        id: Some(header_logid),
        ..JournalNote::default()
    });
    response
}

/// Tells the dashboard a session opened or closed (its journal entry comes at the end).
fn announce(coze: &CozeService, logid: &str, phase: &'static str) {
    coze.bus.publish_with(
        Topic::Stream,
        || serde_json::json!({ "logid": logid, "phase": phase }),
    );
}

/// The token of a `Bearer` authorization, as activations key it.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The token: the `Authorization` header, else the `authorization` query parameter (browsers
/// cannot set headers; the JS SDK always sends it there, space as `%20`).
fn token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return Some(value.to_owned());
    }
    let query = uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v)
}

/// One upgraded connection.
struct Connection {
    coze: Arc<CozeService>,
    socket: WebSocket,
    logid: String,
    /// Event ids: UUIDv4s from (seed, logid).
    ids: DetRng,
    /// What the scenarios ask of this connection.
    behaviour: StreamBehaviour,
    /// `transcriptions.message.update` events sent.
    updates_sent: u32,
    /// The traffic, for the journal.
    record: StreamRecord,
}

/// Why the loop stopped reading.
enum Next {
    Frame(Option<Result<Message, axum::Error>>),
    Idle,
    Partial,
}

impl Connection {
    fn new(
        coze: Arc<CozeService>,
        socket: WebSocket,
        logid: String,
        behaviour: StreamBehaviour,
        scenarios: Vec<String>,
    ) -> Self {
        let ids = crate::rng::derive(coze.seed, "coze-ws-event-id", logid.as_bytes());
        Connection {
            coze,
            socket,
            logid,
            ids,
            behaviour,
            updates_sent: 0,
            record: StreamRecord {
                scenarios,
                ..StreamRecord::default()
            },
        }
    }

    /// Serves the connection, then notes who ended it.
    async fn run(
        &mut self,
        denied: Option<(i64, String)>,
        scenarios: Vec<Arc<crate::scenarios::Scenario>>,
    ) {
        self.serve(denied, scenarios).await;
        if self.record.ended_by.is_empty() {
            self.record.ended_by = "client".into();
        }
    }

    async fn serve(
        &mut self,
        denied: Option<(i64, String)>,
        scenarios: Vec<Arc<crate::scenarios::Scenario>>,
    ) {
        if let Some((code, msg)) = denied {
            // The token failed: the error replaces `created`, then the connection closes.
            let _ = self.send(&Out::error(code, msg, None)).await;
            self.close().await;
            return;
        }
        if let Some(code) = self.behaviour.error_code {
            // A scenario: the error replaces `created`, then the connection closes.
            let msg =
                self.behaviour.error_message.clone().unwrap_or_else(|| {
                    "internal error: the recognition service is unavailable".into()
                });
            let _ = self.send(&Out::error(code, msg, None)).await;
            self.close().await;
            return;
        }
        if self.send(&Out::plain(events::CREATED)).await.is_err() {
            return;
        }
        if self.behaviour.drop_after_updates == Some(0) {
            self.record.ended_by = "dropped".into();
            return;
        }
        let clock = self.coze.logids.clock().clone();
        let idle = Duration::from_millis(self.coze.stream.idle_timeout_ms.max(1));
        let mut session = Session::new(self.coze.clone(), scenarios);
        // The cycle's start on the simulator's clock, and the partial text waiting for its
        // audio time to come: one at most (a newer one carries all of an older one's text).
        let mut cycle_start: Option<i64> = None;
        let mut pending: Option<(i64, String)> = None;
        loop {
            let due = pending.as_ref().map(|(at, _)| *at);
            // A due update goes out before more frames are read, so it is stamped with the
            // time it fell due even when the client keeps sending.
            let next = tokio::select! {
                biased;
                () = clock.sleep_until(due.unwrap_or(i64::MAX)), if due.is_some() => Next::Partial,
                frame = tokio::time::timeout(idle, self.socket.recv()) => match frame {
                    Ok(frame) => Next::Frame(frame),
                    Err(_) => Next::Idle,
                },
            };
            let message = match next {
                Next::Partial => {
                    if let Some((_, text)) = pending.take() {
                        let out = Out::text(events::MESSAGE_UPDATE, &text);
                        if self.send(&out).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Next::Idle => {
                    let msg = format!(
                        "no event for {} ms: the connection is closed",
                        idle.as_millis()
                    );
                    let _ = self.send(&Out::error(4000, msg, None)).await;
                    self.close().await;
                    return;
                }
                Next::Frame(None) => return,
                Next::Frame(Some(Err(err))) => {
                    // Too large a message, or a broken frame: say so if the socket still
                    // takes it, then close.
                    let msg = format!("invalid frame: {err}");
                    let _ = self.send(&Out::error(4000, msg, None)).await;
                    self.close().await;
                    return;
                }
                Next::Frame(Some(Ok(message))) => message,
            };
            self.record.frames_in = self.record.frames_in.saturating_add(1);
            let len = match &message {
                Message::Text(t) => t.len(),
                Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
                Message::Close(c) => c.as_ref().map_or(0, |c| 2 + c.reason.len()),
            };
            self.record.bytes_in = self.record.bytes_in.saturating_add(len as u64);
            let reply = match message {
                Message::Text(text) => {
                    let reply = session.on_text(text.as_str());
                    if cycle_start.is_none() && text.as_str().contains(events::APPEND) {
                        // The first append's audio has played by the time it arrives, as
                        // with live capture: later audio is then due when it arrives.
                        let played = i64::try_from(session.played_ms()).unwrap_or(i64::MAX);
                        cycle_start = Some(clock.now_ms().saturating_sub(played));
                    }
                    reply
                }
                Message::Binary(_) => Reply {
                    now: vec![Out::error(
                        4000,
                        "invalid frame: events are JSON text frames, not binary",
                        None,
                    )],
                    ..Reply::default()
                },
                Message::Close(frame) => {
                    // The reply (the client's code echoed) is queued by the socket; flushing
                    // sends it, so the client sees a clean close rather than 1006.
                    self.record.close_code = frame.as_ref().map(|f| f.code);
                    let flush = futures_util::SinkExt::flush(&mut self.socket);
                    let _ = tokio::time::timeout(Duration::from_secs(1), flush).await;
                    return;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if let Some((audio_ms, text)) = reply.partial {
                let start = *cycle_start.get_or_insert_with(|| clock.now_ms());
                let after = audio_ms.saturating_add(self.behaviour.update_delay_ms);
                let at = start.saturating_add(i64::try_from(after).unwrap_or(i64::MAX));
                pending = Some((at, text));
            }
            let cycle_ended = reply.now.iter().any(|o| {
                o.event_type == events::MESSAGE_COMPLETED || o.event_type == events::CLEARED
            });
            if cycle_ended {
                pending = None;
                cycle_start = None;
            }
            if let Some(text) = &reply.final_text {
                self.record.set_final_text(text);
                self.wait(self.behaviour.completed_delay_ms).await;
            }
            for out in &reply.now {
                if out.event_type == events::MESSAGE_UPDATE {
                    self.wait(self.behaviour.update_delay_ms).await;
                }
                if self.send(out).await.is_err() {
                    return;
                }
            }
            if reply.close {
                self.close().await;
                return;
            }
        }
    }

    /// Waits `ms` on the simulator's clock (a scenario's delay).
    async fn wait(&mut self, ms: u64) {
        if ms > 0 {
            let clock = self.coze.logids.clock();
            let at = clock
                .now_ms()
                .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
            clock.sleep_until(at).await;
        }
    }

    /// Sends one event with its id and detail; an error once a scenario's drop is due (the
    /// socket is then dropped without a close frame).
    async fn send(&mut self, out: &Out) -> Result<(), axum::Error> {
        let mut bytes = [0u8; 16];
        self.ids.fill_bytes(&mut bytes);
        let frame = ServerFrame {
            event_type: out.event_type,
            id: uuid_v4(bytes),
            data: out.data.clone(),
            detail: Detail {
                logid: &self.logid,
                respond_at: self.coze.logids.clock().now_ms().to_string(),
                origin_message: out.origin.as_deref(),
            },
        };
        let text = serde_json::to_string(&frame).unwrap_or_default();
        self.record.frames_out = self.record.frames_out.saturating_add(1);
        self.record.bytes_out = self.record.bytes_out.saturating_add(text.len() as u64);
        self.socket.send(Message::text(text)).await?;
        if out.event_type == events::MESSAGE_UPDATE {
            self.updates_sent = self.updates_sent.saturating_add(1);
            if self
                .behaviour
                .drop_after_updates
                .is_some_and(|n| self.updates_sent >= n)
            {
                self.record.ended_by = "dropped".into();
                return Err(axum::Error::new(std::io::Error::other(
                    "dropped by a scenario",
                )));
            }
        }
        Ok(())
    }

    /// Closes with 1000 (no SDK inspects close codes).
    async fn close(&mut self) {
        let frame = CloseFrame {
            code: 1000,
            reason: "".into(),
        };
        self.record.frames_out = self.record.frames_out.saturating_add(1);
        self.record.bytes_out = self.record.bytes_out.saturating_add(2);
        self.record.close_code = Some(1000);
        self.record.ended_by = "server".into();
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }
}

/// Random bytes as a UUID version 4 string.
fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_uuids() {
        let id = uuid_v4([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn the_token_comes_from_the_header_or_the_query() {
        let mut headers = HeaderMap::new();
        let uri: Uri = "/v1/audio/transcriptions?entity_id=1&authorization=Bearer%20pat_x"
            .parse()
            .unwrap();
        assert_eq!(token(&headers, &uri).as_deref(), Some("Bearer pat_x"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer h"));
        assert_eq!(token(&headers, &uri).as_deref(), Some("Bearer h"));
        let bare: Uri = "/v1/audio/transcriptions".parse().unwrap();
        assert_eq!(token(&HeaderMap::new(), &bare), None);
    }
}
