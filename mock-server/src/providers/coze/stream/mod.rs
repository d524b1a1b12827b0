//! Coze's bidirectional streaming recognition over WebSocket (`GET /v1/audio/transcriptions`,
//! `spec/coze-ws-transcriptions.md`): `events` holds the frames, `session` what each client
//! frame answers, `handler` the upgrade, the token check and the connection task.

pub mod events;
pub mod handler;
pub mod session;

/// The streaming endpoint's settings (from `Config`).
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Refuse a bad token at the handshake (HTTP 401/403) instead of an `error` event.
    pub auth_handshake: bool,
    /// Longest audio one complete-cycle may hold; past it: `error` and close.
    pub max_duration_ms: u64,
    /// Largest client message; past it: `error` and close.
    pub max_frame_bytes: usize,
    /// A connection silent this long gets an `error` and a close.
    pub idle_timeout_ms: u64,
    /// Most bytes kept whole for audio decoded only at the end (Ogg, Opus).
    pub max_kept_bytes: usize,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            auth_handshake: false,
            max_duration_ms: super::error::MAX_DURATION_MS,
            max_frame_bytes: 16 * 1024 * 1024,
            idle_timeout_ms: 60_000,
            max_kept_bytes: super::error::MAX_FILE_BYTES as usize,
        }
    }
}
