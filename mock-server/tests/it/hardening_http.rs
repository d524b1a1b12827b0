//! The HTTP layer under abuse and mistakes, over real sockets (raw TCP where an HTTP client
//! would hide the detail): slow bodies and connection floods, heads hyper refuses, unknown
//! paths, and keep-alive connections after scripted errors.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use asr_mock::config::ClockKind;
use asr_mock::{Config, MockServer};

use crate::support::{silent_wav, TestApp, START_MS};

const WAIT: Duration = Duration::from_secs(10);

/// A whole answer read from a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn parse(bytes: &[u8]) -> Raw {
        let text = String::from_utf8_lossy(bytes);
        let end = text
            .find("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete head: {text:.300}"));
        let head = text[..end].to_owned();
        let status = head[9..12].parse().expect("a status");
        Raw {
            status,
            head,
            body: bytes[end + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\r\n\r\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Coze's error envelope: this code, a message, the logid in header and body alike.
    #[track_caller]
    fn assert_coze(&self, status: u16, code: i64) {
        assert_eq!(self.status, status, "{}", self.head);
        assert_eq!(self.header("content-type"), Some("application/json"));
        let json = self.json();
        assert_eq!(json["code"], code, "{json}");
        assert!(!json["msg"].as_str().unwrap().is_empty(), "{json}");
        let logid = json["detail"]["logid"].as_str().expect("detail.logid");
        assert_eq!(logid.len(), 34, "{logid}");
        assert_eq!(self.header("x-tt-logid"), Some(logid));
    }

    /// icu's error envelope: a non-zero code, `success: false`, `data: null`.
    #[track_caller]
    fn assert_icu(&self, status: u16, name: &str) {
        assert_eq!(self.status, status, "{}", self.head);
        let json = self.json();
        assert_ne!(json["code"], 0, "{json}");
        assert_eq!(json["success"], false, "{json}");
        assert_eq!(json["data"], Value::Null, "{json}");
        let msg = json["msg"].as_str().unwrap();
        assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
    }
}

/// Sends `request` on a new connection and reads until the server closes it (a failed write
/// is fine: the server may stop reading a head it refuses).
async fn exchange(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut all = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server answers and closes");
    Raw::parse(&all)
}

#[tokio::test]
async fn refused_heads_answer_in_the_envelope_of_their_path() {
    let app = TestApp::start().await;
    let addr = app.server.addr();
    let long = "a".repeat(70_000);

    // 414: a query of 64 KB or more.
    let raw = exchange(
        addr,
        format!("POST /v1/audio/transcriptions?x={long} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
    .await;
    raw.assert_coze(414, 4000);
    assert_eq!(raw.header("connection"), Some("close"));
    let raw = exchange(
        addr,
        format!("GET /openapi/asr/searchResult?TaskId=1&x={long} HTTP/1.1\r\nHost: x\r\n\r\n")
            .as_bytes(),
    )
    .await;
    raw.assert_icu(414, "InvalidParameter");

    // 431: 100 000 parameters, a 1 MB header.
    let params: Vec<String> = (0..100_000).map(|i| format!("p{i}=1")).collect();
    let raw = exchange(
        addr,
        format!(
            "GET /openapi/asr/searchResult?{} HTTP/1.1\r\nHost: x\r\n\r\n",
            params.join("&")
        )
        .as_bytes(),
    )
    .await;
    raw.assert_icu(431, "InvalidParameter");
    let raw = exchange(
        addr,
        format!(
            "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "b".repeat(1 << 20)
        )
        .as_bytes(),
    )
    .await;
    raw.assert_coze(431, 4000);

    // 400: a negative Content-Length.
    let raw = exchange(
        addr,
        b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    )
    .await;
    raw.assert_coze(400, 4000);
    let raw = exchange(
        addr,
        b"POST /openapi/asr/voiceToText HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    )
    .await;
    raw.assert_icu(400, "InvalidParameter");

    // Elsewhere: JSON that no SDK reads as success; the control API's own shape.
    let raw = exchange(
        addr,
        format!("GET /elsewhere?x={long} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(raw.status, 414);
    let json = raw.json();
    assert_eq!(json["code"], 414);
    assert!(json["msg"].as_str().unwrap().contains("too long"), "{json}");
    let raw = exchange(
        addr,
        format!("GET /__admin/requests?x={long} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(raw.status, 414);
    assert!(raw.json()["error"].as_str().unwrap().contains("too long"));

    // The journal has them, their queries cut.
    let journal = app.journal().await;
    let statuses: Vec<(u16, &str)> = journal
        .iter()
        .map(|e| (e.status, e.path.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            (414, "/v1/audio/transcriptions"),
            (414, "/openapi/asr/searchResult"),
            (431, "/openapi/asr/searchResult"),
            (431, "/v1/audio/transcriptions"),
            (400, "/v1/audio/transcriptions"),
            (400, "/openapi/asr/voiceToText"),
            (414, "/elsewhere"),
        ]
    );
    assert!(journal[0].truncated);
    assert!(journal[0].query.as_ref().unwrap().len() <= 4096);
    assert_eq!(journal[0].code, Some(4000));
}

#[tokio::test]
async fn the_control_api_answers_its_errors_in_json() {
    let app = TestApp::start().await;
    let addr = app.server.addr();
    // A declared body over the limit: refused before a byte of it is read.
    let raw = exchange(
        addr,
        b"POST /__admin/sink HTTP/1.1\r\nHost: localhost\r\nContent-Length: 21000000\r\n\r\n",
    )
    .await;
    assert_eq!(raw.status, 413);
    assert_eq!(raw.header("content-type"), Some("application/json"));
    assert!(raw.json()["error"].as_str().unwrap().contains("over"));
    assert_eq!(raw.header("connection"), Some("close"));
    // A method the path does not take: JSON that names both, not axum's empty 405.
    let raw = exchange(
        addr,
        b"PUT /__admin/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(raw.status, 405);
    assert_eq!(raw.json()["error"], "/__admin/health does not take PUT");
}

#[tokio::test]
async fn unknown_paths_answer_in_an_envelope_no_sdk_takes_for_success() {
    let app = TestApp::start().await;
    let wav = silent_wav(8000, 1);
    for path in [
        "//v1/audio/transcriptions",
        "/v1/audio/transcriptions/",
        "/prefix/v1/audio/transcriptions",
        "/v1/files",
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(wav.clone()).file_name("a.wav"),
        );
        let res = app
            .http
            .post(app.url(path))
            .bearer_auth("pat_test")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let answer = crate::support::Answer::read(res).await;
        answer.assert_error(4200, 404);
        if path != "/v1/files" {
            assert!(
                answer
                    .msg()
                    .contains("Did you mean /v1/audio/transcriptions?"),
                "{path}: {}",
                answer.msg()
            );
        }
    }
    for path in [
        "//openapi/asr/searchResult?TaskId=1",
        "/prefix/openapi/asr/searchResult?TaskId=1",
    ] {
        let raw = exchange(
            app.server.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        raw.assert_icu(404, "InvalidParameter");
        assert!(raw.json()["msg"].as_str().unwrap().contains("did you mean"));
    }
    let res = app.http.get(app.url("/nothing/here")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["code"], 404, "a non-zero code: {json}");
    assert!(json["msg"].as_str().unwrap().contains("/nothing/here"));
    assert!(json["endpoints"].as_array().unwrap().len() >= 3);
}

/// A raw connection that sends a head and then one byte every 300 ms, for as long as it is
/// let; returns what the server answered and whether it closed within `WAIT` × 2.
async fn trickle(addr: SocketAddr, head: String) -> (Vec<u8>, bool) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let dripping = tokio::spawn(async move {
        for _ in 0..200 {
            if writer.write_all(b"-").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut got = Vec::new();
    let closed = tokio::time::timeout(WAIT * 2, async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    dripping.abort();
    (got, closed)
}

#[tokio::test]
async fn health_answers_while_slow_bodies_hold_every_connection() {
    let config = Config {
        max_connections: 4,
        body_timeout_ms: 3000,
        body_min_rate: 100,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    let addr = app.server.addr();
    let coze =
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pat_x\r\n\
                Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n";
    let icu = "POST /openapi/asr/voiceToText HTTP/1.1\r\nHost: x\r\n\
               Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n";
    let slow: Vec<_> = [coze, coze, icu, icu]
        .into_iter()
        .map(|head| tokio::spawn(trickle(addr, head.to_owned())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The four hold the cap: a fifth request is refused at once, in Coze's envelope...
    let raw = exchange(addr, coze.as_bytes()).await;
    raw.assert_coze(503, 4009);
    assert_eq!(raw.header("connection"), Some("close"));
    // ...but health checks, each on a new connection, are answered.
    let health = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    for _ in 0..5 {
        let res = health
            .get(app.url("/__admin/health"))
            .send()
            .await
            .expect("health answers while the cap is full");
        assert_eq!(res.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The slow bodies are cut off after a window (3 s), each with a 408 in its envelope.
    for (i, client) in slow.into_iter().enumerate() {
        let (got, closed) = client.await.unwrap();
        assert!(closed, "slow client {i} was disconnected");
        let raw = Raw::parse(&got);
        if i < 2 {
            raw.assert_coze(408, 4000);
        } else {
            raw.assert_icu(408, "InvalidParameter");
        }
        assert_eq!(raw.header("connection"), Some("close"));
    }
    let timed_out = app
        .journal()
        .await
        .iter()
        .filter(|e| e.status == 408)
        .count();
    assert_eq!(timed_out, 4);
    // Freed (once the cut connections have closed): a normal request is served again.
    let mut status = 0;
    for _ in 0..50 {
        let res = health
            .get(app.url("/openapi/asr/searchResult?TaskId=1"))
            .send()
            .await
            .unwrap();
        status = res.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

/// One request on a client connection: the status, whether it said `Connection: close`, and
/// the JSON body (`Null` when not JSON).
async fn send(
    conn: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    req: hyper::Request<Full<Bytes>>,
) -> Result<(u16, bool, Value), hyper::Error> {
    let res = conn.send_request(req).await?;
    let status = res.status().as_u16();
    let closes = res
        .headers()
        .get("connection")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = res.into_body().collect().await?.to_bytes();
    Ok((
        status,
        closes,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    ))
}

fn coze_upload(wav: &[u8], scenario: Option<&str>) -> hyper::Request<Full<Bytes>> {
    let mut body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
                     Content-Type: audio/wav\r\n\r\n"
            .to_vec();
    body.extend_from_slice(wav);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let mut req = hyper::Request::post("/v1/audio/transcriptions")
        .header("host", "x")
        .header("authorization", "Bearer pat_test")
        .header("content-type", "multipart/form-data; boundary=XyZ");
    if let Some(name) = scenario {
        req = req.header("x-mock-scenario", name);
    }
    req.body(Full::new(Bytes::from(body))).unwrap()
}

fn icu_submit(wav: &[u8], scenario: Option<&str>) -> hyper::Request<Full<Bytes>> {
    let body = json!({
        "EngineModelType": "16k_zh",
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(wav),
    });
    let mut req = hyper::Request::post("/openapi/asr/voiceToText")
        .header("host", "x")
        .header("content-type", "application/json");
    if let Some(name) = scenario {
        req = req.header("x-mock-scenario", name);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

#[tokio::test]
async fn scripted_errors_leave_keep_alive_connections_usable() {
    // A fast clock: scripted latencies pass in milliseconds.
    let config = Config {
        clock: ClockKind::Scaled,
        time_scale: 1000.0,
        icu_submit_rate: 1_000_000,
        ..Config::default()
    };
    let app = TestApp::with(MockServer::builder().config(config)).await;
    let addr = app.server.addr();
    // 256 KB each: far more than the server reads before it decides.
    let wav = silent_wav(16_000, 16);
    let names: Vec<String> = app
        .control
        .scenarios()
        .await
        .unwrap()
        .scenarios
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.len() > 20, "the library: {names:?}");
    let mut scripted = 0;
    for name in &names {
        for provider in ["coze", "icu"] {
            let make = |scenario| match provider {
                "coze" => coze_upload(&wav, scenario),
                _ => icu_submit(&wav, scenario),
            };
            let mut conn = connect(addr).await;
            // Three tries with the scenario, for faults on the nth request and rate limits.
            for attempt in 0..3 {
                let before = app.journal().await.last().map_or(0, |e| e.seq);
                match send(&mut conn, make(Some(name))).await {
                    Ok((status, closes, json)) => {
                        if status != 200 || json["code"] != 0 {
                            scripted += 1;
                        }
                        if closes {
                            // Said so: a new connection is the client's expected move.
                            conn = connect(addr).await;
                        }
                    }
                    Err(err) => {
                        // Only a fault meant to drop the connection may end it unanswered:
                        // the journal shows those as status 0.
                        let journal = app.journal().await;
                        let entry =
                            journal
                                .iter()
                                .find(|e| e.seq == before + 1)
                                .unwrap_or_else(|| {
                                    panic!("{name}/{provider} #{attempt}: {err}, nothing journaled")
                                });
                        assert_eq!(
                            entry.status, 0,
                            "{name}/{provider} #{attempt}: an unscripted broken connection ({err}): {entry:?}"
                        );
                        conn = connect(addr).await;
                    }
                }
            }
            // Then, on the same connection, a request without the scenario succeeds.
            let (status, _, json) = send(&mut conn, make(None))
                .await
                .unwrap_or_else(|e| panic!("{name}/{provider}: the next request failed: {e}"));
            assert_eq!(
                (status, &json["code"]),
                (200, &json!(0)),
                "{name}/{provider}: {json}"
            );
        }
    }
    assert!(scripted >= 10, "scripted errors were exercised: {scripted}");
}
