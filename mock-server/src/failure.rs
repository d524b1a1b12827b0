//! icu's task failure codes, 10000–10007 (spec table): one type for examination, scripted
//! paths, forced transitions and the callback, so the range is checked in one place.
//! Serialised as its number.

use serde::{Deserialize, Serialize};

/// Why a task ended `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum FailureCode {
    /// 10000: the bytes are no known audio container.
    TranscodeFailed,
    /// 10001: recognition failed (scenarios and forced transitions only).
    RecognitionFailed,
    /// 10002: audio too short.
    TooShort,
    /// 10003: audio too long.
    TooLong,
    /// 10004: a known container, but empty or corrupt.
    InvalidAudio,
    /// 10005: other failure (scenarios only).
    Other,
    /// 10006: ChannelNum does not match the audio's tracks.
    TrackMismatch,
    /// 10007: the Url could not be downloaded.
    DownloadFailed,
}

impl FailureCode {
    /// Every code, in order.
    pub const ALL: [FailureCode; 8] = [
        FailureCode::TranscodeFailed,
        FailureCode::RecognitionFailed,
        FailureCode::TooShort,
        FailureCode::TooLong,
        FailureCode::InvalidAudio,
        FailureCode::Other,
        FailureCode::TrackMismatch,
        FailureCode::DownloadFailed,
    ];

    /// The number the provider sends.
    pub fn code(self) -> i64 {
        10000 + self as i64
    }

    /// The code for a number, if it is one of 10000–10007.
    pub fn from_code(code: i64) -> Option<FailureCode> {
        FailureCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The provider's own description (seed), for failures scripted or forced without a
    /// message.
    pub fn default_message(self) -> &'static str {
        match self {
            FailureCode::TranscodeFailed => "Audio transcoding failed",
            FailureCode::RecognitionFailed => "Recognition failed",
            FailureCode::TooShort => "Audio is too short",
            FailureCode::TooLong => "Audio is too long",
            FailureCode::InvalidAudio => "Invalid audio file",
            FailureCode::Other => "Other failure",
            FailureCode::TrackMismatch => "Track count mismatch",
            FailureCode::DownloadFailed => "Failed to download audio file!",
        }
    }
}

impl FailureCode {
    /// The seed's own wording of the code (its table of failure codes; 10000's row there is
    /// garbled, so the built-in scenario's 转码失败 is used).
    pub fn seed_message(self) -> &'static str {
        match self {
            FailureCode::TranscodeFailed => "转码失败",
            FailureCode::RecognitionFailed => "识别失败",
            FailureCode::TooShort => "语音时长太短",
            FailureCode::TooLong => "语音时长太长",
            FailureCode::InvalidAudio => "无效的语音文件",
            FailureCode::Other => "其他失败",
            FailureCode::TrackMismatch => "音轨个数不匹配",
            FailureCode::DownloadFailed => "音频下载失败",
        }
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl From<FailureCode> for i64 {
    fn from(code: FailureCode) -> i64 {
        code.code()
    }
}

impl TryFrom<i64> for FailureCode {
    type Error = String;
    fn try_from(code: i64) -> Result<Self, String> {
        FailureCode::from_code(code)
            .ok_or_else(|| format!("failure codes are 10000–10007, got {code}"))
    }
}

/// For the OpenAPI document: the codes as the wire writes them.
impl utoipa::PartialSchema for FailureCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .enum_values(Some(FailureCode::ALL.map(FailureCode::code)))
            .description(Some("A task failure code, 10000–10007"))
            .into()
    }
}

impl utoipa::ToSchema for FailureCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_run_from_10000_to_10007_and_round_trip() {
        let codes: Vec<i64> = FailureCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, (10000..=10007).collect::<Vec<_>>());
        for c in FailureCode::ALL {
            assert_eq!(FailureCode::from_code(c.code()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, c.code().to_string());
            assert_eq!(serde_json::from_str::<FailureCode>(&json).unwrap(), c);
        }
        assert_eq!(FailureCode::from_code(9999), None);
        assert!(serde_json::from_str::<FailureCode>("10008").is_err());
    }
}
