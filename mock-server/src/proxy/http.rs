//! Forwards one HTTP request of a proxied provider and answers with the upstream's answer:
//! status, headers (hop-by-hop ones aside) and body as they came.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use super::record::Exchange;
use super::Proxy;
use crate::providers::coze::error::{CozeError, MAX_BODY_BYTES};
use crate::providers::coze::CozeService;
use crate::providers::icu::error::{IcuError, IcuErrorKind};
use crate::providers::icu::limits::MAX_SUBMIT_BODY;
use crate::routes::Provider;
use crate::stores::journal::JournalNote;

/// Largest upstream answer passed on (an icu result of a 5-hour recording with word detail
/// is a few MB).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Headers that belong to one connection, not to the request or answer they travel with.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Forwards `req` to `provider`'s upstream; a WebSocket upgrade becomes a proxied session.
pub async fn forward(
    proxy: Arc<Proxy>,
    coze: Arc<CozeService>,
    provider: Provider,
    req: Request,
) -> Response {
    if provider == Provider::Coze && super::ws::is_upgrade(req.headers()) {
        return super::ws::forward(proxy, coze, req).await;
    }
    let failed = |status: StatusCode, reason: String| refuse(&coze, provider, status, reason);
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str())
        .to_owned();
    let Some(target) = proxy.target(provider, &path_and_query) else {
        return failed(
            StatusCode::BAD_GATEWAY,
            format!("proxy: {path_and_query:?} cannot be joined to the upstream URL"),
        );
    };
    let limit = match provider {
        Provider::Coze => MAX_BODY_BYTES as usize,
        Provider::Icu => MAX_SUBMIT_BODY,
    };
    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large(&coze, provider, limit);
        }
        Err(e) => {
            return failed(
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}"),
            )
        }
    };
    // Taken once the body is in: a client slow to send holds no slot.
    let Ok(_slot) = proxy.slots.acquire().await else {
        return failed(StatusCode::BAD_GATEWAY, "the proxy is shutting down".into());
    };
    let mut request = proxy
        .client
        .request(parts.method.clone(), target.clone())
        .body(body.clone());
    let recording = proxy.recorder.is_some();
    for (name, value) in &parts.headers {
        // A recorder reads the answer, so it asks for it uncompressed (the client, which
        // asked for an encoding, takes an identity answer too).
        let compressed = recording && name == header::ACCEPT_ENCODING;
        if passes(name) && name != header::CONTENT_LENGTH && !compressed {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return unreachable(&coze, provider, &target, &e),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = match read_answer(answer).await {
        Ok(bytes) => bytes,
        Err(reason) => return failed(StatusCode::BAD_GATEWAY, reason),
    };
    // Read once, for the journal's note and the recorder.
    let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    if let Some(recorder) = &proxy.recorder {
        recorder
            .http(Exchange {
                provider,
                path: parts.uri.path(),
                query: parts.uri.query(),
                request_headers: &parts.headers,
                body: &body,
                status: status.as_u16(),
                answer: json.as_ref(),
            })
            .await;
    }
    let mut response = Response::new(Body::from(bytes.clone()));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if passes(name) && name != header::CONTENT_LENGTH {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
        .extensions_mut()
        .insert(note(provider, &headers, json.as_ref()));
    response
}

/// Whether a header travels on: not hop-by-hop.
fn passes(name: &HeaderName) -> bool {
    !HOP_BY_HOP.contains(&name.as_str())
}

/// The upstream's body, at most [`MAX_ANSWER_BYTES`].
async fn read_answer(mut answer: reqwest::Response) -> Result<Bytes, String> {
    let mut out: Vec<u8> = Vec::new();
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => {
                if out.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
                    return Err(format!(
                        "proxy: the upstream's answer is over {} MB",
                        MAX_ANSWER_BYTES >> 20
                    ));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(out)),
            Err(e) => return Err(format!("proxy: the upstream's answer broke off: {e}")),
        }
    }
}

/// The journal's note for an upstream answer: its code, message and id where the body (as
/// JSON, when it is) has them (Coze's logid header, icu's TaskId).
fn note(provider: Provider, headers: &HeaderMap, json: Option<&serde_json::Value>) -> JournalNote {
    let code = json
        .and_then(|j| j.get("code"))
        .and_then(serde_json::Value::as_i64);
    let msg = json
        .filter(|_| code.is_some_and(|c| c != 0))
        .and_then(|j| j.get("msg"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let id = match provider {
        Provider::Coze => headers
            .get(crate::providers::coze::answer::LOGID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        Provider::Icu => json
            .and_then(|j| j.pointer("/data/TaskId"))
            .map(ToString::to_string),
    };
    JournalNote {
        provider: Some(provider),
        code,
        msg,
        id,
    }
}

/// The proxy's own refusal, in the provider's envelope.
fn refuse(coze: &CozeService, provider: Provider, status: StatusCode, reason: String) -> Response {
    match provider {
        Provider::Coze => CozeError::refused(status, reason)
            .answer(coze.logids.next())
            .into_response(),
        Provider::Icu => {
            let mut r =
                (status, IcuError::new(IcuErrorKind::InternalError, reason)).into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

/// A body over the provider's own limit: the error the simulator gives it too.
fn too_large(coze: &CozeService, provider: Provider, limit: usize) -> Response {
    let mut response = match provider {
        Provider::Coze => CozeError::body_too_large()
            .answer(coze.logids.next())
            .into_response(),
        Provider::Icu => IcuError::body_too_long(limit).into_response(),
    };
    // The rest of the body was left unread.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 502 (504 on a timeout) when the upstream cannot be reached: a gateway's answer, in the
/// provider's envelope, naming the upstream's host but nothing of the request.
fn unreachable(
    coze: &CozeService,
    provider: Provider,
    target: &url::Url,
    e: &reqwest::Error,
) -> Response {
    let status = if e.is_timeout() {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    let host = target.host_str().unwrap_or("?");
    let what = if e.is_timeout() {
        "did not answer in time"
    } else if e.is_connect() {
        "cannot be reached"
    } else {
        "failed"
    };
    tracing::warn!(%provider, host, status = status.as_u16(), "proxy: upstream {what}");
    refuse(
        coze,
        provider,
        status,
        format!("proxy: the upstream {host} {what}"),
    )
}
