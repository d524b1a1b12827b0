//! Shared test scaffolding: a `TestApp` that starts a simulator, fixture access, uploads.

use std::path::PathBuf;

use asr_mock::control::types::CallbackAttempt;
use asr_mock::control::types::RequestEntry;
use asr_mock::control::types::{CallbacksQuery, RequestsQuery};
use asr_mock::control::Control;
use asr_mock::{CozeModel, MockServer, MockServerBuilder};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

/// 2025-01-01T00:00:00Z: manual clocks in tests start here.
pub const START_MS: i64 = 1_735_689_600_000;

/// A running simulator plus an HTTP client and a control-API client aimed at it.
pub struct TestApp {
    pub server: MockServer,
    pub http: reqwest::Client,
    pub control: Control,
}

/// A parsed answer: status, the logid header, the JSON body and its raw bytes.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub logid_header: Option<String>,
    pub content_type: Option<String>,
    pub json: Value,
    pub raw: Vec<u8>,
}

impl TestApp {
    /// A simulator with a manual clock, seed 1 and the large model.
    pub async fn start() -> TestApp {
        Self::with(MockServer::builder().manual_clock(Some(START_MS))).await
    }

    /// A simulator with a manual clock and this seed.
    pub async fn seeded(seed: u64) -> TestApp {
        Self::with(
            MockServer::builder()
                .seed(seed)
                .manual_clock(Some(START_MS)),
        )
        .await
    }

    /// A simulator from a customised builder.
    pub async fn with(builder: MockServerBuilder) -> TestApp {
        let server = builder.start().await.expect("simulator starts");
        TestApp {
            control: server.control(),
            server,
            http: reqwest::Client::new(),
        }
    }

    /// A simulator with a manual clock whose control API needs `token`.
    pub async fn with_admin_token(token: &str) -> TestApp {
        let config = asr_mock::Config {
            admin_token: Some(token.into()),
            ..Default::default()
        };
        Self::with(
            MockServer::builder()
                .config(config)
                .manual_clock(Some(START_MS)),
        )
        .await
    }

    /// A simulator running the small Coze model.
    pub async fn small_model() -> TestApp {
        Self::with(
            MockServer::builder()
                .manual_clock(Some(START_MS))
                .coze_model(CozeModel::Small),
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    /// Uploads `bytes` as the `file` part named `filename` with a bearer token.
    pub async fn transcribe(&self, filename: &str, bytes: Vec<u8>) -> Answer {
        let form = Form::new().part("file", Part::bytes(bytes).file_name(filename.to_owned()));
        self.transcribe_form(Some("Bearer pat_test"), form).await
    }

    /// Sends a multipart form with the given `Authorization` header (if any).
    pub async fn transcribe_form(&self, auth: Option<&str>, form: Form) -> Answer {
        let mut req = self
            .http
            .post(self.url("/v1/audio/transcriptions"))
            .multipart(form);
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        Answer::read(req.send().await.expect("request sent")).await
    }

    /// POSTs an icu submit body; asserts HTTP 200 and JSON, returns the answer.
    pub async fn submit(&self, body: &Value) -> Value {
        let res = self
            .http
            .post(self.url("/openapi/asr/voiceToText"))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        res.json().await.unwrap()
    }

    /// A submit that must succeed: its TaskId.
    pub async fn submit_ok(&self, body: &Value) -> u64 {
        let answer = self.submit(body).await;
        assert_eq!(answer["code"], 0, "{answer}");
        assert_eq!(answer["msg"], "操作成功");
        answer["data"]["TaskId"]
            .as_u64()
            .expect("TaskId is a uint64")
    }

    /// GETs searchResult for `task_id`; asserts HTTP 200, returns the answer.
    pub async fn poll(&self, task_id: u64) -> Value {
        let res = self
            .http
            .get(self.url(&format!("/openapi/asr/searchResult?TaskId={task_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// The request journal (the newest 100 entries), oldest first.
    pub async fn journal(&self) -> Vec<RequestEntry> {
        let all = RequestsQuery::default();
        self.control.requests(all).await.unwrap().requests
    }

    /// The callback attempts of one task.
    pub async fn callback_attempts(&self, task_id: u64) -> Vec<CallbackAttempt> {
        let query = CallbacksQuery {
            task_id: Some(task_id),
        };
        self.control.callbacks(query).await.unwrap().attempts
    }
}

impl Answer {
    pub async fn read(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let logid_header = header("x-tt-logid");
        let content_type = header("content-type");
        let raw = res.bytes().await.expect("body read").to_vec();
        let json = serde_json::from_slice(&raw).unwrap_or_else(|e| {
            panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&raw))
        });
        Answer {
            status,
            logid_header,
            content_type,
            json,
            raw,
        }
    }

    pub fn code(&self) -> i64 {
        self.json["code"].as_i64().expect("code is an integer")
    }

    pub fn msg(&self) -> &str {
        self.json["msg"].as_str().expect("msg is a string")
    }

    pub fn text(&self) -> &str {
        self.json["data"]["text"]
            .as_str()
            .expect("data.text is a string")
    }

    /// Asserts a Coze error with this code and status, in the full envelope.
    #[track_caller]
    pub fn assert_error(&self, code: i64, status: u16) {
        assert_eq!(
            (self.code(), self.status),
            (code, status),
            "body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        assert!(!self.msg().is_empty(), "an error has a message");
        assert!(self.json.get("data").is_none(), "errors carry no data");
        self.assert_envelope();
    }

    /// Asserts the parts every Coze answer has: JSON type, logid in header and body alike.
    #[track_caller]
    pub fn assert_envelope(&self) {
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
        let body_logid = self.json["detail"]["logid"].as_str().expect("detail.logid");
        assert_eq!(self.logid_header.as_deref(), Some(body_logid));
        assert_eq!(body_logid.len(), 34, "{body_logid}");
        assert!(
            body_logid[..14].bytes().all(|b| b.is_ascii_digit()),
            "{body_logid}"
        );
        assert!(
            body_logid[14..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{body_logid}"
        );
    }
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio")
}

/// The bytes of an audio fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A canonical 8-bit mono WAV of silence: small files of any duration (1 kHz keeps
/// 30 minutes under 2 MB).
pub fn silent_wav(sample_rate: u32, seconds: u32) -> Vec<u8> {
    let data_len = sample_rate * seconds;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&sample_rate.to_le_bytes());
    wav.extend_from_slice(&sample_rate.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 128); // 8-bit PCM silence is 128
    wav
}

/// POSTs `body` as JSON and reads the answer as JSON, whatever its status.
pub async fn post_json(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    body: &(impl serde::Serialize + ?Sized),
) -> Value {
    http.post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
