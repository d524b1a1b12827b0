//! icu's request signature, checked only in strict mode (`--icu-secrets FILE`): by default
//! any caller is accepted so local work needs no credentials.
//!
//! As the public client signs [client, inferred for the ASR paths]: take every query and
//! body parameter plus `cSecretId` and `cDate`, drop empty values, sort the keys by ASCII,
//! join as `k=v&k=v` without URL-encoding, HMAC-SHA1 with the secret key, hex-encode the
//! digest and Base64 the hex string. Headers: `C-Date`, `C-Secret` (the secret id), `Sign`.
//!
//! `C-Date` (Beijing time, as the client writes it) must lie within a window around the
//! simulator's clock (±5 minutes by default, `--icu-signature-window-secs`), so a captured
//! request cannot be replayed forever [inferred: Tencent's own APIs refuse stale signatures].
//!
//! Secrets file (TOML):
//! ```toml
//! [[secrets]]
//! secret_id = "AKIDexample"
//! secret_key = "the key"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha1::Sha1;

use super::error::IcuError;
use super::params::RawParams;
use crate::clock::{beijing, to_utc};
use crate::config::{from_toml, read_settings_file, SettingsFileError};

/// How far `C-Date` may be from the simulator's clock by default, in seconds either way.
pub const DEFAULT_WINDOW_SECS: u64 = 300;

/// Secret keys by secret id, and how fresh a signature's date must be.
#[derive(Debug, Clone)]
pub struct Secrets {
    keys: HashMap<String, String>,
    /// `C-Date` may be this many seconds before or after the clock; 0: not checked.
    window_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    #[serde(default)]
    secrets: Vec<SecretEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    secret_id: String,
    secret_key: String,
}

impl Secrets {
    /// Reads a secrets file; the error names the file, line and reason.
    pub fn load(path: &Path) -> Result<Self, SettingsFileError> {
        read_settings_file(path, "secrets file", Self::parse)
    }

    /// Parses the TOML text of a secrets file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: SecretsFile = from_toml(text)?;
        let mut map = HashMap::new();
        for entry in file.secrets {
            if entry.secret_id.is_empty() || entry.secret_key.is_empty() {
                return Err("a secret has an empty secret_id or secret_key".into());
            }
            map.insert(entry.secret_id, entry.secret_key);
        }
        if map.is_empty() {
            return Err("no [[secrets]] entries: strict mode would refuse every request".into());
        }
        Ok(Secrets {
            keys: map,
            window_secs: DEFAULT_WINDOW_SECS,
        })
    }

    /// A single pair, for tests and embedding.
    pub fn single(secret_id: &str, secret_key: &str) -> Self {
        Secrets {
            keys: HashMap::from([(secret_id.to_owned(), secret_key.to_owned())]),
            window_secs: DEFAULT_WINDOW_SECS,
        }
    }

    /// Accepts `C-Date` up to `secs` seconds either side of the clock (0: any date).
    pub fn with_window(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }
}

/// The signature of `params` (without `cSecretId`/`cDate`, which are added here).
pub fn sign(
    params: &BTreeMap<String, String>,
    secret_id: &str,
    secret_key: &str,
    c_date: &str,
) -> String {
    let mut all: BTreeMap<&str, &str> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.insert("cSecretId", secret_id);
    all.insert("cDate", c_date);
    let joined = all
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(joined.as_bytes());
    let hex = hex::encode(mac.finalize().into_bytes());
    base64::engine::general_purpose::STANDARD.encode(hex)
}

/// The parameters a request signs, from its decoded parts (query string, then body; a later
/// part wins): JSON values as text, numbers as written, `null` dropped.
pub fn request_params<'a>(
    parts: impl IntoIterator<Item = &'a RawParams>,
) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for part in parts {
        for (name, value) in part.iter() {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            params.insert(name.to_owned(), text);
        }
    }
    params
}

/// Checks a request's signature headers against `secrets`, and its `C-Date` against the
/// simulator's time `now_ms`.
pub fn verify(
    secrets: &Secrets,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<(), IcuError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let missing = |name: &str| {
        IcuError::auth_failure(format!(
            "the {name} header is missing (strict signature mode)"
        ))
    };
    let secret_id = header("c-secret").ok_or_else(|| missing("C-Secret"))?;
    let c_date = header("c-date").ok_or_else(|| missing("C-Date"))?;
    let given = header("sign").ok_or_else(|| missing("Sign"))?;
    let Ok(date) = chrono::NaiveDateTime::parse_from_str(c_date, "%Y-%m-%d %H:%M:%S") else {
        return Err(IcuError::auth_failure(format!(
            "C-Date must look like 2025-01-01 08:00:00, got {c_date:?}"
        )));
    };
    check_fresh(date, c_date, now_ms, secrets.window_secs)?;
    let key = secrets
        .keys
        .get(secret_id)
        .ok_or_else(|| IcuError::auth_failure(format!("unknown C-Secret {secret_id:?}")))?;
    let expected = sign(params, secret_id, key, c_date);
    if expected != given {
        return Err(IcuError::auth_failure(
            "the Sign header does not match the request: sign every query and body parameter plus cSecretId and cDate",
        ));
    }
    Ok(())
}

/// Refuses a `C-Date` (Beijing time) more than `window_secs` from `now_ms`; compared in
/// whole seconds, as the header is written.
fn check_fresh(
    date: chrono::NaiveDateTime,
    c_date: &str,
    now_ms: i64,
    window_secs: u64,
) -> Result<(), IcuError> {
    if window_secs == 0 {
        return Ok(());
    }
    let signed = date.and_utc().timestamp() - i64::from(beijing().local_minus_utc());
    let now = now_ms.div_euclid(1000);
    let off = signed.saturating_sub(now);
    if off.unsigned_abs() <= window_secs {
        return Ok(());
    }
    let way = if off > 0 { "ahead of" } else { "behind" };
    let clock = to_utc(now_ms)
        .with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S");
    Err(IcuError::auth_failure(format!(
        "C-Date {c_date} is {} s {way} the simulator's clock ({clock} Beijing time); it must \
         be within {window_secs} s of it: sign with the current time (a simulator on a \
         manual or scaled clock: its time, GET /__admin/clock)",
        off.unsigned_abs()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // python3: base64.b64encode(hmac.new(b"key", b"TaskId=123&cDate=2025-01-01 08:00:00&cSecretId=id", hashlib.sha1).hexdigest().encode())
        let params = BTreeMap::from([("TaskId".to_owned(), "123".to_owned())]);
        assert_eq!(
            sign(&params, "id", "key", "2025-01-01 08:00:00"),
            "ZDk5Y2I1MWE5NzM2Y2MwZWRhZTFlZTA5MDhmMWNlN2UwY2YwM2JjZQ=="
        );
    }

    #[test]
    fn params_from_json_form_and_query_agree() {
        let json = request_params([&RawParams::from_body(
            Some("application/json"),
            br#"{"ChannelNum":1,"EngineModelType":"16k_zh","CallbackUrl":null}"#,
        )
        .unwrap()]);
        let form = request_params([&RawParams::from_body(
            Some("application/x-www-form-urlencoded"),
            b"ChannelNum=1&EngineModelType=16k_zh",
        )
        .unwrap()]);
        assert_eq!(json, form);
        let query = request_params([&RawParams::from_query(Some("TaskId=5")).unwrap()]);
        assert_eq!(query["TaskId"], "5");
    }

    /// 2025-01-01 08:00:00 in Beijing.
    const NOW_MS: i64 = 1_735_689_600_000;

    fn signed_at(date: &str) -> (HeaderMap, BTreeMap<String, String>) {
        let params = BTreeMap::from([("TaskId".to_owned(), "123".to_owned())]);
        let mut headers = HeaderMap::new();
        headers.insert("c-secret", "id".parse().unwrap());
        headers.insert("c-date", date.parse().unwrap());
        let sign = sign(&params, "id", "key", date);
        headers.insert("sign", sign.parse().unwrap());
        (headers, params)
    }

    #[test]
    fn dates_outside_the_window_are_refused() {
        let secrets = Secrets::single("id", "key");
        for date in [
            "2025-01-01 08:00:00",
            "2025-01-01 08:05:00",
            "2025-01-01 07:55:00",
        ] {
            let (headers, params) = signed_at(date);
            assert!(
                verify(&secrets, &headers, &params, NOW_MS).is_ok(),
                "{date}"
            );
            // The clock's ms part does not count: 07:55:00 is still in at 08:00:00.999.
            assert!(verify(&secrets, &headers, &params, NOW_MS + 999).is_ok());
        }
        for (date, msg) in [
            ("2025-01-01 08:05:01", "301 s ahead of"),
            ("2025-01-01 07:54:59", "301 s behind"),
            ("2000-01-01 00:00:00", "behind"),
            ("2999-12-31 23:59:59", "ahead of"),
        ] {
            let (headers, params) = signed_at(date);
            let err = verify(&secrets, &headers, &params, NOW_MS)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("AuthFailure.InvalidAuthorization: C-Date "),
                "{err}"
            );
            assert!(err.contains(msg), "{err}");
            assert!(err.contains("(2025-01-01 08:00:00 Beijing time)"), "{err}");
            // With no window, only the signature counts.
            let lenient = Secrets::single("id", "key").with_window(0);
            assert!(verify(&lenient, &headers, &params, NOW_MS).is_ok());
        }
        let (headers, params) = signed_at("2025-01-01 08:01:00");
        let narrow = Secrets::single("id", "key").with_window(30);
        assert!(verify(&narrow, &headers, &params, NOW_MS).is_err());
    }

    #[test]
    fn verification_names_what_is_wrong() {
        let secrets = Secrets::single("id", "key");
        let params = BTreeMap::from([("TaskId".to_owned(), "123".to_owned())]);
        let mut headers = HeaderMap::new();
        assert!(verify(&secrets, &headers, &params, NOW_MS)
            .unwrap_err()
            .to_string()
            .contains("C-Secret"));
        headers.insert("c-secret", "id".parse().unwrap());
        headers.insert("c-date", "2025-01-01 08:00:00".parse().unwrap());
        headers.insert(
            "sign",
            sign(&params, "id", "key", "2025-01-01 08:00:00")
                .parse()
                .unwrap(),
        );
        assert!(verify(&secrets, &headers, &params, NOW_MS).is_ok());
        headers.insert("sign", "AAAA".parse().unwrap());
        assert!(verify(&secrets, &headers, &params, NOW_MS)
            .unwrap_err()
            .to_string()
            .starts_with("AuthFailure.InvalidAuthorization"));
        assert!(
            Secrets::parse("[[secrets]]\nsecret_id = \"a\"\nsecretkey = \"b\"\n")
                .unwrap_err()
                .contains("line 3")
        );
    }
}
