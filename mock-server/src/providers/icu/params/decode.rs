//! One decoding of a request's parameters: a query string, a JSON body or a form body becomes
//! a [`RawParams`], which the parameter checks and the signature check both read, so a body
//! is never decoded twice (and the two can never disagree on what it says).

use serde_json::{Map, Value};

use super::coerce::{kind_of, show_str};
use crate::providers::icu::error::IcuError;

const JSON_TYPE: &str = "application/json";
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// A request's parameters by name, as sent: JSON values as they are, form values as strings.
/// When a name appears twice, the last one wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawParams {
    /// The parameters by name.
    fields: Map<String, Value>,
    /// The values came from a form, which decodes leniently: bytes that are not UTF-8 once
    /// percent-decoded became U+FFFD, so [`RawParams::require_utf8`] looks for that.
    form: bool,
}

impl RawParams {
    /// The parameters of a query string (absent: none), decoded as a form.
    pub fn from_query(query: Option<&str>) -> Result<Self, IcuError> {
        Self::from_form(query.unwrap_or("").as_bytes())
    }

    /// The parameters of a body, by content type (see the [module docs](super)): a JSON
    /// object or a form, or `InvalidParameter` for other types and broken JSON.
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, IcuError> {
        let media = content_type
            .and_then(|ct| ct.split(';').next())
            .map(str::trim)
            .filter(|m| !m.is_empty());
        let is_json = match media {
            Some(m) if m.eq_ignore_ascii_case(JSON_TYPE) => true,
            Some(m) if m.eq_ignore_ascii_case(FORM_TYPE) => false,
            Some(m) => {
                return Err(IcuError::invalid_parameter(format!(
                    "unsupported Content-Type {}: send {JSON_TYPE} or {FORM_TYPE}",
                    show_str(m)
                )))
            }
            None => body
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .is_some_and(|&b| b == b'{'),
        };
        if is_json {
            Self::from_json(body)
        } else {
            Self::from_form(body)
        }
    }

    fn from_json(body: &[u8]) -> Result<Self, IcuError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => Ok(RawParams {
                fields,
                form: false,
            }),
            Ok(other) => Err(IcuError::invalid_parameter(format!(
                "the JSON body must be an object, got {}",
                kind_of(&other)
            ))),
            Err(e) => Err(IcuError::invalid_parameter(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }

    /// `application/x-www-form-urlencoded` as the WHATWG URL standard reads it: pairs split on
    /// `&`, name and value on the first `=`, `+` a space, `%XY` a byte, a malformed `%` kept.
    fn from_form(body: &[u8]) -> Result<Self, IcuError> {
        serde_urlencoded::from_bytes(body)
            .map(|fields| RawParams { fields, form: true })
            .map_err(|e| IcuError::invalid_parameter(format!("the form cannot be decoded: {e}")))
    }

    /// The value of `name` as sent, `null` and `""` included.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Every parameter as sent, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// `InvalidParameter` when a form value of one of the `known` parameters was not UTF-8
    /// once percent-decoded. The form decoder turned such bytes into U+FFFD, so a form cannot
    /// send a real U+FFFD in these parameters; none of them has a use for one. Other
    /// parameters are ignored, whatever their bytes.
    pub fn require_utf8(&self, known: &[&str]) -> Result<(), IcuError> {
        if !self.form {
            return Ok(());
        }
        for name in known {
            if let Some(Value::String(value)) = self.fields.get(*name) {
                if value.contains(char::REPLACEMENT_CHARACTER) {
                    return Err(IcuError::invalid_parameter(format!(
                        "the form parameter {name} is not valid UTF-8 once percent-decoded"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::icu::params::testing::*;

    #[test]
    fn one_decoding_keeps_every_name_and_the_last_of_repeats() {
        // Every name stays, unknown ones too: the signature covers them all.
        let form = "b=%E4%BD%A0+x&a=1&a=2&Junk=%FF";
        let raw = RawParams::from_body(FORM, form.as_bytes()).unwrap();
        assert_eq!(raw.iter().count(), 3);
        assert_eq!(raw.get("a"), Some(&json!("2")));
        assert_eq!(raw.get("b"), Some(&json!("你 x")));
        assert_eq!(raw, RawParams::from_query(Some(form)).unwrap());
        assert!(raw.require_utf8(&["a", "b", "Other"]).is_ok());
        assert_eq!(
            raw.require_utf8(&["Junk"]).unwrap_err().kind,
            IcuErrorKind::InvalidParameter
        );
        // JSON keeps its types, and a U+FFFD in JSON is a real one.
        let raw = RawParams::from_body(JSON, "{\"a\":1,\"Junk\":\"\u{FFFD}\"}".as_bytes());
        let raw = raw.unwrap();
        assert_eq!(raw.get("a"), Some(&json!(1)));
        assert!(raw.require_utf8(&["Junk"]).is_ok());
    }

    #[test]
    fn content_types_are_matched_case_insensitively_with_parameters() {
        let body = serde_json::to_vec(&base()).unwrap_or_default();
        for ct in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            " application/json ;charset=gbk",
        ] {
            assert!(submit_body(Some(ct), &body).is_ok(), "{ct}");
        }
        let form = form_body(&base());
        for ct in [
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
        ] {
            assert!(submit_body(Some(ct), &form).is_ok(), "{ct}");
        }
    }

    #[test]
    fn no_content_type_is_sniffed() {
        let mut body = b" \r\n\t".to_vec();
        body.extend(serde_json::to_vec(&base()).unwrap_or_default());
        assert!(submit_body(None, &body).is_ok());
        assert!(submit_body(Some(""), &body).is_ok());
        assert!(submit_body(None, &form_body(&base())).is_ok());
        // Broken JSON is still JSON when it starts with `{`.
        let e = submit_body(None, b"  {\"EngineModelType\":").unwrap_err();
        assert_err(&e, IcuErrorKind::InvalidParameter, "not valid JSON");
        // An empty body is an empty form.
        let e = submit_body(None, b"").unwrap_err();
        assert_err(&e, IcuErrorKind::MissingParameter, "EngineModelType");
    }

    #[test]
    fn other_content_types_are_refused() {
        for ct in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
        ] {
            let e = submit_body(Some(ct), b"{}").unwrap_err();
            assert_err(
                &e,
                IcuErrorKind::InvalidParameter,
                "unsupported Content-Type",
            );
            assert!(e.reason.contains("application/json"));
            assert!(e.reason.contains("application/x-www-form-urlencoded"));
            assert!(e.reason.contains(ct.split(';').next().unwrap_or(ct)));
        }
    }

    #[test]
    fn bad_json_and_non_objects_are_invalid_parameter() {
        for (body, says) in [
            (&b"{"[..], "not valid JSON"),
            (b"{\"a\":}", "not valid JSON"),
            (b"{\"a\":\"\xff\"}", "not valid JSON"),
            (b"", "not valid JSON"),
            (b"[1,2]", "got an array"),
            (b"\"text\"", "got a string"),
            (b"42", "got a number"),
            (b"null", "got null"),
            (b"true", "got a boolean"),
        ] {
            let e = submit_body(JSON, body).unwrap_err();
            assert_err(&e, IcuErrorKind::InvalidParameter, says);
        }
        let deep = "[".repeat(10_000);
        let e = submit_body(JSON, deep.as_bytes()).unwrap_err();
        assert_eq!(e.kind, IcuErrorKind::InvalidParameter);
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_odd_pairs() {
        let body = "EngineModelType=16k_zh&&ChannelNum=%31&ResTextFormat=0&SourceType=0\
                    &Url=https%3A%2F%2Fexample.com%2Fa+b%zz.wav%2&Other&=x&CallbackUrl=";
        let p = submit_body(FORM, body.as_bytes());
        // `+` is a space, which a URL may not contain.
        assert_err(&p.unwrap_err(), IcuErrorKind::InvalidUrl, "whitespace");
        let body = "EngineModelType=16k_zh&ChannelNum=%31&ResTextFormat=0&SourceType=0\
                    &Url=https%3A%2F%2Fexample.com%2Fa%2520b%zz.wav%2&Other&=x&CallbackUrl=";
        let p = submit_body(FORM, body.as_bytes()).unwrap();
        assert_eq!(
            p.source,
            Source::Url("https://example.com/a%20b%zz.wav%2".into())
        );
        assert_eq!(p.channel_num, 1);
        assert_eq!(p.callback_url, None);
    }

    #[test]
    fn form_values_of_known_fields_must_be_utf8() {
        let body = b"EngineModelType=16k_zh%FF&ChannelNum=1&ResTextFormat=0&SourceType=0&Url=x";
        let e = submit_body(FORM, body).unwrap_err();
        assert_err(&e, IcuErrorKind::InvalidParameter, "EngineModelType");
        // Unknown fields are not even decoded.
        let mut body = form_body(&base());
        body.extend_from_slice(b"&Junk=%FF%FE\xff");
        assert!(submit_body(FORM, &body).is_ok());
    }

    #[test]
    fn duplicates_last_one_wins() {
        let mut body = form_body(&base());
        body.extend_from_slice(b"&ChannelNum=7&ChannelNum=1&FilterPunc=1&FilterPunc=2");
        assert_eq!(submit_body(FORM, &body).unwrap().filter_punc, 2);
        let json = br#"{"EngineModelType":"8k_en","EngineModelType":"16k_en","ChannelNum":1,
            "ResTextFormat":0,"SourceType":0,"Url":"http://h/a"}"#;
        assert_eq!(submit_body(JSON, json).unwrap().engine, Engine::En16k);
    }

    // --- robustness ---

    /// splitmix64: a fixed, dependency-free generator so the garbage is the same every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn parse_everything(body: &[u8]) {
        for ct in [
            JSON,
            FORM,
            None,
            Some("text/plain"),
            Some(";;;"),
            Some("\u{0}"),
        ] {
            let _ = submit_body(ct, body);
            let _ = parse_task_id_body(ct, body);
        }
        let _ = parse_task_id_query(Some(&String::from_utf8_lossy(body)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x1c0_5eed);
        // Bytes biased towards the characters the parsers care about.
        let alphabet = b"{}[]\":,=&%+-_/\\ \r\n\t0123456789abcdefABCDEF.eE\x00\xff\xc3\xa9";
        for i in 0..3000 {
            let len = rng.below(96);
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    if i % 2 == 0 {
                        alphabet[rng.below(alphabet.len())]
                    } else {
                        (rng.next() & 0xff) as u8
                    }
                })
                .collect();
            parse_everything(&body);
        }
    }

    #[test]
    fn truncated_and_mutated_valid_bodies_never_panic() {
        let full = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("SpeakerDiarization", json!("1")),
            ("CallbackUrl", json!("https://cb.example/x?a=1&b=%20")),
            ("SourceType", json!("1")),
            ("Data", json!(b64(b"some audio bytes \xff\xfe"))),
            ("FilterPunc", json!(2)),
        ]);
        let bodies = [
            serde_json::to_vec(&full).unwrap_or_default(),
            form_body(&full),
            br#"{"TaskId":"18446744073709551615"}"#.to_vec(),
        ];
        let mut rng = Rng(42);
        for body in &bodies {
            for cut in 0..=body.len() {
                parse_everything(&body[..cut]);
            }
            for _ in 0..1000 {
                let mut mutated = body.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(mutated.len());
                    if let Some(b) = mutated.get_mut(at) {
                        *b = (rng.next() & 0xff) as u8;
                    }
                }
                parse_everything(&mutated);
            }
        }
    }
}
