//! Helpers the parameter tests share: a minimal valid submit, edits of it, and runs through
//! both body encodings.

use base64::Engine as _;

pub use super::{parse_submit, parse_task_id, RawParams, Source, SubmitParams};
pub use crate::engine::Engine;
pub use crate::providers::icu::error::{IcuError, IcuErrorKind};
pub use crate::providers::icu::limits::MAX_SUBMIT_BODY;
pub use serde_json::{json, Map, Value};

/// Decodes and validates a submit body, as the handler does.
pub fn submit_body(content_type: Option<&str>, body: &[u8]) -> Result<SubmitParams, IcuError> {
    parse_submit(&RawParams::from_body(content_type, body)?)
}

/// The TaskId of a `GET searchResult` query string.
pub fn parse_task_id_query(query: Option<&str>) -> Result<u64, IcuError> {
    parse_task_id(&RawParams::from_query(query)?)
}

/// The TaskId of a `POST searchResult` body.
pub fn parse_task_id_body(content_type: Option<&str>, body: &[u8]) -> Result<u64, IcuError> {
    parse_task_id(&RawParams::from_body(content_type, body)?)
}

pub const JSON: Option<&str> = Some("application/json;charset=utf-8");
pub const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A minimal valid submit as the public client sends it: every value a string.
pub fn base() -> Map<String, Value> {
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

pub fn with(pairs: &[(&str, Value)]) -> Map<String, Value> {
    let mut m = base();
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    m
}

pub fn without(m: Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut m = m;
    for k in keys {
        m.remove(*k);
    }
    m
}

pub fn submit_json(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
    let body = serde_json::to_vec(m).unwrap_or_default();
    submit_body(JSON, &body)
}

/// The same parameters as a form body (strings as they are, numbers as their text).
pub fn form_body(m: &Map<String, Value>) -> Vec<u8> {
    let pairs: Vec<(&str, String)> = m
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.as_str(), text)
        })
        .collect();
    serde_urlencoded::to_string(pairs)
        .unwrap_or_default()
        .into_bytes()
}

pub fn submit_form(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
    submit_body(FORM, &form_body(m))
}

/// Runs `m` through both encodings; both must agree.
pub fn submit_both(m: &Map<String, Value>) -> Result<SubmitParams, IcuError> {
    let j = submit_json(m);
    let f = submit_form(m);
    assert_eq!(j, f, "JSON and form disagree for {m:?}");
    j
}

pub fn err(m: &Map<String, Value>) -> IcuError {
    match submit_both(m) {
        Err(e) => e,
        Ok(p) => panic!("expected an error for {m:?}, got {p:?}"),
    }
}

pub fn ok(m: &Map<String, Value>) -> SubmitParams {
    match submit_both(m) {
        Ok(p) => p,
        Err(e) => panic!("expected success for {m:?}, got {e}"),
    }
}

pub fn assert_err(e: &IcuError, kind: IcuErrorKind, contains: &str) {
    assert_eq!(e.kind, kind, "{e}");
    assert!(e.to_string().contains(contains), "{e:?} lacks {contains:?}");
}
