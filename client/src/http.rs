//! What both providers' calls share: sending, reading a bounded body, and turning reqwest's
//! failures into [`Error`]s.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::Error;

/// How much of an unexpected body [`Error::Decode`] keeps: enough for a bug report, small
/// enough to log.
pub(crate) const RAW_KEEP: usize = 64 * 1024;

/// The largest body read. The biggest real answer is a 5-hour icu result with word detail
/// (a few MB); anything far past that is not the provider, and must not exhaust memory.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// Connect timeout of the default HTTP clients, as cozepy's.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A whole answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Kept for every error: Coze's error classes follow it.
    pub status: u16,
    /// Coze's logid travels in a header.
    pub headers: HeaderMap,
    /// At most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

/// The default HTTP client: a connect timeout, nothing else. Building one only fails when
/// the TLS backend cannot start; then a plain client is the best left to try.
pub(crate) fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Sends `request` and reads the whole body, up to [`MAX_BODY`].
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Error> {
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(decode(
                status,
                format!("the body is over {MAX_BODY} bytes"),
                &body,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A reqwest failure: its timeout is ours, everything else is transport, with the causes
/// (reqwest's own message alone rarely says what happened).
pub(crate) fn transport(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport(text)
}

/// [`Error::Decode`] keeping at most [`RAW_KEEP`] bytes of `body`.
pub(crate) fn decode(status: u16, reason: impl Into<String>, body: &[u8]) -> Error {
    Error::Decode {
        status,
        reason: reason.into(),
        raw: body[..body.len().min(RAW_KEEP)].to_vec(),
    }
}

/// The body as a JSON object, or [`Error::Decode`].
pub(crate) fn json_object(answer: &Answer) -> Result<serde_json::Map<String, Value>, Error> {
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(decode(
            answer.status,
            "the body is JSON but not an object",
            &answer.body,
        )),
        Err(e) => Err(decode(
            answer.status,
            format!("the body is not JSON: {e}"),
            &answer.body,
        )),
    }
}

/// The envelope's integer `code`, or [`Error::Decode`] (both providers always send one).
pub(crate) fn envelope_code(
    answer: &Answer,
    obj: &serde_json::Map<String, Value>,
) -> Result<i64, Error> {
    obj.get("code").and_then(Value::as_i64).ok_or_else(|| {
        decode(
            answer.status,
            "the body has no integer `code`",
            &answer.body,
        )
    })
}

/// The envelope's `msg`, `""` when absent or not a string.
pub(crate) fn envelope_msg(obj: &serde_json::Map<String, Value>) -> String {
    obj.get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `base` without trailing slashes, so paths can be appended.
pub(crate) fn trim_base(base: String) -> String {
    base.trim_end_matches('/').to_owned()
}

pub(crate) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}
