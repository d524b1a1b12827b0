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

pub use describe::describe_action;
pub use model::{
    CallbackBehaviour, Endpoint, Fault, FaultAction, Identity, Latency, Match, Provider,
    RateLimitRule, Scenario, ScenarioSource, ScriptOutcome, Step, StepEnd, StepStatus, TaskScript,
    Trigger, ICU_ERROR_CLASSES, MAX_CALLBACK_REPEATS, MAX_FAULTS, MAX_GARBAGE_BYTES,
    MAX_LATENCY_MS, MAX_NAME_CHARS, MAX_RATE_LIMITS, MAX_SCRIPT_MS, MAX_STEPS, PATH_QUERY,
    PATH_SUBMIT, PATH_TRANSCRIBE,
};
pub use parse::{parse, ScenarioError};
pub use select::{
    Facts, Firing, Limited, ScenarioView, Scenarios, Selected, UnknownScenario, HEADER,
};
