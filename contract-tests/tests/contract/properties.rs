//! Properties over generated inputs: local validation agrees with the server, the `Result`
//! text round-trips, task statuses never go backwards, and junk always gets the provider's
//! error envelope. Case counts stay modest (64) so the suite stays fast on small machines.

use std::cell::Cell;

use asr_client::icu::{
    format_result, parse_result, Engine, Segment, Source, Status, SubmitRequest,
};
use asr_contract::{fixtures, shape, wire};
use asr_mock::control::types::{Advance, Progress, SettingsChange};
use asr_mock::control::Control;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::support::open_mock;

const CASES: u32 = 64;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        // Failures are reported with their minimal input; no regression files are written.
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `test` over `strategy`, panicking with the minimal failing input.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner().run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------
// (a) local validation agrees with the server

/// Url / CallbackUrl candidates that the spec accepts. They point at loopback only (a
/// closed port, or a missing file on the simulator), so the downloads a submit starts need
/// no network.
fn valid_urls(base: &str) -> Vec<String> {
    vec![
        format!("{base}/__admin/audio/missing.wav"),
        "http://127.0.0.1:1/a.wav".into(),
        "HTTPS://127.0.0.1:1/a.wav?x=1&y=%20#frag".into(),
        "http://[::1]:1/a.wav".into(),
    ]
}

/// Url / CallbackUrl candidates that break a rule (an empty Url is absent).
fn invalid_urls() -> Vec<String> {
    vec![
        String::new(),
        "ftp://127.0.0.1/a.wav".into(),
        "127.0.0.1/a.wav".into(),
        "http://".into(),
        "http:///a.wav".into(),
        "http://127.0.0.1/a b.wav".into(),
        "http://127.0.0.1/a\tb.wav".into(),
        "http://127.0.0.1:99999/a.wav".into(),
        "https://:80/a.wav".into(),
        format!("http://127.0.0.1/{}", "a".repeat(2048)),
    ]
}

/// A value usually in `valid`, sometimes anywhere in `any` (which includes invalid ones), so
/// about a third of the requests are valid and every rule is broken now and then.
fn mostly(
    valid: std::ops::RangeInclusive<u8>,
    any: std::ops::RangeInclusive<u8>,
) -> impl Strategy<Value = u8> {
    prop_oneof![9 => valid, 1 => any]
}

fn request(base: &str) -> impl Strategy<Value = SubmitRequest> {
    let url = prop_oneof![
        3 => prop::sample::select(valid_urls(base)),
        1 => prop::sample::select(invalid_urls()),
    ];
    let source = prop_oneof![
        url.clone().prop_map(Source::Url),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(Source::Data),
    ];
    let callback = prop_oneof![1 => Just(None), 1 => url.prop_map(Some)];
    let channel_num = prop_oneof![8 => Just(1u8), 1 => Just(2), 1 => 0u8..=3];
    let diarization = prop_oneof![4 => Just(false), 1 => Just(true)];
    (
        (
            prop::sample::select(Engine::ALL.to_vec()),
            channel_num,
            mostly(0..=2, 0..=4),
            source,
            diarization,
            mostly(0..=10, 0..=20),
        ),
        (
            callback,
            mostly(0..=2, 0..=4),
            mostly(0..=2, 0..=4),
            prop_oneof![9 => prop::sample::select(vec![0u8, 1, 3]), 1 => 0u8..=4],
            mostly(0..=2, 0..=4),
        ),
    )
        .prop_map(
            |(
                (engine, channel_num, res_text_format, source, speaker_diarization, speaker_number),
                (callback_url, filter_dirty, filter_modal, convert_num_mode, filter_punc),
            )| SubmitRequest {
                engine,
                channel_num,
                res_text_format,
                source,
                speaker_diarization,
                speaker_number,
                callback_url,
                filter_dirty,
                filter_modal,
                convert_num_mode,
                filter_punc,
            },
        )
}

#[test]
fn local_validation_agrees_with_the_server() {
    let rt = runtime();
    let server = rt.block_on(open_mock());
    let base = server.base_url();
    let http = reqwest::Client::new();
    // Both answers must be seen, or the property proves nothing.
    let (accepted_seen, refused_seen) = (Cell::new(0), Cell::new(0));
    check(request(&base), |req| {
        rt.block_on(async {
            let body = Value::Object(
                req.to_params()
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            );
            // Raw, so the client's own check does not stop the request.
            let answer = wire::icu_post_json(&http, &base, wire::ICU_SUBMIT_PATH, None, &body)
                .await
                .map_err(TestCaseError::fail)?;
            let reply = answer.json().map_err(TestCaseError::fail)?;
            let accepted = reply["code"] == 0;
            let seen = if accepted {
                &accepted_seen
            } else {
                &refused_seen
            };
            seen.set(seen.get() + 1);
            let local = req.validate();
            prop_assert_eq!(
                local.is_ok(),
                accepted,
                "{:?}: locally {:?}, the server {}",
                req,
                local,
                reply
            );
            if let Err(e) = local {
                let msg = reply["msg"].as_str().unwrap_or_default();
                prop_assert!(
                    msg.contains(e.field),
                    "{:?}: the client names {}, the server says {}",
                    req,
                    e.field,
                    msg
                );
            }
            Ok(())
        })
    });
    assert!(
        accepted_seen.get() >= 3 && refused_seen.get() >= 3,
        "too few of one kind: {} accepted, {} refused",
        accepted_seen.get(),
        refused_seen.get()
    );
}

// ---------------------------------------------------------------------------------------
// (b) the Result text round-trips

fn segment() -> impl Strategy<Value = Segment> {
    (
        0u64..=10 * 3_600_000,
        0u64..=600_000,
        prop::option::of(0u32..=20),
        "[^\n]{0,16}",
    )
        .prop_map(|(start_ms, length, speaker, text)| Segment {
            start_ms,
            end_ms: start_ms + length,
            speaker,
            text,
        })
}

#[test]
fn result_text_round_trips() {
    check(prop::collection::vec(segment(), 0..8), |segments| {
        let text = format_result(&segments);
        prop_assert!(text.is_empty() || text.ends_with('\n'));
        for line in text.lines() {
            // `[m:s.mmm,m:s.mmm(,speaker)]` + two spaces; seconds unpadded, ms three digits.
            let head = &line[1..line.find(']').unwrap_or(0)];
            for time in head.split(',').take(2) {
                let (_, rest) = time.split_once(':').unwrap_or_default();
                let (sec, ms) = rest.split_once('.').unwrap_or_default();
                prop_assert!(
                    ms.len() == 3 && sec.parse::<u8>().is_ok_and(|s| s < 60),
                    "{}",
                    line
                );
                prop_assert!(sec.len() == 1 || !sec.starts_with('0'), "{}", line);
            }
        }
        prop_assert_eq!(parse_result(&text), Ok(segments));
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// (c) statuses never go backwards

#[derive(Debug, Clone)]
enum Op {
    Poll,
    Advance(u64),
    /// `None`: progress on the clock; `Some(n)`: n polls per status.
    Progress(Option<u32>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Poll),
        3 => (0u64..2500).prop_map(Op::Advance),
        1 => prop::option::of(1u32..=3).prop_map(Op::Progress),
    ]
}

async fn set_progress(control: &Control, progress: Option<u32>) {
    let change = SettingsChange {
        progress: Some(match progress {
            None => Progress::Time,
            Some(per_status) => Progress::Polls { per_status },
        }),
        ..SettingsChange::default()
    };
    control
        .set_icu_settings(change)
        .await
        .expect("progress set");
}

async fn advance(control: &Control, ms: u64) {
    control
        .advance_clock(Advance::ms(ms))
        .await
        .expect("clock advanced");
}

async fn submit_speech(http: &reqwest::Client, base: &str) -> Result<u64, TestCaseError> {
    let req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::SPEECH.to_vec()));
    let body = Value::Object(
        req.to_params()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    );
    let answer = wire::icu_post_json(http, base, wire::ICU_SUBMIT_PATH, None, &body)
        .await
        .map_err(TestCaseError::fail)?;
    let reply = answer.json().map_err(TestCaseError::fail)?;
    reply["data"]["TaskId"]
        .as_u64()
        .ok_or_else(|| TestCaseError::fail(format!("submit: {reply}")))
}

/// One poll: the status, checked against StatusStr, and the Result.
async fn poll(
    http: &reqwest::Client,
    base: &str,
    id: u64,
) -> Result<(Status, String), TestCaseError> {
    let answer = wire::icu_query_get(http, base, None, &id.to_string())
        .await
        .map_err(TestCaseError::fail)?;
    let reply = answer.json().map_err(TestCaseError::fail)?;
    let data = &reply["data"];
    let status = data["Status"]
        .as_i64()
        .and_then(Status::from_code)
        .ok_or_else(|| TestCaseError::fail(format!("query: {reply}")))?;
    prop_assert_eq!(&data["StatusStr"], status.as_str());
    Ok((
        status,
        data["Result"].as_str().unwrap_or_default().to_owned(),
    ))
}

#[test]
fn statuses_never_go_backwards() {
    let rt = runtime();
    let server = rt.block_on(open_mock());
    let base = server.base_url();
    let control = server.control();
    let http = reqwest::Client::new();
    let ops = (
        prop::option::of(1u32..=3),
        prop::collection::vec(op(), 1..24),
    );
    let ended = Cell::new(0);
    check(ops, |(initial, ops)| {
        rt.block_on(async {
            set_progress(&control, initial).await;
            let id = submit_speech(&http, &base).await?;
            let mut last: Option<(Status, String)> = None;
            for op in &ops {
                match op {
                    Op::Advance(ms) => advance(&control, *ms).await,
                    Op::Progress(p) => set_progress(&control, *p).await,
                    Op::Poll => {
                        let now = poll(&http, &base, id).await?;
                        if let Some(before) = &last {
                            prop_assert!(
                                now.0.code() >= before.0.code(),
                                "{:?} after {:?} ({:?})",
                                now.0,
                                before.0,
                                ops
                            );
                            if before.0.is_final() {
                                prop_assert_eq!(&now, before, "an ended task changed");
                            }
                        }
                        last = Some(now);
                    }
                }
            }
            if last.as_ref().is_some_and(|(s, _)| s.is_final()) {
                ended.set(ended.get() + 1);
            }
            Ok(())
        })
    });
    assert!(
        ended.get() >= 3,
        "only {} tasks were seen to end",
        ended.get()
    );
}

/// Poll-count progress: `n` polls see waiting, `n` see doing, then the outcome, whatever
/// the clock does meanwhile.
#[test]
fn poll_count_progress_counts_polls() {
    let rt = runtime();
    let server = rt.block_on(open_mock());
    let base = server.base_url();
    let control = server.control();
    let http = reqwest::Client::new();
    let plan = (1u32..=3, prop::collection::vec(0u64..5000, 8));
    check(plan, |(n, advances)| {
        rt.block_on(async {
            set_progress(&control, Some(n)).await;
            let id = submit_speech(&http, &base).await?;
            for (k, ms) in (1..).zip(&advances) {
                advance(&control, *ms).await;
                let (status, _) = poll(&http, &base, id).await?;
                let expected = if k <= n {
                    Status::Waiting
                } else if k <= 2 * n {
                    Status::Doing
                } else {
                    Status::Success
                };
                prop_assert_eq!(status, expected, "poll {} with {} per status", k, n);
            }
            Ok(())
        })
    });
}

// ---------------------------------------------------------------------------------------
// (d) junk always gets the provider's envelope

fn junk_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "\\{[ -~]{0,80}".prop_map(String::into_bytes),
        "([A-Za-z]{1,12}=[ -~]{0,12}&){0,4}".prop_map(String::into_bytes),
        "--[a-z]{1,8}\r\nContent-Disposition: form-data; name=\"file\"[ -~\r\n]{0,60}"
            .prop_map(String::into_bytes),
    ]
}

fn junk_content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "application/json".to_owned(),
            "application/json;charset=utf-8".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
            "multipart/form-data; boundary=abc".to_owned(),
            "multipart/form-data".to_owned(),
            "text/plain".to_owned(),
            "application/octet-stream".to_owned(),
        ])
        .prop_map(Some),
        "[!-~][ -~]{0,40}[!-~]".prop_map(Some),
    ]
}

/// icu's error envelope: HTTP 200, JSON, success false, a non-zero code, `Name: reason`.
fn assert_icu_envelope(what: &str, answer: &wire::Answer) -> Result<(), TestCaseError> {
    prop_assert_eq!(answer.status, 200, "{}: {}", what, answer.body_preview());
    let reply = answer.json().map_err(TestCaseError::fail)?;
    prop_assert!(
        reply["success"] == false
            && reply["code"].as_i64().is_some_and(|c| c != 0)
            && reply["data"].is_null(),
        "{}: {}",
        what,
        reply
    );
    let msg = reply["msg"].as_str().unwrap_or_default();
    shape::icu_error_msg(msg).map_err(TestCaseError::fail)?;
    Ok(())
}

#[test]
fn junk_gets_the_providers_envelope() {
    let rt = runtime();
    let server = rt.block_on(open_mock());
    let base = server.base_url();
    let http = reqwest::Client::new();
    let junk = (
        junk_body(),
        junk_content_type(),
        prop::collection::vec(any::<u8>(), 0..24),
        prop::option::of("[ -~]{0,24}"),
    );
    check(junk, |(body, content_type, query, authorization)| {
        rt.block_on(async {
            let send = |path: &str| {
                let mut request = http.post(format!("{base}{path}")).body(body.clone());
                if let Some(ct) = &content_type {
                    request = request.header("Content-Type", ct.as_str());
                }
                request
            };
            for path in [wire::ICU_SUBMIT_PATH, wire::ICU_QUERY_PATH] {
                let answer = wire::Answer::fetch(send(path))
                    .await
                    .map_err(TestCaseError::fail)?;
                assert_icu_envelope(path, &answer)?;
            }
            let encoded: String = url::form_urlencoded::byte_serialize(&query).collect();
            let answer = wire::Answer::fetch(
                http.get(format!("{base}{}?TaskId={encoded}", wire::ICU_QUERY_PATH)),
            )
            .await
            .map_err(TestCaseError::fail)?;
            assert_icu_envelope("GET searchResult", &answer)?;

            let mut request = send(wire::COZE_PATH);
            if let Some(auth) = &authorization {
                request = request.header("Authorization", auth.as_str());
            }
            let answer = wire::Answer::fetch(request)
                .await
                .map_err(TestCaseError::fail)?;
            prop_assert!(
                (400..500).contains(&answer.status),
                "Coze: HTTP {}: {}",
                answer.status,
                answer.body_preview()
            );
            let reply = answer.json().map_err(TestCaseError::fail)?;
            prop_assert!(
                reply["code"].as_i64().is_some_and(|c| c != 0)
                    && reply["msg"].as_str().is_some_and(|m| !m.is_empty()),
                "Coze: {}",
                reply
            );
            let logid = reply["detail"]["logid"].as_str().unwrap_or_default();
            shape::logid(logid).map_err(TestCaseError::fail)?;
            prop_assert_eq!(answer.header("x-tt-logid"), Some(logid));
            Ok(())
        })
    });
}
