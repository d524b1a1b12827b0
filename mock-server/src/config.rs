//! Settings, from the command line with `ASR_MOCK_*` environment fallbacks. Every field has
//! an embedded default, so `asr-mock` with no arguments is a working simulator.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

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

fn parse_rfc3339(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|e| format!("not an RFC 3339 time ({e}); example: 2025-01-01T08:00:00+08:00"))
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
