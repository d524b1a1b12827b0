//! `cargo bench -p asr-mock --bench side_by_side`: the simulator next to a *floor* — bare
//! axum routes answering the same fixed bodies — in one run, on 127.0.0.1 ports the OS
//! picks, printed as one table with ratios to the floor and PASS/MISS against the goals.
//!
//! What runs, in order (about half a minute on 2 cores, plus the build):
//! 1. start-up: the `asr-mock` binary (`--port 0`, built by cargo with this bench) against
//!    this same bench executable re-run as a bare axum server, each timed from spawn to the
//!    first `GET /__admin/health` answer (median of a few); then the same in-process
//!    (`MockServer::builder().start()` + first answer against binding the floor router).
//! 2. memory: a fresh child process (this executable again) builds the state, submits
//!    100 000 tasks through the handlers' own operation (`IcuService::submit`), moves the
//!    manual clock past their end and runs the scheduler's `run_due`; RSS from /proc/self/statm before and after. Done for 1 s of
//!    silence (the submit of part 3), for 60 s of speech-like audio (a real transcript), and
//!    for 1 000 000 silent tasks (capacity raised), since ×10 is only a projection.
//! 3. load: one in-process simulator (manual clock, rate limits off) and the floor, each on
//!    its own tokio runtime apart from the load generator's. The generator is hyper's own
//!    HTTP/1.1 client connection (one keep-alive connection per concurrent task, requests
//!    built once) so that on a small machine it takes as little CPU from the servers as
//!    possible: a heavy client would flatten the ratio between a cheap floor and the
//!    simulator. searchResult: 10 short alternating rounds each (the goal takes the median of
//!    the paired ratios; the best rounds show capacity); submit: best
//!    of 3, then the same against the simulator with `--state-file` (every accepted task
//!    committed before its answer), at c=32 and c=1; the 1 MB upload at c=1 (latency) and c=4.
//! 4. callbacks: tasks with a CallbackUrl inserted into the engine, the manual clock moved
//!    past their end, and the time until every attempt is journaled as acknowledged.
//! 5. streaming: one WebSocket session on the manual clock (when the first interim update
//!    comes after speech starts), then 100 real-time sessions on the real clock (the lag
//!    from an append to the update its audio completes).
//! 6. proxy overhead: a second simulator started with `--proxy-coze`/`--proxy-icu` aimed at
//!    the first; polls and 1 MB uploads through it against the same requests sent direct.
//! 7. a 5-hour Url recording (`/__admin/audio/generated/speechlike.wav?seconds=18000`):
//!    wall time from submit until `success`.
//!
//! Every loop has a count and a deadline; child processes are killed by their handle.

// The crate bans `Instant::now` and `SystemTime::now` (clippy.toml) so that every time the
// simulator uses comes from its own clock. A benchmark measures wall-clock time by
// definition, so this file reads it; the date comes from `date(1)`.
#![allow(clippy::disallowed_methods)]

mod bodies;
mod callbacks;
mod client;
mod five_hours;
mod floor;
mod load;
mod memory;
mod report;
mod startup;
mod stream;

use std::time::Duration;

use asr_mock::MockServer;
use serde_json::json;
use tokio::runtime::{Handle, Runtime};

use bodies::{submit_body, tone_wav, upload_request};
use client::{contains, snippet, task_id_of, Conn, Req};
use load::UPLOAD_BYTES;
use report::Report;

/// The allocator the asr-mock binary ships with (see its main.rs), for the floor as well:
/// the ratios compare the servers' code, not their allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set in the environment of the helper processes this executable starts.
pub(crate) const CHILD_ENV: &str = "SIDE_BY_SIDE_CHILD";
/// Optional comma-separated list of the parts to run (for profiling one of them):
/// `startup,memory,search,submit,upload,callbacks,stream,proxy,fivehours`; all when unset.
const ONLY_ENV: &str = "SIDE_BY_SIDE_ONLY";
/// Built by cargo together with this bench (release settings).
pub(crate) const ASR_MOCK_BIN: &str = env!("CARGO_BIN_EXE_asr-mock");

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("floor-server") => return child_exit(floor::floor_server_child()),
        Ok("memory") => return child_exit(memory::memory_child()),
        _ => {}
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("side_by_side: run it with `cargo bench -p asr-mock --bench side_by_side`");
        return;
    }
    let mut report = Report::default();
    report::header(&mut report);
    if wanted("startup") {
        eprintln!("side_by_side: start-up (processes)…");
        startup::startup_processes(&mut report);
    }
    if wanted("memory") {
        eprintln!("side_by_side: memory (child processes)…");
        memory::memory(&mut report);
    }

    let server_rt = runtime("bench-server");
    let client_rt = runtime("bench-client");
    let handle = server_rt.handle().clone();
    if let Err(e) = client_rt.block_on(in_runtimes(handle, &mut report)) {
        report.note(format!("aborted: {e}"));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    report.note(format!(
        "load average at the end: {} (other work on the machine disturbs the numbers)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    client_rt.shutdown_timeout(Duration::from_secs(2));
    server_rt.shutdown_timeout(Duration::from_secs(2));
    report.print();
}

/// Whether `part` is to run (see [`ONLY_ENV`]).
pub(crate) fn wanted(part: &str) -> bool {
    match std::env::var(ONLY_ENV) {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|p| p.trim() == part),
        _ => true,
    }
}

fn child_exit(result: Result<(), String>) {
    if let Err(e) = result {
        eprintln!("side_by_side child: {e}");
        std::process::exit(1);
    }
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Everything that needs the servers: in-process start-up, load, callbacks, 5 h.
async fn in_runtimes(server_rt: Handle, report: &mut Report) -> Result<(), String> {
    if wanted("startup") {
        eprintln!("side_by_side: start-up (in-process)…");
        startup::startup_in_process(report).await?;
    }

    // The simulator under test, on its own runtime, and its control client.
    let sim = server_rt
        .spawn(async { MockServer::builder().manual_clock(None).start().await })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let sim_addr = sim.addr();
    let http = reqwest::Client::new();
    let settings = http
        .post(format!("{}/__admin/icu/settings", sim.base_url()))
        .json(&json!({"query_rate": 0, "submit_rate": 0}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !settings.status().is_success() {
        return Err(format!("icu settings: HTTP {}", settings.status()));
    }

    // A finished task to poll: 5 s of speech-like audio, so Result has some text.
    let mut conn = Conn::new(sim_addr);
    let speech = asr_mock::testing::wav_8bit(8000, 1, 8000 * 5, true);
    let answer = conn
        .request(&Req::post(
            sim_addr,
            "/openapi/asr/voiceToText",
            "application/json",
            submit_body("8k_zh", &speech, None),
        ))
        .await?;
    let task_id = task_id_of(&answer)?;
    sim.clock().advance(Duration::from_secs(120));
    let search_path = format!("/openapi/asr/searchResult?TaskId={task_id}");
    let search_sim_req = Req::get(sim_addr, &search_path);
    let mut search_body = None;
    for _ in 0..200 {
        let a = conn.request(&search_sim_req).await?;
        if contains(&a.body, br#""StatusStr":"success""#) {
            search_body = Some(a.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let search_body = search_body.ok_or("the polled task never reached success")?;

    // The simulator's own answer to the 1 MB upload, which the floor repeats.
    let tone = tone_wav(UPLOAD_BYTES);
    let upload_sim_req = upload_request(sim_addr, &tone);
    let upload_answer = conn.request(&upload_sim_req).await?;
    if upload_answer.status != 200 || !contains(&upload_answer.body, br#""code":0"#) {
        return Err(format!(
            "1 MB upload refused: HTTP {} {}",
            upload_answer.status,
            snippet(&upload_answer.body)
        ));
    }
    drop(conn);

    let floor_search = search_body.clone();
    let floor_upload = upload_answer.body;
    let (floor_addr, floor_task) = server_rt
        .spawn(async move { floor::start_floor(floor_search, floor_upload).await })
        .await
        .map_err(|e| e.to_string())??;

    let search_floor_req = Req::get(floor_addr, &search_path);
    let upload_floor_req = upload_request(floor_addr, &tone);
    if wanted("search") {
        eprintln!("side_by_side: searchResult…");
        load::search_phase(
            report,
            (sim_addr, &search_sim_req),
            (floor_addr, &search_floor_req),
            search_body.len(),
        )
        .await;
    }
    if wanted("submit") {
        eprintln!("side_by_side: submit…");
        load::submit_phase(report, sim_addr, floor_addr).await;
        eprintln!("side_by_side: submit with --state-file…");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config = asr_mock::Config {
            state_file: Some(dir.path().join("state.db")),
            icu_submit_rate: 0,
            icu_query_rate: 0,
            ..asr_mock::Config::default()
        };
        let durable = server_rt
            .spawn(async move {
                MockServer::builder()
                    .config(config)
                    .manual_clock(None)
                    .start()
                    .await
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        load::persistence_phase(report, durable.addr(), sim_addr).await;
        let _ = tokio::time::timeout(Duration::from_secs(30), durable.shutdown()).await;
    }
    if wanted("upload") {
        eprintln!("side_by_side: 1 MB upload…");
        load::upload_phase(
            report,
            (sim_addr, &upload_sim_req),
            (floor_addr, &upload_floor_req),
        )
        .await;
    }
    if wanted("callbacks") {
        eprintln!("side_by_side: callbacks…");
        callbacks::callbacks(&sim, report).await?;
    }
    if wanted("stream") {
        eprintln!("side_by_side: streaming sessions…");
        stream::stream(&sim, server_rt.clone(), report).await?;
    }
    if wanted("proxy") {
        eprintln!("side_by_side: proxy overhead…");
        let config = asr_mock::Config {
            proxy_coze: Some(sim.base_url()),
            proxy_icu: Some(sim.base_url()),
            ..asr_mock::Config::default()
        };
        let proxy = server_rt
            .spawn(async move { MockServer::builder().config(config).start().await })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let proxy_addr = proxy.addr();
        let search_proxy_req = Req::get(proxy_addr, &search_path);
        let upload_proxy_req = upload_request(proxy_addr, &tone);
        load::proxy_phase(
            report,
            ((proxy_addr, &search_proxy_req), (sim_addr, &search_sim_req)),
            ((proxy_addr, &upload_proxy_req), (sim_addr, &upload_sim_req)),
        )
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), proxy.shutdown()).await;
    }
    if wanted("fivehours") {
        eprintln!("side_by_side: 5-hour recording…");
        five_hours::five_hours(&sim, report).await?;
    }
    floor_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), sim.shutdown()).await;
    Ok(())
}
