//! Parses and validates icu's request bodies (`spec/icu-recording-asr.md` sections 1 and 2)
//! into typed parameters, or the first [`IcuError`] a client caused.
//!
//! # Body encodings
//! `application/json` (media type compared case-insensitively, any parameter such as
//! `charset=utf-8` ignored; the body must be UTF-8) is read as a JSON object, and
//! `application/x-www-form-urlencoded` as a form (`+` is a space, `%XY` a byte, a malformed
//! `%` kept as it is). Without a Content-Type (or with an empty one) the body is sniffed: JSON
//! when its first non-whitespace byte is `{`, a form otherwise [inferred]. Any other type is
//! `InvalidParameter`. A JSON body that is not an object, or not valid JSON or UTF-8, is
//! `InvalidParameter` with serde_json's reason.
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
//! 1. the body parses (`InvalidParameter`);
//! 2. `EngineModelType`, `ChannelNum`, `ResTextFormat`, `SourceType` are present, in that
//!    order (`MissingParameter`); then, when `SourceType` is a valid 0 or 1, the field it
//!    selects (`Url` or `Data`) is present;
//! 3. each value, in the seed's table order: EngineModelType, ChannelNum, ResTextFormat,
//!    SourceType, SpeakerDiarization, SpeakerNumber, CallbackUrl, Url or Data (only the one
//!    SourceType selects; the other is ignored), FilterDirty, FilterModal, ConvertNumMode,
//!    FilterPunc;
//! 4. cross-field rules: ChannelNum 2 only with `8k_zh`; SpeakerDiarization 1 only with
//!    `8k_zh`, `16k_zh`, `16k_zh_video`, and only with ChannelNum 1.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::engine::Engine;
use super::error::{shorten, IcuError};
use super::limits::{MAX_DATA_BYTES, MAX_URL_BYTES};

/// Where the audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `SourceType=0`: the simulator downloads this http(s) URL.
    Url(String),
    /// `SourceType=1`: the decoded `Data`, under [`MAX_DATA_BYTES`].
    Data(Vec<u8>),
}

/// A valid submit request; defaults filled in for the optional parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitParams {
    /// `EngineModelType`: language and band of the recogniser.
    pub engine: Engine,
    /// `ChannelNum`: 1, or 2 with `8k_zh` only.
    pub channel_num: u8,
    /// `ResTextFormat`: 0 text only, 1 word detail without punctuation, 2 with punctuation.
    pub res_text_format: u8,
    /// `SourceType` with its `Url` or `Data`.
    pub source: Source,
    /// `SpeakerDiarization` = 1 (default 0).
    pub speaker_diarization: bool,
    /// `SpeakerNumber`: 0 automatic, 1–10 fixed (default 0; only used with diarization).
    pub speaker_number: u8,
    /// `CallbackUrl`, where the result is POSTed.
    pub callback_url: Option<String>,
    /// `FilterDirty` 0/1/2 (default 0); only Mandarin engines act on it, the caller decides.
    pub filter_dirty: u8,
    /// `FilterModal` 0/1/2 (default 0); Mandarin only.
    pub filter_modal: u8,
    /// `ConvertNumMode` 0, 1 or 3 (default 1); Mandarin only.
    pub convert_num_mode: u8,
    /// `FilterPunc` 0/1/2 (default 0); Mandarin only.
    pub filter_punc: u8,
}

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

    /// Every submit parameter: form values of other names are not even decoded.
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

const JSON_TYPE: &str = "application/json";
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// The body's parameters by name; form values are all JSON strings.
type Fields = Map<String, Value>;

/// Parses and validates a `voiceToText` body (order of checks in the module docs).
pub fn parse_submit(content_type: Option<&str>, body: &[u8]) -> Result<SubmitParams, IcuError> {
    let fields = parse_body(content_type, body, &name::SUBMIT)?;

    // 2. presence.
    for field in [
        name::ENGINE_MODEL_TYPE,
        name::CHANNEL_NUM,
        name::RES_TEXT_FORMAT,
        name::SOURCE_TYPE,
    ] {
        if present(&fields, field).is_none() {
            return Err(missing(&fields, field, None));
        }
    }
    let source_field = match present(&fields, name::SOURCE_TYPE).map(int_literal) {
        Some(Ok(IntLiteral { value: Some(0), .. })) => Some((name::URL, "SourceType is 0")),
        Some(Ok(IntLiteral { value: Some(1), .. })) => Some((name::DATA, "SourceType is 1")),
        _ => None,
    };
    if let Some((field, condition)) = source_field {
        if present(&fields, field).is_none() {
            return Err(missing(&fields, field, Some(condition)));
        }
    }

    // 3. values, in table order.
    let engine = engine_value(&fields)?;
    let channel_num = required_int(&fields, name::CHANNEL_NUM, "1 or 2", &[1, 2])?;
    let res_text_format = required_int(&fields, name::RES_TEXT_FORMAT, "0, 1 or 2", &[0, 1, 2])?;
    let source_type = required_int(&fields, name::SOURCE_TYPE, "0 (Url) or 1 (Data)", &[0, 1])?;
    let speaker_diarization =
        optional_int(&fields, name::SPEAKER_DIARIZATION, "0 or 1", &[0, 1])?.unwrap_or(0) == 1;
    let speaker_number = optional_int(
        &fields,
        name::SPEAKER_NUMBER,
        "between 0 and 10",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )?
    .unwrap_or(0);
    let callback_url = match present(&fields, name::CALLBACK_URL) {
        None => None,
        Some(Value::String(s)) => match url_problem(s) {
            None => Some(s.clone()),
            Some(problem) => return Err(IcuError::invalid_value(name::CALLBACK_URL, problem)),
        },
        Some(other) => {
            return Err(IcuError::invalid_value(
                name::CALLBACK_URL,
                format!("must be a string, got {}", describe(other)),
            ))
        }
    };
    let source = if source_type == 0 {
        Source::Url(url_value(&fields)?)
    } else {
        Source::Data(data_value(&fields)?)
    };
    let filter_dirty =
        optional_int(&fields, name::FILTER_DIRTY, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);
    let filter_modal =
        optional_int(&fields, name::FILTER_MODAL, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);
    let convert_num_mode = optional_int(
        &fields,
        name::CONVERT_NUM_MODE,
        "0, 1 or 3 (there is no 2)",
        &[0, 1, 3],
    )?
    .unwrap_or(1);
    let filter_punc =
        optional_int(&fields, name::FILTER_PUNC, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);

    // 4. cross-field rules.
    if channel_num == 2 && !engine.supports_stereo() {
        return Err(IcuError::invalid_value(
            name::CHANNEL_NUM,
            format!("2 (two channels) is only supported by EngineModelType 8k_zh, got {engine}"),
        ));
    }
    if speaker_diarization && !engine.supports_diarization() {
        return Err(IcuError::invalid_value(
            name::SPEAKER_DIARIZATION,
            format!(
                "1 is only supported by EngineModelType 8k_zh, 16k_zh and 16k_zh_video, \
                 got {engine}"
            ),
        ));
    }
    if speaker_diarization && channel_num != 1 {
        return Err(IcuError::invalid_value(
            name::SPEAKER_DIARIZATION,
            format!("1 requires ChannelNum 1 (mono audio), got ChannelNum {channel_num}"),
        ));
    }

    Ok(SubmitParams {
        engine,
        channel_num,
        res_text_format,
        source,
        speaker_diarization,
        speaker_number,
        callback_url,
        filter_dirty,
        filter_modal,
        convert_num_mode,
        filter_punc,
    })
}

/// The `TaskId` of a `GET searchResult?TaskId=…` query string (percent-decoded, `+` a space).
pub fn parse_task_id_query(query: Option<&str>) -> Result<u64, IcuError> {
    let fields = parse_form(query.unwrap_or("").as_bytes(), &[name::TASK_ID])?;
    task_id_value(&fields)
}

/// The `TaskId` of a `POST searchResult` body, JSON or form like a submit body.
pub fn parse_task_id_body(content_type: Option<&str>, body: &[u8]) -> Result<u64, IcuError> {
    let fields = parse_body(content_type, body, &[name::TASK_ID])?;
    task_id_value(&fields)
}

fn task_id_value(fields: &Fields) -> Result<u64, IcuError> {
    const RULE: &str = "must be an unsigned 64-bit integer (0 to 18446744073709551615)";
    let value =
        present(fields, name::TASK_ID).ok_or_else(|| missing(fields, name::TASK_ID, None))?;
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if is_numeric(s) => s.parse::<u64>().ok(),
        other => {
            return Err(IcuError::invalid_value(
                name::TASK_ID,
                format!("{RULE}, got {}", describe(other)),
            ))
        }
    };
    parsed.ok_or_else(|| {
        let shown = match value {
            Value::String(s) => show_numeric(s),
            other => describe(other),
        };
        IcuError::invalid_value(name::TASK_ID, format!("{RULE}, got {shown}"))
    })
}

// ---------------------------------------------------------------------------------------------
// Bodies.

/// Parses a body into its fields by content type (see the module docs). `known` names the
/// parameters whose form values must be UTF-8; other form values are decoded leniently or
/// not at all, since they are ignored.
fn parse_body(content_type: Option<&str>, body: &[u8], known: &[&str]) -> Result<Fields, IcuError> {
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let is_json = match media {
        Some(m) if m.eq_ignore_ascii_case(JSON_TYPE) => true,
        Some(m) if m.eq_ignore_ascii_case(FORM_TYPE) => false,
        Some(m) => {
            return Err(IcuError::invalid_parameter(format!(
                "unsupported Content-Type {}: send {JSON_TYPE} or {FORM_TYPE}",
                show_str(m)
            )))
        }
        None => body
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .is_some_and(|&b| b == b'{'),
    };
    if is_json {
        parse_json(body)
    } else {
        parse_form(body, known)
    }
}

fn parse_json(body: &[u8]) -> Result<Fields, IcuError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(IcuError::invalid_parameter(format!(
            "the JSON body must be an object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(IcuError::invalid_parameter(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// Decodes `application/x-www-form-urlencoded` like the WHATWG URL standard: pairs split on
/// `&`, name and value on the first `=`, `+` a space, `%XY` a byte. Values of `known` names
/// must be UTF-8 once decoded; names that differ from a known one only in case are kept (for
/// the "names are case-sensitive" hint); every other pair is skipped undecoded.
fn parse_form(body: &[u8], known: &[&str]) -> Result<Fields, IcuError> {
    let mut fields = Fields::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let name = String::from_utf8_lossy(&percent_decode(raw_name)).into_owned();
        let value = if known.contains(&name.as_str()) {
            String::from_utf8(percent_decode(raw_value)).map_err(|_| {
                IcuError::invalid_parameter(format!(
                    "the form parameter {name} is not valid UTF-8 once percent-decoded"
                ))
            })?
        } else if known.iter().any(|k| k.eq_ignore_ascii_case(&name)) {
            String::from_utf8_lossy(&percent_decode(raw_value)).into_owned()
        } else {
            continue;
        };
        fields.insert(name, Value::String(value));
    }
    Ok(fields)
}

/// `+` to space and `%XY` to its byte; a `%` without two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).and_then(|&h| hex_digit(h));
                let lo = input.get(i + 2).and_then(|&l| hex_digit(l));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Fields.

/// The value of `field`, unless absent, `null` or `""` (the public client drops those).
fn present<'a>(fields: &'a Fields, field: &str) -> Option<&'a Value> {
    match fields.get(field)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        v => Some(v),
    }
}

/// `MissingParameter` for `field`, with a hint when the body has it in another letter case.
fn missing(fields: &Fields, field: &str, condition: Option<&str>) -> IcuError {
    let mut err = match condition {
        Some(condition) => IcuError::missing_when(field, condition),
        None => IcuError::missing(field),
    };
    if let Some(other) = fields
        .keys()
        .find(|k| k.as_str() != field && k.eq_ignore_ascii_case(field))
    {
        err.reason.push_str(&format!(
            " (parameter names are case-sensitive; the body has {})",
            show_str(other)
        ));
    }
    err
}

/// An integer as sent: its value when it fits an `i64`, and how to show it in a message.
struct IntLiteral {
    value: Option<i64>,
    shown: String,
}

/// Reads a JSON integer or a numeric string; anything else is `Err(description)`.
fn int_literal(value: &Value) -> Result<IntLiteral, String> {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(IntLiteral {
            value: n.as_i64(),
            shown: n.to_string(),
        }),
        Value::String(s) if is_numeric(s) => Ok(IntLiteral {
            value: s.parse().ok(),
            shown: show_numeric(s),
        }),
        other => Err(describe(other)),
    }
}

/// ASCII digits with an optional leading `-`.
fn is_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An optional integer parameter whose value must be one of `allowed` (`rule` says so).
fn optional_int(
    fields: &Fields,
    field: &str,
    rule: &str,
    allowed: &[u8],
) -> Result<Option<u8>, IcuError> {
    let Some(value) = present(fields, field) else {
        return Ok(None);
    };
    let literal = int_literal(value).map_err(|got| {
        IcuError::invalid_value(
            field,
            format!("must be an integer (a JSON number or a string of digits), got {got}"),
        )
    })?;
    literal
        .value
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| allowed.contains(v))
        .map(Some)
        .ok_or_else(|| {
            IcuError::invalid_value(field, format!("must be {rule}, got {}", literal.shown))
        })
}

/// A required integer parameter (presence was checked first; absence here is still an error).
fn required_int(fields: &Fields, field: &str, rule: &str, allowed: &[u8]) -> Result<u8, IcuError> {
    optional_int(fields, field, rule, allowed)?.ok_or_else(|| missing(fields, field, None))
}

fn engine_value(fields: &Fields) -> Result<Engine, IcuError> {
    let field = name::ENGINE_MODEL_TYPE;
    let code = match present(fields, field) {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(IcuError::invalid_value(
                field,
                format!("must be a string, got {}", describe(other)),
            ))
        }
        None => return Err(missing(fields, field, None)),
    };
    if let Some(engine) = Engine::from_code(code) {
        return Ok(engine);
    }
    let all: Vec<&str> = Engine::ALL.iter().map(|e| e.code()).collect();
    let mut detail = format!("must be one of {}, got {}", all.join(", "), show_str(code));
    if let Some(near) = Engine::ALL
        .iter()
        .find(|e| e.code().eq_ignore_ascii_case(code))
    {
        detail.push_str(&format!(" (engine names are case-sensitive: {near})"));
    }
    Err(IcuError::invalid_value(field, detail))
}

fn url_value(fields: &Fields) -> Result<String, IcuError> {
    match present(fields, name::URL) {
        Some(Value::String(s)) => match url_problem(s) {
            None => Ok(s.clone()),
            Some(problem) => Err(IcuError::invalid_url(problem)),
        },
        Some(other) => Err(IcuError::invalid_url(format!(
            "must be a string, got {}",
            describe(other)
        ))),
        None => Err(missing(fields, name::URL, Some("SourceType is 0"))),
    }
}

/// Why `url` is not a usable `Url`/`CallbackUrl`, as a phrase following the field's name.
/// Beyond the length rule, the URL must start with `http://` or `https://` (any case), contain
/// no whitespace or control characters, and parse with a non-empty host [inferred: what a
/// downloader can fetch; the WHATWG parser alone would accept `http:host` or trim spaces].
fn url_problem(url: &str) -> Option<String> {
    if url.len() >= MAX_URL_BYTES {
        return Some(format!(
            "must be under {MAX_URL_BYTES} bytes, got {} bytes",
            url.len()
        ));
    }
    let lower_prefix = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let after_scheme = if lower_prefix.starts_with("http://") {
        url.get(7..)
    } else if lower_prefix.starts_with("https://") {
        url.get(8..)
    } else {
        None
    };
    let Some(after_scheme) = after_scheme else {
        return Some(format!(
            "must be an absolute http:// or https:// URL, got {}",
            show_str(url)
        ));
    };
    // The WHATWG parser skips extra slashes (`http:///host` is `http://host/`).
    if after_scheme.starts_with(['/', '\\']) {
        return Some(format!("must name a host, got {}", show_str(url)));
    }
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "must not contain whitespace or control characters (percent-encode them), \
             got {:?} in {}",
            c,
            show_str(url)
        ));
    }
    match reqwest::Url::parse(url) {
        Err(e) => Some(format!("is not a valid URL ({e}): {}", show_str(url))),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            Some(format!("must name a host, got {}", show_str(url)))
        }
        Ok(_) => None,
    }
}

/// Decodes `Data`: strict standard base64 (padded, no line breaks), under [`MAX_DATA_BYTES`].
/// The common mistakes each get their own message.
fn data_value(fields: &Fields) -> Result<Vec<u8>, IcuError> {
    let text = match present(fields, name::DATA) {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(IcuError::invalid_voice_data(format!(
                "must be a base64 string, got {}",
                describe(other)
            )))
        }
        None => return Err(missing(fields, name::DATA, Some("SourceType is 1"))),
    };
    let bytes = text.as_bytes();
    if let Some(at) = bytes.iter().position(|&b| b == b'\r' || b == b'\n') {
        return Err(IcuError::invalid_voice_data(format!(
            "must be base64 encoded without line breaks, but it has a CR or LF at byte {at} \
             (use e.g. Python's base64.b64encode, not base64.encodebytes, or strip the \
             newlines)"
        )));
    }
    if let Some(at) = bytes.iter().position(|&b| b == b'-' || b == b'_') {
        return Err(IcuError::invalid_voice_data(format!(
            "must use the standard base64 alphabet (A-Z a-z 0-9 + /, padded with =), but it \
             has the URL-safe character '{}' at byte {at}",
            char::from(bytes[at])
        )));
    }
    if text.starts_with("b'") && text.ends_with('\'') {
        return Err(IcuError::invalid_voice_data(
            "looks like a Python bytes literal (b'...'): send the base64 text itself, e.g. \
             base64.b64encode(audio).decode(\"ascii\")",
        ));
    }
    if let Some(at) = bytes.iter().position(|&b| b == b' ') {
        return Err(IcuError::invalid_voice_data(format!(
            "is not valid base64: it has a space at byte {at} (in a form body a '+' that is \
             not percent-encoded as %2B arrives as a space)"
        )));
    }
    let audio = base64::engine::general_purpose::STANDARD
        .decode(bytes)
        .map_err(|e| {
            IcuError::invalid_voice_data(format!(
                "is not valid base64 (standard alphabet, padded with =): {e}"
            ))
        })?;
    if audio.len() >= MAX_DATA_BYTES {
        return Err(IcuError::voice_data_too_long(audio.len(), MAX_DATA_BYTES));
    }
    Ok(audio)
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// A value as a message shows it: numbers as written, strings quoted and shortened.
fn describe(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => show_str(s),
        Value::Bool(b) => format!("the boolean {b}"),
        other => kind_of(other).to_owned(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A caller's string quoted and escaped, shortened when long.
fn show_str(s: &str) -> String {
    match shorten(s) {
        (short, false) => format!("{short:?}"),
        (short, true) => format!("{short:?}… ({} bytes)", s.len()),
    }
}

/// A numeric string shown bare (it is already safe to print), shortened when long.
fn show_numeric(s: &str) -> String {
    match shorten(s) {
        (short, false) => short.to_owned(),
        (short, true) => format!("{short}… ({} digits)", s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::icu::error::IcuErrorKind;
    use crate::providers::icu::limits::MAX_SUBMIT_BODY;
    use serde_json::json;

    const JSON: Option<&str> = Some("application/json;charset=utf-8");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A minimal valid submit as the public client sends it: every value a string.
    fn base() -> Map<String, Value> {
        let v = json!({
            "EngineModelType": "16k_zh",
            "ChannelNum": "1",
            "ResTextFormat": "0",
            "SourceType": "0",
            "Url": "https://example.com/a.wav",
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn with(pairs: &[(&str, Value)]) -> Map<String, Value> {
        let mut m = base();
        for (k, v) in pairs {
            m.insert((*k).to_owned(), v.clone());
        }
        m
    }

    fn without(m: Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
        let mut m = m;
        for k in keys {
            m.remove(*k);
        }
        m
    }

    fn submit_json(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
        let body = serde_json::to_vec(m).unwrap_or_default();
        parse_submit(JSON, &body)
    }

    /// The same parameters as a form body (strings as they are, numbers as their text).
    fn form_body(m: &Map<String, Value>) -> Vec<u8> {
        let mut parts = Vec::new();
        for (k, v) in m {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            parts.push(format!("{}={}", form_encode(k), form_encode(&text)));
        }
        parts.join("&").into_bytes()
    }

    fn form_encode(s: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(char::from(b))
                }
                b' ' => out.push('+'),
                _ => {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
        out
    }

    fn submit_form(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
        parse_submit(FORM, &form_body(m))
    }

    /// Runs `m` through both encodings; both must agree.
    fn submit_both(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
        let j = submit_json(m);
        let f = submit_form(m);
        assert_eq!(j, f, "JSON and form disagree for {m:?}");
        j
    }

    fn err(m: &Map<String, Value>) -> IcuError {
        match submit_both(m) {
            Err(e) => e,
            Ok(p) => panic!("expected an error for {m:?}, got {p:?}"),
        }
    }

    fn ok(m: &Map<String, Value>) -> SubmitParams {
        match submit_both(m) {
            Ok(p) => p,
            Err(e) => panic!("expected success for {m:?}, got {e}"),
        }
    }

    fn assert_err(e: &IcuError, kind: IcuErrorKind, contains: &str) {
        assert_eq!(e.kind, kind, "{e}");
        assert!(e.to_string().contains(contains), "{e:?} lacks {contains:?}");
    }

    // --- bodies ---

    #[test]
    fn minimal_request_gets_the_defaults() {
        let p = ok(&base());
        assert_eq!(
            p,
            SubmitParams {
                engine: Engine::Zh16k,
                channel_num: 1,
                res_text_format: 0,
                source: Source::Url("https://example.com/a.wav".into()),
                speaker_diarization: false,
                speaker_number: 0,
                callback_url: None,
                filter_dirty: 0,
                filter_modal: 0,
                convert_num_mode: 1,
                filter_punc: 0,
            }
        );
    }

    #[test]
    fn json_numbers_and_numeric_strings_are_equal() {
        let numbers = with(&[
            ("ChannelNum", json!(1)),
            ("ResTextFormat", json!(2)),
            ("SourceType", json!(0)),
            ("FilterPunc", json!(2)),
        ]);
        let strings = with(&[
            ("ChannelNum", json!("1")),
            ("ResTextFormat", json!("2")),
            ("SourceType", json!("0")),
            ("FilterPunc", json!("2")),
        ]);
        assert_eq!(submit_json(&numbers), submit_json(&strings));
        assert_eq!(ok(&numbers).filter_punc, 2);
        // Leading zeros are digits too.
        assert_eq!(
            ok(&with(&[("ResTextFormat", json!("01"))])).res_text_format,
            1
        );
    }

    #[test]
    fn content_types_are_matched_case_insensitively_with_parameters() {
        let body = serde_json::to_vec(&base()).unwrap_or_default();
        for ct in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            " application/json ;charset=gbk",
        ] {
            assert!(parse_submit(Some(ct), &body).is_ok(), "{ct}");
        }
        let form = form_body(&base());
        for ct in [
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
        ] {
            assert!(parse_submit(Some(ct), &form).is_ok(), "{ct}");
        }
    }

    #[test]
    fn no_content_type_is_sniffed() {
        let mut body = b" \r\n\t".to_vec();
        body.extend(serde_json::to_vec(&base()).unwrap_or_default());
        assert!(parse_submit(None, &body).is_ok());
        assert!(parse_submit(Some(""), &body).is_ok());
        assert!(parse_submit(None, &form_body(&base())).is_ok());
        // Broken JSON is still JSON when it starts with `{`.
        let e = parse_submit(None, b"  {\"EngineModelType\":").unwrap_err();
        assert_err(&e, IcuErrorKind::InvalidParameter, "not valid JSON");
        // An empty body is an empty form.
        let e = parse_submit(None, b"").unwrap_err();
        assert_err(&e, IcuErrorKind::MissingParameter, "EngineModelType");
    }

    #[test]
    fn other_content_types_are_refused() {
        for ct in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
        ] {
            let e = parse_submit(Some(ct), b"{}").unwrap_err();
            assert_err(
                &e,
                IcuErrorKind::InvalidParameter,
                "unsupported Content-Type",
            );
            assert!(e.reason.contains("application/json"));
            assert!(e.reason.contains("application/x-www-form-urlencoded"));
            assert!(e.reason.contains(ct.split(';').next().unwrap_or(ct)));
        }
    }

    #[test]
    fn bad_json_and_non_objects_are_invalid_parameter() {
        for (body, says) in [
            (&b"{"[..], "not valid JSON"),
            (b"{\"a\":}", "not valid JSON"),
            (b"{\"a\":\"\xff\"}", "not valid JSON"),
            (b"", "not valid JSON"),
            (b"[1,2]", "got an array"),
            (b"\"text\"", "got a string"),
            (b"42", "got a number"),
            (b"null", "got null"),
            (b"true", "got a boolean"),
        ] {
            let e = parse_submit(JSON, body).unwrap_err();
            assert_err(&e, IcuErrorKind::InvalidParameter, says);
        }
        let deep = "[".repeat(10_000);
        let e = parse_submit(JSON, deep.as_bytes()).unwrap_err();
        assert_eq!(e.kind, IcuErrorKind::InvalidParameter);
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_odd_pairs() {
        let body = "EngineModelType=16k_zh&&ChannelNum=%31&ResTextFormat=0&SourceType=0\
                    &Url=https%3A%2F%2Fexample.com%2Fa+b%zz.wav%2&Other&=x&CallbackUrl=";
        let p = parse_submit(FORM, body.as_bytes());
        // `+` is a space, which a URL may not contain.
        assert_err(&p.unwrap_err(), IcuErrorKind::InvalidUrl, "whitespace");
        let body = "EngineModelType=16k_zh&ChannelNum=%31&ResTextFormat=0&SourceType=0\
                    &Url=https%3A%2F%2Fexample.com%2Fa%2520b%zz.wav%2&Other&=x&CallbackUrl=";
        let p = parse_submit(FORM, body.as_bytes()).unwrap();
        assert_eq!(
            p.source,
            Source::Url("https://example.com/a%20b%zz.wav%2".into())
        );
        assert_eq!(p.channel_num, 1);
        assert_eq!(p.callback_url, None);
    }

    #[test]
    fn form_values_of_known_fields_must_be_utf8() {
        let body = b"EngineModelType=16k_zh%FF&ChannelNum=1&ResTextFormat=0&SourceType=0&Url=x";
        let e = parse_submit(FORM, body).unwrap_err();
        assert_err(&e, IcuErrorKind::InvalidParameter, "EngineModelType");
        // Unknown fields are not even decoded.
        let mut body = form_body(&base());
        body.extend_from_slice(b"&Junk=%FF%FE\xff");
        assert!(parse_submit(FORM, &body).is_ok());
    }

    #[test]
    fn duplicates_last_one_wins() {
        let mut body = form_body(&base());
        body.extend_from_slice(b"&ChannelNum=7&ChannelNum=1&FilterPunc=1&FilterPunc=2");
        assert_eq!(parse_submit(FORM, &body).unwrap().filter_punc, 2);
        let json = br#"{"EngineModelType":"8k_en","EngineModelType":"16k_en","ChannelNum":1,
            "ResTextFormat":0,"SourceType":0,"Url":"http://h/a"}"#;
        assert_eq!(parse_submit(JSON, json).unwrap().engine, Engine::En16k);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let m = with(&[
            ("Extra", json!({"nested": [1, 2]})),
            ("ProjectId", json!(0)),
            ("UsrAudioKey", json!("abc")),
            ("Data", json!("not base64 but ignored with SourceType 0")),
        ]);
        assert_eq!(ok(&m), ok(&base()));
    }

    #[test]
    fn null_and_empty_count_as_absent() {
        let m = with(&[
            ("SpeakerNumber", Value::Null),
            ("FilterDirty", json!("")),
            ("ConvertNumMode", Value::Null),
            ("CallbackUrl", json!("")),
        ]);
        let p = ok(&m);
        assert_eq!(p.convert_num_mode, 1);
        assert_eq!(p.callback_url, None);
        let e = err(&with(&[("ChannelNum", Value::Null)]));
        assert_err(&e, IcuErrorKind::MissingParameter, "ChannelNum");
        let e = err(&with(&[("EngineModelType", json!(""))]));
        assert_err(&e, IcuErrorKind::MissingParameter, "EngineModelType");
    }

    // --- presence and order ---

    #[test]
    fn required_fields_are_reported_in_table_order() {
        let all = [
            "EngineModelType",
            "ChannelNum",
            "ResTextFormat",
            "SourceType",
        ];
        for (i, field) in all.iter().enumerate() {
            let e = err(&without(base(), &all[i..]));
            assert_err(&e, IcuErrorKind::MissingParameter, field);
            assert_eq!(
                e.reason,
                format!("the required parameter {field} is missing")
            );
        }
    }

    #[test]
    fn missing_comes_before_bad_values() {
        let m = without(with(&[("ChannelNum", json!(9))]), &["SourceType"]);
        assert_err(&err(&m), IcuErrorKind::MissingParameter, "SourceType");
        // The selected source is checked for presence before other values.
        let m = without(with(&[("ChannelNum", json!(9))]), &["Url"]);
        assert_err(&err(&m), IcuErrorKind::MissingParameter, "Url");
        // Values before cross-field rules.
        let m = with(&[("ChannelNum", json!(2)), ("FilterPunc", json!(9))]);
        assert_err(&err(&m), IcuErrorKind::InvalidParameterValue, "FilterPunc");
    }

    #[test]
    fn case_variants_get_a_hint() {
        let m = without(with(&[("channelNum", json!("1"))]), &["ChannelNum"]);
        let e = err(&m);
        assert_err(&e, IcuErrorKind::MissingParameter, "ChannelNum");
        assert!(e.reason.contains("case-sensitive"), "{e}");
        assert!(e.reason.contains("\"channelNum\""), "{e}");
    }

    #[test]
    fn url_and_data_are_conditionally_required() {
        let e = err(&without(base(), &["Url"]));
        assert_err(&e, IcuErrorKind::MissingParameter, "Url");
        assert!(e.reason.contains("SourceType is 0"));
        let e = err(&with(&[("SourceType", json!("1"))]));
        assert_err(&e, IcuErrorKind::MissingParameter, "Data");
        assert!(e.reason.contains("SourceType is 1"));
        // With SourceType=1 a bad Url is ignored.
        let audio = b"RIFF0000WAVE";
        let m = with(&[
            ("SourceType", json!(1)),
            ("Url", json!("ftp://nope")),
            ("Data", json!(b64(audio))),
        ]);
        assert_eq!(ok(&m).source, Source::Data(audio.to_vec()));
    }

    // --- each value ---

    #[test]
    fn engines() {
        for engine in Engine::ALL {
            let m = with(&[("EngineModelType", json!(engine.code()))]);
            assert_eq!(ok(&m).engine, engine);
        }
        let e = err(&with(&[("EngineModelType", json!("16k_fr"))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "EngineModelType must be one of",
        );
        assert!(e.reason.contains("16k_wuu-SH") && e.reason.contains("\"16k_fr\""));
        let e = err(&with(&[("EngineModelType", json!("16K_ZH"))]));
        assert!(e.reason.contains("case-sensitive: 16k_zh"), "{e}");
        let e = submit_json(&with(&[("EngineModelType", json!(16))])).unwrap_err();
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "must be a string, got 16",
        );
    }

    #[test]
    fn channel_num() {
        assert_eq!(ok(&with(&[("ChannelNum", json!(1))])).channel_num, 1);
        let stereo = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!("2")),
        ]);
        assert_eq!(ok(&stereo).channel_num, 2);
        for bad in [json!(0), json!(3), json!("-1"), json!(256)] {
            let e = err(&with(&[("ChannelNum", bad.clone())]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "ChannelNum must be 1 or 2",
            );
        }
        let e = err(&with(&[("ChannelNum", json!(3))]));
        assert_eq!(
            e.to_string(),
            "InvalidParameterValue: ChannelNum must be 1 or 2, got 3"
        );
    }

    #[test]
    fn res_text_format_and_source_type() {
        for f in 0..=2 {
            assert_eq!(ok(&with(&[("ResTextFormat", json!(f))])).res_text_format, f);
        }
        let e = err(&with(&[("ResTextFormat", json!(3))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "ResTextFormat must be 0, 1 or 2, got 3",
        );
        let e = err(&with(&[("SourceType", json!("2"))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "SourceType must be 0 (Url) or 1 (Data), got 2",
        );
    }

    #[test]
    fn non_integers_are_refused_with_what_was_sent() {
        for (bad, shown) in [
            (json!(1.5), "got 1.5"),
            (json!(1.0), "got 1.0"),
            (json!("1.0"), "got \"1.0\""),
            (json!("1e0"), "got \"1e0\""),
            (json!("+1"), "got \"+1\""),
            (json!(" 1"), "got \" 1\""),
            (json!("one"), "got \"one\""),
            (json!("-"), "got \"-\""),
            (json!(true), "got the boolean true"),
            (json!([1]), "got an array"),
            (json!({"v": 1}), "got an object"),
        ] {
            let e = submit_json(&with(&[("FilterDirty", bad.clone())])).unwrap_err();
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "FilterDirty must be an integer",
            );
            assert!(e.reason.ends_with(shown), "{bad}: {e}");
        }
        // Huge numbers are integers out of range, not crashes.
        for bad in [json!(u64::MAX), json!("-99999999999999999999999999")] {
            let e = submit_json(&with(&[("SpeakerNumber", bad)])).unwrap_err();
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "SpeakerNumber must be between 0 and 10",
            );
        }
    }

    #[test]
    fn speaker_diarization_and_number() {
        let m = with(&[
            ("SpeakerDiarization", json!("1")),
            ("SpeakerNumber", json!("10")),
        ]);
        let p = ok(&m);
        assert!(p.speaker_diarization);
        assert_eq!(p.speaker_number, 10);
        assert!(!ok(&with(&[("SpeakerDiarization", json!(0))])).speaker_diarization);
        let e = err(&with(&[("SpeakerDiarization", json!(2))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "SpeakerDiarization must be 0 or 1",
        );
        for bad in [json!(11), json!(-1)] {
            let e = err(&with(&[("SpeakerNumber", bad)]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "SpeakerNumber must be between 0 and 10",
            );
        }
        // SpeakerNumber without diarization is accepted (it is just unused).
        assert_eq!(ok(&with(&[("SpeakerNumber", json!(3))])).speaker_number, 3);
    }

    #[test]
    fn filters_and_number_conversion() {
        for engine in Engine::ALL {
            for v in 0..=2u8 {
                let m = with(&[
                    ("EngineModelType", json!(engine.code())),
                    ("FilterDirty", json!(v)),
                    ("FilterModal", json!(v.to_string())),
                    ("FilterPunc", json!(v)),
                ]);
                let p = ok(&m);
                assert_eq!((p.filter_dirty, p.filter_modal, p.filter_punc), (v, v, v));
            }
            for v in [0u8, 1, 3] {
                let m = with(&[
                    ("EngineModelType", json!(engine.code())),
                    ("ConvertNumMode", json!(v)),
                ]);
                assert_eq!(ok(&m).convert_num_mode, v);
            }
        }
        for field in ["FilterDirty", "FilterModal", "FilterPunc"] {
            let e = err(&with(&[(field, json!(3))]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                &format!("{field} must be 0, 1 or 2, got 3"),
            );
        }
        let e = err(&with(&[("ConvertNumMode", json!(2))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "ConvertNumMode must be 0, 1 or 3 (there is no 2), got 2",
        );
    }

    #[test]
    fn urls() {
        let max = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES - 21));
        assert_eq!(max.len(), MAX_URL_BYTES - 1);
        for good in [
            "http://example.com/a.wav",
            "HTTPS://Example.com:8443/a.wav?x=1&y=%20#f",
            "http://127.0.0.1:9/a",
            "http://[::1]/a",
            "https://user:pw@host/a",
            "http://例子.测试/音频.wav",
            max.as_str(),
        ] {
            let p = ok(&with(&[("Url", json!(good))]));
            assert_eq!(p.source, Source::Url(good.to_owned()));
        }
        let at_limit = format!("{max}a");
        for (bad, says) in [
            (
                at_limit.as_str(),
                "must be under 2048 bytes, got 2048 bytes",
            ),
            ("ftp://example.com/a.wav", "absolute http:// or https://"),
            ("example.com/a.wav", "absolute http:// or https://"),
            ("http:example.com/a.wav", "absolute http:// or https://"),
            ("//example.com/a.wav", "absolute http:// or https://"),
            ("http://", "is not a valid URL"),
            ("http:///a.wav", "host"),
            ("http://[::1/a", "is not a valid URL"),
            ("http://exa mple.com/", "whitespace"),
            (" http://example.com/", "absolute"),
            ("http://example.com/\t", "whitespace"),
            ("http://example.com:99999/", "is not a valid URL"),
        ] {
            let e = err(&with(&[("Url", json!(bad))]));
            assert_err(&e, IcuErrorKind::InvalidUrl, says);
            assert!(e.reason.starts_with("Url "), "{e}");
        }
        let e = submit_json(&with(&[("Url", json!(5))])).unwrap_err();
        assert_err(&e, IcuErrorKind::InvalidUrl, "must be a string, got 5");
    }

    #[test]
    fn callback_urls() {
        let p = ok(&with(&[("CallbackUrl", json!("http://127.0.0.1:8080/cb"))]));
        assert_eq!(p.callback_url.as_deref(), Some("http://127.0.0.1:8080/cb"));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        for bad in ["mailto:x@y", "http://", long.as_str(), "not a url"] {
            let e = err(&with(&[("CallbackUrl", json!(bad))]));
            assert_err(&e, IcuErrorKind::InvalidParameterValue, "CallbackUrl ");
        }
        let e = submit_json(&with(&[("CallbackUrl", json!(["http://x"]))])).unwrap_err();
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "CallbackUrl must be a string",
        );
    }

    fn data_request(data: &str) -> Map<String, Value> {
        with(&[("SourceType", json!("1")), ("Data", json!(data))])
    }

    #[test]
    fn data_decodes_strict_base64() {
        let audio: Vec<u8> = (0..=255u8).collect();
        let p = ok(&data_request(&b64(&audio)));
        assert_eq!(p.source, Source::Data(audio));
        // `+` and `/` survive form encoding.
        let p = ok(&data_request(&b64(&[0xfb, 0xff, 0xbf])));
        assert_eq!(p.source, Source::Data(vec![0xfb, 0xff, 0xbf]));
    }

    #[test]
    fn data_line_breaks_get_their_own_message() {
        for text in ["AAAA\nAAAA", "AAAA\r\nAAAA", "AAAA\r", "\nAAAA"] {
            let e = err(&data_request(text));
            assert_err(&e, IcuErrorKind::InvalidVoiceData, "without line breaks");
            assert!(e.reason.contains("b64encode") && e.reason.contains("encodebytes"));
        }
    }

    #[test]
    fn data_url_safe_alphabet_gets_its_own_message() {
        for text in ["-_8A", "AA-A", "AAA_"] {
            let e = err(&data_request(text));
            assert_err(
                &e,
                IcuErrorKind::InvalidVoiceData,
                "standard base64 alphabet",
            );
            assert!(e.reason.contains("URL-safe"));
        }
    }

    #[test]
    fn data_other_mistakes() {
        for (text, says) in [
            ("AAA", "is not valid base64"),      // missing padding
            ("AA==AA==", "is not valid base64"), // padding in the middle
            ("AAB=", "is not valid base64"),     // non-zero trailing bits
            ("AA=", "is not valid base64"),
            ("A", "is not valid base64"),
            ("AA.A", "is not valid base64"),
            ("b'AAAA'", "Python bytes literal"),
            ("AA AA", "%2B"),
            ("5L2g5aW9", ""),
        ] {
            let m = data_request(text);
            if says.is_empty() {
                assert!(submit_both(&m).is_ok());
                continue;
            }
            let e = err(&m);
            assert_err(&e, IcuErrorKind::InvalidVoiceData, says);
            assert!(e.reason.starts_with("Data "), "{e}");
        }
        let e =
            submit_json(&with(&[("SourceType", json!(1)), ("Data", json!([1, 2]))])).unwrap_err();
        assert_err(
            &e,
            IcuErrorKind::InvalidVoiceData,
            "must be a base64 string, got an array",
        );
    }

    #[test]
    fn data_size_boundary() {
        let just_under = vec![0xffu8; MAX_DATA_BYTES - 1];
        let at_limit = vec![0xffu8; MAX_DATA_BYTES];
        let m = data_request(&b64(&just_under));
        match submit_json(&m) {
            Ok(p) => assert_eq!(p.source, Source::Data(just_under)),
            Err(e) => panic!("{e}"),
        }
        // The worst case for form encoding: every character is `/`, sent as `%2F`.
        let m = data_request(&b64(&at_limit));
        let form = form_body(&m);
        assert!(
            form.len() <= MAX_SUBMIT_BODY,
            "{} > {MAX_SUBMIT_BODY}",
            form.len()
        );
        for e in [
            submit_json(&m).unwrap_err(),
            parse_submit(FORM, &form).unwrap_err(),
        ] {
            assert_err(&e, IcuErrorKind::VoiceDataTooLong, "5242880 bytes");
        }
    }

    // --- cross-field rules ---

    #[test]
    fn stereo_only_with_8k_zh() {
        for engine in Engine::ALL {
            let m = with(&[
                ("EngineModelType", json!(engine.code())),
                ("ChannelNum", json!(2)),
            ]);
            match submit_both(&m) {
                Ok(_) => assert_eq!(engine, Engine::Zh8k),
                Err(e) => {
                    assert_ne!(engine, Engine::Zh8k);
                    assert_err(&e, IcuErrorKind::InvalidParameterValue, "ChannelNum 2");
                    assert!(e.reason.contains(engine.code()));
                }
            }
        }
    }

    #[test]
    fn diarization_only_with_three_engines_and_mono() {
        for engine in Engine::ALL {
            let m = with(&[
                ("EngineModelType", json!(engine.code())),
                ("SpeakerDiarization", json!(1)),
            ]);
            let allowed = matches!(engine, Engine::Zh8k | Engine::Zh16k | Engine::ZhVideo16k);
            match submit_both(&m) {
                Ok(p) => assert!(allowed && p.speaker_diarization),
                Err(e) => {
                    assert!(!allowed);
                    assert_err(
                        &e,
                        IcuErrorKind::InvalidParameterValue,
                        "SpeakerDiarization 1",
                    );
                }
            }
        }
        let m = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!(2)),
            ("SpeakerDiarization", json!(1)),
        ]);
        assert_err(
            &err(&m),
            IcuErrorKind::InvalidParameterValue,
            "requires ChannelNum 1",
        );
        let m = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!(2)),
        ]);
        assert!(!ok(&m).speaker_diarization);
    }

    // --- TaskId ---

    #[test]
    fn task_id_from_query() {
        assert_eq!(parse_task_id_query(Some("TaskId=1393265")), Ok(1393265));
        assert_eq!(
            parse_task_id_query(Some("x=1&TaskId=18446744073709551615")),
            Ok(u64::MAX)
        );
        assert_eq!(parse_task_id_query(Some("TaskId=%3314")), Ok(314));
        assert_eq!(parse_task_id_query(Some("TaskId=1&TaskId=2")), Ok(2));
        assert_eq!(parse_task_id_query(Some("TaskId=0")), Ok(0));
        for q in [
            None,
            Some(""),
            Some("TaskId="),
            Some("taskid=1"),
            Some("Task=1"),
        ] {
            let e = parse_task_id_query(q).unwrap_err();
            assert_err(&e, IcuErrorKind::MissingParameter, "TaskId");
        }
        let e = parse_task_id_query(Some("taskId=1")).unwrap_err();
        assert!(e.reason.contains("case-sensitive"));
        for q in [
            "TaskId=18446744073709551616",
            "TaskId=-1",
            "TaskId=1.0",
            "TaskId=abc",
            "TaskId=+1",
            "TaskId=1+",
            "TaskId=%FF",
        ] {
            let e = parse_task_id_query(Some(q)).unwrap_err();
            assert!(
                matches!(
                    e.kind,
                    IcuErrorKind::InvalidParameterValue | IcuErrorKind::InvalidParameter
                ),
                "{q}: {e}"
            );
        }
        let e = parse_task_id_query(Some("TaskId=-5")).unwrap_err();
        assert!(e.reason.ends_with("got -5"), "{e}");
        let e = parse_task_id_query(Some("TaskId=abc")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "InvalidParameterValue: TaskId must be an unsigned 64-bit integer \
             (0 to 18446744073709551615), got \"abc\""
        );
    }

    #[test]
    fn task_id_from_body() {
        let big = 18446744073709551615u64;
        let cases: [(&[u8], Option<&str>); 6] = [
            (br#"{"TaskId":18446744073709551615}"#, JSON),
            (br#"{"TaskId":"18446744073709551615"}"#, JSON),
            (br#" {"TaskId":18446744073709551615,"Other":[]}"#, None),
            (b"TaskId=18446744073709551615", FORM),
            (b"TaskId=18446744073709551615", None),
            (
                b"TaskId=18446744073709551615",
                Some("Application/X-WWW-Form-Urlencoded"),
            ),
        ];
        for (body, ct) in cases {
            assert_eq!(parse_task_id_body(ct, body), Ok(big));
        }
        // Above 2^53: exact, no float rounding.
        assert_eq!(
            parse_task_id_body(JSON, br#"{"TaskId":9007199254740993}"#),
            Ok(9007199254740993)
        );
        for (body, kind) in [
            (&br#"{"TaskId":null}"#[..], IcuErrorKind::MissingParameter),
            (br#"{"TaskId":""}"#, IcuErrorKind::MissingParameter),
            (br#"{}"#, IcuErrorKind::MissingParameter),
            (br#"{"TaskId":-1}"#, IcuErrorKind::InvalidParameterValue),
            (br#"{"TaskId":1.5}"#, IcuErrorKind::InvalidParameterValue),
            (
                br#"{"TaskId":18446744073709551616}"#,
                IcuErrorKind::InvalidParameterValue,
            ),
            (br#"{"TaskId":true}"#, IcuErrorKind::InvalidParameterValue),
            (br#"{"TaskId":[1]}"#, IcuErrorKind::InvalidParameterValue),
            (br#"[1]"#, IcuErrorKind::InvalidParameter),
            (br#"{"TaskId":"#, IcuErrorKind::InvalidParameter),
        ] {
            let e = parse_task_id_body(JSON, body).unwrap_err();
            assert_eq!(e.kind, kind, "{}: {e}", String::from_utf8_lossy(body));
        }
        let e = parse_task_id_body(Some("text/plain"), b"TaskId=1").unwrap_err();
        assert_eq!(e.kind, IcuErrorKind::InvalidParameter);
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let junk = "x".repeat(100_000);
        let e = err(&with(&[("EngineModelType", json!(junk.clone()))]));
        assert!(e.reason.len() < 600, "{}", e.reason.len());
        assert!(e.reason.contains("100000 bytes"));
        let digits = "9".repeat(100_000);
        let e = err(&with(&[("ChannelNum", json!(digits))]));
        assert!(e.reason.len() < 200, "{}", e.reason.len());
        let e = parse_task_id_query(Some(&format!("TaskId={junk}"))).unwrap_err();
        assert!(e.reason.len() < 300);
    }

    // --- robustness ---

    /// splitmix64: a fixed, dependency-free generator so the garbage is the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn parse_everything(body: &[u8]) {
        for ct in [
            JSON,
            FORM,
            None,
            Some("text/plain"),
            Some(";;;"),
            Some("\u{0}"),
        ] {
            let _ = parse_submit(ct, body);
            let _ = parse_task_id_body(ct, body);
        }
        let _ = parse_task_id_query(Some(&String::from_utf8_lossy(body)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x1c0_5eed);
        // Bytes biased towards the characters the parsers care about.
        let alphabet = b"{}[]\":,=&%+-_/\\ \r\n\t0123456789abcdefABCDEF.eE\x00\xff\xc3\xa9";
        for i in 0..3000 {
            let len = rng.below(96);
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    if i % 2 == 0 {
                        alphabet[rng.below(alphabet.len())]
                    } else {
                        (rng.next() & 0xff) as u8
                    }
                })
                .collect();
            parse_everything(&body);
        }
    }

    #[test]
    fn truncated_and_mutated_valid_bodies_never_panic() {
        let full = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("SpeakerDiarization", json!("1")),
            ("CallbackUrl", json!("https://cb.example/x?a=1&b=%20")),
            ("SourceType", json!("1")),
            ("Data", json!(b64(b"some audio bytes \xff\xfe"))),
            ("FilterPunc", json!(2)),
        ]);
        let bodies = [
            serde_json::to_vec(&full).unwrap_or_default(),
            form_body(&full),
            br#"{"TaskId":"18446744073709551615"}"#.to_vec(),
        ];
        let mut rng = Rng(42);
        for body in &bodies {
            for cut in 0..=body.len() {
                parse_everything(&body[..cut]);
            }
            for _ in 0..1000 {
                let mut mutated = body.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(mutated.len());
                    if let Some(b) = mutated.get_mut(at) {
                        *b = (rng.next() & 0xff) as u8;
                    }
                }
                parse_everything(&mutated);
            }
        }
    }
}
