//! icu's request signature, as the public icu client computes it: headers `C-Date`,
//! `C-Secret` (the secret id) and `Sign`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

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
    beijing_date(chrono::Utc::now().timestamp_millis())
}

/// `ms` since the Unix epoch in Beijing time (UTC+8) as `yyyy-MM-dd HH:mm:ss`: a `C-Date`
/// for a clock other than the system's, such as a simulator's.
pub fn beijing_date(ms: i64) -> String {
    let utc = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (utc.naive_utc() + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Where a signature's `C-Date` comes from. The provider (and a strict simulator) refuse a
/// date far from their clock, so a client signs with that clock: the system's by default
/// ([`beijing_now`]), a simulator's own when it runs on a manual or scaled clock.
#[derive(Clone)]
pub struct DateSource(Arc<dyn Fn() -> String + Send + Sync>);

impl DateSource {
    /// Dates from `date`, which returns `yyyy-MM-dd HH:mm:ss`.
    pub fn new(date: impl Fn() -> String + Send + Sync + 'static) -> Self {
        DateSource(Arc::new(date))
    }

    /// Beijing time from the system clock.
    pub fn system() -> Self {
        DateSource::new(beijing_now)
    }

    /// The date to sign with now.
    pub fn date(&self) -> String {
        (self.0)()
    }
}

impl Default for DateSource {
    fn default() -> Self {
        DateSource::system()
    }
}

impl fmt::Debug for DateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DateSource").field(&self.date()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_in_beijing_time() {
        assert_eq!(beijing_date(1_735_689_600_000), "2025-01-01 08:00:00");
        assert_eq!(beijing_date(1_735_689_600_999), "2025-01-01 08:00:00");
        let pinned = DateSource::new(|| "2025-01-01 08:00:00".to_owned());
        assert_eq!(pinned.clone().date(), "2025-01-01 08:00:00");
        assert_eq!(DateSource::default().date().len(), 19);
    }

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
