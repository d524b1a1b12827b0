//! How a delivery is tried: the dispatcher's [`CallbackPolicy`] (attempts, retry interval,
//! timeout) and a scenario's [`DeliveryPlan`] for one delivery.

use std::time::Duration;

use serde::Serialize;

/// When and how often a callback is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackPolicy {
    /// Attempts in all, first one included (0 is treated as 1).
    pub attempts: u32,
    /// Time between the first attempt's start and each retry's due time, on the clock.
    pub interval: Duration,
    /// How long one attempt may take (connect, send, answer), on the clock.
    pub timeout: Duration,
}

impl Default for CallbackPolicy {
    /// 2 attempts [tencent]; retry after 5 s and a 10 s timeout [inferred].
    fn default() -> Self {
        CallbackPolicy {
            attempts: 2,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Scenario-driven changes to one delivery (all default to "as the provider does").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryPlan {
    /// Overrides the dispatcher's policy.
    pub policy: Option<CallbackPolicy>,
    /// Holds the first attempt this long on the clock (the caller adds any seeded jitter).
    pub delay_ms: u64,
    /// The first N attempts fail without any request being sent; they count toward the
    /// policy's attempts and follow its retry schedule.
    pub fail_attempts: u32,
    /// After the first acknowledged attempt, this many extra copies are sent right after, in
    /// order, one attempt each (not retried) with its own journal entry.
    pub duplicates: u32,
    /// Never deliver: one journal entry says so, at once; the rest of the plan is moot.
    pub drop: bool,
    /// Named in every journal entry of this delivery.
    pub scenario: Option<String>,
}
