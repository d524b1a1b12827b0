//! Reading a scenario file (`scenarios/README.md` is the user's reference): parse one TOML
//! file and validate it completely, so that a broken file is refused at start-up with its
//! path, line and reason rather than misbehaving in the middle of a test.
//!
//! Parsing goes through the `raw` mirrors of the file, which keep every value's span, so
//! semantic errors ("nth must be ≥ 1") point at their line too; lowering them gives the
//! validated [`Scenario`]. The `[[fault]]` tables are lowered in `parse/fault.rs`.

mod fault;

use std::fmt;
use std::ops::Range;

use toml::Spanned;

use super::describe::fmt_ms;
use super::model::{
    CallbackBehaviour, Endpoint, Identity, Match, Provider, RateLimitRule, Scenario,
    ScenarioSource, ScriptOutcome, Step, StepEnd, StepStatus, StreamBehaviour, TaskScript,
    MAX_CALLBACK_REPEATS, MAX_FAULTS, MAX_LATENCY_MS, MAX_NAME_CHARS, MAX_RATE_LIMITS,
    MAX_SCRIPT_MS, MAX_STEPS,
};
use super::raw::{
    RawCallback, RawIdentity, RawMatch, RawRateLimit, RawScenario, RawStream, RawTask,
};
use crate::engine::Engine;
use crate::failure::FailureCode;

/// Why a scenario file was refused: `path:line: reason`, the form editors jump to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (built-ins: `scenarios/<file>`).
    pub path: String,
    /// 1-based line of the offending key or value, when there is one.
    pub line: Option<usize>,
    /// What is wrong, and where useful what would be right.
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

/// Parses and validates one scenario file.
#[cfg(test)]
pub fn parse(text: &str, source: ScenarioSource) -> Result<Scenario, ScenarioError> {
    parse_with_name_line(text, source).map(|(scenario, _)| scenario)
}

/// [`parse`], also returning the line of `name`, so the library can point a duplicate name at
/// its line.
pub(crate) fn parse_with_name_line(
    text: &str,
    source: ScenarioSource,
) -> Result<(Scenario, usize), ScenarioError> {
    let cx = Cx {
        text,
        path: source.path_label(),
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    let name_line = cx.line(raw.name.span());
    let scenario = cx.validate(raw, source)?;
    Ok((scenario, name_line))
}

/// The file being validated: turns spans into lines for errors.
struct Cx<'a> {
    text: &'a str,
    path: String,
}

type Res<T> = Result<T, ScenarioError>;

impl Cx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        // `get` instead of slicing: a span inside a multi-byte character must not panic.
        let before = self.text.get(..end).unwrap_or(self.text);
        before.matches('\n').count() + 1
    }

    fn err(&self, span: Range<usize>, reason: impl Into<String>) -> ScenarioError {
        ScenarioError {
            path: self.path.clone(),
            line: Some(self.line(span)),
            reason: reason.into(),
        }
    }

    fn err_at<T>(&self, value: &Spanned<T>, reason: impl Into<String>) -> ScenarioError {
        self.err(value.span(), reason)
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let mut reason = e.message().trim().replace('\n', ": ");
        // serde speaks of fields and maps; a TOML author writes keys and tables.
        if let Some(rest) = reason.strip_prefix("missing field ") {
            reason = format!("missing key {rest}");
        }
        if let Some(rest) = reason.strip_prefix("unknown field ") {
            reason = format!("unknown key {rest}");
        }
        reason = reason.replace("invalid type: map", "invalid type: table");
        if reason.contains("expected a sequence") {
            reason.push_str(" (write [[fault]] and [[rate_limit]] with double brackets)");
        }
        ScenarioError {
            path: self.path.clone(),
            // A missing top-level key is reported at the start of the document, which is not
            // where anything is wrong: no line then. (Inside a table, the table's line.)
            line: e
                .span()
                .filter(|s| !(s.start == 0 && reason.starts_with("missing key")))
                .map(|s| self.line(s)),
            reason,
        }
    }

    fn validate(&self, raw: RawScenario, source: ScenarioSource) -> Res<Scenario> {
        let name = self.name(&raw.name)?;
        let description = raw.description.get_ref().trim().to_owned();
        if description.is_empty() {
            return Err(self.err_at(&raw.description, "description must not be empty"));
        }
        let (matcher, scope) = match &raw.matcher {
            Some(m) => {
                let (m, scope) = self.matcher(m.get_ref())?;
                (Some(m), scope)
            }
            None => (None, Scope::default()),
        };
        if raw.fault.len() > MAX_FAULTS {
            return Err(self.err_at(
                &raw.fault[MAX_FAULTS],
                format!("at most {MAX_FAULTS} [[fault]] tables per file"),
            ));
        }
        let faults = raw
            .fault
            .iter()
            .enumerate()
            .map(|(i, f)| self.fault(i + 1, f, &scope))
            .collect::<Res<Vec<_>>>()?;
        let task = match &raw.task {
            Some(t) => {
                self.icu_only(t, "[task]", &scope)?;
                Some(self.task(t)?)
            }
            None => None,
        };
        let callback = match &raw.callback {
            Some(c) => {
                self.icu_only(c, "[callback]", &scope)?;
                Some(self.callback(c)?)
            }
            None => None,
        };
        if raw.rate_limit.len() > MAX_RATE_LIMITS {
            return Err(self.err_at(
                &raw.rate_limit[MAX_RATE_LIMITS],
                format!("at most {MAX_RATE_LIMITS} [[rate_limit]] tables per file"),
            ));
        }
        let rate_limits = raw
            .rate_limit
            .iter()
            .map(|r| self.rate_limit(r, &scope))
            .collect::<Res<Vec<_>>>()?;
        let identity = match &raw.identity {
            Some(i) => self.identity(i, &scope)?,
            None => Identity::default(),
        };
        let stream = match &raw.stream {
            Some(st) => Some(self.stream(st, &scope)?),
            None => None,
        };
        if faults.is_empty()
            && stream.is_none()
            && task.is_none()
            && callback.is_none()
            && rate_limits.is_empty()
            && !identity.any()
        {
            return Err(ScenarioError {
                path: self.path.clone(),
                line: None,
                reason: "the scenario does nothing: give it a [[fault]], [task], [callback], \
                         [[rate_limit]], [identity] or [stream]"
                    .to_owned(),
            });
        }
        Ok(Scenario {
            name,
            description,
            source,
            matcher,
            faults,
            task,
            callback,
            rate_limits,
            identity,
            stream,
        })
    }

    fn stream(&self, raw: &Spanned<RawStream>, scope: &Scope) -> Res<StreamBehaviour> {
        let st = raw.get_ref();
        if let Some((Provider::Icu, by)) = &scope.provider {
            return Err(self.err_at(
                raw,
                format!(
                    "[stream] concerns Coze streaming recognition, but [match] {by} only lets \
                     icu requests through"
                ),
            ));
        }
        let mut out = StreamBehaviour::default();
        if let Some(code) = &st.error_code {
            let n = *code.get_ref();
            if !(1..=99_999_999).contains(&n) {
                return Err(self.err_at(code, format!("error_code must be 1–99999999, got {n}")));
            }
            out.error_code = Some(n);
        }
        if let Some(m) = &st.error_message {
            if out.error_code.is_none() {
                return Err(self.err_at(m, "error_message needs error_code"));
            }
            out.error_message = Some(m.get_ref().clone());
        }
        if let Some(n) = &st.drop_after_updates {
            out.drop_after_updates = Some(self.count(n, "drop_after_updates", 0, 1_000_000)?);
        }
        if let Some(ms) = &st.update_delay_ms {
            out.update_delay_ms = self.ms(ms, "update_delay_ms", 0, MAX_LATENCY_MS)?;
        }
        if let Some(ms) = &st.completed_delay_ms {
            out.completed_delay_ms = self.ms(ms, "completed_delay_ms", 0, MAX_LATENCY_MS)?;
        }
        if out == StreamBehaviour::default() {
            return Err(self.err_at(
                raw,
                "[stream] is empty: give error_code, drop_after_updates, update_delay_ms or \
                 completed_delay_ms",
            ));
        }
        Ok(out)
    }

    fn name(&self, name: &Spanned<String>) -> Res<String> {
        let n = name.get_ref();
        let valid_chars = n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if n.is_empty() || n.len() > MAX_NAME_CHARS || !valid_chars {
            return Err(self.err_at(
                name,
                format!(
                    "name must be 1–{MAX_NAME_CHARS} lowercase letters, digits or '-', got {n:?}"
                ),
            ));
        }
        Ok(n.clone())
    }

    fn matcher(&self, raw: &RawMatch) -> Res<(Match, Scope)> {
        let mut scope = Scope::default();
        if let Some(p) = &raw.provider {
            scope.provider = Some((*p.get_ref(), "provider".to_owned()));
        }
        let path = match &raw.path {
            Some(p) => {
                let v = p.get_ref();
                if !v.starts_with('/') || v.contains('?') {
                    return Err(self.err_at(
                        p,
                        format!(
                            "path must be a request path starting with '/', without a \
                             query, got {v:?}"
                        ),
                    ));
                }
                if let Some(ep) = Endpoint::for_path(v) {
                    if let Some(provider) = ep.provider() {
                        self.narrow(&mut scope, provider, p, &format!("path {v}"))?;
                    }
                    scope.endpoint = Some(ep);
                }
                Some(v.clone())
            }
            None => None,
        };
        let token = self.non_empty(&raw.token, "token")?;
        let url_contains = self.non_empty(&raw.url_contains, "url_contains")?;
        if let Some(u) = &raw.url_contains {
            self.narrow(&mut scope, Provider::Icu, u, "url_contains")?;
        }
        let engine = match &raw.engine {
            Some(e) => {
                let Some(engine) = Engine::from_code(e.get_ref()) else {
                    let names: Vec<&str> = Engine::ALL.iter().map(|e| e.code()).collect();
                    return Err(self.err_at(
                        e,
                        format!(
                            "engine must be one of icu's EngineModelType values ({}), got {:?}",
                            names.join(", "),
                            e.get_ref()
                        ),
                    ));
                };
                self.narrow(&mut scope, Provider::Icu, e, "engine")?;
                Some(engine)
            }
            None => None,
        };
        let filename = match &raw.filename {
            Some(f) => {
                let v = f.get_ref();
                if v.is_empty() || v.contains('/') || v.contains('\\') {
                    return Err(self.err_at(
                        f,
                        format!(
                            "filename must be a file name without folders (the upload's \
                             basename), got {v:?}"
                        ),
                    ));
                }
                self.narrow(&mut scope, Provider::Coze, f, "filename")?;
                Some(v.clone())
            }
            None => None,
        };
        let audio_sha256 = match &raw.audio_sha256 {
            Some(h) => {
                let mut bytes = [0u8; 32];
                let v = h.get_ref();
                if v.len() != 64 || hex::decode_to_slice(v, &mut bytes).is_err() {
                    return Err(
                        self.err_at(h, format!("audio_sha256 must be 64 hex digits, got {v:?}"))
                    );
                }
                Some(bytes)
            }
            None => None,
        };
        let m = Match {
            provider: raw.provider.as_ref().map(|p| *p.get_ref()),
            path,
            token,
            url_contains,
            filename,
            audio_sha256,
            engine,
        };
        Ok((m, scope))
    }

    /// Records that `[match]` key `key` limits the scenario to `provider`, refusing keys that
    /// contradict each other (the match could never hold).
    fn narrow<T>(
        &self,
        scope: &mut Scope,
        provider: Provider,
        at: &Spanned<T>,
        key: &str,
    ) -> Res<()> {
        match &scope.provider {
            Some((p, by)) if *p != provider => Err(self.err_at(
                at,
                format!(
                    "{key} only matches {provider} requests, but {by} only matches {p} requests: \
                     this [match] can never hold"
                ),
            )),
            Some(_) => Ok(()),
            None => {
                scope.provider = Some((provider, key.to_owned()));
                Ok(())
            }
        }
    }

    fn non_empty(&self, v: &Option<Spanned<String>>, key: &str) -> Res<Option<String>> {
        match v {
            Some(s) if s.get_ref().is_empty() => {
                Err(self.err_at(s, format!("{key} must not be empty")))
            }
            Some(s) => Ok(Some(s.get_ref().clone())),
            None => Ok(None),
        }
    }

    /// Refuses an endpoint the scenario's `[match]` can never let through.
    fn check_endpoint(&self, ep: &Spanned<Endpoint>, scope: &Scope, what: &str) -> Res<()> {
        let e = *ep.get_ref();
        if let (Some(ep_provider), Some((p, by))) = (e.provider(), &scope.provider) {
            if ep_provider != *p {
                return Err(self.err_at(
                    ep,
                    format!(
                        "endpoint \"{e}\" is {ep_provider}'s, but [match] {by} only lets {p} \
                         requests through: this {what} would never act"
                    ),
                ));
            }
        }
        if let Some(only) = scope.endpoint {
            if e != Endpoint::Any && e != only {
                return Err(self.err_at(
                    ep,
                    format!(
                        "endpoint \"{e}\", but [match] path only lets \"{only}\" requests \
                         through: this {what} would never act"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn icu_only<T>(&self, at: &Spanned<T>, what: &str, scope: &Scope) -> Res<()> {
        match &scope.provider {
            Some((Provider::Coze, by)) => Err(self.err_at(
                at,
                format!(
                    "{what} concerns icu tasks, but [match] {by} only lets coze requests through"
                ),
            )),
            _ => Ok(()),
        }
    }

    fn ms(&self, v: &Spanned<i64>, key: &str, min: u64, max: u64) -> Res<u64> {
        let n = *v.get_ref();
        u64::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                self.err_at(
                    v,
                    format!("{key} must be {min}–{max} ms ({}), got {n}", fmt_ms(max)),
                )
            })
    }

    fn count(&self, v: &Spanned<i64>, key: &str, min: u32, max: u32) -> Res<u32> {
        let n = *v.get_ref();
        u32::try_from(n)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.err_at(v, format!("{key} must be {min}–{max}, got {n}")))
    }

    fn task(&self, raw: &Spanned<RawTask>) -> Res<TaskScript> {
        let t = raw.get_ref();
        if t.steps.is_none() && t.outcome.is_none() && t.callback_early_ms.is_none() {
            return Err(self.err_at(
                raw,
                "[task] is empty: give steps, outcome or callback_early_ms",
            ));
        }
        let mut steps = Vec::new();
        if let Some(list) = &t.steps {
            if list.get_ref().is_empty() {
                return Err(self.err_at(
                    list,
                    "steps must not be empty (leave it out for the usual timing)",
                ));
            }
            if list.get_ref().len() > MAX_STEPS {
                return Err(self.err_at(list, format!("at most {MAX_STEPS} steps")));
            }
            let mut seen_doing = false;
            for s in list.get_ref() {
                let step = s.get_ref();
                let end =
                    match (&step.ms, &step.polls) {
                        (Some(ms), None) => StepEnd::Ms(self.ms(ms, "ms", 0, MAX_SCRIPT_MS)?),
                        (None, Some(p)) => StepEnd::Polls(self.count(p, "polls", 1, u32::MAX)?),
                        _ => return Err(self.err_at(
                            s,
                            "each step lasts either `ms` of clock time or a number of `polls`: \
                             give exactly one",
                        )),
                    };
                let status = *step.status.get_ref();
                if status == StepStatus::Waiting && seen_doing {
                    return Err(self.err_at(
                        &step.status,
                        "a task only moves forward: a waiting step cannot follow a doing step",
                    ));
                }
                seen_doing |= status == StepStatus::Doing;
                steps.push(Step { status, end });
            }
        }
        let outcome = match &t.outcome {
            Some(o) => self.outcome(o)?,
            None => ScriptOutcome::Success,
        };
        let callback_early_ms = match &t.callback_early_ms {
            Some(ms) => {
                let v = self.ms(ms, "callback_early_ms", 0, MAX_SCRIPT_MS)?;
                if v > 0 && outcome == ScriptOutcome::Stuck {
                    return Err(self.err_at(
                        ms,
                        "callback_early_ms has no effect on a stuck task: it never ends, so no \
                         callback is sent",
                    ));
                }
                v
            }
            None => 0,
        };
        Ok(TaskScript {
            steps,
            outcome,
            callback_early_ms,
        })
    }

    fn outcome(&self, o: &Spanned<toml::Value>) -> Res<ScriptOutcome> {
        const HINT: &str =
            "outcome must be \"success\", \"stuck\" or { code = 10000…10007, message = \"…\" }";
        match o.get_ref() {
            toml::Value::String(s) if s == "success" => Ok(ScriptOutcome::Success),
            toml::Value::String(s) if s == "stuck" => Ok(ScriptOutcome::Stuck),
            toml::Value::Table(table) => {
                if let Some(key) = table.keys().find(|k| *k != "code" && *k != "message") {
                    return Err(self.err_at(o, format!("unknown key `{key}` in outcome: {HINT}")));
                }
                let code = match table.get("code") {
                    Some(toml::Value::Integer(c)) if FailureCode::from_code(*c).is_some() => {
                        FailureCode::from_code(*c).unwrap_or(FailureCode::RecognitionFailed)
                    }
                    Some(toml::Value::Integer(c)) => {
                        return Err(self.err_at(
                            o,
                            format!(
                                "outcome code must be one of the task failure codes \
                                 10000–10007, got {c}"
                            ),
                        ))
                    }
                    Some(_) => return Err(self.err_at(o, "outcome code must be an integer")),
                    None => {
                        let reason = format!("missing key `code` in outcome: {HINT}");
                        return Err(self.err_at(o, reason));
                    }
                };
                let message = match table.get("message") {
                    Some(toml::Value::String(m)) => Some(m.clone()),
                    Some(_) => return Err(self.err_at(o, "outcome message must be a string")),
                    None => None,
                };
                Ok(ScriptOutcome::Fail { code, message })
            }
            other => Err(self.err_at(o, format!("{HINT}, got {other}"))),
        }
    }

    fn callback(&self, raw: &Spanned<RawCallback>) -> Res<CallbackBehaviour> {
        let c = raw.get_ref();
        let others: [(&str, Option<Range<usize>>); 7] = [
            ("delay_ms", c.delay_ms.as_ref().map(Spanned::span)),
            ("jitter_ms", c.jitter_ms.as_ref().map(Spanned::span)),
            ("fail_attempts", c.fail_attempts.as_ref().map(Spanned::span)),
            ("attempts", c.attempts.as_ref().map(Spanned::span)),
            ("interval_ms", c.interval_ms.as_ref().map(Spanned::span)),
            ("timeout_ms", c.timeout_ms.as_ref().map(Spanned::span)),
            ("duplicates", c.duplicates.as_ref().map(Spanned::span)),
        ];
        let drop = c.drop.as_ref().is_some_and(|d| *d.get_ref());
        if drop {
            if let Some((key, Some(span))) = others.iter().find(|(_, s)| s.is_some()) {
                return Err(self.err(
                    span.clone(),
                    format!("`{key}` has no effect with drop = true: nothing is delivered"),
                ));
            }
        }
        if c.drop.is_none() && others.iter().all(|(_, s)| s.is_none()) {
            return Err(self.err_at(
                raw,
                "[callback] is empty: give at least one of delay_ms, jitter_ms, fail_attempts, \
                 attempts, interval_ms, timeout_ms, duplicates, drop",
            ));
        }
        let ms = |v: &Option<Spanned<i64>>, key: &str, min: u64| -> Res<Option<u64>> {
            v.as_ref()
                .map(|v| self.ms(v, key, min, MAX_SCRIPT_MS))
                .transpose()
        };
        let count = |v: &Option<Spanned<i64>>, key: &str, min: u32| -> Res<Option<u32>> {
            v.as_ref()
                .map(|v| self.count(v, key, min, MAX_CALLBACK_REPEATS))
                .transpose()
        };
        Ok(CallbackBehaviour {
            delay_ms: ms(&c.delay_ms, "delay_ms", 0)?.unwrap_or(0),
            jitter_ms: ms(&c.jitter_ms, "jitter_ms", 0)?.unwrap_or(0),
            fail_attempts: count(&c.fail_attempts, "fail_attempts", 0)?.unwrap_or(0),
            attempts: count(&c.attempts, "attempts", 1)?,
            interval_ms: ms(&c.interval_ms, "interval_ms", 0)?,
            timeout_ms: ms(&c.timeout_ms, "timeout_ms", 1)?,
            duplicates: count(&c.duplicates, "duplicates", 0)?.unwrap_or(0),
            drop,
        })
    }

    fn rate_limit(&self, raw: &Spanned<RawRateLimit>, scope: &Scope) -> Res<RateLimitRule> {
        let r = raw.get_ref();
        let endpoint = *r.endpoint.get_ref();
        if endpoint == Endpoint::Any {
            return Err(self.err_at(
                &r.endpoint,
                "a rate limit counts one endpoint: \"transcribe\", \"submit\" or \"query\", \
                 not \"any\"",
            ));
        }
        self.check_endpoint(&r.endpoint, scope, "rate limit")?;
        let limit = self.count(&r.limit, "limit", 1, u32::MAX)?;
        let window_ms = self.ms(&r.window_ms, "window_ms", 1, MAX_SCRIPT_MS)?;
        let code = match &r.code {
            Some(c) if endpoint != Endpoint::Transcribe => {
                return Err(self.err_at(
                    c,
                    "`code` is for Coze (endpoint = \"transcribe\"); icu answers \
                     RequestLimitExceeded",
                ))
            }
            Some(c) if ![4020, 4009].contains(c.get_ref()) => {
                return Err(self.err_at(
                    c,
                    format!(
                        "code must be 4020 (RPM exceeded) or 4009 (system request limit), got {}",
                        c.get_ref()
                    ),
                ))
            }
            Some(c) => Some(*c.get_ref()),
            None => None,
        };
        Ok(RateLimitRule {
            endpoint,
            limit,
            window_ms,
            code,
        })
    }

    fn identity(&self, raw: &Spanned<RawIdentity>, scope: &Scope) -> Res<Identity> {
        let i = raw.get_ref();
        if i.task_ids.is_none() && i.coze_no_speech.is_none() {
            return Err(self.err_at(
                raw,
                "[identity] is empty: give task_ids = \"above-2^53\" or coze_no_speech = \"5000\"",
            ));
        }
        let mut identity = Identity::default();
        if let Some(t) = &i.task_ids {
            if t.get_ref() != "above-2^53" {
                return Err(self.err_at(
                    t,
                    format!("task_ids must be \"above-2^53\", got {:?}", t.get_ref()),
                ));
            }
            self.icu_only(t, "task_ids", scope)?;
            identity.big_task_ids = true;
        }
        if let Some(c) = &i.coze_no_speech {
            if c.get_ref() != "5000" {
                return Err(self.err_at(
                    c,
                    format!("coze_no_speech must be \"5000\", got {:?}", c.get_ref()),
                ));
            }
            if let Some((Provider::Icu, by)) = &scope.provider {
                return Err(self.err_at(
                    c,
                    format!(
                        "coze_no_speech concerns Coze, but [match] {by} only lets icu requests \
                         through"
                    ),
                ));
            }
            identity.coze_no_speech_5000 = true;
        }
        Ok(identity)
    }
}

/// What `[match]` restricts the scenario to, and which key said so (for messages).
#[derive(Default)]
struct Scope {
    provider: Option<(Provider, String)>,
    endpoint: Option<Endpoint>,
}
