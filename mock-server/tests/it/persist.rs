//! `--state-file`: tasks, journals and the clock survive a restart, including a SIGKILL of
//! the real binary mid-task.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::watch;

use asr_mock::control::types::RequestEntry;
use asr_mock::control::types::{Advance, RequestsQuery};
use asr_mock::control::Control;

use crate::support::{fixture, post_json, START_MS};

const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";

/// The binary, killed when the test ends however it ends.
struct Proc {
    child: Child,
    base: String,
    http: reqwest::Client,
    control: Control,
}

impl Proc {
    /// Starts `asr-mock` on a free port with a manual clock and `extra` arguments, and reads
    /// its address from the first line it prints.
    fn start(extra: &[&str], dir: &Path) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_asr-mock"))
            .args(["--port", "0", "--clock", "manual"])
            .args(extra)
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the binary prints its address");
        let base = line
            .trim()
            .strip_prefix("asr-mock listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Proc {
            child,
            control: Control::new(&base),
            base,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn submit(&self, body: Value) -> u64 {
        let (_, answer) = self.post(SUBMIT, body).await;
        assert_eq!(answer["code"], 0, "{answer}");
        answer["data"]["TaskId"].as_u64().unwrap()
    }

    async fn poll(&self, id: u64) -> Value {
        self.get(&format!("{QUERY}?TaskId={id}")).await["data"].clone()
    }

    async fn advance_ms(&self, ms: u64) {
        self.control.advance_clock(Advance::ms(ms)).await.unwrap();
    }

    async fn now_ms(&self) -> i64 {
        self.control.clock().await.unwrap().now_ms
    }

    async fn journal(&self) -> Vec<RequestEntry> {
        let all = RequestsQuery::default();
        self.control.requests(all).await.unwrap().requests
    }

    /// SIGKILL: no shutdown, no final save.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A callback receiver that acknowledges and keeps every body.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = Arc::clone(&got);
    let app = Router::new().route(
        "/cb",
        post(move |body: String| {
            let keep = Arc::clone(&keep);
            async move {
                keep.lock().push(body);
                r#"{"code":0,"message":"success"}"#
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), got)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_killed_server_restarts_with_its_tasks_journal_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let file_arg = file.to_str().unwrap();
    let (callback_url, received) = receiver().await;

    let first = Proc::start(&["--state-file", file_arg], dir.path());
    let id = first
        .submit(json!({
            "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
            "SourceType": 1, "Data": b64(&fixture("speech-cmn-16k.wav")),
            "CallbackUrl": callback_url,
        }))
        .await;
    assert_eq!(first.poll(id).await["StatusStr"], "waiting");
    first.advance_ms(123).await;
    let clock_before = first.now_ms().await;
    assert_eq!(clock_before, START_MS + 123);
    let saved = first.control.save_state().await.unwrap();
    assert_eq!(saved.report.tasks, 1);
    first.kill();

    let second = Proc::start(&["--state-file", file_arg], dir.path());
    assert_eq!(
        second.now_ms().await,
        clock_before,
        "the clock is where it was"
    );
    let journal = second.journal().await;
    let paths: Vec<&str> = journal.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [SUBMIT, QUERY],
        "the journal kept the earlier requests"
    );
    let after = second.poll(id).await;
    assert_eq!(after["TaskId"], id);
    assert_eq!(after["StatusStr"], "waiting");
    assert_eq!(second.journal().await[2].seq, 3, "numbering continues");

    second.advance_ms(60_000).await;
    assert_eq!(second.poll(id).await["StatusStr"], "success");
    for _ in 0..200 {
        if !received.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bodies = received.lock().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].starts_with(&format!("code=0&requestId={id}&")));

    // A new task gets a new id: the TaskId ordinal was restored too.
    let next = second
        .submit(json!({
            "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
            "SourceType": 1, "Data": b64(&fixture("speech-cmn-16k.wav")),
        }))
        .await;
    assert_ne!(next, id);
}

#[tokio::test]
async fn a_download_cut_short_by_a_crash_is_restarted() {
    // Serves the audio only once released: the first process dies mid-download.
    let (release, released) = watch::channel(false);
    let hits = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&hits);
    let audio = fixture("speech-cmn-16k.wav");
    let app = Router::new().route(
        "/a.wav",
        get(move || {
            let mut released = released.clone();
            let counter = Arc::clone(&counter);
            let audio = audio.clone();
            async move {
                *counter.lock() += 1;
                let _ = released.wait_for(|r| *r).await;
                audio
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let file_arg = file.to_str().unwrap();
    let first = Proc::start(&["--state-file", file_arg], dir.path());
    let id = first
        .submit(json!({
            "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 2,
            "SourceType": 0, "Url": format!("http://{addr}/a.wav"),
        }))
        .await;
    for _ in 0..200 {
        if *hits.lock() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*hits.lock(), 1, "the download started");
    first.control.save_state().await.unwrap();
    first.kill();
    let _ = release.send(true);

    let second = Proc::start(&["--state-file", file_arg], dir.path());
    let mut last = Value::Null;
    for _ in 0..100 {
        second.advance_ms(2_000).await;
        last = second.poll(id).await;
        if last["Status"].as_u64() >= Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *hits.lock(),
        2,
        "the restarted server fetched the audio again"
    );
    assert_eq!(last["StatusStr"], "success", "{last}");
    assert!(
        !last["ResultDetail"].as_array().unwrap().is_empty(),
        "{last}"
    );
}

#[tokio::test]
async fn a_broken_state_file_stops_start_up_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content, says) in [
        (
            "broken.json",
            "{\"version\": 1, \"tasks\": [",
            "not a readable state file",
        ),
        ("future.json", "{\"version\": 99}", "version 99"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, content).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_asr-mock"))
            .args(["--port", "0", "--state-file", file.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing was served");
        assert!(stderr.contains(file.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            content,
            "left as it was"
        );
    }
}

#[tokio::test]
async fn without_a_state_file_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = Proc::start(&[], dir.path());
    server
        .submit(json!({
            "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
            "SourceType": 1, "Data": b64(&fixture("speech-cmn-16k.wav")),
        }))
        .await;
    let err = server.control.save_state().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    assert!(err.message().unwrap().contains("--state-file"), "{err}");
    // Longer than the saver's interval.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    server.kill();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_graceful_shutdown_saves_the_last_clock_and_the_builder_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let config = asr_mock::Config {
        state_file: Some(file.clone()),
        ..Default::default()
    };
    let server = asr_mock::MockServer::builder()
        .config(config.clone())
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let answer: Value = post_json(
        &http,
        format!("{}{SUBMIT}", server.base_url()),
        &data_body(),
    )
    .await;
    let id = answer["data"]["TaskId"].as_u64().unwrap();
    server.clock().advance(Duration::from_secs(7));
    server.shutdown().await.unwrap();

    // The shutdown closed the file: the library's builder opens it again at once.
    let again = asr_mock::MockServer::builder()
        .config(config)
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    assert_eq!(
        again.clock().now_ms(),
        START_MS + 7_000,
        "the shutdown save has the last clock"
    );
    assert_eq!(again.control().health().await.unwrap().icu_tasks, 1);
    let poll: Value = http
        .get(format!("{}{QUERY}?TaskId={id}", again.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(poll["data"]["TaskId"], id, "{poll}");
}

fn data_body() -> Value {
    json!({
        "EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0,
        "SourceType": 1, "Data": b64(&fixture("speech-cmn-16k.wav")),
    })
}

/// Submits `count` tasks from `clients` concurrent clients as fast as they go; returns the
/// TaskIds answered.
async fn submit_many(server: &Proc, count: usize, clients: usize) -> Vec<u64> {
    let body = Arc::new(data_body());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url) = (server.http.clone(), server.url(SUBMIT));
            let (body, next) = (Arc::clone(&body), Arc::clone(&next));
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                    let answer: Value = post_json(&http, &url, &*body).await;
                    assert_eq!(answer["code"], 0, "{answer}");
                    ids.push(answer["data"]["TaskId"].as_u64().unwrap());
                }
                ids
            })
        })
        .collect();
    let mut ids = Vec::new();
    for worker in workers {
        ids.extend(worker.await.unwrap());
    }
    ids
}

#[tokio::test]
async fn tasks_accepted_right_before_a_kill_9_survive_it_and_their_ids_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let args = [
        "--state-file",
        file.to_str().unwrap(),
        "--icu-submit-rate",
        "0",
        "--icu-query-rate",
        "0",
    ];
    let first = Proc::start(&args, dir.path());
    let accepted = submit_many(&first, 160, 16).await;
    // Right after the last answer: far inside the saver's one-second period.
    first.kill();
    let unique: HashSet<u64> = accepted.iter().copied().collect();
    assert_eq!(unique.len(), 160, "every submit got its own TaskId");

    let second = Proc::start(&args, dir.path());
    for id in &accepted {
        let answer = second.get(&format!("{QUERY}?TaskId={id}")).await;
        assert_eq!(answer["code"], 0, "task {id} was lost: {answer}");
        assert_eq!(answer["data"]["TaskId"], *id);
    }
    let fresh = submit_many(&second, 40, 8).await;
    for id in &fresh {
        assert!(!unique.contains(id), "TaskId {id} was handed out twice");
    }
    assert_eq!(fresh.iter().collect::<HashSet<_>>().len(), 40);
}

#[tokio::test]
async fn the_saver_keeps_what_changed_without_a_submit_across_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let args = ["--state-file", file.to_str().unwrap()];
    let first = Proc::start(&args, dir.path());
    first.advance_ms(90_000).await;
    // The saver wakes every second of real time; three leave room on a busy machine.
    tokio::time::sleep(Duration::from_secs(3)).await;
    first.kill();
    let second = Proc::start(&args, dir.path());
    assert_eq!(second.now_ms().await, START_MS + 90_000);
}

/// Runs the binary with `--state-file path`, expecting it to refuse to start; returns stderr.
fn refused_start(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_asr-mock"))
        .args(["--port", "0", "--state-file", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was served");
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    stderr
}

#[tokio::test]
async fn a_state_file_naming_a_time_past_9999_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let config = asr_mock::Config {
        state_file: Some(file.clone()),
        ..Default::default()
    };
    let server = asr_mock::MockServer::builder()
        .config(config.clone())
        .manual_clock(Some(START_MS))
        .start()
        .await
        .unwrap();
    server.shutdown().await.unwrap();
    asr_mock::testing::edit_snapshot(&file, |state| state["now_ms"] = json!(i64::MAX)).unwrap();

    let err = asr_mock::MockServer::builder()
        .config(config)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, asr_mock::StartError::State(_)), "{err:?}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "it keeps its source"
    );
    let message = err.to_string();
    assert!(message.contains("now_ms"), "{message}");
    assert!(message.contains("outside the years 1970–9999"), "{message}");

    let stderr = refused_start(&file);
    assert!(stderr.contains("outside the years 1970–9999"), "{stderr}");
}

#[tokio::test]
async fn a_state_file_that_cannot_be_written_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("plain-file");
    std::fs::write(&not_a_folder, "x").unwrap();
    // Refused even for root: a path under a plain file, and a folder.
    for path in [not_a_folder.join("state.db"), dir.path().to_owned()] {
        let stderr = refused_start(&path);
        assert!(stderr.contains("state file: cannot open"), "{stderr}");

        let config = asr_mock::Config {
            state_file: Some(path.clone()),
            ..Default::default()
        };
        let err = asr_mock::MockServer::builder()
            .config(config)
            .start()
            .await
            .unwrap_err();
        let source = std::error::Error::source(&err).expect("a source");
        let io = source
            .source()
            .and_then(|e| e.downcast_ref::<std::io::Error>());
        assert!(io.is_some(), "the OS error is kept: {err:?}");
    }
}
