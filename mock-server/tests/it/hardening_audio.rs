//! Audio hardening over real sockets: generated audio that cannot overflow and streams without
//! stalling anything, downloads bounded in number and memory, decompression bombs that cost
//! no more than ordinary files, and decoder trouble refused before decoding (or caught
//! quietly).

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use asr_mock::control::types::{Advance, OutcomeRecord};
use asr_mock::control::Control;
use asr_mock::{Config, MockServer};

use crate::support::{fixture, post_json, Answer, TestApp, START_MS};

const SUBMIT: &str = "/openapi/asr/voiceToText";

/// Wall-clock time of `f`: these tests measure real latency, not simulated time.
#[allow(clippy::disallowed_methods)] // measures this test's own run time, not simulated time
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = std::time::Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// Serves `app` on a fresh loopback port for the rest of the test.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn url_body(url: &str) -> Value {
    json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0, "Url": url})
}

fn data_body(bytes: &[u8]) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1, "Data": data})
}

async fn submit(http: &reqwest::Client, base: &str, body: &Value) -> u64 {
    let answer: Value = post_json(http, format!("{base}{SUBMIT}"), body).await;
    assert_eq!(answer["code"], 0, "{answer}");
    answer["data"]["TaskId"].as_u64().unwrap()
}

/// Waits (in real time: downloads and examinations run in the background) until the task has
/// an outcome, and returns it.
async fn outcome(control: &Control, id: u64) -> OutcomeRecord {
    for _ in 0..1200 {
        if let Some(plan) = control.task(id).await.unwrap().task.plan {
            return plan.outcome;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never got an outcome");
}

fn failure(outcome: &OutcomeRecord) -> (i64, String) {
    match outcome {
        OutcomeRecord::Failed { code, message, .. } => (i64::from(*code), message.clone()),
        other => panic!("expected a failure: {other:?}"),
    }
}

// ---- 1. Generated audio -----------------------------------------------------------------

#[tokio::test]
async fn an_overflowing_generated_size_is_a_400_not_a_crash() {
    let app = TestApp::start().await;
    let path = "/__admin/audio/generated/silence.wav?seconds=9007199254740994&rate=1024&channels=2";
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    let msg = body["error"].as_str().expect("the control API's envelope");
    assert!(msg.contains("generated audio is limited to"), "{msg}");

    // From the data plane: a task whose Url is that address fails its download, cleanly.
    let id = app.submit_ok_url(&app.url(path)).await;
    let (code, message) = failure(&outcome(&app.control, id).await);
    assert_eq!(code, 10007);
    assert_eq!(message, "Failed to download audio file! HTTP status 400");

    // Just over the cap is refused the same way; the server is still up.
    let over = "/__admin/audio/generated/silence.wav?seconds=262145&rate=1024&channels=2";
    let res = app.http.get(app.url(over)).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(app.control.health().await.is_ok());
}

impl TestApp {
    async fn submit_ok_url(&self, url: &str) -> u64 {
        submit(&self.http, &self.server.base_url(), &url_body(url)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_generated_downloads_stream_without_stalling_other_requests() {
    let app = TestApp::start().await;
    // 480 MB each of speech-like audio (a sine chord per sample: real work to make).
    let path = "/__admin/audio/generated/speechlike.wav?seconds=5000&rate=48000&channels=2";
    let expected_len = 44 + 5000 * 48_000 * 2;
    let received = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.content_length(), Some(expected_len));
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let mut body = res.bytes_stream();
            let mut first = true;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.unwrap();
                if first {
                    assert!(chunk.starts_with(b"RIFF"), "a WAV header comes first");
                    first = false;
                }
                received.fetch_add(chunk.len(), Ordering::Relaxed);
            }
        }));
    }
    // Both streams are flowing; the control API answers meanwhile.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (health, took) = timed(app.control.health()).await;
        health.unwrap();
        slowest = slowest.max(took);
    }
    let streamed = received.load(Ordering::Relaxed);
    assert!(
        streamed > 2 * 1024 * 1024,
        "the downloads were streaming ({streamed} bytes so far)"
    );
    assert!(
        (streamed as u64) < 2 * expected_len,
        "still streaming while health was measured"
    );
    assert!(
        slowest < Duration::from_secs(2),
        "health took {slowest:?} while two large files streamed"
    );
    for reader in readers {
        reader.abort();
    }
}

// ---- 7. Downloads: bounded in number and memory ------------------------------------------

/// A server whose `/endless` sends zeros forever, and whose `/hang` never answers (counting
/// the requests that reached it).
async fn awkward_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let arrived = Arc::new(AtomicUsize::new(0));
    let counter = arrived.clone();
    let app = Router::new()
        .route(
            "/endless",
            get(|| async {
                let parts =
                    futures_util::stream::repeat_with(|| Ok::<_, Infallible>(vec![0u8; 64 * 1024]));
                Body::from_stream(parts)
            }),
        )
        .route(
            "/hang",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>()
            }),
        );
    (serve(app).await, arrived)
}

/// The simulator's binary alone in a process (so its memory can be measured), killed at the
/// end of the test; its stderr goes to a pipe the test can read.
struct Binary {
    process: Child,
    base: String,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        use std::io::BufRead;
        let mut process = Command::new(env!("CARGO_BIN_EXE_asr-mock"))
            .args(["--port", "0", "--clock", "manual", "--icu-submit-rate", "0"])
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("asr-mock starts");
        let stdout = process.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap().to_owned();
        Binary { process, base }
    }

    /// Resident memory in kB.
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Stops the process and returns everything it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let mut err = String::new();
        if let Some(mut pipe) = self.process.stderr.take() {
            let _ = pipe.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn endless_downloads_stop_at_the_cap_and_memory_stays_flat() {
    const CAP: u64 = 64 * 1024 * 1024;
    let (addr, _) = awkward_server().await;
    let sim = Binary::start(&["--download-max-bytes", &CAP.to_string()]);
    let http = reqwest::Client::new();
    let control = Control::new(&sim.base);
    control.health().await.unwrap();
    let baseline = sim.rss_kb();
    assert!(baseline > 0, "VmRSS is readable");

    let url = format!("http://{addr}/endless");
    let ids = [
        submit(&http, &sim.base, &url_body(&url)).await,
        submit(&http, &sim.base, &url_body(&url)).await,
    ];
    // Sample memory while both endless bodies stream in.
    let mut peak = baseline;
    let mut outcomes = Vec::new();
    for id in ids {
        loop {
            peak = peak.max(sim.rss_kb());
            if let Some(plan) = control.task(id).await.unwrap().task.plan {
                outcomes.push(plan.outcome);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for outcome in &outcomes {
        let (code, message) = failure(outcome);
        assert_eq!(code, 10007, "over the size limit is a download failure");
        assert_eq!(
            message,
            format!("Failed to download audio file! File larger than {CAP} bytes")
        );
    }
    // Two 64 MiB bodies held in memory would add well over 128 MB.
    let grew_kb = peak.saturating_sub(baseline);
    assert!(
        grew_kb < 40 * 1024,
        "two capped downloads grew RSS by {grew_kb} kB (baseline {baseline} kB)"
    );
    drop(sim);
}

#[tokio::test]
async fn downloads_past_the_concurrency_wait_in_status_0_until_a_slot_frees() {
    let (addr, arrived) = awkward_server().await;
    let config = Config {
        download_concurrency: 1,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    let url = format!("http://{addr}/hang");
    let first = app.submit_ok_url(&url).await;
    let second = app.submit_ok_url(&url).await;
    let status = |answer: Value| answer["data"]["Status"].as_u64().unwrap();
    wait_until(|| arrived.load(Ordering::SeqCst) == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(arrived.load(Ordering::SeqCst), 1, "one slot, one download");
    for id in [first, second] {
        assert_eq!(status(app.poll_json(id).await), 0);
    }
    // The first times out on the clock; its slot goes to the second, whose own timeout
    // starts only now.
    app.control
        .advance_clock(Advance::seconds(60.0))
        .await
        .unwrap();
    let (code, message) = failure(&outcome(&app.control, first).await);
    assert_eq!(code, 10007);
    assert!(message.contains("Timed out after 60 s"), "{message}");
    wait_until(|| arrived.load(Ordering::SeqCst) == 2).await;
    // Still waiting or doing (its queue delay has passed), without an outcome.
    assert!(status(app.poll_json(second).await) <= 1);
    assert!(app.control.task(second).await.unwrap().task.plan.is_none());
}

impl TestApp {
    async fn poll_json(&self, id: u64) -> Value {
        self.http
            .get(self.url(&format!("/openapi/asr/searchResult?TaskId={id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition never held");
}

// ---- 11. Decompression bombs --------------------------------------------------------------

/// A native FLAC of `blocks` blocks of 4096 samples of digital silence (44.1 kHz, mono,
/// 16-bit). Each block is one constant subframe, about 13 bytes: hours fit in a few MB.
fn silent_flac(blocks: u32) -> Vec<u8> {
    let total = u64::from(blocks) * 4096;
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0x80, 0, 0, 34]); // the last (only) block: STREAMINFO, 34 bytes
    let mut info = Bits::default();
    info.put(4096, 16); // min block size
    info.put(4096, 16); // max block size
    info.put(0, 24); // min frame size: unknown
    info.put(0, 24); // max frame size: unknown
    info.put(44_100, 20); // sample rate
    info.put(0, 3); // channels - 1
    info.put(15, 5); // bits per sample - 1
    info.put(total, 36);
    out.extend_from_slice(&info.bytes);
    out.extend_from_slice(&[0u8; 16]); // MD5: not computed
    for n in 0..blocks {
        // Sync + fixed block size; 4096 samples, 44.1 kHz; mono, 16-bit.
        let mut frame = vec![0xFF, 0xF8, 0xC9, 0x08];
        frame.extend_from_slice(&utf8_coded(n));
        frame.push(crc8(&frame));
        frame.extend_from_slice(&[0x00, 0x00, 0x00]); // CONSTANT subframe, value 0
        let crc = crc16(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// Packs bit fields most significant bit first.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            if self.used % 8 == 0 {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.bytes.last_mut().unwrap() |= bit << (7 - self.used % 8);
            self.used += 1;
        }
    }
}

/// FLAC's frame numbers: UTF-8's byte layout over any 31-bit value (surrogates included).
fn utf8_coded(n: u32) -> Vec<u8> {
    let cont = |shift: u32| 0x80 | ((n >> shift) & 0x3F) as u8;
    match n {
        0..0x80 => vec![n as u8],
        0x80..0x800 => vec![0xC0 | (n >> 6) as u8, cont(0)],
        0x800..0x1_0000 => vec![0xE0 | (n >> 12) as u8, cont(6), cont(0)],
        _ => vec![0xF0 | (n >> 18) as u8, cont(12), cont(6), cont(0)],
    }
}

fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
        crc
    })
}

fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |mut crc, &b| {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// Blocks of 4096 samples at 44.1 kHz in just under five hours.
const FIVE_HOURS_OF_BLOCKS: u32 = 193_798;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hours_of_flac_silence_is_answered_in_bounded_time_on_both_providers() {
    let flac = silent_flac(FIVE_HOURS_OF_BLOCKS);
    assert!(flac.len() < 3 * 1024 * 1024, "{} bytes", flac.len());
    let app = TestApp::start().await;

    // Coze takes no FLAC: refused from the magic bytes, before anything is decoded.
    let (answer, took) = timed(app.transcribe("bomb.flac", flac.clone())).await;
    answer.assert_error(4303, 400);
    assert!(answer.msg().contains("flac"), "{}", answer.msg());
    assert!(took < Duration::from_secs(2), "Coze took {took:?}");

    // icu takes FLAC: the duration comes from STREAMINFO, speech detection stops at its
    // budget, and the submit (which examines inline audio before answering) stays quick.
    let (id, took) = timed(submit(&app.http, &app.server.base_url(), &data_body(&flac))).await;
    assert!(took < Duration::from_secs(30), "icu took {took:?}");
    match outcome(&app.control, id).await {
        OutcomeRecord::Success { duration_ms, .. } => {
            assert_eq!(
                duration_ms, 17_999_923,
                "from the header, not from decoding"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---- 12. Decoder trouble -------------------------------------------------------------------

/// `fixture` with the timescale of its first `tag` box (`mvhd` or `mdhd`) set to 0.
fn zero_timescale(name: &str, tag: &[u8; 4]) -> Vec<u8> {
    let mut b = fixture(name);
    let body = b.windows(4).position(|w| w == tag).expect("box") + 4;
    let at = if b[body] == 1 { body + 20 } else { body + 12 };
    b[at..at + 4].fill(0);
    b
}

#[tokio::test]
async fn an_mp4_with_a_zero_timescale_is_corrupt_audio_and_prints_no_backtrace() {
    let sim = Binary::start(&[]);
    let http = reqwest::Client::new();
    let control = Control::new(&sim.base);
    for tag in [b"mdhd", b"mvhd"] {
        let mp4 = zero_timescale("speech-cmn.mp4", tag);
        // Coze: mp4 is on its list, so bad mp4 data is undecodable (4304).
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(mp4.clone()).file_name("call.mp4"),
        );
        let res = http
            .post(format!("{}/v1/audio/transcriptions", sim.base))
            .bearer_auth("pat")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let answer = Answer::read(res).await;
        answer.assert_error(4304, 400);
        assert!(answer.msg().contains("timescale of 0"), "{}", answer.msg());

        // icu: an invalid audio file (10004).
        let id = submit(&http, &sim.base, &data_body(&mp4)).await;
        let (code, message) = failure(&outcome(&control, id).await);
        assert_eq!(code, 10004);
        assert!(message.contains("timescale of 0"), "{message}");
    }
    let stderr = sim.stop();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}
