//! The simulated providers, one module each: wire types exactly as the provider defines
//! them, the handlers, and the provider's own error envelope and codes.

pub mod coze;
pub mod icu;
