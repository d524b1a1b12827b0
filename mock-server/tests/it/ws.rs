//! Coze streaming recognition over a real WebSocket: envelopes, token policy, errors that keep
//! the connection open, limits that close it, and the final text against the HTTP endpoint.

use std::time::Duration;

use asr_mock::{Config, MockServer};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use asr_mock::control::types::RequestEntry;

use crate::support::{fixture, TestApp, START_MS};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects with `auth` as the header (or nothing); returns the socket and the 101's logid.
async fn connect(app: &TestApp, path_and_query: &str, auth: Option<&str>) -> (Ws, String) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    connect_with(app, path_and_query, &headers).await
}

/// Connects with these headers.
async fn connect_with(
    app: &TestApp,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> (Ws, String) {
    let url = app.url(path_and_query).replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes());
        request
            .headers_mut()
            .insert(name.unwrap(), value.parse().unwrap());
    }
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let logid = response.headers()["x-tt-logid"]
        .to_str()
        .unwrap()
        .to_owned();
    (ws, logid)
}

async fn open(app: &TestApp) -> (Ws, String) {
    connect(app, "/v1/audio/transcriptions", Some("Bearer pat_test")).await
}

/// Opens under the scenario `name` (the `X-Mock-Scenario` header on the handshake).
async fn open_under(app: &TestApp, name: &str) -> (Ws, String) {
    let headers = [
        ("Authorization", "Bearer pat_test"),
        ("X-Mock-Scenario", name),
    ];
    connect_with(app, "/v1/audio/transcriptions", &headers).await
}

/// The journal entry of the session with `logid`, once the session has ended.
async fn session_entry(app: &TestApp, logid: &str) -> RequestEntry {
    for _ in 0..300 {
        let found = app
            .journal()
            .await
            .into_iter()
            .find(|e| e.id.as_deref() == Some(logid));
        if let Some(entry) = found {
            return entry;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no journal entry for {logid} within 30 s");
}

/// Whether nothing arrives for a while (the manual clock holds a delayed event back).
async fn quiet(ws: &mut Ws) -> bool {
    tokio::time::timeout(Duration::from_millis(300), ws.next())
        .await
        .is_err()
}

/// The next server event (text frames only), within a generous bound.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("an event within 30 s")
            .expect("the connection is open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => continue,
        }
    }
}

async fn send(ws: &mut Ws, event: Value) {
    ws.send(Message::text(event.to_string())).await.unwrap();
}

/// A session past `created`, its input set to raw 16 kHz PCM (and `updated` read).
async fn open_pcm_16k(app: &TestApp) -> Ws {
    let (mut ws, _) = open(app).await;
    set_pcm_16k(&mut ws).await;
    ws
}

/// Reads `created`, sets the input to raw 16 kHz PCM and reads `updated`.
async fn set_pcm_16k(ws: &mut Ws) {
    next(ws).await;
    send(
        ws,
        json!({"event_type": "transcriptions.update",
               "data": {"input_audio": {"format": "pcm", "sample_rate": 16000}}}),
    )
    .await;
    next(ws).await;
}

fn complete() -> Value {
    json!({"event_type": "input_audio_buffer.complete"})
}

/// An event's `detail.respond_at`, a string of epoch ms, as a number.
fn respond_at(event: &Value) -> i64 {
    event["detail"]["respond_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn append(bytes: &[u8]) -> Value {
    let delta = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({"event_type": "input_audio_buffer.append", "data": {"delta": delta}})
}

/// Streams `audio` in `chunk`-byte appends, completes, and returns the final text (the last
/// update before `message.completed`) and every update seen.
async fn stream_all(ws: &mut Ws, audio: &[u8], chunk: usize) -> (String, Vec<String>) {
    for piece in audio.chunks(chunk.max(1)) {
        send(ws, append(piece)).await;
    }
    send(ws, complete()).await;
    let mut updates = Vec::new();
    let mut completed = false;
    loop {
        let event = next(ws).await;
        match event["event_type"].as_str().unwrap() {
            "transcriptions.message.update" => {
                updates.push(event["data"]["content"].as_str().unwrap().to_owned());
            }
            "input_audio_buffer.completed" => completed = true,
            "transcriptions.message.completed" => break,
            other => panic!("unexpected {other}: {event}"),
        }
    }
    assert!(completed, "input_audio_buffer.completed came first");
    (updates.last().cloned().unwrap_or_default(), updates)
}

#[tokio::test]
async fn envelopes_logid_and_config_echo() {
    let app = TestApp::start().await;
    let (mut ws, logid) = open(&app).await;
    assert_eq!(logid.len(), 53, "{logid}");
    assert!(logid.starts_with(&format!("02{START_MS}")), "{logid}");
    assert!(logid[15..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let created = next(&mut ws).await;
    assert_eq!(created["event_type"], "transcriptions.created");
    assert!(created.get("data").is_none());
    assert_eq!(created["detail"]["logid"], logid.as_str());
    assert_eq!(created["detail"]["respond_at"], START_MS.to_string());
    let id = created["id"].as_str().unwrap();
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "{id}");

    send(
        &mut ws,
        json!({"id": "a1", "event_type": "transcriptions.update",
               "data": {"input_audio": {"format": "pcm", "sample_rate": 16000}}}),
    )
    .await;
    let updated = next(&mut ws).await;
    assert_eq!(updated["event_type"], "transcriptions.updated");
    assert_eq!(
        updated["data"]["input_audio"],
        json!({"format": "pcm", "codec": "pcm", "sample_rate": 16000, "channel": 1, "bit_depth": 16})
    );
    assert_ne!(updated["id"], created["id"]);
    // `data: {}` (Go with nil InputAudio) echoes the config unchanged.
    send(
        &mut ws,
        json!({"event_type": "transcriptions.update", "data": {}}),
    )
    .await;
    assert_eq!(next(&mut ws).await["data"], updated["data"]);
}

#[tokio::test]
async fn bad_frames_get_4000_and_the_connection_stays_open() {
    let app = TestApp::start().await;
    let (mut ws, _) = open(&app).await;
    next(&mut ws).await;
    let bad_config = json!({"id": "b1", "event_type": "transcriptions.update",
        "data": {"input_audio": {"codec": "g711a", "sample_rate": 16000}}})
    .to_string();
    let cases = [
        bad_config.clone(),
        "not json".to_owned(),
        json!({"event_type": "input_audio_buffer.append", "data": {"delta": "***"}}).to_string(),
        json!({"event_type": "input_audio_buffer.append", "data": {}}).to_string(),
        json!({"event_type": "conversation.chat"}).to_string(),
        json!({"event_type": "transcriptions.update",
               "data": {"input_audio": {"sample_rate": "16000"}}})
        .to_string(),
    ];
    for raw in &cases {
        ws.send(Message::text(raw.clone())).await.unwrap();
        let error = next(&mut ws).await;
        assert_eq!(error["event_type"], "error", "{raw}");
        assert_eq!(error["data"]["code"], 4000, "{raw}");
        assert_eq!(error["detail"]["origin_message"], raw.as_str());
        assert!(!error["data"]["msg"].as_str().unwrap().is_empty());
    }
    let error = {
        ws.send(Message::text(bad_config)).await.unwrap();
        next(&mut ws).await
    };
    assert_eq!(
        error["data"]["msg"],
        "invalid input_audio: g711a requires sample_rate 8000"
    );
    // Still open, and the old config kept.
    send(&mut ws, json!({"event_type": "transcriptions.update"})).await;
    let updated = next(&mut ws).await;
    assert_eq!(updated["data"]["input_audio"]["codec"], "pcm");
    assert_eq!(updated["data"]["input_audio"]["sample_rate"], 24000);
}

#[tokio::test]
async fn token_in_the_query_and_bad_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[tokens]]\ntoken = \"pat_good\"\npermissions = [\"createTranscription\"]\n\
         [[tokens]]\ntoken = \"pat_none\"\npermissions = []\n",
    )
    .unwrap();
    let app = TestApp::with(
        MockServer::builder()
            .manual_clock(Some(START_MS))
            .tokens_file(&tokens),
    )
    .await;
    let path = "/v1/audio/transcriptions?authorization=Bearer%20pat_good";
    let (mut ws, _) = connect(&app, path, None).await;
    assert_eq!(next(&mut ws).await["event_type"], "transcriptions.created");
    for (auth, code) in [(None, 4100), (Some("Bearer pat_none"), 4101)] {
        let (mut ws, logid) = connect(&app, "/v1/audio/transcriptions", auth).await;
        let error = next(&mut ws).await;
        assert_eq!(error["event_type"], "error");
        assert_eq!(error["data"]["code"], code);
        assert_eq!(error["detail"]["logid"], logid.as_str());
        match ws.next().await {
            Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 1000),
            other => panic!("expected a close, got {other:?}"),
        }
    }
    // The handshake setting: 401/403 with the logid, no upgrade.
    let config = Config {
        tokens: Some(tokens.clone()),
        ws_auth_handshake: true,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    for (auth, status) in [(None, 401), (Some("Bearer pat_none"), 403)] {
        let url = app
            .url("/v1/audio/transcriptions")
            .replace("http://", "ws://");
        let mut request = url.into_client_request().unwrap();
        if let Some(auth) = auth {
            request
                .headers_mut()
                .insert("Authorization", auth.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), status);
                let logid = response.headers()["x-tt-logid"].to_str().unwrap();
                assert_eq!(logid.len(), 53);
            }
            other => panic!("expected a refused handshake, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn final_text_matches_the_http_endpoint_for_any_chunking() {
    let app = TestApp::start().await;
    for name in [
        "speech-cmn-16k.wav",
        "speech-stereo-8k.wav",
        "speech-cmn.ogg",
    ] {
        let audio = fixture(name);
        let http = app.transcribe(name, audio.clone()).await;
        assert_eq!(http.status, 200, "{name}");
        let expected = http.text().to_owned();
        assert!(!expected.is_empty(), "{name}");
        for chunk in [audio.len(), 4096, 3200, 777] {
            let (mut ws, _) = open(&app).await;
            next(&mut ws).await;
            let (text, updates) = stream_all(&mut ws, &audio, chunk).await;
            assert_eq!(text, expected, "{name} in {chunk}-byte chunks");
            // Cumulative: each update extends the one before.
            for pair in updates.windows(2) {
                assert!(pair[1].starts_with(&pair[0]), "{pair:?}");
            }
        }
    }
}

#[tokio::test]
async fn raw_pcm_reads_like_the_same_samples_in_a_wav_and_cycles_repeat() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let expected = app.transcribe("a.wav", wav.clone()).await.text().to_owned();
    let mut ws = open_pcm_16k(&app).await;
    let pcm = &wav[44..];
    let (text, _) = stream_all(&mut ws, pcm, 3200).await;
    assert_eq!(text, expected);
    // A second cycle on the same connection, after a clear.
    send(&mut ws, append(&pcm[..6400])).await;
    send(&mut ws, json!({"event_type": "input_audio_buffer.clear"})).await;
    assert_eq!(
        next(&mut ws).await["event_type"],
        "input_audio_buffer.cleared"
    );
    let (again, _) = stream_all(&mut ws, pcm, 32_000).await;
    assert_eq!(again, expected);
    // An empty buffer still ends with message.completed.
    let (empty, updates) = stream_all(&mut ws, &[], 1).await;
    assert_eq!((empty.as_str(), updates.len()), ("", 0));
}

#[tokio::test]
async fn partial_updates_wait_for_the_audio_time_on_the_clock() {
    let app = TestApp::start().await;
    // Speech, a second of silence, speech again, a second of silence: two settled spans.
    let speech = &fixture("speech-cmn-16k.wav")[44..];
    let silence = vec![0u8; 32_000];
    let audio = [speech, &silence, speech, &silence].concat();
    let mut ws = open_pcm_16k(&app).await;
    // The first append counts as played on arrival (100 ms of silence); the rest is due as
    // its audio time passes on the clock.
    send(&mut ws, append(&silence[..3_200])).await;
    send(&mut ws, append(&audio)).await;
    // Nothing before the clock moves (manual clock): then the partial text comes.
    let early = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
    assert!(early.is_err(), "no update before its audio time: {early:?}");
    app.server.clock().advance(Duration::from_secs(3_600));
    let update = next(&mut ws).await;
    assert_eq!(update["event_type"], "transcriptions.message.update");
    let partial = update["data"]["content"].as_str().unwrap().to_owned();
    assert!(!partial.is_empty());
    let respond_at = respond_at(&update);
    assert_eq!(respond_at, START_MS + 3_600_000);
    let (text, _) = stream_all(&mut ws, &[], 1).await;
    assert!(text.starts_with(&partial), "{partial} then {text}");
}

#[tokio::test]
async fn speech_still_coming_gets_an_interim_update_that_the_final_text_extends() {
    let app = TestApp::start().await;
    let pcm = &fixture("speech-cmn-16k.wav")[44..];
    let mut ws = open_pcm_16k(&app).await;
    // The first second, as 20 ms chunks: due as the clock passes their audio time.
    for chunk in pcm[..32_000].chunks(640) {
        send(&mut ws, append(chunk)).await;
    }
    assert!(quiet(&mut ws).await, "nothing before the clock moves");
    app.server.clock().advance(Duration::from_secs(1));
    let update = next(&mut ws).await;
    assert_eq!(update["event_type"], "transcriptions.message.update");
    let interim = update["data"]["content"].as_str().unwrap().to_owned();
    assert!(!interim.is_empty());
    assert!(
        !interim.ends_with(|c: char| !c.is_alphanumeric()),
        "no closing punctuation while speech goes on: {interim}"
    );
    let (text, _) = stream_all(&mut ws, &pcm[32_000..], 640).await;
    assert!(text.starts_with(&interim), "{interim} then {text}");
    assert!(text.len() > interim.len(), "{interim} then {text}");
}

#[tokio::test]
async fn a_client_close_is_answered_with_a_close_frame() {
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    let app = TestApp::start().await;
    let (mut ws, logid) = open(&app).await;
    next(&mut ws).await;
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(&reply, Some(Ok(Message::Close(Some(c)))) if c.code == CloseCode::Normal),
        "{reply:?}"
    );
    let stream = session_entry(&app, &logid).await.stream.unwrap();
    assert_eq!(
        (stream.close_code, stream.ended_by.as_str()),
        (Some(1000), "client")
    );
}

#[tokio::test]
async fn limits_send_an_error_and_close() {
    let config = Config {
        ws_max_duration_ms: 1_000,
        ws_max_frame_bytes: 64 * 1024,
        ..Config::default()
    };
    let app = TestApp::with(
        MockServer::builder()
            .config(config)
            .manual_clock(Some(START_MS)),
    )
    .await;
    let wav = fixture("speech-cmn-16k.wav");
    let (mut ws, _) = open(&app).await;
    next(&mut ws).await;
    send(&mut ws, append(&wav[..40_000])).await;
    let error = next(&mut ws).await;
    assert_eq!(error["data"]["code"], 4000);
    assert!(error["data"]["msg"].as_str().unwrap().contains("1000 ms"));
    assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))));

    let (mut ws, _) = open(&app).await;
    next(&mut ws).await;
    send(&mut ws, append(&vec![0u8; 100_000])).await;
    let error = next(&mut ws).await;
    assert_eq!(error["event_type"], "error");
    assert_eq!(error["data"]["code"], 4000);
}

#[tokio::test]
async fn the_journal_records_each_session() {
    let app = TestApp::start().await;
    let wav = fixture("speech-cmn-16k.wav");
    let expected = app.transcribe("a.wav", wav.clone()).await.text().to_owned();
    let (mut ws, logid) = open(&app).await;
    let mut sent = Vec::new();
    let mut received = Vec::new();
    received.push(next(&mut ws).await);
    for piece in wav.chunks(20_000) {
        let event = append(piece);
        sent.push(event.to_string());
        send(&mut ws, event).await;
    }
    let complete = json!({"event_type": "input_audio_buffer.complete"});
    sent.push(complete.to_string());
    send(&mut ws, complete).await;
    loop {
        let event = next(&mut ws).await;
        let done = event["event_type"] == "transcriptions.message.completed";
        received.push(event);
        if done {
            break;
        }
    }
    ws.close(None).await.unwrap();
    let entry = session_entry(&app, &logid).await;
    assert_eq!((entry.method.as_str(), entry.status), ("GET", 101));
    assert_eq!(entry.path, "/v1/audio/transcriptions");
    let stream = entry.stream.expect("a session record");
    // The close frame counts as a frame of no payload.
    assert_eq!(stream.frames_in, sent.len() as u64 + 1);
    let bytes_in: usize = sent.iter().map(String::len).sum();
    assert_eq!(stream.bytes_in, bytes_in as u64);
    assert_eq!(stream.frames_out, received.len() as u64);
    let bytes_out: usize = received.iter().map(|e| e.to_string().len()).sum();
    assert_eq!(stream.bytes_out, bytes_out as u64);
    assert_eq!(stream.final_text.as_deref(), Some(expected.as_str()));
    assert_eq!(
        (stream.close_code, stream.ended_by.as_str()),
        (None, "client")
    );

    // A session the server ends: a bad token's error, then close 1000.
    let (mut ws, logid) = connect(&app, "/v1/audio/transcriptions", Some("Bearer")).await;
    assert_eq!(next(&mut ws).await["event_type"], "error");
    let entry = session_entry(&app, &logid).await;
    let stream = entry.stream.expect("a session record");
    assert_eq!(
        (stream.close_code, stream.ended_by.as_str()),
        (Some(1000), "server")
    );
    assert_eq!(
        (stream.frames_out, stream.frames_in, stream.final_text),
        (2, 0, None)
    );
}

#[tokio::test]
async fn stream_scenarios_error_instead_of_created_and_drop_after_updates() {
    let app = TestApp::start().await;
    let (mut ws, logid) = open_under(&app, "coze-stream-error").await;
    let error = next(&mut ws).await;
    assert_eq!(error["event_type"], "error");
    assert_eq!(error["data"]["code"], 5000);
    assert!(error["data"]["msg"]
        .as_str()
        .unwrap()
        .contains("unavailable"));
    assert!(
        matches!(ws.next().await, Some(Ok(Message::Close(Some(c)))) if u16::from(c.code) == 1000)
    );
    let entry = session_entry(&app, &logid).await;
    assert_eq!(entry.scenarios, ["coze-stream-error"]);

    // One append (its audio played on arrival) gives an interim update at once; the final
    // one is the second: the drop comes after it, before message.completed, and without a
    // close frame.
    let pcm = &fixture("speech-cmn-16k.wav")[44..];
    let (mut ws, logid) = open_under(&app, "coze-stream-drop").await;
    set_pcm_16k(&mut ws).await;
    send(&mut ws, append(pcm)).await;
    let interim = next(&mut ws).await;
    assert_eq!(interim["event_type"], "transcriptions.message.update");
    send(&mut ws, complete()).await;
    assert_eq!(
        next(&mut ws).await["event_type"],
        "input_audio_buffer.completed"
    );
    assert_eq!(
        next(&mut ws).await["event_type"],
        "transcriptions.message.update"
    );
    let end = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .unwrap();
    assert!(
        !matches!(
            end,
            Some(Ok(Message::Close(_))) | Some(Ok(Message::Text(_)))
        ),
        "dropped without a close frame: {end:?}"
    );
    let stream = session_entry(&app, &logid).await.stream.unwrap();
    assert_eq!(
        (stream.close_code, stream.ended_by.as_str()),
        (None, "dropped")
    );
}

#[tokio::test]
async fn stream_scenarios_delay_updates_and_completed_on_the_clock() {
    let app = TestApp::start().await;
    let clock = app.server.clock();
    let wav = fixture("speech-cmn-16k.wav");

    let (mut ws, _) = open_under(&app, "coze-stream-slow-completed").await;
    next(&mut ws).await;
    send(&mut ws, append(&wav)).await;
    // Audio played on arrival: its interim text comes at once.
    assert_eq!(
        next(&mut ws).await["event_type"],
        "transcriptions.message.update"
    );
    send(&mut ws, complete()).await;
    assert!(quiet(&mut ws).await, "completed waits for the clock");
    let before = clock.now_ms();
    clock.advance(Duration::from_millis(8_000));
    let completed = next(&mut ws).await;
    assert_eq!(completed["event_type"], "input_audio_buffer.completed");
    let at = respond_at(&completed);
    assert_eq!(at, before + 8_000);
    assert_eq!(
        next(&mut ws).await["event_type"],
        "transcriptions.message.update"
    );

    let (mut ws, _) = open_under(&app, "coze-stream-slow-updates").await;
    next(&mut ws).await;
    send(&mut ws, append(&wav)).await;
    send(&mut ws, complete()).await;
    assert_eq!(
        next(&mut ws).await["event_type"],
        "input_audio_buffer.completed"
    );
    assert!(quiet(&mut ws).await, "the final update waits for the clock");
    let before = clock.now_ms();
    clock.advance(Duration::from_millis(1_500));
    let update = next(&mut ws).await;
    assert_eq!(update["event_type"], "transcriptions.message.update");
    let at = respond_at(&update);
    assert_eq!(at, before + 1_500);
}

#[tokio::test]
async fn the_101_writes_x_tt_logid_in_coze_s_case() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start().await;
    let addr = app.url("").replace("http://", "");
    let mut tcp = TcpStream::connect(addr.trim_end_matches('/'))
        .await
        .unwrap();
    tcp.write_all(
        b"GET /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
          Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer pat_t\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "the head ends before the close");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("\r\nX-Tt-Logid: 02"), "{head}");
}

#[tokio::test]
async fn an_unknown_scenario_refuses_the_handshake_in_coze_s_envelope() {
    let app = TestApp::start().await;
    let url = app
        .url("/v1/audio/transcriptions")
        .replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Authorization", "Bearer pat_test".parse().unwrap());
    headers.insert("X-Mock-Scenario", "no-such-scenario".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("the handshake is refused");
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("an HTTP refusal: {err:?}")
    };
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-tt-logid"].len(), 53);
    let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
    assert!(
        body["msg"].as_str().unwrap().contains("no-such-scenario"),
        "{body}"
    );
}
