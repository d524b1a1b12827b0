//! Raw HTTP, below the typed client: for requests the client cannot make (a multipart body
//! without a `file` part, a submit without `EngineModelType`, junk) and for reading an
//! answer byte for byte (status, headers, body) when a check or a snapshot needs the wire.

use std::collections::BTreeMap;
use std::time::Duration;

use asr_client::icu::{sign, Credentials, DateSource};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Coze's transcription path.
pub const COZE_PATH: &str = "/v1/audio/transcriptions";
/// icu's submit path.
pub const ICU_SUBMIT_PATH: &str = "/openapi/asr/voiceToText";
/// icu's query path.
pub const ICU_QUERY_PATH: &str = "/openapi/asr/searchResult";
/// Deadline of one HTTP call to a target (typed clients and control API alike).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A whole answer as it came over the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body, whole.
    pub body: Vec<u8>,
}

impl Answer {
    /// Sends `request` and reads the whole answer.
    pub async fn fetch(request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let response = request
            .send()
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("body read failed: {}", error_chain(&e)))?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or why it is not.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "HTTP {} body is not JSON ({e}): {}",
                self.status,
                self.body_preview()
            )
        })
    }

    /// The start of the body as text, for messages.
    pub fn body_preview(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(300) {
            None => text.into_owned(),
            Some((cut, _)) => format!("{}…", &text[..cut]),
        }
    }
}

/// A reqwest error with its causes (reqwest's own message rarely says what happened).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The parameters icu signs for a JSON body: object values as text (strings as they are,
/// numbers as written), `null` dropped — what the provider's verifier reads.
pub fn json_params(body: &Value) -> BTreeMap<String, String> {
    let Value::Object(map) = body else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((k.clone(), text))
        })
        .collect()
}

/// What an icu signature needs: the keys, and the clock its `C-Date` comes from (the
/// target's: a simulator refuses a date far from its own time).
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The keys.
    pub credentials: &'a Credentials,
    /// The target's clock.
    pub date: &'a DateSource,
}

/// Adds icu's signature headers (`C-Date`, `C-Secret`, `Sign`) over `params` when there is
/// a signer; unsigned otherwise.
pub fn icu_signed(
    request: reqwest::RequestBuilder,
    signer: Option<Signer<'_>>,
    params: &BTreeMap<String, String>,
) -> reqwest::RequestBuilder {
    let Some(Signer {
        credentials: c,
        date,
    }) = signer
    else {
        return request;
    };
    let c_date = date.date();
    let signature = sign(params, &c.secret_id, &c.secret_key, &c_date);
    request
        .header("C-Date", c_date)
        .header("C-Secret", c.secret_id.clone())
        .header("Sign", signature)
}

/// `POST` a JSON body to an icu path (signed when there is a signer).
pub async fn icu_post_json(
    http: &reqwest::Client,
    base_url: &str,
    path: &str,
    signer: Option<Signer<'_>>,
    body: &Value,
) -> Result<Answer, String> {
    let request = http
        .post(format!("{base_url}{path}"))
        .header("Content-Type", "application/json;charset=utf-8")
        .body(body.to_string());
    Answer::fetch(icu_signed(request, signer, &json_params(body))).await
}

/// `GET /openapi/asr/searchResult?TaskId=<task_id>` (signed when there is a signer).
pub async fn icu_query_get(
    http: &reqwest::Client,
    base_url: &str,
    signer: Option<Signer<'_>>,
    task_id: &str,
) -> Result<Answer, String> {
    let params = BTreeMap::from([("TaskId".to_owned(), task_id.to_owned())]);
    let request = http
        .get(format!("{base_url}{ICU_QUERY_PATH}"))
        .query(&[("TaskId", task_id)]);
    Answer::fetch(icu_signed(request, signer, &params)).await
}

/// `POST` a multipart form to Coze with an `Authorization` header (if any) as given.
pub async fn coze_post(
    http: &reqwest::Client,
    base_url: &str,
    authorization: Option<&str>,
    form: reqwest::multipart::Form,
) -> Result<Answer, String> {
    let mut request = http.post(format!("{base_url}{COZE_PATH}")).multipart(form);
    if let Some(auth) = authorization {
        request = request.header("Authorization", auth);
    }
    Answer::fetch(request).await
}

/// A form with one `file` part holding `bytes` named `filename`, as the SDKs send it.
pub fn file_form(bytes: &[u8], filename: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_owned()),
    )
}

/// Parses a form-encoded body into its fields, in order (`+` is a space).
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
