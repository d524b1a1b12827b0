//! Our own accept loop. `axum::serve` always answers a request it has started; the `reset`
//! and `empty` faults need to end a connection without answering, so each connection here
//! carries a [`ConnectionControl`] that a handler can pull.
//!
//! Only HTTP/1.1 is served (both providers speak it, and a fault is then one TCP connection).
//! Slowloris protection, body pacing and the shutdown grace period are real time on purpose:
//! they guard the process, not the simulation, and must not stall under a manual clock.
//!
//! What guards the process:
//! - a header-read timeout (hyper's), which also closes idle keep-alive connections;
//! - a pace for request bodies ([`BodyPace`], `slow_body.rs`);
//! - a cap on open connections, fitted under the open-file limit. Connections over the cap
//!   are still accepted, up to an eighth more: they get health checks answered and every
//!   other request a 503 with `Connection: close`, so a flood of slow clients cannot make
//!   the simulator look dead. Beyond that, new connections wait in the listen backlog until
//!   a place frees (the overflow's places free quickly: one request, a short header
//!   timeout, no lingering).
//!
//! An answer that leaves the request body unread says `Connection: close`, and the connection
//! then reads and discards what still arrives (bounded) before closing: closing on unread
//! data would be a reset, which can destroy the answer before the client reads it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use super::tls::Io;
use axum::extract::ConnectInfo;
use axum::http::Method;
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

pub use super::control::{BodyState, ConnectionControl, Ending};
use super::refusal::{self, Refusal, RefusalKind, Refuser};
use super::slow_body::{BodyPace, GuardedBody};
use crate::routes;

/// How long in-flight requests may run after shutdown starts before their connections are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after an accept error such as EMFILE, so a full fd table does not spin the loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// After a clean close, how long we read and discard what the client still sends: closing a
/// socket with unread data makes the kernel send RST, and `empty` must look like a clean FIN.
const CLOSE_DRAIN_TIME: Duration = Duration::from_secs(1);
/// After a clean close, at most this much of a still-arriving upload is read and discarded.
const CLOSE_DRAIN_BYTES: usize = 8 * 1024 * 1024;
/// The header-read timeout of connections over the cap: they get one short chance.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Default of `--body-timeout-ms`: the pace's window.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `--body-min-rate`, bytes per second.
pub const DEFAULT_BODY_MIN_RATE: u64 = 1024;
/// Default of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Connection settings of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Real-time limit for a client to send a request's headers (slowloris protection);
    /// `None` waits forever.
    pub header_read_timeout: Option<Duration>,
    /// Whether a connection serves more than one request (HTTP/1.1 keep-alive).
    pub keep_alive: bool,
    /// How fast a request body must arrive; `None` waits forever.
    pub body_pace: Option<BodyPace>,
    /// Most connections served at once (lowered to fit the open-file limit); 0: no cap.
    pub max_connections: usize,
    /// Renders what the connection layer refuses (hyper's parse errors, slow bodies,
    /// connections over the cap) in the application's envelopes.
    pub refuser: Refuser,
    /// Serve over TLS (every connection's handshake first, within the header timeout).
    pub tls: Option<super::tls::Tls>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Some(Duration::from_secs(30)),
            keep_alive: true,
            body_pace: BodyPace::new(DEFAULT_BODY_TIMEOUT, DEFAULT_BODY_MIN_RATE),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            refuser: Refuser::default(),
            tls: None,
        }
    }
}

/// What every connection task shares.
#[derive(Debug)]
struct Shared {
    app: Router,
    pace: Option<BodyPace>,
    refuser: Refuser,
    /// The cap in force, for the 503's message.
    cap: usize,
    tls: Option<super::tls::Tls>,
    /// Also bounds the TLS handshake.
    header_read_timeout: Option<Duration>,
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
    let mut overflow_builder = builder.clone();
    overflow_builder
        .header_read_timeout(
            opts.header_read_timeout
                .map_or(OVERFLOW_HEADER_TIMEOUT, |t| t.min(OVERFLOW_HEADER_TIMEOUT)),
        )
        .keep_alive(false);
    let limits = Limits::new(opts.max_connections);
    let shared = Arc::new(Shared {
        app,
        pace: opts.body_pace,
        refuser: opts.refuser,
        cap: limits.cap,
        tls: opts.tls,
        header_read_timeout: opts.header_read_timeout,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);

    // A place (a permit) is secured before accepting: with none free, new connections wait
    // in the listen backlog, where a health check takes its turn, instead of being refused.
    let mut place: Option<Admission> = None;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            admission = limits.wait(), if place.is_none() => place = Some(admission),
            accepted = listener.accept(), if place.is_some() => match accepted {
                Ok((stream, peer)) => {
                    let (permit, overflow) = match limits.upgrade(place.take()) {
                        Admission::Serve(permit) => (permit, false),
                        Admission::Overflow(permit) => (Some(permit), true),
                    };
                    let builder = if overflow { &overflow_builder } else { &builder };
                    connections.spawn(serve_connection(
                        Connection { stream, peer, overflow, _permit: permit },
                        shared.clone(),
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

/// The connection cap and its overflow, as semaphores whose permits the connections hold.
struct Limits {
    /// `None`: no cap.
    serve: Option<Arc<Semaphore>>,
    overflow: Arc<Semaphore>,
    cap: usize,
}

enum Admission {
    /// Serve normally (`None` when there is no cap).
    Serve(Option<OwnedSemaphorePermit>),
    /// Over the cap: health checks only, 503 for the rest.
    Overflow(OwnedSemaphorePermit),
}

impl Limits {
    fn new(max_connections: usize) -> Self {
        if max_connections == 0 {
            return Limits {
                serve: None,
                overflow: Arc::new(Semaphore::new(0)),
                cap: 0,
            };
        }
        let cap = fit_to_open_files(max_connections);
        Limits {
            serve: Some(Arc::new(Semaphore::new(cap))),
            overflow: Arc::new(Semaphore::new((cap / 8).max(8))),
            cap,
        }
    }

    /// A place for the next connection: a normal one if free, else one in the overflow;
    /// waits while both are taken.
    async fn wait(&self) -> Admission {
        let Some(serve) = &self.serve else {
            return Admission::Serve(None);
        };
        if let Ok(permit) = serve.clone().try_acquire_owned() {
            return Admission::Serve(Some(permit));
        }
        let place = tokio::select! {
            biased;
            permit = serve.clone().acquire_owned() => permit.map(|p| Admission::Serve(Some(p))),
            permit = self.overflow.clone().acquire_owned() => permit.map(Admission::Overflow),
        };
        // The semaphores are never closed; if one were, serving beats refusing.
        place.unwrap_or(Admission::Serve(None))
    }

    /// The place secured before accepting, made a normal one if one has freed since.
    fn upgrade(&self, place: Option<Admission>) -> Admission {
        match (place, &self.serve) {
            (Some(Admission::Overflow(permit)), Some(serve)) => {
                match serve.clone().try_acquire_owned() {
                    Ok(normal) => Admission::Serve(Some(normal)),
                    Err(_) => Admission::Overflow(permit),
                }
            }
            (Some(place), _) => place,
            (None, _) => Admission::Serve(None),
        }
    }
}

/// `max` lowered so that the connections, their overflow and a reserve for everything else
/// the process opens (callbacks, downloads, files) fit under the open-file limit: past it,
/// `accept` fails and even a health check waits in the backlog.
fn fit_to_open_files(max: usize) -> usize {
    let Some(limit) = open_file_limit() else {
        return max;
    };
    let reserve = 64 + limit / 8;
    // The cap plus its overflow of an eighth must fit what is left.
    let fits = (limit.saturating_sub(reserve) * 8 / 9).max(1);
    if fits < max {
        tracing::warn!(
            max_connections = max,
            lowered_to = fits,
            open_files = limit,
            "the connection cap is lowered to fit the open-file limit (ulimit -n)"
        );
    }
    max.min(fits)
}

#[cfg(unix)]
fn open_file_limit() -> Option<usize> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current.and_then(|n| usize::try_from(n).ok())
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<usize> {
    None
}

/// One accepted connection and what it holds.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Over the cap: answer health checks, refuse the rest.
    overflow: bool,
    /// Released when the connection task ends.
    _permit: Option<OwnedSemaphorePermit>,
}

/// Serves one connection until it ends, a handler ends it, or shutdown has let it finish.
async fn serve_connection(
    connection: Connection,
    shared: Arc<Shared>,
    builder: http1::Builder,
    mut stop: watch::Receiver<bool>,
) {
    let Connection {
        stream,
        peer,
        overflow,
        _permit,
    } = connection;
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "could not set TCP_NODELAY");
    }
    // TLS: the handshake first, bounded like a request's head.
    let stream = match &shared.tls {
        None => Io::Plain(stream),
        Some(tls) => {
            let limit = shared
                .header_read_timeout
                .unwrap_or(Duration::from_secs(30));
            let limit = if overflow {
                limit.min(OVERFLOW_HEADER_TIMEOUT)
            } else {
                limit
            };
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
        let shared = shared.clone();
        tower::service_fn(move |req: Request<Incoming>| {
            let refused = (overflow && !is_health_check(&req)).then(|| overloaded(&shared, &req));
            let control = control.clone();
            let app = shared.app.clone();
            let pace = shared.pace;
            async move {
                if let Some(response) = refused {
                    return Ok(response);
                }
                let mut req = req.map(|body| GuardedBody::new(body, &control, pace));
                req.extensions_mut().insert(control.clone());
                req.extensions_mut().insert(ConnectInfo(peer));
                let mut response = app.oneshot(req).await?;
                if control.ending().is_some() {
                    // Never hand the answer to hyper: the connection task drops the
                    // connection instead, so not one byte of it reaches the client.
                    std::future::pending::<()>().await;
                }
                finish(&control, &mut response);
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let socket = super::socket::Socket::new(stream, control.clone());
    // Upgrades: the streaming recognition endpoint takes the connection over as a WebSocket.
    let mut conn = builder
        .serve_connection(TokioIo::new(socket), TowerToHyperService::new(service))
        .with_upgrades();
    let mut stopping = false;
    let ending = loop {
        tokio::select! {
            biased;
            how = control.ended() => break Some(how),
            done = &mut conn => {
                if let Err(err) = done {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                break None;
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
    let socket = parts.io.into_inner();
    // The refused head and hyper's status for it, when hyper refused one. hyper keeps such a
    // head unless it had split it off to read its headers; the socket kept its first line.
    let refused = socket.held().map(|status| {
        let head = if parts.read_buf.is_empty() {
            Bytes::copy_from_slice(socket.request_line())
        } else {
            parts.read_buf
        };
        (status, head)
    });
    // An HTTP/2 preface gets no answer from hyper (an HTTP/2 client could not read one); a
    // person trying `curl --http2-prior-knowledge` is better served by a 400 saying why.
    let refused = refused.or_else(|| {
        socket
            .request_line()
            .starts_with(H2_PREFACE)
            .then(|| (400, Bytes::from_static(H2_PREFACE)))
    });
    let mut stream = socket.into_stream();
    match ending {
        Some(Ending::Reset) => {
            if let Err(err) = stream.tcp().set_zero_linger() {
                tracing::debug!(%peer, error = %err, "could not set SO_LINGER 0");
            }
            drop(stream);
        }
        Some(Ending::Close) => close_cleanly(&mut stream).await,
        None => {
            if let Some((status, head)) = refused {
                answer_refused_head(&mut stream, status, &head, &shared.refuser).await;
            } else if control.lingers() && !overflow {
                discard_rest(&mut stream, CLOSE_DRAIN_TIME).await;
            }
        }
    }
}

/// The first line of HTTP/2's connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// Whether a request is the health check, which connections over the cap still answer.
fn is_health_check<B>(req: &Request<B>) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD) && req.uri().path() == routes::admin::HEALTH
}

/// The answer of a connection over the cap: 503 in the envelope of the path, closing at once.
/// No draining of an upload still arriving (it may turn the close into a reset): clients
/// that keep reconnecting must not hold the overflow, and with it the health checks, by
/// uploading slowly into it; under overload a client that retries is the expected one.
fn overloaded<B>(shared: &Shared, req: &Request<B>) -> Response {
    let refusal = Refusal {
        kind: RefusalKind::Overloaded,
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        message: format!(
            "the simulator is serving its limit of {} connections; retry shortly",
            shared.cap
        ),
    };
    let mut response = shared.refuser.answer(&refusal);
    refusal::closing(&mut response);
    response
}

/// Last touches on an answer: `Connection: close` when the body was not read to its end, and
/// a note for the socket when the status is one hyper also uses for its own answers.
fn finish(control: &ConnectionControl, response: &mut Response) {
    if response.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        // The connection is the handler's now; `Connection: close` would undo the upgrade.
        return;
    }
    if control.body_state() != BodyState::Done {
        refusal::closing(response);
        control.set_linger();
    }
    if matches!(response.status().as_u16(), 400 | 414 | 431) {
        control.app_error_head();
    }
}

/// hyper refused a request head (and its own empty answer was held back): write the
/// application's rendering of it instead, then close.
async fn answer_refused_head(stream: &mut Io, status: u16, read: &Bytes, refuser: &Refuser) {
    let Some(kind) = RefusalKind::from_hyper_status(status) else {
        return;
    };
    let (method, path, query) = refusal::request_line(read);
    let message = match kind {
        RefusalKind::UriTooLong => {
            "the request URI is too long: it must be under 65534 bytes; send long parameters in the body"
                .to_owned()
        }
        RefusalKind::HeadTooLarge => {
            "the request head (request line and headers) is too large: it must fit in 400 KiB"
                .to_owned()
        }
        _ => "the request is not valid HTTP/1.1 (a malformed request line or header, such as a negative Content-Length)"
            .to_owned(),
    };
    let refusal = Refusal {
        kind,
        method: &method,
        path: &path,
        query: query.as_deref(),
        message,
    };
    let response = refuser.answer(&refusal);
    if let Err(err) = refusal::write_answer(stream, response, method == "HEAD").await {
        tracing::debug!(error = %err, "could not write a refusal");
        return;
    }
    close_cleanly(stream).await;
}

/// Sends FIN, then reads and discards what the client still sends (bounded), so that closing
/// with unread data does not turn the clean close into a reset.
async fn close_cleanly(stream: &mut Io) {
    if stream.shutdown().await.is_err() {
        return;
    }
    discard_rest(stream, CLOSE_DRAIN_TIME).await;
}

/// Reads and discards what the client still sends, for at most `time` and 8 MiB.
async fn discard_rest(stream: &mut Io, time: Duration) {
    let _ = tokio::time::timeout(time, async {
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
#[path = "serve_tests.rs"]
mod tests;
