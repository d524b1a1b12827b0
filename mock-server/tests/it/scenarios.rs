//! Every built-in scenario end to end, over real sockets, asserting what a client observes;
//! plus selection (header, activation, match), the journal, seeded repeatability, and the
//! `scenarios` command line.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};

use asr_mock::control::types::Status;
use asr_mock::control::types::{Activation, SettingsChange, Transition};
use asr_mock::testing::Library;
use asr_mock::testing::{ScriptOutcome, StepEnd, StepStatus};

use crate::support::{fixture, silent_wav, TestApp};

const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";
const TRANSCRIBE: &str = "/v1/audio/transcriptions";

/// Every built-in this file (or `ws.rs`, for `[stream]`) exercises; a built-in without a test
/// fails `all_built_ins_are_tested`.
const TESTED: &[&str] = &[
    "callback-duplicate",
    "callback-early",
    "callback-never",
    "callback-reorder",
    "callback-retry",
    "connection-reset-on-submit",
    "coze-file-too-large",
    "coze-invalid-token",
    "coze-legacy-no-speech",
    "coze-missing-permission",
    "coze-rpm-exceeded",
    "coze-slow-answer",
    "coze-stream-drop",
    "coze-stream-error",
    "coze-stream-slow-completed",
    "coze-stream-slow-updates",
    "empty-reply",
    "fail-10000",
    "fail-10001",
    "fail-10002",
    "fail-10003",
    "fail-10004",
    "fail-10005",
    "fail-10006",
    "fail-10007",
    "fail-then-recover",
    "flaky-gateway",
    "garbage-answer",
    "happy-path",
    "huge-task-ids",
    "match-url-download-failure",
    "poll-driven",
    "rate-limited-polling",
    "slow-drip",
    "slow-queue",
    "stuck-task",
    "succeed-then-fail",
    "truncated-json",
];

fn library() -> Library {
    Library::builtin().expect("the built-in library parses")
}

fn speech_body(extra: Value) -> Value {
    let mut body = json!({
        "EngineModelType": "16k_zh",
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(fixture("speech-cmn-16k.wav")),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Raw answer: status and bytes, or the transport error.
type Raw = Result<(u16, Vec<u8>), reqwest::Error>;

impl TestApp {
    async fn submit_as(&self, scenario: Option<&str>, body: &Value) -> Raw {
        let mut req = self.http.post(self.url(SUBMIT)).json(body);
        if let Some(s) = scenario {
            req = req.header("X-Mock-Scenario", s);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.bytes().await?.to_vec()))
    }

    async fn submit_id(&self, scenario: Option<&str>, body: &Value) -> u64 {
        let (status, raw) = self
            .submit_as(scenario, body)
            .await
            .expect("submit answered");
        let json: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!((status, &json["code"]), (200, &json!(0)), "{json}");
        json["data"]["TaskId"].as_u64().unwrap()
    }

    async fn query_as(&self, scenario: Option<&str>, id: u64) -> Raw {
        let mut req = self.http.get(self.url(&format!("{QUERY}?TaskId={id}")));
        if let Some(s) = scenario {
            req = req.header("X-Mock-Scenario", s);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.bytes().await?.to_vec()))
    }

    async fn query_json(&self, scenario: Option<&str>, id: u64) -> Value {
        let (_, raw) = self.query_as(scenario, id).await.expect("query answered");
        serde_json::from_slice(&raw)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&raw)))
    }

    async fn status_of(&self, id: u64) -> u64 {
        let answer = self.query_json(None, id).await;
        answer["data"]["Status"]
            .as_u64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    async fn transcribe_as(
        &self,
        scenario: Option<&str>,
        token: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Raw {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
        let mut req = self
            .http
            .post(self.url(TRANSCRIBE))
            .bearer_auth(token)
            .multipart(form);
        if let Some(s) = scenario {
            req = req.header("X-Mock-Scenario", s);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.bytes().await?.to_vec()))
    }

    fn advance_ms(&self, ms: u64) {
        self.server.clock().advance(Duration::from_millis(ms));
    }
}

fn json_of(raw: &Raw) -> Value {
    let (_, bytes) = raw.as_ref().expect("answered");
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// Walks a scripted task through its steps, checking each status at its edges, then its
/// outcome. Returns the TaskId.
async fn walk_task_path(app: &TestApp, name: &str, header: bool, body: Value) -> u64 {
    let scenario = library().get(name).unwrap();
    let script = scenario.task.clone().expect("a task path");
    let id = app.submit_id(header.then_some(name), &body).await;
    for step in &script.steps {
        let want = match step.status {
            StepStatus::Waiting => 0,
            StepStatus::Doing => 1,
        };
        match step.end {
            StepEnd::Ms(ms) => {
                assert_eq!(app.status_of(id).await, want, "{name}: step start");
                if ms > 1 {
                    app.advance_ms(ms - 1);
                    assert_eq!(
                        app.status_of(id).await,
                        want,
                        "{name}: 1 ms before the step ends"
                    );
                    app.advance_ms(1);
                } else {
                    app.advance_ms(ms);
                }
            }
            StepEnd::Polls(n) => {
                for i in 0..n {
                    assert_eq!(app.status_of(id).await, want, "{name}: poll {i} of {n}");
                }
            }
        }
    }
    let early = script.callback_early_ms;
    if early > 0 {
        assert_eq!(
            app.status_of(id).await,
            1,
            "{name}: the end is not shown yet"
        );
        app.advance_ms(early);
    }
    match &script.outcome {
        ScriptOutcome::Success => {
            // Without steps, the usual timing applies: let it run.
            if script.steps.is_empty() {
                app.advance_ms(60_000);
            }
            let done = app.query_json(None, id).await;
            assert_eq!(done["data"]["StatusStr"], "success", "{name}: {done}");
            assert!(!done["data"]["Result"].as_str().unwrap().is_empty());
        }
        // The failure code reaches the client through the callback; callers check it there.
        ScriptOutcome::Fail { message, .. } => {
            let done = app.query_json(None, id).await;
            assert_eq!(done["data"]["StatusStr"], "failed", "{name}: {done}");
            let shown = done["data"]["ErrorMsg"].as_str().unwrap();
            if let Some(message) = message {
                assert_eq!(shown, message);
            }
            assert!(!shown.is_empty());
        }
        ScriptOutcome::Stuck => {
            app.advance_ms(48 * 3600 * 1000);
            assert_eq!(app.status_of(id).await, 1, "{name}: stuck in doing");
            app.control
                .transition(id, Transition::to(Status::Success))
                .await
                .unwrap();
            assert_eq!(app.status_of(id).await, 2, "{name}: ends when told");
        }
    }
    id
}

/// A receiver recording callback bodies; acknowledges every one.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<String>>>,
}

async fn receive(State(r): State<Receiver>, body: String) -> &'static str {
    r.bodies.lock().push(body);
    r#"{"code":0,"message":"success"}"#
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = Router::new()
        .route("/cb", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), r)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn wait_bodies(r: &Receiver, n: usize) {
    for _ in 0..300 {
        if r.bodies.lock().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} callbacks, got {}", r.bodies.lock().len());
}

fn field(body: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn all_built_ins_are_tested() {
    let names: BTreeSet<String> = library().list().iter().map(|s| s.name.clone()).collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        names, tested,
        "every built-in scenario needs an end-to-end test here"
    );
}

#[tokio::test]
async fn scripted_task_paths_and_outcomes() {
    for name in [
        "happy-path",
        "slow-queue",
        "poll-driven",
        "stuck-task",
        "fail-10000",
        "fail-10001",
        "fail-10002",
        "fail-10003",
        "fail-10004",
        "fail-10005",
        "fail-10006",
        "fail-10007",
    ] {
        let app = TestApp::start().await;
        let (cb, r) = receiver().await;
        walk_task_path(&app, name, true, speech_body(json!({"CallbackUrl": cb}))).await;
        // The callback tells the client the same outcome, with the scripted code.
        wait_bodies(&r, 1).await;
        let body = r.bodies.lock()[0].clone();
        let want = match library().get(name).unwrap().task.as_ref().unwrap().outcome {
            ScriptOutcome::Fail { code, .. } => code.to_string(),
            _ => "0".to_owned(),
        };
        assert_eq!(
            field(&body, "code").as_deref(),
            Some(want.as_str()),
            "{name}: {body}"
        );
    }
}

#[tokio::test]
async fn a_match_rule_selects_without_a_header() {
    let app = TestApp::start().await;
    // The simulator hosts the audio; the Url carries the marker the built-in matches on.
    let name = "asr-mock-download-failure.wav";
    app.control
        .upload_audio(name, fixture("speech-cmn-16k.wav"))
        .await
        .unwrap();
    let url = app.control.audio_url(name);
    let body = json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0, "Url": url});
    let id = walk_task_path(&app, "match-url-download-failure", false, body).await;
    let done = app.query_json(None, id).await;
    assert_eq!(done["data"]["ErrorMsg"], "音频下载失败");
    let journal = app.journal().await;
    assert_eq!(journal[0].scenarios, ["match-url-download-failure"]);
    // An ordinary Url is untouched.
    let plain = app.submit_id(None, &speech_body(json!({}))).await;
    app.advance_ms(10_000);
    assert_eq!(app.status_of(plain).await, 2);
}

#[tokio::test]
async fn callback_early_arrives_before_the_poll_shows_the_end() {
    let app = TestApp::start().await;
    let (cb, r) = receiver().await;
    let id = app
        .submit_id(
            Some("callback-early"),
            &speech_body(json!({"CallbackUrl": cb})),
        )
        .await;
    app.advance_ms(10_000);
    wait_bodies(&r, 1).await;
    assert_eq!(app.status_of(id).await, 1, "still doing for the poll");
    app.advance_ms(3_000);
    assert_eq!(app.status_of(id).await, 2);
}

#[tokio::test]
async fn callback_retry_duplicate_and_never() {
    let app = TestApp::start().await;
    let (cb, r) = receiver().await;
    let body = speech_body(json!({"CallbackUrl": cb}));

    let retry = app.submit_id(Some("callback-retry"), &body).await;
    app.advance_ms(10_000);
    settle().await;
    assert!(
        r.bodies.lock().is_empty(),
        "the first attempt failed before reaching us"
    );
    app.advance_ms(5_000);
    wait_bodies(&r, 1).await;
    let attempts = app.callback_attempts(retry).await;
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0]
        .error
        .as_deref()
        .unwrap()
        .contains("simulated failure"));
    assert_eq!(attempts[0].scenario.as_deref(), Some("callback-retry"));
    assert!(attempts[1].acknowledged);

    r.bodies.lock().clear();
    let dup = app.submit_id(Some("callback-duplicate"), &body).await;
    app.advance_ms(10_000);
    wait_bodies(&r, 2).await;
    let bodies = r.bodies.lock().clone();
    assert_eq!(bodies[0], bodies[1], "the same callback twice");
    assert_eq!(field(&bodies[0], "requestId"), Some(dup.to_string()));

    r.bodies.lock().clear();
    let never = app.submit_id(Some("callback-never"), &body).await;
    app.advance_ms(60_000);
    settle().await;
    assert!(r.bodies.lock().is_empty());
    let attempts = app.callback_attempts(never).await;
    assert!(attempts[0].error.as_deref().unwrap().contains("dropped"));
    assert_eq!(app.status_of(never).await, 2, "polling still works");
}

#[tokio::test]
async fn callback_reorder_overtakes_in_a_seeded_order() {
    async fn arrival_order(seed: u64) -> (Vec<u64>, Vec<u64>) {
        let app = TestApp::seeded(seed).await;
        let (cb, r) = receiver().await;
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(
                app.submit_id(
                    Some("callback-reorder"),
                    &speech_body(json!({"CallbackUrl": cb})),
                )
                .await,
            );
        }
        // Every task ends within 10 s; then all jitters (≤ 10 s) pass in 1 s steps.
        app.advance_ms(10_000);
        for _ in 0..11 {
            app.advance_ms(1_000);
            settle().await;
        }
        wait_bodies(&r, 6).await;
        let arrived = r
            .bodies
            .lock()
            .iter()
            .map(|b| field(b, "requestId").unwrap().parse().unwrap())
            .collect();
        (ids, arrived)
    }
    let (ids, arrived) = arrival_order(1).await;
    let mut sorted = arrived.clone();
    sorted.sort_unstable();
    let mut all = ids.clone();
    all.sort_unstable();
    assert_eq!(sorted, all, "every callback arrives");
    assert_ne!(arrived, ids, "callbacks overtake each other");
    assert_eq!(
        arrival_order(1).await.1,
        arrived,
        "the same seed, the same order"
    );
}

#[tokio::test]
async fn rate_limited_polling() {
    let app = TestApp::start().await;
    let id = app.submit_id(None, &speech_body(json!({}))).await;
    let s = Some("rate-limited-polling");
    for _ in 0..2 {
        assert_eq!(json_of(&app.query_as(s, id).await)["code"], 0);
    }
    let limited = json_of(&app.query_as(s, id).await);
    assert!(
        limited["msg"]
            .as_str()
            .unwrap()
            .starts_with("RequestLimitExceeded: "),
        "{limited}"
    );
    app.advance_ms(1_000);
    assert_eq!(json_of(&app.query_as(s, id).await)["code"], 0);
}

/// Which of 40 queries failed with 502 under flaky-gateway.
async fn flaky_failures(seed: u64) -> Vec<usize> {
    let app = TestApp::seeded(seed).await;
    let unlimited = SettingsChange {
        query_rate: Some(0),
        ..SettingsChange::default()
    };
    app.control.set_icu_settings(unlimited).await.unwrap();
    let id = app.submit_id(None, &speech_body(json!({}))).await;
    let mut failed = Vec::new();
    for i in 0..40 {
        let raw = app.query_as(Some("flaky-gateway"), id).await.unwrap();
        if raw.0 == 502 {
            let json: Value = serde_json::from_slice(&raw.1).unwrap();
            assert!(
                json["msg"].as_str().unwrap().starts_with("InternalError: "),
                "{json}"
            );
            failed.push(i);
        } else {
            assert_eq!(raw.0, 200);
        }
    }
    failed
}

#[tokio::test]
async fn flaky_gateway_is_seeded() {
    let a = flaky_failures(1).await;
    assert!((1..=20).contains(&a.len()), "about one in five: {a:?}");
    assert_eq!(
        a,
        flaky_failures(1).await,
        "the same seed fails the same queries"
    );
    assert_ne!(a, flaky_failures(2).await, "another seed fails others");
}

#[tokio::test]
async fn connection_reset_on_the_first_submit_only() {
    let app = TestApp::start().await;
    let s = Some("connection-reset-on-submit");
    let first = app.submit_as(s, &speech_body(json!({}))).await;
    assert!(first.is_err(), "no answer: {first:?}");
    let second = app.submit_as(s, &speech_body(json!({}))).await;
    assert_eq!(json_of(&second)["code"], 0);
    let journal = app.journal().await;
    let entry = &journal[0];
    assert_eq!(entry.status, 0);
    assert_eq!(entry.scenarios, ["connection-reset-on-submit"]);
    assert!(
        entry.fault.as_deref().unwrap().contains("reset"),
        "{entry:?}"
    );
}

#[tokio::test]
async fn empty_reply_on_the_second_query() {
    let app = TestApp::start().await;
    let id = app.submit_id(None, &speech_body(json!({}))).await;
    let s = Some("empty-reply");
    assert!(app.query_as(s, id).await.is_ok());
    assert!(app.query_as(s, id).await.is_err(), "closed with no answer");
    assert!(app.query_as(s, id).await.is_ok());
}

#[tokio::test]
async fn truncated_garbage_and_succeed_then_fail_answers() {
    let app = TestApp::start().await;
    let id = app.submit_id(None, &speech_body(json!({}))).await;

    let s = Some("truncated-json");
    for i in 1..=6 {
        let (status, bytes) = app.query_as(s, id).await.unwrap();
        assert_eq!(status, 200);
        let parsed = serde_json::from_slice::<Value>(&bytes);
        assert_eq!(
            parsed.is_err(),
            i % 3 == 0,
            "query {i}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }

    let s = Some("garbage-answer");
    for i in 1..=4 {
        let (status, bytes) = app.query_as(s, id).await.unwrap();
        assert_eq!(status, 200);
        if i == 4 {
            assert_eq!(bytes.len(), 64);
            assert!(serde_json::from_slice::<Value>(&bytes).is_err());
        } else {
            assert!(serde_json::from_slice::<Value>(&bytes).is_ok());
        }
    }

    let s = Some("succeed-then-fail");
    app.advance_ms(1_000);
    for i in 1..=4 {
        let (status, bytes) = app.query_as(s, id).await.unwrap();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        if i <= 2 {
            assert_eq!((status, &json["code"]), (200, &json!(0)));
        } else {
            assert_eq!(status, 500);
            assert!(
                json["msg"].as_str().unwrap().starts_with("InternalError"),
                "{json}"
            );
        }
    }
}

#[tokio::test]
async fn fail_then_recover_on_both_providers() {
    let app = TestApp::start().await;
    let s = Some("fail-then-recover");
    let coze = app
        .transcribe_as(s, "pat_t", "a.wav", fixture("speech-cmn-16k.wav"))
        .await;
    assert_eq!(coze.as_ref().unwrap().0, 503);
    assert_eq!(json_of(&coze)["code"], 5000);
    let icu = app.submit_as(s, &speech_body(json!({}))).await;
    assert_eq!(icu.as_ref().unwrap().0, 503);
    assert_eq!(json_of(&icu)["success"], false);
    let coze = app
        .transcribe_as(s, "pat_t", "a.wav", fixture("speech-cmn-16k.wav"))
        .await;
    assert_eq!(json_of(&coze)["code"], 0, "recovered");
}

#[tokio::test]
async fn slow_drip_answers_on_the_clock() {
    let app = TestApp::start().await;
    let id = app.submit_id(None, &speech_body(json!({}))).await;
    let url = app.url(&format!("{QUERY}?TaskId={id}"));
    let http = app.http.clone();
    let pending = tokio::spawn(async move {
        let res = http
            .get(url)
            .header("X-Mock-Scenario", "slow-drip")
            .send()
            .await
            .unwrap();
        res.bytes().await.unwrap()
    });
    settle().await;
    assert!(!pending.is_finished(), "the answer drips on the clock");
    for _ in 0..20 {
        app.advance_ms(1_000);
        settle().await;
        if pending.is_finished() {
            break;
        }
    }
    let bytes = pending.await.unwrap();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["code"], 0, "a whole answer in the end");
}

#[tokio::test]
async fn huge_task_ids_survive_exactly() {
    let app = TestApp::start().await;
    let (_, raw) = app
        .submit_as(Some("huge-task-ids"), &speech_body(json!({})))
        .await
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let digits: String = text
        .split("\"TaskId\":")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let id: u64 = digits.parse().unwrap();
    assert!(id > 1 << 53, "{id}");
    assert_ne!(id as f64 as u64, id, "a double cannot hold it: {id}");
    app.advance_ms(10_000);
    let done = app.query_as(None, id).await.unwrap();
    let text = String::from_utf8(done.1).unwrap();
    assert!(text.contains(&format!("\"TaskId\":{id},")), "{text}");
}

#[tokio::test]
async fn coze_error_scenarios_answer_in_coze_form() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    for (name, status, code) in [
        ("coze-invalid-token", 401, 4100),
        ("coze-missing-permission", 403, 4101),
        ("coze-file-too-large", 400, 4302),
    ] {
        let raw = app
            .transcribe_as(Some(name), "pat_fine", "a.wav", wav.clone())
            .await;
        assert_eq!(raw.as_ref().unwrap().0, status, "{name}");
        let json = json_of(&raw);
        assert_eq!(json["code"], code, "{name}: {json}");
        assert_eq!(json["detail"]["logid"].as_str().unwrap().len(), 34);
    }
    let raw = app
        .transcribe_as(Some("coze-invalid-token"), "pat_fine", "a.wav", wav.clone())
        .await;
    assert_eq!(json_of(&raw)["msg"], "authentication is invalid");
}

#[tokio::test]
async fn coze_legacy_no_speech_and_rpm() {
    let app = TestApp::start().await;
    let s = Some("coze-legacy-no-speech");
    let silent = app
        .transcribe_as(s, "pat_t", "s.wav", fixture("silence-2s-16k.wav"))
        .await;
    assert_eq!(silent.as_ref().unwrap().0, 500);
    assert_eq!(json_of(&silent)["code"], 5000);
    assert_eq!(
        json_of(&silent)["msg"],
        "service internal error, please retry after"
    );
    let speech = app
        .transcribe_as(s, "pat_t", "a.wav", fixture("speech-cmn-16k.wav"))
        .await;
    assert_eq!(json_of(&speech)["code"], 0);

    let s = Some("coze-rpm-exceeded");
    for _ in 0..2 {
        let ok = app
            .transcribe_as(s, "pat_t", "s.wav", silent_wav(1000, 2))
            .await;
        assert_eq!(json_of(&ok)["code"], 0);
    }
    let limited = app
        .transcribe_as(s, "pat_t", "s.wav", silent_wav(1000, 2))
        .await;
    assert_eq!(limited.as_ref().unwrap().0, 429);
    assert_eq!(json_of(&limited)["code"], 4020);
    app.advance_ms(60_000);
    let ok = app
        .transcribe_as(s, "pat_t", "s.wav", silent_wav(1000, 2))
        .await;
    assert_eq!(json_of(&ok)["code"], 0, "the minute is over");
}

#[tokio::test]
async fn coze_slow_answer_waits_on_the_clock() {
    let app = TestApp::start().await;
    let http = app.http.clone();
    let url = app.url(TRANSCRIBE);
    let pending = tokio::spawn(async move {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav"),
        );
        let res = http
            .post(url)
            .bearer_auth("pat_t")
            .header("X-Mock-Scenario", "coze-slow-answer")
            .multipart(form)
            .send()
            .await
            .unwrap();
        res.json::<Value>().await.unwrap()
    });
    settle().await;
    assert!(!pending.is_finished(), "waits for the simulated latency");
    for _ in 0..600 {
        app.advance_ms(1_000);
        tokio::time::sleep(Duration::from_millis(5)).await;
        if pending.is_finished() {
            break;
        }
    }
    assert_eq!(pending.await.unwrap()["code"], 0);
    let journal = app.journal().await;
    assert!(journal[0].fault.as_deref().unwrap().contains("latency"));
}

#[tokio::test]
async fn activation_globally_and_per_token() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    app.control
        .activate(&Activation::for_token("coze-invalid-token", "pat_ci"))
        .await
        .unwrap();
    assert_eq!(
        json_of(
            &app.transcribe_as(None, "pat_ci", "a.wav", wav.clone())
                .await
        )["code"],
        4100
    );
    assert_eq!(
        json_of(
            &app.transcribe_as(None, "pat_dev", "a.wav", wav.clone())
                .await
        )["code"],
        0
    );

    let missing_permission = Activation::global("coze-missing-permission");
    app.control.activate(&missing_permission).await.unwrap();
    assert_eq!(
        json_of(
            &app.transcribe_as(None, "pat_dev", "a.wav", wav.clone())
                .await
        )["code"],
        4101
    );
    let listed = app.control.scenarios().await.unwrap();
    assert_eq!(listed.active.global, ["coze-missing-permission"]);
    assert_eq!(listed.active.by_token["pat_ci"], ["coze-invalid-token"]);
    assert_eq!(listed.scenarios.len(), TESTED.len());

    app.control.deactivate(&missing_permission).await.unwrap();
    assert_eq!(
        json_of(
            &app.transcribe_as(None, "pat_dev", "a.wav", wav.clone())
                .await
        )["code"],
        0
    );
    let err = app
        .control
        .activate(&Activation::global("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    // A reset forgets activations.
    app.control.reset().await.unwrap();
    assert_eq!(
        json_of(&app.transcribe_as(None, "pat_ci", "a.wav", wav).await)["code"],
        0
    );
}

#[tokio::test]
async fn an_unknown_scenario_header_is_a_provider_error() {
    let app = TestApp::start().await;
    let coze = app
        .transcribe_as(
            Some("no-such-thing"),
            "pat_t",
            "a.wav",
            fixture("speech-cmn-16k.wav"),
        )
        .await;
    assert_eq!(coze.as_ref().unwrap().0, 400);
    assert!(json_of(&coze)["msg"]
        .as_str()
        .unwrap()
        .contains("no-such-thing"));
    let icu = app
        .submit_as(Some("no-such-thing"), &speech_body(json!({})))
        .await;
    let json = json_of(&icu);
    assert!(
        json["msg"]
            .as_str()
            .unwrap()
            .starts_with("InvalidParameter: unknown scenario"),
        "{json}"
    );
}

#[tokio::test]
async fn user_folders_add_scenarios_and_broken_files_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("teapot.toml"),
        "name = \"teapot\"\ndescription = \"418 on every query\"\n\n[[fault]]\nendpoint = \"query\"\naction = \"status\"\nstatus = 418\n",
    )
    .unwrap();
    let config = asr_mock::Config {
        scenarios: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let app = TestApp::with(
        asr_mock::MockServer::builder()
            .config(config)
            .manual_clock(None),
    )
    .await;
    let raw = app.query_as(Some("teapot"), 1).await.unwrap();
    assert_eq!(raw.0, 418);

    std::fs::write(
        dir.path().join("broken.toml"),
        "name = \"broken\"\ndescription = \"x\"\n[[fault]]\non = { nth = 0 }\naction = \"empty\"\n",
    )
    .unwrap();
    let config = asr_mock::Config {
        scenarios: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let err = asr_mock::MockServer::builder()
        .config(config)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.toml:4"), "{err}");

    let bin = env!("CARGO_BIN_EXE_asr-mock");
    let out = std::process::Command::new(bin)
        .args(["scenarios", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("broken.toml:4") && stdout.contains("ok  teapot"),
        "{stdout}"
    );
    let out = std::process::Command::new(bin)
        .args(["scenarios", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("flaky-gateway"));
}
