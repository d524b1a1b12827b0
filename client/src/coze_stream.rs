//! Provider A, streaming: Coze's bidirectional speech recognition over WebSocket
//! (`GET /v1/audio/transcriptions`, `spec/coze-ws-transcriptions.md`).
//!
//! The client sends `transcriptions.update` (the audio layout), base64 audio in
//! `input_audio_buffer.append` events and `input_audio_buffer.complete`; the server answers
//! with cumulative `transcriptions.message.update` texts and ends a cycle with
//! `transcriptions.message.completed`. Sending and receiving run at once, so a long stream
//! never stalls on a full socket. An `error` event becomes [`Error::Api`] with status 101
//! (the connection was upgraded); a refused handshake keeps its HTTP status. `http://` and
//! `ws://` base URLs connect in the clear, `https://` and `wss://` over TLS (public roots, or
//! the certificate given to [`CozeStreamClient::with_root_certificate_pem`], such as a
//! simulator's `--tls-self-signed` one).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, Stream, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector;

use crate::Error;

/// The streaming endpoint's path.
const PATH: &str = "/v1/audio/transcriptions";

/// Appends read from a file: 100 ms of 16 kHz 16-bit mono, what the SDKs' examples send.
pub const FILE_CHUNK: usize = 3200;

/// The audio layout of `transcriptions.update`; absent fields keep the server's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputAudio {
    /// `pcm`, `wav` or `ogg`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `pcm`, `opus`, `g711a` or `g711u`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// Frames per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// 1 or 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<u16>,
    /// 8, 16 or 24.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<u16>,
}

impl InputAudio {
    /// Raw little-endian PCM at `sample_rate`, mono, 16-bit.
    pub fn pcm(sample_rate: u32) -> Self {
        InputAudio {
            format: Some("pcm".into()),
            codec: Some("pcm".into()),
            sample_rate: Some(sample_rate),
            channel: Some(1),
            bit_depth: Some(16),
        }
    }
}

/// What one stream recognised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTranscription {
    /// The final text (the last `message.update` before `message.completed`; `""` without
    /// speech).
    pub text: String,
    /// Every `message.update`'s text, in order (each extends the one before).
    pub updates: Vec<String>,
    /// The connection's logid (the 101's `X-Tt-Logid`).
    pub logid: Option<String>,
}

/// A Coze streaming client.
#[derive(Debug, Clone)]
pub struct CozeStreamClient {
    url: String,
    token: String,
    timeout: Duration,
    /// TLS trusting only the given roots, when some were given.
    tls: Option<Arc<ClientConfig>>,
}

impl CozeStreamClient {
    /// A client for `base_url` (`ws://host:port` or `http://host:port`, as a mock's
    /// `base_url()`) with this bearer token.
    pub fn new(base_url: &str, token: impl Into<String>) -> Self {
        let base = base_url.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            base.to_owned()
        };
        CozeStreamClient {
            url: format!("{base}{PATH}"),
            token: token.into(),
            timeout: Duration::from_secs(600),
            tls: None,
        }
    }

    /// Trusts only the certificates in `pem` for `wss://` (a simulator's self-signed one:
    /// `MockServer::certificate_pem`, or the file `--tls-self-signed` wrote).
    pub fn with_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let bad = |e: String| Error::Transport(format!("root certificate: {e}"));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots
                .add(cert.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in the PEM".into()));
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.tls = Some(Arc::new(config));
        Ok(self)
    }

    /// Deadline of a whole stream, from the handshake to `message.completed` (default 600 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Streams a file in [`FILE_CHUNK`]-byte appends, read as they are sent.
    pub async fn transcribe_path(
        &self,
        path: impl AsRef<Path>,
        config: Option<InputAudio>,
    ) -> Result<StreamTranscription, Error> {
        let mut file = tokio::fs::File::open(path.as_ref())
            .await
            .map_err(|e| Error::Transport(format!("{}: {e}", path.as_ref().display())))?;
        let chunks = async_stream_of_file(&mut file);
        self.transcribe_chunks(config, chunks).await
    }

    /// Streams `chunks` (each one append), completes, and waits for the final text.
    pub async fn transcribe_chunks<S>(
        &self,
        config: Option<InputAudio>,
        chunks: S,
    ) -> Result<StreamTranscription, Error>
    where
        S: Stream<Item = Result<Vec<u8>, Error>>,
    {
        match tokio::time::timeout(self.timeout, self.run(config, chunks)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout),
        }
    }

    async fn run<S>(
        &self,
        config: Option<InputAudio>,
        chunks: S,
    ) -> Result<StreamTranscription, Error>
    where
        S: Stream<Item = Result<Vec<u8>, Error>>,
    {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| Error::Transport(e.to_string()))?;
        let auth = format!("Bearer {}", self.token)
            .parse()
            .map_err(|_| Error::Transport("the token is not a valid header value".into()))?;
        request.headers_mut().insert("Authorization", auth);
        // Nagle off: appends are small and paced, as browsers and Node's `ws` send them.
        let connector = self.tls.clone().map(Connector::Rustls);
        let (ws, response) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector)
                .await
                .map_err(handshake_error)?;
        let logid = response
            .headers()
            .get("x-tt-logid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (mut sink, mut events) = ws.split();
        let send = async {
            if let Some(config) = &config {
                let update = json!({"event_type": "transcriptions.update",
                                    "data": {"input_audio": config}});
                sink.send(Message::text(update.to_string())).await?;
            }
            futures_util::pin_mut!(chunks);
            while let Some(chunk) = chunks.next().await {
                let delta = base64::engine::general_purpose::STANDARD.encode(chunk?);
                let append = json!({"event_type": "input_audio_buffer.append",
                                    "data": {"delta": delta}});
                sink.send(Message::text(append.to_string())).await?;
            }
            let complete = json!({"event_type": "input_audio_buffer.complete"});
            sink.send(Message::text(complete.to_string())).await?;
            Ok::<_, Error>(sink)
        };
        let receive = async {
            let mut updates = Vec::new();
            while let Some(frame) = events.next().await {
                let text = match frame.map_err(transport)? {
                    Message::Text(text) => text,
                    Message::Close(close) => {
                        return Err(Error::Transport(format!(
                            "the server closed before message.completed: {close:?}"
                        )))
                    }
                    _ => continue,
                };
                let event: Value =
                    serde_json::from_str(text.as_str()).map_err(|e| Error::Decode {
                        status: 101,
                        reason: format!("an event that is not JSON: {e}"),
                        raw: text.as_bytes().iter().take(64 * 1024).copied().collect(),
                    })?;
                match event["event_type"].as_str().unwrap_or_default() {
                    "transcriptions.message.update" => {
                        let content = event["data"]["content"].as_str().unwrap_or_default();
                        updates.push(content.to_owned());
                    }
                    "transcriptions.message.completed" => return Ok(updates),
                    "error" => {
                        return Err(Error::Api {
                            status: 101,
                            code: event["data"]["code"].as_i64().unwrap_or(0),
                            msg: event["data"]["msg"].as_str().unwrap_or_default().to_owned(),
                            logid: event["detail"]["logid"].as_str().map(str::to_owned),
                        })
                    }
                    _ => {}
                }
            }
            Err(Error::Transport(
                "the connection ended before message.completed".into(),
            ))
        };
        // Receiving decides: an `error` event ends the stream even while audio is being sent.
        let (sent, received) = futures_util::future::join(send, receive).await;
        let updates = received?;
        let mut sink = sent?;
        let _ = sink.send(Message::Close(None)).await;
        Ok(StreamTranscription {
            text: updates.last().cloned().unwrap_or_default(),
            updates,
            logid,
        })
    }
}

/// A file's bytes as append-sized chunks.
fn async_stream_of_file(
    file: &mut tokio::fs::File,
) -> impl Stream<Item = Result<Vec<u8>, Error>> + '_ {
    futures_util::stream::unfold(file, |file| async move {
        let mut buf = vec![0u8; FILE_CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), file))
            }
            Err(e) => Some((Err(Error::Transport(e.to_string())), file)),
        }
    })
}

impl From<tungstenite::Error> for Error {
    fn from(e: tungstenite::Error) -> Self {
        transport(e)
    }
}

fn transport(e: tungstenite::Error) -> Error {
    Error::Transport(e.to_string())
}

/// A refused handshake in the provider's envelope keeps its status, code and logid.
fn handshake_error(e: tungstenite::Error) -> Error {
    let tungstenite::Error::Http(response) = &e else {
        return transport(e);
    };
    let status = response.status().as_u16();
    let logid = response
        .headers()
        .get("x-tt-logid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.body().as_deref().unwrap_or_default();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v["code"].is_i64() => Error::Api {
            status,
            code: v["code"].as_i64().unwrap_or(0),
            msg: v["msg"].as_str().unwrap_or_default().to_owned(),
            logid,
        },
        _ => Error::Decode {
            status,
            reason: "the handshake was refused without an envelope".into(),
            raw: body.iter().take(64 * 1024).copied().collect(),
        },
    }
}
