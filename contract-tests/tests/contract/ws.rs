//! JSON snapshots of every server event of Coze's streaming recognition (`created`,
//! `updated`, `error`, `completed`, `message.update`, `message.completed`, `cleared`) as a
//! real WebSocket client receives them. Each id is checked to be a UUIDv4 and each logid to
//! be the 53-character streaming form before both are hidden; `respond_at` stays (manual
//! clock).

use asr_contract::fixtures;
use asr_contract::target::MOCK_START_MS;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use insta::internals::Redaction;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::support::open_mock;

/// A UUIDv4, checked, then hidden.
fn uuid() -> Redaction {
    insta::dynamic_redaction(|value, _| {
        let id = value.as_str().unwrap_or_default();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "not a UUID: {id:?}");
        assert_eq!(&id[14..15], "4", "not v4: {id:?}");
        assert!(id
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        "[uuid v4]"
    })
}

/// The streaming logid: `02`, 13 digits of epoch ms (kept: manual clock), 38 hex (hidden).
fn stream_logid() -> Redaction {
    insta::dynamic_redaction(|value, _| {
        let id = value.as_str().unwrap_or_default().to_owned();
        assert_eq!(id.len(), 53, "{id:?}");
        assert!(id.starts_with("02") && id[2..15].bytes().all(|b| b.is_ascii_digit()));
        assert!(id[15..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        format!("{}[38 hex]", &id[..15])
    })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.expect("open").expect("a frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON event"),
            Message::Close(c) => return json!({"close": c.map(|c| u16::from(c.code))}),
            _ => continue,
        }
    }
}

/// Sends `event` and collects the `answers` events it brings.
async fn say(ws: &mut Ws, event: Value, answers: usize, events: &mut Vec<Value>) {
    ws.send(Message::text(event.to_string())).await.unwrap();
    for _ in 0..answers {
        events.push(next(ws).await);
    }
}

#[tokio::test]
async fn coze_stream_events() {
    let server = open_mock().await;
    let url = format!("{}/v1/audio/transcriptions", server.base_url()).replace("http://", "ws://");
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", "Bearer pat_contract".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut events = vec![next(&mut ws).await];
    say(
        &mut ws,
        json!({"event_type": "transcriptions.update",
        "data": {"input_audio": {"format": "wav", "sample_rate": 16000}}}),
        1,
        &mut events,
    )
    .await;
    say(
        &mut ws,
        json!({"event_type": "transcriptions.update",
        "data": {"input_audio": {"channel": 3}}}),
        1,
        &mut events,
    )
    .await;
    let delta = base64::engine::general_purpose::STANDARD.encode(fixtures::SPEECH);
    say(
        &mut ws,
        // The audio of the first append counts as played on arrival: its interim text
        // comes at once, before `complete` is sent.
        json!({"event_type": "input_audio_buffer.append", "data": {"delta": delta}}),
        1,
        &mut events,
    )
    .await;
    say(
        &mut ws,
        json!({"event_type": "input_audio_buffer.complete"}),
        3,
        &mut events,
    )
    .await;
    say(
        &mut ws,
        json!({"event_type": "input_audio_buffer.clear"}),
        1,
        &mut events,
    )
    .await;
    assert_eq!(
        events
            .iter()
            .map(|e| e["event_type"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        [
            "transcriptions.created",
            "transcriptions.updated",
            "error",
            "transcriptions.message.update",
            "input_audio_buffer.completed",
            "transcriptions.message.update",
            "transcriptions.message.completed",
            "input_audio_buffer.cleared",
        ]
    );
    for e in &events {
        assert_eq!(e["detail"]["respond_at"], MOCK_START_MS.to_string());
    }
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s.set_description("Coze streaming: every server event, in the order a session sees them");
    s.set_omit_expression(true);
    s.bind(|| {
        insta::assert_json_snapshot!("coze_stream_events", events, {
            "[].id" => uuid(),
            "[].detail.logid" => stream_logid(),
        });
    });
}
