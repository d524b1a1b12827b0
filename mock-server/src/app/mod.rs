//! The composition root: the only module that sees every other. It assembles the state from
//! the settings, builds the one router with the scenario and journal layers, wires
//! persistence, and runs the server with its background work.

pub mod cli;
pub mod journal_layer;
pub mod refusals;
pub mod scenario_layer;
pub mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use http_body_util::{BodyExt, Limited};
use tokio::net::TcpListener;

use crate::admin;
use crate::audio::ProbeOptions;
use crate::bus::Bus;
use crate::clock::{Clock, ClockError};
use crate::config::{Config, ProgressKind, SettingsFileError};
use crate::control::types::ErrorBody;
use crate::hosts::{ControlHosts, HostAllowlist, HostsError};
use crate::http::serve::{self, ServeOptions};
use crate::http::slow_body::BodyPace;
use crate::http::tls::Tls;
use crate::metrics::Metrics;
use crate::outbound::callbacks::{CallbackPolicy, Callbacks};
use crate::outbound::download::{DownloadPolicy, Downloader};
use crate::persist;
use crate::providers;
use crate::providers::coze::stream::StreamSettings;
use crate::providers::coze::CozeService;
use crate::providers::icu::auth::Secrets;
use crate::providers::icu::recognize::RecognizeSettings;
use crate::providers::icu::service::{IcuParts, IcuService};
use crate::providers::icu::tasks::{EngineSettings, Progress, TaskEngine};
use crate::proxy::{Proxy, ProxyError, ProxySettings};
use crate::ratelimit::RateLimiter;
use crate::scenarios::library::Library;
use crate::scenarios::ScenarioError;
use crate::scenarios::Scenarios;
use crate::state::{AppState, Parts};
use crate::stores::audio_host::AudioHost;
use crate::stores::journal::Journal;
use crate::stores::sink::Sink;
use crate::stores::tokens::TokenPolicy;
use crate::transcript::{FixtureError, FixtureStore};

/// Why the simulator could not start. Each variant keeps the error it came from as its
/// source, and its message already includes that error's, so printing it once says all.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A fixtures folder that cannot be read or holds a broken file.
    #[error("fixtures: {0}")]
    Fixtures(#[source] FixtureError),
    /// A tokens file that cannot be read or parsed.
    #[error("tokens: {0}")]
    Tokens(#[source] SettingsFileError),
    /// A malformed `--allow-hosts` list.
    #[error("allow-hosts: {0}")]
    Hosts(#[source] HostsError),
    /// A malformed `--allowed-host` entry.
    #[error("allowed-host: {0}")]
    ControlHosts(#[source] HostsError),
    /// An icu secrets file that cannot be read or parsed.
    #[error("icu secrets: {0}")]
    Secrets(#[source] SettingsFileError),
    /// A scenario file that cannot be read or is broken; it reads `path:line: reason`, the
    /// form `asr-mock scenarios check` prints.
    #[error("{0}")]
    Scenarios(#[source] ScenarioError),
    /// A state file that cannot be written or read, is broken, holds impossible values, or
    /// has another format version.
    #[error("state file: {0}")]
    State(#[source] persist::StateError),
    /// A TLS certificate or key that cannot be read or used, or a generated certificate
    /// that cannot be written.
    #[error("tls: {0}")]
    Tls(#[source] std::io::Error),
    /// Proxy settings that cannot be used (a bad upstream URL, `--record` without a proxy,
    /// a record folder that cannot be created, an upstream that is this server).
    #[error("{0}")]
    Proxy(#[source] ProxyError),
    /// An invalid clock setting.
    #[error("clock: {0}")]
    Clock(#[from] ClockError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// The port's TLS, if the settings ask for it (a self-signed certificate is generated and
/// written here).
pub fn tls_of(config: &Config) -> Result<Option<Tls>, StartError> {
    let tls = match (&config.tls_cert, &config.tls_key, &config.tls_self_signed) {
        (Some(cert), Some(key), _) => Tls::from_files(cert, key),
        (_, _, Some(out)) => Tls::self_signed(out),
        (None, None, None) => return Ok(None),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "--tls-cert and --tls-key go together",
        )),
    };
    tls.map(Some).map_err(StartError::Tls)
}

/// Builds the shared state from settings: clock, fixtures, tokens, stores.
pub fn build_state(config: &Config) -> Result<AppState, StartError> {
    let clock = Clock::new(config.clock_mode(), config.clock_start)?;
    let bus = Bus::default();
    let fixtures = Arc::new(FixtureStore::new());
    if let Some(dir) = &config.fixtures {
        fixtures.load_dir(dir).map_err(StartError::Fixtures)?;
    }
    let mut library = Library::builtin().map_err(StartError::Scenarios)?;
    if let Some(dir) = &config.scenarios {
        library.load_dir(dir).map_err(StartError::Scenarios)?;
    }
    let secrets = match &config.icu_secrets {
        Some(path) => Some(
            Secrets::load(path)
                .map_err(StartError::Secrets)?
                .with_window(config.icu_signature_window_secs),
        ),
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
        crate::outbound::callbacks::DEFAULT_JOURNAL_CAPACITY,
        providers::icu::callback::judge,
    );
    let engine = TaskEngine::new(
        clock.clone(),
        EngineSettings {
            progress: progress(config),
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
    engine.connect_bus(bus.clone());
    engine.callbacks().connect_bus(bus.clone());
    engine.callbacks().set_allowlist(allow.clone());
    engine
        .callbacks()
        .set_per_receiver(config.callback_per_receiver);
    let metrics = Metrics::new();
    engine.callbacks().set_metrics(metrics.clone());
    let downloader = Downloader::with_allowlist(
        clock.clone(),
        DownloadPolicy {
            timeout: Duration::from_millis(config.download_timeout_ms),
            max_bytes: config.download_max_bytes,
            concurrency: config.download_concurrency.max(1),
        },
        allow,
    )
    .with_metrics(metrics.clone());
    // Opened before the service, which records accepted tasks in it.
    let persist = match &config.state_file {
        Some(path) => {
            Some(persist::Persist::open(path.clone(), engine.clone()).map_err(StartError::State)?)
        }
        None => None,
    };
    let icu = IcuService::new(IcuParts {
        seed: config.seed,
        clock: clock.clone(),
        fixtures: fixtures.clone(),
        tasks: engine,
        downloader,
        submit_limit: RateLimiter::new(config.icu_submit_rate, 1000),
        query_limit: RateLimiter::new(config.icu_query_rate, 1000),
        recognize: RecognizeSettings {
            queue_delay_ms: config.icu_queue_delay_ms,
            speed: config.icu_speed,
            min_duration_ms: config.icu_min_duration_ms,
            probe: probe.clone(),
            ..RecognizeSettings::default()
        },
        secrets,
        durable: persist.as_ref().map(persist::Persist::durable),
    });
    let scenarios = Arc::new(Scenarios::new(config.seed, library));
    let coze = CozeService::new(
        config.seed,
        clock.clone(),
        tokens,
        config.coze_model,
        probe,
        fixtures.clone(),
    )
    .with_bus(bus.clone())
    .with_stream(StreamSettings {
        auth_handshake: config.ws_auth_handshake,
        max_duration_ms: config.ws_max_duration_ms,
        max_frame_bytes: config.ws_max_frame_bytes,
        idle_timeout_ms: config.ws_idle_timeout_ms,
        ..StreamSettings::default()
    });
    let proxy = Proxy::from_settings(
        &ProxySettings {
            coze: config.proxy_coze.clone(),
            icu: config.proxy_icu.clone(),
            record: config.record.clone(),
            timeout: Duration::from_millis(config.proxy_timeout_ms.max(1)),
        },
        Some(icu.downloader.clone()),
    )
    .map_err(StartError::Proxy)?;
    if proxy.is_some() {
        tracing::info!(
            coze = config.proxy_coze.as_deref().unwrap_or("-"),
            icu = config.proxy_icu.as_deref().unwrap_or("-"),
            record = ?config.record,
            "proxying"
        );
    }
    let journal = Journal::with_budget(config.journal_size, config.journal_max_bytes);
    journal.connect_bus(bus.clone());
    let state = AppState::new(Parts {
        seed: config.seed,
        clock,
        journal,
        fixtures,
        coze: Arc::new(coze),
        icu: Arc::new(icu),
        audio_host: AudioHost::default(),
        sink: Sink::new(config.sink_max_bytes),
        scenarios,
        admin_token: config.admin_token.clone().filter(|t| !t.is_empty()),
        control_hosts: ControlHosts::parse(&config.allowed_hosts)
            .map_err(StartError::ControlHosts)?,
        persist,
        bus,
        metrics,
        proxy,
    });
    match persist::load(&state) {
        Ok(Some(count)) => tracing::info!(tasks = count, "state restored"),
        Ok(None) => {}
        Err(e) => {
            if let Some(persist) = &state.persist {
                persist.close_now();
            }
            return Err(StartError::State(e));
        }
    }
    Ok(state)
}

/// How icu tasks advance: on the clock, or by polls.
fn progress(config: &Config) -> Progress {
    match config.icu_progress {
        ProgressKind::Time => Progress::Time,
        ProgressKind::Polls => Progress::Polls {
            per_status: config.icu_polls_per_status.max(1),
        },
    }
}

/// The whole HTTP surface: both providers, the control API (its errors always JSON), a 404
/// in the envelope of the path's owner, and the journal around all of it, which runs the
/// scenario layer on the providers' paths (one middleware, not two: each costs allocations
/// on every request).
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(providers::coze::router())
        .merge(providers::icu::router())
        .merge(admin::router(state.clone()).layer(axum::middleware::map_response(json_errors)))
        .fallback(refusals::no_such_endpoint)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            journal_layer::record,
        ))
        .with_state(state)
}

/// The control API answers in JSON, errors included: axum's plain-text or empty rejections
/// (a body over the limit, a wrong content type, a method the path does not take) become
/// `{"error": …}` with the same status.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let plain = match response.headers().get(CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.as_bytes().starts_with(b"text/plain"),
    };
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let body = Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await;
    let text = match body {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).trim().to_owned(),
        Err(_) => String::new(),
    };
    let error = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    (status, Json(ErrorBody { error })).into_response()
}

/// The connection settings `config` asks for, with refusals in the simulator's envelopes.
pub fn serve_options(config: &Config, state: &AppState) -> ServeOptions {
    ServeOptions {
        body_pace: BodyPace::new(
            Duration::from_millis(config.body_timeout_ms),
            config.body_min_rate,
        ),
        max_connections: config.max_connections,
        refuser: refusals::refuser(state.clone()),
        ..ServeOptions::default()
    }
}

/// Serves `state` on `listener` with the default connection settings until `shutdown`
/// completes, then finishes in-flight requests; [`run_with`] takes the configured ones.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let options = serve_options(&Config::default(), &state);
    run_with(listener, state, options, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
/// The task scheduler runs alongside and stops with the server.
pub async fn run_with(
    listener: TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // From here on a task's Url or CallbackUrl cannot reach this server's control API.
    if let Ok(addr) = listener.local_addr() {
        if let Some(provider) = state.proxy.as_ref().and_then(|p| p.points_at(addr)) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "--proxy-{provider} points at this server ({addr}): it would forward to itself"
                ),
            ));
        }
        state.icu.downloader.guard().arm(addr);
        state.icu.tasks.callbacks().guard().arm(addr);
    }
    let scheduler = tokio::spawn(state.icu.tasks.clone().run_scheduler());
    let callbacks = state.icu.tasks.callbacks().clone();
    // Open dashboards' event streams end when shutdown starts, so they do not hold it up.
    let bus = state.bus.clone();
    let shutdown = async move {
        shutdown.await;
        bus.close();
    };
    let saver = state.persist.is_some().then(|| {
        persist::resume(&state);
        tokio::spawn(persist::run_saver(state.clone()))
    });
    let served = serve::serve(listener, app(state.clone()), options, shutdown).await;
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
        persist::close(&state).await;
    }
    served
}
