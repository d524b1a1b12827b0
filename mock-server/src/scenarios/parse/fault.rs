//! Lowering one `[[fault]]`: its endpoint, trigger, action with its parameters, and latency.

use std::ops::Range;

use toml::Spanned;

use super::{Cx, Res, Scope};
use crate::scenarios::model::{
    Endpoint, Fault, FaultAction, Latency, Provider, Trigger, ICU_ERROR_CLASSES, MAX_GARBAGE_BYTES,
    MAX_LATENCY_MS,
};
use crate::scenarios::raw::{ActionKind, RawFault, RawOn};

impl Cx<'_> {
    pub(super) fn fault(&self, index: usize, raw: &Spanned<RawFault>, scope: &Scope) -> Res<Fault> {
        let f = raw.get_ref();
        let endpoint = match &f.endpoint {
            Some(ep) => {
                self.check_endpoint(ep, scope, "fault")?;
                *ep.get_ref()
            }
            None => Endpoint::Any,
        };
        let on = match &f.on {
            Some(on) => self.trigger(on)?,
            None => Trigger::Always,
        };
        let Some(action) = &f.action else {
            return Err(self.err_at(
                raw,
                "missing key `action` in [[fault]]: one of status, latency, reset, empty, \
                 garbage, truncate, drip",
            ));
        };
        let kind = *action.get_ref();
        // Every parameter belongs to one action: a stray one is almost always a typo'd action.
        let owned: [(&str, Option<Range<usize>>, ActionKind); 8] = [
            (
                "status",
                f.status.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "code",
                f.code.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "error",
                f.error.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "message",
                f.message.as_ref().map(Spanned::span),
                ActionKind::Status,
            ),
            (
                "bytes",
                f.bytes.as_ref().map(Spanned::span),
                ActionKind::Garbage,
            ),
            (
                "keep",
                f.keep.as_ref().map(Spanned::span),
                ActionKind::Truncate,
            ),
            (
                "chunk_bytes",
                f.chunk_bytes.as_ref().map(Spanned::span),
                ActionKind::Drip,
            ),
            (
                "interval_ms",
                f.interval_ms.as_ref().map(Spanned::span),
                ActionKind::Drip,
            ),
        ];
        for (key, span, owner) in owned {
            if let Some(span) = span {
                if owner != kind {
                    return Err(self.err(
                        span,
                        format!(
                            "`{key}` goes with action = \"{}\", not action = \"{}\"",
                            owner.as_str(),
                            kind.as_str()
                        ),
                    ));
                }
            }
        }
        let latency = self.latency(f)?;
        let action = match kind {
            ActionKind::Status => {
                let status = match &f.status {
                    Some(s) => {
                        let v = *s.get_ref();
                        u16::try_from(v)
                            .ok()
                            .filter(|v| (100..=599).contains(v))
                            .ok_or_else(|| {
                                self.err_at(s, format!("status must be 100–599, got {v}"))
                            })?
                    }
                    None => 500,
                };
                let code = match &f.code {
                    Some(c) if *c.get_ref() == 0 => {
                        return Err(self.err_at(
                            c,
                            "code 0 means success: an error envelope needs a non-zero code",
                        ))
                    }
                    Some(c) => Some(*c.get_ref()),
                    None => None,
                };
                let error = match &f.error {
                    Some(e) => {
                        let coze_only = endpoint == Endpoint::Transcribe
                            || matches!(scope.provider, Some((Provider::Coze, _)));
                        if coze_only {
                            return Err(self.err_at(
                                e,
                                "`error` names an icu error class, but this fault only acts on \
                                 Coze requests: give Coze's `code` instead",
                            ));
                        }
                        if !ICU_ERROR_CLASSES.contains(&e.get_ref().as_str()) {
                            return Err(self.err_at(
                                e,
                                format!(
                                    "error must be one of {}, got {:?}",
                                    ICU_ERROR_CLASSES.join(", "),
                                    e.get_ref()
                                ),
                            ));
                        }
                        Some(e.get_ref().clone())
                    }
                    None => None,
                };
                FaultAction::Status {
                    status,
                    code,
                    error,
                    message: f.message.as_ref().map(|m| m.get_ref().clone()),
                }
            }
            ActionKind::Latency => {
                if latency.is_none() {
                    return Err(self.err_at(
                        action,
                        "action = \"latency\" needs `latency_ms = N` or `latency = { … }`",
                    ));
                }
                FaultAction::Latency
            }
            ActionKind::Reset => FaultAction::Reset,
            ActionKind::Empty => FaultAction::Empty,
            ActionKind::Garbage => {
                let bytes = match &f.bytes {
                    Some(b) => usize::try_from(*b.get_ref())
                        .ok()
                        .filter(|v| (1..=MAX_GARBAGE_BYTES).contains(v))
                        .ok_or_else(|| {
                            self.err_at(
                                b,
                                format!("bytes must be 1–{MAX_GARBAGE_BYTES}, got {}", b.get_ref()),
                            )
                        })?,
                    None => 64,
                };
                FaultAction::Garbage { bytes }
            }
            ActionKind::Truncate => {
                let keep = match &f.keep {
                    Some(k) => {
                        let v = *k.get_ref();
                        if !(v > 0.0 && v < 1.0) {
                            return Err(self.err_at(
                                k,
                                format!(
                                    "keep is the share of the body sent, strictly between 0 and 1, \
                                     got {v}"
                                ),
                            ));
                        }
                        v
                    }
                    None => 0.5,
                };
                FaultAction::Truncate { keep }
            }
            ActionKind::Drip => {
                let chunk_bytes = match &f.chunk_bytes {
                    Some(c) => usize::try_from(*c.get_ref())
                        .ok()
                        .filter(|v| (1..=MAX_GARBAGE_BYTES).contains(v))
                        .ok_or_else(|| {
                            self.err_at(
                                c,
                                format!(
                                    "chunk_bytes must be 1–{MAX_GARBAGE_BYTES}, got {}",
                                    c.get_ref()
                                ),
                            )
                        })?,
                    None => 16,
                };
                let interval_ms = match &f.interval_ms {
                    Some(i) => self.ms(i, "interval_ms", 0, MAX_LATENCY_MS)?,
                    None => 1000,
                };
                FaultAction::Drip {
                    chunk_bytes,
                    interval_ms,
                }
            }
        };
        Ok(Fault {
            index,
            endpoint,
            on,
            action,
            latency,
        })
    }

    fn trigger(&self, on: &Spanned<RawOn>) -> Res<Trigger> {
        let r = on.get_ref();
        let given = [
            r.nth.is_some(),
            r.every.is_some(),
            r.first.is_some(),
            r.after.is_some(),
            r.fraction.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(self.err_at(
                on,
                format!(
                    "`on` takes exactly one of nth, every, first, after, fraction (got {given})"
                ),
            ));
        }
        let at_least = |v: &Spanned<i64>, key: &str, min: i64| -> Res<u64> {
            let n = *v.get_ref();
            if n < min {
                return Err(self.err_at(v, format!("{key} must be ≥ {min}, got {n}")));
            }
            u64::try_from(n).map_err(|_| self.err_at(v, format!("{key} must be ≥ {min}")))
        };
        if let Some(v) = &r.nth {
            return at_least(v, "nth", 1).map(Trigger::Nth);
        }
        if let Some(v) = &r.every {
            return at_least(v, "every", 1).map(Trigger::Every);
        }
        if let Some(v) = &r.first {
            return at_least(v, "first", 1).map(Trigger::First);
        }
        if let Some(v) = &r.after {
            return at_least(v, "after", 0).map(Trigger::After);
        }
        match &r.fraction {
            Some(v) => {
                let x = *v.get_ref();
                if !(x > 0.0 && x <= 1.0) {
                    return Err(self.err_at(
                        v,
                        format!("fraction must be in (0, 1] (0.2 is one request in five), got {x}"),
                    ));
                }
                Ok(Trigger::Fraction(x))
            }
            None => Ok(Trigger::Always),
        }
    }

    fn latency(&self, f: &RawFault) -> Res<Option<Latency>> {
        match (&f.latency_ms, &f.latency) {
            (Some(_), Some(l)) => {
                Err(self.err_at(l, "give either latency_ms or latency, not both"))
            }
            (Some(ms), None) => Ok(Some(Latency::Fixed(self.ms(
                ms,
                "latency_ms",
                0,
                MAX_LATENCY_MS,
            )?))),
            (None, Some(l)) => {
                let r = l.get_ref();
                match (&r.uniform, &r.lognormal) {
                    (Some(u), None) => {
                        let [lo, hi] = u.get_ref().as_slice() else {
                            return Err(
                                self.err_at(u, "uniform takes two bounds in ms: [MIN, MAX]")
                            );
                        };
                        let lo = self.ms(lo, "uniform's MIN", 0, MAX_LATENCY_MS)?;
                        let hi_ms = self.ms(hi, "uniform's MAX", 0, MAX_LATENCY_MS)?;
                        if lo > hi_ms {
                            return Err(self.err_at(
                                u,
                                format!("uniform's MIN ({lo}) must not exceed its MAX ({hi_ms})"),
                            ));
                        }
                        Ok(Some(Latency::Uniform(lo, hi_ms)))
                    }
                    (None, Some(ln)) => {
                        let ln_ref = ln.get_ref();
                        let median = *ln_ref.median_ms.get_ref();
                        if !(median > 0.0 && median <= MAX_LATENCY_MS as f64) {
                            return Err(self.err_at(
                                &ln_ref.median_ms,
                                format!(
                                    "median_ms must be above 0 and at most 600000 (10 min), got {median}"
                                ),
                            ));
                        }
                        let sigma = *ln_ref.sigma.get_ref();
                        if !(sigma.is_finite() && sigma >= 0.0) {
                            return Err(self.err_at(
                                &ln_ref.sigma,
                                format!("sigma must be a finite number ≥ 0, got {sigma}"),
                            ));
                        }
                        Ok(Some(Latency::LogNormal {
                            median_ms: median,
                            sigma,
                        }))
                    }
                    _ => Err(self.err_at(
                        l,
                        "latency takes exactly one of uniform = [MIN, MAX] or \
                         lognormal = { median_ms = M, sigma = S }",
                    )),
                }
            }
            (None, None) => Ok(None),
        }
    }
}
