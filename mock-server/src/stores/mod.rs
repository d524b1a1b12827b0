//! In-memory stores the handlers share, each bounded and free of HTTP types: the request
//! journal, hosted audio, the built-in callback sink, and provider A's tokens.

pub mod audio_host;
pub mod journal;
pub mod redact;
pub mod request_body;
pub mod sink;
pub mod tokens;
