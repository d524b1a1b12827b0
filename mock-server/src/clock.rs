//! The one clock. Every time the simulator reads (logids, journal stamps, task progress,
//! retries, retention) comes from here, so a test can run hours of provider time in
//! milliseconds and a run with a manual clock repeats byte for byte.
//!
//! Simulated time is kept as milliseconds since the Unix epoch. Three modes:
//! - `Real`: follows the wall clock;
//! - `Scaled(n)`: runs n times faster (or slower) than the wall clock;
//! - `Manual`: stands still until [`Clock::advance`] or [`Clock::set`] moves it.
//!
//! Switching mode re-anchors at the current simulated time, so time never jumps backwards.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// How simulated time relates to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum ClockMode {
    /// Simulated time follows the wall clock.
    Real,
    /// Simulated time runs `factor` times as fast as the wall clock.
    Scaled {
        /// Speed relative to the wall clock; must be finite and > 0.
        factor: f64,
    },
    /// Simulated time moves only when told.
    Manual,
}

impl ClockMode {
    /// The speed factor against the wall clock, or `None` when time stands still.
    fn factor(self) -> Option<f64> {
        match self {
            ClockMode::Real => Some(1.0),
            ClockMode::Scaled { factor } => Some(factor),
            ClockMode::Manual => None,
        }
    }
}

/// The fastest scaled clock: a million times the wall clock (a year passes in 32 s). Faster
/// factors only push the clock to its end and make sleeps round to nothing.
pub const MAX_FACTOR: f64 = 1e6;
/// The latest simulated time, 9999-12-31T23:59:59.999Z: every date the providers write has
/// four digits of year, and ms arithmetic stays far from `i64` overflow.
pub const MAX_MS: i64 = 253_402_300_799_999;
/// The largest single move of the clock: 100 years.
pub const MAX_ADVANCE: Duration = Duration::from_secs(100 * 31_557_600);

/// Why a clock change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockError {
    /// A scale factor that is zero, negative, NaN, infinite or above [`MAX_FACTOR`].
    #[error(
        "time scale must be a finite number greater than 0 and at most 1000000 (1e6), got {0:?}"
    )]
    BadFactor(f64),
    /// A time outside 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z.
    #[error("simulated time must stay between 0 (1970-01-01T00:00:00Z) and {MAX_MS} (9999-12-31T23:59:59.999Z) ms since the Unix epoch, got {0} ms")]
    OutOfRange(i128),
    /// A single move of more than [`MAX_ADVANCE`].
    #[error("the clock moves by at most 100 years ({max} ms) at a time, asked for {0} ms", max = MAX_ADVANCE.as_millis())]
    TooFar(u128),
    /// Setting the clock to a time before now: tasks and retries assume time only grows.
    #[error("the clock only moves forward: {requested} ms is before now ({now} ms)")]
    Backwards {
        /// The time asked for, ms since the Unix epoch.
        requested: i64,
        /// The current simulated time, ms since the Unix epoch.
        now: i64,
    },
}

#[derive(Debug)]
struct Anchor {
    mode: ClockMode,
    /// Wall-clock instant at which `sim_ms` was the simulated time.
    real: Instant,
    /// Simulated time at `real`, ms since the Unix epoch.
    sim_ms: i64,
}

#[derive(Debug)]
struct Inner {
    anchor: Mutex<Anchor>,
    /// Bumped on every mode change or manual move, so sleepers re-check their deadline.
    changed: watch::Sender<u64>,
}

/// A cheap-to-clone handle on the simulator's clock.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

/// Simulated time of a clock that starts "now" in a mode that follows the wall clock.
#[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[allow(clippy::disallowed_methods)] // the one place that reads the monotonic clock
fn real_now() -> Instant {
    Instant::now()
}

/// Real elapsed time, for the request latency metric only: how long an answer took is a
/// fact about the machine, not the simulation, so it is the one reading that ignores the
/// clock's mode. Nothing a client sees depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts measuring now.
    pub fn start() -> Self {
        Stopwatch(real_now())
    }

    /// Real seconds since [`Stopwatch::start`].
    pub fn seconds(&self) -> f64 {
        real_now().saturating_duration_since(self.0).as_secs_f64()
    }
}

/// Where a manual clock starts when no start is given: a fixed instant, so manual runs repeat.
pub const DEFAULT_MANUAL_START_MS: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z

impl Clock {
    /// A clock in `mode` whose simulated time starts at `start_ms` (ms since the Unix epoch),
    /// or, when `None`, at the wall clock (real, scaled) or [`DEFAULT_MANUAL_START_MS`] (manual).
    pub fn new(mode: ClockMode, start_ms: Option<i64>) -> Result<Self, ClockError> {
        mode.validate()?;
        let sim_ms = match start_ms {
            Some(ms) => in_range(i128::from(ms))?,
            None if mode == ClockMode::Manual => DEFAULT_MANUAL_START_MS,
            None => wall_ms().clamp(0, MAX_MS),
        };
        let (changed, _) = watch::channel(0);
        Ok(Clock {
            inner: Arc::new(Inner {
                anchor: Mutex::new(Anchor {
                    mode,
                    real: real_now(),
                    sim_ms,
                }),
                changed,
            }),
        })
    }

    /// A manual clock at `start_ms` (held to 0 ..= [`MAX_MS`]): the usual choice in tests.
    pub fn manual(start_ms: i64) -> Self {
        Self::new(ClockMode::Manual, Some(start_ms.clamp(0, MAX_MS)))
            .expect("manual mode in range is always valid")
    }

    /// The current simulated time in ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let anchor = self.inner.anchor.lock();
        sim_at(&anchor, real_now())
    }

    /// The current simulated time as a UTC date.
    pub fn now(&self) -> DateTime<Utc> {
        to_utc(self.now_ms())
    }

    /// How many mode changes and manual moves the clock has seen (for persistence's dirty
    /// check: a running clock alone does not count).
    pub fn generation(&self) -> u64 {
        *self.inner.changed.borrow()
    }

    /// The current mode.
    pub fn mode(&self) -> ClockMode {
        self.inner.anchor.lock().mode
    }

    /// Switches mode; simulated time continues from where it is.
    pub fn set_mode(&self, mode: ClockMode) -> Result<(), ClockError> {
        mode.validate()?;
        let mut anchor = self.inner.anchor.lock();
        let real = real_now();
        anchor.sim_ms = sim_at(&anchor, real);
        anchor.real = real;
        anchor.mode = mode;
        drop(anchor);
        self.notify();
        Ok(())
    }

    /// Moves simulated time forward by `by` (in any mode) and wakes every sleeper now due;
    /// the clock stops at [`MAX_MS`]. For requests, [`Clock::try_advance`] refuses instead.
    pub fn advance(&self, by: Duration) {
        let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut anchor = self.inner.anchor.lock();
        let real = real_now();
        anchor.sim_ms = sim_at(&anchor, real).saturating_add(by_ms).min(MAX_MS);
        anchor.real = real;
        drop(anchor);
        self.notify();
    }

    /// Moves simulated time forward by `by`, refusing a move over [`MAX_ADVANCE`] or one that
    /// would end past [`MAX_MS`] (nothing moves then).
    pub fn try_advance(&self, by: Duration) -> Result<(), ClockError> {
        if by > MAX_ADVANCE {
            return Err(ClockError::TooFar(by.as_millis()));
        }
        let mut anchor = self.inner.anchor.lock();
        let real = real_now();
        // Both terms are far inside i128, so the sum is exact.
        let to = i128::from(sim_at(&anchor, real)) + by.as_millis() as i128;
        anchor.sim_ms = in_range(to)?;
        anchor.real = real;
        drop(anchor);
        self.notify();
        Ok(())
    }

    /// Sets simulated time to `ms` since the Unix epoch; refuses to go backwards or past
    /// [`MAX_MS`].
    pub fn set(&self, ms: i64) -> Result<(), ClockError> {
        in_range(i128::from(ms))?;
        let mut anchor = self.inner.anchor.lock();
        let real = real_now();
        let now = sim_at(&anchor, real);
        if ms < now {
            return Err(ClockError::Backwards { requested: ms, now });
        }
        anchor.sim_ms = ms;
        anchor.real = real;
        drop(anchor);
        self.notify();
        Ok(())
    }

    /// Waits until simulated time reaches `deadline_ms`. Under a manual clock this returns
    /// only once someone advances the clock far enough; mode changes are noticed at once.
    pub async fn sleep_until(&self, deadline_ms: i64) {
        let mut changes = self.inner.changed.subscribe();
        loop {
            let (now, mode) = {
                let anchor = self.inner.anchor.lock();
                (sim_at(&anchor, real_now()), anchor.mode)
            };
            if now >= deadline_ms {
                return;
            }
            match mode.factor() {
                None => {
                    if changes.changed().await.is_err() {
                        return;
                    }
                }
                Some(factor) => {
                    let wait_ms = ((deadline_ms - now) as f64 / factor).ceil().max(1.0);
                    let wait = Duration::from_secs_f64((wait_ms / 1000.0).min(86_400.0));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        res = changes.changed() => if res.is_err() { return },
                    }
                }
            }
        }
    }

    /// Waits for `by` of simulated time.
    pub async fn sleep(&self, by: Duration) {
        let deadline = self.now_ms().saturating_add(by.as_millis() as i64);
        self.sleep_until(deadline).await;
    }

    fn notify(&self) {
        self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl ClockMode {
    /// Refuses a scale factor that is not a finite number in (0, [`MAX_FACTOR`]].
    pub fn validate(self) -> Result<(), ClockError> {
        match self {
            ClockMode::Scaled { factor } if !(factor > 0.0 && factor <= MAX_FACTOR) => {
                Err(ClockError::BadFactor(factor))
            }
            _ => Ok(()),
        }
    }
}

/// `ms` as a simulated time, if it lies in 0 ..= [`MAX_MS`].
fn in_range(ms: i128) -> Result<i64, ClockError> {
    match i64::try_from(ms) {
        Ok(ms) if (0..=MAX_MS).contains(&ms) => Ok(ms),
        _ => Err(ClockError::OutOfRange(ms)),
    }
}

/// Simulated time at wall instant `real`; a running clock stops at [`MAX_MS`].
fn sim_at(anchor: &Anchor, real: Instant) -> i64 {
    match anchor.mode.factor() {
        None => anchor.sim_ms,
        Some(factor) => {
            let elapsed = real.saturating_duration_since(anchor.real).as_secs_f64() * 1000.0;
            // A float-to-int cast saturates, so a huge product cannot wrap.
            anchor
                .sim_ms
                .saturating_add((elapsed * factor) as i64)
                .min(MAX_MS)
        }
    }
}

/// Converts ms since the Unix epoch to a UTC date (clamped to the epoch on nonsense input).
pub fn to_utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Beijing time (UTC+8), in which both providers stamp their logs.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_stands_still_until_moved() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now_ms(), 6_000);
        clock.set(10_000).unwrap();
        assert_eq!(clock.now_ms(), 10_000);
        assert!(matches!(
            clock.set(9_999),
            Err(ClockError::Backwards { .. })
        ));
    }

    #[test]
    fn bad_factors_are_refused() {
        for factor in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e308, MAX_FACTOR * 1.01] {
            assert!(Clock::new(ClockMode::Scaled { factor }, Some(0)).is_err());
            let clock = Clock::manual(0);
            assert!(matches!(
                clock.set_mode(ClockMode::Scaled { factor }),
                Err(ClockError::BadFactor(_))
            ));
            assert_eq!(clock.mode(), ClockMode::Manual);
        }
        assert!(Clock::new(ClockMode::Scaled { factor: MAX_FACTOR }, Some(0)).is_ok());
    }

    #[test]
    fn time_stays_between_the_epoch_and_year_9999() {
        assert_eq!(
            Clock::new(ClockMode::Manual, Some(-1)).unwrap_err(),
            ClockError::OutOfRange(-1)
        );
        assert!(Clock::new(ClockMode::Manual, Some(MAX_MS + 1)).is_err());
        let clock = Clock::manual(MAX_MS - 1_000);
        assert_eq!(
            clock.set(MAX_MS + 1),
            Err(ClockError::OutOfRange(i128::from(MAX_MS) + 1))
        );
        assert_eq!(
            clock.try_advance(Duration::from_millis(1_001)),
            Err(ClockError::OutOfRange(i128::from(MAX_MS) + 1))
        );
        assert_eq!(
            clock.now_ms(),
            MAX_MS - 1_000,
            "a refused move moves nothing"
        );
        clock.try_advance(Duration::from_millis(1_000)).unwrap();
        assert_eq!(clock.now_ms(), MAX_MS);
        // The unchecked move stops at the end instead of wrapping.
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_ms(), MAX_MS);
        assert_eq!(to_utc(MAX_MS).to_rfc3339(), "9999-12-31T23:59:59.999+00:00");
    }

    #[test]
    fn moves_over_a_century_are_refused() {
        let clock = Clock::manual(0);
        let too_far = MAX_ADVANCE + Duration::from_millis(1);
        assert_eq!(
            clock.try_advance(too_far),
            Err(ClockError::TooFar(too_far.as_millis()))
        );
        assert_eq!(
            clock.try_advance(Duration::from_millis(u64::MAX)),
            Err(ClockError::TooFar(u128::from(u64::MAX)))
        );
        assert_eq!(clock.now_ms(), 0);
        clock.try_advance(MAX_ADVANCE).unwrap();
        assert_eq!(clock.now_ms(), MAX_ADVANCE.as_millis() as i64);
    }

    #[test]
    fn a_fast_clock_stops_at_the_end() {
        let clock = Clock::new(ClockMode::Scaled { factor: MAX_FACTOR }, Some(MAX_MS - 1)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ms(), MAX_MS);
    }

    #[test]
    fn mode_switch_keeps_time_monotonic() {
        let clock = Clock::new(ClockMode::Scaled { factor: 1000.0 }, Some(0)).unwrap();
        let before = clock.now_ms();
        clock.set_mode(ClockMode::Manual).unwrap();
        let frozen = clock.now_ms();
        assert!(frozen >= before);
        assert_eq!(clock.now_ms(), frozen);
    }

    #[tokio::test]
    async fn manual_sleeper_wakes_on_advance() {
        let clock = Clock::manual(0);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(60_000).await })
        };
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke")
            .unwrap();
    }

    #[tokio::test]
    async fn scaled_sleep_is_fast() {
        let clock = Clock::new(ClockMode::Scaled { factor: 100_000.0 }, Some(0)).unwrap();
        // One simulated hour at 100 000× is 36 ms of wall time.
        tokio::time::timeout(
            Duration::from_secs(5),
            clock.sleep(Duration::from_secs(3600)),
        )
        .await
        .expect("scaled sleep finished");
        assert!(clock.now_ms() >= 3_600_000);
    }
}
