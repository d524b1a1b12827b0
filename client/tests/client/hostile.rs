//! Answers no provider sends: each is an error value, never a panic.

use asr_client::coze::CozeClient;
use asr_client::icu::IcuClient;
use asr_client::Error;

use crate::support::{canned, http_response};

/// Bodies a broken proxy, a captive portal or a truncated transfer could give.
fn hostile_answers() -> Vec<Vec<u8>> {
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    junk.extend_from_slice(b"\xff\xfe");
    vec![
        http_response(200, "application/json", b""),
        http_response(200, "application/json", b"null"),
        http_response(200, "application/json", b"[1,2,3]"),
        http_response(200, "application/json", b"{\"code\":0"),
        http_response(200, "application/json", b"{\"code\":\"0\",\"data\":{}}"),
        http_response(200, "application/json", b"{\"code\":1e400}"),
        http_response(200, "application/json", b"{\"code\":0,\"data\":null}"),
        http_response(200, "application/json", b"{\"code\":0,\"data\":{\"TaskId\":-5,\"text\":7}}"),
        http_response(200, "application/json", b"{\"code\":0,\"data\":{\"TaskId\":1,\"Status\":7}}"),
        http_response(
            200,
            "application/json",
            b"{\"code\":0,\"data\":{\"TaskId\":1,\"Status\":2,\"ResultDetail\":[{\"StartMs\":\"x\"}]}}",
        ),
        http_response(200, "text/html", b"<html><body>Welcome to the hotel wifi</body></html>"),
        http_response(502, "text/plain", b"Bad Gateway"),
        http_response(500, "application/json", b"{\"code\":0,\"data\":{\"text\":\"hi\"}}"),
        http_response(200, "audio/mpeg", &junk),
        // A body shorter than its Content-Length.
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":0".to_vec(),
        // Not HTTP at all.
        b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
        Vec::new(),
    ]
}

#[tokio::test]
async fn coze_never_panics_on_hostile_answers() {
    for answer in hostile_answers() {
        let base = canned(answer.clone()).await;
        let result = CozeClient::new(base, "pat_x")
            .transcribe_bytes(b"RIFF".to_vec(), "a.wav")
            .await;
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(120)]).into_owned();
        match result {
            Err(Error::Decode { raw, .. }) => assert!(raw.len() <= 64 * 1024, "{shown}"),
            Err(Error::Transport(_)) => {}
            other => panic!("{shown}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn icu_never_panics_on_hostile_answers() {
    for answer in hostile_answers() {
        let base = canned(answer.clone()).await;
        let icu = IcuClient::new(base);
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(120)]).into_owned();
        for result in [icu.query(1).await.map(|_| ()), {
            let req = asr_client::icu::SubmitRequest::new(
                asr_client::icu::Engine::Zh16k,
                asr_client::icu::Source::Data(vec![1, 2, 3]),
            );
            icu.submit(&req).await.map(|_| ())
        }] {
            // Some of these carry a TaskId a submit can use; the point is no panic.
            match result {
                Err(Error::Decode { raw, .. }) => assert!(raw.len() <= 64 * 1024, "{shown}"),
                Err(Error::Transport(_)) | Ok(()) => {}
                other => panic!("{shown}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_non_2xx_envelope_is_an_api_error_with_that_status() {
    let body = br#"{"code":4020,"msg":"rpm exceeded","detail":{"logid":"20250101080000ABCDEF0123456789ABCDEF"}}"#;
    let base = canned(http_response(429, "application/json", body)).await;
    let err = CozeClient::new(base, "pat_x")
        .transcribe_bytes(b"RIFF".to_vec(), "a.wav")
        .await
        .expect_err("429");
    match err {
        Error::Api {
            status: 429,
            code: 4020,
            msg,
            logid: Some(logid),
        } => {
            assert_eq!(msg, "rpm exceeded");
            assert!(logid.starts_with("20250101"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn icu_error_envelope_at_200_is_an_api_error_without_logid() {
    let body = r#"{"code":4001,"msg":"InvalidParameterValue: ChannelNum must be 1 or 2, got 3","success":false,"data":null}"#;
    let base = canned(http_response(200, "application/json", body.as_bytes())).await;
    let err = IcuClient::new(base).query(5).await.expect_err("envelope");
    match err {
        Error::Api {
            status: 200,
            code: 4001,
            msg,
            logid: None,
        } => assert!(msg.starts_with("InvalidParameterValue: ")),
        other => panic!("{other:?}"),
    }
}
