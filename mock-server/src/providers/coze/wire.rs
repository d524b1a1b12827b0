//! Provider A's bodies, field for field as Coze sends them.

use serde::Serialize;

/// `detail` of every Coze answer: the logid also sent as the `X-Tt-Logid` header.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResponseDetail {
    /// The request's logid (34 characters).
    pub logid: String,
}

/// `data` of a successful transcription.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AudioTranscriptionsData {
    /// The recognised text; empty for audio without speech.
    pub text: String,
}

/// Success: `{"code":0,"msg":"","data":{"text":…},"detail":{"logid":…}}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TranscriptionResponse {
    /// Always 0.
    pub code: i64,
    /// Always empty on success.
    pub msg: String,
    /// The transcript.
    pub data: AudioTranscriptionsData,
    /// The logid.
    pub detail: ResponseDetail,
}

/// Failure: `{"code":…,"msg":…,"detail":{"logid":…}}`; cozepy needs both code and msg.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// Non-zero Coze error code.
    pub code: i64,
    /// Human-readable reason.
    pub msg: String,
    /// The logid.
    pub detail: ResponseDetail,
}
