//! The recording proxy: a second simulator stands in for the real providers (its own seed and
//! fixtures); requests go through a proxying simulator with `--record`; both stop; a fresh
//! simulator replays the recording folder and gives the same `data` for every request.

use std::path::Path;
use std::time::Duration;

use asr_mock::{Config, MockServer};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{fixture, Answer, TestApp, START_MS};

const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";
/// A credential long enough to be searched for in every file written.
const TOKEN: &str = "pat_recording_secret_0123456789";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One request of the script, sent the same way to the proxy and to the replay.
#[derive(Clone)]
enum Step {
    /// A Coze upload of a fixture file, with scenario header if any.
    Upload(&'static str, Option<String>),
    /// A Coze streaming cycle of a fixture file (whole-file WAV appends).
    Stream(&'static str),
    /// A Coze streaming session under a scenario that refuses it with an `error` event.
    StreamRefused(String),
    /// An icu task: submit body, scenario header; polled until it ends.
    Task(Value, Option<String>),
    /// An icu submit expected to be refused.
    BadSubmit(Value),
}

/// What a step gave: the parts compared between recording and replay.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    code: i64,
    msg: String,
    /// `data` without the ids a run makes up (icu's TaskId).
    data: Value,
}

fn seen(answer: &Value, status: u16) -> Seen {
    let mut data = answer.get("data").cloned().unwrap_or(Value::Null);
    if let Some(obj) = data.as_object_mut() {
        obj.remove("TaskId");
    }
    Seen {
        status,
        code: answer["code"].as_i64().unwrap(),
        msg: answer["msg"].as_str().unwrap_or_default().to_owned(),
        data,
    }
}

async fn upload(base: &str, name: &str, scenario: Option<&str>) -> Seen {
    let form = Form::new().part(
        "file",
        Part::bytes(fixture(name)).file_name(name.to_owned()),
    );
    let mut req = reqwest::Client::new()
        .post(format!("{base}/v1/audio/transcriptions"))
        .bearer_auth(TOKEN)
        .multipart(form);
    if let Some(s) = scenario {
        req = req.header("X-Mock-Scenario", s);
    }
    let answer = Answer::read(req.send().await.unwrap()).await;
    seen(&answer.json, answer.status)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a streaming session (under `scenario`, if any).
async fn open(base: &str, scenario: Option<&str>) -> Ws {
    let url = format!("{base}/v1/audio/transcriptions").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    if let Some(s) = scenario {
        headers.insert("X-Mock-Scenario", s.parse().unwrap());
    }
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    assert!(response.headers().contains_key("x-tt-logid"));
    ws
}

/// The next text event.
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("an event within 30 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// A session refused under `scenario`: its first event's code and message.
async fn stream_refused(base: &str, scenario: &str) -> Seen {
    let mut ws = open(base, Some(scenario)).await;
    let event = next_event(&mut ws).await;
    assert_eq!(event["event_type"], "error", "{event}");
    Seen {
        status: 101,
        code: event["data"]["code"].as_i64().unwrap(),
        msg: event["data"]["msg"].as_str().unwrap().to_owned(),
        data: Value::Null,
    }
}

/// Streams a whole file in 3200-byte appends and returns the final text.
async fn stream(base: &str, name: &str) -> String {
    let mut ws = open(base, None).await;
    for piece in fixture(name).chunks(3200) {
        let append =
            json!({"event_type": "input_audio_buffer.append", "data": {"delta": b64(piece)}});
        ws.send(Message::text(append.to_string())).await.unwrap();
    }
    let complete = json!({"event_type": "input_audio_buffer.complete"});
    ws.send(Message::text(complete.to_string())).await.unwrap();
    let mut last = String::new();
    loop {
        let event = next_event(&mut ws).await;
        match event["event_type"].as_str().unwrap() {
            "transcriptions.message.update" => {
                last = event["data"]["content"].as_str().unwrap().to_owned();
            }
            "transcriptions.message.completed" => break,
            _ => {}
        }
    }
    ws.close(None).await.unwrap();
    // The close is answered through the proxy.
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
    last
}

async fn submit(base: &str, body: &Value, scenario: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{SUBMIT}"))
        .header("C-Secret", TOKEN)
        .json(body);
    if let Some(s) = scenario {
        req = req.header("X-Mock-Scenario", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// Polls until the task ends, moving `clock_of`'s clock (the server that runs the task).
async fn finish(base: &str, task_id: u64, clock_of: &MockServer) -> (u16, Value) {
    for _ in 0..600 {
        let res = reqwest::Client::new()
            .get(format!("{base}{QUERY}?TaskId={task_id}"))
            .header("C-Secret", TOKEN)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap();
        if answer["data"]["Status"].as_u64() >= Some(2) {
            return (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A Url task's audio downloads in real time; moving the clock before the task has
        // its plan would only run the download's timeout out.
        let task = clock_of.control().task(task_id).await.expect("the task");
        if task.task.plan.is_some() {
            clock_of.clock().advance(Duration::from_secs(3600));
        }
    }
    panic!("task {task_id} never ended");
}

/// Runs the script against `base`; `clock_of` is the server whose clock runs icu tasks.
async fn run(base: &str, clock_of: &MockServer, script: &[Step]) -> Vec<Seen> {
    let mut out = Vec::new();
    for step in script {
        out.push(match step {
            Step::Upload(name, scenario) => upload(base, name, scenario.as_deref()).await,
            Step::Stream(name) => {
                let text = stream(base, name).await;
                Seen {
                    status: 101,
                    code: 0,
                    msg: String::new(),
                    data: json!({ "text": text }),
                }
            }
            Step::StreamRefused(scenario) => stream_refused(base, scenario).await,
            Step::Task(body, scenario) => {
                let (status, answer) = submit(base, body, scenario.as_deref()).await;
                assert_eq!(
                    (status, answer["code"].as_i64()),
                    (200, Some(0)),
                    "{answer}"
                );
                let task_id = answer["data"]["TaskId"].as_u64().unwrap();
                let (status, answer) = finish(base, task_id, clock_of).await;
                seen(&answer, status)
            }
            Step::BadSubmit(body) => {
                let (status, answer) = submit(base, body, None).await;
                seen(&answer, status)
            }
        });
    }
    out
}

fn data_body(audio: &str, engine: &str, extra: Value) -> Value {
    let mut body = json!({
        "EngineModelType": engine, "ChannelNum": 1, "ResTextFormat": 0,
        "SourceType": 1, "Data": b64(&fixture(audio)),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A server for the audio of Url tasks, alive for the whole test (the replay downloads too).
async fn serve_audio() -> String {
    use axum::extract::Path as UrlPath;
    let app = axum::Router::new().route(
        "/{name}",
        axum::routing::get(|UrlPath(name): UrlPath<String>| async move { fixture(&name) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The scenario file whose name starts with `prefix`.
fn scenario_named(dir: &Path, prefix: &str) -> String {
    let names: Vec<String> = std::fs::read_dir(dir.join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let found: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "{prefix} in {names:?}");
    found[0].trim_end_matches(".toml").to_owned()
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for sub in ["fixtures", "scenarios"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            out.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn recorded_answers_replay_byte_for_byte_without_the_upstream() {
    // The stand-in for the real providers: its own seed, and a fixture of its own.
    let upstream_fixtures = tempfile::tempdir().unwrap();
    let en = fixture("speech-en-16k.wav");
    std::fs::write(
        upstream_fixtures.path().join("en.toml"),
        format!(
            "sha256 = \"{}\"\ntext = \"Recorded upstream. With \\\"quotes\\\" too!\"\n",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&en))
        ),
    )
    .unwrap();
    let upstream = MockServer::builder()
        .seed(4242)
        .manual_clock(Some(START_MS))
        .fixtures_dir(upstream_fixtures.path())
        .start()
        .await
        .unwrap();
    let record = tempfile::tempdir().unwrap();
    let proxy = MockServer::builder()
        .config(Config {
            proxy_coze: Some(upstream.base_url()),
            proxy_icu: Some(upstream.base_url()),
            record: Some(record.path().to_path_buf()),
            ..Config::default()
        })
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();

    let audio = serve_audio().await;
    let script_with = |invalid: Option<String>, failed: Option<String>, refused: String| {
        vec![
            Step::Upload("speech-cmn-16k.wav", None),
            Step::Upload("speech-en-16k.wav", None),
            Step::Upload("silence-2s-16k.wav", None),
            Step::Upload("speech-cmn-16k.wav", invalid),
            Step::Stream("speech-stereo-8k.wav"),
            Step::Task(
                data_body(
                    "speech-cmn-16k.wav",
                    "16k_zh",
                    json!({"ResTextFormat": 2, "SpeakerDiarization": 1}),
                ),
                None,
            ),
            Step::Task(
                data_body("speech-en-16k.wav", "16k_en", json!({"ResTextFormat": 1})),
                None,
            ),
            Step::Task(
                data_body(
                    "speech-stereo-8k.wav",
                    "16k_zh",
                    json!({"ResTextFormat": 0}),
                ),
                None,
            ),
            Step::Task(
                data_body("speech-cmn-16k.wav", "16k_zh", json!({"ResTextFormat": 0})),
                failed,
            ),
            Step::BadSubmit(data_body("speech-cmn-16k.wav", "16k_xx", json!({}))),
            Step::Task(
                json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 1,
                       "SourceType": 0, "Url": format!("{audio}/speech-cmn.mp3")}),
                None,
            ),
            Step::StreamRefused(refused),
        ]
    };
    let recording = script_with(
        Some("coze-invalid-token".into()),
        Some("fail-10003".into()),
        "coze-stream-error".into(),
    );
    let recorded = run(&proxy.base_url(), &upstream, &recording).await;
    // The proxy answered with the upstream's own answers.
    assert_eq!(
        recorded[1].data["text"],
        "Recorded upstream. With \"quotes\" too!"
    );
    assert_eq!((recorded[3].status, recorded[3].code), (401, 4100));
    assert_eq!(recorded[5].data["Status"], 2, "{:?}", recorded[5]);
    assert!(!recorded[5].data["ResultDetail"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(recorded[8].data["Status"], 3);
    assert_ne!(recorded[9].code, 0);
    assert_eq!(recorded[10].data["Status"], 2, "{:?}", recorded[10]);
    assert_eq!(recorded[11].code, 5000);
    // The journal saw every request, credentials redacted.
    let journal = proxy
        .control()
        .requests(Default::default())
        .await
        .unwrap()
        .requests;
    assert!(journal.len() >= recording.len());
    // A proxied streaming session is journaled as Coze's, with the upstream's logid.
    let sessions: Vec<Value> = journal
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .filter(|e| e["status"] == 101)
        .collect();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(sessions
        .iter()
        .all(|e| e["provider"] == "coze" && e["id"].as_str().is_some_and(|id| id.len() == 53)));
    let shown = serde_json::to_string(&journal).unwrap();
    assert!(!shown.contains(TOKEN), "the journal holds the credential");
    proxy.shutdown().await.unwrap();
    upstream.shutdown().await.unwrap();

    // What was written: fixtures by audio hash, one scenario per distinct error, no secret.
    let fixtures = std::fs::read_dir(record.path().join("fixtures"))
        .unwrap()
        .count();
    assert_eq!(fixtures, 5, "cmn, en, silence, stereo, the Url task's mp3");
    let everything = all_text(record.path());
    assert!(!everything.contains(TOKEN) && !everything.contains("0123456789"));
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["fixtures", "check"])
        .arg(record.path().join("fixtures"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["scenarios", "check"])
        .arg(record.path().join("scenarios"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // Replay: another seed, no upstream, the recorded errors chosen by their names.
    let replay = MockServer::builder()
        .seed(99)
        .manual_clock(Some(START_MS))
        .config(Config {
            fixtures: Some(record.path().join("fixtures")),
            scenarios: Some(record.path().join("scenarios")),
            seed: 99,
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    let replaying = script_with(
        Some(scenario_named(record.path(), "coze-transcribe-4100-")),
        Some(scenario_named(record.path(), "icu-task-10003-")),
        scenario_named(record.path(), "coze-stream-5000-"),
    );
    let replayed = run(&replay.base_url(), &replay, &replaying).await;
    for (i, (a, b)) in recorded.iter().zip(&replayed).enumerate() {
        assert_eq!(a, b, "step {i}");
    }
    replay.shutdown().await.unwrap();
    // Without the recording the same seed says something else: the replay came from it.
    let plain = MockServer::builder()
        .seed(99)
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    let generated = run(&plain.base_url(), &plain, &replaying[..2]).await;
    assert_ne!(generated[0].data, recorded[0].data);
    assert_ne!(generated[1].data, recorded[1].data);
    plain.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_bad_gateway_in_the_providers_envelope() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::with(MockServer::builder().config(Config {
        proxy_coze: Some(dead.clone()),
        proxy_icu: Some(dead),
        ..Config::default()
    }))
    .await;
    let answer = app.transcribe("a.wav", fixture("speech-cmn-16k.wav")).await;
    assert_eq!(answer.status, 502, "{:?}", answer.json);
    answer.assert_envelope();
    assert!(
        answer.msg().contains("cannot be reached"),
        "{}",
        answer.msg()
    );
    let res = app
        .http
        .get(app.url(&format!("{QUERY}?TaskId=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .starts_with("InternalError: proxy"),
        "{body}"
    );
    // A streaming handshake gets the same gateway answer instead of a 101.
    let url = app
        .url("/v1/audio/transcriptions")
        .replace("http://", "ws://");
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(answer)) => {
            assert_eq!(answer.status(), 502);
            let body: Value = serde_json::from_slice(answer.body().as_deref().unwrap()).unwrap();
            assert!(
                body["msg"].as_str().unwrap().contains("cannot be reached"),
                "{body}"
            );
            assert!(body["detail"]["logid"].as_str().is_some(), "{body}");
        }
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
    // The control API is still the simulator's own.
    assert!(app.control.health().await.is_ok());
}

#[tokio::test]
async fn proxy_settings_that_cannot_work_stop_start_up() {
    let err = MockServer::builder()
        .config(Config {
            record: Some("somewhere".into()),
            ..Config::default()
        })
        .start()
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(err.to_string().contains("--record needs"), "{err}");
    let err = MockServer::builder()
        .config(Config {
            proxy_icu: Some("ftp://example.com".into()),
            ..Config::default()
        })
        .start()
        .await
        .map(|_| ())
        .expect_err("refused");
    assert!(err.to_string().starts_with("--proxy-icu: "), "{err}");
}

#[tokio::test]
async fn a_callback_url_goes_upstream_as_given_and_the_upstream_calls_it() {
    let upstream = MockServer::builder()
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    let proxy = MockServer::builder()
        .config(Config {
            proxy_icu: Some(upstream.base_url()),
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    // The upstream's own receiver: only the upstream can reach it under this URL's path.
    let receiver = format!("{}/__admin/sink?from=proxy-test", upstream.base_url());
    let mut body = data_body("speech-cmn-16k.wav", "16k_zh", json!({}));
    body["CallbackUrl"] = json!(receiver);
    let (_, answer) = submit(&proxy.base_url(), &body, None).await;
    let task_id = answer["data"]["TaskId"].as_u64().unwrap();
    // The TaskId is the upstream's.
    assert!(upstream.control().task(task_id).await.is_ok());
    let (_, done) = finish(&proxy.base_url(), task_id, &upstream).await;
    assert_eq!(done["data"]["Status"], 2);
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = upstream
            .control()
            .callbacks(Default::default())
            .await
            .unwrap()
            .attempts;
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        delivered
            .iter()
            .any(|a| a.task_id == task_id && a.url == receiver),
        "{delivered:?}"
    );
    // The proxy itself called nobody back.
    let own = proxy.control().callbacks(Default::default()).await.unwrap();
    assert!(own.attempts.is_empty());
    proxy.shutdown().await.unwrap();
    upstream.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_credential_reaches_the_logs_even_at_trace_level() {
    use std::io::BufRead;
    let upstream = MockServer::builder()
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    let record = tempfile::tempdir().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["--port", "0", "--proxy-coze", &upstream.base_url()])
        .args(["--proxy-icu", &upstream.base_url(), "--record"])
        .arg(record.path())
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("asr-mock starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    // A success and an error of each provider, and a streaming session, all with the token.
    upload(&base, "speech-cmn-16k.wav", None).await;
    upload(&base, "speech-cmn-16k.wav", Some("coze-invalid-token")).await;
    stream(&base, "speech-cmn-16k.wav").await;
    let body = data_body("speech-en-16k.wav", "16k_en", json!({}));
    let (_, answer) = submit(&base, &body, None).await;
    let task_id = answer["data"]["TaskId"].as_u64().unwrap();
    finish(&base, task_id, &upstream).await;
    submit(
        &base,
        &data_body("speech-en-16k.wav", "16k_xx", json!({})),
        None,
    )
    .await;
    let _ = reqwest::Client::new()
        .get(format!(
            "{base}/v1/audio/transcriptions?authorization=Bearer%20{TOKEN}"
        ))
        .send()
        .await
        .unwrap();
    // SIGTERM, so the logs are complete.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    upstream.shutdown().await.unwrap();
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("recorded a fixture"), "{logged}");
    assert!(logged.lines().count() > 10, "trace logging was on");
    assert!(
        !logged.contains("0123456789"),
        "a credential in the logs:\n{logged}"
    );
    assert!(!all_text(record.path()).contains("0123456789"));
}

#[tokio::test]
async fn a_recording_proxy_asks_for_answers_it_can_read() {
    // An upstream that says which encoding it was asked for, in Coze's envelope.
    let app = axum::Router::new().route(
        "/v1/audio/transcriptions",
        axum::routing::post(|headers: axum::http::HeaderMap| async move {
            let asked = headers
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nothing")
                .to_owned();
            axum::Json(
                json!({"code": 0, "msg": "", "data": {"text": format!("asked for {asked}")},
                              "detail": {"logid": "20250101000000ABCDEF0123456789ABCDEF"}}),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let send = |base: String| async move {
        let form = Form::new().part("file", Part::bytes(b"RIFF....".to_vec()).file_name("a.wav"));
        let res = reqwest::Client::new()
            .post(format!("{base}/v1/audio/transcriptions"))
            .header("Accept-Encoding", "gzip, br")
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["data"]["text"].as_str().unwrap().to_owned()
    };
    // Passing through, the client's header goes on as it came.
    let plain = MockServer::builder()
        .config(Config {
            proxy_coze: Some(upstream.clone()),
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    assert_eq!(send(plain.base_url()).await, "asked for gzip, br");
    // Recording, the answer must be readable: no encoding is asked for, and it is recorded.
    let record = tempfile::tempdir().unwrap();
    let recording = MockServer::builder()
        .config(Config {
            proxy_coze: Some(upstream),
            record: Some(record.path().to_path_buf()),
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    assert_eq!(send(recording.base_url()).await, "asked for nothing");
    assert!(all_text(record.path()).contains("text = \"asked for nothing\""));
}
