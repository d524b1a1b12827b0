//! Provider B: the icu recording-file ASR (`spec/icu-recording-asr.md`): submit a task, poll
//! it, receive a callback. `wire` and `error` are the provider's bodies and codes, `answer`
//! renders them; `callback` is the callback's form and acknowledgement; `replay` a fixture's recorded answer; `service` holds the
//! operations; `tasks` the task model, store and scheduler; `handlers`, `params` and `auth`
//! are the HTTP side.

pub mod answer;
pub mod auth;
pub mod callback;
pub mod error;
pub mod handlers;
pub mod limits;
pub mod params;
pub mod recipe;
pub mod recognize;
pub mod replay;
pub mod result;
pub mod service;
pub mod tasks;
pub mod wire;

pub use handlers::router;
pub use service::IcuService;
