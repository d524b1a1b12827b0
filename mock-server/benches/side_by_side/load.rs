//! The load phases (searchResult, submit, 1 MB upload): each drives the simulator and the
//! floor in alternating rounds and reports the best round of each.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::bodies::{silence_8k_1s, submit_body};
use crate::client::{contains, snippet, Conn, Req};
use crate::report::{fmt_ms, Report};

const CONCURRENCY: usize = 32;
const ROUNDS: usize = 3;
/// Many short alternating rounds: on a shared machine each side then likely gets a quiet one.
const SEARCH_ROUNDS: usize = 10;
const SEARCH_REQUESTS: usize = 20_000;
const SUBMIT_REQUESTS: usize = 10_000;
/// One client: every submit waits for a commit of its own.
const PERSIST_REQUESTS_C1: usize = 1_000;
pub(crate) const UPLOAD_BYTES: usize = 1024 * 1024;
const UPLOAD_REQUESTS_C1: usize = 500;
const UPLOAD_REQUESTS_C4: usize = 1_000;
const UPLOAD_CONCURRENCY: usize = 4;
const WARMUP_REQUESTS: usize = 500;
const RUN_DEADLINE: Duration = Duration::from_secs(20);
/// The redesign's goal: searchResult at 80 % of the floor, judged on the median of the
/// paired rounds (each simulator round against the floor round beside it).
const GOAL_SEARCH_RATIO: f64 = 0.80;
const GOAL_UPLOAD_P50: Duration = Duration::from_millis(5);

/// 2. searchResult of a finished task.
pub(crate) async fn search_phase(
    report: &mut Report,
    sim: (SocketAddr, &Req),
    floor: (SocketAddr, &Req),
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
    load_rows(report, &c.sim, &c.floor);
    // Paired rounds run side by side, so load from elsewhere moves both alike; their
    // median is the goal's measure (the best rounds are shown above for capacity).
    let ratio = c.median_ratio();
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
        "searchResult ≥ 80 % of the floor's req/s (median of the paired rounds)",
        format!("{:.0} %", ratio * 100.0),
        c.sim.ok > 0 && c.sim.failed == 0 && ratio >= GOAL_SEARCH_RATIO,
    );
}

/// Phase 3's request: a submit of 1 s of 8 kHz silence inline, for any server address.
fn submit_request() -> (Bytes, impl Fn(SocketAddr) -> Req) {
    let submit_json = Bytes::from(submit_body("8k_zh", &silence_8k_1s(), None));
    let body = submit_json.clone();
    let request = move |addr| {
        Req::post(
            addr,
            "/openapi/asr/voiceToText",
            "application/json",
            body.clone(),
        )
    };
    (submit_json, request)
}

/// 3. submit with a small inline WAV.
pub(crate) async fn submit_phase(
    report: &mut Report,
    sim_addr: SocketAddr,
    floor_addr: SocketAddr,
) {
    let (submit_json, request) = submit_request();
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
    load_rows(report, &c.sim, &c.floor);
}

/// 3, continued: the cost of `--state-file` on submit. Left column: a simulator that
/// commits every accepted task (fsync, commits shared by concurrent submits) before
/// answering; right column, in place of the floor: the same simulator without a state file.
pub(crate) async fn persistence_phase(
    report: &mut Report,
    durable_addr: SocketAddr,
    plain_addr: SocketAddr,
) {
    let (_, request) = submit_request();
    let (durable, plain) = (request(durable_addr), request(plain_addr));
    let needle = br#""code":0"#;
    let c32 = compare(
        (durable_addr, &durable),
        (plain_addr, &plain),
        needle,
        SUBMIT_REQUESTS,
        CONCURRENCY,
        ROUNDS,
    )
    .await;
    let c1 = compare(
        (durable_addr, &durable),
        (plain_addr, &plain),
        needle,
        PERSIST_REQUESTS_C1,
        1,
        ROUNDS,
    )
    .await;
    report.resume(3);
    report.row("", "", "", "");
    report.row(
        "same, with --state-file (simulator column) vs without (floor column):",
        "",
        "",
        "",
    );
    report.row(
        &format!("  c={CONCURRENCY}, {SUBMIT_REQUESTS} requests, best of {ROUNDS}"),
        "",
        "",
        "",
    );
    load_rows(report, &c32.sim, &c32.floor);
    report.row(
        &format!("  c=1, {PERSIST_REQUESTS_C1} requests, best of {ROUNDS}"),
        "",
        "",
        "",
    );
    load_rows(report, &c1.sim, &c1.floor);
}

/// 4. provider A's 1 MB upload, at c=1 (latency) and c=4 (throughput).
pub(crate) async fn upload_phase(
    report: &mut Report,
    sim: (SocketAddr, &Req),
    floor: (SocketAddr, &Req),
) {
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
    load_rows(report, sim_c1, floor_c1);
    report.section(
        4,
        format!("   same, c={UPLOAD_CONCURRENCY} ({UPLOAD_REQUESTS_C4} requests)"),
    );
    load_rows(report, sim_c4, floor_c4);
    let p50 = sim_c1.pct(0.50);
    report.goal(
        "1 MB upload p50 < 5 ms (c=1)",
        fmt_ms(p50),
        sim_c1.ok > 0 && p50 < GOAL_UPLOAD_P50,
    );
}

/// What one load run measured: latencies of the successful requests, sorted.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) ok: usize,
    pub(crate) failed: usize,
    wall: Duration,
    lat: Vec<Duration>,
    pub(crate) first_error: Option<String>,
}

impl Run {
    pub(crate) fn rps(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    pub(crate) fn pct(&self, q: f64) -> Duration {
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
    sim: (SocketAddr, &Req),
    floor: (SocketAddr, &Req),
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
/// sending it until its whole answer is read.
async fn drive(
    addr: SocketAddr,
    req: Req,
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

/// The req/s and latency rows of a side-by-side load run.
fn load_rows(report: &mut Report, sim: &Run, floor: &Run) {
    report.row(
        "req/s",
        format!("{:.0}", sim.rps()),
        format!("{:.0}", floor.rps()),
        format!("{:.2}×", sim.rps() / floor.rps().max(1e-9)),
    );
    for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
        let (s, f) = (sim.pct(q), floor.pct(q));
        report.row(
            name,
            fmt_ms(s),
            fmt_ms(f),
            format!("{:.2}×", s.as_secs_f64() / f.as_secs_f64().max(1e-9)),
        );
    }
    if sim.failed + floor.failed > 0 {
        report.row(
            "failed requests",
            sim.failed.to_string(),
            floor.failed.to_string(),
            "",
        );
        for (who, run) in [("simulator", sim), ("floor", floor)] {
            if let Some(e) = &run.first_error {
                report.note(format!("{who}: first failure: {e}"));
            }
        }
    }
}

/// Requests per proxy comparison: polls at c=1 (latency is the point), uploads at c=1.
const PROXY_POLLS: usize = 2_000;
const PROXY_UPLOADS: usize = 60;
/// What forwarding may add to a poll's median latency on loopback.
const GOAL_PROXY_POLL_OVERHEAD: Duration = Duration::from_millis(1);

/// Part 9: the simulator through a second one started with `--proxy-coze/--proxy-icu` (the
/// "simulator" column) against the same simulator asked directly (the "floor" column).
pub(crate) async fn proxy_phase(
    report: &mut Report,
    search: ((SocketAddr, &Req), (SocketAddr, &Req)),
    upload: ((SocketAddr, &Req), (SocketAddr, &Req)),
) {
    let polls = compare(
        search.0,
        search.1,
        br#""StatusStr":"success""#,
        PROXY_POLLS,
        1,
        3,
    )
    .await;
    let uploads = compare(upload.0, upload.1, br#""code":0"#, PROXY_UPLOADS, 1, 1).await;
    report.section(
        9,
        format!(
            "9. proxy overhead: GET searchResult through the proxy (simulator column) vs direct (floor column), c=1, {PROXY_POLLS} requests, best of 3"
        ),
    );
    load_rows(report, &polls.sim, &polls.floor);
    report.section(
        9,
        format!("   1 MiB upload through the proxy vs direct, c=1 ({PROXY_UPLOADS} requests)"),
    );
    load_rows(report, &uploads.sim, &uploads.floor);
    let added = polls.sim.pct(0.5).saturating_sub(polls.floor.pct(0.5));
    report.goal(
        "proxy adds < 1 ms to a poll's p50",
        fmt_ms(added),
        polls.sim.ok > 0 && added < GOAL_PROXY_POLL_OVERHEAD,
    );
}
