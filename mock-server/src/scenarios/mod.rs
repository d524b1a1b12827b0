//! Scripted failures (`scenarios/README.md` is the user's reference). The validated model is
//! in [`model`], reading a file into it in [`mod@parse`], its texts for people in [`describe`];
//! which scenarios apply to a request and when their faults fire in [`select`]; the built-in
//! library and user folders in [`library`]; a request's choice, completed by its handler
//! once the body is known, in [`chosen`]. The rest of the crate imports from here.

pub mod chosen;
pub mod describe;
pub mod library;
pub mod model;
pub mod parse;
mod raw;
pub mod select;
#[cfg(test)]
mod tests;

pub use model::{
    CallbackBehaviour, FaultAction, Scenario, ScenarioSource, ScriptOutcome, StepEnd, StepStatus,
    StreamBehaviour, TaskScript,
};
pub use parse::ScenarioError;
pub use select::{Facts, Firing, Limited, ScenarioView, Scenarios, Selected, HEADER};
