//! `asr-mock`: parse settings, start logging, bind, serve until Ctrl-C or SIGTERM.
//! `asr-mock scenarios list|check` and `asr-mock fixtures check` work on files and never
//! start the server.

use std::net::SocketAddr;
use std::process::ExitCode;

use asr_mock::config::Command;
use asr_mock::{
    build_state, fixtures_command, run_with, scenarios_command, serve_options, tls_of, Config,
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Caps the libraries that trace whole requests, credentials included (tungstenite writes
/// the WebSocket handshake with its `Authorization` at TRACE), whatever `RUST_LOG` asks: the
/// proxy passes users' tokens through and must never write one down.
fn quiet_credentials(filter: EnvFilter) -> EnvFilter {
    match "tungstenite=debug".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    }
}

/// mimalloc, not the system allocator: a request makes dozens of small allocations, and
/// under glibc's allocator they were a quarter of a poll's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    match &config.command {
        Some(Command::Scenarios { command }) => {
            return scenarios_command(command, config.scenarios.as_deref())
        }
        Some(Command::Fixtures { command }) => return fixtures_command(command),
        None => {}
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(quiet_credentials(filter))
        .with_writer(std::io::stderr)
        .init();

    let state = match build_state(&config) {
        Ok(state) => state,
        Err(err) => {
            eprintln!("asr-mock: {err}");
            return ExitCode::from(2);
        }
    };
    let tls = match tls_of(&config) {
        Ok(tls) => tls,
        Err(err) => {
            eprintln!("asr-mock: {err}");
            return ExitCode::from(2);
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let addr = SocketAddr::new(config.host, config.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("asr-mock: cannot listen on {addr}: {err}");
            return ExitCode::from(2);
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    if !config.host.is_loopback() {
        // Loud on purpose: a public simulator with no secrets lets anyone use it, and its
        // downloads and callbacks reach wherever callers point them.
        let missing: Vec<&str> = [
            (config.admin_token.is_none(), "--admin-token"),
            (config.icu_secrets.is_none(), "--icu-secrets"),
            (config.tokens.is_none(), "--tokens"),
            (config.allow_hosts.is_none(), "--allow-hosts"),
        ]
        .into_iter()
        .filter_map(|(unset, flag)| unset.then_some(flag))
        .collect();
        eprintln!(
            "asr-mock: WARNING: listening on {} (not loopback): anyone who can reach it can use it.{}",
            config.host,
            if missing.is_empty() {
                String::new()
            } else {
                format!(" Consider {}.", missing.join(", "))
            }
        );
        tracing::warn!(host = %config.host, "listening on a non-loopback address");
    }
    let shutdown = shutdown_signal();
    // The address goes to stdout so scripts can read it (`--port 0` picks a free one).
    println!("asr-mock listening on {scheme}://{local}");
    tracing::info!(seed = config.seed, clock = ?config.clock_mode(), coze_model = ?config.coze_model, "ready");

    let mut options = serve_options(&config, &state);
    options.tls = tls;
    match run_with(listener, state, options, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("asr-mock: server error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM. The handlers are installed before this returns,
/// so a signal sent as soon as the address is printed stops the server gracefully rather than
/// killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
