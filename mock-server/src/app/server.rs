//! [`MockServer`]: the simulator inside a Rust test, started on a free loopback port and
//! stopped when dropped. It runs exactly what the binary runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::{build_state, run_with, serve_options, tls_of, StartError};
use crate::clock::Clock;
use crate::config::{self, Config, CozeModel};
use crate::control::Control;
use crate::state::AppState;

/// A running simulator; dropping it stops the server.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: AppState,
    /// Served over TLS (`https://`).
    tls: bool,
    /// The PEM certificate it serves (generated or given), for clients to trust.
    certificate: Option<Vec<u8>>,
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

    /// `http://127.0.0.1:<port>` (`https://` with TLS), the base URL both providers'
    /// clients take.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (clock, journal, fixtures), for tests that drive it directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The PEM certificate served over TLS (`--tls-self-signed`'s generated one, or
    /// `--tls-cert`), for a client to trust; `None` without TLS.
    pub fn certificate_pem(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }

    /// A client for this simulator's control API (carrying its admin token, if any, and
    /// trusting its certificate when it serves TLS).
    pub fn control(&self) -> Control {
        let mut control = Control::new(self.base_url());
        let trusting = self
            .certificate
            .as_deref()
            .and_then(|pem| reqwest::Certificate::from_pem(pem).ok())
            .and_then(|cert| {
                reqwest::Client::builder()
                    .add_root_certificate(cert)
                    .build()
                    .ok()
            });
        if let Some(http) = trusting {
            control = control.with_http(http);
        }
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
        let tls = tls_of(&self.config)?;
        let secure = tls.is_some();
        // Written by `tls_of` when generated; read back so clients can trust it.
        let certificate = match (&self.config.tls_self_signed, &self.config.tls_cert) {
            (Some(path), _) | (None, Some(path)) if secure => std::fs::read(path).ok(),
            _ => None,
        };
        let addr = SocketAddr::new(self.config.host, self.config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let (tx, rx) = oneshot::channel::<()>();
        let mut options = serve_options(&self.config, &state);
        options.tls = tls;
        let task = tokio::spawn(run_with(listener, state.clone(), options, async move {
            let _ = rx.await;
        }));
        Ok(MockServer {
            addr,
            state,
            tls: secure,
            certificate,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}
