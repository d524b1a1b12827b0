//! The control API's contract: typed requests and answers ([`types`]) that the handlers in
//! [`crate::admin`] take and give.

pub mod types;
