//! Provider B: the icu recording-file ASR (`spec/icu-recording-asr.md`): submit a task, poll
//! it, receive a callback.

pub mod auth;
pub mod engine;
pub mod error;
pub mod handlers;
pub mod limits;
pub mod params;
pub mod recognize;
pub mod result;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};

pub use handlers::router;

use crate::download::Downloader;
use crate::ratelimit::RateLimiter;
use crate::tasks::TaskEngine;
use auth::Secrets;
use recognize::RecognizeSettings;

/// Provider B's share of the server state.
#[derive(Debug)]
pub struct IcuState {
    /// Tasks, their scheduler and their callbacks.
    pub engine: TaskEngine,
    /// Fetches the audio of Url tasks.
    pub downloader: Downloader,
    /// Submit requests per second (20 by default).
    pub submit_limit: RateLimiter,
    /// Query requests per second (50 by default).
    pub query_limit: RateLimiter,
    /// Timing and limits of recognition.
    pub recognize: RecognizeSettings,
    /// Strict mode: the secrets signatures are checked against (`None`: anyone may call).
    pub secrets: Option<Secrets>,
    /// Ordinal of the next TaskId draw, so ids come from (seed, ordinal).
    ordinal: AtomicU64,
}

impl IcuState {
    /// Assembles provider B's state.
    pub fn new(
        engine: TaskEngine,
        downloader: Downloader,
        submit_limit: RateLimiter,
        query_limit: RateLimiter,
        recognize: RecognizeSettings,
        secrets: Option<Secrets>,
    ) -> Self {
        IcuState {
            engine,
            downloader,
            submit_limit,
            query_limit,
            recognize,
            secrets,
            ordinal: AtomicU64::new(0),
        }
    }

    /// The next TaskId ordinal.
    pub fn next_ordinal(&self) -> u64 {
        self.ordinal.fetch_add(1, Ordering::Relaxed)
    }

    /// The ordinal the next TaskId draw will use (for saving).
    pub fn ordinal(&self) -> u64 {
        self.ordinal.load(Ordering::Relaxed)
    }

    /// Continues TaskId draws from a saved ordinal, so ids do not repeat after a restart.
    pub fn set_ordinal(&self, ordinal: u64) {
        self.ordinal.store(ordinal, Ordering::Relaxed);
    }

    /// Forgets tasks, callbacks' journal, rate windows and ordinals.
    pub fn reset(&self) {
        self.engine.clear();
        self.engine.callbacks().clear();
        self.submit_limit.clear();
        self.query_limit.clear();
        self.ordinal.store(0, Ordering::Relaxed);
    }
}
