//! JSON snapshots of every wire body the simulator answers a client with: Coze's success and
//! each error, icu's submit, every query status, each icu error class, and the callback form.
//!
//! Each test starts its own in-process simulator (fixed seed, manual clock), so the bodies
//! repeat byte for byte and most of each stays in the snapshot, recognised text included.
//! What changes between runs (logids' hex, TaskIds, the simulator's port) is redacted, and
//! each redaction checks the value's shape before hiding it.

use std::time::Duration;

use asr_client::icu::{Credentials, Engine, Source, SubmitRequest};
use asr_contract::checks::finish;
use asr_contract::target::{
    Target, MOCK_SECRET_ID, MOCK_SECRET_KEY, MOCK_TOKEN, MOCK_TOKEN_NO_PERMISSION,
};
use asr_contract::wire::{self, Answer};
use asr_contract::{fixtures, shape};
use asr_mock::control::types::{self, Advance, Progress, Received, SettingsChange, Transition};
use insta::internals::Redaction;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::TASK_ID_RANGE;

/// Snapshots live in `tests/snapshots/`, named by the test's own name.
fn settings(description: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.set_description(description);
    s.set_omit_expression(true);
    s
}

/// A Coze logid: its shape is checked, the Beijing time kept (the manual clock makes it
/// fixed), the 20 hex digits hidden.
fn logid() -> Redaction {
    insta::dynamic_redaction(|value, _| {
        let id = value.as_str().unwrap_or_default().to_owned();
        if let Err(e) = shape::logid(&id) {
            panic!("{e}");
        }
        format!("{}[20 hex]", &id[..14])
    })
}

/// A TaskId (number, or digits in a callback form): checked to be in the simulator's
/// realistic range, then hidden.
fn task_id() -> Redaction {
    insta::dynamic_redaction(|value, _| {
        let id = value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
        assert!(
            id.is_some_and(|id| TASK_ID_RANGE.contains(&id)),
            "TaskId {value:?} is not a uint64 in {TASK_ID_RANGE:?}"
        );
        "[task_id]"
    })
}

/// A URL on the simulator itself: checked to be loopback, the port hidden.
fn own_url() -> Redaction {
    insta::dynamic_redaction(|value, _| {
        let url = value.as_str().unwrap_or_default();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("not a loopback URL: {url:?}"));
        let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        assert!(port.parse::<u16>().is_ok(), "port of {url:?}");
        format!("http://127.0.0.1:[port]{path}")
    })
}

macro_rules! snapshot {
    ($name:expr, $description:expr, $value:expr) => {
        let value = $value;
        settings($description).bind(|| {
            insta::assert_json_snapshot!($name, value, {
                ".x_tt_logid" => logid(),
                ".body.detail.logid" => logid(),
                ".body.data.TaskId" => task_id(),
                ".fields.requestId" => task_id(),
                ".fields.audioUrl" => own_url(),
            })
        })
    };
}

/// Status, type, logid header and body of a Coze answer; the header and body logids must be
/// the same before both are hidden.
fn coze_view(answer: &Answer) -> Value {
    let body = answer.json().expect("Coze answers JSON");
    assert_eq!(
        answer.header("x-tt-logid"),
        body["detail"]["logid"].as_str(),
        "header and body logids differ"
    );
    json!({
        "status": answer.status,
        "content_type": answer.header("content-type"),
        "x_tt_logid": answer.header("x-tt-logid"),
        "body": body,
    })
}

/// Status, type and body of an icu answer.
fn icu_view(answer: &Answer) -> Value {
    json!({
        "status": answer.status,
        "content_type": answer.header("content-type"),
        "body": answer.json().expect("icu answers JSON"),
    })
}

async fn target() -> Target {
    Target::in_process().await.expect("simulator starts")
}

fn base(t: &Target) -> String {
    t.mock().expect("in-process").base_url()
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

async fn coze(t: &Target, auth: Option<String>, form: Form) -> Value {
    coze_view(
        &wire::coze_post(t.http(), &base(t), auth.as_deref(), form)
            .await
            .expect("Coze answers"),
    )
}

/// A file from the simulator's audio fixtures folder.
fn audio_fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mock-server/tests/fixtures/audio")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A canonical 8-bit mono WAV of silence (1 kHz keeps 30 minutes under 2 MB).
fn silent_wav(sample_rate: u32, seconds: u32) -> Vec<u8> {
    let data_len = sample_rate * seconds;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&sample_rate.to_le_bytes());
    wav.extend_from_slice(&sample_rate.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 128);
    wav
}

#[tokio::test]
async fn coze_success_bodies() {
    let t = target().await;
    let speech = coze(
        &t,
        bearer(MOCK_TOKEN),
        wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME),
    )
    .await;
    snapshot!("coze_success_speech", "Coze: Mandarin speech", speech);
    let silence = coze(
        &t,
        bearer(MOCK_TOKEN),
        wire::file_form(fixtures::SILENCE, fixtures::SILENCE_NAME),
    )
    .await;
    snapshot!("coze_success_silence", "Coze: 2 s of silence", silence);
}

#[tokio::test]
async fn coze_error_bodies() {
    let t = target().await;
    let speech = || wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME);

    let v = coze(&t, bearer("pat_not_a_token"), speech()).await;
    snapshot!(
        "coze_error_4100_unknown_token",
        "Coze: unknown bearer token",
        v
    );
    let v = coze(&t, None, speech()).await;
    snapshot!(
        "coze_error_4100_no_token",
        "Coze: no Authorization header",
        v
    );
    let v = coze(&t, Some("Basic cGF0Og==".into()), speech()).await;
    snapshot!(
        "coze_error_4100_not_bearer",
        "Coze: Authorization that is not Bearer",
        v
    );
    let v = coze(&t, bearer(MOCK_TOKEN_NO_PERMISSION), speech()).await;
    snapshot!(
        "coze_error_4101_no_permission",
        "Coze: a known token without createTranscription",
        v
    );

    let no_file = Form::new().part(
        "audio",
        Part::bytes(fixtures::SPEECH.to_vec()).file_name(fixtures::SPEECH_NAME),
    );
    let v = coze(&t, bearer(MOCK_TOKEN), no_file).await;
    snapshot!(
        "coze_error_4000_no_file_part",
        "Coze: no part named file",
        v
    );
    let no_filename = Form::new().part("file", Part::bytes(fixtures::SPEECH.to_vec()));
    let v = coze(&t, bearer(MOCK_TOKEN), no_filename).await;
    snapshot!(
        "coze_error_4000_no_filename",
        "Coze: a file part without a filename",
        v
    );
    let not_multipart = Answer::fetch(
        t.http()
            .post(format!("{}{}", base(&t), wire::COZE_PATH))
            .header("Authorization", format!("Bearer {MOCK_TOKEN}"))
            .json(&json!({"file": "speech.wav"})),
    )
    .await
    .expect("Coze answers");
    snapshot!(
        "coze_error_4000_not_multipart",
        "Coze: a JSON body instead of multipart",
        coze_view(&not_multipart)
    );

    let v = coze(&t, bearer(MOCK_TOKEN), wire::file_form(b"", "empty.wav")).await;
    snapshot!("coze_error_4300_empty", "Coze: an empty file", v);
    let two = speech().part(
        "file",
        Part::bytes(fixtures::SPEECH.to_vec()).file_name("again.wav"),
    );
    let v = coze(&t, bearer(MOCK_TOKEN), two).await;
    snapshot!("coze_error_4301_two_files", "Coze: two file parts", v);
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    let v = coze(&t, bearer(MOCK_TOKEN), wire::file_form(&big, "big.wav")).await;
    snapshot!("coze_error_4302_too_large", "Coze: a file over 10 MB", v);
    let v = coze(
        &t,
        bearer(MOCK_TOKEN),
        wire::file_form(fixtures::NOT_AUDIO, fixtures::NOT_AUDIO_NAME),
    )
    .await;
    snapshot!("coze_error_4303_not_audio", "Coze: a text file", v);
    let flac = audio_fixture("speech-cmn.flac");
    let v = coze(
        &t,
        bearer(MOCK_TOKEN),
        wire::file_form(&flac, "speech.flac"),
    )
    .await;
    snapshot!(
        "coze_error_4303_flac",
        "Coze: FLAC, in neither model's list",
        v
    );
    let corrupt = audio_fixture("truncated-header.wav");
    let v = coze(&t, bearer(MOCK_TOKEN), wire::file_form(&corrupt, "cut.wav")).await;
    snapshot!(
        "coze_error_4304_corrupt",
        "Coze: a WAV cut inside its header",
        v
    );
    let long = silent_wav(1000, 30 * 60);
    let v = coze(&t, bearer(MOCK_TOKEN), wire::file_form(&long, "long.wav")).await;
    snapshot!("coze_error_4000_too_long", "Coze: 30 minutes of audio", v);

    let mut huge = wire::file_form(&vec![0u8; 16 * 1024 * 1024], "huge.wav");
    huge = huge.text("note", "a body over 15 MB");
    let v = coze(&t, bearer(MOCK_TOKEN), huge).await;
    snapshot!(
        "coze_error_413_body_too_large",
        "Coze: a request body over 15 MB",
        v
    );

    // Scenarios script what the default simulator never does by itself.
    let scenario = |name: &'static str, bytes: &'static [u8], filename: &'static str| {
        t.http()
            .post(format!("{}{}", base(&t), wire::COZE_PATH))
            .header("Authorization", format!("Bearer {MOCK_TOKEN}"))
            .header("X-Mock-Scenario", name)
            .multipart(wire::file_form(bytes, filename))
    };
    let legacy = Answer::fetch(scenario(
        "coze-legacy-no-speech",
        fixtures::SILENCE,
        fixtures::SILENCE_NAME,
    ))
    .await
    .expect("Coze answers");
    snapshot!(
        "coze_error_5000_legacy_no_speech",
        "Coze: the old answer to audio without speech (scenario coze-legacy-no-speech)",
        coze_view(&legacy)
    );
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            Answer::fetch(scenario(
                "coze-rpm-exceeded",
                fixtures::SPEECH,
                fixtures::SPEECH_NAME,
            ))
            .await
            .expect("Coze answers"),
        );
    }
    snapshot!(
        "coze_error_4020_rpm_exceeded",
        "Coze: the third transcription in a minute (scenario coze-rpm-exceeded)",
        coze_view(&last.expect("answered"))
    );

    let wrong_method = Answer::fetch(
        t.http()
            .get(format!("{}{}", base(&t), wire::COZE_PATH))
            .header("Authorization", format!("Bearer {MOCK_TOKEN}")),
    )
    .await
    .expect("Coze answers");
    snapshot!(
        "coze_error_405_get",
        "Coze: GET on the transcription path",
        coze_view(&wrong_method)
    );
    let unknown = Answer::fetch(
        t.http()
            .post(format!("{}/v1/audio/nothing", base(&t)))
            .header("Authorization", format!("Bearer {MOCK_TOKEN}")),
    )
    .await
    .expect("Coze answers");
    snapshot!(
        "coze_error_4200_unknown_path",
        "Coze: an unknown path under /v1/",
        coze_view(&unknown)
    );
}

/// `keys` with the in-process target's clock.
fn signed<'a>(t: &'a Target, keys: &'a Credentials) -> Option<wire::Signer<'a>> {
    Some(wire::Signer {
        credentials: keys,
        date: &t.icu().expect("icu").date,
    })
}

/// The in-process target's keys.
fn keys() -> Credentials {
    Credentials {
        secret_id: MOCK_SECRET_ID.into(),
        secret_key: MOCK_SECRET_KEY.into(),
    }
}

fn params(req: &SubmitRequest) -> Value {
    Value::Object(
        req.to_params()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

fn speech(format: u8) -> SubmitRequest {
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::SPEECH.to_vec()));
    req.res_text_format = format;
    req
}

async fn submit(t: &Target, body: &Value) -> Answer {
    wire::icu_post_json(
        t.http(),
        &base(t),
        wire::ICU_SUBMIT_PATH,
        signed(t, &keys()),
        body,
    )
    .await
    .expect("icu answers")
}

async fn submitted_id(t: &Target, body: &Value) -> u64 {
    let answer = submit(t, body).await;
    let v = answer.json().expect("JSON");
    v["data"]["TaskId"]
        .as_u64()
        .unwrap_or_else(|| panic!("submit failed: {v}"))
}

async fn query(t: &Target, id: u64) -> Answer {
    wire::icu_query_get(t.http(), &base(t), signed(t, &keys()), &id.to_string())
        .await
        .expect("icu answers")
}

#[tokio::test]
async fn icu_submit_and_query_bodies() {
    let t = target().await;
    let control = t.control().expect("control");
    let answer = submit(&t, &params(&speech(0))).await;
    snapshot!(
        "icu_submit",
        "icu: submit of inline Mandarin speech",
        icu_view(&answer)
    );
    let id = answer.json().expect("JSON")["data"]["TaskId"]
        .as_u64()
        .expect("TaskId");

    // Poll-count progress: one poll sees waiting, the next doing, then the outcome.
    control
        .set_icu_settings(SettingsChange {
            progress: Some(Progress::Polls { per_status: 1 }),
            ..SettingsChange::default()
        })
        .await
        .expect("settings");
    snapshot!(
        "icu_query_waiting",
        "icu: first poll",
        icu_view(&query(&t, id).await)
    );
    snapshot!(
        "icu_query_doing",
        "icu: second poll",
        icu_view(&query(&t, id).await)
    );
    snapshot!(
        "icu_query_success_format0",
        "icu: ResTextFormat 0 (text with timestamps)",
        icu_view(&query(&t, id).await)
    );

    for (format, name, description) in [
        (
            1,
            "icu_query_success_format1",
            "icu: ResTextFormat 1 (words, no punctuation)",
        ),
        (
            2,
            "icu_query_success_format2",
            "icu: ResTextFormat 2 (words with punctuation)",
        ),
    ] {
        let id = submitted_id(&t, &params(&speech(format))).await;
        query(&t, id).await;
        query(&t, id).await;
        let v = icu_view(&query(&t, id).await);
        settings(description)
            .bind(|| insta::assert_json_snapshot!(name, v, { ".body.data.TaskId" => task_id() }));
    }

    let not_audio = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::NOT_AUDIO.to_vec()));
    let id = submitted_id(&t, &params(&not_audio)).await;
    query(&t, id).await;
    query(&t, id).await;
    snapshot!(
        "icu_query_failed_not_audio",
        "icu: a text file as Data fails (10000)",
        icu_view(&query(&t, id).await)
    );

    let id = submitted_id(&t, &params(&speech(0))).await;
    let to_10001 = Transition {
        status: types::Status::Failed,
        code: Some(10001),
        message: None,
    };
    control.transition(id, to_10001).await.expect("forced");
    snapshot!(
        "icu_query_failed_forced",
        "icu: a failure forced through the control API (10001)",
        icu_view(&query(&t, id).await)
    );

    // 20 s of generated speech-like audio, downloaded by Url: several sentences, so two
    // speakers and the filters show. Progress on the clock again (the download runs in real
    // time, so only the clock-driven end is certain).
    control
        .set_icu_settings(SettingsChange {
            progress: Some(Progress::Time),
            ..SettingsChange::default()
        })
        .await
        .expect("settings");
    let url = format!(
        "{}/__admin/audio/generated/speechlike.wav?seconds=20",
        base(&t)
    );
    let mut diarized = SubmitRequest::new(Engine::Zh16k, Source::Url(url.clone()));
    diarized.res_text_format = 2;
    diarized.speaker_diarization = true;
    diarized.speaker_number = 2;
    let mut filtered = SubmitRequest::new(Engine::Zh16k, Source::Url(url));
    filtered.filter_dirty = 2;
    filtered.filter_modal = 2;
    filtered.filter_punc = 1;
    filtered.convert_num_mode = 0;
    let mut unfiltered = filtered.clone();
    (
        unfiltered.filter_dirty,
        unfiltered.filter_modal,
        unfiltered.filter_punc,
    ) = (0, 0, 0);
    unfiltered.convert_num_mode = 1;
    for (name, description, req) in [
        (
            "icu_query_success_diarization",
            "icu: 20 s by Url, ResTextFormat 2, SpeakerDiarization 1, SpeakerNumber 2",
            diarized,
        ),
        (
            "icu_query_success_unfiltered",
            "icu: 20 s by Url, no filters, ConvertNumMode 1 (the default)",
            unfiltered,
        ),
        (
            "icu_query_success_filtered",
            "icu: 20 s by Url, FilterDirty 2, FilterModal 2, FilterPunc 1, ConvertNumMode 0",
            filtered,
        ),
    ] {
        let id = submitted_id(&t, &params(&req)).await;
        finish(&t, id).await.expect("task ends");
        snapshot!(name, description, icu_view(&query(&t, id).await));
    }
}

#[tokio::test]
async fn icu_error_bodies() {
    let t = target().await;
    let base_url = base(&t);
    let post_raw = |content_type: &'static str, body: Vec<u8>| {
        let request = t
            .http()
            .post(format!("{base_url}{}", wire::ICU_SUBMIT_PATH))
            .header("Content-Type", content_type)
            .body(body);
        Answer::fetch(wire::icu_signed(
            request,
            signed(&t, &keys()),
            &Default::default(),
        ))
    };

    let v = post_raw("application/json", b"{\"EngineModelType\":".to_vec())
        .await
        .expect("answer");
    snapshot!(
        "icu_error_invalid_parameter_json",
        "icu: a body that is not JSON",
        icu_view(&v)
    );
    let v = post_raw("text/plain", b"hello".to_vec())
        .await
        .expect("answer");
    snapshot!(
        "icu_error_invalid_parameter_content_type",
        "icu: an unsupported Content-Type",
        icu_view(&v)
    );
    let unknown_path = Answer::fetch(wire::icu_signed(
        t.http().post(format!("{base_url}/openapi/asr/nothing")),
        signed(&t, &keys()),
        &Default::default(),
    ))
    .await
    .expect("answer");
    snapshot!(
        "icu_error_invalid_parameter_unknown_path",
        "icu: an unknown path under /openapi/",
        icu_view(&unknown_path)
    );

    let mut body = params(&speech(0));
    body["ChannelNum"] = json!("3");
    snapshot!(
        "icu_error_invalid_parameter_value",
        "icu: ChannelNum 3",
        icu_view(&submit(&t, &body).await)
    );
    let mut body = params(&speech(0));
    body["ChannelNum"] = json!("2");
    snapshot!(
        "icu_error_invalid_parameter_value_stereo",
        "icu: ChannelNum 2 with 16k_zh",
        icu_view(&submit(&t, &body).await)
    );
    let by_url = SubmitRequest::new(Engine::Zh16k, Source::Url("ftp://example.com/a.wav".into()));
    snapshot!(
        "icu_error_invalid_url",
        "icu: a Url that is not http(s)",
        icu_view(&submit(&t, &params(&by_url)).await)
    );
    let mut body = params(&speech(0));
    let data = body["Data"].as_str().expect("Data").to_owned();
    body["Data"] = json!(format!("{}\n{}", &data[..76], &data[76..]));
    snapshot!(
        "icu_error_invalid_voicedata",
        "icu: Data base64 with a line break",
        icu_view(&submit(&t, &body).await)
    );
    let huge = SubmitRequest::new(Engine::Zh16k, Source::Data(vec![0; 5 * 1024 * 1024]));
    snapshot!(
        "icu_error_voicedata_too_long",
        "icu: Data decoding to 5 MiB",
        icu_view(&submit(&t, &params(&huge)).await)
    );
    let mut body = params(&speech(0));
    body.as_object_mut()
        .expect("object")
        .remove("EngineModelType");
    snapshot!(
        "icu_error_missing_parameter",
        "icu: no EngineModelType",
        icu_view(&submit(&t, &body).await)
    );
    let mut body = params(&speech(0));
    body.as_object_mut().expect("object").remove("Data");
    snapshot!(
        "icu_error_missing_parameter_data",
        "icu: SourceType 1 without Data",
        icu_view(&submit(&t, &body).await)
    );

    let wrong = Credentials {
        secret_key: "wrong".into(),
        ..keys()
    };
    let v = wire::icu_post_json(
        t.http(),
        &base_url,
        wire::ICU_SUBMIT_PATH,
        signed(&t, &wrong),
        &params(&speech(0)),
    )
    .await
    .expect("answer");
    snapshot!(
        "icu_error_auth_failure_wrong_key",
        "icu: signed with a wrong key",
        icu_view(&v)
    );
    let v = wire::icu_query_get(t.http(), &base_url, None, "1")
        .await
        .expect("answer");
    snapshot!(
        "icu_error_auth_failure_unsigned",
        "icu: an unsigned query",
        icu_view(&v)
    );

    let v = wire::icu_query_get(
        t.http(),
        &base_url,
        signed(&t, &keys()),
        "18446744073709551000",
    )
    .await
    .expect("answer");
    snapshot!(
        "icu_error_no_such_task",
        "icu: an unknown TaskId",
        icu_view(&v)
    );
    let mut last = None;
    for _ in 0..3 {
        let request = t
            .http()
            .get(format!("{base_url}{}", wire::ICU_QUERY_PATH))
            .query(&[("TaskId", "18446744073709551000")])
            .header("X-Mock-Scenario", "succeed-then-fail");
        let params = std::collections::BTreeMap::from([(
            "TaskId".to_owned(),
            "18446744073709551000".to_owned(),
        )]);
        last = Some(
            Answer::fetch(wire::icu_signed(request, signed(&t, &keys()), &params))
                .await
                .expect("answer"),
        );
    }
    snapshot!(
        "icu_error_internal_error",
        "icu: the third query under scenario succeed-then-fail",
        icu_view(&last.expect("answered"))
    );

    // The clock stands still: 20 submits fill the second, the 21st is refused.
    t.control()
        .expect("control")
        .advance_clock(Advance::ms(1000))
        .await
        .expect("advance");
    for _ in 0..20 {
        submitted_id(&t, &params(&speech(0))).await;
    }
    snapshot!(
        "icu_error_request_limit_exceeded",
        "icu: the 21st submit within a second",
        icu_view(&submit(&t, &params(&speech(0))).await)
    );
}

/// Waits (real time) until the simulator's sink holds `count` callbacks, and returns the
/// newest.
async fn sink_entry(t: &Target, count: usize) -> Received {
    let control = t.control().expect("control");
    for _ in 0..500 {
        let mut received = control.sink().await.expect("sink").received;
        if received.len() >= count {
            return received.swap_remove(count - 1);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sink did not receive callback {count}");
}

/// A callback as its fields: wire order, then each decoded value (`resultDetail` parsed from
/// its JSON text so the snapshot can be read).
fn callback_view(entry: &Received) -> Value {
    let fields = wire::form_fields(entry.body.as_bytes());
    let order: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    let mut map = serde_json::Map::new();
    for (k, v) in &fields {
        let value = if k == "resultDetail" && !v.is_empty() {
            serde_json::from_str(v).expect("resultDetail is JSON")
        } else {
            Value::String(v.clone())
        };
        map.insert(k.clone(), value);
    }
    json!({
        "content_type": entry.content_type,
        "field_order": order,
        "fields": map,
    })
}

#[tokio::test]
async fn icu_callback_bodies() {
    let t = target().await;
    let control = t.control().expect("control");
    let sink = format!("{}/__admin/sink", base(&t));
    let with_callback = |mut req: SubmitRequest| {
        req.callback_url = Some(sink.clone());
        params(&req)
    };
    control
        .upload_audio("contract-speech.wav", fixtures::SPEECH)
        .await
        .expect("hosted");
    let hosted = control.audio_url("contract-speech.wav");
    let cases = [
        (
            "icu_callback_success_format0",
            "icu callback: ResTextFormat 0 (no resultDetail)",
            with_callback(speech(0)),
        ),
        (
            "icu_callback_success_format2",
            "icu callback: ResTextFormat 2 (resultDetail shown parsed from its JSON text)",
            with_callback(speech(2)),
        ),
        (
            "icu_callback_success_url",
            "icu callback: a Url task (audioUrl present)",
            with_callback(SubmitRequest::new(Engine::Zh16k, Source::Url(hosted))),
        ),
        (
            "icu_callback_failed_not_audio",
            "icu callback: a text file as Data (code 10000)",
            with_callback(SubmitRequest::new(
                Engine::Zh16k,
                Source::Data(fixtures::NOT_AUDIO.to_vec()),
            )),
        ),
    ];
    for (i, (name, description, body)) in cases.into_iter().enumerate() {
        let id = submitted_id(&t, &body).await;
        finish(&t, id).await.expect("task ends");
        let entry = sink_entry(&t, i + 1).await;
        let view = callback_view(&entry);
        assert_eq!(view["fields"]["requestId"], id.to_string());
        snapshot!(name, description, view);
    }
}
