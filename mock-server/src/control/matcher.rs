//! Request matchers for `POST /__admin/requests/find` and `/count`, as WireMock verifies:
//! every field given must match, an empty matcher matches every entry.
//!
//! - `provider` (`coze`, `icu`), `method` (any case);
//! - `path` exact, and/or `pathPattern`, a regular expression (Rust `regex` syntax) the whole
//!   path must match;
//! - `header`: name → exact value as journaled (names in any case; a credential is matched in
//!   its redacted form, `Bearer …1234`; repeated headers as their values joined by `, `);
//! - `parameter`: name → exact value, of the query string or of icu's body parameters
//!   (a JSON number or boolean matches its text, `"1"`; `Data` matches nothing);
//! - `status`: the HTTP status, `code`: the provider's code in the answer;
//! - `scenario`: the name of a scenario that applied;
//! - `since`: RFC 3339 text or epoch milliseconds on the simulator's clock (inclusive);
//! - `limit` (find only): the newest N matches, default 100.
//!
//! The server reads a matcher field by field ([`RequestMatcher::from_json`]) so a bad one is
//! answered 400 naming its field.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::routes::Provider;
use crate::stores::journal::{BodySummary, RequestEntry};

/// Default of `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// Longest `pathPattern`.
const MAX_PATTERN: usize = 1024;

/// What to look for in the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestMatcher {
    /// The provider whose endpoint answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// HTTP method, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Exact path, without the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A regular expression the whole path matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern: Option<String>,
    /// Header name → exact (journaled) value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
    /// Query or body parameter name → exact value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter: BTreeMap<String, String>,
    /// HTTP status answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Provider code answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// A scenario that applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Only requests that arrived at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Since>,
    /// The most entries `find` answers (the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A time on the simulator's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Since {
    /// Milliseconds since the Unix epoch.
    Ms(i64),
    /// RFC 3339 text, e.g. `2025-01-01T00:00:00Z`.
    Text(String),
}

/// `POST /__admin/requests/count`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestCount {
    /// Entries that match.
    pub count: usize,
}

/// A matcher ready to test entries: method upper-cased, pattern compiled, header names
/// lower-cased, `since` in milliseconds.
#[derive(Debug)]
pub struct Compiled {
    matcher: RequestMatcher,
    pattern: Option<regex::Regex>,
    since_ms: Option<i64>,
    /// `limit`, defaulted.
    pub limit: usize,
}

fn field<T: DeserializeOwned>(name: &str, value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("matcher field {name}: {e}"))
}

impl RequestMatcher {
    /// Also requires header `name` (any case) to have exactly `value` as journaled.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Also requires query or body parameter `name` to be exactly `value`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameter.insert(name.into(), value.into());
        self
    }

    /// Reads a matcher field by field, so a bad one is reported by name.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let Value::Object(fields) = body else {
            return Err("the matcher must be a JSON object".into());
        };
        let mut m = RequestMatcher::default();
        for (name, value) in fields {
            match name.as_str() {
                "provider" => m.provider = field(name, value)?,
                "method" => m.method = field(name, value)?,
                "path" => m.path = field(name, value)?,
                "pathPattern" => m.path_pattern = field(name, value)?,
                "header" => m.header = field(name, value)?,
                "parameter" => m.parameter = field(name, value)?,
                "status" => m.status = field(name, value)?,
                "code" => m.code = field(name, value)?,
                "scenario" => m.scenario = field(name, value)?,
                "since" => m.since = field(name, value)?,
                "limit" => m.limit = field(name, value)?,
                other => {
                    return Err(format!(
                        "unknown matcher field {other:?}: use provider, method, path, \
                         pathPattern, header, parameter, status, code, scenario, since, limit"
                    ))
                }
            }
        }
        Ok(m)
    }

    /// Checks the values and prepares the matcher; the error names the bad field.
    pub fn compile(mut self) -> Result<Compiled, String> {
        let pattern = match &self.path_pattern {
            Some(p) if p.len() > MAX_PATTERN => {
                return Err(format!(
                    "matcher field pathPattern: longer than {MAX_PATTERN} bytes"
                ))
            }
            Some(p) => Some(
                regex::RegexBuilder::new(&format!("^(?:{p})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("matcher field pathPattern: not a valid regex: {e}"))?,
            ),
            None => None,
        };
        if let Some(m) = &mut self.method {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(format!("matcher field method: {m:?} is not an HTTP method"));
            }
            m.make_ascii_uppercase();
        }
        if let Some(status) = self.status.filter(|s| !(100..=599).contains(s)) {
            return Err(format!(
                "matcher field status: {status} is not an HTTP status (100-599)"
            ));
        }
        self.header = std::mem::take(&mut self.header)
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let since_ms = match &self.since {
            None => None,
            Some(Since::Ms(ms)) => Some(*ms),
            Some(Since::Text(text)) => Some(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|e| {
                        format!(
                            "matcher field since: {text:?} is not RFC 3339 time or epoch \
                             milliseconds: {e}"
                        )
                    })?
                    .timestamp_millis(),
            ),
        };
        let limit = match self.limit {
            Some(0) => return Err("matcher field limit: must be at least 1".into()),
            Some(n) => n,
            None => DEFAULT_LIMIT,
        };
        Ok(Compiled {
            matcher: self,
            pattern,
            since_ms,
            limit,
        })
    }
}

impl Compiled {
    /// Whether `entry` satisfies every field given.
    pub fn matches(&self, entry: &RequestEntry) -> bool {
        let m = &self.matcher;
        m.provider.is_none_or(|p| entry.provider == Some(p))
            && m.method.as_ref().is_none_or(|x| *x == entry.method)
            && m.path.as_ref().is_none_or(|x| *x == entry.path)
            && self
                .pattern
                .as_ref()
                .is_none_or(|r| r.is_match(&entry.path))
            && m.status.is_none_or(|s| s == entry.status)
            && m.code.is_none_or(|c| entry.code == Some(c))
            && m.scenario
                .as_ref()
                .is_none_or(|s| entry.scenarios.contains(s))
            && self.since_ms.is_none_or(|t| entry.time_ms >= t)
            && m.header
                .iter()
                .all(|(k, v)| entry.headers.get(k).is_some_and(|got| got == v))
            && m.parameter.iter().all(|(k, v)| has_parameter(entry, k, v))
    }
}

/// Whether the entry's query string or icu body parameters hold `name` = `value`.
fn has_parameter(entry: &RequestEntry, name: &str, value: &str) -> bool {
    let in_query = entry.query.as_deref().is_some_and(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .is_ok_and(|pairs| pairs.iter().any(|(k, v)| k == name && v == value))
    });
    in_query
        || match &entry.body {
            Some(BodySummary::Params { params, .. }) if name != "Data" => {
                params.get(name).is_some_and(|got| match got {
                    Value::String(s) => s == value,
                    Value::Number(n) => n.to_string() == value,
                    Value::Bool(b) => b.to_string() == value,
                    _ => false,
                })
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_fields_are_named() {
        for (body, field) in [
            (json!({"status": "x"}), "status"),
            (json!({"provider": "aws"}), "provider"),
            (json!({"header": {"a": 1}}), "header"),
            (json!({"nope": 1}), "nope"),
            (json!({"since": true}), "since"),
        ] {
            let err = RequestMatcher::from_json(&body).unwrap_err();
            assert!(err.contains(field), "{err}");
        }
        for (body, field) in [
            (json!({"pathPattern": "("}), "pathPattern"),
            (json!({"since": "yesterday"}), "since"),
            (json!({"status": 42}), "status"),
            (json!({"limit": 0}), "limit"),
            (json!({"method": "GE T"}), "method"),
        ] {
            let err = RequestMatcher::from_json(&body)
                .unwrap()
                .compile()
                .unwrap_err();
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn the_typed_matcher_reads_back_as_sent() {
        let m = RequestMatcher {
            method: Some("post".into()),
            path_pattern: Some("/v1/.*".into()),
            header: [("Authorization".into(), "Bearer …nown".into())].into(),
            since: Some(Since::Text("2025-01-01T00:00:00Z".into())),
            ..RequestMatcher::default()
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["pathPattern"], "/v1/.*");
        assert_eq!(RequestMatcher::from_json(&json).unwrap(), m);
        let compiled = m.compile().unwrap();
        assert_eq!(compiled.since_ms, Some(1_735_689_600_000));
        assert_eq!(compiled.limit, DEFAULT_LIMIT);
    }
}
