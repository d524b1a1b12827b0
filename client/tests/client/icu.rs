//! icu against the simulator: submit, query, wait (clock- and poll-driven), failures,
//! local validation, deadlines, rate limits, signatures.

use std::time::{Duration, Instant};

/// The client runs on real time (its deadlines are real), so these tests measure it.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Instant {
    Instant::now()
}

use asr_client::icu::{
    beijing_date, format_result, parse_result, Credentials, Engine, IcuClient, Source, Status,
    SubmitRequest, WaitOptions,
};
use asr_client::Error;
use asr_mock::control::types::SettingsChange;
use asr_mock::MockServer;

use crate::support::{advance, mock, mock_by_polls, requests_to, speech_wav};

/// Polls quickly: the simulator's time, not real time, decides when tasks end.
fn fast() -> WaitOptions {
    WaitOptions {
        initial: Duration::from_millis(5),
        factor: 1.5,
        max_interval: Duration::from_millis(50),
        deadline: Duration::from_secs(20),
        max_rate: 50,
    }
}

async fn data_request(server: &MockServer, seconds: u32) -> SubmitRequest {
    SubmitRequest::new(
        Engine::Zh16k,
        Source::Data(speech_wav(server, seconds).await),
    )
}

#[tokio::test]
async fn submit_query_and_wait_on_the_clock() {
    let server = mock().await;
    let icu = IcuClient::new(server.base_url());
    let task_id = icu
        .submit(&data_request(&server, 6).await)
        .await
        .expect("submit");
    assert!(task_id >= 1_000_000_000, "{task_id}");

    let first = icu.query(task_id).await.expect("query");
    assert_eq!(first.task_id, task_id);
    assert_eq!(first.status, Status::Waiting);
    assert_eq!(first.status_str, "waiting");
    assert!(first.result.is_empty() && first.result_detail.is_empty());

    let waiting = {
        let icu = icu.clone();
        tokio::spawn(async move { icu.wait(task_id, fast()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "time has not moved yet");
    advance(&server, 120).await;
    let done = waiting.await.expect("joined").expect("waited");
    assert_eq!(done.status, Status::Success);
    assert_eq!(done.status_str, "success");
    assert!(done.error_msg.is_empty());

    let segments = parse_result(&done.result).expect("Result parses");
    assert!(!segments.is_empty());
    assert_eq!(format_result(&segments), done.result);
    assert!(segments
        .iter()
        .all(|s| s.start_ms <= s.end_ms && s.speaker.is_none()));
    assert_eq!(done.segments().ok(), Some(segments));
}

#[tokio::test]
async fn poll_driven_progress_with_word_detail() {
    let server = mock_by_polls(1).await;
    let icu = IcuClient::new(server.base_url());
    let mut req = data_request(&server, 5).await;
    req.res_text_format = 2;
    req.speaker_diarization = true;
    req.speaker_number = 2;
    let task_id = icu.submit(&req).await.expect("submit");
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.status, Status::Success);
    assert!(!done.result_detail.is_empty());
    for s in &done.result_detail {
        assert_eq!(s.words_num as usize, s.words.len());
        assert!(s.start_ms <= s.end_ms);
        assert!(s.speaker_id.is_some(), "diarization gives speakers");
    }
    let segments = parse_result(&done.result).expect("parses");
    assert_eq!(segments.len(), done.result_detail.len());
    assert!(segments.iter().all(|s| s.speaker.is_some()));
    // Waiting, doing, then the outcome: three queries.
    assert_eq!(
        requests_to(&server, "/openapi/asr/searchResult")
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn a_task_that_fails_ends_the_wait_with_its_error() {
    let server = mock_by_polls(1).await;
    let icu = IcuClient::new(server.base_url());
    let req = SubmitRequest::new(
        Engine::En16k,
        Source::Data(b"this is plain text, not audio at all".to_vec()),
    );
    let task_id = icu.submit(&req).await.expect("submit is accepted");
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.status, Status::Failed);
    assert_eq!(done.status_str, "failed");
    assert!(
        done.error_msg.starts_with("Audio transcoding failed"),
        "{}",
        done.error_msg
    );
    assert!(done.result.is_empty());
}

#[tokio::test]
async fn unknown_task_is_no_such_task() {
    let server = mock().await;
    let err = IcuClient::new(server.base_url())
        .query(12345)
        .await
        .expect_err("unknown");
    match err {
        Error::Api {
            status: 200,
            code,
            msg,
            logid: None,
        } => {
            assert_ne!(code, 0);
            assert!(msg.starts_with("FailedOperation.NoSuchTask: "), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // And wait gives up at once rather than polling a task that does not exist.
    let started = wall_clock();
    let err = IcuClient::new(server.base_url())
        .wait(12345, WaitOptions::default())
        .await
        .expect_err("unknown");
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn invalid_requests_are_refused_without_sending() {
    let server = mock().await;
    let icu = IcuClient::new(server.base_url());
    let url = || Source::Url("https://example.com/a.wav".into());
    let mut cases: Vec<(SubmitRequest, &str)> = Vec::new();
    let mut r = SubmitRequest::new(Engine::Zh16k, url());
    r.channel_num = 2;
    cases.push((r, "ChannelNum"));
    let mut r = SubmitRequest::new(Engine::En16k, url());
    r.speaker_diarization = true;
    cases.push((r, "SpeakerDiarization"));
    let mut r = SubmitRequest::new(Engine::Zh8k, url());
    r.channel_num = 2;
    r.speaker_diarization = true;
    cases.push((r, "SpeakerDiarization"));
    let mut r = SubmitRequest::new(Engine::Zh16k, url());
    r.convert_num_mode = 2;
    cases.push((r, "ConvertNumMode"));
    let mut r = SubmitRequest::new(Engine::Zh16k, url());
    r.speaker_number = 11;
    cases.push((r, "SpeakerNumber"));
    let mut r = SubmitRequest::new(Engine::Zh16k, url());
    r.callback_url = Some("ftp://example.com/cb".into());
    cases.push((r, "CallbackUrl"));
    cases.push((
        SubmitRequest::new(Engine::Zh16k, Source::Url("example.com/a.wav".into())),
        "Url",
    ));
    cases.push((
        SubmitRequest::new(Engine::Zh16k, Source::Data(Vec::new())),
        "Data",
    ));
    cases.push((
        SubmitRequest::new(Engine::Zh16k, Source::Data(vec![0; 5 * 1024 * 1024])),
        "Data",
    ));
    for (req, field) in cases {
        match icu.submit(&req).await {
            Err(Error::Invalid(e)) => {
                assert_eq!(e.field, field);
                assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(requests_to(&server, "/openapi/asr/voiceToText")
        .await
        .is_empty());
    // Just under the Data limit is sent, and accepted.
    let req = SubmitRequest::new(Engine::Zh16k, Source::Data(vec![0; 5 * 1024 * 1024 - 1]));
    assert!(icu.submit(&req).await.is_ok());
}

#[tokio::test]
async fn wait_past_its_deadline_is_timeout() {
    let server = mock().await;
    let icu = IcuClient::new(server.base_url());
    let task_id = icu
        .submit(&data_request(&server, 2).await)
        .await
        .expect("submit");
    let started = wall_clock();
    let err = icu
        .wait(
            task_id,
            WaitOptions {
                deadline: Duration::from_millis(300),
                ..fast()
            },
        )
        .await
        .expect_err("the manual clock never moves");
    assert!(matches!(err, Error::Timeout), "{err:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn wait_keeps_under_max_rate() {
    let server = mock().await;
    let icu = IcuClient::new(server.base_url());
    let task_id = icu
        .submit(&data_request(&server, 2).await)
        .await
        .expect("submit");
    // No backoff at all: only max_rate spaces the polls.
    let opts = WaitOptions {
        initial: Duration::ZERO,
        factor: 1.0,
        max_interval: Duration::ZERO,
        deadline: Duration::from_millis(1000),
        max_rate: 10,
    };
    let err = icu.wait(task_id, opts).await.expect_err("never ends");
    assert!(matches!(err, Error::Timeout));
    let polls = requests_to(&server, "/openapi/asr/searchResult")
        .await
        .len();
    assert!(
        (5..=11).contains(&polls),
        "{polls} polls in 1 s at max_rate 10"
    );
}

#[tokio::test]
async fn rate_limited_polls_back_off_and_retry() {
    let server = mock().await;
    // One query per simulated second; the manual clock makes every later poll too many.
    let one_query = SettingsChange {
        query_rate: Some(1),
        ..SettingsChange::default()
    };
    server
        .control()
        .set_icu_settings(one_query)
        .await
        .expect("query rate set");
    let icu = IcuClient::new(server.base_url());
    let task_id = icu
        .submit(&data_request(&server, 2).await)
        .await
        .expect("submit");
    let waiting = {
        let icu = icu.clone();
        tokio::spawn(async move { icu.wait(task_id, fast()).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let limited = requests_to(&server, "/openapi/asr/searchResult").await;
    assert!(limited.len() >= 2, "{limited:?}");
    assert!(limited.iter().any(|e| e
        .msg
        .as_deref()
        .is_some_and(|m| m.starts_with("RequestLimitExceeded"))));
    assert!(!waiting.is_finished());
    advance(&server, 120).await;
    let done = waiting.await.expect("joined").expect("wait recovered");
    assert_eq!(done.status, Status::Success);
}

#[tokio::test]
async fn wait_rides_out_a_flaky_gateway() {
    let server = mock_by_polls(3).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-mock-scenario",
        reqwest::header::HeaderValue::from_static("truncated-json"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    let icu = IcuClient::new(server.base_url()).with_http(http);
    let task_id = icu
        .submit(&data_request(&server, 2).await)
        .await
        .expect("submit");
    // Every third answer is cut in half: a single query sees it as Decode...
    let mut decode_errors = 0;
    for _ in 0..3 {
        if let Err(Error::Decode { raw, .. }) = icu.query(task_id).await {
            assert!(!raw.is_empty());
            decode_errors += 1;
        }
    }
    assert_eq!(decode_errors, 1);
    // ...and wait polls through it.
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.status, Status::Success);
}

#[tokio::test]
async fn task_ids_above_2_pow_53_stay_exact() {
    let server = mock_by_polls(1).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-mock-scenario",
        reqwest::header::HeaderValue::from_static("huge-task-ids"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    let icu = IcuClient::new(server.base_url()).with_http(http);
    let task_id = icu
        .submit(&data_request(&server, 2).await)
        .await
        .expect("submit");
    assert!(task_id > 1 << 53, "{task_id}");
    let done = icu.wait(task_id, fast()).await.expect("wait");
    assert_eq!(done.task_id, task_id);
}

#[tokio::test]
async fn url_tasks_download_from_the_simulator() {
    let server = mock_by_polls(1).await;
    let wav = speech_wav(&server, 3).await;
    let control = server.control();
    control
        .upload_audio("call.wav", wav)
        .await
        .expect("host audio");
    let icu = IcuClient::new(server.base_url());
    let req = SubmitRequest::new(Engine::Zh16k, Source::Url(control.audio_url("call.wav")));
    let task_id = icu.submit(&req).await.expect("submit");
    // The download runs in the background; give it real time, then poll.
    let mut opts = fast();
    opts.initial = Duration::from_millis(100);
    let done = icu.wait(task_id, opts).await.expect("wait");
    assert_eq!(done.status, Status::Success, "{}", done.error_msg);
}

fn pinned_date() -> String {
    "2025-01-01 08:00:00".to_owned()
}

#[tokio::test]
async fn signed_requests_pass_strict_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        "[[secrets]]\nsecret_id = \"AKIDexample\"\nsecret_key = \"secret-key\"\n",
    )
    .expect("write secrets");
    let config = asr_mock::Config {
        port: 0,
        icu_secrets: Some(secrets),
        ..asr_mock::Config::default()
    };
    let server = MockServer::builder()
        .config(config)
        .manual_clock(None)
        .start()
        .await
        .expect("start");
    let mut req = data_request(&server, 2).await;
    req.callback_url = Some(format!("{}/__admin/sink", server.base_url()));

    // Unsigned, and signed with the wrong key: AuthFailure.
    for icu in [
        IcuClient::new(server.base_url()),
        IcuClient::new(server.base_url()).with_credentials(Credentials {
            secret_id: "AKIDexample".into(),
            secret_key: "wrong".into(),
        }),
    ] {
        match icu.submit(&req).await {
            Err(Error::Api { msg, .. }) => {
                assert!(msg.starts_with("AuthFailure.InvalidAuthorization"), "{msg}")
            }
            other => panic!("{other:?}"),
        }
    }

    let icu = IcuClient::new(server.base_url())
        .with_credentials(Credentials {
            secret_id: "AKIDexample".into(),
            secret_key: "secret-key".into(),
        })
        .with_date(pinned_date);
    let task_id = icu.submit(&req).await.expect("signed submit");
    let status = icu.query(task_id).await.expect("signed query");
    assert_eq!(status.task_id, task_id);
    // The simulator's clock stands at 2025-01-01: the default date source signs with the
    // system's time, which is refused as stale; signing with the simulator's clock passes,
    // however far that clock has moved.
    let keys = Credentials {
        secret_id: "AKIDexample".into(),
        secret_key: "secret-key".into(),
    };
    let system = IcuClient::new(server.base_url()).with_credentials(keys.clone());
    match system.query(task_id).await {
        Err(Error::Api { msg, .. }) => {
            assert!(
                msg.starts_with("AuthFailure.InvalidAuthorization: C-Date "),
                "{msg}"
            );
            assert!(msg.contains("the simulator's clock"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    server.clock().advance(Duration::from_secs(3 * 3600));
    let clock = server.clock().clone();
    let icu = IcuClient::new(server.base_url())
        .with_credentials(keys)
        .with_date(move || beijing_date(clock.now_ms()));
    assert!(icu.query(task_id).await.is_ok());
    // The pinned date is three hours stale now.
    let pinned = IcuClient::new(server.base_url())
        .with_credentials(Credentials {
            secret_id: "AKIDexample".into(),
            secret_key: "secret-key".into(),
        })
        .with_date(pinned_date);
    assert!(pinned.query(task_id).await.is_err());
}

#[tokio::test]
async fn unreachable_and_silent_servers() {
    let base = crate::support::closed_port().await;
    let err = IcuClient::new(base).query(1).await.expect_err("closed");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let base = crate::support::silent().await;
    let err = IcuClient::new(base)
        .with_timeout(Duration::from_millis(200))
        .query(1)
        .await
        .expect_err("silent");
    assert!(matches!(err, Error::Timeout), "{err:?}");
}
