//! `asr-contract`: the contract suite for the Coze transcription API and the icu
//! recording-file ASR API. It proves that the typed client (`asr-client`) and the simulator
//! (`asr-mock`) agree with the providers' specs (`shared/spec/`), and it runs unchanged
//! against the in-process simulator (the default) or against any base URL, the real
//! providers included.
//!
//! # Layout
//! - [`target`]: what the checks talk to — [`Target::from_env`] starts an in-process
//!   simulator (manual clock, fixed seed, strict tokens and signatures) unless
//!   `ASR_CONTRACT_*` variables name other servers;
//! - [`outcome`]: how a check ends ([`Outcome`]), the one type the target and the checks
//!   share;
//! - [`checks`]: the named checks ([`checks::all`]) and their runner, one file per group
//!   (Coze, icu tasks, icu errors, callbacks), each check ending in an [`Outcome`];
//! - [`wire`]: raw HTTP for what the typed client cannot send (no `file` part, a body
//!   without `EngineModelType`) and for reading bodies byte for byte;
//! - [`shape`]: the providers' value shapes (logids, icu error messages), shared by the
//!   checks and the snapshot redactions;
//! - [`fixtures`]: the audio the checks upload, embedded from the simulator's test fixtures.
//!
//! A simulator's control API is driven through the simulator's own typed client,
//! `asr_mock::control::Control`, which the target carries when it has one.
//!
//! Imports go one way: `checks` uses `target`; `outcome`, `wire`, `shape` and `fixtures`
//! import nothing of the crate's.
//!
//! The `asr-contract` binary runs every check and prints a table; the crate's integration
//! test runs them against the in-process simulator, snapshots every wire body, and holds the
//! property tests.

pub mod checks;
pub mod fixtures;
pub mod outcome;
pub mod shape;
pub mod target;
pub mod wire;

pub use checks::Check;
pub use outcome::Outcome;
pub use target::{Settings, Target};
