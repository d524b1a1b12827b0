//! Coze against the simulator: success, each error class, uploads from a path and a file.

use std::time::Duration;

use asr_client::coze::CozeClient;
use asr_client::Error;
use asr_mock::control::types::{GenerateQuery, Generated};
use asr_mock::MockServer;

use crate::support::{closed_port, mock, silent, speech_wav};

fn client(server: &MockServer) -> CozeClient {
    CozeClient::new(server.base_url(), "pat_test")
}

/// Coze's logid: 14 digits of Beijing time, then 20 upper-case hex digits.
fn assert_logid(logid: Option<&str>) {
    let logid = logid.expect("a logid");
    assert_eq!(logid.len(), 34, "{logid}");
    assert!(logid[..14].bytes().all(|b| b.is_ascii_digit()), "{logid}");
    assert!(
        logid[14..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "{logid}"
    );
}

#[tokio::test]
async fn success_has_text_and_logid() {
    let server = mock().await;
    let wav = speech_wav(&server, 4).await;
    let t = client(&server)
        .transcribe_bytes(wav, "speech.wav")
        .await
        .expect("transcribed");
    assert!(!t.text.is_empty());
    assert_logid(t.logid.as_deref());
}

#[tokio::test]
async fn a_trailing_slash_in_the_base_url_is_fine() {
    let server = mock().await;
    let wav = speech_wav(&server, 2).await;
    let t = CozeClient::new(format!("{}/", server.base_url()), "pat_test")
        .transcribe_bytes(wav, "speech.wav")
        .await;
    assert!(t.is_ok(), "{t:?}");
}

#[tokio::test]
async fn path_file_and_bytes_give_the_same_text() {
    let server = mock().await;
    let wav = speech_wav(&server, 3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("call.wav");
    std::fs::write(&path, &wav).expect("write");
    let coze = client(&server);

    let from_bytes = coze
        .transcribe_bytes(wav.clone(), "call.wav")
        .await
        .expect("bytes");
    let from_path = coze.transcribe_path(&path).await.expect("path");
    let file = tokio::fs::File::open(&path).await.expect("open");
    let from_file = coze.transcribe_file(file, "call.wav").await.expect("file");

    assert_eq!(from_path.text, from_bytes.text);
    assert_eq!(from_file.text, from_bytes.text);
    // Each request has its own logid.
    assert_ne!(from_path.logid, from_file.logid);
}

#[tokio::test]
async fn a_missing_file_is_reported_before_sending() {
    let server = mock().await;
    let err = client(&server)
        .transcribe_path("/definitely/not/here.wav")
        .await
        .expect_err("no such file");
    assert!(
        matches!(&err, Error::Transport(m) if m.contains("not/here.wav")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_token_is_4100_and_missing_permission_4101() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[tokens]]\ntoken = \"pat_dev\"\npermissions = [\"createTranscription\"]\n\n\
         [[tokens]]\ntoken = \"pat_readonly\"\npermissions = []\n",
    )
    .expect("write tokens");
    let server = MockServer::builder()
        .manual_clock(None)
        .tokens_file(&tokens)
        .start()
        .await
        .expect("start");
    let wav = speech_wav(&server, 2).await;

    let err = CozeClient::new(server.base_url(), "pat_stranger")
        .transcribe_bytes(wav.clone(), "a.wav")
        .await
        .expect_err("unknown token");
    match &err {
        Error::Api {
            status,
            code,
            msg,
            logid,
        } => {
            assert_eq!((*status, *code), (401, 4100));
            assert_eq!(msg, "authentication is invalid");
            assert_logid(logid.as_deref());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("4100"), "{err}");

    let err = CozeClient::new(server.base_url(), "pat_readonly")
        .transcribe_bytes(wav.clone(), "a.wav")
        .await
        .expect_err("no permission");
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 403,
                code: 4101,
                logid: Some(_),
                ..
            }
        ),
        "{err:?}"
    );

    let ok = CozeClient::new(server.base_url(), "pat_dev")
        .transcribe_bytes(wav, "a.wav")
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn empty_file_is_4300() {
    let server = mock().await;
    let err = client(&server)
        .transcribe_bytes(Vec::new(), "empty.wav")
        .await
        .expect_err("empty");
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 400,
                code: 4300,
                logid: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unsupported_format_is_4303() {
    let server = mock().await;
    let err = client(&server)
        .transcribe_bytes(b"just some notes, not audio".to_vec(), "notes.txt")
        .await
        .expect_err("not audio");
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 400,
                code: 4303,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_transport() {
    let base = closed_port().await;
    let err = CozeClient::new(base, "pat_x")
        .transcribe_bytes(vec![1, 2, 3], "a.wav")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let base = silent().await;
    let err = CozeClient::new(base, "pat_x")
        .with_timeout(Duration::from_millis(300))
        .transcribe_bytes(vec![1, 2, 3], "a.wav")
        .await
        .expect_err("no answer");
    assert!(matches!(err, Error::Timeout), "{err:?}");
}

#[tokio::test]
async fn a_scenario_error_keeps_the_envelope() {
    // The official 5000 answer, through a scenario picked by header (the client can send
    // extra headers through its own reqwest client).
    let server = mock().await;
    let wav = speech_wav(&server, 2).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-mock-scenario",
        reqwest::header::HeaderValue::from_static("coze-legacy-no-speech"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    let silence = server
        .control()
        .generated_audio(Generated::Silence, GenerateQuery::seconds(2.0))
        .await
        .expect("silence")
        .to_vec();
    let coze = client(&server).with_http(http);
    let err = coze
        .transcribe_bytes(silence, "quiet.wav")
        .await
        .expect_err("legacy 5000");
    assert!(
        matches!(&err, Error::Api { status: 500, code: 5000, msg, .. } if msg.starts_with("service internal error")),
        "{err:?}"
    );
    // Audio with speech still succeeds under the same scenario.
    assert!(coze.transcribe_bytes(wav, "a.wav").await.is_ok());
}
