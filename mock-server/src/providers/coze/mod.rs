//! Provider A: Coze's synchronous transcription API (`spec/coze-transcriptions.md`).
//! `wire` and `error` are the provider's bodies and codes; `answer` renders them; `service`
//! holds the operations; `handlers` and `upload` are the HTTP side.

pub mod answer;
pub mod error;
pub mod formats;
pub mod handlers;
pub mod logid;
pub mod service;
pub mod stream;
pub mod upload;
pub mod wire;

pub use handlers::router;
pub use service::CozeService;
