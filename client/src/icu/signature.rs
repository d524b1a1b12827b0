//! icu's request signature, as the public icu client computes it: headers `C-Date`,
//! `C-Secret` (the secret id) and `Sign`.

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The signature of a request's parameters (query and body, without `cSecretId`/`cDate`,
/// which are added here): drop empty values, sort keys by ASCII, join `k=v&k=v` without
/// URL-encoding, HMAC-SHA1 with `secret_key`, lower-case hex of the digest, then Base64 of
/// that hex text.
pub fn sign(
    params: &BTreeMap<String, String>,
    secret_id: &str,
    secret_key: &str,
    c_date: &str,
) -> String {
    // A BTreeMap of &str orders keys by bytes, which is ASCII order.
    let mut all: BTreeMap<&str, &str> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.insert("cSecretId", secret_id);
    all.insert("cDate", c_date);
    all.retain(|_, v| !v.is_empty());
    let mut joined = String::new();
    for (i, (k, v)) in all.iter().enumerate() {
        if i > 0 {
            joined.push('&');
        }
        joined.push_str(k);
        joined.push('=');
        joined.push_str(v);
    }
    let digest = match Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(joined.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm only satisfies the type.
        Err(_) => Vec::new(),
    };
    base64::engine::general_purpose::STANDARD.encode(hex::encode(digest))
}

/// The current time in Beijing (UTC+8) as `yyyy-MM-dd HH:mm:ss`, the default `C-Date`.
// The workspace bans reading the wall clock so the simulator stays on its own clock; a
// client talking to the real provider has to sign with the real time.
#[allow(clippy::disallowed_methods)]
pub fn beijing_now() -> String {
    (chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_now_has_the_provider_shape() {
        let now = beijing_now();
        assert_eq!(now.len(), 19, "{now}");
        assert!(chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S").is_ok());
    }

    #[test]
    fn empty_values_are_dropped() {
        let with_empty = BTreeMap::from([
            ("TaskId".to_owned(), "1".to_owned()),
            ("CallbackUrl".to_owned(), String::new()),
        ]);
        let without = BTreeMap::from([("TaskId".to_owned(), "1".to_owned())]);
        assert_eq!(
            sign(&with_empty, "id", "key", "2025-01-01 08:00:00"),
            sign(&without, "id", "key", "2025-01-01 08:00:00")
        );
    }
}
