//! The shared state every handler gets: a cheap-to-clone handle (one `Arc`) on the clock,
//! the seed, the stores and the settings. Handlers never read the wall clock or OS
//! randomness; they go through this.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::RngCore;

use crate::admin::audio::AudioHost;
use crate::admin::sink::Sink;
use crate::audio::ProbeOptions;
use crate::clock::{beijing, Clock};
use crate::config::CozeModel;
use crate::journal::Journal;
use crate::providers::icu::IcuState;
use crate::scenarios::Scenarios;
use crate::tokens::TokenPolicy;
use crate::transcript::FixtureStore;

/// Handle on the simulator's state; clones share everything. Fields of [`Parts`] read
/// straight through it (`state.clock`, `state.icu`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// Everything the handlers share, as [`build_state`](crate::build_state) assembles it.
#[derive(Debug)]
pub struct Parts {
    /// Root of every random choice.
    pub seed: u64,
    /// The one clock.
    pub clock: Clock,
    /// Requests answered, bounded.
    pub journal: Journal,
    /// Transcripts registered by audio hash.
    pub fixtures: Arc<FixtureStore>,
    /// Who may call provider A.
    pub tokens: TokenPolicy,
    /// Which Coze model's format list applies.
    pub coze_model: CozeModel,
    /// How uploads are probed (PCM assumptions, decode budget).
    pub probe: ProbeOptions,
    /// Provider B: tasks, downloads, callbacks, rate limits.
    pub icu: IcuState,
    /// Audio files served under `/__admin/audio/` so a task's Url can point at the simulator.
    pub audio_host: AudioHost,
    /// Callbacks received at `/__admin/sink`.
    pub sink: Sink,
    /// The scenario library, activations and fault counters.
    pub scenarios: Scenarios,
    /// The token `/__admin/` requires, if any.
    pub admin_token: Option<String>,
    /// Where state is saved across restarts (`--state-file`), if anywhere.
    pub persist: Option<crate::persist::Persist>,
}

/// The parts plus what the state keeps for itself.
#[derive(Debug)]
pub struct Shared {
    parts: Parts,
    /// Ordinal of the next logid, so logids come from (seed, ordinal) and repeat per run.
    logid_ordinal: AtomicU64,
}

impl Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0.parts
    }
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(parts: Parts) -> Self {
        AppState(Arc::new(Shared {
            parts,
            logid_ordinal: AtomicU64::new(0),
        }))
    }

    /// A Coze-style logid: 14 digits of Beijing time, then 20 uppercase hex digits drawn
    /// from (seed, ordinal), e.g. `2025110522060859DE7DB648C2DCC379B3`.
    pub fn next_logid(&self) -> String {
        let ordinal = self.0.logid_ordinal.fetch_add(1, Ordering::Relaxed);
        let mut rng = crate::rng::derive(self.seed, "coze-logid", &ordinal.to_le_bytes());
        let mut bytes = [0u8; 10];
        rng.fill_bytes(&mut bytes);
        let stamp = self
            .clock
            .now()
            .with_timezone(&beijing())
            .format("%Y%m%d%H%M%S");
        format!("{stamp}{}", hex::encode_upper(bytes))
    }

    /// The ordinal the next logid will use (for saving).
    pub fn logid_ordinal(&self) -> u64 {
        self.0.logid_ordinal.load(Ordering::Relaxed)
    }

    /// Continues logids from a saved ordinal after a restart.
    pub fn set_logid_ordinal(&self, ordinal: u64) {
        self.0.logid_ordinal.store(ordinal, Ordering::Relaxed);
    }

    /// Forgets what requests left behind (journal, API fixtures, ordinals); keeps settings,
    /// fixtures loaded from disk and the clock, which never goes backwards.
    pub fn reset(&self) {
        self.journal.clear();
        self.fixtures.clear_api();
        self.icu.reset();
        self.audio_host.clear();
        self.sink.clear();
        self.scenarios.reset();
        self.0.logid_ordinal.store(0, Ordering::Relaxed);
    }
}
