//! Provider A over real sockets: every row of the spec's error table, every format, the
//! body limits, logids and determinism.

use std::time::Duration;

use asr_mock::MockServer;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{fixture, silent_wav, Answer, TestApp, START_MS};

const MB: usize = 1024 * 1024;

#[tokio::test]
async fn speech_is_transcribed_in_the_coze_envelope() {
    let app = TestApp::start().await;
    let answer = app
        .transcribe("speech-cmn-16k.wav", fixture("speech-cmn-16k.wav"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.code(), 0);
    assert_eq!(answer.msg(), "");
    assert!(!answer.text().is_empty(), "speech gives text");
    answer.assert_envelope();
    // Exactly the documented fields, nothing more.
    let keys: Vec<&str> = answer
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["code", "data", "detail", "msg"]);
}

#[tokio::test]
async fn logid_carries_beijing_time_of_the_clock() {
    let app = TestApp::start().await; // 2025-01-01T00:00:00Z = 08:00 in Beijing
    let first = app.transcribe("a.wav", fixture("speech-cmn-16k.wav")).await;
    assert!(first
        .logid_header
        .as_deref()
        .unwrap()
        .starts_with("20250101080000"));
    app.server
        .clock()
        .advance(Duration::from_secs(3600 * 16 + 61));
    let later = app.transcribe("a.wav", fixture("speech-cmn-16k.wav")).await;
    assert!(later
        .logid_header
        .as_deref()
        .unwrap()
        .starts_with("20250102000101"));
    assert_ne!(first.logid_header, later.logid_header);
}

#[tokio::test]
async fn silent_audio_gives_empty_text() {
    let app = TestApp::start().await;
    let answer = app
        .transcribe("silence.wav", fixture("silence-2s-16k.wav"))
        .await;
    assert_eq!((answer.status, answer.code()), (200, 0));
    assert_eq!(answer.text(), "");
}

#[tokio::test]
async fn missing_or_malformed_token_is_4100() {
    let app = TestApp::start().await;
    for auth in [
        None,
        Some("pat_no_scheme"),
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer "),
    ] {
        let form = Form::new().part(
            "file",
            Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav"),
        );
        let answer = app.transcribe_form(auth, form).await;
        answer.assert_error(4100, 401);
        assert_eq!(answer.msg(), "authentication is invalid");
    }
}

#[tokio::test]
async fn tokens_file_limits_tokens_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.toml");
    std::fs::write(
        &path,
        "[[tokens]]\ntoken = \"pat_good\"\npermissions = [\"createTranscription\"]\n\
         [[tokens]]\ntoken = \"pat_readonly\"\npermissions = [\"listBots\"]\n",
    )
    .unwrap();
    let app = TestApp::with(
        MockServer::builder()
            .manual_clock(Some(START_MS))
            .tokens_file(&path),
    )
    .await;
    let send = |token: &'static str| {
        let form = Form::new().part(
            "file",
            Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav"),
        );
        let auth = format!("Bearer {token}");
        let app = &app;
        async move { app.transcribe_form(Some(&auth), form).await }
    };
    assert_eq!(send("pat_good").await.code(), 0);
    send("pat_unknown").await.assert_error(4100, 401);
    let forbidden = send("pat_readonly").await;
    forbidden.assert_error(4101, 403);
    assert!(
        forbidden.msg().contains("createTranscription"),
        "{}",
        forbidden.msg()
    );
}

#[tokio::test]
async fn a_body_that_is_not_multipart_is_4000() {
    let app = TestApp::start().await;
    let res = app
        .http
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth("pat_test")
        .json(&json!({"file": "hello.wav"}))
        .send()
        .await
        .unwrap();
    let answer = Answer::read(res).await;
    answer.assert_error(4000, 400);
    assert_eq!(
        answer.msg(),
        "The parameter file is invalid. It should follow the format: file. Please review your input."
    );
}

#[tokio::test]
async fn a_form_without_a_file_part_is_4000() {
    let app = TestApp::start().await;
    let form = Form::new().text("model", "whisper").part(
        "body",
        Part::bytes(fixture("speech-cmn-16k.wav")).file_name("a.wav"),
    );
    app.transcribe_form(Some("Bearer pat_test"), form)
        .await
        .assert_error(4000, 400);
}

#[tokio::test]
async fn a_file_part_without_filename_is_4000() {
    let app = TestApp::start().await;
    let form = Form::new().part("file", Part::bytes(fixture("speech-cmn-16k.wav")));
    app.transcribe_form(Some("Bearer pat_test"), form)
        .await
        .assert_error(4000, 400);
}

#[tokio::test]
async fn a_malformed_multipart_body_is_4000_with_the_reason() {
    let app = TestApp::start().await;
    let res = app
        .http
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth("pat_test")
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF")
        .send()
        .await
        .unwrap();
    let answer = Answer::read(res).await;
    answer.assert_error(4000, 400);
    assert!(answer.msg().contains("malformed"), "{}", answer.msg());
}

#[tokio::test]
async fn an_empty_file_is_4300() {
    let app = TestApp::start().await;
    app.transcribe("empty.wav", Vec::new())
        .await
        .assert_error(4300, 400);
}

#[tokio::test]
async fn two_file_parts_are_4301() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let form = Form::new()
        .part("file", Part::bytes(wav.clone()).file_name("a.wav"))
        .part("file", Part::bytes(wav).file_name("b.wav"));
    app.transcribe_form(Some("Bearer pat_test"), form)
        .await
        .assert_error(4301, 400);
}

#[tokio::test]
async fn a_file_over_10_mb_is_4302() {
    let app = TestApp::start().await;
    let mut big = silent_wav(16_000, 1);
    big.resize(10 * MB + 1, 128);
    app.transcribe("big.wav", big).await.assert_error(4302, 400);
    // Exactly 10 MB is still accepted as far as size goes.
    let mut limit = silent_wav(8_000, 1);
    limit.resize(10 * MB, 128);
    let answer = app.transcribe("limit.wav", limit).await;
    assert_ne!(answer.code(), 4302, "{}", answer.msg());
}

#[tokio::test]
async fn formats_outside_the_large_model_list_are_4303() {
    let app = TestApp::start().await;
    for name in [
        "speech-cmn.flac",
        "speech-cmn.wma",
        "speech-cmn.flv",
        "speech-cmn.3gp",
    ] {
        let answer = app.transcribe(name, fixture(name)).await;
        answer.assert_error(4303, 400);
        assert!(answer.msg().contains("large"), "{name}: {}", answer.msg());
    }
    let answer = app.transcribe("notes.txt", fixture("not-audio.txt")).await;
    answer.assert_error(4303, 400);
}

#[tokio::test]
async fn corrupt_audio_is_4304() {
    let app = TestApp::start().await;
    for name in ["truncated-header.wav", "truncated-moov.m4a"] {
        let answer = app.transcribe(name, fixture(name)).await;
        answer.assert_error(4304, 400);
    }
    // Bytes that are no audio at all, under a name that promises mp3.
    let answer = app.transcribe("song.mp3", fixture("not-audio.png")).await;
    answer.assert_error(4304, 400);
    assert!(answer.msg().contains("mp3"), "{}", answer.msg());
}

#[tokio::test]
async fn thirty_minutes_or_more_is_4000() {
    let app = TestApp::start().await;
    let answer = app.transcribe("long.wav", silent_wav(1_000, 30 * 60)).await;
    answer.assert_error(4000, 400);
    assert!(answer.msg().contains("30 minutes"), "{}", answer.msg());
    let answer = app
        .transcribe("short.wav", silent_wav(1_000, 30 * 60 - 1))
        .await;
    assert_eq!(answer.code(), 0, "{}", answer.msg());
}

#[tokio::test]
async fn every_large_model_format_is_accepted_by_its_bytes() {
    let app = TestApp::start().await;
    let formats = [
        "speech-cmn-16k.wav",
        "speech-cmn-rf64.wav",
        "speech-stereo-8k.wav",
        "speech-cmn.mp3",
        "speech-cmn-cbr-noxing.mp3",
        "speech-cmn.ogg",
        "speech-cmn.opus",
        "speech-cmn.spx",
        "speech-cmn.m4a",
        "speech-cmn.mp4",
        "speech-cmn.aac",
        "speech-cmn.amr",
        "synthetic-wb.amr",
        "speech-cmn.pcm",
    ];
    for name in formats {
        let answer = app.transcribe(name, fixture(name)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (200, 0),
            "{name}: {}",
            answer.msg()
        );
        assert!(!answer.text().is_empty(), "{name} has speech");
        // Identified by bytes: a misleading name does not matter.
        if name != "speech-cmn.pcm" {
            let renamed = app.transcribe("upload", fixture(name)).await;
            assert_eq!(renamed.code(), 0, "{name} as 'upload': {}", renamed.msg());
        }
    }
}

#[tokio::test]
async fn the_small_model_takes_only_its_five_formats() {
    let app = TestApp::small_model().await;
    for name in [
        "speech-cmn-16k.wav",
        "speech-cmn.mp3",
        "speech-cmn.ogg",
        "speech-cmn.opus",
        "speech-cmn.m4a",
        "speech-cmn.mp4",
    ] {
        let answer = app.transcribe(name, fixture(name)).await;
        assert_eq!(answer.code(), 0, "{name}: {}", answer.msg());
    }
    for name in [
        "speech-cmn.amr",
        "speech-cmn.aac",
        "speech-cmn.pcm",
        "speech-cmn.spx",
    ] {
        let answer = app.transcribe(name, fixture(name)).await;
        answer.assert_error(4303, 400);
        assert!(answer.msg().contains("small"), "{name}: {}", answer.msg());
    }
}

#[tokio::test]
async fn sdk_style_parts_are_accepted() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    // Full client-side path (Go example), raw-bytes name (Python), odd part types (Java).
    for (filename, mime) in [
        ("/Users/u/Downloads/hello.wav", Some("audio/x-wav")),
        ("upload", Some("application/octet-stream")),
        ("hello.wav", Some("multipart/form-data")),
        ("hello.wav", None),
    ] {
        let mut part = Part::bytes(wav.clone()).file_name(filename);
        if let Some(mime) = mime {
            part = part.mime_str(mime).unwrap();
        }
        let form = Form::new().part("file", part);
        let res = app
            .http
            .post(app.url("/v1/audio/transcriptions"))
            .header("Authorization", "Bearer sat_service")
            .header(
                "X-Coze-Client-User-Agent",
                r#"{"version":"0.1","lang":"python"}"#,
            )
            .header("X-Tt-Logid", "client-chosen")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let answer = Answer::read(res).await;
        assert_eq!(answer.code(), 0, "{filename} {mime:?}: {}", answer.msg());
    }
}

#[tokio::test]
async fn other_methods_and_paths_answer_in_the_envelope() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(app.url("/v1/audio/transcriptions"))
        .send()
        .await
        .unwrap();
    Answer::read(res).await.assert_error(4000, 405);
    let res = app
        .http
        .post(app.url("/v1/audio/speech"))
        .send()
        .await
        .unwrap();
    Answer::read(res).await.assert_error(4200, 404);
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_bytes() {
    async fn run(seed: u64) -> Vec<Vec<u8>> {
        let app = TestApp::seeded(seed).await;
        let mut out = Vec::new();
        for name in ["speech-cmn-16k.wav", "speech-en-16k.wav", "speech-cmn.mp3"] {
            out.push(app.transcribe(name, fixture(name)).await.raw);
        }
        out.push(app.transcribe("empty.wav", Vec::new()).await.raw);
        out
    }
    let a = run(11).await;
    assert_eq!(a, run(11).await, "same seed, same requests, same bytes");
    let b = run(12).await;
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y, "another seed changes logids and generated text");
    }
}

#[tokio::test]
async fn a_declared_body_over_15_mb_is_refused_before_it_is_sent() {
    let app = TestApp::start().await;
    let mut stream = TcpStream::connect(app.server.addr()).await.unwrap();
    let head = format!(
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pat_t\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n",
        200 * MB
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0u8; 64 * 1024]).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"code\":4000"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-tt-logid"),
        "{response}"
    );
}

#[tokio::test]
async fn a_chunked_200_mb_upload_is_cut_off_without_buffering() {
    let app = TestApp::start().await;
    let stream = TcpStream::connect(app.server.addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pat_t\r\n\
                Content-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n";
    let writer_task = tokio::spawn(async move {
        let mut sent = 0usize;
        let preamble =
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n\r\n";
        // Popped from the end: the head goes first, then the part's preamble.
        let mut chunks = vec![chunk(preamble.as_bytes()), head.as_bytes().to_vec()];
        let block = chunk(&[7u8; 256 * 1024]);
        while sent < 200 * MB {
            let next = chunks.pop().unwrap_or_else(|| block.clone());
            if writer.write_all(&next).await.is_err() {
                break;
            }
            sent += next.len();
        }
        sent
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut buf))
        .await
        .expect("answered while the client was still sending")
        .unwrap();
    let response = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("\"code\":4302"), "{response}");
    drop(reader);
    let sent = tokio::time::timeout(Duration::from_secs(30), writer_task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        sent < 100 * MB,
        "the server stopped reading early; client managed {sent} bytes"
    );
}

#[tokio::test]
async fn a_whole_body_over_15_mb_is_413_even_without_content_length() {
    let app = TestApp::start().await;
    // Small file part, then a 16 MB text part: only the whole-body limit catches it.
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n",
    );
    body.extend_from_slice(&fixture("speech-cmn-16k.wav"));
    body.extend_from_slice(b"\r\n--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n");
    body.resize(body.len() + 16 * MB, b'x');
    body.extend_from_slice(b"\r\n--B--\r\n");
    let stream = futures_util::stream::iter(
        body.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let res = app
        .http
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth("pat_test")
        .header("content-type", "multipart/form-data; boundary=B")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // The server may close the connection as it answers; when the answer arrives, it is 413.
    if let Ok(res) = res {
        Answer::read(res).await.assert_error(4000, 413);
    }
    let journal = app.journal().await;
    let last = journal.last().unwrap();
    assert_eq!((last.status, last.code), (413, Some(4000)));
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 8192];
    let mut got = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("response in time")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn an_early_refusal_lets_the_upload_finish_so_the_client_reads_it() {
    // A client still writing its upload when the token is refused must not see a broken
    // pipe: the simulator reads (and discards) the rest of the body before answering.
    let app = TestApp::start().await;
    let mut stream = TcpStream::connect(app.server.addr()).await.unwrap();
    let mut body =
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n"
            .to_vec();
    body.resize(body.len() + 4 * MB, 1);
    body.extend_from_slice(b"\r\n--B--\r\n");
    let head = format!(
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(64 * 1024) {
        stream
            .write_all(piece)
            .await
            .expect("the whole upload is accepted");
    }
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("\"code\":4100"), "{response}");
}
