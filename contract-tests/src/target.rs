//! What the checks talk to: an in-process simulator by default, or the servers that
//! `ASR_CONTRACT_*` variables (or the binary's flags) name.
//!
//! The in-process simulator is as strict as the real providers: a tokens file (unknown
//! bearer tokens get 4100) and icu's signature mode (unsigned or wrongly signed calls get
//! `AuthFailure.InvalidAuthorization`), so every check runs signed and authenticated exactly
//! as it would against the real services. Its clock is manual and its seed fixed, so a run
//! repeats byte for byte.
//!
//! A target found to be a simulator also carries its control API, as the simulator's own
//! typed client ([`Control`]).

use std::net::SocketAddr;
use std::time::Duration;

use asr_client::coze::CozeClient;
use asr_client::icu::{beijing_date, Callback, Credentials, DateSource, IcuClient};
use asr_mock::control::Control;
use asr_mock::{Config, MockServer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::outcome::Outcome;
use crate::wire::{error_chain, Signer, CALL_TIMEOUT};

/// Base URL of the Coze API to check (e.g. `https://api.coze.cn`).
pub const ENV_COZE_URL: &str = "ASR_CONTRACT_COZE_URL";
/// Bearer token for [`ENV_COZE_URL`] (`pat_…`); needs `createTranscription`.
pub const ENV_COZE_TOKEN: &str = "ASR_CONTRACT_COZE_TOKEN";
/// Base URL of the icu API to check (e.g. `http://api.icuapi.com`).
pub const ENV_ICU_URL: &str = "ASR_CONTRACT_ICU_URL";
/// icu secret id (`C-Secret`); with [`ENV_ICU_SECRET_KEY`], every icu call is signed.
pub const ENV_ICU_SECRET_ID: &str = "ASR_CONTRACT_ICU_SECRET_ID";
/// icu secret key (the HMAC key; never sent).
pub const ENV_ICU_SECRET_KEY: &str = "ASR_CONTRACT_ICU_SECRET_KEY";
/// Public URL the provider can POST callbacks to; it must reach
/// [`ENV_CALLBACK_LISTEN`] on this machine (a tunnel or a port forward).
pub const ENV_CALLBACK_URL: &str = "ASR_CONTRACT_CALLBACK_URL";
/// Local address the callback receiver listens on (default `127.0.0.1:8787`).
pub const ENV_CALLBACK_LISTEN: &str = "ASR_CONTRACT_CALLBACK_LISTEN";
/// How long a check waits in real time for an icu task to end (seconds, default 300).
pub const ENV_WAIT_SECS: &str = "ASR_CONTRACT_WAIT_SECS";
/// The first pause between real-time polls (milliseconds, default 1000; pauses grow 1.5×
/// up to 10 s).
pub const ENV_POLL_MS: &str = "ASR_CONTRACT_POLL_MS";

/// Seed of the in-process simulator: fixed, so runs repeat.
pub const MOCK_SEED: u64 = 1;
/// 2025-01-01T00:00:00Z: where the in-process simulator's manual clock starts.
pub const MOCK_START_MS: i64 = 1_735_689_600_000;
/// The in-process simulator's only token with `createTranscription`.
pub const MOCK_TOKEN: &str = "pat_contract";
/// A token the in-process simulator knows but without `createTranscription` (4101).
pub const MOCK_TOKEN_NO_PERMISSION: &str = "pat_contract_readonly";
/// The in-process simulator's icu secret id.
pub const MOCK_SECRET_ID: &str = "AKIDcontract";
/// The in-process simulator's icu secret key.
pub const MOCK_SECRET_KEY: &str = "contract-secret-key";

/// Default of [`ENV_CALLBACK_LISTEN`].
pub const DEFAULT_CALLBACK_LISTEN: &str = "127.0.0.1:8787";
/// Default of [`ENV_WAIT_SECS`]: a short task at the real provider ends within minutes.
pub const DEFAULT_WAIT_SECS: u64 = 300;
/// Default of [`ENV_POLL_MS`]: gentle on a real provider's 50 queries a second.
pub const DEFAULT_POLL_MS: u64 = 1000;

/// How long a remote control API may take to answer its health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What to check, as read from the environment or the binary's flags. No URL at all means
/// the in-process simulator; a URL for one provider only means the other one's checks are
/// skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// [`ENV_COZE_URL`].
    pub coze_url: Option<String>,
    /// [`ENV_COZE_TOKEN`].
    pub coze_token: Option<String>,
    /// [`ENV_ICU_URL`].
    pub icu_url: Option<String>,
    /// [`ENV_ICU_SECRET_ID`].
    pub icu_secret_id: Option<String>,
    /// [`ENV_ICU_SECRET_KEY`].
    pub icu_secret_key: Option<String>,
    /// [`ENV_CALLBACK_URL`].
    pub callback_url: Option<String>,
    /// [`ENV_CALLBACK_LISTEN`].
    pub callback_listen: Option<SocketAddr>,
    /// [`ENV_WAIT_SECS`].
    pub wait_secs: Option<u64>,
    /// [`ENV_POLL_MS`].
    pub poll_ms: Option<u64>,
    /// Treat a remote simulator as a real provider: never use its control API (to try the
    /// real-time paths against a simulator on a scaled clock).
    pub no_control: bool,
}

/// Why a target could not be set up.
#[derive(Debug)]
pub struct TargetError(pub String);

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetError {}

impl Settings {
    /// Reads the `ASR_CONTRACT_*` variables; empty ones count as unset.
    pub fn from_env() -> Result<Settings, TargetError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let callback_listen = match var(ENV_CALLBACK_LISTEN) {
            None => None,
            Some(v) => Some(v.parse().map_err(|e| {
                TargetError(format!(
                    "{ENV_CALLBACK_LISTEN}={v:?} is not an address: {e}"
                ))
            })?),
        };
        let number = |name: &str| match var(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| TargetError(format!("{name}={v:?} is not a number: {e}"))),
        };
        Ok(Settings {
            coze_url: var(ENV_COZE_URL),
            coze_token: var(ENV_COZE_TOKEN),
            icu_url: var(ENV_ICU_URL),
            icu_secret_id: var(ENV_ICU_SECRET_ID),
            icu_secret_key: var(ENV_ICU_SECRET_KEY),
            callback_url: var(ENV_CALLBACK_URL),
            callback_listen,
            wait_secs: number(ENV_WAIT_SECS)?,
            poll_ms: number(ENV_POLL_MS)?,
            no_control: false,
        })
    }
}

/// The Coze side of a target.
#[derive(Debug, Clone)]
pub struct CozeTarget {
    /// Base URL without trailing slash.
    pub base_url: String,
    /// Bearer token with `createTranscription`.
    pub token: String,
}

/// The icu side of a target.
#[derive(Debug, Clone)]
pub struct IcuTarget {
    /// Base URL without trailing slash.
    pub base_url: String,
    /// Keys to sign with; `None` sends unsigned calls.
    pub credentials: Option<Credentials>,
    /// Where `C-Date` comes from: the system clock, or the in-process simulator's.
    pub date: DateSource,
}

impl IcuTarget {
    /// The keys and the clock to sign with, when there are keys.
    pub fn signer(&self) -> Option<Signer<'_>> {
        self.credentials.as_ref().map(|credentials| Signer {
            credentials,
            date: &self.date,
        })
    }
}

/// Where icu callbacks can reach a receiver of ours.
#[derive(Debug, Clone)]
enum CallbackRoute {
    /// The provider runs on this machine: a receiver on a free loopback port.
    Loopback,
    /// The provider POSTs to `url`, which reaches `listen` here.
    Public { url: String, listen: SocketAddr },
    /// No way back from the provider: callback checks are skipped.
    Unreachable,
}

/// What the checks talk to. Dropping it stops the in-process simulator, if any.
#[derive(Debug)]
pub struct Target {
    coze: Option<CozeTarget>,
    icu: Option<IcuTarget>,
    callback: CallbackRoute,
    control: Option<Control>,
    wait: Duration,
    poll: Duration,
    http: reqwest::Client,
    /// Keeps the in-process simulator running.
    mock: Option<MockServer>,
    /// Holds the in-process simulator's tokens and secrets files.
    _files: Option<tempfile::TempDir>,
}

impl Target {
    /// The target the environment names ([`Settings::from_env`]), or the in-process
    /// simulator when it names none.
    pub async fn from_env() -> Result<Target, TargetError> {
        Target::from_settings(Settings::from_env()?).await
    }

    /// The target `settings` name, or the in-process simulator when they name no URL.
    pub async fn from_settings(settings: Settings) -> Result<Target, TargetError> {
        if settings.coze_url.is_none() && settings.icu_url.is_none() {
            return Target::in_process().await;
        }
        let http = plain_http(false)?;
        let coze = settings.coze_url.as_ref().map(|url| CozeTarget {
            base_url: trim(url),
            token: settings
                .coze_token
                .clone()
                .unwrap_or_else(|| MOCK_TOKEN.to_owned()),
        });
        let credentials = match (&settings.icu_secret_id, &settings.icu_secret_key) {
            (Some(id), Some(key)) => Some(Credentials {
                secret_id: id.clone(),
                secret_key: key.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(TargetError(format!(
                    "set both {ENV_ICU_SECRET_ID} and {ENV_ICU_SECRET_KEY}, or neither"
                )))
            }
        };
        let icu = settings.icu_url.as_ref().map(|url| IcuTarget {
            base_url: trim(url),
            credentials,
            date: DateSource::system(),
        });
        // The control API lives with the icu side when there is one (the checks that need
        // it move icu tasks), else with Coze.
        let control_base = icu
            .as_ref()
            .map(|i| i.base_url.clone())
            .or_else(|| coze.as_ref().map(|c| c.base_url.clone()));
        let control = match control_base {
            Some(base) if !settings.no_control => probe_control(&base, &http).await,
            _ => None,
        };
        let callback = match &settings.callback_url {
            Some(url) => CallbackRoute::Public {
                url: url.clone(),
                listen: settings.callback_listen.unwrap_or_else(|| {
                    DEFAULT_CALLBACK_LISTEN
                        .parse()
                        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8787)))
                }),
            },
            None => CallbackRoute::Unreachable,
        };
        Ok(Target {
            coze,
            icu,
            callback,
            control,
            wait: Duration::from_secs(settings.wait_secs.unwrap_or(DEFAULT_WAIT_SECS)),
            poll: Duration::from_millis(settings.poll_ms.unwrap_or(DEFAULT_POLL_MS).max(1)),
            http,
            mock: None,
            _files: None,
        })
    }

    /// Starts an in-process simulator on `127.0.0.1:0`: manual clock at
    /// [`MOCK_START_MS`], seed [`MOCK_SEED`], tokens [`MOCK_TOKEN`] (and
    /// [`MOCK_TOKEN_NO_PERMISSION`]), icu signature mode with [`MOCK_SECRET_ID`].
    pub async fn in_process() -> Result<Target, TargetError> {
        let files = tempfile::tempdir()
            .map_err(|e| TargetError(format!("cannot make a temporary folder: {e}")))?;
        let config = strict_mock_config(files.path())?;
        let mock = MockServer::builder()
            .config(config)
            .manual_clock(Some(MOCK_START_MS))
            .start()
            .await
            .map_err(|e| TargetError(format!("the in-process simulator did not start: {e}")))?;
        let base = mock.base_url();
        let http = plain_http(true)?;
        // The simulator checks C-Date against its manual clock, wherever the checks move it.
        let clock = mock.clock().clone();
        let date = DateSource::new(move || beijing_date(clock.now_ms()));
        Ok(Target {
            coze: Some(CozeTarget {
                base_url: base.clone(),
                token: MOCK_TOKEN.to_owned(),
            }),
            icu: Some(IcuTarget {
                base_url: base,
                credentials: Some(Credentials {
                    secret_id: MOCK_SECRET_ID.to_owned(),
                    secret_key: MOCK_SECRET_KEY.to_owned(),
                }),
                date,
            }),
            callback: CallbackRoute::Loopback,
            control: Some(mock.control().with_http(http.clone())),
            wait: Duration::from_secs(DEFAULT_WAIT_SECS),
            poll: Duration::from_millis(DEFAULT_POLL_MS),
            http,
            mock: Some(mock),
            _files: Some(files),
        })
    }

    /// One line saying what this target is, for the binary's header.
    pub fn describe(&self) -> String {
        if let Some(mock) = &self.mock {
            return format!(
                "in-process asr-mock at {} (seed {MOCK_SEED}, manual clock, strict tokens and signatures)",
                mock.base_url()
            );
        }
        let side = |name: &str, url: Option<&String>| match url {
            Some(url) => format!("{name} {url}"),
            None => format!("{name} not set (skipped)"),
        };
        format!(
            "{}; {}; control API {}; callbacks {}",
            side("Coze", self.coze.as_ref().map(|c| &c.base_url)),
            side("icu", self.icu.as_ref().map(|i| &i.base_url)),
            if self.control.is_some() {
                "found (a simulator)"
            } else {
                "absent (real time)"
            },
            match &self.callback {
                CallbackRoute::Loopback => "on loopback".to_owned(),
                CallbackRoute::Public { url, listen } => format!("{url} → {listen}"),
                CallbackRoute::Unreachable => format!("not reachable ({ENV_CALLBACK_URL} unset)"),
            }
        )
    }

    /// The in-process simulator, when this target is one.
    pub fn mock(&self) -> Option<&MockServer> {
        self.mock.as_ref()
    }

    /// The Coze side, or a skip naming the variable that would enable it.
    pub fn coze(&self) -> Result<&CozeTarget, Outcome> {
        self.coze
            .as_ref()
            .ok_or_else(|| Outcome::Skip(format!("no Coze target ({ENV_COZE_URL} unset)")))
    }

    /// The icu side, or a skip naming the variable that would enable it.
    pub fn icu(&self) -> Result<&IcuTarget, Outcome> {
        self.icu
            .as_ref()
            .ok_or_else(|| Outcome::Skip(format!("no icu target ({ENV_ICU_URL} unset)")))
    }

    /// A typed Coze client for this target.
    pub fn coze_client(&self) -> Result<CozeClient, Outcome> {
        let coze = self.coze()?;
        self.coze_client_with_token(&coze.token)
    }

    /// A typed Coze client with another token (for the authentication checks).
    pub fn coze_client_with_token(&self, token: &str) -> Result<CozeClient, Outcome> {
        let coze = self.coze()?;
        Ok(CozeClient::new(&coze.base_url, token)
            .with_http(self.http.clone())
            .with_timeout(CALL_TIMEOUT))
    }

    /// A typed icu client for this target, signing when it has credentials.
    pub fn icu_client(&self) -> Result<IcuClient, Outcome> {
        let icu = self.icu()?;
        let client = IcuClient::new(&icu.base_url)
            .with_http(self.http.clone())
            .with_timeout(CALL_TIMEOUT)
            .with_date_source(icu.date.clone());
        Ok(match &icu.credentials {
            Some(c) => client.with_credentials(c.clone()),
            None => client,
        })
    }

    /// The HTTP client for raw calls.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The simulator's control API: `Some` for the in-process simulator or a remote one that
    /// answers `GET /__admin/health`; `None` for a real provider.
    pub fn control(&self) -> Option<&Control> {
        self.control.as_ref()
    }

    /// The control API, or a skip saying the check needs one.
    pub fn require_control(&self, why: &str) -> Result<&Control, Outcome> {
        self.control.as_ref().ok_or_else(|| {
            Outcome::Skip(format!(
                "needs a simulator's control API ({why}); the target has none"
            ))
        })
    }

    /// How long a check waits in real time for a task when there is no control API.
    pub fn wait_deadline(&self) -> Duration {
        self.wait
    }

    /// The first pause between real-time polls.
    pub fn poll_interval(&self) -> Duration {
        self.poll
    }

    /// Starts a callback receiver (`asr_client::icu::receiver`), or a skip when the provider
    /// cannot reach this machine.
    pub async fn callback_receiver(&self) -> Result<CallbackReceiver, Outcome> {
        let (listen, url) = match &self.callback {
            CallbackRoute::Loopback => (SocketAddr::from(([127, 0, 0, 1], 0)), None),
            CallbackRoute::Public { url, listen } => (*listen, Some(url.clone())),
            CallbackRoute::Unreachable => {
                return Err(Outcome::Skip(format!(
                    "the provider cannot reach a receiver here: set {ENV_CALLBACK_URL} \
                     (and {ENV_CALLBACK_LISTEN})"
                )))
            }
        };
        // A fixed port may still be held for a moment by the previous check's receiver.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(listen).await {
                Ok(listener) => break listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(Outcome::Fail(format!("cannot listen on {listen}: {e}"))),
            }
        };
        let addr = listener
            .local_addr()
            .map_err(|e| Outcome::Fail(format!("no local address: {e}")))?;
        let (tx, rx) = mpsc::channel(16);
        let app = asr_client::icu::receiver::router(tx);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallbackReceiver {
            url: url.unwrap_or_else(|| format!("http://{addr}/")),
            callbacks: rx,
            server,
        })
    }
}

/// A running callback receiver; dropping it stops it (and frees its port), kept-alive
/// connections included.
#[derive(Debug)]
pub struct CallbackReceiver {
    /// The `CallbackUrl` to submit.
    pub url: String,
    /// Callbacks as the receiver parsed and acknowledged them.
    pub callbacks: mpsc::Receiver<Callback>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The in-process simulator's settings: port 0, seed [`MOCK_SEED`], tokens
/// [`MOCK_TOKEN`] and [`MOCK_TOKEN_NO_PERMISSION`], icu signature mode with
/// [`MOCK_SECRET_ID`] and [`MOCK_SECRET_KEY`]. The tokens and secrets files are written to
/// `dir`, which must outlive the start of the simulator. The clock is left to the caller.
pub fn strict_mock_config(dir: &std::path::Path) -> Result<Config, TargetError> {
    let tokens = dir.join("tokens.toml");
    let secrets = dir.join("secrets.toml");
    let write = |path: &std::path::Path, text: String| {
        std::fs::write(path, text)
            .map_err(|e| TargetError(format!("cannot write {}: {e}", path.display())))
    };
    write(
        &tokens,
        format!(
            "[[tokens]]\ntoken = \"{MOCK_TOKEN}\"\npermissions = [\"createTranscription\"]\n\n\
             [[tokens]]\ntoken = \"{MOCK_TOKEN_NO_PERMISSION}\"\npermissions = []\n"
        ),
    )?;
    write(
        &secrets,
        format!(
            "[[secrets]]\nsecret_id = \"{MOCK_SECRET_ID}\"\nsecret_key = \"{MOCK_SECRET_KEY}\"\n"
        ),
    )?;
    Ok(Config {
        port: 0,
        seed: MOCK_SEED,
        tokens: Some(tokens),
        icu_secrets: Some(secrets),
        ..Config::default()
    })
}

/// The control API at `base_url`, when it answers `GET /__admin/health` like asr-mock.
async fn probe_control(base_url: &str, http: &reqwest::Client) -> Option<Control> {
    let control = Control::new(base_url).with_http(http.clone());
    let health = tokio::time::timeout(PROBE_TIMEOUT, control.health())
        .await
        .ok()?
        .ok()?;
    (health.status == "ok").then_some(control)
}

/// An HTTP client for targets; loopback targets bypass any proxy the environment sets.
fn plain_http(loopback: bool) -> Result<reqwest::Client, TargetError> {
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    if loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| TargetError(format!("cannot build an HTTP client: {}", error_chain(&e))))
}

fn trim(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}
