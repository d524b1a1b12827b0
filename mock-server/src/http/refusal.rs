//! Answers the connection layer gives on the application's behalf: a request hyper could not
//! parse (414, 431, 400), a body that arrived too slowly (408), a connection over the cap
//! (503). hyper's own answers to the first three are empty; clients and SDKs then have nothing
//! to show. So the layer describes the refusal ([`Refusal`]) and the application renders it
//! ([`Refuser`]) in the envelope of the provider whose path it was, and the layer writes it.

use std::fmt;
use std::sync::Arc;

use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, Limited};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The most of a request target kept from a head hyper refused (the journal cuts it further).
const MAX_TARGET: usize = 8 * 1024;
/// The largest rendered refusal written by hand (they are small JSON documents).
const MAX_ANSWER: usize = 64 * 1024;

/// Why the connection layer refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request target is 65 534 bytes or longer (hyper's fixed limit): 414.
    UriTooLong,
    /// The request line and headers do not fit hyper's read buffer (about 400 KiB): 431.
    HeadTooLarge,
    /// Not parseable as HTTP/1.1 (a bad request line, a negative `Content-Length`): 400.
    Malformed,
    /// The body arrived too slowly: 408.
    BodyTimeout,
    /// The connection cap is reached: 503.
    Overloaded,
    /// No route serves the path: 404.
    NotFound,
}

impl RefusalKind {
    /// The HTTP status of the answer.
    pub fn status(self) -> StatusCode {
        match self {
            RefusalKind::UriTooLong => StatusCode::URI_TOO_LONG,
            RefusalKind::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            RefusalKind::Malformed => StatusCode::BAD_REQUEST,
            RefusalKind::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            RefusalKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
        }
    }

    /// The kind hyper's automatic answer with this status stands for.
    pub(super) fn from_hyper_status(status: u16) -> Option<Self> {
        match status {
            414 => Some(RefusalKind::UriTooLong),
            431 => Some(RefusalKind::HeadTooLarge),
            400 => Some(RefusalKind::Malformed),
            _ => None,
        }
    }
}

/// One refused request, as far as it is known.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// Why.
    pub kind: RefusalKind,
    /// The method, or `""` when the request line could not be read.
    pub method: &'a str,
    /// The request path (without the query), or `""` when unknown.
    pub path: &'a str,
    /// The query string, if any (possibly cut short).
    pub query: Option<&'a str>,
    /// What a person reads: what was wrong and what the limit is.
    pub message: String,
}

type Render = dyn Fn(&Refusal<'_>) -> Response + Send + Sync;

/// Renders a [`Refusal`] as an answer; the application gives one that knows the providers'
/// envelopes. The default answers `{"code":<status>,"msg":…,"error":…}`.
#[derive(Clone)]
pub struct Refuser(Arc<Render>);

impl Refuser {
    /// A renderer.
    pub fn new(render: impl Fn(&Refusal<'_>) -> Response + Send + Sync + 'static) -> Self {
        Refuser(Arc::new(render))
    }

    /// The answer to `refusal`.
    pub fn answer(&self, refusal: &Refusal<'_>) -> Response {
        (self.0)(refusal)
    }
}

impl Default for Refuser {
    fn default() -> Self {
        Refuser::new(generic)
    }
}

impl fmt::Debug for Refuser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Refuser")
    }
}

/// A JSON answer no SDK reads as success: a non-zero `code` (the HTTP status), `msg`, and
/// `error` (the control API's field).
pub fn generic(refusal: &Refusal<'_>) -> Response {
    let status = refusal.kind.status();
    (
        status,
        Json(serde_json::json!({
            "code": status.as_u16(),
            "msg": refusal.message,
            "error": refusal.message,
        })),
    )
        .into_response()
}

/// The request line at the start of what hyper had read when it refused the head:
/// `(method, path, query)`, lossy UTF-8, the target cut to 8 KiB.
pub(super) fn request_line(buf: &[u8]) -> (String, String, Option<String>) {
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let line = &buf[start..];
    let line = &line[..line
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(line.len())];
    let mut parts = line.splitn(3, |b| *b == b' ');
    let method = parts.next().unwrap_or_default();
    let method = if method.len() <= 32 && method.iter().all(u8::is_ascii_alphabetic) {
        String::from_utf8_lossy(method).into_owned()
    } else {
        String::new()
    };
    let target = parts.next().unwrap_or_default();
    let target = &target[..target.len().min(MAX_TARGET)];
    // Absolute form (`http://host/path`): keep the path.
    let target = match target.windows(3).position(|w| w == b"://") {
        Some(i) if !target[..i].contains(&b'/') => {
            let rest = &target[i + 3..];
            &rest[rest.iter().position(|b| *b == b'/').unwrap_or(rest.len())..]
        }
        _ => target,
    };
    let target = String::from_utf8_lossy(target);
    match target.split_once('?') {
        Some((path, query)) => (method, path.to_owned(), Some(query.to_owned())),
        None => (method, target.into_owned(), None),
    }
}

/// Writes `response` as a whole HTTP/1.1 answer that closes the connection (no body for a
/// `HEAD`), for the cases where hyper cannot write it: it has given up on the connection.
pub(super) async fn write_answer(
    io: &mut (impl AsyncWrite + Unpin),
    response: Response,
    head_only: bool,
) -> std::io::Result<()> {
    let (parts, body) = response.into_parts();
    let body = match Limited::new(body, MAX_ANSWER).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Default::default(),
    };
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if [CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING].contains(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(CONTENT_TYPE) && !body.is_empty() {
        out.extend_from_slice(b"content-type: application/json\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    if !head_only {
        out.extend_from_slice(&body);
    }
    io.write_all(&out).await?;
    io.flush().await
}

/// `Connection: close` on an answer.
pub(super) fn closing(response: &mut Response) {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_is_read_from_a_refused_head() {
        let (m, p, q) =
            request_line(b"\r\nGET /openapi/asr/searchResult?TaskId=1&x=2 HTTP/1.1\r\nHost: x\r\n");
        assert_eq!(
            (m.as_str(), p.as_str()),
            ("GET", "/openapi/asr/searchResult")
        );
        assert_eq!(q.as_deref(), Some("TaskId=1&x=2"));

        // Cut off before the version: what is there is used.
        let (m, p, q) = request_line(b"POST /v1/audio/transcriptions?aaaa");
        assert_eq!(
            (m.as_str(), p.as_str()),
            ("POST", "/v1/audio/transcriptions")
        );
        assert_eq!(q.as_deref(), Some("aaaa"));

        let (_, p, _) = request_line(b"GET http://127.0.0.1:8080/v1/x HTTP/1.1\r\n");
        assert_eq!(p, "/v1/x");

        let (m, p, q) = request_line(b"\x00\x01garbage");
        assert_eq!((m.as_str(), p.as_str(), q), ("", "", None));

        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100_000));
        let (_, p, _) = request_line(long.as_bytes());
        assert_eq!(p.len(), MAX_TARGET);
    }

    #[tokio::test]
    async fn a_written_answer_closes_and_has_a_length() {
        let refusal = Refusal {
            kind: RefusalKind::UriTooLong,
            method: "GET",
            path: "/x",
            query: None,
            message: "too long".into(),
        };
        let mut out = Vec::new();
        write_answer(&mut out, generic(&refusal), false)
            .await
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["code"], 414);
        assert_eq!(json["msg"], "too long");

        let mut out = Vec::new();
        write_answer(&mut out, generic(&refusal), true)
            .await
            .unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("\r\n\r\n"));
    }
}
