//! The control API's contract: typed requests and answers ([`types`]) that the handlers in
//! [`crate::admin`] take and give, and [`Control`], a client speaking them.

mod client;
pub mod types;

pub use client::{Control, ControlError};
