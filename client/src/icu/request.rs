//! The submit request (`POST /openapi/asr/voiceToText`), typed, validated locally by the
//! seed's parameter table with the simulator's exact rules, and turned into wire parameters.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;

/// Decoded `Data` must be under this (5 MiB), per the seed.
pub const MAX_DATA_BYTES: usize = 5 * 1024 * 1024;

/// `Url` and `CallbackUrl` must be under this many bytes, per the seed and Tencent.
pub const MAX_URL_BYTES: usize = 2048;

/// `EngineModelType`: the recogniser, hence the language and the options it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// `8k_en`: telephone English.
    En8k,
    /// `8k_zh`: telephone Mandarin (the only engine that takes ChannelNum 2).
    Zh8k,
    /// `16k_zh`: Mandarin.
    Zh16k,
    /// `16k_zh_video`: Mandarin, audio/video domain.
    ZhVideo16k,
    /// `16k_en`: English.
    En16k,
    /// `16k_ca`: Cantonese.
    Ca16k,
    /// `16k_ja`: Japanese.
    Ja16k,
    /// `16k_zh_edu`: Mandarin, education.
    ZhEdu16k,
    /// `16k_en_edu`: English, education.
    EnEdu16k,
    /// `16k_zh_medical`: Mandarin, medical.
    ZhMedical16k,
    /// `16k_th`: Thai.
    Th16k,
    /// `16k_wuu-SH`: Shanghainese.
    WuuSh16k,
}

impl Engine {
    /// Every engine, in the seed's order.
    pub const ALL: [Engine; 12] = [
        Engine::En8k,
        Engine::Zh8k,
        Engine::Zh16k,
        Engine::ZhVideo16k,
        Engine::En16k,
        Engine::Ca16k,
        Engine::Ja16k,
        Engine::ZhEdu16k,
        Engine::EnEdu16k,
        Engine::ZhMedical16k,
        Engine::Th16k,
        Engine::WuuSh16k,
    ];

    /// The wire name, e.g. `16k_zh`.
    pub fn code(self) -> &'static str {
        match self {
            Engine::En8k => "8k_en",
            Engine::Zh8k => "8k_zh",
            Engine::Zh16k => "16k_zh",
            Engine::ZhVideo16k => "16k_zh_video",
            Engine::En16k => "16k_en",
            Engine::Ca16k => "16k_ca",
            Engine::Ja16k => "16k_ja",
            Engine::ZhEdu16k => "16k_zh_edu",
            Engine::EnEdu16k => "16k_en_edu",
            Engine::ZhMedical16k => "16k_zh_medical",
            Engine::Th16k => "16k_th",
            Engine::WuuSh16k => "16k_wuu-SH",
        }
    }

    /// Parses a wire name exactly (the provider's names are case-sensitive).
    pub fn from_code(code: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.code() == code)
    }

    /// Whether ChannelNum 2 is allowed (only `8k_zh`).
    pub fn supports_stereo(self) -> bool {
        self == Engine::Zh8k
    }

    /// Whether SpeakerDiarization 1 is allowed (`8k_zh`, `16k_zh`, `16k_zh_video`).
    pub fn supports_diarization(self) -> bool {
        matches!(self, Engine::Zh8k | Engine::Zh16k | Engine::ZhVideo16k)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where the audio comes from: `SourceType` 0 with `Url`, or 1 with `Data`.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// The provider downloads this public http(s) URL (audio ≤ 5 h and ≤ 512 MB).
    Url(String),
    /// The audio itself, sent base64-encoded; under 5 MiB.
    Data(Vec<u8>),
}

// Manual, so a 5 MiB Data does not flood logs.
impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Source::Data(bytes) => write!(f, "Data(<{} bytes>)", bytes.len()),
        }
    }
}

/// A submit request. Fields are public; [`SubmitRequest::new`] fills the provider's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitRequest {
    /// `EngineModelType`.
    pub engine: Engine,
    /// `ChannelNum`: 1, or 2 with `8k_zh` only.
    pub channel_num: u8,
    /// `ResTextFormat`: 0 text with timestamps; 1 word detail without punctuation; 2 with.
    pub res_text_format: u8,
    /// `SourceType` with its `Url` or `Data`.
    pub source: Source,
    /// `SpeakerDiarization`: only with `8k_zh`, `16k_zh`, `16k_zh_video` and ChannelNum 1.
    pub speaker_diarization: bool,
    /// `SpeakerNumber`: 0 automatic (at most 6), 1–10 fixed; only used with diarization.
    pub speaker_number: u8,
    /// `CallbackUrl`: where the provider POSTs the result; `None` (or `""`) to poll only.
    pub callback_url: Option<String>,
    /// `FilterDirty`: 0 keep, 1 drop, 2 replace with `*` (Mandarin engines act on it).
    pub filter_dirty: u8,
    /// `FilterModal`: 0 keep, 1 partial, 2 strict removal of modal particles.
    pub filter_modal: u8,
    /// `ConvertNumMode`: 0 Chinese numerals, 1 smart Arabic (the default), 3 also maths.
    pub convert_num_mode: u8,
    /// `FilterPunc`: 0 keep, 1 drop sentence-final, 2 drop all punctuation.
    pub filter_punc: u8,
}

/// Why a request was refused locally; `Display` is `<field>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The wire name of the offending parameter, as the provider's error would name it.
    pub field: &'static str,
    /// What is wrong, with the value.
    pub reason: String,
}

impl ValidationError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        ValidationError {
            field,
            reason: reason.into(),
        }
    }
}

impl SubmitRequest {
    /// A request with the provider's defaults: ChannelNum 1, ResTextFormat 0,
    /// ConvertNumMode 1, no diarization, no callback, no filters.
    pub fn new(engine: Engine, source: Source) -> Self {
        SubmitRequest {
            engine,
            channel_num: 1,
            res_text_format: 0,
            source,
            speaker_diarization: false,
            speaker_number: 0,
            callback_url: None,
            filter_dirty: 0,
            filter_modal: 0,
            convert_num_mode: 1,
            filter_punc: 0,
        }
    }

    /// Checks the parameter table's rules, in the provider's order (each value in table
    /// order, then the cross-field rules), so the field named is the one the server's
    /// error would name.
    pub fn validate(&self) -> Result<(), ValidationError> {
        // Presence comes first on the server too: an empty value counts as absent.
        match &self.source {
            Source::Url(url) if url.is_empty() => {
                return Err(ValidationError::new(
                    "Url",
                    "is required when SourceType is 0",
                ))
            }
            Source::Data(bytes) if bytes.is_empty() => {
                return Err(ValidationError::new(
                    "Data",
                    "is required when SourceType is 1 (the audio is empty)",
                ))
            }
            _ => {}
        }
        one_of("ChannelNum", self.channel_num, &[1, 2], "1 or 2")?;
        one_of(
            "ResTextFormat",
            self.res_text_format,
            &[0, 1, 2],
            "0, 1 or 2",
        )?;
        if self.speaker_number > 10 {
            return Err(ValidationError::new(
                "SpeakerNumber",
                format!("must be between 0 and 10, got {}", self.speaker_number),
            ));
        }
        if let Some(url) = self.callback_url() {
            if let Some(problem) = url_problem(url) {
                return Err(ValidationError::new("CallbackUrl", problem));
            }
        }
        match &self.source {
            Source::Url(url) => {
                if let Some(problem) = url_problem(url) {
                    return Err(ValidationError::new("Url", problem));
                }
            }
            Source::Data(bytes) if bytes.len() >= MAX_DATA_BYTES => {
                return Err(ValidationError::new(
                    "Data",
                    format!(
                        "must decode to under {MAX_DATA_BYTES} bytes, got {} bytes",
                        bytes.len()
                    ),
                ))
            }
            Source::Data(_) => {}
        }
        one_of("FilterDirty", self.filter_dirty, &[0, 1, 2], "0, 1 or 2")?;
        one_of("FilterModal", self.filter_modal, &[0, 1, 2], "0, 1 or 2")?;
        one_of(
            "ConvertNumMode",
            self.convert_num_mode,
            &[0, 1, 3],
            "0, 1 or 3 (there is no 2)",
        )?;
        one_of("FilterPunc", self.filter_punc, &[0, 1, 2], "0, 1 or 2")?;

        if self.channel_num == 2 && !self.engine.supports_stereo() {
            return Err(ValidationError::new(
                "ChannelNum",
                format!(
                    "2 (two channels) is only supported by EngineModelType 8k_zh, got {}",
                    self.engine
                ),
            ));
        }
        if self.speaker_diarization && !self.engine.supports_diarization() {
            return Err(ValidationError::new(
                "SpeakerDiarization",
                format!(
                    "1 is only supported by EngineModelType 8k_zh, 16k_zh and 16k_zh_video, \
                     got {}",
                    self.engine
                ),
            ));
        }
        if self.speaker_diarization && self.channel_num != 1 {
            return Err(ValidationError::new(
                "SpeakerDiarization",
                format!(
                    "1 requires ChannelNum 1 (mono audio), got ChannelNum {}",
                    self.channel_num
                ),
            ));
        }
        Ok(())
    }

    /// The wire parameters: every value a string (as the public client sends them), `Data`
    /// in standard base64 without line breaks, an absent (or empty) `CallbackUrl` omitted.
    /// These are also the parameters the signature covers.
    pub fn to_params(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            p.insert(k.to_owned(), v);
        };
        put("EngineModelType", self.engine.code().to_owned());
        put("ChannelNum", self.channel_num.to_string());
        put("ResTextFormat", self.res_text_format.to_string());
        match &self.source {
            Source::Url(url) => {
                put("SourceType", "0".to_owned());
                put("Url", url.clone());
            }
            Source::Data(bytes) => {
                put("SourceType", "1".to_owned());
                put(
                    "Data",
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                );
            }
        }
        put(
            "SpeakerDiarization",
            u8::from(self.speaker_diarization).to_string(),
        );
        put("SpeakerNumber", self.speaker_number.to_string());
        if let Some(url) = self.callback_url() {
            put("CallbackUrl", url.to_owned());
        }
        put("FilterDirty", self.filter_dirty.to_string());
        put("FilterModal", self.filter_modal.to_string());
        put("ConvertNumMode", self.convert_num_mode.to_string());
        put("FilterPunc", self.filter_punc.to_string());
        p
    }

    /// The callback URL to send: the provider treats `""` as absent, so do we.
    fn callback_url(&self) -> Option<&str> {
        self.callback_url.as_deref().filter(|u| !u.is_empty())
    }
}

fn one_of(
    field: &'static str,
    value: u8,
    allowed: &[u8],
    rule: &str,
) -> Result<(), ValidationError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be {rule}, got {value}"),
        ))
    }
}

/// Why `url` is not a usable `Url`/`CallbackUrl`: under 2048 bytes, `http://` or `https://`
/// (any case), a host, no whitespace or control characters, and parsable by the WHATWG
/// rules — the simulator's rule, which a downloader can actually fetch.
fn url_problem(url: &str) -> Option<String> {
    if url.len() >= MAX_URL_BYTES {
        return Some(format!(
            "must be under {MAX_URL_BYTES} bytes, got {} bytes",
            url.len()
        ));
    }
    let prefix = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let after_scheme = if prefix.starts_with("http://") {
        url.get(7..)
    } else if prefix.starts_with("https://") {
        url.get(8..)
    } else {
        None
    };
    let Some(after_scheme) = after_scheme else {
        return Some(format!(
            "must be an absolute http:// or https:// URL, got {}",
            shorten(url)
        ));
    };
    // The WHATWG parser would skip extra slashes (`http:///host` is `http://host/`).
    if after_scheme.starts_with(['/', '\\']) {
        return Some(format!("must name a host, got {}", shorten(url)));
    }
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "must not contain whitespace or control characters (percent-encode them), \
             got {c:?} in {}",
            shorten(url)
        ));
    }
    match url::Url::parse(url) {
        Err(e) => Some(format!("is not a valid URL ({e}): {}", shorten(url))),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            Some(format!("must name a host, got {}", shorten(url)))
        }
        Ok(_) => None,
    }
}

/// A caller's string quoted, cut to 64 characters so a long URL does not fill the message.
fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_req(url: &str) -> SubmitRequest {
        SubmitRequest::new(Engine::Zh16k, Source::Url(url.to_owned()))
    }

    #[test]
    fn defaults_are_valid_and_as_the_provider_says() {
        let r = url_req("https://example.com/a.wav");
        assert_eq!(r.validate(), Ok(()));
        let p = r.to_params();
        assert_eq!(p.get("ConvertNumMode").map(String::as_str), Some("1"));
        assert_eq!(p.get("SourceType").map(String::as_str), Some("0"));
        assert!(!p.contains_key("CallbackUrl") && !p.contains_key("Data"));
    }

    #[test]
    fn data_is_standard_base64_without_newlines() {
        let r = SubmitRequest::new(Engine::Zh16k, Source::Data(vec![0xfb; 100]));
        let p = r.to_params();
        let data = p.get("Data").cloned().unwrap_or_default();
        assert!(!data.contains('\n') && data.contains('+'));
        assert_eq!(p.get("SourceType").map(String::as_str), Some("1"));
        assert!(!p.contains_key("Url"));
    }

    #[test]
    fn urls_follow_the_simulator() {
        for good in [
            "http://example.com/a.wav",
            "HTTPS://Example.com:8443/a.wav?x=1&y=%20#f",
            "http://[::1]/a",
            "http://例子.测试/音频.wav",
        ] {
            assert_eq!(url_req(good).validate(), Ok(()), "{good}");
        }
        for bad in [
            "ftp://example.com/a.wav",
            "example.com/a.wav",
            "http:example.com/a.wav",
            "http://",
            "http:///a.wav",
            "http://[::1/a",
            "http://exa mple.com/",
            "http://example.com:99999/",
            "",
        ] {
            let e = url_req(bad).validate().err();
            assert_eq!(e.map(|e| e.field), Some("Url"), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(url_req(&long).validate().is_err());
    }

    #[test]
    fn empty_callback_url_is_absent() {
        let mut r = url_req("https://example.com/a.wav");
        r.callback_url = Some(String::new());
        assert_eq!(r.validate(), Ok(()));
        assert!(!r.to_params().contains_key("CallbackUrl"));
        r.callback_url = Some("mailto:x@y".into());
        assert_eq!(r.validate().err().map(|e| e.field), Some("CallbackUrl"));
    }
}
