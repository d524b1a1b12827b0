//! How a check ends, in a module of its own so that everything that can end a check (the
//! target's "no such side here" skips as well as the checks) depends on it, and not on each
//! other.

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The target behaved as the spec says.
    Pass,
    /// It did not: what differed.
    Fail(String),
    /// The check cannot be made against this target: why.
    Skip(String),
}

impl Outcome {
    /// `PASS`, `FAIL` or `SKIP`, for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }

    /// The failure or skip reason; `""` for a pass.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(why) | Outcome::Skip(why) => why,
        }
    }
}

/// What a check body returns: `Ok` passes, `Err` carries a failure or a skip (so `?` works
/// on both).
pub type Checked = Result<(), Outcome>;
