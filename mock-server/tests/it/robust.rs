//! Robustness over real sockets: slow and idle clients are cut off, and a long bounded
//! mixed load leaves memory flat.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use asr_mock::control::types::Advance;
use asr_mock::control::Control;
use asr_mock::testing::{serve, ServeOptions};
use asr_mock::{app, build_state, Config};

use crate::support::fixture;

/// A simulator served with a short header timeout, as `asr-mock` does with 30 s.
async fn start_with_timeout(timeout: Duration) -> std::net::SocketAddr {
    let state = build_state(&Config::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = ServeOptions {
        header_read_timeout: Some(timeout),
        ..ServeOptions::default()
    };
    tokio::spawn(serve(listener, app(state), opts, std::future::pending()));
    addr
}

/// Reads until the server closes; returns what it sent and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (got, closed)
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off() {
    let addr = start_with_timeout(Duration::from_millis(300)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut stream).await;
    assert!(
        closed,
        "a client that never finishes its headers is disconnected"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let addr = start_with_timeout(Duration::from_millis(300)).await;
    // Silent from the start.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (got, closed) = read_until_closed(&mut silent).await;
    assert!(closed, "a connection that never sends a request is closed");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&got)
    );

    // Idle after one answered request (keep-alive).
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /__admin/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = read_until_closed(&mut idle).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(closed, "a kept-alive connection that goes quiet is closed");
}

/// Resident memory of process `pid`, from /proc (Linux).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4)
}

/// The real binary, alone in its process so its memory can be measured.
struct Child {
    process: std::process::Child,
    base: String,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn spawn_binary(args: &[&str]) -> Child {
    use std::io::BufRead;
    let mut process = std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["--port", "0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("asr-mock starts");
    let stdout = process.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    Child { process, base }
}

#[tokio::test]
async fn memory_stays_flat_under_a_long_mixed_load() {
    let child = spawn_binary(&[
        "--clock",
        "manual",
        "--icu-task-capacity",
        "300",
        "--journal-size",
        "100",
        "--icu-submit-rate",
        "0",
        "--icu-query-rate",
        "0",
    ]);
    let http = reqwest::Client::new();
    let control = Control::new(&child.base);
    let url = |path: &str| format!("{}{path}", child.base);
    let wav = fixture("speech-cmn-16k.wav");
    let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &wav);
    let body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 2, "SourceType": 1, "Data": data, "CallbackUrl": url("/__admin/sink")});
    let mut samples = Vec::new();
    for _round in 0..6 {
        for i in 0..100 {
            let res = http
                .post(url("/openapi/asr/voiceToText"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let answer: serde_json::Value = res.json().await.unwrap();
            let id = answer["data"]["TaskId"].as_u64().unwrap();
            http.get(url(&format!("/openapi/asr/searchResult?TaskId={id}")))
                .send()
                .await
                .unwrap();
            if i % 10 == 0 {
                let form = reqwest::multipart::Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(wav.clone()).file_name("a.wav"),
                );
                http.post(url("/v1/audio/transcriptions"))
                    .bearer_auth("pat")
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                http.post(url("/openapi/asr/voiceToText"))
                    .body("junk")
                    .send()
                    .await
                    .unwrap();
            }
            control.advance_clock(Advance::seconds(20.0)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        samples.push(rss_kb(child.process.id()));
        let health = control.health().await.unwrap();
        assert!(
            health.icu_tasks <= 300,
            "the task store is bounded: {health:?}"
        );
    }
    // Two rounds fill the bounded stores; four more rounds must not keep adding memory.
    let warm = samples[1];
    let last = *samples.last().unwrap();
    assert!(warm > 0, "RSS is readable: {samples:?}");
    assert!(
        last <= warm + 8 * 1024,
        "memory grew from {warm} kB to {last} kB over four more rounds: {samples:?}"
    );
}

/// Mutations of a valid multipart upload — cut short anywhere, bytes flipped, lines
/// dropped or repeated — always get Coze's envelope: JSON with a code, a message and the
/// logid, and never a 5xx.
#[tokio::test]
async fn mangled_multipart_uploads_get_the_coze_envelope() {
    use rand::Rng;
    let app = crate::support::TestApp::start().await;
    let wav = crate::support::silent_wav(1000, 1);
    let mut valid = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n".to_vec();
    valid.extend_from_slice(&wav);
    valid.extend_from_slice(b"\r\n--XyZ--\r\n");
    let mut rng = asr_mock::testing::derive(7, "multipart-fuzz", b"");
    let mut bodies: Vec<Vec<u8>> = (0..valid.len())
        .step_by(37)
        .map(|n| valid[..n].to_vec())
        .collect();
    for _ in 0..200 {
        let mut body = valid.clone();
        match rng.gen_range(0..4) {
            0 => {
                for _ in 0..rng.gen_range(1..8) {
                    let i = rng.gen_range(0..body.len());
                    body[i] = rng.gen();
                }
            }
            1 => {
                let i = rng.gen_range(0..body.len());
                let j = rng.gen_range(i..body.len());
                body.drain(i..j);
            }
            2 => {
                let i = rng.gen_range(0..120);
                let chunk = body[i..i + 30].to_vec();
                body.splice(i..i, chunk);
            }
            _ => {
                let junk: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
                let i = rng.gen_range(0..body.len());
                body.splice(i..i, junk);
            }
        }
        bodies.push(body);
    }
    for (n, body) in bodies.into_iter().enumerate() {
        let res = app
            .http
            .post(app.url("/v1/audio/transcriptions"))
            .bearer_auth("pat_fuzz")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(status < 500, "case {n}: HTTP {status}");
        let answer = crate::support::Answer::read(res).await;
        answer.assert_envelope();
        assert!(
            answer.json.get("code").and_then(|c| c.as_i64()).is_some(),
            "case {n}: {}",
            answer.json
        );
        assert!(answer.json["msg"].is_string(), "case {n}");
    }
}

#[test]
fn a_sigterm_right_after_the_address_line_stops_the_binary_gracefully() {
    use rustix::process::{kill_process, Pid, Signal};
    // The handler is installed before the line is printed: a script that stops the server as
    // soon as it has the address gets a clean exit, not a death by signal.
    for _ in 0..10 {
        let mut child = spawn_binary(&[]);
        let pid = Pid::from_raw(child.process.id() as i32).unwrap();
        kill_process(pid, Signal::TERM).unwrap();
        let status = child.process.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}
