//! Coze streaming recognition against the simulator: the final text equals the upload's for
//! a file and for any chunking, an `error` event is an API error, a refused handshake keeps
//! its status.

use std::time::Duration;

use asr_client::coze::CozeClient;
use asr_client::coze_stream::{CozeStreamClient, InputAudio};
use asr_client::Error;
use asr_mock::{Config, MockServer};
use proptest::prelude::*;

use crate::support::{mock, speech_wav};

fn client(server: &MockServer) -> CozeStreamClient {
    CozeStreamClient::new(&server.base_url(), "pat_test").with_timeout(Duration::from_secs(60))
}

/// Splits `audio` at `cuts` (positions taken modulo its length).
fn chunked(audio: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % audio.len().max(1)).collect();
    at.extend([0, audio.len()]);
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| audio[w[0]..w[1]].to_vec()).collect()
}

#[tokio::test]
async fn a_file_streams_to_the_upload_s_text() {
    let server = mock().await;
    let wav = speech_wav(&server, 4).await;
    let http = CozeClient::new(server.base_url(), "pat_test")
        .transcribe_bytes(wav.clone(), "a.wav")
        .await
        .unwrap();
    assert!(!http.text.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    std::fs::write(&path, &wav).unwrap();
    let got = client(&server).transcribe_path(&path, None).await.unwrap();
    assert_eq!(got.text, http.text);
    assert_eq!(got.logid.as_deref().map(str::len), Some(53));
    for pair in got.updates.windows(2) {
        assert!(pair[1].starts_with(&pair[0]), "{pair:?}");
    }
    // Recorded speech as raw PCM reads as its WAV does.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mock-server/tests/fixtures/audio"
    );
    let wav = std::fs::read(format!("{dir}/speech-cmn-16k.wav")).unwrap();
    let http = CozeClient::new(server.base_url(), "pat_test")
        .transcribe_bytes(wav.clone(), "b.wav")
        .await
        .unwrap();
    assert!(!http.text.is_empty());
    let pcm = wav[44..].to_vec();
    let chunks = futures_util::stream::iter(chunked(&pcm, &[1000, 77_777]).into_iter().map(Ok));
    let got = client(&server)
        .transcribe_chunks(Some(InputAudio::pcm(16_000)), chunks)
        .await
        .unwrap();
    assert_eq!(got.text, http.text);
}

#[tokio::test]
async fn errors_are_api_errors_with_their_status() {
    let server = mock().await;
    let none = futures_util::stream::iter(Vec::<Result<Vec<u8>, Error>>::new());
    let bad = CozeStreamClient::new(&server.base_url(), "");
    match bad.transcribe_chunks(None, none).await {
        Err(Error::Api {
            status: 101,
            code: 4100,
            logid: Some(logid),
            ..
        }) => assert_eq!(logid.len(), 53),
        other => panic!("expected the error event 4100: {other:?}"),
    }
    let refusing = MockServer::builder()
        .config(Config {
            ws_auth_handshake: true,
            ..Config::default()
        })
        .manual_clock(None)
        .start()
        .await
        .unwrap();
    let none = futures_util::stream::iter(Vec::<Result<Vec<u8>, Error>>::new());
    let bad = CozeStreamClient::new(&refusing.base_url(), "");
    match bad.transcribe_chunks(None, none).await {
        Err(Error::Api {
            status: 401,
            code: 4100,
            ..
        }) => {}
        other => panic!("expected HTTP 401 / 4100: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// However the audio is cut, the final text is the same, and it is the upload's.
    #[test]
    fn any_chunking_gives_the_upload_s_text(cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let server = mock().await;
            let wav = speech_wav(&server, 3).await;
            let http = CozeClient::new(server.base_url(), "pat_test")
                .transcribe_bytes(wav.clone(), "a.wav")
                .await
                .unwrap();
            let chunks = futures_util::stream::iter(chunked(&wav, &cuts).into_iter().map(Ok));
            let got = client(&server).transcribe_chunks(None, chunks).await.unwrap();
            assert_eq!(got.text, http.text);
        });
    }
}

#[tokio::test]
async fn wss_works_against_a_self_signed_simulator_trusting_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::builder()
        .config(Config {
            tls_self_signed: Some(dir.path().join("cert.pem")),
            ..Config::default()
        })
        .start()
        .await
        .unwrap();
    let base = server.base_url();
    assert!(base.starts_with("https://"), "{base}");
    let pem = server
        .certificate_pem()
        .expect("a TLS server has a certificate");
    // The simulator's own control client trusts it already.
    server.control().health().await.unwrap();
    let wav = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mock-server/tests/fixtures/audio/speech-cmn-16k.wav"
    ))
    .unwrap();
    let trusted = CozeStreamClient::new(&base, "pat_test")
        .with_timeout(Duration::from_secs(60))
        .with_root_certificate_pem(pem)
        .unwrap();
    let chunks = futures_util::stream::iter(chunked(&wav, &[5_000]).into_iter().map(Ok));
    let got = trusted.transcribe_chunks(None, chunks).await.unwrap();
    assert!(!got.text.is_empty());
    // Without the certificate the handshake fails: public roots do not include it.
    let untrusted = CozeStreamClient::new(&base, "pat_test");
    let chunks = futures_util::stream::iter(vec![Ok(wav.clone())]);
    let err = untrusted.transcribe_chunks(None, chunks).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(CozeStreamClient::new(&base, "t")
        .with_root_certificate_pem(b"not a certificate")
        .is_err());
}
