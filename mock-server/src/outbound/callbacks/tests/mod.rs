//! The dispatcher against real receivers on loopback ports, under a manual clock: attempts,
//! retries and timeouts in `delivery`, scenarios' plans in `plans`.

mod delivery;
mod plans;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use super::{CallbackPolicy, Callbacks, Payload, DEFAULT_JOURNAL_CAPACITY};
use crate::clock::Clock;

const SEED_BODY: &str = "code=0&requestId=4000048858&appid=12516&projectid=0&text=%5B0%3A1.640%2C0%3A4.600%5D++%E6%88%91%E5%9C%A8%E9%A9%AC%E4%B8%8A%E4%B8%8A%E5%A4%9C%E7%8F%AD%E3%80%82%0A%5B0%3A5.420%2C0%3A7.820%5D++%E6%98%8E%E5%A4%A9%E6%97%A9%E4%B8%8A%E8%AF%B4%E5%93%88%E3%80%82%0A&audioTime=8.420000&message=&resultDetail=";
const START: i64 = 1_000_000;
/// What the test receivers answer to acknowledge.
const ACKNOWLEDGEMENT: &str = r#"{"code":0,"message":"success"}"#;
/// The content type the test payloads carry.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The test receivers' acknowledgement rule: exactly [`ACKNOWLEDGEMENT`].
fn exact_ack(answer: &[u8]) -> Result<(), String> {
    if answer == ACKNOWLEDGEMENT.as_bytes() {
        Ok(())
    } else {
        Err("not the acknowledgement".to_owned())
    }
}

/// A form payload with `body`.
fn form(body: impl Into<String>) -> Payload {
    Payload {
        body: body.into(),
        content_type: FORM_CONTENT_TYPE,
    }
}

/// The seed's callback example, as its provider encodes it.
fn seed() -> Payload {
    form(SEED_BODY)
}

/// What a test receiver does with request number `n` (from 1).
#[derive(Debug, Clone, Copy)]
enum Reply {
    Ack,
    Status(u16),
    Json(&'static str),
    /// Never answers.
    Hang,
    /// Acknowledges after this many real ms (to overlap requests).
    SlowAck(u64),
}

/// One request as received: (Content-Type, User-Agent, body).
type SeenRequest = (Option<String>, Option<String>, String);

/// Counters a test receiver keeps.
#[derive(Debug, Default)]
struct Seen {
    hits: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    requests: Mutex<Vec<SeenRequest>>,
}

#[derive(Clone)]
struct Receiver {
    script: fn(usize) -> Reply,
    seen: Arc<Seen>,
}

async fn handle(State(rx): State<Receiver>, headers: HeaderMap, body: String) -> Response {
    let n = rx.seen.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let now = rx.seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    rx.seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    rx.seen
        .requests
        .lock()
        .push((text(header::CONTENT_TYPE), text(header::USER_AGENT), body));
    let reply = match (rx.script)(n) {
        Reply::Ack => ACKNOWLEDGEMENT.into_response(),
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ACKNOWLEDGEMENT,
        )
            .into_response(),
        Reply::Json(text) => text.into_response(),
        Reply::Hang => std::future::pending::<Response>().await,
        Reply::SlowAck(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ACKNOWLEDGEMENT.into_response()
        }
    };
    rx.seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    reply
}

/// A receiver on a fresh loopback port answering per `script`.
async fn receiver(script: fn(usize) -> Reply) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/cb", post(handle))
        .with_state(Receiver {
            script,
            seen: Arc::clone(&seen),
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/cb"), seen)
}

fn callbacks(clock: &Clock, policy: CallbackPolicy, concurrency: usize) -> Callbacks {
    Callbacks::new(
        clock.clone(),
        policy,
        concurrency,
        DEFAULT_JOURNAL_CAPACITY,
        exact_ack,
    )
}

/// `wait_idle`, but a hang fails the test instead of stalling it.
async fn idle(cb: &Callbacks) {
    tokio::time::timeout(Duration::from_secs(10), cb.wait_idle())
        .await
        .expect("callbacks went idle");
}

/// Waits (in real time) until the receiver has seen `n` requests.
async fn hits(seen: &Seen, n: usize) {
    for _ in 0..1000 {
        if seen.hits.load(Ordering::SeqCst) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("receiver never saw {n} requests");
}
