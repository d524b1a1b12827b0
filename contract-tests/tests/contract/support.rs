//! Shared scaffolding: simulators for the tests that talk to one directly, and the shapes
//! the snapshot redactions check.

use asr_contract::target::MOCK_START_MS;
use asr_mock::control::types::SettingsChange;
use asr_mock::MockServer;

/// The simulator's TaskIds lie in this range (FIDELITY.md: "between 10^9 and 2×10^10").
pub const TASK_ID_RANGE: std::ops::Range<u64> = 1_000_000_000..20_000_000_000;

/// An open simulator (any token, no signatures), manual clock, seed 1, rate limits off: for
/// tests that send many requests raw.
pub async fn open_mock() -> MockServer {
    let server = MockServer::builder()
        .manual_clock(Some(MOCK_START_MS))
        .start()
        .await
        .expect("simulator starts");
    let no_limits = SettingsChange {
        submit_rate: Some(0),
        query_rate: Some(0),
        ..SettingsChange::default()
    };
    server
        .control()
        .set_icu_settings(no_limits)
        .await
        .expect("rate limits off");
    server
}
