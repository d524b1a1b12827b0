//! The control API's contract: typed requests and answers ([`types`], with [`records`] for
//! the server types they embed) that the handlers in `admin` take and give, and
//! [`Control`], a client speaking them.

mod client;
pub mod matcher;
pub mod records;
pub mod types;

pub use client::{Control, ControlError};
