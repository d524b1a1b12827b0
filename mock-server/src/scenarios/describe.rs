//! Scenarios in words: the one-line summaries `scenarios list` and the control API show, and
//! the action and fault texts the journal records.

use std::fmt;

use super::model::{
    Fault, FaultAction, Latency, Match, Scenario, ScriptOutcome, StepEnd, StepStatus, Trigger,
};

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Always => f.write_str("always"),
            Trigger::Nth(n) => write!(f, "nth {n}"),
            Trigger::Every(n) => write!(f, "every {n}"),
            Trigger::First(n) => write!(f, "first {n}"),
            Trigger::After(n) => write!(f, "after {n}"),
            Trigger::Fraction(x) => write!(f, "{}%", x * 100.0),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(ms) => f.write_str(&fmt_ms(*ms)),
            Latency::Uniform(a, b) => write!(f, "{}–{}", fmt_ms(*a), fmt_ms(*b)),
            Latency::LogNormal { median_ms, sigma } => {
                write!(f, "~{} σ{sigma}", fmt_ms(median_ms.round() as u64))
            }
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Status {
                status,
                code,
                error,
                ..
            } => {
                write!(f, "status {status}")?;
                if let Some(code) = code {
                    write!(f, " code {code}")?;
                }
                if let Some(error) = error {
                    write!(f, " {error}")?;
                }
                Ok(())
            }
            FaultAction::Garbage { bytes } => write!(f, "garbage {bytes} B"),
            FaultAction::Truncate { keep } => write!(f, "truncate to {}%", keep * 100.0),
            FaultAction::Drip {
                chunk_bytes,
                interval_ms,
            } => write!(f, "drip {chunk_bytes} B per {}", fmt_ms(*interval_ms)),
            other => f.write_str(other.kind()),
        }
    }
}

/// How the journal names an action: `status 503 code 5000`, `truncate to 50%` (the same text
/// as the action's `Display`).
pub fn describe_action(action: &FaultAction) -> String {
    action.to_string()
}

impl Fault {
    /// How the journal names this fault: `flaky-gateway#1 status 503`.
    pub fn label(&self, scenario: &str) -> String {
        format!("{scenario}#{} {}", self.index, self.action)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.endpoint)?;
        if self.on != Trigger::Always {
            write!(f, "{} ", self.on)?;
        }
        match (&self.action, &self.latency) {
            (FaultAction::Latency, Some(l)) => write!(f, "→ latency {l}"),
            (action, Some(l)) => write!(f, "→ {l} then {action}"),
            (action, None) => write!(f, "→ {action}"),
        }
    }
}

impl Scenario {
    /// What the scenario does, in a few words (for `scenarios list` and the control API).
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.faults.iter().map(|f| f.to_string()).collect();
        if let Some(task) = &self.task {
            let mut path: Vec<String> = task
                .steps
                .iter()
                .map(|step| {
                    let status = match step.status {
                        StepStatus::Waiting => "waiting",
                        StepStatus::Doing => "doing",
                    };
                    match step.end {
                        StepEnd::Ms(ms) => format!("{status} {}", fmt_ms(ms)),
                        StepEnd::Polls(n) => format!("{status} {}", plural(n.into(), "poll")),
                    }
                })
                .collect();
            match &task.outcome {
                // The usual path needs no words when only the callback timing changes.
                ScriptOutcome::Success if path.is_empty() && task.callback_early_ms > 0 => {}
                ScriptOutcome::Success => path.push("success".to_owned()),
                ScriptOutcome::Stuck => path.push("stuck".to_owned()),
                ScriptOutcome::Fail { code, .. } => path.push(format!("fail {code}")),
            }
            if task.callback_early_ms > 0 {
                path.push(format!(
                    "callback {} before polls show the end",
                    fmt_ms(task.callback_early_ms)
                ));
            }
            parts.push(format!("task {}", path.join(" → ")));
        }
        if let Some(cb) = &self.callback {
            let mut bits = Vec::new();
            if cb.drop {
                bits.push("dropped".to_owned());
            }
            if cb.delay_ms > 0 {
                bits.push(format!("delay {}", fmt_ms(cb.delay_ms)));
            }
            if cb.jitter_ms > 0 {
                bits.push(format!("jitter {}", fmt_ms(cb.jitter_ms)));
            }
            if cb.fail_attempts > 0 {
                bits.push(format!(
                    "{} fail",
                    plural(cb.fail_attempts.into(), "attempt")
                ));
            }
            if let Some(n) = cb.attempts {
                bits.push(plural(n.into(), "attempt"));
            }
            if let Some(ms) = cb.interval_ms {
                bits.push(format!("retry every {}", fmt_ms(ms)));
            }
            if let Some(ms) = cb.timeout_ms {
                bits.push(format!("timeout {}", fmt_ms(ms)));
            }
            if cb.duplicates > 0 {
                bits.push(format!("+{}", plural(cb.duplicates.into(), "duplicate")));
            }
            parts.push(format!("callback {}", bits.join(", ")));
        }
        for rule in &self.rate_limits {
            let mut s = format!(
                "{} limit {}/{}",
                rule.endpoint,
                rule.limit,
                fmt_ms(rule.window_ms)
            );
            if let Some(code) = rule.code {
                s.push_str(&format!(" code {code}"));
            }
            parts.push(s);
        }
        if self.identity.big_task_ids {
            parts.push("TaskIds above 2^53".to_owned());
        }
        if self.identity.coze_no_speech_5000 {
            parts.push("no speech → 5000".to_owned());
        }
        if let Some(m) = &self.matcher {
            parts.push(format!("auto: {}", describe_match(m)));
        }
        parts.join("; ")
    }
}

fn describe_match(m: &Match) -> String {
    let mut keys = Vec::new();
    for (key, value) in [
        ("path", &m.path),
        ("token", &m.token),
        ("url_contains", &m.url_contains),
        ("filename", &m.filename),
    ] {
        if let Some(v) = value {
            keys.push(format!("{key}={v}"));
        }
    }
    if let Some(engine) = m.engine {
        keys.push(format!("engine={}", engine.code()));
    }
    if let Some(h) = &m.audio_sha256 {
        keys.push(format!("audio_sha256={}…", hex::encode(&h[..4])));
    }
    // Last: the other keys usually say more, and often imply it.
    if let Some(p) = m.provider {
        keys.push(format!("provider={p}"));
    }
    if keys.is_empty() {
        "every request".to_owned()
    } else {
        keys.join(" ")
    }
}

/// `1 poll`, `3 polls`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A duration the way people write it: `10min`, `7d`; `1500ms` stays as it is.
pub(super) fn fmt_ms(ms: u64) -> String {
    match ms {
        0 => "0ms".to_owned(),
        _ if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}
