//! Provider A: Coze's synchronous transcription API (`spec/coze-transcriptions.md`).

pub mod error;
pub mod handlers;
pub mod wire;

pub use handlers::router;
