//! The load generator's HTTP/1.1 client: hyper's own client connection
//! (`hyper::client::conn::http1`), one keep-alive connection per concurrent worker, each
//! request built once and sent many times.
//!
//! Kept light on purpose: on a small machine the generator shares the CPU with both servers,
//! and a heavy client (a pool, retries, redirects, proxies) would take CPU from them and so
//! flatten the ratio between the cheap floor and the simulator. This layer does only the
//! HTTP/1.1 framing; a request is cloned from reference-counted parts. It still costs more
//! per request than a bare socket loop: on 2 busy cores the floor's searchResult req/s came
//! out about a fifth below what a hand-written client measured, so compare ratios taken
//! with the same client only.

use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A request built once and sent many times (method, path, headers and body).
#[derive(Debug, Clone)]
pub(crate) struct Req {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    pub(crate) fn get(addr: SocketAddr, path: &str) -> Self {
        Req::new(Method::GET, addr, path, Bytes::new())
    }

    pub(crate) fn post(
        addr: SocketAddr,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Self {
        Req::new(Method::POST, addr, path, body.into()).header(CONTENT_TYPE, content_type)
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers.insert(name, header_value(value));
        self
    }

    fn new(method: Method, addr: SocketAddr, path: &str, body: Bytes) -> Self {
        let uri = path
            .parse()
            .unwrap_or_else(|e| panic!("request path {path:?}: {e}"));
        // hyper's connection sends the head as given; HTTP/1.1 requires Host.
        let mut headers = HeaderMap::new();
        headers.insert(HOST, header_value(&addr.to_string()));
        Req {
            method,
            uri,
            headers,
            body,
        }
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Header values here are written by this bench (addresses, media types, a token).
fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|e| panic!("header value {value:?}: {e}"))
}

/// An answer: its status and whole body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// One keep-alive HTTP/1.1 connection, opened on first use and again after an error or
/// after the server closed it.
#[derive(Debug)]
pub(crate) struct Conn {
    addr: SocketAddr,
    open: Option<Open>,
}

/// hyper's two halves of one connection.
#[derive(Debug)]
struct Open {
    sender: SendRequest<Full<Bytes>>,
    /// Reads and writes the socket. Polled by the worker's own task while a request is out
    /// rather than spawned: no hand-over between two tasks (and threads) per request, which
    /// added about 0.2 ms to the floor's in-process start-up and milliseconds to p99s.
    connection: Pin<Box<Connection<TokioIo<TcpStream>, Full<Bytes>>>>,
}

impl Conn {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Conn { addr, open: None }
    }

    pub(crate) async fn request(&mut self, req: &Req) -> Result<Answer, String> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(req)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.open = None;
                Err(e)
            }
            Err(_) => {
                self.open = None;
                Err(format!("no answer within {REQUEST_TIMEOUT:?}"))
            }
        }
    }

    async fn exchange(&mut self, req: &Req) -> Result<Answer, String> {
        let open = match self.open.take() {
            Some(open) if !open.sender.is_closed() => open,
            _ => connect(self.addr).await?,
        };
        let Open { sender, connection } = self.open.insert(open);
        let mut answer = pin!(async {
            sender
                .ready()
                .await
                .map_err(|e| format!("connection: {e}"))?;
            let response = sender
                .send_request(req.build())
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok(Answer { status, body })
        });
        tokio::select! {
            biased;
            answer = answer.as_mut() => answer,
            // The server closed the connection (after this answer with `Connection: close`,
            // or before it): the answer is complete or fails now. The sender then reads as
            // closed, so the next request connects anew.
            _ = connection.as_mut() => answer.await,
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<Open, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    Ok(Open {
        sender,
        connection: Box::pin(connection),
    })
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

pub(crate) fn task_id_of(answer: &Answer) -> Result<u64, String> {
    let value: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("submit answer is not JSON: {e}"))?;
    value["data"]["TaskId"]
        .as_u64()
        .ok_or_else(|| format!("submit refused: {value}"))
}
