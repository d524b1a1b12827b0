//! A Coze streaming session through the proxy: the upstream's handshake first (a refusal
//! goes back as it came, status and body), then frames both ways as they come, one task per
//! direction so a slow side only waits for itself. With `--record`, the frames are watched
//! ([`StreamWatch`]) and each finished cycle's text is written as a fixture.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode, CloseFrame, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::{self as tung, Message};

use super::record::StreamWatch;
use super::Proxy;
use crate::providers::coze::answer::LOGID_HEADER;
use crate::providers::coze::error::CozeError;
use crate::providers::coze::CozeService;
use crate::routes::Provider;
use crate::stores::journal::JournalNote;

/// Largest frame either side may send through the proxy (the simulator's own default).
const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// How long (real time) the upstream's answer to a client's close is waited for.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the request asks for a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Opens the upstream session, then upgrades the client's connection onto it.
pub async fn forward(proxy: Arc<Proxy>, coze: Arc<CozeService>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let refuse = |status: StatusCode, reason: String| {
        CozeError::refused(status, reason)
            .answer(coze.logids.next())
            .into_response()
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade.max_frame_size(MAX_FRAME_BYTES),
        Err(rejection) => return rejection.into_response(),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str())
        .to_owned();
    let Some(mut target) = proxy.target(Provider::Coze, &path_and_query) else {
        return refuse(StatusCode::BAD_GATEWAY, "proxy: no upstream URL".into());
    };
    let scheme = if target.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    if target.set_scheme(scheme).is_err() {
        return refuse(StatusCode::BAD_GATEWAY, "proxy: no upstream URL".into());
    }
    let Ok(mut request) = target.as_str().into_client_request() else {
        return refuse(StatusCode::BAD_GATEWAY, "proxy: bad upstream URL".into());
    };
    for (name, value) in &parts.headers {
        let name_s = name.as_str();
        // The handshake's own headers are the client library's to write.
        if !name_s.starts_with("sec-websocket-")
            && !matches!(name_s, "host" | "connection" | "upgrade" | "content-length")
        {
            request.headers_mut().append(name, value.clone());
        }
    }
    if let Some(protocols) = parts.headers.get(header::SEC_WEBSOCKET_PROTOCOL) {
        request
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, protocols.clone());
    }
    let config = WebSocketConfig::default()
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_FRAME_BYTES));
    let connected = tokio::time::timeout(
        proxy.timeout,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await;
    let (upstream, handshake) = match connected {
        Err(_) => {
            return refuse(
                StatusCode::GATEWAY_TIMEOUT,
                "proxy: the upstream did not complete the handshake in time".into(),
            )
        }
        Ok(Err(tung::Error::Http(answer))) => return passed_back(*answer),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "proxy: upstream streaming handshake failed");
            return refuse(
                StatusCode::BAD_GATEWAY,
                format!(
                    "proxy: the upstream {} cannot be reached",
                    target.host_str().unwrap_or("?")
                ),
            );
        }
        Ok(Ok(pair)) => pair,
    };
    let watch = proxy
        .recorder
        .as_ref()
        .map(|r| r.stream_watch(&parts.headers, parts.uri.query()));
    let recorder = proxy.clone();
    let mut response = upgrade.on_upgrade(move |client| async move {
        let watch = pump(client, upstream, watch).await;
        if let (Some(recorder), Some(watch)) = (&recorder.recorder, watch) {
            recorder.stream_finished(watch).await;
        }
    });
    // What the upstream's 101 carried that a client reads (Coze's logid).
    for (name, value) in handshake.headers() {
        let n = name.as_str();
        if n.starts_with("x-") || n == header::SEC_WEBSOCKET_PROTOCOL.as_str() {
            response.headers_mut().insert(name, value.clone());
        }
    }
    let logid = handshake
        .headers()
        .get(LOGID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    response.extensions_mut().insert(JournalNote {
        provider: Some(Provider::Coze),
        id: logid,
        ..JournalNote::default()
    });
    response
}

/// The upstream's refusal of the handshake, as it came.
fn passed_back(answer: axum::http::Response<Option<Vec<u8>>>) -> Response {
    let (parts, body) = answer.into_parts();
    let mut response = Response::new(Body::from(body.unwrap_or_default()));
    *response.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "connection" | "transfer-encoding" | "content-length" | "keep-alive" | "upgrade"
        ) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

type Upstream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Frames both ways until either side closes; returns what the watch saw.
async fn pump(
    client: WebSocket,
    upstream: Upstream,
    watch: Option<StreamWatch>,
) -> Option<StreamWatch> {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut up_tx, mut up_rx) = upstream.split();
    let watch = watch.map(|w| Arc::new(parking_lot::Mutex::new(w)));
    let seen_up = watch.clone();
    let to_upstream = async move {
        while let Some(Ok(frame)) = client_rx.next().await {
            if let (Some(w), ws::Message::Text(text)) = (&seen_up, &frame) {
                w.lock().client_frame(text.as_str());
            }
            let closing = matches!(frame, ws::Message::Close(_));
            if up_tx.send(to_tungstenite(frame)).await.is_err() || closing {
                break;
            }
        }
        let _ = up_tx.close().await;
    };
    let seen_down = watch.clone();
    let to_client = async move {
        while let Some(Ok(frame)) = up_rx.next().await {
            if let (Some(w), Message::Text(text)) = (&seen_down, &frame) {
                w.lock().server_frame(text.as_str());
            }
            let Some(frame) = to_axum(frame) else {
                continue;
            };
            let closing = matches!(frame, ws::Message::Close(_));
            if client_tx.send(frame).await.is_err() || closing {
                break;
            }
        }
        let _ = client_tx.close().await;
    };
    {
        tokio::pin!(to_upstream, to_client);
        // The upstream closing ends the session. The client closing is passed on, and the
        // upstream's answering close (and anything still on its way) is waited for briefly.
        tokio::select! {
            () = &mut to_client => {}
            () = &mut to_upstream => {
                let _ = tokio::time::timeout(CLOSE_GRACE, to_client).await;
            }
        }
    }
    watch.and_then(|w| Arc::try_unwrap(w).ok().map(parking_lot::Mutex::into_inner))
}

fn to_tungstenite(frame: ws::Message) -> Message {
    match frame {
        ws::Message::Text(t) => Message::text(t.as_str()),
        ws::Message::Binary(b) => Message::Binary(b),
        ws::Message::Ping(b) => Message::Ping(b),
        ws::Message::Pong(b) => Message::Pong(b),
        ws::Message::Close(c) => Message::Close(c.map(|c| CloseFrame {
            code: CloseCode::from(c.code),
            reason: c.reason.as_str().into(),
        })),
    }
}

fn to_axum(frame: Message) -> Option<ws::Message> {
    Some(match frame {
        Message::Text(t) => ws::Message::Text(t.as_str().into()),
        Message::Binary(b) => ws::Message::Binary(b),
        Message::Ping(b) => ws::Message::Ping(b),
        Message::Pong(b) => ws::Message::Pong(b),
        Message::Close(c) => ws::Message::Close(c.map(|c| ws::CloseFrame {
            code: c.code.into(),
            reason: c.reason.as_str().into(),
        })),
        Message::Frame(_) => return None,
    })
}
