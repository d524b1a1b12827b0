//! The callback icu POSTs to `CallbackUrl` when a task ends: an
//! `application/x-www-form-urlencoded` body (spec §4).

use std::collections::HashMap;
use std::str::FromStr;

use super::result::SentenceDetail;
use crate::http;
use crate::Error;

/// A parsed callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// 0 on success, else the failure code 10000–10007.
    pub code: i64,
    /// Why it failed; `""` on success.
    pub message: String,
    /// The TaskId (uint64).
    pub request_id: u64,
    /// The account's application id.
    pub appid: u64,
    /// The project id (0 by default).
    pub projectid: i64,
    /// The audio URL, only for tasks submitted with a `Url`.
    pub audio_url: Option<String>,
    /// The result in the `Result` text format (see [`super::parse_result`]).
    pub text: String,
    /// The audio's duration in seconds.
    pub audio_time: f64,
    /// The sentence details: `None` when `resultDetail` is absent or empty (ResTextFormat 0),
    /// else the JSON array it carries.
    pub result_detail: Option<Vec<SentenceDetail>>,
}

/// Parses a callback body: form-encoded (`+` is a space, `%XY` a byte), the last of a
/// repeated name wins. `code` and `requestId` are required; the other fields default when
/// absent but must parse when present. A body that is not a callback is [`Error::Decode`]
/// with status 0 (there was no HTTP answer).
pub fn parse_callback(body: &[u8]) -> Result<Callback, Error> {
    let fields: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let bad = |reason: String| http::decode(0, reason, body);
    let required = |name: &str| {
        fields
            .get(name)
            .ok_or_else(|| bad(format!("the callback has no `{name}` field")))
    };
    let code = number::<i64>(required("code")?, "code").map_err(bad)?;
    let request_id = number::<u64>(required("requestId")?, "requestId").map_err(bad)?;
    // An empty value counts as absent, as the provider's own parser treats it.
    let optional = |name: &str| fields.get(name).filter(|v| !v.is_empty());
    let appid = match optional("appid") {
        Some(v) => number::<u64>(v, "appid").map_err(bad)?,
        None => 0,
    };
    let projectid = match optional("projectid") {
        Some(v) => number::<i64>(v, "projectid").map_err(bad)?,
        None => 0,
    };
    let audio_time = match optional("audioTime") {
        Some(v) => v
            .trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("audioTime must be a number, got {v:?}")))?,
        None => 0.0,
    };
    let result_detail = match fields.get("resultDetail").map(|v| v.trim()) {
        None | Some("") => None,
        Some(json) => serde_json::from_str::<Option<Vec<SentenceDetail>>>(json)
            .map_err(|e| bad(format!("resultDetail is not a SentenceDetail array: {e}")))?,
    };
    Ok(Callback {
        code,
        message: fields.get("message").cloned().unwrap_or_default(),
        request_id,
        appid,
        projectid,
        audio_url: fields.get("audioUrl").cloned(),
        text: fields.get("text").cloned().unwrap_or_default(),
        audio_time,
        result_detail,
    })
}

/// An integer field: optional `-`, ASCII digits.
fn number<T: FromStr>(value: &str, name: &str) -> Result<T, String> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} must be an integer, got {value:?}"));
    }
    value
        .parse()
        .map_err(|_| format!("{name} is out of range: {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_failed_callbacks() {
        let cb =
            parse_callback(b"code=10007&requestId=18446744073709551615&message=Failed+to+download");
        let cb = cb.ok();
        assert_eq!(cb.as_ref().map(|c| c.request_id), Some(u64::MAX));
        assert_eq!(
            cb.as_ref().map(|c| c.message.as_str()),
            Some("Failed to download")
        );
        assert_eq!(cb.and_then(|c| c.result_detail), None);
    }

    #[test]
    fn result_detail_array() {
        let detail = r#"[{"FinalSentence":"你好。","SliceSentence":"你好。","StartMs":0,"EndMs":900,"WordsNum":1,"Words":[{"Word":"你好。","OffsetStartMs":0,"OffsetEndMs":900}],"SpeechSpeed":2.2,"SpeakerId":null}]"#;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", "0")
            .append_pair("requestId", "1")
            .append_pair("resultDetail", detail)
            .finish();
        let cb = parse_callback(body.as_bytes()).ok();
        let d = cb.and_then(|c| c.result_detail).unwrap_or_default();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].words[0].offset_end_ms, 900);
        assert_eq!(d[0].speaker_id, None);
    }
}
