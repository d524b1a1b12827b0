//! The contract suite's integration tests, one binary: every check against the in-process
//! simulator (and the real-time path against a simulator posing as a real provider), JSON
//! snapshots of every wire body, and property tests.

#[path = "contract/checks.rs"]
mod checks;
#[path = "contract/properties.rs"]
mod properties;
#[path = "contract/support.rs"]
mod support;
#[path = "contract/wire.rs"]
mod wire;
#[path = "contract/ws.rs"]
mod ws;
