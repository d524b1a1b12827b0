//! Part 6, callbacks: tasks with a CallbackUrl end on one clock move; how fast every attempt is
//! delivered to a local receiver and journaled as acknowledged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asr_mock::testing::{parse_submit, RawParams};
use asr_mock::MockServer;
use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use tokio::task::JoinHandle;

use crate::bodies::{silence_8k_1s, submit_body};
use crate::floor::{json_response, serve_router};
use crate::memory::{audio_sha256, insert_task};
use crate::report::{fmt_ms, Report};

/// Below the callback journal's 10 000 entries, so every attempt stays readable.
const CALLBACKS: usize = 8_000;
const CALLBACK_DEADLINE: Duration = Duration::from_secs(30);
const GOAL_CALLBACKS_PER_S: f64 = 5_000.0;
const ACK: &str = r#"{"code":0,"message":"success"}"#;

pub(crate) async fn callbacks(sim: &MockServer, report: &mut Report) -> Result<(), String> {
    let received = Arc::new(AtomicUsize::new(0));
    let (recv_addr, recv_task) = start_receiver(received.clone()).await?;
    let state = sim.state();
    let engine = &state.icu.tasks;
    let before: usize = engine
        .callbacks()
        .attempts()
        .iter()
        .filter(|a| a.acknowledged)
        .count();
    let silence = silence_8k_1s();
    let params = RawParams::from_body(
        Some("application/json"),
        submit_body("8k_zh", &silence, None).as_bytes(),
    )
    .and_then(|raw| parse_submit(&raw))
    .map_err(|e| e.to_string())?;
    let sha = audio_sha256(&silence);
    let url = format!("http://{recv_addr}/cb");
    for _ in 0..CALLBACKS {
        insert_task(state, &params, sha, Some(url.clone())).await;
    }
    let t0 = Instant::now();
    sim.clock().advance(Duration::from_secs(120));
    let deadline = t0 + CALLBACK_DEADLINE;
    // The receiver's counter is cheap to watch; the journal (a copy of every attempt) is
    // read only once the receiver has seen them all.
    while received.load(Ordering::Relaxed) < CALLBACKS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let t_received = t0.elapsed();
    let mut acked;
    loop {
        let attempts = engine.callbacks().attempts();
        acked = attempts
            .iter()
            .filter(|a| a.acknowledged)
            .count()
            .saturating_sub(before);
        if acked >= CALLBACKS || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = t0.elapsed();
    recv_task.abort();
    let rate = acked as f64 / elapsed.as_secs_f64();
    report.section(6, format!(
        "6. callbacks: {CALLBACKS} tasks with CallbackUrl end on one clock move; local receiver answers {ACK}"
    ));
    report.row(
        "acknowledged attempts journaled / time",
        format!("{acked} in {}", fmt_ms(elapsed)),
        "",
        "",
    );
    report.row(
        "callbacks/s (receiver saw them all after)",
        format!("{rate:.0}/s ({})", fmt_ms(t_received)),
        "",
        "",
    );
    report.goal(
        "≥ 5 000 callbacks/s",
        format!("{rate:.0}/s"),
        acked >= CALLBACKS && rate >= GOAL_CALLBACKS_PER_S,
    );
    Ok(())
}

/// Counts the callbacks it receives and acknowledges each the way the provider expects.
async fn start_receiver(count: Arc<AtomicUsize>) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let app = Router::new().route(
        "/cb",
        post(move |_body: Bytes| {
            count.fetch_add(1, Ordering::Relaxed);
            async { json_response(Bytes::from_static(ACK.as_bytes())) }
        }),
    );
    serve_router(app).await
}
