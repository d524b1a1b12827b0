//! Our own accept loop. `axum::serve` always answers a request it has started; the `reset`
//! and `empty` faults need to end a connection without answering, so each connection here
//! carries a [`ConnectionControl`] that a handler can pull.
//!
//! Only HTTP/1.1 is served (both providers speak it, and a fault is then one TCP connection).
//! Slowloris protection and the shutdown grace period are real time on purpose: they guard
//! the process, not the simulation, and must not stall under a manual clock.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::tls::Io;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long in-flight requests may run after shutdown starts before their connections are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after an accept error such as EMFILE, so a full fd table does not spin the loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// After a clean close, how long we read and discard what the client still sends: closing a
/// socket with unread data makes the kernel send RST, and `empty` must look like a clean FIN.
const CLOSE_DRAIN_TIME: Duration = Duration::from_secs(1);
/// After a clean close, at most this much of a still-arriving upload is read and discarded.
const CLOSE_DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// How a connection is to end without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A clean FIN: the client sees an empty reply.
    Close,
    /// SO_LINGER 0, then close: the client sees "connection reset by peer".
    Reset,
}

const NOT_ENDING: u8 = 0;
const CLOSING: u8 = 1;
const RESETTING: u8 = 2;

#[derive(Debug, Default)]
struct ControlInner {
    /// `NOT_ENDING`, `CLOSING` or `RESETTING`; the first request wins.
    ending: AtomicU8,
    /// Wakes the connection task; `notify_one` keeps a permit, so no wake-up is lost.
    wake: Notify,
}

/// Handed to every request as an extension; a fault uses it to end the connection.
///
/// Once `close` or `reset` is called, the request's answer is never written: the connection
/// is dropped as soon as the connection task notices, whatever the handler returns.
#[derive(Debug, Clone, Default)]
pub struct ConnectionControl {
    inner: Arc<ControlInner>,
}

impl ConnectionControl {
    /// A control with no connection behind it (for tests that call a router directly): the
    /// request is only recorded, see [`ConnectionControl::ending`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the connection without answering (clean FIN: the client sees an empty reply).
    pub fn close(&self) {
        self.request(CLOSING);
    }

    /// Drops the connection with SO_LINGER 0 (the client sees "connection reset by peer").
    pub fn reset(&self) {
        self.request(RESETTING);
    }

    /// How the connection was asked to end, if it was.
    pub fn ending(&self) -> Option<Ending> {
        match self.inner.ending.load(Ordering::Acquire) {
            CLOSING => Some(Ending::Close),
            RESETTING => Some(Ending::Reset),
            _ => None,
        }
    }

    fn request(&self, how: u8) {
        // First call wins: a later `close` must not soften an earlier `reset`.
        let _ = self.inner.ending.compare_exchange(
            NOT_ENDING,
            how,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.inner.wake.notify_one();
    }

    /// Resolves once `close` or `reset` has been called.
    async fn ended(&self) -> Ending {
        loop {
            if let Some(how) = self.ending() {
                return how;
            }
            self.inner.wake.notified().await;
        }
    }
}

/// Connection settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Real-time limit for a client to send a request's headers (slowloris protection);
    /// `None` waits forever.
    pub header_read_timeout: Option<Duration>,
    /// Whether a connection serves more than one request (HTTP/1.1 keep-alive).
    pub keep_alive: bool,
    /// Serve over TLS (every connection's handshake first, within the header timeout).
    pub tls: Option<super::tls::Tls>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Some(Duration::from_secs(30)),
            keep_alive: true,
            tls: None,
        }
    }
}

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes; then stops accepting,
/// lets in-flight requests finish for up to 10 s of real time, and returns.
///
/// Each request carries a [`ConnectionControl`] and a `ConnectInfo<SocketAddr>` extension.
/// Accept errors (EMFILE and the like) are logged and retried, never returned.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(opts.keep_alive)
        // `X-Tt-Logid` as Coze writes it (HTTP clients ignore the case of header names).
        .title_case_headers(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        opts.tls.clone(),
                        opts.header_read_timeout,
                        peer,
                        app.clone(),
                        builder.clone(),
                        stop_rx.clone(),
                    ));
                }
                Err(err) if is_connection_error(&err) => {
                    tracing::debug!(error = %err, "accept: connection gone before accepted");
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_RETRY) => {}
                        () = &mut shutdown => break,
                    }
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                log_join(done);
            }
        }
    }

    drop(listener);
    stop_tx.send_replace(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(done) = connections.join_next().await {
            log_join(done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown grace period over; cutting the remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one connection until it ends, a handler ends it, or shutdown has let it finish.
async fn serve_connection(
    stream: TcpStream,
    tls: Option<super::tls::Tls>,
    handshake_timeout: Option<Duration>,
    peer: SocketAddr,
    app: Router,
    builder: http1::Builder,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "could not set TCP_NODELAY");
    }
    // TLS: the handshake first, bounded like a request's head.
    let stream = match tls {
        None => Io::Plain(stream),
        Some(tls) => {
            let limit = handshake_timeout.unwrap_or(Duration::from_secs(30));
            match tokio::time::timeout(limit, tls.0.accept(stream)).await {
                Ok(Ok(stream)) => Io::Tls(Box::new(stream)),
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            }
        }
    };
    let control = ConnectionControl::new();
    let service = {
        let control = control.clone();
        tower::service_fn(move |mut req: Request<Incoming>| {
            let app = app.clone();
            let control = control.clone();
            async move {
                req.extensions_mut().insert(control.clone());
                req.extensions_mut().insert(ConnectInfo(peer));
                let response = app.oneshot(req).await;
                if control.ending().is_some() {
                    // Never hand the answer to hyper: the connection task drops the
                    // connection instead, so not one byte of it reaches the client.
                    std::future::pending::<()>().await;
                }
                response
            }
        })
    };
    // Upgrades: the streaming recognition endpoint takes the connection over as a WebSocket.
    let mut conn = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    let mut stopping = false;
    let ending = loop {
        tokio::select! {
            biased;
            how = control.ended() => break how,
            done = &mut conn => {
                if let Err(err) = done {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stop| *stop), if !stopping => stopping = true,
        }
        if stopping {
            // Keep-alive off: the request in flight finishes, then the connection ends.
            Pin::new(&mut conn).graceful_shutdown();
        }
    };
    // An upgraded connection has left hyper: its handler owns it now.
    let Some(parts) = conn.into_parts() else {
        return;
    };
    let mut stream = parts.io.into_inner();
    match ending {
        Ending::Reset => {
            if let Err(err) = stream.tcp().set_zero_linger() {
                tracing::debug!(%peer, error = %err, "could not set SO_LINGER 0");
            }
            drop(stream);
        }
        Ending::Close => close_cleanly(&mut stream).await,
    }
}

/// Sends FIN, then reads and discards what the client still sends (bounded), so that closing
/// with unread data does not turn the clean close into a reset.
async fn close_cleanly(stream: &mut Io) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_DRAIN_TIME, async {
        let mut buf = [0u8; 16 * 1024];
        let mut seen = 0usize;
        while seen < CLOSE_DRAIN_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen += n,
            }
        }
    })
    .await;
}

/// Errors that concern one would-be connection only, not the listener.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        err.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        if err.is_panic() {
            tracing::error!(error = %err, "a connection task panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Extension;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    const WAIT: Duration = Duration::from_secs(5);

    async fn hello(
        Extension(_control): Extension<ConnectionControl>,
        ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ) -> String {
        format!("hello {}", peer.port())
    }

    async fn close(Extension(control): Extension<ConnectionControl>) -> &'static str {
        control.close();
        "this must never be sent"
    }

    async fn reset(Extension(control): Extension<ConnectionControl>) -> &'static str {
        control.reset();
        "this must never be sent"
    }

    struct Running {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Running {
        async fn stop(mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            tokio::time::timeout(WAIT, self.task)
                .await
                .expect("serve returned in time")
                .expect("serve task")
                .expect("serve result");
        }
    }

    async fn start(app: Router, opts: ServeOptions) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, opts, async move {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn app() -> Router {
        Router::new()
            .route("/hello", get(hello))
            .route("/close", get(close).post(close))
            .route("/reset", get(reset))
    }

    /// Reads one response with a Content-Length body from a raw stream.
    async fn read_response(stream: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let len = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if got.len() >= head_end + 4 + len {
                    return text;
                }
            }
            let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
                .await
                .expect("response in time")
                .expect("read");
            assert!(n > 0, "connection closed mid-response: {text:?}");
            got.extend_from_slice(&buf[..n]);
        }
    }

    #[tokio::test]
    async fn two_requests_share_one_connection() {
        let server = start(app(), ServeOptions::default()).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let port = stream.local_addr().unwrap().port();
        for _ in 0..2 {
            stream
                .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let response = read_response(&mut stream).await;
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with(&format!("hello {port}")), "{response}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn without_keep_alive_the_server_closes_after_one_answer() {
        let opts = ServeOptions {
            keep_alive: false,
            ..ServeOptions::default()
        };
        let server = start(app(), opts).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut all = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
            .await
            .expect("closed in time")
            .unwrap();
        assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
        server.stop().await;
    }

    #[tokio::test]
    async fn close_ends_the_connection_with_an_empty_reply() {
        let server = start(app(), ServeOptions::default()).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut all = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
            .await
            .expect("closed in time");
        assert_eq!(read.expect("clean EOF, not an error"), 0);
        assert!(all.is_empty());

        // reqwest sees the same: an error, and no status.
        let err = reqwest::get(format!("http://{}/close", server.addr))
            .await
            .expect_err("no answer");
        assert!(err.status().is_none());
        server.stop().await;
    }

    #[tokio::test]
    async fn close_with_an_unread_upload_is_still_a_clean_eof() {
        let server = start(app(), ServeOptions::default()).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let body = vec![b'a'; 256 * 1024];
        let head = format!(
            "POST /close HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
        let mut all = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
            .await
            .expect("closed in time");
        assert_eq!(read.expect("clean EOF, not a reset"), 0);
        server.stop().await;
    }

    #[tokio::test]
    async fn reset_ends_the_connection_with_a_reset() {
        let server = start(app(), ServeOptions::default()).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut all = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
            .await
            .expect("reset in time");
        let err = read.expect_err("a reset, not a clean EOF");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(all.is_empty());
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_lets_an_in_flight_request_finish() {
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let started_tx = Arc::new(parking_lot::Mutex::new(Some(started_tx)));
        let app = Router::new().route(
            "/slow",
            get(move || {
                let started_tx = started_tx.clone();
                async move {
                    if let Some(tx) = started_tx.lock().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }
            }),
        );
        let server = start(app, ServeOptions::default()).await;
        let addr = server.addr;
        let request = tokio::spawn(async move {
            let response = reqwest::get(format!("http://{addr}/slow")).await?;
            response.text().await
        });
        tokio::time::timeout(WAIT, started_rx)
            .await
            .expect("handler started")
            .unwrap();
        server.stop().await;
        let body = request.await.unwrap().expect("the slow request finished");
        assert_eq!(body, "done");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
    }

    #[tokio::test]
    async fn idle_connections_do_not_hold_up_shutdown() {
        let server = start(app(), ServeOptions::default()).await;
        // One connection that has been answered and stays open, one that never said a word.
        let mut used = TcpStream::connect(server.addr).await.unwrap();
        used.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        read_response(&mut used).await;
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Well under the 10 s grace period: idle connections are closed at once.
        let Running { stop, task, .. } = server;
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("shutdown did not wait for idle connections")
            .unwrap()
            .unwrap();
        let mut rest = Vec::new();
        assert_eq!(used.read_to_end(&mut rest).await.unwrap_or(0), 0);
        let _ = silent.read_to_end(&mut rest).await;
    }

    #[tokio::test]
    async fn a_stalled_header_is_cut_off() {
        let opts = ServeOptions {
            header_read_timeout: Some(Duration::from_millis(200)),
            ..ServeOptions::default()
        };
        let server = start(app(), opts).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut all = Vec::new();
        // Well under the 30 s default: only the short timeout can end this in time.
        let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut all))
            .await
            .expect("disconnected after the header timeout");
        // hyper may or may not send a 408 first; either way nothing is served.
        let _ = read;
        assert!(!String::from_utf8_lossy(&all).contains("hello"));
        server.stop().await;
    }

    #[test]
    fn first_ending_wins() {
        let control = ConnectionControl::new();
        assert_eq!(control.ending(), None);
        control.reset();
        control.close();
        assert_eq!(control.ending(), Some(Ending::Reset));
    }
}
