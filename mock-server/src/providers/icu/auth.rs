//! icu's request signature, checked only in strict mode (`--icu-secrets FILE`): by default
//! any caller is accepted so local work needs no credentials.
//!
//! As the public client signs [client, inferred for the ASR paths]: take every query and
//! body parameter plus `cSecretId` and `cDate`, drop empty values, sort the keys by ASCII,
//! join as `k=v&k=v` without URL-encoding, HMAC-SHA1 with the secret key, hex-encode the
//! digest and Base64 the hex string. Headers: `C-Date`, `C-Secret` (the secret id), `Sign`.
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
use crate::config::{from_toml, read_settings_file, SettingsFileError};

/// Secret keys by secret id.
#[derive(Debug, Clone, Default)]
pub struct Secrets(HashMap<String, String>);

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
        Ok(Secrets(map))
    }

    /// A single pair, for tests and embedding.
    pub fn single(secret_id: &str, secret_key: &str) -> Self {
        Secrets(HashMap::from([(
            secret_id.to_owned(),
            secret_key.to_owned(),
        )]))
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

/// Checks a request's signature headers against `secrets`.
pub fn verify(
    secrets: &Secrets,
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
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
    if chrono::NaiveDateTime::parse_from_str(c_date, "%Y-%m-%d %H:%M:%S").is_err() {
        return Err(IcuError::auth_failure(format!(
            "C-Date must look like 2025-01-01 08:00:00, got {c_date:?}"
        )));
    }
    let key = secrets
        .0
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

    #[test]
    fn verification_names_what_is_wrong() {
        let secrets = Secrets::single("id", "key");
        let params = BTreeMap::from([("TaskId".to_owned(), "123".to_owned())]);
        let mut headers = HeaderMap::new();
        assert!(verify(&secrets, &headers, &params)
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
        assert!(verify(&secrets, &headers, &params).is_ok());
        headers.insert("sign", "AAAA".parse().unwrap());
        assert!(verify(&secrets, &headers, &params)
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
