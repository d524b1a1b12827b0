//! Settings, from the command line with `ASR_MOCK_*` environment fallbacks. Every field has
//! an embedded default, so `asr-mock` with no arguments is a working simulator.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::audio::PcmSpec;
use crate::clock::ClockMode;

/// Which Coze recognition model the simulated account uses; it decides the accepted formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CozeModel {
    /// Large-model ASR: opus, ogg, mp3, wav, m4a, mp4, pcm, raw, spx, aac, amr.
    Large,
    /// Small-model ASR: ogg, mp3, wav, mp4, m4a.
    Small,
}

/// How simulated time runs at start-up (it can be changed later through `/__admin/clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockKind {
    /// Follow the wall clock (times `--time-scale` when that is not 1).
    Real,
    /// Run `--time-scale` times as fast as the wall clock.
    Scaled,
    /// Stand still until moved through the control API.
    Manual,
}

/// The simulator's settings.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "asr-mock",
    version,
    about = "Simulator of the Coze transcription and icu recording-file ASR APIs"
)]
pub struct Config {
    /// Address to listen on. Loopback by default: the simulator has no real authentication.
    #[arg(long, env = "ASR_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one (the chosen address is printed).
    #[arg(long, short, env = "ASR_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,

    /// Seed for every random choice (logids, transcripts, …): same seed, same answers.
    #[arg(long, env = "ASR_MOCK_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Folder of transcript fixtures (`*.toml`), matched to uploads by audio SHA-256.
    #[arg(long, env = "ASR_MOCK_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// TOML file of accepted tokens and their permissions; without it any bearer token works.
    #[arg(long, env = "ASR_MOCK_TOKENS")]
    pub tokens: Option<PathBuf>,

    /// The Coze recognition model of the simulated account.
    #[arg(long, env = "ASR_MOCK_COZE_MODEL", value_enum, default_value_t = CozeModel::Large)]
    pub coze_model: CozeModel,

    /// Clock mode at start-up.
    #[arg(long, env = "ASR_MOCK_CLOCK", value_enum, default_value_t = ClockKind::Real)]
    pub clock: ClockKind,

    /// Speed of simulated time against the wall clock, for `--clock scaled` (or `real`, when not 1).
    #[arg(long, env = "ASR_MOCK_TIME_SCALE", default_value_t = 1.0)]
    pub time_scale: f64,

    /// Simulated start time (RFC 3339). Default: the wall clock, or 2025-01-01T00:00:00Z for a
    /// manual clock so manual runs repeat exactly.
    #[arg(long, env = "ASR_MOCK_CLOCK_START", value_parser = parse_rfc3339)]
    pub clock_start: Option<i64>,

    /// Sample rate assumed for headerless `.pcm`/`.raw` uploads.
    #[arg(long, env = "ASR_MOCK_PCM_RATE", default_value_t = 16_000)]
    pub pcm_rate: u32,

    /// Channel count assumed for headerless `.pcm`/`.raw` uploads (16-bit little-endian).
    #[arg(long, env = "ASR_MOCK_PCM_CHANNELS", default_value_t = 1)]
    pub pcm_channels: u16,

    /// How many requests the journal at `/__admin/requests` keeps (oldest dropped first).
    #[arg(long, env = "ASR_MOCK_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// How icu tasks advance: on the clock (`time`) or by number of polls (`polls`).
    #[arg(long, env = "ASR_MOCK_ICU_PROGRESS", value_enum, default_value_t = ProgressKind::Time)]
    pub icu_progress: ProgressKind,

    /// With `--icu-progress polls`: polls answered `waiting`, then as many `doing`, before
    /// the outcome.
    #[arg(long, env = "ASR_MOCK_ICU_POLLS_PER_STATUS", default_value_t = 1)]
    pub icu_polls_per_status: u32,

    /// Queue delay range of icu tasks in ms (`MIN-MAX`), drawn per task from the seed.
    #[arg(long, env = "ASR_MOCK_ICU_QUEUE_DELAY_MS", default_value = "500-3000", value_parser = parse_range)]
    pub icu_queue_delay_ms: (u64, u64),

    /// Recognition speed as a multiple of real time ("doing" lasts duration / speed).
    #[arg(long, env = "ASR_MOCK_ICU_SPEED", default_value_t = 30.0)]
    pub icu_speed: f64,

    /// Audio shorter than this fails with 10002.
    #[arg(long, env = "ASR_MOCK_ICU_MIN_DURATION_MS", default_value_t = 1000)]
    pub icu_min_duration_ms: u64,

    /// Hours an ended task stays queryable (on the simulator clock).
    #[arg(long, env = "ASR_MOCK_ICU_RETENTION_HOURS", default_value_t = 24.0)]
    pub icu_retention_hours: f64,

    /// Most icu tasks kept; past that the oldest is forgotten.
    #[arg(long, env = "ASR_MOCK_ICU_TASK_CAPACITY", default_value_t = 100_000)]
    pub icu_task_capacity: usize,

    /// Submits per second before `RequestLimitExceeded` (0 = no limit).
    #[arg(long, env = "ASR_MOCK_ICU_SUBMIT_RATE", default_value_t = 20)]
    pub icu_submit_rate: u32,

    /// Queries per second before `RequestLimitExceeded` (0 = no limit).
    #[arg(long, env = "ASR_MOCK_ICU_QUERY_RATE", default_value_t = 50)]
    pub icu_query_rate: u32,

    /// icu strict signature mode: TOML file of `[[secrets]]` (`secret_id`, `secret_key`);
    /// requests must carry `C-Date`, `C-Secret` and a valid `Sign`. Off by default.
    #[arg(long, env = "ASR_MOCK_ICU_SECRETS")]
    pub icu_secrets: Option<PathBuf>,

    /// Hosts the simulator may download audio from and post callbacks to (comma-separated:
    /// `audio.example.com,*.cdn.net,127.0.0.1:9000`). Default: any host.
    #[arg(long, env = "ASR_MOCK_ALLOW_HOSTS")]
    pub allow_hosts: Option<String>,

    /// Token the control API (`/__admin/`) requires, as `Authorization: Bearer <token>` or
    /// `X-Admin-Token`. Default: none (loopback-only use).
    #[arg(long, env = "ASR_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,

    /// The callback's `appid`.
    #[arg(long, env = "ASR_MOCK_ICU_APPID", default_value_t = 12516)]
    pub icu_appid: u64,

    /// Send `resultDetail=` (empty) in ResTextFormat 0 callbacks instead of leaving it out.
    #[arg(long, env = "ASR_MOCK_CALLBACK_EMPTY_RESULT_DETAIL")]
    pub callback_empty_result_detail: bool,

    /// Callback attempts in all (the provider makes 2).
    #[arg(long, env = "ASR_MOCK_CALLBACK_ATTEMPTS", default_value_t = 2)]
    pub callback_attempts: u32,

    /// Ms between callback attempts, on the simulator clock.
    #[arg(long, env = "ASR_MOCK_CALLBACK_INTERVAL_MS", default_value_t = 5000)]
    pub callback_interval_ms: u64,

    /// Ms before a callback attempt counts as timed out, on the simulator clock.
    #[arg(long, env = "ASR_MOCK_CALLBACK_TIMEOUT_MS", default_value_t = 10_000)]
    pub callback_timeout_ms: u64,

    /// Callback requests in flight at once.
    #[arg(long, env = "ASR_MOCK_CALLBACK_CONCURRENCY", default_value_t = 32)]
    pub callback_concurrency: usize,

    /// Ms before an audio download counts as failed (10007), on the simulator clock.
    #[arg(long, env = "ASR_MOCK_DOWNLOAD_TIMEOUT_MS", default_value_t = 60_000)]
    pub download_timeout_ms: u64,

    /// Largest audio download in bytes (the provider's limit is 512 MB).
    #[arg(long, env = "ASR_MOCK_DOWNLOAD_MAX_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub download_max_bytes: u64,

    /// Folder of your own scenario files (`*.toml`): they add to the built-in library, and a
    /// file with a built-in's name replaces it. A broken file stops start-up.
    #[arg(long, env = "ASR_MOCK_SCENARIOS", global = true, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,

    /// Keep icu tasks, the journals, id ordinals and the clock in this database file across
    /// restarts, a kill -9 included: an accepted task is written (fsync) before its submit
    /// is answered; the rest is saved every second when something changed and at shutdown.
    /// A file that cannot be written or read stops start-up. Default: nothing is written.
    #[arg(long, env = "ASR_MOCK_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Callback requests in flight at once to one receiver (scheme, host and port), within
    /// `--callback-concurrency`: a receiver that hangs holds only its own share.
    #[arg(long, env = "ASR_MOCK_CALLBACK_PER_RECEIVER", default_value_t = 4)]
    pub callback_per_receiver: usize,
    /// Bytes of request journal kept (with at most `--journal-size` entries); the oldest go
    /// first. Each entry keeps at most 4 KiB of its path, query and message.
    #[arg(long, env = "ASR_MOCK_JOURNAL_MAX_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub journal_max_bytes: usize,

    /// Bytes of callbacks the built-in receiver (`/__admin/sink`) keeps; the oldest go first.
    #[arg(long, env = "ASR_MOCK_SINK_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub sink_max_bytes: usize,

    /// A request body must bring at least `--body-min-rate` bytes per second in every window
    /// of this many ms, or it is cut off with a 408 and the connection closed. 0: no limit.
    #[arg(long, env = "ASR_MOCK_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,

    /// Slowest accepted request body, in bytes per second (see `--body-timeout-ms`).
    #[arg(long, env = "ASR_MOCK_BODY_MIN_RATE", default_value_t = 1024)]
    pub body_min_rate: u64,

    /// Most connections served at once (lowered to fit the open-file limit). Up to an eighth
    /// more are accepted to answer health checks and a 503 to everything else; beyond that
    /// new connections wait in the listen backlog for a place. 0: no cap.
    #[arg(long, env = "ASR_MOCK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// What to do instead of serving; without one, `asr-mock` serves.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Audio downloads running at once; more tasks wait (still `waiting`) for a slot.
    #[arg(long, env = "ASR_MOCK_DOWNLOAD_CONCURRENCY", default_value_t = 4)]
    pub download_concurrency: usize,
    /// More names the control API answers to in `Host` (repeat the flag or give a comma
    /// list; `*.example.com` for subdomains). `localhost`, `*.localhost` and IP addresses are
    /// always accepted; `all` or `*` turns the check off. Against DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "ASR_MOCK_ALLOWED_HOSTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// icu strict mode: how far `C-Date` may be from the simulator's clock, in seconds either
    /// way (0: no freshness check).
    #[arg(
        long,
        env = "ASR_MOCK_ICU_SIGNATURE_WINDOW_SECS",
        default_value_t = 300
    )]
    pub icu_signature_window_secs: u64,

    /// Streaming recognition: refuse a bad token at the WebSocket handshake with HTTP 401/403
    /// (and `X-Tt-Logid`) instead of upgrading and sending an `error` event 4100/4101.
    #[arg(long, env = "ASR_MOCK_WS_AUTH_HANDSHAKE")]
    pub ws_auth_handshake: bool,

    /// Streaming recognition: longest audio of one complete-cycle, in ms; past it an `error`
    /// and a close.
    #[arg(long, env = "ASR_MOCK_WS_MAX_DURATION_MS", default_value_t = 30 * 60 * 1000)]
    pub ws_max_duration_ms: u64,

    /// Streaming recognition: largest client message in bytes; past it an `error` and a close.
    #[arg(long, env = "ASR_MOCK_WS_MAX_FRAME_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub ws_max_frame_bytes: usize,

    /// Streaming recognition: a connection that sends nothing for this many ms (real time)
    /// gets an `error` and a close.
    #[arg(long, env = "ASR_MOCK_WS_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub ws_idle_timeout_ms: u64,

    /// Serve HTTP and WebSocket over TLS with this PEM certificate chain (with `--tls-key`).
    #[arg(
        long,
        env = "ASR_MOCK_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(
        long,
        env = "ASR_MOCK_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Serve over TLS with a certificate generated for localhost, 127.0.0.1 and ::1; its PEM
    /// is written to CERT_OUT for clients to trust.
    #[arg(long, env = "ASR_MOCK_TLS_SELF_SIGNED", value_name = "CERT_OUT")]
    pub tls_self_signed: Option<PathBuf>,

    /// Forward every Coze request (HTTP and WebSocket) to this base URL and answer with what
    /// comes back; credentials pass through untouched.
    #[arg(long, env = "ASR_MOCK_PROXY_COZE", value_name = "URL")]
    pub proxy_coze: Option<String>,

    /// Forward every icu request to this base URL (TaskIds are the upstream's; a CallbackUrl
    /// goes upstream as given).
    #[arg(long, env = "ASR_MOCK_PROXY_ICU", value_name = "URL")]
    pub proxy_icu: Option<String>,

    /// With a proxy: write what the upstream answered as fixtures (`DIR/fixtures/`, by audio
    /// SHA-256) and its distinct errors as scenarios (`DIR/scenarios/`).
    #[arg(long, env = "ASR_MOCK_RECORD", value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// With a proxy: how long (real ms) one forwarded request may take, answer included.
    #[arg(long, env = "ASR_MOCK_PROXY_TIMEOUT_MS", default_value_t = 300_000)]
    pub proxy_timeout_ms: u64,
}

/// Subcommands: tools around the simulator that never start the server.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Inspect the scenario library or lint scenario files.
    Scenarios {
        /// Which scenario tool.
        #[command(subcommand)]
        command: ScenariosCommand,
    },
    /// Lint transcript fixture files.
    Fixtures {
        /// Which fixtures tool.
        #[command(subcommand)]
        command: FixturesCommand,
    },
}

/// `asr-mock fixtures …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum FixturesCommand {
    /// Check every `*.toml` file in DIR as `--fixtures DIR` loads it: exit 0 when all are
    /// valid, 1 when one is not, 2 when DIR cannot be read.
    Check {
        /// The folder to check.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `asr-mock scenarios …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ScenariosCommand {
    /// List the built-in scenarios, and those of `--scenarios DIR`.
    List,
    /// Check every `*.toml` file in DIR: exit 0 when all are valid, 1 when one is not, 2 when
    /// DIR cannot be read.
    Check {
        /// The folder to check.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// How icu tasks advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressKind {
    /// On the simulator clock: queue delay, then processing time.
    Time,
    /// By number of polls.
    Polls,
}

impl Default for Config {
    /// The embedded defaults, ignoring the environment (a library user gets what the
    /// builder says, whatever `ASR_MOCK_*` variables the test process has).
    fn default() -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            seed: 1,
            fixtures: None,
            tokens: None,
            coze_model: CozeModel::Large,
            clock: ClockKind::Real,
            time_scale: 1.0,
            clock_start: None,
            pcm_rate: 16_000,
            pcm_channels: 1,
            journal_size: 1000,
            icu_progress: ProgressKind::Time,
            icu_polls_per_status: 1,
            icu_queue_delay_ms: (500, 3000),
            icu_speed: 30.0,
            icu_min_duration_ms: 1000,
            icu_retention_hours: 24.0,
            icu_task_capacity: 100_000,
            icu_submit_rate: 20,
            icu_query_rate: 50,
            icu_secrets: None,
            allow_hosts: None,
            admin_token: None,
            icu_appid: 12516,
            callback_empty_result_detail: false,
            callback_attempts: 2,
            callback_interval_ms: 5000,
            callback_timeout_ms: 10_000,
            callback_concurrency: 32,
            download_timeout_ms: 60_000,
            download_max_bytes: 512 * 1024 * 1024,
            scenarios: None,
            state_file: None,
            callback_per_receiver: 4,
            journal_max_bytes: 16 * 1024 * 1024,
            sink_max_bytes: 64 * 1024 * 1024,
            body_timeout_ms: 30_000,
            body_min_rate: 1024,
            max_connections: 1024,
            command: None,
            download_concurrency: 4,
            allowed_hosts: Vec::new(),
            icu_signature_window_secs: 300,
            ws_auth_handshake: false,
            ws_max_duration_ms: 30 * 60 * 1000,
            ws_max_frame_bytes: 16 * 1024 * 1024,
            ws_idle_timeout_ms: 60_000,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: None,
            proxy_coze: None,
            proxy_icu: None,
            record: None,
            proxy_timeout_ms: 300_000,
        }
    }
}

impl Config {
    /// The clock mode these settings ask for.
    pub fn clock_mode(&self) -> ClockMode {
        match self.clock {
            ClockKind::Manual => ClockMode::Manual,
            ClockKind::Real if self.time_scale == 1.0 => ClockMode::Real,
            ClockKind::Real | ClockKind::Scaled => ClockMode::Scaled {
                factor: self.time_scale,
            },
        }
    }

    /// The format assumed for headerless PCM uploads.
    pub fn pcm_spec(&self) -> PcmSpec {
        PcmSpec {
            sample_rate: self.pcm_rate,
            channels: self.pcm_channels,
            bits_per_sample: 16,
        }
    }
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let parse = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| format!("expected MIN-MAX in ms (e.g. 500-3000), got {s:?}"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo > hi {
        return Err(format!("MIN must not exceed MAX in {s:?}"));
    }
    Ok((lo, hi))
}

fn parse_rfc3339(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|e| format!("not an RFC 3339 time ({e}); example: 2025-01-01T08:00:00+08:00"))
}

/// A settings file (tokens, icu secrets) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsFileError {
    /// The file cannot be read.
    #[error("{}: cannot read {what}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What kind of file (`tokens file`, `secrets file`).
        what: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// `line N: reason`, or what the content breaks.
        reason: String,
    },
}

/// Reads a settings file with `parse` (which takes the text and answers `line N: reason`).
pub fn read_settings_file<T>(
    path: &Path,
    what: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, SettingsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsFileError::Read {
        path: path.to_owned(),
        what,
        source,
    })?;
    parse(&text).map_err(|reason| SettingsFileError::Invalid {
        path: path.to_owned(),
        reason,
    })
}

/// Deserialises TOML text; an error reads `line N: reason`.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => {
            let line = text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_arguments() {
        let parsed = Config::parse_from(["asr-mock"]);
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
        let c = Config::default();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert_eq!(c.coze_model, CozeModel::Large);
        assert_eq!(c.clock_mode(), ClockMode::Real);
    }

    #[test]
    fn scenario_subcommands_parse_and_serving_stays_the_default() {
        let c = Config::parse_from(["asr-mock", "--scenarios", "mine", "--port", "0"]);
        assert_eq!(c.scenarios, Some(PathBuf::from("mine")));
        assert_eq!(c.command, None);
        let c = Config::parse_from(["asr-mock", "scenarios", "list"]);
        assert_eq!(
            c.command,
            Some(Command::Scenarios {
                command: ScenariosCommand::List
            })
        );
        // `--scenarios` is global: it may follow the subcommand.
        let c = Config::parse_from(["asr-mock", "scenarios", "list", "--scenarios", "mine"]);
        assert_eq!(c.scenarios, Some(PathBuf::from("mine")));
        let c = Config::parse_from(["asr-mock", "scenarios", "check", "dir"]);
        assert_eq!(
            c.command,
            Some(Command::Scenarios {
                command: ScenariosCommand::Check {
                    dir: PathBuf::from("dir")
                }
            })
        );
        assert!(Config::try_parse_from(["asr-mock", "scenarios", "check"]).is_err());
        let c = Config::parse_from(["asr-mock", "fixtures", "check", "dir"]);
        assert_eq!(
            c.command,
            Some(Command::Fixtures {
                command: FixturesCommand::Check {
                    dir: PathBuf::from("dir")
                }
            })
        );
        assert!(Config::try_parse_from(["asr-mock", "scenarios"]).is_err());
    }

    #[test]
    fn allowed_hosts_repeat_or_come_as_a_list() {
        let c = Config::parse_from([
            "asr-mock",
            "--allowed-host",
            "a.example",
            "--allowed-host",
            "b.example,*.c.example",
        ]);
        assert_eq!(c.allowed_hosts, ["a.example", "b.example", "*.c.example"]);
        assert_eq!(c.icu_signature_window_secs, 300);
        let c = Config::parse_from(["asr-mock", "--icu-signature-window-secs", "0"]);
        assert_eq!(c.icu_signature_window_secs, 0);
    }

    #[test]
    fn time_scale_alone_means_scaled() {
        let c = Config::parse_from(["asr-mock", "--time-scale", "100"]);
        assert_eq!(c.clock_mode(), ClockMode::Scaled { factor: 100.0 });
        let c = Config::parse_from([
            "asr-mock",
            "--clock",
            "manual",
            "--clock-start",
            "2025-01-01T08:00:00+08:00",
        ]);
        assert_eq!(c.clock_mode(), ClockMode::Manual);
        assert_eq!(c.clock_start, Some(1_735_689_600_000));
    }
}
