//! The streaming endpoint's frames (`spec/coze-ws-transcriptions.md` §2–4): what clients send,
//! parsed leniently where the SDKs differ (`id` optional, `data` optional), and what the
//! server sends, in the recorded envelope (`event_type`, `id`, `data`, `detail`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Client event types (§3).
pub const UPDATE: &str = "transcriptions.update";
/// Audio bytes, base64 in `data.delta`.
pub const APPEND: &str = "input_audio_buffer.append";
/// End of the audio of one cycle.
pub const COMPLETE: &str = "input_audio_buffer.complete";
/// Drop the audio of the cycle.
pub const CLEAR: &str = "input_audio_buffer.clear";

/// Server event types (§4).
pub const CREATED: &str = "transcriptions.created";
/// Answer to an update: the whole effective `input_audio`.
pub const UPDATED: &str = "transcriptions.updated";
/// Answer to a complete.
pub const COMPLETED: &str = "input_audio_buffer.completed";
/// Answer to a clear.
pub const CLEARED: &str = "input_audio_buffer.cleared";
/// Cumulative text recognised so far.
pub const MESSAGE_UPDATE: &str = "transcriptions.message.update";
/// The end of a cycle's text.
pub const MESSAGE_COMPLETED: &str = "transcriptions.message.completed";
/// An error, with `data.code` and `data.msg`.
pub const ERROR: &str = "error";

/// A client frame as far as the envelope goes; `data` is read per event type.
#[derive(Debug, Deserialize)]
pub struct ClientFrame {
    /// Required.
    pub event_type: String,
    /// Optional: Go and py omit it.
    #[serde(default)]
    pub data: Option<Value>,
}

/// `input_audio` as a client may send it: every field optional (nil fields are omitted).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputAudioPatch {
    /// `pcm`, `wav` or `ogg`.
    pub format: Option<String>,
    /// `pcm`, `opus`, `g711a` or `g711u`.
    pub codec: Option<String>,
    /// One of the listed rates.
    pub sample_rate: Option<u32>,
    /// 1 or 2.
    pub channel: Option<u16>,
    /// 8, 16 or 24.
    pub bit_depth: Option<u16>,
}

/// The effective `input_audio`: all five keys, always echoed whole (py requires them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputAudio {
    /// Container.
    pub format: String,
    /// Codec.
    pub codec: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels.
    pub channel: u16,
    /// Bits per sample.
    pub bit_depth: u16,
}

impl Default for InputAudio {
    /// The SDKs' documented defaults: wav, pcm, 24 kHz, mono, 16-bit.
    fn default() -> Self {
        InputAudio {
            format: "wav".into(),
            codec: "pcm".into(),
            sample_rate: 24_000,
            channel: 1,
            bit_depth: 16,
        }
    }
}

/// `detail` of every server frame.
#[derive(Debug, Serialize)]
pub struct Detail<'a> {
    /// The connection's logid.
    pub logid: &'a str,
    /// Epoch ms from the simulator's clock, as a string (Go refuses a number).
    pub respond_at: String,
    /// On `error`: the client frame that caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_message: Option<&'a str>,
}

/// A server frame, in the recorded key order.
#[derive(Debug, Serialize)]
pub struct ServerFrame<'a> {
    /// One of the server event types.
    pub event_type: &'static str,
    /// A UUIDv4 from the seed.
    pub id: String,
    /// Omitted for payload-less events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Logid and time.
    pub detail: Detail<'a>,
}
