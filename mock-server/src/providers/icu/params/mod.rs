//! Parses and validates icu's request parameters (`spec/icu-recording-asr.md` sections 1 and
//! 2) into typed parameters, or the first [`IcuError`](super::error::IcuError) a client
//! caused.
//!
//! A request's parameters are decoded once ([`RawParams`], in `decode.rs`); the checks here and
//! the strict-mode signature check (`auth.rs`) both read that one value. `coerce.rs` reads
//! single typed values out of it, `submit.rs` and `source.rs` hold the submit table's rules,
//! `query.rs` the TaskId of a query.
//!
//! # Body encodings
//! `application/json` (media type compared case-insensitively, any parameter such as
//! `charset=utf-8` ignored; the body must be UTF-8) is read as a JSON object, and
//! `application/x-www-form-urlencoded` as a form (`+` is a space, `%XY` a byte, a malformed
//! `%` kept as it is). Without a Content-Type (or with an empty one) the body is sniffed: JSON
//! when its first non-whitespace byte is `{`, a form otherwise [inferred]. Any other type is
//! `InvalidParameter`. A JSON body that is not an object, or not valid JSON or UTF-8, is
//! `InvalidParameter` with serde_json's reason. A query string is read as a form.
//!
//! # Values [client, inferred]
//! The public icu client sends every value as a JSON string (`"ChannelNum":"1"`) and drops
//! null and empty values, so: integer parameters take a JSON integer or a string of ASCII
//! digits with an optional leading `-` (leading zeros allowed; no `+`, spaces, fractions or
//! exponents); `null` and `""` count as absent, in both encodings. Names are exact and
//! case-sensitive; unknown names are ignored [inferred: Tencent ignores them too]. When a
//! name appears twice, the last one wins, in JSON (serde_json's behaviour) and in forms
//! alike [inferred].
//!
//! # Order of checks (the first failure is the answer)
//! 1. the body parses, and the form values of the request's parameters are UTF-8
//!    (`InvalidParameter`);
//! 2. `EngineModelType`, `ChannelNum`, `ResTextFormat`, `SourceType` are present, in that
//!    order (`MissingParameter`); then, when `SourceType` is a valid 0 or 1, the field it
//!    selects (`Url` or `Data`) is present;
//! 3. each value, in the seed's table order: EngineModelType, ChannelNum, ResTextFormat,
//!    SourceType, SpeakerDiarization, SpeakerNumber, CallbackUrl, Url or Data (only the one
//!    SourceType selects; the other is ignored), FilterDirty, FilterModal, ConvertNumMode,
//!    FilterPunc;
//! 4. cross-field rules: ChannelNum 2 only with `8k_zh`; SpeakerDiarization 1 only with
//!    `8k_zh`, `16k_zh`, `16k_zh_video`, and only with ChannelNum 1.

mod coerce;
mod decode;
mod query;
mod source;
mod submit;
#[cfg(test)]
mod testing;

pub use decode::RawParams;
pub use query::parse_task_id;
pub use source::Source;
pub use submit::{parse_submit, SubmitParams};

/// Parameter names as the provider spells them.
mod name {
    pub const ENGINE_MODEL_TYPE: &str = "EngineModelType";
    pub const CHANNEL_NUM: &str = "ChannelNum";
    pub const RES_TEXT_FORMAT: &str = "ResTextFormat";
    pub const SOURCE_TYPE: &str = "SourceType";
    pub const SPEAKER_DIARIZATION: &str = "SpeakerDiarization";
    pub const SPEAKER_NUMBER: &str = "SpeakerNumber";
    pub const CALLBACK_URL: &str = "CallbackUrl";
    pub const URL: &str = "Url";
    pub const DATA: &str = "Data";
    pub const FILTER_DIRTY: &str = "FilterDirty";
    pub const FILTER_MODAL: &str = "FilterModal";
    pub const CONVERT_NUM_MODE: &str = "ConvertNumMode";
    pub const FILTER_PUNC: &str = "FilterPunc";
    pub const TASK_ID: &str = "TaskId";

    /// Every submit parameter: the form values that must be UTF-8.
    pub const SUBMIT: [&str; 13] = [
        ENGINE_MODEL_TYPE,
        CHANNEL_NUM,
        RES_TEXT_FORMAT,
        SOURCE_TYPE,
        SPEAKER_DIARIZATION,
        SPEAKER_NUMBER,
        CALLBACK_URL,
        URL,
        DATA,
        FILTER_DIRTY,
        FILTER_MODAL,
        CONVERT_NUM_MODE,
        FILTER_PUNC,
    ];
}
