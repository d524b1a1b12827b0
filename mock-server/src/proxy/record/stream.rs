//! Watching a Coze streaming session through the proxy: the audio of each cycle (the
//! `input_audio_buffer.append` deltas up to `input_audio_buffer.complete`) is hashed as the
//! simulator hashes it, and paired with the text the upstream finished that cycle with (the
//! last `transcriptions.message.update` before `transcriptions.message.completed`). A
//! session refused with an `error` before `transcriptions.created` is an error to record.

use std::collections::VecDeque;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::coze::write_text;
use super::errors::{self, Recorded};
use super::files::Files;
use super::Secrets;
use crate::providers::coze::stream::events;

/// Most finished cycles one session records (more are dropped, and logged).
const MAX_CYCLES: usize = 256;

#[derive(Deserialize)]
struct Frame {
    event_type: String,
    #[serde(default)]
    data: Option<Value>,
}

/// What one session showed so far.
#[derive(Debug)]
pub struct StreamWatch {
    secrets: Secrets,
    audio: Option<Sha256>,
    /// Cycles completed by the client, waiting for the upstream's text (`None`: no audio).
    completed: VecDeque<Option<[u8; 32]>>,
    /// The text of the cycle being finished.
    last_text: Option<String>,
    /// Finished cycles: audio hash and text.
    finished: Vec<([u8; 32], String)>,
    dropped: usize,
    server_frames: u64,
    refused: Option<(i64, String)>,
}

impl StreamWatch {
    /// A watch for a session whose handshake carried `secrets`.
    pub fn new(secrets: Secrets) -> StreamWatch {
        StreamWatch {
            secrets,
            audio: None,
            completed: VecDeque::new(),
            last_text: None,
            finished: Vec::new(),
            dropped: 0,
            server_frames: 0,
            refused: None,
        }
    }

    /// A text frame the client sent.
    pub fn client_frame(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        match frame.event_type.as_str() {
            events::APPEND => {
                let delta = frame
                    .data
                    .as_ref()
                    .and_then(|d| d.get("delta"))
                    .and_then(Value::as_str);
                if let Some(Ok(bytes)) =
                    delta.map(|d| base64::engine::general_purpose::STANDARD.decode(d))
                {
                    self.audio.get_or_insert_with(Sha256::new).update(&bytes);
                }
            }
            events::COMPLETE => {
                if self.completed.len() < MAX_CYCLES {
                    let sha = self.audio.take().map(|h| h.finalize().into());
                    self.completed.push_back(sha);
                } else {
                    self.audio = None;
                    self.dropped += 1;
                }
            }
            events::CLEAR => self.audio = None,
            _ => {}
        }
    }

    /// A text frame the upstream sent.
    pub fn server_frame(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            return;
        };
        self.server_frames += 1;
        let data = frame.data.as_ref();
        match frame.event_type.as_str() {
            events::ERROR if self.server_frames == 1 => {
                let code = data.and_then(|d| d.get("code")).and_then(Value::as_i64);
                let msg = data.and_then(|d| d.get("msg")).and_then(Value::as_str);
                if let Some(code) = code {
                    self.refused = Some((code, msg.unwrap_or_default().to_owned()));
                }
            }
            events::COMPLETED => self.last_text = None,
            events::MESSAGE_UPDATE => {
                if let Some(content) = data.and_then(|d| d.get("content")).and_then(Value::as_str) {
                    self.last_text = Some(content.to_owned());
                }
            }
            events::MESSAGE_COMPLETED => {
                let text = self.last_text.take().unwrap_or_default();
                match self.completed.pop_front() {
                    Some(Some(sha)) if self.finished.len() < MAX_CYCLES => {
                        self.finished.push((sha, text));
                    }
                    Some(Some(_)) => self.dropped += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Writes what a finished session showed.
pub async fn finished(files: &Files, watch: StreamWatch) {
    if let Some((code, msg)) = &watch.refused {
        let recorded = Recorded::Stream {
            code: *code,
            msg: msg.clone(),
        };
        errors::record(files, &watch.secrets, &recorded).await;
    }
    if watch.dropped > 0 {
        tracing::warn!(
            cycles = watch.dropped,
            "record: a session finished more cycles than are recorded"
        );
    }
    for (sha, text) in watch.finished {
        write_text(files, sha, watch.secrets.scrub(&text), "coze-stream").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event_type: &str, data: Value) -> String {
        serde_json::json!({ "event_type": event_type, "data": data }).to_string()
    }

    #[test]
    fn each_cycle_pairs_its_audio_hash_with_its_final_text() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut w = StreamWatch::new(Secrets::default());
        w.server_frame(&frame(events::CREATED, Value::Null));
        w.client_frame(&frame(
            events::APPEND,
            serde_json::json!({ "delta": b64(b"ab") }),
        ));
        w.client_frame(&frame(
            events::APPEND,
            serde_json::json!({ "delta": b64(b"cd") }),
        ));
        w.server_frame(&frame(
            events::MESSAGE_UPDATE,
            serde_json::json!({ "content": "你" }),
        ));
        w.client_frame(&frame(events::COMPLETE, Value::Null));
        w.server_frame(&frame(events::COMPLETED, Value::Null));
        w.server_frame(&frame(
            events::MESSAGE_UPDATE,
            serde_json::json!({ "content": "你好。" }),
        ));
        w.server_frame(&frame(events::MESSAGE_COMPLETED, Value::Null));
        // A cleared cycle, then one without speech: nothing, and no stale text.
        w.client_frame(&frame(
            events::APPEND,
            serde_json::json!({ "delta": b64(b"zz") }),
        ));
        w.client_frame(&frame(events::CLEAR, Value::Null));
        w.client_frame(&frame(
            events::APPEND,
            serde_json::json!({ "delta": b64(b"ef") }),
        ));
        w.server_frame(&frame(
            events::MESSAGE_UPDATE,
            serde_json::json!({ "content": "interim" }),
        ));
        w.client_frame(&frame(events::COMPLETE, Value::Null));
        w.server_frame(&frame(events::COMPLETED, Value::Null));
        w.server_frame(&frame(events::MESSAGE_COMPLETED, Value::Null));
        let abcd: [u8; 32] = Sha256::digest(b"abcd").into();
        let ef: [u8; 32] = Sha256::digest(b"ef").into();
        assert_eq!(
            w.finished,
            vec![(abcd, "你好。".to_owned()), (ef, String::new())]
        );
        assert!(w.refused.is_none());
    }

    #[test]
    fn an_error_before_created_is_a_refusal() {
        let mut w = StreamWatch::new(Secrets::default());
        w.server_frame(&frame(
            events::ERROR,
            serde_json::json!({ "code": 5000, "msg": "down" }),
        ));
        assert_eq!(w.refused, Some((5000, "down".to_owned())));
        let mut w = StreamWatch::new(Secrets::default());
        w.server_frame(&frame(events::CREATED, Value::Null));
        w.server_frame(&frame(
            events::ERROR,
            serde_json::json!({ "code": 4000, "msg": "bad" }),
        ));
        assert_eq!(w.refused, None);
    }
}
