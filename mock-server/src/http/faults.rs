//! Fault transformations of answers: garbage, truncated and dripped bodies, and delays.
//!
//! These only reshape a response; choosing when to apply them is the scenarios' business.
//! Ending a connection without an answer (`reset`, `empty`) is [`crate::http::serve`]'s
//! `ConnectionControl`. Bodies are collected up to [`MAX_BODY`]; a larger one is passed on
//! untouched rather than held in memory.

use std::time::Duration;

use axum::body::{Body, BodyDataStream, HttpBody};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};

use crate::clock::Clock;

/// The largest body a fault collects to reshape; provider answers are small JSON.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// HTTP 200 with `n` seeded random bytes (content-type application/octet-stream).
///
/// `n` is capped at [`MAX_BODY`], so a careless scenario cannot exhaust memory.
pub fn garbage(rng: &mut impl rand::RngCore, n: usize) -> Response {
    let mut bytes = vec![0u8; n.min(MAX_BODY)];
    rng.fill_bytes(&mut bytes);
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response()
}

/// The answer's body cut to `keep` of its length (at least 1 byte short of the full body), with
/// a Content-Length that matches what is sent; status and headers kept.
///
/// The cut also falls before the body's last non-whitespace byte, so a JSON object or array
/// never survives it whole. `keep` is clamped to 0..=1 (NaN counts as 0). An empty body, or
/// one over [`MAX_BODY`], is passed on untouched.
pub async fn truncate(response: Response, keep: f64) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = match collect_bounded(body).await {
        Ok(bytes) if !bytes.is_empty() => bytes,
        Ok(bytes) => return Response::from_parts(parts, Body::from(bytes)),
        Err(untouched) => return Response::from_parts(parts, untouched),
    };
    let cut = cut_len(&bytes, keep);
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(cut));
    Response::from_parts(parts, Body::from(bytes.slice(..cut)))
}

/// How many bytes of `body` a truncation keeps: `keep` of it, but short of its last
/// non-whitespace byte (so a trailing newline cannot make the cut harmless).
fn cut_len(body: &[u8], keep: f64) -> usize {
    let meaningful = body
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |last| last + 1);
    let keep = if keep.is_nan() {
        0.0
    } else {
        keep.clamp(0.0, 1.0)
    };
    let wanted = (body.len() as f64 * keep).floor() as usize;
    wanted.min(meaningful.saturating_sub(1))
}

/// The answer's body sent `chunk_bytes` at a time, one chunk every `interval` of
/// simulator-clock time (first chunk at once); status and headers kept; Content-Length kept so
/// the client waits for all of it.
///
/// Chunk k is due at `first + k × interval`, so advancing a manual clock by n intervals
/// releases n chunks. A `chunk_bytes` of 0 counts as 1. A body over [`MAX_BODY`] is passed on
/// untouched.
pub fn drip(response: Response, chunk_bytes: usize, interval: Duration, clock: Clock) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(len) = body.size_hint().exact() {
        if len > MAX_BODY as u64 {
            return Response::from_parts(parts, body);
        }
        // A streamed body has no known size, so hyper would switch to chunked encoding;
        // pinning the length keeps the wire as the real answer's and makes the client wait.
        if !parts.headers.contains_key(CONTENT_LENGTH) {
            parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    let step = chunk_bytes.max(1);
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let chunks = stream::unfold(Drip::Start(body), move |state| {
        let clock = clock.clone();
        async move { state.next(&clock, step, interval_ms).await }
    });
    Response::from_parts(parts, Body::from_stream(chunks))
}

/// Where a dripping body stands.
enum Drip {
    /// Not read yet: the original body.
    Start(Body),
    /// Collected; `sent` bytes gone, the next chunk (number `index`) due at
    /// `first_ms + index × interval`.
    Chunks {
        bytes: Bytes,
        sent: usize,
        first_ms: i64,
        index: i64,
    },
    /// Too large to collect: the rest of the original body, as it comes.
    PassThrough(BodyDataStream),
}

impl Drip {
    async fn next(
        self,
        clock: &Clock,
        step: usize,
        interval_ms: i64,
    ) -> Option<(Result<Bytes, axum::Error>, Drip)> {
        match self {
            Drip::Start(body) => match collect_bounded(body).await {
                Ok(bytes) if bytes.is_empty() => None,
                Ok(bytes) => {
                    let first = bytes.slice(..step.min(bytes.len()));
                    let next = Drip::Chunks {
                        sent: first.len(),
                        bytes,
                        first_ms: clock.now_ms(),
                        index: 1,
                    };
                    Some((Ok(first), next))
                }
                Err(untouched) => {
                    let mut rest = untouched.into_data_stream();
                    let item = rest.next().await?;
                    Some((item, Drip::PassThrough(rest)))
                }
            },
            Drip::Chunks {
                bytes,
                sent,
                first_ms,
                index,
            } => {
                if sent >= bytes.len() {
                    return None;
                }
                let due = first_ms.saturating_add(index.saturating_mul(interval_ms));
                clock.sleep_until(due).await;
                let end = sent.saturating_add(step).min(bytes.len());
                let chunk = bytes.slice(sent..end);
                let next = Drip::Chunks {
                    bytes,
                    sent: end,
                    first_ms,
                    index: index.saturating_add(1),
                };
                Some((Ok(chunk), next))
            }
            Drip::PassThrough(mut rest) => {
                let item = rest.next().await?;
                Some((item, Drip::PassThrough(rest)))
            }
        }
    }
}

/// Waits `ms` on the simulator clock.
pub async fn delay(clock: &Clock, ms: u64) {
    clock.sleep(Duration::from_millis(ms)).await;
}

/// The whole body if it is at most [`MAX_BODY`]; otherwise (or on a read error) a body that
/// replays what was read and then continues with the rest, so nothing is lost.
async fn collect_bounded(body: Body) -> Result<Bytes, Body> {
    let declared_too_big = body
        .size_hint()
        .upper()
        .is_some_and(|upper| upper > MAX_BODY as u64)
        || body.size_hint().lower() > MAX_BODY as u64;
    if declared_too_big {
        return Err(body);
    }
    let mut chunks = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(item) = chunks.next().await {
        match item {
            Ok(chunk) if buf.len().saturating_add(chunk.len()) <= MAX_BODY => {
                buf.extend_from_slice(&chunk);
            }
            Ok(chunk) => {
                let read = stream::iter([Ok(buf.freeze()), Ok(chunk)]);
                return Err(Body::from_stream(read.chain(chunks)));
            }
            Err(err) => {
                return Err(Body::from_stream(stream::iter([
                    Ok(buf.freeze()),
                    Err(err),
                ])));
            }
        }
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::serve::{serve, ServeOptions};
    use axum::routing::get;
    use axum::{Json, Router};
    use http_body_util::BodyExt;
    use serde_json::json;

    const WAIT: Duration = Duration::from_secs(5);

    fn answer() -> Response {
        Json(json!({
            "code": 0,
            "msg": "",
            "data": { "text": "今天天气很好", "duration": 3.5 },
            "detail": { "logid": "20250101000000000000000000000000" }
        }))
        .into_response()
    }

    async fn body_of(response: Response) -> Bytes {
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
    }

    fn content_length(response: &Response) -> Option<usize> {
        response
            .headers()
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    #[test]
    fn garbage_is_seeded_and_sized() {
        let a = garbage(&mut crate::rng::derive(7, "garbage", b"1"), 64);
        assert_eq!(a.status(), StatusCode::OK);
        assert_eq!(
            a.headers().get(CONTENT_TYPE).unwrap(),
            "application/octet-stream"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let a = rt.block_on(body_of(a));
        let b = rt.block_on(body_of(garbage(
            &mut crate::rng::derive(7, "garbage", b"1"),
            64,
        )));
        let c = rt.block_on(body_of(garbage(
            &mut crate::rng::derive(7, "garbage", b"2"),
            64,
        )));
        assert_eq!(a.len(), 64);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let empty = rt.block_on(body_of(garbage(
            &mut crate::rng::derive(7, "garbage", b"1"),
            0,
        )));
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn truncate_keeps_a_strict_prefix_that_no_longer_parses() {
        let full = body_of(answer()).await;
        for keep in [0.0, 0.3, 0.5, 0.99, 1.0, 7.0, f64::NAN] {
            let cut = truncate(answer(), keep).await;
            assert_eq!(cut.status(), StatusCode::OK);
            assert_eq!(cut.headers().get(CONTENT_TYPE).unwrap(), "application/json");
            let declared = content_length(&cut).expect("content-length");
            let body = body_of(cut).await;
            assert_eq!(declared, body.len(), "keep {keep}");
            assert!(body.len() < full.len(), "keep {keep}");
            assert!(full.starts_with(&body), "keep {keep}");
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
        }
        let half = body_of(truncate(answer(), 0.5).await).await;
        assert_eq!(half.len(), full.len() / 2);
    }

    #[test]
    fn the_cut_falls_before_trailing_whitespace() {
        assert_eq!(cut_len(b"{}\n", 1.0), 1);
        assert_eq!(cut_len(b"{}", 1.0), 1);
        assert_eq!(cut_len(b"   ", 1.0), 0);
        assert_eq!(cut_len(b"", 0.5), 0);
    }

    #[tokio::test]
    async fn truncate_passes_an_empty_body_through() {
        let response = truncate(StatusCode::NO_CONTENT.into_response(), 0.5).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(body_of(response).await.is_empty());
    }

    #[tokio::test]
    async fn drip_releases_chunks_as_the_clock_moves() {
        let clock = Clock::manual(0);
        let full = body_of(answer()).await;
        let response = drip(answer(), 10, Duration::from_secs(1), clock.clone());
        assert_eq!(content_length(&response), Some(full.len()));
        assert_eq!(
            response.headers().get(CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let mut body = response.into_body();
        let mut got = Vec::new();

        let first = tokio::time::timeout(WAIT, body.frame())
            .await
            .expect("first chunk at once")
            .unwrap()
            .unwrap();
        got.extend_from_slice(&first.into_data().unwrap());
        assert_eq!(got.len(), 10);

        for _ in 0..2 {
            // Nothing more until the clock moves.
            assert!(
                tokio::time::timeout(Duration::from_millis(50), body.frame())
                    .await
                    .is_err(),
                "a chunk came before its time"
            );
            clock.advance(Duration::from_secs(1));
            let next = tokio::time::timeout(WAIT, body.frame())
                .await
                .expect("chunk after advancing")
                .unwrap()
                .unwrap();
            got.extend_from_slice(&next.into_data().unwrap());
        }
        assert_eq!(got.len(), 30);

        // Far ahead: every remaining chunk is due.
        clock.advance(Duration::from_secs(3600));
        let rest = tokio::time::timeout(WAIT, body.collect())
            .await
            .expect("the rest")
            .unwrap()
            .to_bytes();
        got.extend_from_slice(&rest);
        assert_eq!(got, full);
    }

    #[tokio::test]
    async fn drip_and_truncate_over_a_real_connection() {
        let clock = Clock::manual(0);
        let app = {
            let clock = clock.clone();
            Router::new()
                .route(
                    "/drip",
                    get(move || {
                        let clock = clock.clone();
                        async move { drip(answer(), 16, Duration::from_millis(500), clock) }
                    }),
                )
                .route("/truncate", get(|| truncate(answer(), 0.5)))
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, ServeOptions::default(), async {
            let _ = stopped.await;
        }));
        let full = body_of(answer()).await;

        let mut response = reqwest::get(format!("http://{addr}/drip")).await.unwrap();
        assert_eq!(response.content_length(), Some(full.len() as u64));
        let mut got = Vec::new();
        while got.len() < 16 {
            let chunk = tokio::time::timeout(WAIT, response.chunk())
                .await
                .expect("first chunk at once")
                .unwrap()
                .expect("more body");
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got.len(), 16);
        let reader = tokio::spawn(async move { response.bytes().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!reader.is_finished(), "the client waits for the rest");
        clock.advance(Duration::from_secs(60));
        let rest = tokio::time::timeout(WAIT, reader)
            .await
            .expect("rest after advancing")
            .unwrap()
            .unwrap();
        got.extend_from_slice(&rest);
        assert_eq!(got, full);

        let response = reqwest::get(format!("http://{addr}/truncate"))
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let declared = response.content_length().expect("content-length");
        let body = response.bytes().await.expect("a complete (short) body");
        assert_eq!(declared as usize, body.len());
        assert!(body.len() < full.len() && full.starts_with(&body));

        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn delay_waits_on_the_simulator_clock() {
        let clock = Clock::manual(0);
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { delay(&clock, 1_500).await })
        };
        tokio::task::yield_now().await;
        clock.advance(Duration::from_millis(1_000));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_millis(500));
        tokio::time::timeout(WAIT, waiter)
            .await
            .expect("delay over")
            .unwrap();
    }
}
