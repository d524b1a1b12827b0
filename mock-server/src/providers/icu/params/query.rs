//! The `TaskId` of a `searchResult` query, from its query string or its body.

use serde_json::Value;

use super::coerce::{describe, is_numeric, missing, present, show_numeric};
use super::decode::RawParams;
use super::name;
use crate::providers::icu::error::IcuError;

/// The `TaskId` of a query's parameters: a JSON integer or a string of digits, up to
/// `u64::MAX` exactly (no float rounding above 2^53).
pub fn parse_task_id(raw: &RawParams) -> Result<u64, IcuError> {
    const RULE: &str = "must be an unsigned 64-bit integer (0 to 18446744073709551615)";
    raw.require_utf8(&[name::TASK_ID])?;
    let value = present(raw, name::TASK_ID).ok_or_else(|| missing(raw, name::TASK_ID, None))?;
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

#[cfg(test)]
mod tests {
    use crate::providers::icu::params::testing::*;

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
}
