//! Part 8, streaming recognition over WebSocket, 16 kHz mono PCM in 20 ms appends:
//! (a) on the manual clock, moved 20 ms per append, when the first interim
//!     `transcriptions.message.update` comes, counted from the moment the first 500 ms of
//!     speech have arrived (goal: within 50 ms of simulated time);
//! (b) 100 sessions at once on the real clock, each sending its audio in real time (each
//!     append when its 20 ms have been "captured"); the lag of every interim update from the
//!     append that completed its audio (goal: p99 under 50 ms).
//!
//! Which append completes an update's audio comes from (a): the manual clock stamps each
//! update with the simulated time it fell due, which is when that append arrived.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use asr_mock::MockServer;

use crate::report::{fmt_ms, Report};

const CHUNK_MS: i64 = 20;
/// 20 ms of 16 kHz mono 16-bit PCM.
const CHUNK_BYTES: usize = 640;
const SESSIONS: usize = 100;
const SPEECH_BEFORE_GOAL_MS: i64 = 500;
const GOAL_FIRST_UPDATE_MS: i64 = 50;
const GOAL_P99_LAG: Duration = Duration::from_millis(50);
/// Bounds every wait for a server event.
const EVENT_DEADLINE: Duration = Duration::from_secs(30);
const SPEECH_WAV: &[u8] = include_bytes!("../../tests/fixtures/audio/speech-cmn-16k.wav");

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn stream(
    sim: &MockServer,
    server_rt: Handle,
    report: &mut Report,
) -> Result<(), String> {
    let audio = audio();
    let onset = speech_onset_ms(&audio).ok_or("the bench audio has no speech")?;
    report.section(
        8,
        format!(
            "8. streaming: {:.1} s of 16 kHz PCM (speech from {onset} ms) in 20 ms appends",
            audio.len() as f64 / 32_000.0
        ),
    );

    // (a) The manual clock.
    let due = manual_clock_session(sim, &audio).await?;
    let first = due.first().ok_or("no interim update on the manual clock")?;
    let after = first.1 - (onset + SPEECH_BEFORE_GOAL_MS);
    report.row(
        "first update, manual clock (sim ms after speech start)",
        format!("{} ms", first.1 - onset),
        "",
        "",
    );
    report.row(
        "interim updates in one session",
        due.len().to_string(),
        "",
        "",
    );
    report.goal(
        "stream: first update ≤ 50 ms (sim) after 500 ms of speech",
        format!("{after:+} ms"),
        after <= GOAL_FIRST_UPDATE_MS,
    );

    // (b) Real time, 100 sessions.
    let live = server_rt
        .spawn(async { MockServer::builder().start().await })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let due: HashMap<String, i64> = due.into_iter().collect();
    let result = live_sessions(live.addr(), &audio, &due).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), live.shutdown()).await;
    let (mut lags, unmatched, wall) = result?;
    lags.sort_unstable();
    let at = |q: f64| lags[((lags.len() - 1) as f64 * q).round() as usize];
    if lags.is_empty() {
        return Err("no interim update in the real-time sessions".into());
    }
    let p99 = at(0.99);
    report.row(
        &format!("{SESSIONS} real-time sessions: lag p50 / p99 / max"),
        format!(
            "{} / {} / {}",
            fmt_ms(at(0.5)),
            fmt_ms(p99),
            fmt_ms(at(1.0))
        ),
        "",
        "",
    );
    report.row(
        "updates measured (not matched to an append)",
        format!("{} ({unmatched})", lags.len()),
        "",
        "",
    );
    report.row("wall time of the sessions", fmt_ms(wall), "", "");
    report.goal(
        "stream: p99 lag append → update < 50 ms (100 sessions)",
        fmt_ms(p99),
        p99 < GOAL_P99_LAG && unmatched == 0,
    );
    Ok(())
}

/// The fixture's speech three times with 600 ms of silence after each, whole 20 ms chunks.
fn audio() -> Vec<u8> {
    let speech = &SPEECH_WAV[44..];
    let silence = vec![0u8; 19_200];
    let mut audio = [speech, &silence, speech, &silence, speech, &silence].concat();
    audio.truncate(audio.len() / CHUNK_BYTES * CHUNK_BYTES);
    audio
}

/// Where speech starts: the first 20 ms whose RMS is above −40 dBFS (the bench's own
/// measure, independent of the simulator's).
fn speech_onset_ms(pcm: &[u8]) -> Option<i64> {
    pcm.chunks(CHUNK_BYTES)
        .position(|chunk| {
            let squares: f64 = chunk
                .chunks_exact(2)
                .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])).powi(2))
                .sum();
            (squares / (chunk.len() / 2) as f64).sqrt() > 327.68
        })
        .map(|n| n as i64 * CHUNK_MS)
}

/// One session on the manual clock: each append, then the clock moved by its 20 ms. Returns
/// each interim text with the audio time it fell due at (its simulated stamp, counted from
/// the cycle's start, which the first append's 20 ms precede).
async fn manual_clock_session(
    sim: &MockServer,
    audio: &[u8],
) -> Result<Vec<(String, i64)>, String> {
    let mut ws = open(sim.addr()).await?;
    let start = sim.clock().now_ms() - CHUNK_MS;
    let mut due = Vec::new();
    for chunk in audio.chunks(CHUNK_BYTES) {
        ws.send(append(chunk)).await.map_err(|e| e.to_string())?;
        // A ping's pong comes after everything the server sent for the append before it
        // (a due update goes out before the next frame is read).
        ws.send(Message::Ping(Vec::new().into()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match next_frame(&mut ws).await? {
                Message::Pong(_) => break,
                Message::Text(text) => {
                    let event: Value =
                        serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
                    if event["event_type"] == "transcriptions.message.update" {
                        let at: i64 = event["detail"]["respond_at"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .ok_or("an update without respond_at")?;
                        let content = event["data"]["content"].as_str().unwrap_or_default();
                        due.push((content.to_owned(), at - start));
                    }
                }
                _ => {}
            }
        }
        sim.clock().advance(Duration::from_millis(CHUNK_MS as u64));
    }
    let _ = ws.close(None).await;
    Ok(due)
}

/// The sessions, streaming at once on the real clock. Returns every interim update's lag
/// from the append that completed its audio, how many updates matched no known text, and
/// the wall time.
async fn live_sessions(
    addr: SocketAddr,
    audio: &[u8],
    due: &HashMap<String, i64>,
) -> Result<(Vec<Duration>, usize, Duration), String> {
    let mut sockets = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        sockets.push(open(addr).await?);
    }
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(SESSIONS);
    for (n, ws) in sockets.into_iter().enumerate() {
        // Spread over one chunk's time, as independent microphones would be.
        let offset = Duration::from_micros((n as u64 * 20_000) / SESSIONS as u64);
        let audio = audio.to_vec();
        let due = due.clone();
        tasks.push(tokio::spawn(async move {
            live_session(ws, t0 + offset, audio, due).await
        }));
    }
    let mut lags = Vec::new();
    let mut unmatched = 0;
    for task in tasks {
        let (l, u) = task.await.map_err(|e| e.to_string())??;
        lags.extend(l);
        unmatched += u;
    }
    Ok((lags, unmatched, t0.elapsed()))
}

async fn live_session(
    ws: Ws,
    start: Instant,
    audio: Vec<u8>,
    due: HashMap<String, i64>,
) -> Result<(Vec<Duration>, usize), String> {
    let (mut tx, mut rx) = ws.split();
    let chunks = audio.len() / CHUNK_BYTES;
    let sender = tokio::spawn(async move {
        let mut sent = Vec::with_capacity(chunks);
        for (k, chunk) in audio.chunks(CHUNK_BYTES).enumerate() {
            // Captured once its 20 ms have passed.
            tokio::time::sleep_until((start + Duration::from_millis((k as u64 + 1) * 20)).into())
                .await;
            sent.push(Instant::now());
            tx.send(append(chunk)).await.map_err(|e| e.to_string())?;
        }
        tx.send(event("input_audio_buffer.complete", None))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((sent, tx))
    });
    let mut got = Vec::new();
    let mut completed = false;
    loop {
        let frame = tokio::time::timeout(EVENT_DEADLINE, rx.next())
            .await
            .map_err(|_| "no event within 30 s")?
            .ok_or("the server closed the session")?
            .map_err(|e| e.to_string())?;
        let Message::Text(text) = frame else { continue };
        let event: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        match event["event_type"].as_str() {
            Some("transcriptions.message.update") if !completed => {
                let content = event["data"]["content"].as_str().unwrap_or_default();
                got.push((content.to_owned(), Instant::now()));
            }
            Some("input_audio_buffer.completed") => completed = true,
            Some("transcriptions.message.completed") => break,
            Some("error") => return Err(format!("error event: {event}")),
            _ => {}
        }
    }
    let (sent, mut tx) = sender.await.map_err(|e| e.to_string())??;
    let _ = tx.close().await;
    let mut lags = Vec::with_capacity(got.len());
    let mut unmatched = 0;
    for (text, at) in got {
        // The append that completed audio time `ms` is the (ms / 20)-th.
        let sent_at = due
            .get(&text)
            .and_then(|ms| usize::try_from(ms / CHUNK_MS - 1).ok())
            .and_then(|k| sent.get(k));
        match sent_at {
            Some(sent_at) => lags.push(at.saturating_duration_since(*sent_at)),
            None => unmatched += 1,
        }
    }
    Ok((lags, unmatched))
}

/// A session set to 16 kHz mono PCM, past `transcriptions.updated`.
async fn open(addr: SocketAddr) -> Result<Ws, String> {
    let mut request = format!("ws://{addr}/v1/audio/transcriptions")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "authorization",
        "Bearer pat_bench".parse().map_err(|_| "header")?,
    );
    // No Nagle delay, as browsers, Node's `ws` and Python's asyncio do by default.
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    expect(&mut ws, "transcriptions.created").await?;
    let config = json!({"input_audio": {"format": "pcm", "codec": "pcm", "sample_rate": 16_000,
                                        "channel": 1, "bit_depth": 16}});
    ws.send(event("transcriptions.update", Some(config)))
        .await
        .map_err(|e| e.to_string())?;
    expect(&mut ws, "transcriptions.updated").await?;
    Ok(ws)
}

async fn expect(ws: &mut Ws, event_type: &str) -> Result<(), String> {
    loop {
        if let Message::Text(text) = next_frame(ws).await? {
            let event: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
            return if event["event_type"] == event_type {
                Ok(())
            } else {
                Err(format!("expected {event_type}, got {event}"))
            };
        }
    }
}

async fn next_frame(ws: &mut Ws) -> Result<Message, String> {
    tokio::time::timeout(EVENT_DEADLINE, ws.next())
        .await
        .map_err(|_| "no frame within 30 s")?
        .ok_or("the server closed the session")?
        .map_err(|e| e.to_string())
}

fn append(chunk: &[u8]) -> Message {
    let delta = base64::engine::general_purpose::STANDARD.encode(chunk);
    event("input_audio_buffer.append", Some(json!({ "delta": delta })))
}

fn event(event_type: &str, data: Option<Value>) -> Message {
    let mut event = json!({ "id": "bench", "event_type": event_type });
    if let Some(data) = data {
        event["data"] = data;
    }
    Message::Text(event.to_string().into())
}
