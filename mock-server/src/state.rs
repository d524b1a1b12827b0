//! The shared state every handler gets: a cheap-to-clone handle (one `Arc`) on the clock,
//! the seed, the stores, the providers' services and the settings. Handlers never read the
//! wall clock or OS randomness; they go through this. A provider's handlers take only their
//! own service and the scenarios, lent through `FromRef`.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::bus::{Bus, Topic};
use crate::clock::Clock;
use crate::hosts::ControlHosts;
use crate::metrics::Metrics;
use crate::persist::handle::Persist;
use crate::providers::coze::CozeService;
use crate::providers::icu::IcuService;
use crate::proxy::Proxy;
use crate::scenarios::Scenarios;
use crate::stores::audio_host::AudioHost;
use crate::stores::journal::Journal;
use crate::stores::sink::Sink;
use crate::transcript::FixtureStore;

/// Handle on the simulator's state; clones share everything. Fields of [`Parts`] read
/// straight through it (`state.clock`, `state.icu`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Parts>);

/// Everything the handlers share, as the composition root (`app::build_state`) assembles it.
#[derive(Debug)]
pub struct Parts {
    /// Root of every random choice.
    pub seed: u64,
    /// The one clock.
    pub clock: Clock,
    /// Requests answered, bounded.
    pub journal: Journal,
    /// Transcripts registered by audio hash (both providers read them).
    pub fixtures: Arc<FixtureStore>,
    /// Provider A.
    pub coze: Arc<CozeService>,
    /// Provider B: tasks, downloads, callbacks, rate limits.
    pub icu: Arc<IcuService>,
    /// Audio files served under `/__admin/audio/` so a task's Url can point at the simulator.
    pub audio_host: AudioHost,
    /// Callbacks received at `/__admin/sink`.
    pub sink: Sink,
    /// The scenario library, activations and fault counters.
    pub scenarios: Arc<Scenarios>,
    /// The token `/__admin/` requires, if any.
    pub admin_token: Option<String>,
    /// The names `/__admin/` answers to in `Host` (`--allowed-host`).
    pub control_hosts: ControlHosts,
    /// Where state is saved across restarts (`--state-file`), if anywhere.
    pub persist: Option<Persist>,
    /// What changed, for the dashboard (`/__admin/events`); wired into every publisher.
    pub bus: Bus,
    /// This server's metrics (`/__admin/metrics`): its own registry, never a global one.
    pub metrics: Metrics,
    /// The recording proxy (`--proxy-coze`, `--proxy-icu`), when a provider is proxied.
    pub proxy: Option<Arc<Proxy>>,
}

impl Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl FromRef<AppState> for Arc<CozeService> {
    fn from_ref(state: &AppState) -> Self {
        state.coze.clone()
    }
}

impl FromRef<AppState> for Arc<IcuService> {
    fn from_ref(state: &AppState) -> Self {
        state.icu.clone()
    }
}

impl FromRef<AppState> for Arc<Scenarios> {
    fn from_ref(state: &AppState) -> Self {
        state.scenarios.clone()
    }
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(parts: Parts) -> Self {
        AppState(Arc::new(parts))
    }

    /// Forgets what requests left behind (journal, API fixtures, tasks, ordinals); keeps
    /// settings, fixtures loaded from disk and the clock, which never goes backwards.
    pub fn reset(&self) {
        self.journal.clear();
        self.fixtures.clear_api();
        self.icu.reset();
        self.audio_host.clear();
        self.sink.clear();
        self.scenarios.reset();
        self.coze.logids.set_ordinal(0);
        self.bus
            .publish_with(Topic::Snapshot, || serde_json::json!({ "reason": "reset" }));
    }
}
