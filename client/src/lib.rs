//! `asr-client`: a typed client for two speech-recognition APIs, verified against the
//! `asr-mock` simulator in the same workspace.
//!
//! - [`coze`]: Coze's synchronous transcription (`POST /v1/audio/transcriptions`, multipart).
//! - [`coze_stream`]: Coze's streaming recognition over WebSocket (a file or a stream of
//!   chunks in, cumulative texts and the final text out).
//! - [`icu`]: the icu recording-file ASR (submit a task, poll it, or receive its callback),
//!   with local validation of requests, the request signature, a `wait` loop with backoff
//!   under a rate cap, and a parser for the `Result` text.
//!
//! Every call returns [`Error`]: the provider's own error envelope is [`Error::Api`]; an
//! answer that is not what the provider sends is [`Error::Decode`] with the raw body, never
//! a panic.
//!
//! # Coze
//! ```no_run
//! # async fn demo() -> Result<(), asr_client::Error> {
//! use asr_client::coze::CozeClient;
//!
//! let coze = CozeClient::new("https://api.coze.cn", "pat_…");
//! let t = coze.transcribe_path("hello.wav").await?;
//! println!("{} (logid {:?})", t.text, t.logid);
//! # Ok(()) }
//! ```
//!
//! # icu
//! ```no_run
//! # async fn demo() -> Result<(), asr_client::Error> {
//! use asr_client::icu::{Engine, IcuClient, Source, Status, SubmitRequest, WaitOptions};
//!
//! let icu = IcuClient::new("http://api.icuapi.com");
//! let mut req = SubmitRequest::new(Engine::Zh16k, Source::Url("https://example.com/a.wav".into()));
//! req.res_text_format = 2;
//! let task_id = icu.submit(&req).await?;
//! let done = icu.wait(task_id, WaitOptions::default()).await?;
//! if done.status == Status::Success {
//!     for segment in asr_client::icu::parse_result(&done.result).unwrap_or_default() {
//!         println!("{}–{} ms: {}", segment.start_ms, segment.end_ms, segment.text);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `receiver` (off by default): [`icu::receiver::router`](crate::icu), an axum app that
//!   parses icu callbacks, hands them to a channel and acknowledges them correctly.

pub mod coze;
pub mod coze_stream;
mod http;
pub mod icu;

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider answered with its error envelope.
    #[error("{msg} (code {code}, HTTP {status}{})", logid_suffix(.logid))]
    Api {
        /// HTTP status of the answer (icu answers its errors with 200).
        status: u16,
        /// The envelope's `code`: Coze's 4100, 4300…; icu's per-class code.
        code: i64,
        /// The envelope's `msg`, as sent (`""` when absent).
        msg: String,
        /// Coze's logid (header `X-Tt-Logid`, else `detail.logid`), for support requests;
        /// icu has none.
        logid: Option<String>,
    },
    /// Could not reach the server or the connection broke (also: a local file to upload
    /// could not be read).
    #[error("transport: {0}")]
    Transport(String),
    /// No answer within the deadline.
    #[error("no answer within the deadline")]
    Timeout,
    /// The answer was not what the provider sends; `raw` is the body (at most 64 KiB kept).
    /// `status` is 0 when there was no HTTP exchange (a callback body given to
    /// [`icu::parse_callback`]).
    #[error("unexpected answer (HTTP {status}): {reason}")]
    Decode {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
        /// The first 64 KiB of the body, for a bug report.
        raw: Vec<u8>,
    },
    /// Refused locally before sending (icu request rules).
    #[error("invalid request: {0}")]
    Invalid(#[from] icu::ValidationError),
}

fn logid_suffix(logid: &Option<String>) -> String {
    match logid {
        Some(id) => format!(", logid {id}"),
        None => String::new(),
    }
}
