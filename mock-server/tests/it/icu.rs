//! Provider B over real sockets: submit (JSON and form), poll (GET and POST), the life cycle
//! on a manual clock and by poll count, every failure code from real audio or a real failing
//! download, callbacks with retries, rate limits, filters, speakers, and long recordings.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::{json, Value};

use asr_mock::control::types::{OutcomeRecord, PlanRecord, Progress, Status};
use asr_mock::control::types::{SettingsChange, TasksQuery, Transition};
use asr_mock::testing::wav_8bit;

use crate::support::{fixture, post_json, silent_wav, TestApp};

const SUBMIT: &str = "/openapi/asr/voiceToText";
const QUERY: &str = "/openapi/asr/searchResult";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A submit body for inline audio with the given engine and extra fields.
fn data_body(bytes: &[u8], engine: &str, extra: Value) -> Value {
    let mut body = json!({
        "EngineModelType": engine,
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": b64(bytes),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A submit body for a 16k_zh task whose audio is at `url`.
fn url_body(url: &str) -> Value {
    json!({"EngineModelType": "16k_zh", "ChannelNum": 1, "ResTextFormat": 0, "SourceType": 0, "Url": url})
}

impl TestApp {
    async fn status(&self, task_id: u64) -> u64 {
        let answer = self.poll(task_id).await;
        answer["data"]["Status"]
            .as_u64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    fn advance(&self, seconds: u64) {
        self.server.clock().advance(Duration::from_secs(seconds));
    }

    /// Polls until the task ends (moving the clock an hour at a time); returns the answer.
    async fn finish(&self, task_id: u64) -> Value {
        // Url tasks download and are examined in the background in real time: allow for
        // a slow debug build on a busy machine.
        for _ in 0..1200 {
            let answer = self.poll(task_id).await;
            if answer["data"]["Status"].as_u64() >= Some(2) {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            // While the audio is still downloading (no plan yet), moving the clock would
            // only run the download's own timeout out.
            let detail = self.control.task(task_id).await.expect("the task");
            if detail.task.plan.is_some() {
                self.advance(3600);
            }
        }
        panic!("task {task_id} never ended");
    }
}

/// The failure code a task's plan ends with, if it fails.
fn failure_code(plan: &Option<PlanRecord>) -> Option<i64> {
    match plan.as_ref().map(|p| &p.outcome) {
        Some(OutcomeRecord::Failed { code, .. }) => Some(i64::from(*code)),
        _ => None,
    }
}

#[track_caller]
fn assert_icu_error(answer: &Value, name: &str) {
    assert_eq!(answer["success"], false, "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
    assert!(answer["code"].as_i64().unwrap() != 0, "{answer}");
    let msg = answer["msg"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!("{name}: ")),
        "expected {name}: {msg}"
    );
}

#[tokio::test]
async fn a_data_task_waits_does_and_succeeds_on_the_clock() {
    let app = TestApp::start().await;
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({}),
        ))
        .await;
    assert!(
        (1_000_000_000..20_000_000_000).contains(&id),
        "realistic TaskId: {id}"
    );
    let waiting = app.poll(id).await;
    assert_eq!(waiting["code"], 0);
    assert_eq!(waiting["success"], true);
    assert_eq!(waiting["data"]["Status"], 0);
    assert_eq!(waiting["data"]["StatusStr"], "waiting");
    assert_eq!(waiting["data"]["Result"], "");
    assert_eq!(waiting["data"]["ErrorMsg"], "");
    assert_eq!(waiting["data"]["ResultDetail"], json!([]));
    assert_eq!(waiting["data"]["TaskId"].as_u64(), Some(id));

    app.advance(3); // past the longest queue delay (3 s)
    assert_eq!(app.poll(id).await["data"]["StatusStr"], "doing");
    app.advance(2); // 2.9 s of audio at 30× takes about 0.1 s, at least 0.5 s
    let done = app.poll(id).await;
    assert_eq!(done["data"]["Status"], 2, "{done}");
    assert_eq!(done["data"]["StatusStr"], "success");
    assert_eq!(done["data"]["ErrorMsg"], "");
    let result = done["data"]["Result"].as_str().unwrap();
    assert!(!result.is_empty());
    for line in result.lines() {
        let (stamp, text) = line.split_once("]  ").expect("two spaces after the stamp");
        let stamp = stamp.strip_prefix('[').unwrap();
        let (start, end) = stamp.split_once(',').unwrap();
        for t in [start, end] {
            let (m, s) = t.split_once(':').unwrap();
            let (sec, ms) = s.split_once('.').unwrap();
            assert!(
                m.parse::<u32>().is_ok() && sec.parse::<u32>().is_ok(),
                "{line}"
            );
            assert_eq!(ms.len(), 3, "milliseconds have 3 digits: {line}");
            assert!(
                sec.len() == 1 || !sec.starts_with('0'),
                "seconds not padded: {line}"
            );
        }
        assert!(!text.is_empty());
    }
    assert!(
        result.ends_with('\n'),
        "the last line ends with a newline too"
    );
    assert_eq!(
        done["data"]["ResultDetail"],
        json!([]),
        "format 0 has no detail"
    );
}

#[tokio::test]
async fn numeric_strings_and_form_bodies_are_accepted() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    // The public client sends every value as a JSON string.
    let strings = json!({
        "EngineModelType": "16k_zh", "ChannelNum": "1", "ResTextFormat": "2",
        "SourceType": "1", "Data": b64(&wav), "FilterPunc": "0",
    });
    let a = app.submit_ok(&strings).await;
    let form = [
        ("EngineModelType", "16k_zh".to_owned()),
        ("ChannelNum", "1".into()),
        ("ResTextFormat", "2".into()),
        ("SourceType", "1".into()),
        ("Data", b64(&wav)),
    ];
    let res = app
        .http
        .post(app.url(SUBMIT))
        .form(&form)
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    let b = answer["data"]["TaskId"]
        .as_u64()
        .expect("form submit works");
    assert_ne!(a, b);
    app.advance(5);
    let (ra, rb) = (app.poll(a).await, app.poll(b).await);
    assert_eq!(
        ra["data"]["Result"], rb["data"]["Result"],
        "same audio, same result"
    );
    let detail = ra["data"]["ResultDetail"].as_array().unwrap();
    assert!(!detail.is_empty(), "format 2 has detail");
    for s in detail {
        for key in [
            "FinalSentence",
            "SliceSentence",
            "StartMs",
            "EndMs",
            "WordsNum",
            "Words",
            "SpeechSpeed",
        ] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
        assert!(
            s.get("SpeakerId").is_none(),
            "no speaker without diarization"
        );
        let words = s["Words"].as_array().unwrap();
        assert_eq!(s["WordsNum"].as_u64(), Some(words.len() as u64));
        let span = s["EndMs"].as_u64().unwrap() - s["StartMs"].as_u64().unwrap();
        for w in words {
            assert!(
                w["OffsetEndMs"].as_u64().unwrap() <= span,
                "offsets are within the sentence"
            );
        }
    }
}

#[tokio::test]
async fn validation_errors_name_the_field_in_the_icu_envelope() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let cases = [
        (
            json!({"ChannelNum": 1, "ResTextFormat": 0, "SourceType": 1, "Data": "AA=="}),
            "MissingParameter",
            "EngineModelType",
        ),
        (
            data_body(&wav, "16k_xx", json!({})),
            "InvalidParameterValue",
            "EngineModelType",
        ),
        (
            data_body(&wav, "16k_zh", json!({"ChannelNum": 2})),
            "InvalidParameterValue",
            "ChannelNum",
        ),
        (
            data_body(&wav, "16k_zh", json!({"ChannelNum": "one"})),
            "InvalidParameterValue",
            "ChannelNum",
        ),
        (
            data_body(&wav, "16k_zh", json!({"ResTextFormat": 3})),
            "InvalidParameterValue",
            "ResTextFormat",
        ),
        (
            data_body(&wav, "16k_en", json!({"SpeakerDiarization": 1})),
            "InvalidParameterValue",
            "SpeakerDiarization",
        ),
        (
            data_body(&wav, "16k_zh", json!({"SpeakerNumber": 11})),
            "InvalidParameterValue",
            "SpeakerNumber",
        ),
        (
            data_body(&wav, "16k_zh", json!({"ConvertNumMode": 2})),
            "InvalidParameterValue",
            "ConvertNumMode",
        ),
        (
            data_body(&wav, "16k_zh", json!({"CallbackUrl": "ftp://x/y"})),
            "InvalidParameterValue",
            "CallbackUrl",
        ),
        (
            data_body(&wav, "16k_zh", json!({"SourceType": 0})),
            "MissingParameter",
            "Url",
        ),
        (
            data_body(&wav, "16k_zh", json!({"SourceType": 0, "Url": "not a url"})),
            "InvalidParameterValue.ErrorInvalidUrl",
            "Url",
        ),
        (
            data_body(&wav, "16k_zh", json!({"Data": "AAAA\r\nAAAA"})),
            "InvalidParameterValue.ErrorInvalidVoicedata",
            "line",
        ),
    ];
    for (body, name, needle) in cases {
        let answer = app.submit(&body).await;
        assert_icu_error(&answer, name);
        assert!(
            answer["msg"].as_str().unwrap().contains(needle),
            "{needle}: {answer}"
        );
    }
    let res = app
        .http
        .post(app.url(SUBMIT))
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_icu_error(&res.json().await.unwrap(), "InvalidParameter");
    // Data that decodes to 5 MB or more.
    let big = vec![0u8; 5 * 1024 * 1024];
    assert_icu_error(
        &app.submit(&data_body(&big, "16k_zh", json!({}))).await,
        "InvalidParameterValue.ErrorVoicedataTooLong",
    );
    // Nothing was created by any of these.
    assert!(app
        .control
        .tasks(TasksQuery::default())
        .await
        .unwrap()
        .tasks
        .is_empty());
}

#[tokio::test]
async fn queries_by_get_post_json_and_post_form_agree() {
    let app = TestApp::start().await;
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({}),
        ))
        .await;
    app.advance(10);
    let by_get = app.poll(id).await;
    let by_json: Value = post_json(
        &app.http,
        app.url(QUERY),
        &json!({"TaskId": id.to_string()}),
    )
    .await;
    let by_form: Value = app
        .http
        .post(app.url(QUERY))
        .form(&[("TaskId", id.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_get, by_json);
    assert_eq!(by_get, by_form);
    assert_eq!(by_get["data"]["Status"], 2);
}

#[tokio::test]
async fn unknown_and_expired_tasks_are_no_such_task() {
    let app = TestApp::start().await;
    let answer = app.poll(123).await;
    assert_icu_error(&answer, "FailedOperation.NoSuchTask");
    let answer: Value = app
        .http
        .get(app.url(QUERY))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_icu_error(&answer, "MissingParameter");
    let answer: Value = app
        .http
        .get(app.url(&format!("{QUERY}?TaskId=abc")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_icu_error(&answer, "InvalidParameterValue");

    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({}),
        ))
        .await;
    app.advance(10);
    assert_eq!(app.status(id).await, 2);
    app.advance(23 * 3600);
    assert_eq!(app.status(id).await, 2, "kept for 24 h");
    app.advance(3600);
    // The scheduler forgets it at its due time; give it a moment to run.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_icu_error(&app.poll(id).await, "FailedOperation.NoSuchTask");
}

#[tokio::test]
async fn poll_count_progress_ignores_the_clock() {
    let app = TestApp::start().await;
    let polls = SettingsChange {
        progress: Some(Progress::Polls { per_status: 2 }),
        ..SettingsChange::default()
    };
    app.control.set_icu_settings(polls).await.unwrap();
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({}),
        ))
        .await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(app.status(id).await);
    }
    assert_eq!(seen, [0, 0, 1, 1, 2, 2]);
}

#[tokio::test]
async fn failures_come_from_real_audio() {
    let app = TestApp::start().await;
    let cases: Vec<(Vec<u8>, &str, i64)> = vec![
        (fixture("not-audio.png"), "16k_zh", 10000),
        (silent_wav(8000, 0), "16k_zh", 10004),
        (fixture("truncated-header.wav"), "16k_zh", 10004),
        (silent_wav(8000, 1)[..44 + 4000].to_vec(), "16k_zh", 10002),
    ];
    for (bytes, engine, code) in cases {
        let id = app.submit_ok(&data_body(&bytes, engine, json!({}))).await;
        let done = app.finish(id).await;
        assert_eq!(done["data"]["Status"], 3, "{done}");
        assert_eq!(done["data"]["StatusStr"], "failed");
        assert_eq!(done["data"]["Result"], "");
        let msg = done["data"]["ErrorMsg"].as_str().unwrap();
        assert!(!msg.is_empty());
        let detail = app.control.task(id).await.unwrap();
        assert_eq!(failure_code(&detail.task.plan), Some(code), "{detail:?}");
    }
    // ChannelNum 2 on 8k_zh with mono audio: track count mismatch.
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "8k_zh",
            json!({"ChannelNum": 2}),
        ))
        .await;
    app.finish(id).await;
    let detail = app.control.task(id).await.unwrap();
    assert_eq!(failure_code(&detail.task.plan), Some(10006));
}

#[tokio::test]
async fn url_tasks_are_really_downloaded() {
    let app = TestApp::start().await;
    // Hosted by the simulator itself.
    app.control
        .upload_audio("call.wav", fixture("speech-cmn-16k.wav"))
        .await
        .expect("201 Created");
    let url = app.control.audio_url("call.wav");
    let body = url_body(&url);
    let id = app.submit_ok(&body).await;
    let done = app.finish(id).await;
    assert_eq!(done["data"]["Status"], 2, "{done}");
    // Same audio inline gives the same result.
    let inline = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({}),
        ))
        .await;
    assert_eq!(
        app.finish(inline).await["data"]["Result"],
        done["data"]["Result"]
    );

    // 404 and an unreachable host both fail with 10007.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for url in [
        app.control.audio_url("missing.wav"),
        format!("http://{closed}/a.wav"),
    ] {
        let body = url_body(&url);
        let id = app.submit_ok(&body).await;
        let done = app.finish(id).await;
        assert_eq!(done["data"]["Status"], 3, "{done}");
        assert!(
            done["data"]["ErrorMsg"]
                .as_str()
                .unwrap()
                .starts_with("Failed to download audio file!"),
            "{done}"
        );
        let detail = app.control.task(id).await.unwrap();
        assert_eq!(failure_code(&detail.task.plan), Some(10007));
    }
}

#[tokio::test]
async fn a_five_hour_recording_completes_at_once_under_the_manual_clock() {
    let app = TestApp::start().await;
    let url = app.url("/__admin/audio/generated/speechlike.wav?seconds=18000");
    let body = url_body(&url);
    let id = app.submit_ok(&body).await;
    let done = app.finish(id).await;
    assert_eq!(done["data"]["Status"], 2, "{done}");
    let result = done["data"]["Result"].as_str().unwrap();
    let last = result.lines().last().unwrap();
    assert!(
        last.starts_with("[29"),
        "minutes count past 60, up to 5 h: {last}"
    );
    assert!(
        result.lines().count() > 1000,
        "hours of speech give thousands of sentences"
    );

    // Longer than 5 hours: 10003.
    let url = app.url("/__admin/audio/generated/silence.wav?seconds=18001");
    let body = url_body(&url);
    let id = app.submit_ok(&body).await;
    app.finish(id).await;
    let detail = app.control.task(id).await.unwrap();
    assert_eq!(failure_code(&detail.task.plan), Some(10003));
}

/// A callback receiver that answers each attempt from a script, recording bodies.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<String>>>,
    fail_first: usize,
}

async fn receive(State(r): State<Receiver>, body: String) -> (axum::http::StatusCode, String) {
    let n = {
        let mut bodies = r.bodies.lock();
        bodies.push(body);
        bodies.len()
    };
    if n <= r.fail_first {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "oops".into())
    } else {
        (
            axum::http::StatusCode::OK,
            r#"{"code":0,"message":"success"}"#.into(),
        )
    }
}

async fn start_receiver(fail_first: usize) -> (String, Receiver) {
    let receiver = Receiver {
        fail_first,
        ..Receiver::default()
    };
    let app = Router::new()
        .route("/cb", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/cb"), receiver)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn form_fields(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_callback_is_retried_after_a_failed_attempt() {
    let app = TestApp::start().await;
    let (cb, receiver) = start_receiver(1).await;
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({"CallbackUrl": cb, "ResTextFormat": 2}),
        ))
        .await;
    app.advance(10);
    wait_for("first attempt", || receiver.bodies.lock().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        receiver.bodies.lock().len(),
        1,
        "the retry waits for the clock"
    );
    app.advance(5);
    wait_for("second attempt", || receiver.bodies.lock().len() == 2).await;

    let attempts = app.callback_attempts(id).await;
    assert_eq!(attempts.len(), 2);
    assert!(!attempts[0].acknowledged);
    assert_eq!(attempts[0].status, Some(500));
    assert!(attempts[1].acknowledged);
    assert_eq!(attempts[1].time_ms - attempts[0].time_ms, 5000);

    let body = receiver.bodies.lock()[1].clone();
    let fields = form_fields(&body);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "code",
            "requestId",
            "appid",
            "projectid",
            "text",
            "audioTime",
            "message",
            "resultDetail"
        ]
    );
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("code"), "0");
    assert_eq!(get("requestId"), id.to_string());
    assert_eq!(get("appid"), "12516");
    let poll = app.poll(id).await;
    assert_eq!(
        get("text"),
        poll["data"]["Result"].as_str().unwrap(),
        "callback and poll agree"
    );
    let audio_time = get("audioTime");
    assert_eq!(
        audio_time.split_once('.').unwrap().1.len(),
        6,
        "{audio_time}"
    );
    let detail: Value = serde_json::from_str(&get("resultDetail")).unwrap();
    assert_eq!(detail, poll["data"]["ResultDetail"]);
    assert!(body.contains("++"), "spaces encoded as +: {body}");
}

#[tokio::test]
async fn failed_url_tasks_call_back_with_their_code_and_audio_url() {
    let app = TestApp::start().await;
    let (cb, receiver) = start_receiver(0).await;
    let url = app.control.audio_url("nothing-here.wav");
    let mut body = url_body(&url);
    body["CallbackUrl"] = json!(cb);
    let id = app.submit_ok(&body).await;
    app.finish(id).await;
    wait_for("callback", || receiver.bodies.lock().len() == 1).await;
    let fields = form_fields(&receiver.bodies.lock()[0]);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|f| f.1.clone());
    assert_eq!(get("code").as_deref(), Some("10007"));
    assert_eq!(get("audioUrl").as_deref(), Some(url.as_str()));
    assert!(get("message")
        .unwrap()
        .starts_with("Failed to download audio file!"));
    assert_eq!(get("resultDetail"), None, "absent for ResTextFormat 0");
}

#[tokio::test]
async fn rate_limits_are_enforced_on_the_clock_and_can_be_switched_off() {
    let app = TestApp::start().await;
    let wav = silent_wav(1000, 2);
    let body = data_body(&wav, "16k_zh", json!({}));
    let mut last = 0;
    for _ in 0..20 {
        last = app.submit_ok(&body).await;
    }
    assert_icu_error(&app.submit(&body).await, "RequestLimitExceeded");
    app.server.clock().advance(Duration::from_millis(1000));
    app.submit_ok(&body).await;

    for _ in 0..50 {
        assert_eq!(app.poll(last).await["code"], 0);
    }
    assert_icu_error(&app.poll(last).await, "RequestLimitExceeded");
    let unlimited = SettingsChange {
        query_rate: Some(0),
        ..SettingsChange::default()
    };
    app.control.set_icu_settings(unlimited).await.unwrap();
    for _ in 0..100 {
        assert_eq!(app.poll(last).await["code"], 0);
    }
}

#[tokio::test]
async fn mandarin_filters_visibly_change_the_text() {
    let app = TestApp::start().await;
    let unlimited = SettingsChange {
        submit_rate: Some(0),
        ..SettingsChange::default()
    };
    app.control.set_icu_settings(unlimited).await.unwrap();
    // 60 s of speech-like audio: enough for dirty words, modal particles and numbers.
    let audio = wav_8bit(8000, 1, 8000 * 60, true);
    let result_for = |extra: Value| {
        let body = data_body(&audio, "16k_zh", extra);
        let app = &app;
        async move {
            let id = app.submit_ok(&body).await;
            app.finish(id).await["data"]["Result"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let plain = result_for(json!({})).await;
    let chinese_numerals = result_for(json!({"ConvertNumMode": 0})).await;
    assert_ne!(
        plain, chinese_numerals,
        "ConvertNumMode 0 keeps Chinese numerals"
    );
    assert!(
        plain.chars().any(|c| c.is_ascii_digit()),
        "default converts to Arabic: {plain}"
    );
    let starred = result_for(json!({"FilterDirty": 2})).await;
    assert!(starred.contains('*'), "{starred}");
    let no_dirty = result_for(json!({"FilterDirty": 1})).await;
    assert!(no_dirty.len() < plain.len());
    let no_modal = result_for(json!({"FilterModal": 2})).await;
    assert_ne!(no_modal, plain);
    let no_punct = result_for(json!({"FilterPunc": 2})).await;
    assert!(
        !no_punct.contains('，') && !no_punct.contains('。'),
        "{no_punct}"
    );
    // Filters act only on Mandarin engines.
    let english = result_for(json!({"EngineModelType": "16k_en", "FilterPunc": 2})).await;
    assert!(english.contains('.') || english.contains(','), "{english}");
}

#[tokio::test]
async fn diarization_and_stereo_calls_label_speakers() {
    let app = TestApp::start().await;
    let audio = wav_8bit(8000, 1, 8000 * 40, true);
    let id = app
        .submit_ok(&data_body(
            &audio,
            "16k_zh",
            json!({"SpeakerDiarization": 1, "SpeakerNumber": 3, "ResTextFormat": 2}),
        ))
        .await;
    let done = app.finish(id).await;
    let mut speakers = std::collections::BTreeSet::new();
    for line in done["data"]["Result"].as_str().unwrap().lines() {
        let stamp = line.split_once("]  ").unwrap().0;
        let fields: Vec<&str> = stamp.trim_start_matches('[').split(',').collect();
        assert_eq!(fields.len(), 3, "a speaker field: {line}");
        speakers.insert(fields[2].parse::<u32>().unwrap());
    }
    assert_eq!(speakers, [0, 1, 2].into());
    for s in done["data"]["ResultDetail"].as_array().unwrap() {
        assert!(s["SpeakerId"].as_u64().unwrap() < 3);
    }

    let stereo = fixture("speech-stereo-8k.wav");
    let id = app
        .submit_ok(&data_body(
            &stereo,
            "8k_zh",
            json!({"ChannelNum": 2, "ResTextFormat": 1}),
        ))
        .await;
    let done = app.finish(id).await;
    assert_eq!(done["data"]["Status"], 2, "{done}");
    for s in done["data"]["ResultDetail"].as_array().unwrap() {
        assert!(
            s["SpeakerId"].as_u64().unwrap() <= 1,
            "channels are speakers 0/1"
        );
        let text = s["FinalSentence"].as_str().unwrap();
        assert!(
            !text.contains(['，', '。', '？', '！']),
            "format 1 has no punctuation: {text}"
        );
    }
}

#[tokio::test]
async fn the_same_audio_gives_the_same_text_on_both_providers() {
    let app = TestApp::start().await;
    // A minute of speech-like audio: long enough to hold numbers, which both show as digits.
    for wav in [
        fixture("speech-cmn-16k.wav"),
        wav_8bit(8000, 1, 8000 * 60, true),
    ] {
        let coze = app.transcribe("a.wav", wav.clone()).await;
        let id = app.submit_ok(&data_body(&wav, "16k_zh", json!({}))).await;
        let done = app.finish(id).await;
        let icu_text: String = done["data"]["Result"]
            .as_str()
            .unwrap()
            .lines()
            .map(|l| l.split_once("]  ").unwrap().1)
            .collect();
        assert_eq!(coze.text(), icu_text);
    }
}

#[tokio::test]
async fn tasks_can_be_listed_inspected_and_forced() {
    let app = TestApp::start().await;
    let (cb, receiver) = start_receiver(0).await;
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({"CallbackUrl": cb}),
        ))
        .await;
    let waiting = TasksQuery {
        status: Some(Status::Waiting),
        limit: None,
    };
    let list = app.control.tasks(waiting).await.unwrap();
    assert_eq!(list.tasks[0].task_id, id);
    let doing = Transition::to(Status::Doing);
    app.control.transition(id, doing.clone()).await.unwrap();
    assert_eq!(app.status(id).await, 1);
    app.control
        .transition(id, Transition::fail(10001, "engine overloaded"))
        .await
        .unwrap();
    let done = app.poll(id).await;
    assert_eq!(done["data"]["Status"], 3);
    assert_eq!(done["data"]["ErrorMsg"], "engine overloaded");
    wait_for("callback of the forced end", || {
        receiver.bodies.lock().len() == 1
    })
    .await;
    assert!(receiver.bodies.lock()[0].starts_with("code=10001&"));
    // Backwards or after the end: refused.
    let err = app.control.transition(id, doing.clone()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "{err}");
    let err = app.control.transition(1, doing).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
}

#[tokio::test]
async fn same_seed_same_task_ids_and_results() {
    async fn run(seed: u64) -> Vec<Value> {
        let app = TestApp::seeded(seed).await;
        let mut out = Vec::new();
        for name in ["speech-cmn-16k.wav", "speech-en-16k.wav"] {
            let engine = if name.contains("en") {
                "16k_en"
            } else {
                "16k_zh"
            };
            let id = app
                .submit_ok(&data_body(
                    &fixture(name),
                    engine,
                    json!({"ResTextFormat": 2}),
                ))
                .await;
            out.push(app.finish(id).await);
        }
        out
    }
    let a = run(5).await;
    assert_eq!(a, run(5).await);
    assert_ne!(a, run(6).await);
}

#[tokio::test]
async fn each_engine_writes_its_own_language() {
    let app = TestApp::start().await;
    let audio = wav_8bit(8000, 1, 8000 * 20, true);
    let mut texts = std::collections::BTreeMap::new();
    for engine in [
        "16k_zh",
        "16k_en",
        "8k_en",
        "16k_ca",
        "16k_ja",
        "16k_th",
        "16k_wuu-SH",
    ] {
        let id = app.submit_ok(&data_body(&audio, engine, json!({}))).await;
        let done = app.finish(id).await;
        let text: String = done["data"]["Result"]
            .as_str()
            .unwrap()
            .lines()
            .map(|l| l.split_once("]  ").unwrap().1.to_owned())
            .collect();
        assert!(!text.is_empty(), "{engine}");
        texts.insert(engine, text);
    }
    let has = |engine: &str, f: fn(char) -> bool| texts[engine].chars().any(f);
    assert!(texts["16k_en"].is_ascii() && has("16k_en", |c| c.is_ascii_alphabetic()));
    assert!(texts["8k_en"].is_ascii());
    assert!(
        has("16k_ja", |c| ('\u{3040}'..='\u{30ff}').contains(&c)),
        "kana: {}",
        texts["16k_ja"]
    );
    assert!(
        has("16k_th", |c| ('\u{0e00}'..='\u{0e7f}').contains(&c)),
        "Thai: {}",
        texts["16k_th"]
    );
    for engine in ["16k_zh", "16k_ca", "16k_wuu-SH"] {
        assert!(
            has(engine, |c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{engine}: {}",
            texts[engine]
        );
    }
    assert_ne!(texts["16k_ca"], texts["16k_zh"]);
    assert_ne!(texts["16k_wuu-SH"], texts["16k_zh"]);
}

#[tokio::test]
async fn the_built_in_sink_receives_and_acknowledges_callbacks() {
    let app = TestApp::start().await;
    let sink = app.url("/__admin/sink");
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({"CallbackUrl": sink}),
        ))
        .await;
    app.advance(10);
    for _ in 0..200 {
        if !app.control.sink().await.unwrap().received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = app.control.sink().await.unwrap().received;
    let first = &received[0];
    assert_eq!(
        first.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(first.body.starts_with(&format!("code=0&requestId={id}&")));
    assert!(app.callback_attempts(id).await[0].acknowledged);
}

#[tokio::test]
async fn strict_mode_checks_the_signature() {
    use asr_mock::testing::RawParams;
    use asr_mock::testing::{request_params, sign};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    std::fs::write(
        &path,
        "[[secrets]]\nsecret_id = \"AKIDtest\"\nsecret_key = \"s3cret\"\n",
    )
    .unwrap();
    let config = asr_mock::Config {
        icu_secrets: Some(path),
        ..Default::default()
    };
    let app = TestApp::with(
        asr_mock::MockServer::builder()
            .config(config)
            .manual_clock(None),
    )
    .await;
    let body = data_body(&fixture("speech-cmn-16k.wav"), "16k_zh", json!({}));
    let raw = serde_json::to_vec(&body).unwrap();
    let date = "2025-01-01 08:00:00";
    let signed = |key: &str, raw: &[u8], query: Option<&str>| {
        sign(
            &request_params([
                &RawParams::from_query(query).unwrap(),
                &RawParams::from_body(Some("application/json"), raw).unwrap(),
            ]),
            "AKIDtest",
            key,
            date,
        )
    };

    let unsigned = app.submit(&body).await;
    assert_icu_error(&unsigned, "AuthFailure.InvalidAuthorization");
    let res = app
        .http
        .post(app.url(SUBMIT))
        .header("content-type", "application/json")
        .header("C-Secret", "AKIDtest")
        .header("C-Date", date)
        .header("Sign", signed("wrong", &raw, None))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_icu_error(
        &res.json().await.unwrap(),
        "AuthFailure.InvalidAuthorization",
    );

    let res = app
        .http
        .post(app.url(SUBMIT))
        .header("content-type", "application/json")
        .header("C-Secret", "AKIDtest")
        .header("C-Date", date)
        .header("Sign", signed("s3cret", &raw, None))
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    let id = answer["data"]["TaskId"]
        .as_u64()
        .unwrap_or_else(|| panic!("{answer}"));

    let query = format!("TaskId={id}");
    let res = app
        .http
        .get(app.url(&format!("{QUERY}?{query}")))
        .header("C-Secret", "AKIDtest")
        .header("C-Date", date)
        .header(
            "Sign",
            sign(
                &request_params([&RawParams::from_query(Some(&query)).unwrap()]),
                "AKIDtest",
                "s3cret",
                date,
            ),
        )
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["code"], 0, "{answer}");
    assert_icu_error(&app.poll(id).await, "AuthFailure.InvalidAuthorization");
}

#[tokio::test]
async fn shutdown_journals_callbacks_that_were_not_yet_due() {
    let app = TestApp::start().await;
    let (cb, receiver) = start_receiver(1).await;
    let id = app
        .submit_ok(&data_body(
            &fixture("speech-cmn-16k.wav"),
            "16k_zh",
            json!({"CallbackUrl": cb}),
        ))
        .await;
    app.advance(10);
    wait_for("first attempt", || receiver.bodies.lock().len() == 1).await;
    let callbacks = app.server.state().icu.tasks.callbacks().clone();
    // The retry waits for the manual clock, which never moves again: shut down now.
    let TestApp { server, .. } = app;
    server.shutdown().await.unwrap();
    let attempts = callbacks.attempts_for(id);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts[1].error.as_deref().unwrap().contains("shut down"));
    assert!(attempts[1].final_attempt);
    assert_eq!(callbacks.pending(), 0);
}
