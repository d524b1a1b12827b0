//! The hostile corpus (`mock-server/tests/hostile/`, made by `scripts/make-hostile-corpus.sh`,
//! described input by input in its `manifest.json`) against the real binary over real
//! sockets: every input to the endpoints its manifest entry names. Each answer must arrive
//! within [`REQUEST_BOUND`], be no 5xx, and come in the envelope of the provider (or the
//! control API) that owns the path; every icu task made from hostile audio must end, and not
//! by an internal error; the server must print no panic, still answer its health check, and
//! grow its resident memory by less than [`RSS_GROWTH_BOUND_KB`]. The figures (inputs,
//! requests, worst latency, memory) are printed for README's robustness section:
//! `cargo test -p asr-mock --test it hostile -- --nocapture`.

// Latency is wall-clock time by definition, so this file reads it (the crate bans
// `Instant::now` elsewhere so that the simulator's own time comes from its clock).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use asr_mock::control::types::Advance;
use asr_mock::control::Control;
use base64::Engine as _;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use wire::{
    admin_envelope, any_envelope, coze_envelope, icu_envelope, raw_exchange, raw_path, read_reply,
    Reply,
};

mod wire;

/// Longest acceptable answer to one input, in a debug build on a busy 2-core machine.
pub(super) const REQUEST_BOUND: Duration = Duration::from_secs(10);
/// Largest acceptable growth of the server's resident memory over the whole corpus: the
/// bounded stores (journal, tasks, caches, hosted audio) fill, nothing else may stay.
const RSS_GROWTH_BOUND_KB: u64 = 96 * 1024;
/// Requests in flight at once.
const CONCURRENCY: usize = 4;
/// A body larger than this is not an envelope; reading stops there.
pub(super) const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct Manifest {
    version: u32,
    inputs: Vec<Input>,
}

/// One corpus file and how it is sent (see the generator's docstring for the kinds).
#[derive(Debug, Deserialize)]
struct Input {
    file: String,
    kind: String,
    note: String,
    #[serde(default)]
    paths: Vec<String>,
    content_type: Option<String>,
    #[serde(default)]
    via_url: bool,
}

/// How one request is made from an input.
#[derive(Debug, Clone)]
enum Send {
    /// Coze upload, the file as the `file` part under its own name.
    CozeUpload,
    /// icu submit with the file as inline `Data`.
    IcuData,
    /// The file hosted on the simulator, then an icu submit with its `Url`.
    IcuUrl,
    /// The file as the body of a POST.
    Post(String),
    /// The file as the query string of a GET.
    Get(String),
    /// The file written to a fresh connection as it is.
    Raw,
}

#[derive(Debug, Clone)]
struct Probe {
    input: usize,
    send: Send,
}

/// What a probe left to check later: an icu task to poll.
type Made = Option<u64>;

/// The real binary in its own process, so its memory and its stderr are its own.
struct Server {
    process: Child,
    base: String,
    addr: SocketAddr,
    stderr: tempfile::NamedTempFile,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn spawn_server() -> Server {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut process = Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["--port", "0", "--clock", "manual"])
        .args(["--icu-submit-rate", "0", "--icu-query-rate", "0"])
        // Hostile Urls name other hosts: the simulator must not reach out (tests need no
        // network); its own address stays allowed for the hosted-audio downloads.
        .args(["--allow-hosts", "127.0.0.1"])
        // A body declared but never sent (under the provider's limit, so the handler waits
        // for it) must be cut off, with a 408, inside the bound on one request.
        .args(["--body-timeout-ms", "3000"])
        .env("RUST_LOG", "warn")
        // A panic still prints its message (which the test looks for), but no backtrace:
        // resolving one loads the debug symbols, 100+ MB that would blur the memory figure.
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr.reopen().unwrap()))
        .spawn()
        .expect("asr-mock starts");
    let mut line = String::new();
    BufReader::new(process.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let addr = base.trim_start_matches("http://").parse().unwrap();
    Server {
        process,
        base,
        addr,
        stderr,
    }
}

/// Resident memory of process `pid` in kB, from /proc (Linux).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

fn load_manifest() -> (Manifest, Vec<Vec<u8>>) {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    let mut manifest: Manifest = serde_json::from_str(&text).expect("manifest parses");
    assert_eq!(manifest.version, 1);
    // For looking into failures: `HOSTILE_ONLY=flac/bomb` keeps the inputs whose file names
    // contain it, `HOSTILE_ONLY='!bomb'` those whose names do not.
    if let Ok(only) = std::env::var("HOSTILE_ONLY") {
        match only.strip_prefix('!') {
            Some(not) => manifest.inputs.retain(|i| !i.file.contains(not)),
            None => manifest.inputs.retain(|i| i.file.contains(&only)),
        }
    }
    let files = manifest
        .inputs
        .iter()
        .map(|i| std::fs::read(dir.join(&i.file)).unwrap_or_else(|e| panic!("{}: {e}", i.file)))
        .collect();
    (manifest, files)
}

/// Every request the corpus asks for, split in two: the control API's POSTs go last, since
/// a hostile clock or settings change that the server accepts would stall the icu tasks of
/// the first part.
fn probes(manifest: &Manifest) -> (Vec<Probe>, Vec<Probe>) {
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for (input, entry) in manifest.inputs.iter().enumerate() {
        let mut add = |send: Send| {
            let admin_post = matches!(&send, Send::Post(p) if p.starts_with("/__admin/"));
            let probe = Probe { input, send };
            if admin_post {
                last.push(probe);
            } else {
                first.push(probe);
            }
        };
        match entry.kind.as_str() {
            "audio" => {
                add(Send::CozeUpload);
                add(Send::IcuData);
                if entry.via_url {
                    add(Send::IcuUrl);
                }
            }
            "multipart" | "json" | "form" => {
                entry.paths.iter().for_each(|p| add(Send::Post(p.clone())))
            }
            "query" => entry.paths.iter().for_each(|p| add(Send::Get(p.clone()))),
            "http" => add(Send::Raw),
            other => panic!("{}: unknown kind {other}", entry.file),
        }
    }
    (first, last)
}

/// The file's basename, which the upload and the hosted copy are named by.
fn basename(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    addr: SocketAddr,
}

/// Sends one probe; the answer's checks happen in [`check`].
async fn send(ctx: &Ctx, input: &Input, bytes: &[u8], probe: &Probe) -> Result<Reply, String> {
    let url = |path: &str| format!("{}{path}", ctx.base);
    let icu_submit = |source: Value| {
        let mut body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 2});
        body.as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        ctx.http.post(url(asr_mock_paths::ICU_SUBMIT)).json(&body)
    };
    let request = match &probe.send {
        Send::CozeUpload => {
            let part = reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(basename(&input.file).to_owned());
            ctx.http
                .post(url(asr_mock_paths::COZE_TRANSCRIBE))
                .bearer_auth("pat_hostile")
                .multipart(reqwest::multipart::Form::new().part("file", part))
        }
        Send::IcuData => {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            icu_submit(json!({"SourceType": 1, "Data": data}))
        }
        Send::IcuUrl => {
            let hosted = format!("/__admin/audio/h{}-{}", probe.input, basename(&input.file));
            let put = ctx.http.put(url(&hosted)).body(bytes.to_vec()).send();
            let put = tokio::time::timeout(REQUEST_BOUND, put)
                .await
                .map_err(|_| "hosting the file took too long".to_owned())?
                .map_err(|e| format!("hosting the file failed: {e}"))?;
            if !put.status().is_success() {
                return Err(format!("hosting the file: HTTP {}", put.status()));
            }
            icu_submit(json!({"SourceType": 0, "Url": url(&hosted)}))
        }
        Send::Post(path) => {
            let mut req = ctx.http.post(url(path)).body(bytes.to_vec());
            if path.starts_with("/v1/") {
                req = req.bearer_auth("pat_hostile");
            }
            match input.content_type.as_deref() {
                Some("") | None => req,
                Some(ct) => req.header("content-type", ct),
            }
        }
        Send::Get(path) => {
            let query = String::from_utf8_lossy(bytes);
            ctx.http.get(format!("{}?{query}", url(path)))
        }
        Send::Raw => return raw_exchange(ctx.addr, bytes).await,
    };
    let res = request
        .timeout(REQUEST_BOUND)
        .send()
        .await
        .map_err(|e| match e.is_timeout() {
            true => format!("no answer within {REQUEST_BOUND:?}"),
            false => format!("no answer: {e} ({:?})", std::error::Error::source(&e)),
        })?;
    read_reply(res).await
}

/// Path constants of the simulator's route table, as a client sees them.
mod asr_mock_paths {
    pub const COZE_TRANSCRIBE: &str = "/v1/audio/transcriptions";
    pub const ICU_SUBMIT: &str = "/openapi/asr/voiceToText";
    pub const ICU_QUERY: &str = "/openapi/asr/searchResult";
}

/// Checks an answer: in time, no 5xx, the envelope of the path's owner. Returns the TaskId
/// of an icu task it made.
fn check(probe: &Probe, bytes: &[u8], reply: &Reply) -> Result<Made, String> {
    if reply.status >= 500 {
        return Err(format!("server error: {}", reply.show()));
    }
    if reply.status == 101 {
        // A WebSocket upgrade on the streaming endpoint: the protocol switch is the answer,
        // with the streaming logid (53 characters).
        let upgraded = reply
            .header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        let logid = reply.header("x-tt-logid").unwrap_or_default();
        if !upgraded || logid.len() != 53 {
            return Err(format!(
                "a 101 that is no WebSocket upgrade: {}",
                reply.show()
            ));
        }
        return Ok(None);
    }
    let path = match &probe.send {
        Send::CozeUpload => Some(asr_mock_paths::COZE_TRANSCRIBE.to_owned()),
        Send::IcuData | Send::IcuUrl => Some(asr_mock_paths::ICU_SUBMIT.to_owned()),
        Send::Post(p) | Send::Get(p) => Some(p.clone()),
        Send::Raw => raw_path(bytes),
    };
    // Errors the HTTP layer answers before any route (unparseable requests, oversized
    // heads) cannot know a provider: any envelope will do.
    let protocol = matches!(probe.send, Send::Raw) && matches!(reply.status, 400 | 414 | 431);
    let body = match path.as_deref() {
        _ if protocol => any_envelope(reply)?,
        Some(p) if p.starts_with("/v1/") => coze_envelope(reply)?,
        Some(p) if p.starts_with("/openapi/") => icu_envelope(reply)?,
        Some(p) if p.starts_with("/__admin") => admin_envelope(reply)?,
        _ => any_envelope(reply)?,
    };
    Ok(match probe.send {
        Send::IcuData | Send::IcuUrl => body["data"]["TaskId"].as_u64(),
        _ => None,
    })
}

#[derive(Default)]
struct Tally {
    requests: usize,
    failures: Vec<String>,
    worst: (Duration, String),
    /// Every request's latency, for the percentile.
    latencies: Vec<Duration>,
}

impl Tally {
    fn record(&mut self, what: String, took: Duration, outcome: Result<(), String>) {
        self.requests += 1;
        self.latencies.push(took);
        if took > self.worst.0 {
            self.worst = (took, what.clone());
        }
        let outcome = outcome.and_then(|()| {
            (took <= REQUEST_BOUND)
                .then_some(())
                .ok_or_else(|| format!("took {took:?}"))
        });
        if let Err(e) = outcome {
            self.failures.push(format!("{what}: {e}"));
        }
    }
}

fn describe(input: &Input, probe: &Probe) -> String {
    let how = match &probe.send {
        Send::CozeUpload => "coze upload".to_owned(),
        Send::IcuData => "icu Data".to_owned(),
        Send::IcuUrl => "icu Url".to_owned(),
        Send::Post(p) => format!("POST {p}"),
        Send::Get(p) => format!("GET {p}"),
        Send::Raw => "raw".to_owned(),
    };
    format!("{} [{how}] ({})", input.file, input.note)
}

/// Runs probes `CONCURRENCY` at a time; returns the icu tasks they made.
async fn run_all(
    ctx: &Ctx,
    manifest: &Manifest,
    files: &[Vec<u8>],
    probes: Vec<Probe>,
    tally: &mut Tally,
) -> Vec<(usize, u64)> {
    let results = futures_util::stream::iter(probes)
        .map(|probe| async move {
            let (input, bytes) = (&manifest.inputs[probe.input], &files[probe.input]);
            let start = Instant::now();
            let sent = tokio::time::timeout(REQUEST_BOUND, send(ctx, input, bytes, &probe)).await;
            let took = start.elapsed();
            let outcome = match sent {
                Err(_) => Err(format!("no answer within {REQUEST_BOUND:?}")),
                Ok(Err(e)) => Err(e),
                Ok(Ok(reply)) => check(&probe, bytes, &reply),
            };
            (describe(input, &probe), probe.input, took, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut tasks = Vec::new();
    for (what, input, took, outcome) in results {
        if let Ok(Some(task)) = &outcome {
            tasks.push((input, *task));
        }
        tally.record(what, took, outcome.map(|_| ()));
    }
    tasks
}

/// Moves the clock until every task has ended (within retention), checking each poll.
async fn finish_tasks(
    ctx: &Ctx,
    control: &Control,
    manifest: &Manifest,
    tasks: Vec<(usize, u64)>,
    tally: &mut Tally,
) {
    let mut pending = tasks;
    for _round in 0..6 {
        if pending.is_empty() {
            break;
        }
        // Url downloads run on the server's own time; let them land before moving the clock.
        tokio::time::sleep(Duration::from_millis(300)).await;
        control
            .advance_clock(Advance::seconds(2.0 * 3600.0))
            .await
            .expect("the clock advances");
        let mut still = Vec::new();
        for (input, task) in pending {
            let url = format!("{}{}?TaskId={task}", ctx.base, asr_mock_paths::ICU_QUERY);
            let start = Instant::now();
            let polled = match ctx.http.get(url).timeout(REQUEST_BOUND).send().await {
                Ok(res) => read_reply(res).await,
                Err(e) => Err(format!("no answer: {e}")),
            };
            let took = start.elapsed();
            let what = format!("{} [icu poll {task}]", manifest.inputs[input].file);
            let outcome = polled.and_then(|reply| {
                let v = icu_envelope(&reply)?;
                match v["data"]["Status"].as_u64() {
                    Some(2) => Ok(true),
                    Some(3) => {
                        let msg = v["data"]["ErrorMsg"].as_str().unwrap_or_default();
                        if msg.contains("internal error") {
                            Err(format!("the task failed on an internal error: {msg}"))
                        } else {
                            Ok(true)
                        }
                    }
                    Some(0 | 1) => Ok(false),
                    _ => Err(format!("not a task view: {}", reply.show())),
                }
            });
            if let Ok(false) = outcome {
                still.push((input, task));
                continue;
            }
            tally.record(what, took, outcome.map(|_| ()));
        }
        pending = still;
    }
    for (input, task) in pending {
        tally.failures.push(format!(
            "{} [icu task {task}]: never ended",
            manifest.inputs[input].file
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hostile_corpus_gets_envelopes_in_time_and_leaves_the_server_healthy() {
    let (manifest, files) = load_manifest();
    let server = spawn_server();
    let ctx = Ctx {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap(),
        base: server.base.clone(),
        addr: server.addr,
    };
    let control = Control::new(&server.base);
    control.health().await.expect("the server is up");

    // Warm up the allocator and lazy state with well-formed traffic before the baseline.
    let wav = crate::support::fixture("speech-cmn-16k.wav");
    let (first, last) = probes(&manifest);
    let mut warm = Tally::default();
    let warm_manifest = Manifest {
        version: 1,
        inputs: vec![Input {
            file: "speech-cmn-16k.wav".into(),
            kind: "audio".into(),
            note: "warm-up".into(),
            paths: vec![],
            content_type: None,
            via_url: true,
        }],
    };
    for send in [Send::CozeUpload, Send::IcuData, Send::IcuUrl] {
        let probe = Probe { input: 0, send };
        run_all(
            &ctx,
            &warm_manifest,
            std::slice::from_ref(&wav),
            vec![probe],
            &mut warm,
        )
        .await;
    }
    assert!(warm.failures.is_empty(), "{:?}", warm.failures);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.process.id();
    let rss_before = rss_kb(pid);

    let started = Instant::now();
    let mut tally = Tally::default();
    let tasks = run_all(&ctx, &manifest, &files, first, &mut tally).await;
    let task_count = tasks.len();
    finish_tasks(&ctx, &control, &manifest, tasks, &mut tally).await;
    run_all(&ctx, &manifest, &files, last, &mut tally).await;
    let elapsed = started.elapsed();

    let healthy = tokio::time::timeout(REQUEST_BOUND, control.health()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_after = rss_kb(pid);
    let growth = rss_after.saturating_sub(rss_before);
    let stderr = std::fs::read_to_string(server.stderr.path()).unwrap_or_default();
    // The standard panic hook's first line (a log line may repeat the message).
    let panics: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("thread '") && l.contains(" panicked at "))
        .collect();
    // Where each panic happened (the message follows on the next line), with a count.
    let mut panic_sites = BTreeMap::<&str, usize>::new();
    for line in &panics {
        let site = line.split("panicked at ").nth(1).unwrap_or(line);
        *panic_sites.entry(site.trim_end_matches(':')).or_default() += 1;
    }

    let mut by_kind = BTreeMap::<&str, usize>::new();
    for input in &manifest.inputs {
        *by_kind.entry(input.kind.as_str()).or_default() += 1;
    }
    let mut sorted = tally.latencies.clone();
    sorted.sort();
    let p99 = sorted
        .get(sorted.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    println!(
        "hostile corpus: {} inputs {by_kind:?}",
        manifest.inputs.len()
    );
    println!(
        "  {} requests ({task_count} icu tasks polled to the end) in {elapsed:.1?}",
        tally.requests
    );
    println!(
        "  worst latency {:.1?} ({}), p99 {p99:.1?}",
        tally.worst.0, tally.worst.1
    );
    println!(
        "  server RSS {} MB -> {} MB (growth {} MB, bound {} MB)",
        rss_before / 1024,
        rss_after / 1024,
        growth / 1024,
        RSS_GROWTH_BOUND_KB / 1024
    );
    println!("  panics printed by the server: {}", panics.len());
    for (site, n) in &panic_sites {
        println!("    {n} at {site}");
    }
    println!("  failures: {}", tally.failures.len());
    for failure in &tally.failures {
        println!("    {failure}");
    }

    assert!(rss_before > 0, "RSS is readable");
    assert!(
        matches!(healthy, Ok(Ok(_))),
        "the server no longer answers its health check: {healthy:?}"
    );
    assert!(
        panics.is_empty(),
        "the server panicked {} times: {panic_sites:#?}",
        panics.len()
    );
    assert!(
        growth <= RSS_GROWTH_BOUND_KB,
        "server memory grew by {growth} kB (from {rss_before} kB to {rss_after} kB)"
    );
    assert!(
        tally.failures.is_empty(),
        "{} of {} requests failed; first: {:#?}",
        tally.failures.len(),
        tally.requests,
        &tally.failures[..tally.failures.len().min(20)]
    );
}
