//! Shared scaffolding: simulators for the tests that talk to one directly, and the shapes
//! the snapshot redactions check.

use asr_contract::target::MOCK_START_MS;
use asr_mock::MockServer;
use serde_json::{json, Value};

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
    admin_post(
        &server,
        "/__admin/icu/settings",
        json!({"submit_rate": 0, "query_rate": 0}),
    )
    .await;
    server
}

/// POSTs JSON to a control path and returns the answer; panics unless 2xx.
pub async fn admin_post(server: &MockServer, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control API answers");
    let status = res.status();
    let value: Value = res.json().await.expect("control API JSON");
    assert!(status.is_success(), "POST {path} {body}: {status} {value}");
    value
}
