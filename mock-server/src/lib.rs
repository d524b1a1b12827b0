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

pub(crate) mod admin;
pub(crate) mod app;
pub(crate) mod audio;
pub(crate) mod bus;
pub(crate) mod clock;
pub mod config;
pub mod control;
pub(crate) mod engine;
pub(crate) mod failure;
pub(crate) mod hosts;
pub(crate) mod http;
pub(crate) mod language;
pub(crate) mod metrics;
pub(crate) mod outbound;
pub(crate) mod persist;
pub(crate) mod providers;
pub(crate) mod proxy;
pub(crate) mod ratelimit;
pub(crate) mod rng;
pub(crate) mod routes;
pub(crate) mod scenarios;
pub(crate) mod state;
pub(crate) mod stores;
pub(crate) mod transcript;

pub use app::cli::{fixtures_command, scenarios_command};
pub use app::server::{MockServer, MockServerBuilder};
pub use app::{app, build_state, run, run_with, serve_options, tls_of, StartError};
pub use config::{Config, CozeModel};
pub use persist::StateError;
pub use state::AppState;

/// What the workspace's own tests and benchmarks reach for below the public face: the
/// server's parsers (so the client's property tests can compare against them), the accept
/// loop with custom options, audio synthesis and seeded randomness. Not a stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::audio::synth::wav_8bit;
    pub use crate::http::serve::{serve, ServeOptions};
    pub use crate::persist::{edit_snapshot, FORMAT_VERSION};
    pub use crate::providers::icu::auth::{request_params, sign};
    pub use crate::providers::icu::params::{parse_submit, RawParams, SubmitParams};
    pub use crate::providers::icu::tasks::{Plan, Scripted, Task, TaskSpec};
    pub use crate::rng::derive;
    pub use crate::scenarios::library::Library;
    pub use crate::scenarios::{ScriptOutcome, StepEnd, StepStatus};
    pub use crate::transcript::{read_file as read_fixture_file, write_toml as write_fixture_toml};
}
