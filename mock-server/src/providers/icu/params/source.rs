//! The submit parameters that name where the audio comes from (`Url` or `Data`) and where the
//! result goes (`CallbackUrl`), with the messages for the common mistakes.

use base64::Engine as _;

use super::coerce::{missing, optional_str, show_str};
use super::decode::RawParams;
use super::name;
use crate::providers::icu::error::IcuError;
use crate::providers::icu::limits::{MAX_DATA_BYTES, MAX_URL_BYTES};

/// Where the audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `SourceType=0`: the simulator downloads this http(s) URL.
    Url(String),
    /// `SourceType=1`: the decoded `Data`, under [`MAX_DATA_BYTES`].
    Data(Vec<u8>),
}

/// `Url`, required when `SourceType` is 0.
pub(super) fn url_value(raw: &RawParams) -> Result<String, IcuError> {
    let url = optional_str(raw, name::URL, "must be a string", IcuError::invalid_url)?
        .ok_or_else(|| missing(raw, name::URL, Some("SourceType is 0")))?;
    match url_problem(url) {
        None => Ok(url.to_owned()),
        Some(problem) => Err(IcuError::invalid_url(problem)),
    }
}

/// `CallbackUrl`, optional; held to the same rules as `Url` but refused as a plain
/// `InvalidParameterValue`.
pub(super) fn callback_url_value(raw: &RawParams) -> Result<Option<String>, IcuError> {
    let field = name::CALLBACK_URL;
    let invalid = |detail: String| IcuError::invalid_value(field, detail);
    let Some(url) = optional_str(raw, field, "must be a string", invalid)? else {
        return Ok(None);
    };
    match url_problem(url) {
        None => Ok(Some(url.to_owned())),
        Some(problem) => Err(invalid(problem)),
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
pub(super) fn data_value(raw: &RawParams) -> Result<Vec<u8>, IcuError> {
    let text = optional_str(
        raw,
        name::DATA,
        "must be a base64 string",
        IcuError::invalid_voice_data,
    )?
    .ok_or_else(|| missing(raw, name::DATA, Some("SourceType is 1")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::icu::params::testing::*;

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
            submit_body(FORM, &form).unwrap_err(),
        ] {
            assert_err(&e, IcuErrorKind::VoiceDataTooLong, "5242880 bytes");
        }
    }
}
