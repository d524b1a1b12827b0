//! Typed reads of single parameters out of a [`RawParams`]: integers (JSON numbers or numeric
//! strings), 0/1 flags and strings, each failure an error that names the parameter and shows
//! what was sent, shortened.

use serde_json::Value;

use super::decode::RawParams;
use crate::providers::icu::error::{shorten, IcuError};

/// The value of `field`, unless absent, `null` or `""` (the public client drops those).
pub(super) fn present<'a>(raw: &'a RawParams, field: &str) -> Option<&'a Value> {
    match raw.get(field)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        v => Some(v),
    }
}

/// `MissingParameter` for `field`, with a hint when the request has it in another letter case.
pub(super) fn missing(raw: &RawParams, field: &str, condition: Option<&str>) -> IcuError {
    let mut err = match condition {
        Some(condition) => IcuError::missing_when(field, condition),
        None => IcuError::missing(field),
    };
    if let Some((other, _)) = raw
        .iter()
        .find(|(k, _)| *k != field && k.eq_ignore_ascii_case(field))
    {
        err.reason.push_str(&format!(
            " (parameter names are case-sensitive; the body has {})",
            show_str(other)
        ));
    }
    err
}

/// An integer as sent: its value when it fits an `i64`, and how to show it in a message.
pub(super) struct IntLiteral {
    pub value: Option<i64>,
    pub shown: String,
}

/// Reads a JSON integer or a numeric string; anything else is `Err(description)`.
pub(super) fn int_literal(value: &Value) -> Result<IntLiteral, String> {
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
pub(super) fn is_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An optional integer parameter whose value must be one of `allowed` (`rule` says so).
pub(super) fn optional_int(
    raw: &RawParams,
    field: &str,
    rule: &str,
    allowed: &[u8],
) -> Result<Option<u8>, IcuError> {
    let Some(value) = present(raw, field) else {
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
pub(super) fn required_int(
    raw: &RawParams,
    field: &str,
    rule: &str,
    allowed: &[u8],
) -> Result<u8, IcuError> {
    optional_int(raw, field, rule, allowed)?.ok_or_else(|| missing(raw, field, None))
}

/// An optional 0/1 parameter as a bool.
pub(super) fn optional_flag(raw: &RawParams, field: &str) -> Result<Option<bool>, IcuError> {
    Ok(optional_int(raw, field, "0 or 1", &[0, 1])?.map(|v| v == 1))
}

/// An optional string parameter; any other JSON type is `wrong_type("<rule>, got <what>")`.
pub(super) fn optional_str<'a>(
    raw: &'a RawParams,
    field: &str,
    rule: &str,
    wrong_type: impl FnOnce(String) -> IcuError,
) -> Result<Option<&'a str>, IcuError> {
    match present(raw, field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(format!("{rule}, got {}", describe(other)))),
    }
}

/// A value as a message shows it: numbers as written, strings quoted and shortened.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => show_str(s),
        Value::Bool(b) => format!("the boolean {b}"),
        other => kind_of(other).to_owned(),
    }
}

/// What kind of JSON value this is, with its article.
pub(super) fn kind_of(value: &Value) -> &'static str {
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
pub(super) fn show_str(s: &str) -> String {
    match shorten(s) {
        (short, false) => format!("{short:?}"),
        (short, true) => format!("{short:?}… ({} bytes)", s.len()),
    }
}

/// A numeric string shown bare (it is already safe to print), shortened when long.
pub(super) fn show_numeric(s: &str) -> String {
    match shorten(s) {
        (short, false) => short.to_owned(),
        (short, true) => format!("{short}… ({} digits)", s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::icu::params::testing::*;

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

    #[test]
    fn case_variants_get_a_hint() {
        let m = without(with(&[("channelNum", json!("1"))]), &["ChannelNum"]);
        let e = err(&m);
        assert_err(&e, IcuErrorKind::MissingParameter, "ChannelNum");
        assert!(e.reason.contains("case-sensitive"), "{e}");
        assert!(e.reason.contains("\"channelNum\""), "{e}");
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
}
