//! The scenarios a provider request runs under, completed once its body is known. The
//! scenario layer chooses what it can before the handler (header, activations, match rules
//! without body keys); the handler completes the choice with the body's facts exactly once
//! and hands the additions back on its answer, so nothing is chosen twice.

use std::sync::Arc;

use super::Scenario;
use super::{Facts, Scenarios, Selected};

/// The complete choice for one request.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    /// Every scenario that applies, in order of precedence (task paths, callback behaviour
    /// and identities are read from these).
    pub scenarios: Vec<Arc<Scenario>>,
    /// Those the body's facts added: their faults still act on the answer.
    pub added_by_body: BodyMatched,
}

/// The scenarios a request's body matched, left on the handler's answer for the layer.
#[derive(Debug, Clone, Default)]
pub struct BodyMatched(pub Vec<Arc<Scenario>>);

/// Completes the layer's choice (`None` when the layer did not run, as for in-process
/// callers) with what the body showed.
pub fn complete(scenarios: &Scenarios, selected: Option<&Selected>, facts: &Facts) -> Chosen {
    let empty = Selected::default();
    let selected = selected.unwrap_or(&empty);
    let added = scenarios.added_by_body(selected, facts);
    let mut all = selected.scenarios.clone();
    all.extend(added.iter().cloned());
    Chosen {
        scenarios: all,
        added_by_body: BodyMatched(added),
    }
}
