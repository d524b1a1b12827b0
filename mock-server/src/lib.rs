//! `asr-mock`: a deterministic, stateful simulator of two speech-recognition APIs — Coze's
//! synchronous transcription (provider A) and the icu recording-file ASR (provider B) — for
//! development and CI without credentials or network.
//!
//! The same engine runs as the `asr-mock` binary and inside Rust tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), asr_mock::StartError> {
//! let server = asr_mock::MockServer::builder().seed(7).manual_clock(None).start().await?;
//! let url = format!("{}/v1/audio/transcriptions", server.base_url());
//! // … point the code under test at `url`; dropping `server` stops it.
//! # Ok(()) }
//! ```
//!
//! The public face is small: [`MockServer`] and its builder, the settings ([`Config`]),
//! [`StartError`], and the typed control-API client in [`control`]. ARCHITECTURE.md maps the
//! modules behind it and the rules for which may import which.

pub mod admin;
pub mod app;
pub mod audio;
pub mod clock;
pub mod config;
pub mod control;
pub mod engine;
pub mod hosts;
pub mod http;
pub mod outbound;
pub mod persist;
pub mod providers;
pub mod ratelimit;
pub mod rng;
pub mod routes;
pub mod scenarios;
pub mod state;
pub mod stores;
pub mod transcript;

pub use app::server::{MockServer, MockServerBuilder};
pub use app::{app, build_state, run, StartError};
pub use config::{Config, CozeModel};
pub use state::AppState;
