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
//! # Layout
//! - [`config`]: settings (CLI flags, `ASR_MOCK_*` variables, embedded defaults);
//! - [`clock`]: the one clock (real, scaled, manual) behind every time;
//! - [`rng`]: seeded derivation behind every random choice;
//! - [`audio`]: container sniffing and probing (duration, channels, rate, speech spans);
//! - [`transcript`]: fixtures by audio hash, and the deterministic generator;
//! - [`providers`]: one module per provider (wire types, handlers, error envelope);
//! - [`tasks`]: provider B's task store, state machine and scheduler on the clock;
//! - [`callbacks`]: the outbound callback dispatcher (retries, journal of attempts);
//! - [`download`]: fetching a task's audio Url under the provider's limits;
//! - [`ratelimit`]: request-rate windows on the clock;
//! - [`scenarios`]: scripted failures (files, selection, faults, task paths, callbacks);
//! - [`serve`]: the accept loop (a fault can drop a connection); [`faults`]: answer
//!   transformations (garbage, truncation, slow drip, delays);
//! - [`admin`]: the control API under `/__admin/`;
//! - [`journal`]: the bounded request journal;
//! - [`persist`]: the state file that keeps tasks, journals and the clock across restarts;
//! - [`tokens`]: provider A's bearer tokens and permissions;
//! - [`state`]: the handle the handlers share.

pub mod admin;
pub mod audio;
pub mod body;
pub mod callbacks;
pub mod clock;
pub mod config;
pub mod control;
pub mod download;
pub mod faults;
pub mod hosts;
pub mod journal;
pub mod persist;
pub mod providers;
pub mod ratelimit;
pub mod rng;
pub mod scenarios;
pub mod serve;
pub mod state;
pub mod tasks;
pub mod tokens;
pub mod transcript;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use std::time::Duration;

use crate::admin::audio::AudioHost;
use crate::admin::sink::Sink;
use crate::audio::ProbeOptions;
use crate::callbacks::{CallbackPolicy, Callbacks};
use crate::clock::{Clock, ClockError};
pub use crate::config::{Config, CozeModel};
use crate::download::{DownloadPolicy, Downloader};
use crate::hosts::HostAllowlist;
use crate::journal::Journal;
use crate::providers::icu::auth::Secrets;
use crate::providers::icu::recognize::RecognizeSettings;
use crate::providers::icu::IcuState;
use crate::ratelimit::RateLimiter;
use crate::scenarios::library::Library;
use crate::scenarios::Scenarios;
use crate::serve::ServeOptions;
pub use crate::state::AppState;
use crate::state::Parts;
use crate::tasks::{EngineSettings, TaskEngine};
use crate::tokens::TokenPolicy;
use crate::transcript::FixtureStore;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A fixtures folder that cannot be read or holds a broken file.
    #[error("fixtures: {0}")]
    Fixtures(String),
    /// A tokens file that cannot be read or parsed.
    #[error("tokens: {0}")]
    Tokens(String),
    /// A malformed `--allow-hosts` list.
    #[error("allow-hosts: {0}")]
    Hosts(String),
    /// An icu secrets file that cannot be read or parsed.
    #[error("icu secrets: {0}")]
    Secrets(String),
    /// A scenario file that cannot be read or is broken; the message is `path:line: reason`,
    /// the form `asr-mock scenarios check` prints.
    #[error("{0}")]
    Scenarios(String),
    /// A state file that cannot be read, is broken, or has another format version.
    #[error("state file: {0}")]
    State(String),
    /// An invalid clock setting.
    #[error("clock: {0}")]
    Clock(#[from] ClockError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Builds the shared state from settings: clock, fixtures, tokens, stores.
pub fn build_state(config: &Config) -> Result<AppState, StartError> {
    let clock = Clock::new(config.clock_mode(), config.clock_start)?;
    let fixtures = Arc::new(FixtureStore::new());
    if let Some(dir) = &config.fixtures {
        fixtures
            .load_dir(dir)
            .map_err(|e| StartError::Fixtures(e.to_string()))?;
    }
    let mut library =
        Library::builtin().map_err(|e| StartError::Scenarios(format!("built-in {e}")))?;
    if let Some(dir) = &config.scenarios {
        library
            .load_dir(dir)
            .map_err(|e| StartError::Scenarios(e.to_string()))?;
    }
    let secrets = match &config.icu_secrets {
        Some(path) => Some(Secrets::load(path).map_err(StartError::Secrets)?),
        None => None,
    };
    let tokens = match &config.tokens {
        Some(path) => TokenPolicy::load(path).map_err(StartError::Tokens)?,
        None => TokenPolicy::AnyToken,
    };
    let probe = ProbeOptions {
        pcm: config.pcm_spec(),
        ..ProbeOptions::default()
    };
    let callbacks = Callbacks::new(
        clock.clone(),
        CallbackPolicy {
            attempts: config.callback_attempts.max(1),
            interval: Duration::from_millis(config.callback_interval_ms),
            timeout: Duration::from_millis(config.callback_timeout_ms),
        },
        config.callback_concurrency.max(1),
        10_000,
    );
    let engine = TaskEngine::new(
        clock.clone(),
        EngineSettings {
            progress: config.progress(),
            retention_ms: (config.icu_retention_hours.max(0.0) * 3_600_000.0) as i64,
            capacity: config.icu_task_capacity.max(1),
            appid: config.icu_appid,
            empty_result_detail: config.callback_empty_result_detail,
            seed: config.seed,
        },
        callbacks,
    );
    let allow = match &config.allow_hosts {
        Some(list) => Some(HostAllowlist::parse(list).map_err(StartError::Hosts)?),
        None => None,
    };
    engine.callbacks().set_allowlist(allow.clone());
    let downloader = Downloader::with_allowlist(
        clock.clone(),
        DownloadPolicy {
            timeout: Duration::from_millis(config.download_timeout_ms),
            max_bytes: config.download_max_bytes,
        },
        allow,
    );
    let icu = IcuState::new(
        engine,
        downloader,
        RateLimiter::new(config.icu_submit_rate, 1000),
        RateLimiter::new(config.icu_query_rate, 1000),
        RecognizeSettings {
            queue_delay_ms: config.icu_queue_delay_ms,
            speed: config.icu_speed,
            min_duration_ms: config.icu_min_duration_ms,
            probe: probe.clone(),
            ..RecognizeSettings::default()
        },
        secrets,
    );
    let state = AppState::new(Parts {
        seed: config.seed,
        clock,
        journal: Journal::new(config.journal_size),
        fixtures,
        tokens,
        coze_model: config.coze_model,
        probe,
        icu,
        audio_host: AudioHost::default(),
        sink: Sink::default(),
        scenarios: Scenarios::new(config.seed, library),
        admin_token: config.admin_token.clone().filter(|t| !t.is_empty()),
        persist: config.state_file.clone().map(persist::Persist::new),
    });
    if let Some(count) = persist::load(&state).map_err(StartError::State)? {
        tracing::info!(tasks = count, "state restored");
    }
    Ok(state)
}

/// The whole HTTP surface: both providers, the control API, the journal, and a JSON 404.
pub fn app(state: AppState) -> Router {
    let providers = Router::new()
        .merge(providers::coze::router())
        .merge(providers::icu::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            scenarios::middleware::apply,
        ));
    Router::new()
        .merge(providers)
        .merge(admin::router(state.clone()))
        .fallback(no_such_endpoint)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            journal::record,
        ))
        .with_state(state)
}

async fn no_such_endpoint(uri: Uri) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({
            "error": format!("no such endpoint: {}", uri.path()),
            "endpoints": [
                "POST /v1/audio/transcriptions",
                "POST /openapi/asr/voiceToText",
                "GET|POST /openapi/asr/searchResult",
                "/__admin/health",
            ],
        })),
    )
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
/// The task scheduler runs alongside and stops with the server.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let scheduler = tokio::spawn(state.icu.engine.clone().run_scheduler());
    let callbacks = state.icu.engine.callbacks().clone();
    let saver = state.persist.is_some().then(|| {
        persist::resume(&state);
        tokio::spawn(persist::run_saver(state.clone()))
    });
    let served = serve::serve(
        listener,
        app(state.clone()),
        ServeOptions::default(),
        shutdown,
    )
    .await;
    scheduler.abort();
    // Deliver what is due, journal what is not: no callback silently disappears.
    let unfinished = callbacks.shutdown(Duration::from_secs(5)).await;
    if unfinished > 0 {
        tracing::warn!(unfinished, "callbacks still in flight at shutdown");
    }
    if let Some(saver) = saver {
        saver.abort();
        // The last word: what the server and the drained callbacks left.
        if let Err(e) = persist::save(&state).await {
            tracing::error!(error = %e, "state not saved at shutdown");
        }
    }
    served
}

/// A running simulator; dropping it stops the server.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl MockServer {
    /// Starts describing a simulator: loopback, a free port, seed 1, real clock.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder {
            config: Config {
                port: 0,
                ..Config::default()
            },
        }
    }

    /// `http://127.0.0.1:<port>`, the base URL both providers' clients take.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (clock, journal, fixtures), for tests that drive it directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A client for this simulator's control API (carrying its admin token, if any).
    pub fn control(&self) -> control::Control {
        let control = control::Control::new(self.base_url());
        match &self.state.admin_token {
            Some(token) => control.with_token(token.clone()),
            None => control,
        }
    }

    /// The simulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Configures a [`MockServer`].
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    config: Config,
}

impl MockServerBuilder {
    /// Uses these settings, except the address: the builder keeps its own (loopback, a free
    /// port unless [`port`](Self::port) says otherwise), so tests never collide on 8080.
    pub fn config(mut self, config: Config) -> Self {
        let (host, port) = (self.config.host, self.config.port);
        self.config = Config {
            host,
            port,
            ..config
        };
        self
    }

    /// The seed behind every random choice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// The port to bind (default 0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// A manual clock starting at `start_ms` (ms since the Unix epoch), or at
    /// 2025-01-01T00:00:00Z when `None`.
    pub fn manual_clock(mut self, start_ms: Option<i64>) -> Self {
        self.config.clock = config::ClockKind::Manual;
        self.config.clock_start = start_ms;
        self
    }

    /// The Coze model whose format list applies.
    pub fn coze_model(mut self, model: CozeModel) -> Self {
        self.config.coze_model = model;
        self
    }

    /// Loads transcript fixtures from this folder.
    pub fn fixtures_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.fixtures = Some(dir.into());
        self
    }

    /// Accepts only the tokens listed in this file.
    pub fn tokens_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.tokens = Some(path.into());
        self
    }

    /// Binds and starts serving in the background.
    pub async fn start(self) -> Result<MockServer, StartError> {
        let state = build_state(&self.config)?;
        let addr = SocketAddr::new(self.config.host, self.config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok(MockServer {
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}
