//! Provider B's bodies, field for field as the provider sends them (PascalCase inside `data`,
//! lowercase envelope).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The success `msg` of every icu answer.
pub const MSG_OK: &str = "操作成功";

/// `POST /openapi/asr/voiceToText` success: `{"msg":"操作成功","code":0,"data":{"TaskId":…}}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmitResponse {
    /// Always [`MSG_OK`].
    pub msg: &'static str,
    /// Always 0.
    pub code: i64,
    /// The new task.
    pub data: SubmitData,
}

/// `data` of a submit answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmitData {
    /// uint64 task id.
    #[serde(rename = "TaskId")]
    pub task_id: u64,
}

/// `searchResult` success: `{"code":0,"success":true,"msg":"操作成功","data":{…}}`.
/// Polls write this shape by hand (`answer::query_body`, the hottest path); this type is
/// the reference a test holds that writing equal to, and the OpenAPI document's schema.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueryResponse<'a> {
    /// Always 0.
    pub code: i64,
    /// Always true.
    pub success: bool,
    /// Always [`MSG_OK`].
    pub msg: &'static str,
    /// The task's state.
    pub data: TaskData<'a>,
}

/// `data` of a `searchResult` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskData<'a> {
    /// The task id.
    #[serde(rename = "TaskId")]
    pub task_id: u64,
    /// 0 waiting, 1 doing, 2 success, 3 failed.
    #[serde(rename = "Status")]
    pub status: u8,
    /// `waiting`, `doing`, `success`, `failed`.
    #[serde(rename = "StatusStr")]
    pub status_str: &'static str,
    /// Failure reason; empty unless failed.
    #[serde(rename = "ErrorMsg")]
    pub error_msg: &'a str,
    /// `[m:s.mmm,m:s.mmm]  text\n` lines, as JSON; empty unless success.
    #[serde(rename = "Result")]
    #[schema(value_type = String)]
    pub result: &'a RawValue,
    /// Sentence details for ResTextFormat 1 and 2, as a JSON array; empty otherwise.
    #[serde(rename = "ResultDetail")]
    #[schema(value_type = Vec<SentenceDetail>)]
    pub result_detail: &'a RawValue,
}

/// One sentence of `ResultDetail` (Tencent's SentenceDetail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentenceDetail {
    /// The sentence (punctuation kept in format 2, dropped in format 1).
    #[serde(rename = "FinalSentence")]
    pub final_sentence: String,
    /// The words joined by single spaces.
    #[serde(rename = "SliceSentence")]
    pub slice_sentence: String,
    /// Sentence start, ms from the audio start.
    #[serde(rename = "StartMs")]
    pub start_ms: u64,
    /// Sentence end, ms from the audio start.
    #[serde(rename = "EndMs")]
    pub end_ms: u64,
    /// Number of words.
    #[serde(rename = "WordsNum")]
    pub words_num: u32,
    /// The words with offsets within the sentence.
    #[serde(rename = "Words")]
    pub words: Vec<SentenceWords>,
    /// Characters per second.
    #[serde(rename = "SpeechSpeed")]
    pub speech_speed: f64,
    /// Speaker (diarization) or channel (8k stereo: 0 left, 1 right); absent otherwise.
    #[serde(rename = "SpeakerId", skip_serializing_if = "Option::is_none", default)]
    pub speaker_id: Option<u32>,
}

/// One word of a [`SentenceDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentenceWords {
    /// The word.
    #[serde(rename = "Word")]
    pub word: String,
    /// Start, ms from the sentence start (the seed: "offsets within the sentence").
    #[serde(rename = "OffsetStartMs")]
    pub offset_start_ms: u64,
    /// End, ms from the sentence start.
    #[serde(rename = "OffsetEndMs")]
    pub offset_end_ms: u64,
}
