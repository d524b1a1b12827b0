//! The accept loop over real sockets: keep-alive, faults that drop connections, shutdown,
//! timeouts, and the refusals the connection layer writes itself.

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
        .route("/hello", get(hello).post(hello))
        .route("/close", get(close).post(close))
        .route("/reset", get(reset))
        .route("/refuse", get(refuse))
        .route("/read", axum::routing::post(read_all))
        .route(routes::admin::HEALTH, get(|| async { "ok" }))
}

/// The application's own 400, which must reach the client as it is.
async fn refuse() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::BAD_REQUEST, "the app says no")
}

/// Reads the whole body; says how reading ended.
async fn read_all(body: axum::body::Body) -> String {
    use http_body_util::BodyExt;
    match body.collect().await {
        Ok(all) => format!("read {}", all.to_bytes().len()),
        Err(err) => {
            let timed_out = std::error::Error::source(&err)
                .and_then(|e| e.downcast_ref::<super::super::slow_body::BodyTimeout>())
                .is_some();
            format!("broken body (timeout: {timed_out})")
        }
    }
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

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may stop reading early (a head too large): ignore a failed write.
    let _ = stream.write_all(request).await;
    let mut all = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&all).into_owned()
}

/// The JSON body of a whole answer.
fn json_of(answer: &str) -> serde_json::Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[tokio::test]
async fn heads_hyper_refuses_get_the_applications_answer() {
    let server = start(app(), ServeOptions::default()).await;

    let long = format!(
        "GET /hello?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = exchange(server.addr, long.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer:.200}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    assert_eq!(json_of(&answer)["code"], 414);

    let huge = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(1 << 20)
    );
    let answer = exchange(server.addr, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:.200}");
    assert_eq!(json_of(&answer)["code"], 431);

    let negative = b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n";
    let answer = exchange(server.addr, negative).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer:.200}");
    assert!(json_of(&answer)["msg"]
        .as_str()
        .unwrap()
        .contains("HTTP/1.1"));

    // A HEAD gets the head only.
    let head = format!(
        "HEAD /hello?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = exchange(server.addr, head.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 414 ") && answer.ends_with("\r\n\r\n"),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_applications_own_400_passes_through_and_keeps_the_connection() {
    let server = start(app(), ServeOptions::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(answer.ends_with("the app says no"), "{answer}");
    }
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn an_answer_that_leaves_the_upload_unread_says_close_and_is_still_read() {
    let server = start(app(), ServeOptions::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let body = vec![b'a'; 4 * 1024 * 1024];
    let head = format!(
        "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let upload = tokio::spawn(async move {
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut all = Vec::new();
    let read = tokio::time::timeout(WAIT, reader.read_to_end(&mut all))
        .await
        .expect("closed in time");
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(text.contains("hello "), "the answer arrived whole: {text}");
    read.expect("a clean end, not a reset");
    drop(upload.await);

    // A body that was read to its end keeps the connection.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.ends_with("read 5"), "{answer}");
        assert!(
            !answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_is_cut_off_and_the_connection_closed() {
    let opts = ServeOptions {
        // 30 bytes per 300 ms window: the trickle brings 3.
        body_pace: BodyPace::new(Duration::from_millis(300), 100),
        ..ServeOptions::default()
    };
    let server = start(app(), opts).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut all = Vec::new();
    // Far less than the 100 s the trickle would take, and than the 5 s bound.
    tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("cut off in time");
    let text = String::from_utf8_lossy(&all);
    assert!(text.ends_with("broken body (timeout: true)"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    trickle.abort();

    // A steady body well above the pace is read whole.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n")
        .await
        .unwrap();
    for _ in 0..12 {
        stream.write_all(&[b'y'; 250]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(read_response(&mut stream).await.ends_with("read 3000"));
    server.stop().await;
}

#[tokio::test]
async fn over_the_cap_health_is_answered_and_the_rest_refused() {
    let opts = ServeOptions {
        max_connections: 2,
        ..ServeOptions::default()
    };
    let server = start(app(), opts).await;
    // Two connections hold the cap (silent: they never finish a request).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let answer = exchange(
        server.addr,
        b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    let answer = exchange(server.addr, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert_eq!(json_of(&answer)["code"], 503);

    // Once the cap frees up, connections are served normally again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = exchange(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn past_the_overflow_a_connection_waits_for_a_place() {
    let opts = ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    };
    let server = start(app(), opts).await;
    // 1 served and 8 overflow connections, all with half a request.
    let mut held = Vec::new();
    for _ in 0..9 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The next one waits in the backlog, unanswered...
    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    waiting
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut buf))
            .await
            .is_err(),
        "no place, no answer yet"
    );
    // ...and is answered as soon as a place frees.
    held.pop();
    let answer = read_response(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
    server.stop().await;
}
