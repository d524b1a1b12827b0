//! One streaming connection's state, free of sockets and clocks: the effective `input_audio`,
//! the cycle's decoder and hash, and what each client frame answers. The connection task
//! (`handler.rs`) stamps, paces and sends what this returns.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::events::{self, ClientFrame, InputAudio, InputAudioPatch};
use super::StreamSettings;
use crate::audio::stream::{StreamCodec, StreamDecoder, StreamLayout};
use crate::providers::coze::CozeService;
use crate::scenarios::Scenario;

/// The rates the SDKs document (§3).
const RATES: [u32; 7] = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];

/// One event for the client, before its id and detail.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    /// A server event type.
    pub event_type: &'static str,
    /// Its payload, if any.
    pub data: Option<Value>,
    /// On `error`: the client frame that caused it.
    pub origin: Option<String>,
}

impl Out {
    /// A payload-less event.
    pub fn plain(event_type: &'static str) -> Self {
        Out {
            event_type,
            data: None,
            origin: None,
        }
    }

    /// An `error` event with `code` and `msg`.
    pub fn error(code: i64, msg: impl Into<String>, origin: Option<&str>) -> Self {
        Out {
            event_type: events::ERROR,
            data: Some(json!({"code": code, "msg": msg.into()})),
            origin: origin.map(str::to_owned),
        }
    }

    /// An event whose `data` is `{"content": …}`.
    pub fn text(event_type: &'static str, content: &str) -> Self {
        Out {
            event_type,
            data: Some(json!({ "content": content })),
            origin: None,
        }
    }
}

/// What a client frame answers.
#[derive(Debug, Default, PartialEq)]
pub struct Reply {
    /// Sent now, in order.
    pub now: Vec<Out>,
    /// A cumulative partial text, due once `audio_ms` of the cycle's audio has played on the
    /// simulator's clock (a later one replaces it).
    pub partial: Option<(u64, String)>,
    /// After `now`, close the connection (a limit was passed).
    pub close: bool,
    /// The cycle ended with this final text (for the journal).
    pub final_text: Option<String>,
}

/// How much more audio must play before the interim text is looked at again: a bound on the
/// work per append, well under the 300–700 ms between the provider's updates (§11).
const INTERIM_STEP_MS: u64 = 100;

/// The audio of one complete-cycle.
#[derive(Debug)]
struct Cycle {
    decoder: StreamDecoder,
    sha: Sha256,
    /// When the interim text is next looked at, in ms of the cycle's audio.
    next_look_ms: u64,
    /// The spans the last interim text came from, and that text.
    heard: Vec<(u64, u64)>,
    interim: String,
}

/// A connection's recognition state.
#[derive(Debug)]
pub struct Session {
    coze: Arc<CozeService>,
    scenarios: Vec<Arc<Scenario>>,
    config: InputAudio,
    cycle: Option<Cycle>,
}

impl Session {
    /// A session with the default `input_audio` (appends before any update use it).
    pub fn new(coze: Arc<CozeService>, scenarios: Vec<Arc<Scenario>>) -> Self {
        Session {
            coze,
            scenarios,
            config: InputAudio::default(),
            cycle: None,
        }
    }

    /// Playing time of the cycle's audio decoded so far, in ms.
    pub fn played_ms(&self) -> u64 {
        self.cycle.as_ref().map_or(0, |c| c.decoder.decoded_ms())
    }

    fn settings(&self) -> &StreamSettings {
        &self.coze.stream
    }

    /// Answers one text frame.
    pub fn on_text(&mut self, raw: &str) -> Reply {
        let frame: ClientFrame = match serde_json::from_str(raw) {
            Ok(frame) => frame,
            Err(err) => {
                return bad(
                    format!("invalid event: not a JSON event object: {err}"),
                    raw,
                )
            }
        };
        match frame.event_type.as_str() {
            events::UPDATE => self.update(frame.data, raw),
            events::APPEND => self.append(frame.data, raw),
            events::COMPLETE => self.complete(),
            events::CLEAR => {
                self.cycle = None;
                Reply {
                    now: vec![Out::plain(events::CLEARED)],
                    ..Reply::default()
                }
            }
            other => bad(
                format!(
                    "invalid event_type {other:?}: expected one of {}, {}, {}, {}",
                    events::UPDATE,
                    events::APPEND,
                    events::COMPLETE,
                    events::CLEAR
                ),
                raw,
            ),
        }
    }

    fn update(&mut self, data: Option<Value>, raw: &str) -> Reply {
        let patch = match data.map(|d| d.get("input_audio").cloned()) {
            None | Some(None) | Some(Some(Value::Null)) => InputAudioPatch::default(),
            Some(Some(value)) => match serde_json::from_value::<InputAudioPatch>(value) {
                Ok(patch) => patch,
                Err(err) => return bad(format!("invalid input_audio: {err}"), raw),
            },
        };
        match apply(&self.config, patch) {
            Ok(config) => {
                self.config = config;
                let data = json!({ "input_audio": self.config });
                Reply {
                    now: vec![Out {
                        event_type: events::UPDATED,
                        data: Some(data),
                        origin: None,
                    }],
                    ..Reply::default()
                }
            }
            Err(msg) => bad(format!("invalid input_audio: {msg}"), raw),
        }
    }

    fn append(&mut self, data: Option<Value>, raw: &str) -> Reply {
        let Some(delta) = data
            .as_ref()
            .and_then(|d| d.get("delta"))
            .and_then(Value::as_str)
        else {
            return bad(
                "invalid event: data.delta (a base64 string) is required",
                raw,
            );
        };
        let bytes = match base64::engine::general_purpose::STANDARD.decode(delta) {
            Ok(bytes) => bytes,
            Err(err) => return bad(format!("invalid data.delta: not base64: {err}"), raw),
        };
        let layout = layout(&self.config);
        let max_kept = self.settings().max_kept_bytes;
        let cycle = self.cycle.get_or_insert_with(|| Cycle {
            decoder: StreamDecoder::new(layout, max_kept),
            sha: Sha256::new(),
            next_look_ms: 0,
            heard: Vec::new(),
            interim: String::new(),
        });
        cycle.sha.update(&bytes);
        if let Err(err) = cycle.decoder.push(&bytes) {
            return fatal(err.to_string());
        }
        let played = cycle.decoder.decoded_ms();
        let max = self.coze.stream.max_duration_ms;
        if played > max {
            return fatal(format!(
                "the audio is longer than the limit of {max} ms for one stream"
            ));
        }
        if played < cycle.next_look_ms {
            return Reply::default();
        }
        cycle.next_look_ms = played.saturating_add(INTERIM_STEP_MS);
        let spans = cycle.decoder.heard();
        if spans == cycle.heard {
            return Reply::default();
        }
        let text = self.coze.interim_text(played, &spans);
        cycle.heard = spans;
        if text.is_empty() || text == cycle.interim {
            return Reply::default();
        }
        cycle.interim.clone_from(&text);
        Reply {
            partial: Some((played, text)),
            ..Reply::default()
        }
    }

    fn complete(&mut self) -> Reply {
        let mut now = vec![Out::plain(events::COMPLETED)];
        let mut final_text = String::new();
        if let Some(cycle) = self.cycle.take() {
            let sha: [u8; 32] = cycle.sha.finalize().into();
            let heard = cycle.decoder.finish(&self.coze.probe);
            let result = match heard {
                Some(audio) => self.coze.text_for(
                    sha,
                    audio.duration_ms,
                    audio.voiced.as_deref(),
                    &self.scenarios,
                ),
                None => Ok(String::new()),
            };
            match result {
                Ok(text) => final_text = text,
                Err(err) => now.push(Out::error(err.code, err.msg, None)),
            }
            if !final_text.is_empty() {
                now.push(Out::text(events::MESSAGE_UPDATE, &final_text));
            }
        }
        now.push(Out::plain(events::MESSAGE_COMPLETED));
        Reply {
            now,
            final_text: Some(final_text),
            ..Reply::default()
        }
    }
}

/// An `error` 4000 for `raw`; the connection stays open.
fn bad(msg: impl Into<String>, raw: &str) -> Reply {
    Reply {
        now: vec![Out::error(4000, msg, Some(raw))],
        ..Reply::default()
    }
}

/// An `error` 4000 and a close: a limit was passed.
fn fatal(msg: String) -> Reply {
    Reply {
        now: vec![Out::error(4000, msg, None)],
        close: true,
        ..Reply::default()
    }
}

/// The configuration after `patch`, or why it is refused (the old one then stays).
fn apply(old: &InputAudio, patch: InputAudioPatch) -> Result<InputAudio, String> {
    let mut new = old.clone();
    if let Some(format) = patch.format {
        if !matches!(format.as_str(), "pcm" | "wav" | "ogg") {
            return Err(format!("format {format:?} is not one of pcm, wav, ogg"));
        }
        new.format = format;
    }
    if let Some(codec) = patch.codec {
        if !matches!(codec.as_str(), "pcm" | "opus" | "g711a" | "g711u") {
            return Err(format!(
                "codec {codec:?} is not one of pcm, opus, g711a, g711u"
            ));
        }
        new.codec = codec;
    }
    if let Some(rate) = patch.sample_rate {
        if !RATES.contains(&rate) {
            return Err(format!(
                "sample_rate {rate} is not one of 8000, 16000, 22050, 24000, 32000, 44100, 48000"
            ));
        }
        new.sample_rate = rate;
    }
    if let Some(channel) = patch.channel {
        if !matches!(channel, 1 | 2) {
            return Err(format!("channel {channel} is not 1 or 2"));
        }
        new.channel = channel;
    }
    if let Some(bits) = patch.bit_depth {
        if !matches!(bits, 8 | 16 | 24) {
            return Err(format!("bit_depth {bits} is not one of 8, 16, 24"));
        }
        new.bit_depth = bits;
    }
    if new.codec.starts_with("g711") {
        if new.sample_rate != 8_000 {
            return Err(format!("{} requires sample_rate 8000", new.codec));
        }
        if new.format != "pcm" {
            return Err(format!("{} requires format pcm", new.codec));
        }
    }
    Ok(new)
}

/// How the decoder reads headerless audio under `config`.
fn layout(config: &InputAudio) -> StreamLayout {
    StreamLayout {
        codec: match config.codec.as_str() {
            "opus" => StreamCodec::Opus,
            "g711a" => StreamCodec::G711a,
            "g711u" => StreamCodec::G711u,
            _ => StreamCodec::Pcm,
        },
        sample_rate: config.sample_rate,
        channels: config.channel,
        bit_depth: config.bit_depth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(v: Value) -> InputAudioPatch {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn updates_validate_and_keep_the_old_config_when_refused() {
        let old = InputAudio::default();
        let new = apply(&old, patch(json!({"format": "pcm", "sample_rate": 16000}))).unwrap();
        assert_eq!((new.format.as_str(), new.sample_rate), ("pcm", 16_000));
        assert_eq!(new.codec, "pcm");
        let err = apply(&new, patch(json!({"codec": "g711a"}))).unwrap_err();
        assert_eq!(err, "g711a requires sample_rate 8000");
        let g711 = apply(&new, patch(json!({"codec": "g711u", "sample_rate": 8000}))).unwrap();
        assert_eq!(g711.codec, "g711u");
        for bad in [
            json!({"format": "mp3"}),
            json!({"sample_rate": 11025}),
            json!({"channel": 3}),
            json!({"bit_depth": 32}),
        ] {
            assert!(apply(&old, patch(bad.clone())).is_err(), "{bad}");
        }
        assert!(
            serde_json::from_value::<InputAudioPatch>(json!({"sample_rate": "16000"})).is_err()
        );
    }
}
