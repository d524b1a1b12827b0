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
//!    100 000 tasks through the handler's own operation (`IcuService::submit`), moves the
//!    manual clock past their end and runs the scheduler's `run_due`; RSS from /proc/self/statm before and after. Done for 1 s of
//!    silence (the submit of part 3), for 60 s of speech-like audio (a real transcript), and
//!    for 1 000 000 silent tasks (capacity raised), since ×10 is only a projection.
//! 3. load: one in-process simulator (manual clock, rate limits off) and the floor, each on
//!    its own tokio runtime apart from the load generator's. The generator is a minimal
//!    keep-alive HTTP/1.1 client (one TCP connection per concurrent task, pre-built request
//!    bytes) so that on a small machine it takes as little CPU from the servers as
//!    possible: a heavy client would flatten the ratio between a cheap floor and the
//!    simulator. searchResult: best of 10 short alternating rounds each (the goal compares
//!    those, the closest to a quiet machine; the paired ratios show the spread); submit: best
//!    of 3; the 1 MB upload at c=1 (latency) and c=4.
//! 4. callbacks: tasks with a CallbackUrl inserted into the engine, the manual clock moved
//!    past their end, and the time until every attempt is journaled as acknowledged.
//! 5. a 5-hour Url recording (`/__admin/audio/generated/speechlike.wav?seconds=18000`):
//!    wall time from submit until `success`.
//!
//! Every loop has a count and a deadline; child processes are killed by their handle.

// The crate bans `Instant::now` and `SystemTime::now` (clippy.toml) so that every time the
// simulator uses comes from its own clock. A benchmark measures wall-clock time by
// definition, so this file reads it; the date comes from `date(1)`.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use asr_mock::config::ClockKind;
use asr_mock::providers::icu::params::{self, SubmitParams};
use asr_mock::providers::icu::tasks::{Plan, Scripted, Task, TaskSpec};
use asr_mock::{AppState, Config, MockServer};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

/// Set in the environment of the helper processes this executable starts.
const CHILD_ENV: &str = "SIDE_BY_SIDE_CHILD";
/// Which audio the memory child's tasks come from (`silence1s` or `speech60s`).
const AUDIO_ENV: &str = "SIDE_BY_SIDE_AUDIO";
/// How many tasks the memory child inserts.
const TASKS_ENV: &str = "SIDE_BY_SIDE_TASKS";
/// Optional comma-separated list of the parts to run (for profiling one of them):
/// `startup,memory,search,submit,upload,callbacks,fivehours`; all when unset.
const ONLY_ENV: &str = "SIDE_BY_SIDE_ONLY";
/// Built by cargo together with this bench (release settings).
const ASR_MOCK_BIN: &str = env!("CARGO_BIN_EXE_asr-mock");

const STARTUP_RUNS: usize = 11;
const CONCURRENCY: usize = 32;
const ROUNDS: usize = 3;
/// Many short alternating rounds: on a shared machine each side then likely gets a quiet one.
const SEARCH_ROUNDS: usize = 10;
const SEARCH_REQUESTS: usize = 20_000;
const SUBMIT_REQUESTS: usize = 10_000;
const UPLOAD_BYTES: usize = 1024 * 1024;
const UPLOAD_REQUESTS_C1: usize = 500;
const UPLOAD_REQUESTS_C4: usize = 1_000;
const UPLOAD_CONCURRENCY: usize = 4;
const WARMUP_REQUESTS: usize = 500;
const RUN_DEADLINE: Duration = Duration::from_secs(20);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MEMORY_TASKS: usize = 100_000;
/// Measured too, since a hash table grows by doubling and 10 × 100 000 is only a projection.
const MEMORY_TASKS_FULL: usize = 1_000_000;
/// Below the callback journal's 10 000 entries, so every attempt stays readable.
const CALLBACKS: usize = 8_000;
const CALLBACK_DEADLINE: Duration = Duration::from_secs(30);
const FIVE_HOURS_S: u32 = 18_000;
const FIVE_HOURS_DEADLINE: Duration = Duration::from_secs(90);

const GOAL_STARTUP: Duration = Duration::from_millis(50);
const GOAL_SEARCH_RATIO: f64 = 0.70;
const GOAL_MB_PER_MILLION: f64 = 300.0;
const GOAL_CALLBACKS_PER_S: f64 = 5_000.0;
const GOAL_UPLOAD_P50: Duration = Duration::from_millis(5);

const SUBMIT_FLOOR_ANSWER: &str = r#"{"msg":"操作成功","code":0,"data":{"TaskId":1}}"#;
const ACK: &str = r#"{"code":0,"message":"success"}"#;
const BOUNDARY: &str = "----side-by-side-7d2f0c";

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("floor-server") => return child_exit(floor_server_child()),
        Ok("memory") => return child_exit(memory_child()),
        _ => {}
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("side_by_side: run it with `cargo bench -p asr-mock --bench side_by_side`");
        return;
    }
    let mut report = Report::default();
    header(&mut report);
    if wanted("startup") {
        eprintln!("side_by_side: start-up (processes)…");
        startup_processes(&mut report);
    }
    if wanted("memory") {
        eprintln!("side_by_side: memory (child processes)…");
        memory(&mut report);
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
fn wanted(part: &str) -> bool {
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
        startup_in_process(report).await?;
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
    let speech = asr_mock::audio::synth::wav_8bit(8000, 1, 8000 * 5, true);
    let answer = conn
        .request(&post_request(
            sim_addr,
            "/openapi/asr/voiceToText",
            "application/json",
            "",
            submit_body("8k_zh", &speech, None).as_bytes(),
        ))
        .await?;
    let task_id = task_id_of(&answer)?;
    sim.clock().advance(Duration::from_secs(120));
    let search_path = format!("/openapi/asr/searchResult?TaskId={task_id}");
    let search_sim_req = get_request(sim_addr, &search_path);
    let mut search_body = None;
    for _ in 0..200 {
        let a = conn.request(&search_sim_req).await?;
        if contains(&a.body, br#""StatusStr":"success""#) {
            search_body = Some(Bytes::from(a.body));
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
    let floor_upload = Bytes::from(upload_answer.body);
    let (floor_addr, floor_task) = server_rt
        .spawn(async move { start_floor(floor_search, floor_upload).await })
        .await
        .map_err(|e| e.to_string())??;

    let search_floor_req = get_request(floor_addr, &search_path);
    let upload_floor_req = upload_request(floor_addr, &tone);
    if wanted("search") {
        eprintln!("side_by_side: searchResult…");
        search_phase(
            report,
            (sim_addr, &search_sim_req),
            (floor_addr, &search_floor_req),
            search_body.len(),
        )
        .await;
    }
    if wanted("submit") {
        eprintln!("side_by_side: submit…");
        submit_phase(report, sim_addr, floor_addr).await;
    }
    if wanted("upload") {
        eprintln!("side_by_side: 1 MB upload…");
        upload_phase(
            report,
            (sim_addr, &upload_sim_req),
            (floor_addr, &upload_floor_req),
        )
        .await;
    }
    if wanted("callbacks") {
        eprintln!("side_by_side: callbacks…");
        callbacks(&sim, report).await?;
    }
    if wanted("fivehours") {
        eprintln!("side_by_side: 5-hour recording…");
        five_hours(&sim, report).await?;
    }
    floor_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), sim.shutdown()).await;
    Ok(())
}

/// 2. searchResult of a finished task.
async fn search_phase(
    report: &mut Report,
    sim: (SocketAddr, &Bytes),
    floor: (SocketAddr, &Bytes),
    answer_len: usize,
) {
    let c = compare(
        sim,
        floor,
        br#""StatusStr":"success""#,
        SEARCH_REQUESTS,
        CONCURRENCY,
        SEARCH_ROUNDS,
    )
    .await;
    report.section(
        2,
        format!(
            "2. GET searchResult, finished task ({answer_len} B answer), {SEARCH_REQUESTS} requests × c={CONCURRENCY}, best of {SEARCH_ROUNDS} alternating rounds"
        ),
    );
    report.load_rows(&c.sim, &c.floor);
    // Capacity against capacity: the best round of each, the closest to a quiet machine.
    let ratio = c.sim.rps() / c.floor.rps().max(1e-9);
    report.row(
        "req/s ratio of neighbouring rounds: median (sorted)",
        "",
        "",
        format!(
            "{:.2}× ({})",
            c.median_ratio(),
            c.ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    report.goal(
        "searchResult ≥ 70 % of the floor's req/s (best round each)",
        format!("{:.0} %", ratio * 100.0),
        c.sim.ok > 0 && c.sim.failed == 0 && ratio >= GOAL_SEARCH_RATIO,
    );
}

/// 3. submit with a small inline WAV.
async fn submit_phase(report: &mut Report, sim_addr: SocketAddr, floor_addr: SocketAddr) {
    let silence = silence_8k_1s();
    let submit_json = submit_body("8k_zh", &silence, None);
    let request = |addr| {
        post_request(
            addr,
            "/openapi/asr/voiceToText",
            "application/json",
            "",
            submit_json.as_bytes(),
        )
    };
    let c = compare(
        (sim_addr, &request(sim_addr)),
        (floor_addr, &request(floor_addr)),
        br#""code":0"#,
        SUBMIT_REQUESTS,
        CONCURRENCY,
        ROUNDS,
    )
    .await;
    report.section(
        3,
        format!(
            "3. POST voiceToText, 1 s 8 kHz silence inline ({} B body), {SUBMIT_REQUESTS} requests × c={CONCURRENCY}, best of {ROUNDS}",
            submit_json.len()
        ),
    );
    report.load_rows(&c.sim, &c.floor);
}

/// 4. provider A's 1 MB upload, at c=1 (latency) and c=4 (throughput).
async fn upload_phase(report: &mut Report, sim: (SocketAddr, &Bytes), floor: (SocketAddr, &Bytes)) {
    let needle = br#""code":0"#;
    let c1 = compare(sim, floor, needle, UPLOAD_REQUESTS_C1, 1, 1).await;
    let c4 = compare(
        sim,
        floor,
        needle,
        UPLOAD_REQUESTS_C4,
        UPLOAD_CONCURRENCY,
        1,
    )
    .await;
    let (sim_c1, floor_c1, sim_c4, floor_c4) = (&c1.sim, &c1.floor, &c4.sim, &c4.floor);
    report.section(
        4,
        format!(
            "4. POST /v1/audio/transcriptions, 1 MiB WAV (16 kHz tone, {:.1} s) multipart, c=1 ({UPLOAD_REQUESTS_C1} requests)",
            (UPLOAD_BYTES - 44) as f64 / 32_000.0
        ),
    );
    report.load_rows(sim_c1, floor_c1);
    report.section(
        4,
        format!("   same, c={UPLOAD_CONCURRENCY} ({UPLOAD_REQUESTS_C4} requests)"),
    );
    report.load_rows(sim_c4, floor_c4);
    let p50 = sim_c1.pct(0.50);
    report.goal(
        "1 MB upload p50 < 5 ms (c=1)",
        fmt_ms(p50),
        sim_c1.ok > 0 && p50 < GOAL_UPLOAD_P50,
    );
}

// ---------------------------------------------------------------------------------------
// 1. Start-up
// ---------------------------------------------------------------------------------------

fn startup_processes(report: &mut Report) {
    let exe = std::env::current_exe();
    let mut sim = Vec::new();
    let mut floor = Vec::new();
    let mut error = None;
    for _ in 0..STARTUP_RUNS {
        let mut cmd = Command::new(ASR_MOCK_BIN);
        cmd.args(["--port", "0"]);
        for (key, _) in std::env::vars() {
            if key.starts_with("ASR_MOCK_") {
                cmd.env_remove(key);
            }
        }
        match process_startup(cmd) {
            Ok(d) => sim.push(d),
            Err(e) => error = Some(format!("asr-mock: {e}")),
        }
        match &exe {
            Ok(exe) => {
                let mut cmd = Command::new(exe);
                cmd.env(CHILD_ENV, "floor-server");
                match process_startup(cmd) {
                    Ok(d) => floor.push(d),
                    Err(e) => error = Some(format!("floor: {e}")),
                }
            }
            Err(e) => error = Some(format!("current_exe: {e}")),
        }
    }
    report.section(1, format!(
        "1. start-up to first answer: spawn → GET /__admin/health 200, median of {STARTUP_RUNS} (min–max)"
    ));
    let (s, f) = (median(&mut sim), median(&mut floor));
    report.row(
        "process (asr-mock --port 0 | bare axum exe)",
        s.map(|d| format!("{} ({})", fmt_ms(d), range(&sim)))
            .unwrap_or_else(|| "—".into()),
        f.map(|d| format!("{} ({})", fmt_ms(d), range(&floor)))
            .unwrap_or_else(|| "—".into()),
        ratio_of(s, f),
    );
    if let Some(e) = error {
        report.note(format!("start-up error: {e}"));
    }
    report.goal(
        "start-up < 50 ms (process, median)",
        s.map(fmt_ms).unwrap_or_else(|| "—".into()),
        s.is_some_and(|d| d < GOAL_STARTUP),
    );
}

/// Spawns `cmd`, reads the address it prints on stdout, and polls health until it answers.
fn process_startup(mut cmd: Command) -> Result<Duration, String> {
    let t0 = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut child = Reaper(child);
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "no address printed within 10 s".to_string())?
        .map_err(|e| format!("stdout: {e}"))?;
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .map(str::trim)
        .ok_or_else(|| format!("no address in {line:?}"))?
        .parse()
        .map_err(|e| format!("address in {line:?}: {e}"))?;
    let deadline = t0 + Duration::from_secs(10);
    loop {
        if health_once(addr) == Ok(200) {
            return Ok(t0.elapsed());
        }
        if Instant::now() > deadline {
            return Err("health did not answer within 10 s".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A child process killed (if still running) and reaped when dropped.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// One blocking `GET /__admin/health` on a new connection; the HTTP status.
fn health_once(addr: SocketAddr) -> Result<u16, String> {
    let mut s =
        StdTcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    s.write_all(
        format!("GET /__admin/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    parse_status(&buf).ok_or_else(|| "no status line".into())
}

/// The floor as a process: this executable, serving the floor router until killed.
fn floor_server_child() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("floor listening on http://{addr}");
        let app = floor_router(Bytes::new(), Bytes::new());
        let listener = listener.tap_io(|s| {
            let _ = s.set_nodelay(true);
        });
        // Bounded: the parent kills it long before.
        let _ = tokio::time::timeout(Duration::from_secs(60), async {
            axum::serve(listener, app).await
        })
        .await;
        Ok(())
    })
}

async fn startup_in_process(report: &mut Report) -> Result<(), String> {
    let mut sim = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..STARTUP_RUNS {
        // Simulator: build the state, bind, serve; then one answer on a new connection.
        let t0 = Instant::now();
        let server = MockServer::builder()
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let mut conn = Conn::new(server.addr());
        let a = conn
            .request(&get_request(server.addr(), "/__admin/health"))
            .await?;
        let d = t0.elapsed();
        if a.status != 200 {
            return Err(format!("in-process health: HTTP {}", a.status));
        }
        sim.push(d);
        drop(conn);
        let _ = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;

        let t0 = Instant::now();
        let (addr, task) = start_floor(Bytes::new(), Bytes::new()).await?;
        let mut conn = Conn::new(addr);
        let a = conn.request(&get_request(addr, "/__admin/health")).await?;
        let d = t0.elapsed();
        if a.status != 200 {
            return Err(format!("floor health: HTTP {}", a.status));
        }
        floor.push(d);
        task.abort();
    }
    let (s, f) = (median(&mut sim), median(&mut floor));
    report.resume(1);
    report.row(
        "in-process (builder().start() | bind floor router)",
        s.map(|d| format!("{} ({})", fmt_ms(d), range(&sim)))
            .unwrap_or_default(),
        f.map(|d| format!("{} ({})", fmt_ms(d), range(&floor)))
            .unwrap_or_default(),
        ratio_of(s, f),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 5. Memory
// ---------------------------------------------------------------------------------------

fn memory(report: &mut Report) {
    report.section(
        5,
        "5. memory: RSS growth of a fresh process for N finished tasks (inserted as submit does, clock moved, run_due)".into(),
    );
    let mut projected = None;
    let mut measured = None;
    for (variant, tasks, label) in [
        ("silence1s", MEMORY_TASKS, "1 s silence tasks (as in 3.)"),
        ("speech60s", MEMORY_TASKS, "60 s speech-like tasks"),
        (
            "silence1s",
            MEMORY_TASKS_FULL,
            "1 s silence tasks, capacity 1 000 000",
        ),
    ] {
        let m = match memory_run(variant, tasks) {
            Ok(m) => m,
            Err(e) => {
                report.note(format!("memory {variant} × {tasks}: {e}"));
                continue;
            }
        };
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        let grown = get("rss_after") - get("rss_before");
        let kept = get("kept").max(1.0);
        let complete = get("finished") >= tasks as f64;
        let per_task = grown / kept;
        if tasks == MEMORY_TASKS {
            let per_100k = grown / 1e6 * (100_000.0 / kept);
            report.row(
                &format!("{label}: MB per 100 000 → ×10 for 1 000 000"),
                format!("{per_100k:.1} MB → {:.0} MB", per_100k * 10.0),
                "",
                "",
            );
            if variant == "silence1s" && complete {
                projected = Some(per_100k * 10.0);
            }
        } else {
            report.row(
                &format!("{label}: measured for {tasks}"),
                format!("{:.0} MB", grown / 1e6),
                "",
                "",
            );
            if complete {
                measured = Some(grown / 1e6);
            }
        }
        report.row(
            "   per task; transcript; finished/kept; insert+finish",
            format!(
                "{per_task:.0} B; {:.0} B; {:.0}/{:.0}; {:.0} ms",
                get("result_bytes"),
                get("finished"),
                kept,
                get("ms")
            ),
            "",
            "",
        );
        if variant == "silence1s" && tasks == MEMORY_TASKS {
            report.row(
                "   size_of: Task (TaskSpec, Option<Plan>, Option<Scripted>)",
                format!(
                    "{:.0} B ({:.0}, {:.0}, {:.0})",
                    get("size_task"),
                    get("size_spec"),
                    get("size_plan"),
                    get("size_script")
                ),
                "",
                "",
            );
        }
    }
    let shown = match (projected, measured) {
        (Some(p), Some(m)) => format!("{p:.0} MB projected, {m:.0} MB measured"),
        (Some(p), None) => format!("{p:.0} MB projected"),
        _ => "—".into(),
    };
    report.goal(
        "1 000 000 finished tasks < 300 MB (1 s tasks)",
        shown,
        projected.is_some_and(|p| p < GOAL_MB_PER_MILLION)
            && measured.is_none_or(|m| m < GOAL_MB_PER_MILLION),
    );
}

/// Runs the memory child and reads its `key=value` line.
fn memory_run(variant: &str, tasks: usize) -> Result<HashMap<String, f64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .env(CHILD_ENV, "memory")
        .env(AUDIO_ENV, variant)
        .env(TASKS_ENV, tasks.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut child = Reaper(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => return Err(format!("child exited with {status}")),
            Ok(None) if Instant::now() > deadline => return Err("child ran over 60 s".into()),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.0.stdout.take() {
        stdout.read_to_string(&mut out).map_err(|e| e.to_string())?;
    }
    let values: HashMap<String, f64> = out
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    if values.contains_key("rss_after") {
        Ok(values)
    } else {
        Err(format!("unexpected child output {out:?}"))
    }
}

/// In a fresh process: the state alone, then 100 000 finished tasks.
fn memory_child() -> Result<(), String> {
    let variant = std::env::var(AUDIO_ENV).unwrap_or_default();
    let tasks: usize = std::env::var(TASKS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MEMORY_TASKS);
    let wav = match variant.as_str() {
        "speech60s" => asr_mock::audio::synth::wav_8bit(8000, 1, 8000 * 60, true),
        _ => silence_8k_1s(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let defaults = Config::default();
        let config = Config {
            clock: ClockKind::Manual,
            icu_task_capacity: defaults.icu_task_capacity.max(tasks),
            ..defaults
        };
        let state = asr_mock::build_state(&config).map_err(|e| e.to_string())?;
        let body = submit_body("8k_zh", &wav, None);
        let params = params::parse_submit(Some("application/json"), body.as_bytes())
            .map_err(|e| e.to_string())?;
        // The first examination's one-off costs (lexicons, decoder buffers) stay out of the
        // measure; every task below is submitted in full and finds the examination done.
        state.icu.examine(params.clone(), None).await;
        let rss_before = rss_bytes();
        let t0 = Instant::now();
        let mut last = None;
        for _ in 0..tasks {
            last = Some(insert_task(&state, &params, None).await);
        }
        state.clock.advance(Duration::from_secs(3600));
        state.icu.tasks.run_due();
        let ms = t0.elapsed().as_millis();
        let rss_after = rss_bytes();
        let kept = state.icu.tasks.len();
        let finished = state
            .icu.tasks
            .list(None, usize::MAX)
            .iter()
            .filter(|t| t.status.is_final())
            .count();
        let result_bytes = match last.map(|id| state.icu.query(id)) {
            Some(Ok(view)) => view.result.map_or(0, |r| r.result.len()),
            _ => 0,
        };
        let (size_task, size_spec, size_plan, size_script) = (
            std::mem::size_of::<Task>(),
            std::mem::size_of::<TaskSpec>(),
            std::mem::size_of::<Option<Plan>>(),
            std::mem::size_of::<Option<Scripted>>(),
        );
        println!(
            "kept={kept} finished={finished} rss_before={rss_before} rss_after={rss_after} result_bytes={result_bytes} ms={ms} size_task={size_task} size_spec={size_spec} size_plan={size_plan} size_script={size_script}"
        );
        Ok(())
    })
}

/// Submits a task through the real operation, as the submit handler does (inline audio is
/// examined before it returns); `callback_url` replaces the parameters' own.
async fn insert_task(state: &AppState, params: &SubmitParams, callback_url: Option<String>) -> u64 {
    let params = SubmitParams {
        callback_url,
        ..params.clone()
    };
    state.icu.submit(params, &[]).await
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    Command::new("getconf")
        .arg("PAGESIZE")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

// ---------------------------------------------------------------------------------------
// 6. Callbacks and 7. five hours
// ---------------------------------------------------------------------------------------

async fn callbacks(sim: &MockServer, report: &mut Report) -> Result<(), String> {
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
    let params = params::parse_submit(
        Some("application/json"),
        submit_body("8k_zh", &silence, None).as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let url = format!("http://{recv_addr}/cb");
    for _ in 0..CALLBACKS {
        insert_task(state, &params, Some(url.clone())).await;
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

async fn five_hours(sim: &MockServer, report: &mut Report) -> Result<(), String> {
    let addr = sim.addr();
    let url = format!(
        "{}/__admin/audio/generated/speechlike.wav?seconds={FIVE_HOURS_S}",
        sim.base_url()
    );
    let body = json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
        "SourceType": 0, "Url": url,
    })
    .to_string();
    let engine = &sim.state().icu.tasks;
    let mut conn = Conn::new(addr);
    let t0 = Instant::now();
    let answer = conn
        .request(&post_request(
            addr,
            "/openapi/asr/voiceToText",
            "application/json",
            "",
            body.as_bytes(),
        ))
        .await?;
    let id = task_id_of(&answer)?;
    let mut planned = None;
    let deadline = t0 + FIVE_HOURS_DEADLINE;
    loop {
        let (task, status) = engine.inspect(id).ok_or("the 5 h task vanished")?;
        if status.is_final() {
            break;
        }
        if planned.is_none() {
            if let Some(plan) = &task.plan {
                planned = Some(t0.elapsed());
                if plan.done_at_ms == i64::MAX {
                    return Err("the 5 h task is planned never to end".into());
                }
                let by = (plan.done_at_ms - sim.clock().now_ms()).max(0) + 1000;
                sim.clock().advance(Duration::from_millis(by as u64));
            }
        }
        if Instant::now() > deadline {
            return Err("the 5 h task did not end within 90 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = conn
        .request(&get_request(
            addr,
            &format!("/openapi/asr/searchResult?TaskId={id}"),
        ))
        .await?;
    let total = t0.elapsed();
    let value: Value = serde_json::from_slice(&done.body).map_err(|e| e.to_string())?;
    let status = value["data"]["StatusStr"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    let lines = value["data"]["Result"]
        .as_str()
        .map_or(0, |r| r.lines().count());
    report.section(7, format!(
        "7. 5-hour Url recording (speechlike.wav?seconds={FIVE_HOURS_S}, 1 kHz 8-bit, {:.1} MB) under the manual clock",
        FIVE_HOURS_S as f64 * 1000.0 / 1e6
    ));
    report.row(
        "wall time submit → searchResult shows it",
        format!("{} ({status}, {lines} lines)", fmt_ms(total)),
        "",
        "",
    );
    report.row(
        "   of which download + examine (until planned)",
        planned.map(fmt_ms).unwrap_or_else(|| "—".into()),
        "",
        "",
    );
    if status != "success" {
        report.note(format!("5 h task ended {status}: {}", snippet(&done.body)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Servers: floor and callback receiver
// ---------------------------------------------------------------------------------------

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Bare routes with fixed answers: the least any server could do for these requests.
fn floor_router(search_body: Bytes, upload_body: Bytes) -> Router {
    Router::new()
        .route(
            "/__admin/health",
            get(|| async { json_response(Bytes::from_static(br#"{"status":"ok"}"#)) }),
        )
        .route(
            "/openapi/asr/searchResult",
            get(move || {
                let body = search_body.clone();
                async move { json_response(body) }
            }),
        )
        .route("/openapi/asr/voiceToText", post(floor_submit))
        .route(
            "/v1/audio/transcriptions",
            post(move |headers: HeaderMap, body: Body| {
                let answer = upload_body.clone();
                floor_upload(headers, body, answer)
            }),
        )
}

/// Reads and parses the JSON body, answers a fixed TaskId.
async fn floor_submit(axum::Json(_body): axum::Json<Value>) -> Response {
    json_response(Bytes::from_static(SUBMIT_FLOOR_ANSWER.as_bytes()))
}

/// Reads the whole multipart body, answers fixed JSON.
async fn floor_upload(headers: HeaderMap, body: Body, answer: Bytes) -> Response {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return (StatusCode::BAD_REQUEST, "no multipart boundary").into_response();
    };
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut bytes = 0usize;
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) => loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => bytes += chunk.len(),
                    Ok(None) => break,
                    Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                }
            },
            Ok(None) => break,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }
    if bytes == 0 {
        return (StatusCode::BAD_REQUEST, "empty upload").into_response();
    }
    json_response(answer)
}

async fn start_floor(
    search_body: Bytes,
    upload_body: Bytes,
) -> Result<(SocketAddr, JoinHandle<()>), String> {
    serve_router(floor_router(search_body, upload_body)).await
}

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

/// Serves `app` on a free loopback port (TCP_NODELAY, like the simulator's accept loop).
async fn serve_router(app: Router) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let listener = listener.tap_io(|s| {
        let _ = s.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

// ---------------------------------------------------------------------------------------
// Load: a minimal keep-alive HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// What one load run measured: latencies of the successful requests, sorted.
#[derive(Debug, Default)]
struct Run {
    ok: usize,
    failed: usize,
    wall: Duration,
    lat: Vec<Duration>,
    first_error: Option<String>,
}

impl Run {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn pct(&self, q: f64) -> Duration {
        if self.lat.is_empty() {
            return Duration::ZERO;
        }
        let n = self.lat.len();
        let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
        self.lat[i]
    }
}

/// Warms both up, then alternates floor and simulator `rounds` times; the best round each.
async fn compare(
    sim: (SocketAddr, &Bytes),
    floor: (SocketAddr, &Bytes),
    needle: &'static [u8],
    requests: usize,
    concurrency: usize,
    rounds: usize,
) -> Compared {
    let warm = WARMUP_REQUESTS.min(requests);
    drive(floor.0, floor.1.clone(), needle, warm, concurrency).await;
    drive(sim.0, sim.1.clone(), needle, warm, concurrency).await;
    let mut sims = Vec::new();
    let mut floors = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let f = drive(floor.0, floor.1.clone(), needle, requests, concurrency).await;
        let s = drive(sim.0, sim.1.clone(), needle, requests, concurrency).await;
        ratios.push(s.rps() / f.rps().max(1e-9));
        floors.push(f);
        sims.push(s);
    }
    ratios.sort_by(f64::total_cmp);
    Compared {
        sim: best(sims),
        floor: best(floors),
        ratios,
    }
}

/// Simulator and floor: the best round of each (the closest to a quiet machine), and the
/// req/s ratio of each pair of neighbouring rounds, sorted (how much other load moved them).
#[derive(Debug)]
struct Compared {
    sim: Run,
    floor: Run,
    ratios: Vec<f64>,
}

impl Compared {
    fn median_ratio(&self) -> f64 {
        self.ratios
            .get(self.ratios.len() / 2)
            .copied()
            .unwrap_or(0.0)
    }
}

fn best(runs: Vec<Run>) -> Run {
    runs.into_iter()
        .max_by(|a, b| a.rps().total_cmp(&b.rps()))
        .unwrap_or_default()
}

/// `total` requests over `concurrency` keep-alive connections, each request timed from
/// its first byte written to its last byte read.
async fn drive(
    addr: SocketAddr,
    req: Bytes,
    needle: &'static [u8],
    total: usize,
    concurrency: usize,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let next = next.clone();
        let req = req.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut lat = Vec::with_capacity(total / concurrency + 1);
            let mut failed = 0;
            let mut first_error = None;
            while next.fetch_add(1, Ordering::Relaxed) < total && start.elapsed() < RUN_DEADLINE {
                let t0 = Instant::now();
                match conn.request(&req).await {
                    Ok(a) if a.status == 200 && contains(&a.body, needle) => lat.push(t0.elapsed()),
                    Ok(a) => {
                        failed += 1;
                        first_error.get_or_insert_with(|| {
                            format!("HTTP {}: {}", a.status, snippet(&a.body))
                        });
                    }
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, failed, first_error)
        }));
    }
    let mut run = Run::default();
    for worker in workers {
        match worker.await {
            Ok((lat, failed, first_error)) => {
                run.ok += lat.len();
                run.lat.extend(lat);
                run.failed += failed;
                if run.first_error.is_none() {
                    run.first_error = first_error;
                }
            }
            Err(e) => {
                run.failed += 1;
                run.first_error.get_or_insert(e.to_string());
            }
        }
    }
    run.wall = start.elapsed();
    run.lat.sort_unstable();
    run
}

/// One keep-alive HTTP/1.1 connection, reconnecting after an error or `Connection: close`.
struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

enum Framing {
    Length(usize),
    Chunked,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    async fn request(&mut self, req: &[u8]) -> Result<Answer, String> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(req)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.reset();
                Err(e)
            }
            Err(_) => {
                self.reset();
                Err(format!("no answer within {REQUEST_TIMEOUT:?}"))
            }
        }
    }

    fn reset(&mut self) {
        self.stream = None;
        self.buf.clear();
    }

    async fn exchange(&mut self, req: &[u8]) -> Result<Answer, String> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(stream);
            self.buf.clear();
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err("not connected".into());
        };
        stream
            .write_all(req)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            fill(stream, &mut self.buf).await?;
        };
        let (status, framing, close) = parse_head(&self.buf[..head_end])?;
        let (body, used) = loop {
            let rest = &self.buf[head_end..];
            let complete = match framing {
                Framing::Length(n) => (rest.len() >= n).then(|| (rest[..n].to_vec(), n)),
                Framing::Chunked => dechunk(rest),
            };
            match complete {
                Some(done) => break done,
                None => fill(stream, &mut self.buf).await?,
            }
        };
        self.buf.drain(..head_end + used);
        if close {
            self.reset();
        }
        Ok(Answer { status, body })
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.reserve(16 * 1024);
    let n = stream
        .read_buf(buf)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("connection closed by the server".into());
    }
    Ok(())
}

fn parse_status(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\n').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn parse_head(head: &[u8]) -> Result<(u16, Framing, bool), String> {
    let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8")?;
    let status = parse_status(head).ok_or("no status line")?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => return Err(format!("HTTP {status} without a body length")),
    };
    Ok((status, framing, close))
}

/// A complete chunked body at the start of `data`: (body, bytes used), or `None` if more
/// is needed.
fn dechunk(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let line_end = pos + find(&data[pos..], b"\r\n")?;
        let size_text = std::str::from_utf8(&data[pos..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let end = find(&data[pos..], b"\r\n")?;
                pos += end + 2;
                if end == 0 {
                    return Some((body, pos));
                }
            }
        }
        if data.len() < pos + size + 2 {
            return None;
        }
        body.extend_from_slice(&data[pos..pos + size]);
        pos += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

fn get_request(addr: SocketAddr, path: &str) -> Bytes {
    Bytes::from(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n"))
}

fn post_request(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
) -> Bytes {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    Bytes::from(req)
}

/// Provider A's upload: one `file` field, as the Coze SDKs send it.
fn upload_request(addr: SocketAddr, wav: &[u8]) -> Bytes {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tone.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(wav);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    post_request(
        addr,
        "/v1/audio/transcriptions",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        "Authorization: Bearer pat_side_by_side\r\n",
        &body,
    )
}

fn task_id_of(answer: &Answer) -> Result<u64, String> {
    let value: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("submit answer is not JSON: {e}"))?;
    value["data"]["TaskId"]
        .as_u64()
        .ok_or_else(|| format!("submit refused: {value}"))
}

// ---------------------------------------------------------------------------------------
// Audio and bodies
// ---------------------------------------------------------------------------------------

fn wav_pcm16(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

/// 1 s of 16-bit silence at 8 kHz (16 044 bytes).
fn silence_8k_1s() -> Vec<u8> {
    wav_pcm16(8000, &[0; 8000])
}

/// A 440 Hz tone at 16 kHz, 16-bit mono, exactly `total` bytes long with its header.
fn tone_wav(total: usize) -> Vec<u8> {
    let n = (total - 44) / 2;
    let samples: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            ((t * 2.0 * std::f64::consts::PI * 440.0).sin() * 8_000.0) as i16
        })
        .collect();
    wav_pcm16(16_000, &samples)
}

fn submit_body(engine: &str, wav: &[u8], callback: Option<&str>) -> String {
    let mut body = json!({
        "EngineModelType": engine,
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(wav),
    });
    if let Some(url) = callback {
        body["CallbackUrl"] = Value::from(url);
    }
    body.to_string()
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Report {
    head: Vec<String>,
    /// (section number, line): printed in section order, in push order within one.
    rows: Vec<(u8, Line)>,
    current: u8,
    goals: Vec<(String, String, bool)>,
    notes: Vec<String>,
}

#[derive(Debug)]
enum Line {
    Section(String),
    Row([String; 4]),
}

impl Report {
    /// Starts section `n` (rows pushed from now on belong to it).
    fn section(&mut self, n: u8, title: String) {
        self.current = n;
        self.rows.push((n, Line::Section(title)));
    }

    /// Adds further rows to section `n`, started earlier.
    fn resume(&mut self, n: u8) {
        self.current = n;
    }

    fn row(
        &mut self,
        what: &str,
        sim: impl Into<String>,
        floor: impl Into<String>,
        ratio: impl Into<String>,
    ) {
        self.rows.push((
            self.current,
            Line::Row([what.to_owned(), sim.into(), floor.into(), ratio.into()]),
        ));
    }

    fn goal(&mut self, what: &str, value: String, pass: bool) {
        self.goals.push((what.to_owned(), value, pass));
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    fn load_rows(&mut self, sim: &Run, floor: &Run) {
        self.row(
            "req/s",
            format!("{:.0}", sim.rps()),
            format!("{:.0}", floor.rps()),
            format!("{:.2}×", sim.rps() / floor.rps().max(1e-9)),
        );
        for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
            let (s, f) = (sim.pct(q), floor.pct(q));
            self.row(
                name,
                fmt_ms(s),
                fmt_ms(f),
                format!("{:.2}×", s.as_secs_f64() / f.as_secs_f64().max(1e-9)),
            );
        }
        if sim.failed + floor.failed > 0 {
            self.row(
                "failed requests",
                sim.failed.to_string(),
                floor.failed.to_string(),
                "",
            );
            for (who, run) in [("simulator", sim), ("floor", floor)] {
                if let Some(e) = &run.first_error {
                    self.note(format!("{who}: first failure: {e}"));
                }
            }
        }
    }

    fn print(&self) {
        let titles = ["measure", "simulator", "floor", "sim/floor"];
        let mut widths = titles.map(|t| t.chars().count());
        let mut rows: Vec<&(u8, Line)> = self.rows.iter().collect();
        rows.sort_by_key(|(n, _)| *n);
        for (_, line) in &rows {
            if let Line::Row(cells) = line {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let fmt_row = |cells: [&str; 4]| {
            let mut out = format!("  {:<w$}", cells[0], w = widths[0]);
            for (i, c) in cells.iter().enumerate().skip(1) {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
            out
        };
        println!();
        for h in &self.head {
            println!("{h}");
        }
        println!();
        println!("{}", fmt_row(titles));
        for (_, line) in &rows {
            match line {
                Line::Section(title) => println!("{title}"),
                Line::Row(cells) => {
                    println!("{}", fmt_row([&cells[0], &cells[1], &cells[2], &cells[3]]))
                }
            }
        }
        println!();
        println!("goals:");
        let w = self
            .goals
            .iter()
            .map(|g| g.0.chars().count())
            .max()
            .unwrap_or(0);
        for (what, value, pass) in &self.goals {
            let pad = w - what.chars().count();
            println!(
                "  {}  {what}{}  {value}",
                if *pass { "PASS" } else { "MISS" },
                " ".repeat(pad)
            );
        }
        for n in &self.notes {
            println!("note: {n}");
        }
    }
}

fn header(report: &mut Report) {
    let date = Command::new("date")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let nproc = Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    report.head.push(format!("asr-mock side by side — {date}"));
    report.head.push(format!(
        "machine: {nproc} CPU(s), {model}; load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    report.head.push(format!(
        "client: raw keep-alive HTTP/1.1 over loopback; servers on their own 2-worker tokio runtime; binary {ASR_MOCK_BIN}"
    ));
}

fn median(values: &mut [Duration]) -> Option<Duration> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

fn range(values: &[Duration]) -> String {
    match (values.iter().min(), values.iter().max()) {
        (Some(lo), Some(hi)) => format!("{}–{}", fmt_ms(*lo), fmt_ms(*hi)),
        _ => "—".into(),
    }
}

fn ratio_of(sim: Option<Duration>, floor: Option<Duration>) -> String {
    match (sim, floor) {
        (Some(s), Some(f)) if !f.is_zero() => {
            format!("{:.2}×", s.as_secs_f64() / f.as_secs_f64())
        }
        _ => String::new(),
    }
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}
