//! Provider A: Coze's synchronous transcription, `POST /v1/audio/transcriptions`
//! (`spec/coze-transcriptions.md`).
//!
//! One multipart part named `file` carries the audio; the answer is
//! `{"code":0,"msg":"","data":{"text":…},"detail":{"logid":…}}` with the same logid in the
//! `X-Tt-Logid` header. Errors come as `{"code","msg","detail":{"logid"}}` with a 4xx/5xx
//! status and become [`Error::Api`] with that status. The client never retries (like
//! cozepy): a transcription is not known to be idempotent on the provider's side.

use std::path::Path;
use std::time::Duration;

use futures_util::stream;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::http::{self, Answer};
use crate::Error;

/// The header carrying the logid (answers always have it; cozepy reads only this one).
const LOGID_HEADER: &str = "x-tt-logid";

/// cozepy's default overall timeout: long audio takes long to recognise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Chunk size when streaming a file, so a 10 MB upload never sits whole in memory.
const CHUNK: usize = 64 * 1024;

/// The filename sent when a path has none, as cozepy does for raw bytes.
const FALLBACK_FILENAME: &str = "upload";

/// A Coze client: cheap to clone (the HTTP client is shared).
#[derive(Debug, Clone)]
pub struct CozeClient {
    /// Base URL without trailing slash, e.g. `https://api.coze.cn`.
    base_url: String,
    /// Bearer token (`pat_…`, `sat_…` or an OAuth access token).
    token: String,
    /// Shared connection pool; replaceable for proxies and custom TLS.
    http: reqwest::Client,
    /// Per-request deadline, applied to every call whatever the HTTP client is.
    timeout: Duration,
}

/// A successful transcription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcription {
    /// The recognised text (`""` for audio without speech).
    pub text: String,
    /// The request's logid: header `X-Tt-Logid`, else `detail.logid`; quote it to support.
    pub logid: Option<String>,
}

impl CozeClient {
    /// A client for `base_url` (`https://api.coze.cn`, `https://api.coze.com`, or a mock's
    /// `base_url()`) with this bearer token.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        CozeClient {
            base_url: http::trim_base(base_url.into()),
            token: token.into(),
            http: http::default_client(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Uses this HTTP client (proxies, TLS roots, connection pool shared with other code).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Deadline of each call, upload included (default 600 s, like cozepy).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Transcribes audio held in memory; `filename` only tells the provider the format of
    /// headerless audio (`.pcm`, `.raw`).
    pub async fn transcribe_bytes(
        &self,
        bytes: impl Into<Vec<u8>>,
        filename: &str,
    ) -> Result<Transcription, Error> {
        let part = Part::bytes(bytes.into()).file_name(filename.to_owned());
        self.transcribe_part(part).await
    }

    /// Transcribes a file, streamed; its basename is the filename sent.
    pub async fn transcribe_path(&self, path: impl AsRef<Path>) -> Result<Transcription, Error> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::Transport(format!("cannot open {}: {e}", path.display())))?;
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| FALLBACK_FILENAME.to_owned());
        self.transcribe_file(file, &filename).await
    }

    /// Transcribes an open file, streamed in chunks rather than read whole first.
    pub async fn transcribe_file(
        &self,
        file: tokio::fs::File,
        filename: &str,
    ) -> Result<Transcription, Error> {
        // A known length gives the part a Content-Length, which lets the provider refuse an
        // oversized body before it is sent.
        let length = file.metadata().await.ok().map(|m| m.len());
        let chunks = stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(buf), Some(file)))
                }
                // Yield the error once, then end the stream.
                Err(e) => Some((Err(e), None)),
            }
        });
        let body = reqwest::Body::wrap_stream(chunks);
        let part = match length {
            Some(len) => Part::stream_with_length(body, len),
            None => Part::stream(body),
        }
        .file_name(filename.to_owned());
        self.transcribe_part(part).await
    }

    async fn transcribe_part(&self, part: Part) -> Result<Transcription, Error> {
        // The Java SDK sends no useful part type; the provider ignores it, so send the
        // neutral one.
        let part = part
            .mime_str("application/octet-stream")
            .map_err(http::transport)?;
        let request = self
            .http
            .post(format!("{}/v1/audio/transcriptions", self.base_url))
            .bearer_auth(&self.token)
            .multipart(Form::new().part("file", part))
            .timeout(self.timeout);
        let answer = http::send(request).await?;
        decode(&answer)
    }
}

/// Reads a Coze answer: success needs `code` 0, a 2xx status and a string `data.text`.
fn decode(answer: &Answer) -> Result<Transcription, Error> {
    let header_logid = answer
        .headers
        .get(LOGID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let obj = http::json_object(answer)?;
    let body_logid = obj
        .get("detail")
        .and_then(|d| d.get("logid"))
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let logid = header_logid.or(body_logid);
    let code = http::envelope_code(answer, &obj)?;
    if code != 0 {
        return Err(Error::Api {
            status: answer.status,
            code,
            msg: http::envelope_msg(&obj),
            logid,
        });
    }
    if !http::is_success(answer.status) {
        return Err(http::decode(
            answer.status,
            format!("HTTP {} with code 0", answer.status),
            &answer.body,
        ));
    }
    let text = obj
        .get("data")
        .and_then(|d| d.get("text"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            http::decode(
                answer.status,
                "code 0 without a string data.text",
                &answer.body,
            )
        })?;
    Ok(Transcription {
        text: text.to_owned(),
        logid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn answer(status: u16, logid: Option<&str>, body: &str) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(id) = logid {
            if let Ok(v) = HeaderValue::from_str(id) {
                headers.insert(LOGID_HEADER, v);
            }
        }
        Answer {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn success_prefers_the_header_logid() {
        let a = answer(
            200,
            Some("H"),
            r#"{"code":0,"msg":"","data":{"text":"你好"},"detail":{"logid":"B"}}"#,
        );
        let t = decode(&a).ok();
        assert_eq!(
            t,
            Some(Transcription {
                text: "你好".into(),
                logid: Some("H".into())
            })
        );
        let a = answer(
            200,
            None,
            r#"{"code":0,"data":{"text":""},"detail":{"logid":"B"}}"#,
        );
        assert_eq!(decode(&a).ok().and_then(|t| t.logid), Some("B".into()));
    }

    #[test]
    fn errors_keep_status_code_msg_and_logid() {
        let a = answer(
            401,
            Some("L"),
            r#"{"code":4100,"msg":"authentication is invalid","detail":{"logid":"L"}}"#,
        );
        match decode(&a) {
            Err(Error::Api {
                status: 401,
                code: 4100,
                msg,
                logid: Some(l),
            }) => assert!(msg == "authentication is invalid" && l == "L"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unexpected_bodies_are_decode_errors() {
        for (status, body) in [
            (200, ""),
            (200, "<html>"),
            (200, "[]"),
            (200, r#"{"code":"0"}"#),
            (200, r#"{"code":0}"#),
            (200, r#"{"code":0,"data":{"text":5}}"#),
            (500, r#"{"code":0,"data":{"text":"x"}}"#),
            (502, "Bad Gateway"),
            (200, r#"{"code":0,"data":{"te"#),
        ] {
            match decode(&answer(status, None, body)) {
                Err(Error::Decode { status: s, raw, .. }) => {
                    assert_eq!(s, status);
                    assert_eq!(raw, body.as_bytes());
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
