//! Coze logids: 14 digits of Beijing time, then 20 uppercase hex digits drawn from
//! (seed, ordinal), e.g. `2025110522060859DE7DB648C2DCC379B3`, so a run's logids repeat.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngCore;

use crate::clock::{beijing, Clock};

/// Hands out logids in order; the ordinal is saved across restarts.
#[derive(Debug)]
pub struct Logids {
    seed: u64,
    clock: Clock,
    ordinal: AtomicU64,
}

impl Logids {
    /// Logids from `seed`, stamped by `clock`.
    pub fn new(seed: u64, clock: Clock) -> Self {
        Logids {
            seed,
            clock,
            ordinal: AtomicU64::new(0),
        }
    }

    /// The next logid.
    pub fn next(&self) -> String {
        let ordinal = self.ordinal.fetch_add(1, Ordering::Relaxed);
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

    /// The next logid of a streaming connection (`spec/coze-ws-transcriptions.md` §6): `02`,
    /// 13 digits of epoch ms, then 38 lowercase hex digits drawn from (seed, ordinal); 53
    /// characters. It shares the ordinal with [`Logids::next`].
    pub fn next_streaming(&self) -> String {
        let ordinal = self.ordinal.fetch_add(1, Ordering::Relaxed);
        let mut rng = crate::rng::derive(self.seed, "coze-ws-logid", &ordinal.to_le_bytes());
        let mut bytes = [0u8; 19];
        rng.fill_bytes(&mut bytes);
        let ms = self.clock.now_ms().clamp(0, 9_999_999_999_999);
        format!("02{ms:013}{}", hex::encode(bytes))
    }

    /// The clock that stamps them (the streaming endpoint's `respond_at` reads it too).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The ordinal the next logid will use (for saving).
    pub fn ordinal(&self) -> u64 {
        self.ordinal.load(Ordering::Relaxed)
    }

    /// Continues from a saved ordinal (after a restart), or from 0 (after a reset).
    pub fn set_ordinal(&self, ordinal: u64) {
        self.ordinal.store(ordinal, Ordering::Relaxed);
    }
}
