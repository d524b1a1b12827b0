//! Provider B's side of a callback (spec §4): the form a receiver gets when a task ends, its
//! content type, and the only answer that counts as an acknowledgement. The dispatcher in
//! `outbound` sends the encoded form and applies [`judge`] without knowing either.

use serde::Serialize;

use crate::outbound::callbacks::Payload;

/// The acknowledgement a receiver must answer (spec §4); only its `code` is checked.
pub const ACKNOWLEDGEMENT: &str = r#"{"code":0,"message":"success"}"#;

/// The content type of every callback body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The callback's fields (spec §4). Encodes as application/x-www-form-urlencoded, every value
/// URL-encoded, spaces as '+', in the seed's order: code, requestId, appid, projectid,
/// [audioUrl], text, audioTime, message, [resultDetail].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackForm {
    /// 0 on success, else the task failure code 10000–10007.
    pub code: i64,
    /// The TaskId.
    pub request_id: u64,
    /// The account id (a setting).
    pub appid: u64,
    /// The project id, 0 by default.
    pub projectid: i64,
    /// The audio URL, only for tasks submitted with SourceType 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    /// The result in the `Result` text format.
    pub text: String,
    /// Audio duration in seconds, already printed with 6 decimals (`8.420000`).
    pub audio_time: String,
    /// Empty on success, the ErrorMsg on failure.
    pub message: String,
    /// The SentenceDetail JSON array as text, `""` for present-but-empty, `None` for absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_detail: Option<String>,
}

impl CallbackForm {
    /// The form body, byte for byte as the seed's example: the fields in declaration order,
    /// `None`s left out, `*-._` and ASCII alphanumerics kept, space as `+`, every other byte
    /// as upper-case `%XX`.
    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(self)
            .expect("a flat struct of numbers and strings always encodes as a form")
    }

    /// What the dispatcher sends: the encoded form with its content type.
    pub fn payload(&self) -> Payload {
        Payload {
            body: self.encode(),
            content_type: FORM_CONTENT_TYPE,
        }
    }
}

/// Whether an answer body acknowledges: a JSON object whose `code` is the integer 0. The
/// dispatcher is given this rule when it is built.
pub fn judge(answer: &[u8]) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|_| format!("answer is not JSON (expected {ACKNOWLEDGEMENT})"))?;
    match value.get("code") {
        Some(code) if code.as_i64() == Some(0) => Ok(()),
        Some(code) => Err(format!("receiver answered code {code}")),
        None => Err(format!(
            "answer is not a JSON object with a code (expected {ACKNOWLEDGEMENT})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_TEXT: &str =
        "[0:1.640,0:4.600]  我在马上上夜班。\n[0:5.420,0:7.820]  明天早上说哈。\n";
    const SEED_BODY: &str = "code=0&requestId=4000048858&appid=12516&projectid=0&text=%5B0%3A1.640%2C0%3A4.600%5D++%E6%88%91%E5%9C%A8%E9%A9%AC%E4%B8%8A%E4%B8%8A%E5%A4%9C%E7%8F%AD%E3%80%82%0A%5B0%3A5.420%2C0%3A7.820%5D++%E6%98%8E%E5%A4%A9%E6%97%A9%E4%B8%8A%E8%AF%B4%E5%93%88%E3%80%82%0A&audioTime=8.420000&message=&resultDetail=";

    fn seed_form() -> CallbackForm {
        CallbackForm {
            code: 0,
            request_id: 4_000_048_858,
            appid: 12516,
            projectid: 0,
            audio_url: None,
            text: SEED_TEXT.to_owned(),
            audio_time: "8.420000".to_owned(),
            message: String::new(),
            result_detail: Some(String::new()),
        }
    }

    #[test]
    fn encodes_the_seed_example_byte_for_byte() {
        assert_eq!(seed_form().encode(), SEED_BODY);
    }

    #[test]
    fn the_payload_is_the_encoded_form() {
        let payload = seed_form().payload();
        assert_eq!(payload.body, SEED_BODY);
        assert_eq!(payload.content_type, FORM_CONTENT_TYPE);
    }

    #[test]
    fn optional_fields_appear_only_when_present() {
        let mut form = seed_form();
        form.audio_url = Some("https://x.example/a b.wav?k=v&z=~".to_owned());
        form.result_detail = None;
        form.code = 10007;
        form.text = String::new();
        form.message = "Failed to download audio file! HTTP status 404".to_owned();
        assert_eq!(
            form.encode(),
            "code=10007&requestId=4000048858&appid=12516&projectid=0\
             &audioUrl=https%3A%2F%2Fx.example%2Fa+b.wav%3Fk%3Dv%26z%3D%7E\
             &text=&audioTime=8.420000\
             &message=Failed+to+download+audio+file%21+HTTP+status+404"
        );
        let json = serde_json::to_value(&form).unwrap();
        assert_eq!(json["requestId"], 4_000_048_858u64);
        assert_eq!(json["audioUrl"], "https://x.example/a b.wav?k=v&z=~");
        assert!(json.get("resultDetail").is_none());
    }

    #[test]
    fn only_code_zero_acknowledges() {
        assert!(judge(ACKNOWLEDGEMENT.as_bytes()).is_ok());
        assert!(judge(br#"{"code":0}"#).is_ok());
        assert!(judge(br#"{"code":1,"message":"success"}"#).is_err());
        assert!(judge(br#"{"code":"0"}"#).is_err());
        assert!(judge(br#"[0]"#).is_err());
        assert!(judge(b"success").is_err());
        assert!(judge(b"").is_err());
    }
}
