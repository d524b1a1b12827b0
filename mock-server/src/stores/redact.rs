//! Credentials as the journal and the recording proxy show them: recognised by header name,
//! cut to their scheme and last four characters. No HTTP types: names and strings only.

/// Headers whose value is a credential, beyond the names [`is_credential`] guesses from.
const CREDENTIALS: &[&str] = &["authorization", "proxy-authorization", "cookie", "sign"];

/// Whether a header (lowercase name) carries a credential: the standard ones, icu's
/// signature (`Sign`, `C-Secret`), and any name that says token, secret, key or password.
pub fn is_credential(name: &str) -> bool {
    // Every request has some of these: answered without the scan below (a tenth of the
    // journal layer's cost on a poll before).
    if matches!(
        name,
        "host"
            | "accept"
            | "user-agent"
            | "content-type"
            | "content-length"
            | "connection"
            | "accept-encoding"
            | "x-mock-scenario"
            | "c-date"
    ) {
        return false;
    }
    let bytes = name.as_bytes();
    CREDENTIALS.contains(&name)
        || ["token", "secret", "signature", "key", "password", "auth"]
            .iter()
            .any(|word| bytes.windows(word.len()).any(|w| w == word.as_bytes()))
}

/// A credential as the journal shows it: its scheme (`Bearer`) if it has one, then `…` and
/// its last four characters, which are left out too when the credential is 8 characters or
/// shorter (they would be half of it).
pub fn redact(value: &str) -> String {
    let value = value.trim();
    let (scheme, secret) = match value.split_once(' ') {
        Some((scheme, secret)) if !scheme.is_empty() && scheme.len() <= 32 => {
            (Some(scheme), secret.trim())
        }
        _ => (None, value),
    };
    let chars = secret.chars().count();
    let tail: String = if chars > 8 {
        secret.chars().skip(chars - 4).collect()
    } else {
        String::new()
    };
    match scheme {
        Some(scheme) => format!("{scheme} …{tail}"),
        None => format!("…{tail}"),
    }
}
