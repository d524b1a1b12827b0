//! Which scenarios apply to a request, the per-fault counters and rate windows, and the
//! activations made through the control API.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rand::Rng;
use serde::Serialize;

use super::describe::describe_action;
use super::library::Library;
use super::model::{Endpoint, Fault, Match, Provider, RateLimitRule, Scenario};
use crate::engine::Engine;
use crate::ratelimit::RateLimiter;

/// The header that names scenarios for one request.
pub const HEADER: &str = "x-mock-scenario";

/// What is known about a request when scenarios are chosen. Body facts (`url`, `filename`,
/// `audio_sha256`, `engine`) are known only after the provider has read the request.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The provider whose endpoint was called.
    pub provider: Option<Provider>,
    /// The request path.
    pub path: String,
    /// Coze bearer token or icu `C-Secret`.
    pub token: Option<String>,
    /// icu: the task's Url.
    pub url: Option<String>,
    /// Coze: the upload's file name.
    pub filename: Option<String>,
    /// The audio's SHA-256.
    pub audio_sha256: Option<[u8; 32]>,
    /// icu: EngineModelType.
    pub engine: Option<Engine>,
}

impl Facts {
    /// Whether the body facts are filled in.
    fn has_body(&self) -> bool {
        self.url.is_some()
            || self.filename.is_some()
            || self.audio_sha256.is_some()
            || self.engine.is_some()
    }
}

/// The scenarios chosen for a request, handed to handlers as a request extension.
#[derive(Debug, Clone, Default)]
pub struct Selected {
    /// Chosen by the `X-Mock-Scenario` header: exactly these apply, nothing else.
    pub by_header: bool,
    /// In order of precedence.
    pub scenarios: Vec<Arc<Scenario>>,
}

impl Selected {
    /// Names, for the journal.
    pub fn names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.name.clone()).collect()
    }
}

/// A fault that fired, with its sampled latency.
#[derive(Debug, Clone)]
pub struct Firing {
    /// The scenario it belongs to.
    pub scenario: Arc<Scenario>,
    /// The fault.
    pub fault: Fault,
    /// Its position among the requests it counts (from 1).
    pub count: u64,
    /// Milliseconds to wait first (on the clock).
    pub latency_ms: u64,
}

impl Firing {
    /// `name#index action` for the journal.
    pub fn describe(&self) -> String {
        format!(
            "{}#{} {}",
            self.scenario.name,
            self.fault.index,
            describe_action(&self.fault.action)
        )
    }
}

/// A rate limit that refused a request.
#[derive(Debug, Clone)]
pub struct Limited {
    /// The scenario whose rule refused it.
    pub scenario: String,
    /// The rule.
    pub rule: RateLimitRule,
}

/// Scenario state shared by the server.
#[derive(Debug)]
pub struct Scenarios {
    seed: u64,
    library: Library,
    /// Scenarios with a `[match]`, worked out once: most requests need look at no other.
    matchers: Vec<Arc<Scenario>>,
    /// Whether some match rule can apply before a request's body is read.
    request_matchers: bool,
    /// Whether anything is activated (kept beside `inner` so the hot path reads it without
    /// the lock; written under the lock).
    activated: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    global: Vec<String>,
    by_token: BTreeMap<String, Vec<String>>,
    counters: HashMap<(String, usize), u64>,
    windows: HashMap<(String, usize), Arc<RateLimiter>>,
}

/// Why a scenario name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario {0:?}: `asr-mock scenarios list` or GET /__admin/scenarios shows the names"
)]
pub struct UnknownScenario(pub String);

impl Scenarios {
    /// Scenario state over `library`.
    pub fn new(seed: u64, library: Library) -> Self {
        let matchers = library
            .list()
            .into_iter()
            .filter(|s| s.matcher.is_some())
            .collect::<Vec<_>>();
        let request_matchers = matchers
            .iter()
            .any(|s| s.matcher.as_ref().is_some_and(|m| !m.needs_body()));
        Scenarios {
            seed,
            library,
            matchers,
            request_matchers,
            activated: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether no scenario can apply to a request without a header before its body is
    /// read: nothing activated, and no match rule without body keys.
    pub fn is_quiet(&self) -> bool {
        if self.request_matchers {
            return false;
        }
        !self.activated.load(Ordering::Acquire)
    }

    /// The library.
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// Activates `name` for every request, or for requests with `token`.
    pub fn activate(&self, name: &str, token: Option<&str>) -> Result<(), UnknownScenario> {
        if self.library.get(name).is_none() {
            return Err(UnknownScenario(name.to_owned()));
        }
        let mut inner = self.inner.lock();
        let list = match token {
            Some(t) => inner.by_token.entry(t.to_owned()).or_default(),
            None => &mut inner.global,
        };
        if !list.iter().any(|n| n == name) {
            list.push(name.to_owned());
        }
        self.activated.store(true, Ordering::Release);
        Ok(())
    }

    /// Undoes [`activate`](Self::activate); true if it was active.
    pub fn deactivate(&self, name: &str, token: Option<&str>) -> bool {
        let mut inner = self.inner.lock();
        let list = match token {
            Some(t) => match inner.by_token.get_mut(t) {
                Some(list) => list,
                None => return false,
            },
            None => &mut inner.global,
        };
        let before = list.len();
        list.retain(|n| n != name);
        let removed = list.len() != before;
        inner.by_token.retain(|_, l| !l.is_empty());
        let any = !inner.global.is_empty() || !inner.by_token.is_empty();
        self.activated.store(any, Ordering::Release);
        removed
    }

    /// Active names: global, and per token.
    pub fn active(&self) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let inner = self.inner.lock();
        (inner.global.clone(), inner.by_token.clone())
    }

    /// Forgets activations, counters and rate windows.
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        *inner = Inner::default();
        self.activated.store(false, Ordering::Release);
    }

    /// Chooses the scenarios for a request from its header value and what is known of it.
    /// With a header, exactly the named scenarios; otherwise token activations, global
    /// activations, then files whose `[match]` holds (body keys only when `facts` has them).
    pub fn select(&self, header: Option<&str>, facts: &Facts) -> Result<Selected, UnknownScenario> {
        if let Some(header) = header {
            let mut scenarios = Vec::new();
            for name in header.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let scenario = self
                    .library
                    .get(name)
                    .ok_or_else(|| UnknownScenario(name.to_owned()))?;
                if !scenarios
                    .iter()
                    .any(|s: &Arc<Scenario>| s.name == scenario.name)
                {
                    scenarios.push(scenario);
                }
            }
            return Ok(Selected {
                by_header: true,
                scenarios,
            });
        }
        let names: Vec<String> = {
            let inner = self.inner.lock();
            let by_token = facts.token.as_ref().and_then(|t| inner.by_token.get(t));
            by_token
                .into_iter()
                .flatten()
                .chain(inner.global.iter())
                .cloned()
                .collect()
        };
        let mut scenarios: Vec<Arc<Scenario>> = Vec::new();
        for name in names {
            if !scenarios.iter().any(|s| s.name == name) {
                if let Some(s) = self.library.get(&name) {
                    scenarios.push(s);
                }
            }
        }
        for scenario in &self.matchers {
            if scenarios.iter().any(|s| s.name == scenario.name) {
                continue;
            }
            if let Some(m) = &scenario.matcher {
                if (!m.needs_body() || facts.has_body()) && matches(m, facts) {
                    scenarios.push(scenario.clone());
                }
            }
        }
        Ok(Selected {
            by_header: false,
            scenarios,
        })
    }

    /// The scenarios that body facts add to an earlier request-level choice (none when the
    /// header chose).
    pub fn added_by_body(&self, earlier: &Selected, facts: &Facts) -> Vec<Arc<Scenario>> {
        if earlier.by_header {
            return Vec::new();
        }
        self.matchers
            .iter()
            .filter(|s| !earlier.scenarios.iter().any(|e| e.name == s.name))
            .filter(|s| {
                s.matcher
                    .as_ref()
                    .is_some_and(|m| m.needs_body() && matches(m, facts))
            })
            .cloned()
            .collect()
    }

    /// Counts the request for every fault of `scenarios` that could act on `endpoint`, and
    /// returns the first that fires.
    pub fn fire(&self, scenarios: &[Arc<Scenario>], endpoint: Endpoint) -> Option<Firing> {
        if scenarios.is_empty() {
            return None;
        }
        let mut inner = self.inner.lock();
        let mut fired = None;
        for scenario in scenarios {
            for fault in &scenario.faults {
                if fault.endpoint != Endpoint::Any && fault.endpoint != endpoint {
                    continue;
                }
                let counter = inner
                    .counters
                    .entry((scenario.name.clone(), fault.index))
                    .or_insert(0);
                *counter += 1;
                let count = *counter;
                if fired.is_some() {
                    continue;
                }
                let key = rng_key(&scenario.name, fault.index, count);
                let seed = self.seed;
                let fires = fault.on.fires(count, || {
                    crate::rng::derive(seed, "fault-fraction", &key).gen::<f64>()
                });
                if fires {
                    let latency_ms = fault.latency.as_ref().map_or(0, |l| {
                        l.sample_ms(&mut crate::rng::derive(seed, "fault-latency", &key))
                    });
                    fired = Some(Firing {
                        scenario: scenario.clone(),
                        fault: fault.clone(),
                        count,
                        latency_ms,
                    });
                }
            }
        }
        fired
    }

    /// The first rate rule of `scenarios` for `endpoint` whose window is full at `now_ms`.
    pub fn rate_limited(
        &self,
        scenarios: &[Arc<Scenario>],
        endpoint: Endpoint,
        now_ms: i64,
    ) -> Option<Limited> {
        for scenario in scenarios {
            for (i, rule) in scenario.rate_limits.iter().enumerate() {
                if rule.endpoint != endpoint {
                    continue;
                }
                let window = self
                    .inner
                    .lock()
                    .windows
                    .entry((scenario.name.clone(), i))
                    .or_insert_with(|| {
                        Arc::new(RateLimiter::new(rule.limit, rule.window_ms as i64))
                    })
                    .clone();
                if !window.try_acquire(now_ms) {
                    return Some(Limited {
                        scenario: scenario.name.clone(),
                        rule: rule.clone(),
                    });
                }
            }
        }
        None
    }

    /// The seed, for seeded fault bodies.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

fn rng_key(name: &str, index: usize, count: u64) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&(index as u64).to_le_bytes());
    key.extend_from_slice(&count.to_le_bytes());
    key
}

/// Whether every key of `m` holds for `facts`.
fn matches(m: &Match, facts: &Facts) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    };
    m.provider.is_none_or(|p| facts.provider == Some(p))
        && m.path.as_ref().is_none_or(|p| *p == facts.path)
        && eq(&m.token, &facts.token)
        && m.url_contains.as_ref().is_none_or(|u| {
            facts
                .url
                .as_ref()
                .is_some_and(|url| url.contains(u.as_str()))
        })
        && eq(&m.filename, &facts.filename)
        && m.audio_sha256.is_none_or(|h| facts.audio_sha256 == Some(h))
        && m.engine.is_none_or(|e| facts.engine == Some(e))
}

/// A scenario's listing for the control API.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioView {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Built in, or the file it came from.
    pub source: String,
    /// Whether it applies by itself to matching requests.
    pub has_match: bool,
}

impl From<&Scenario> for ScenarioView {
    fn from(s: &Scenario) -> Self {
        ScenarioView {
            name: s.name.clone(),
            description: s.description.clone(),
            source: s.source.to_string(),
            has_match: s.matcher.is_some(),
        }
    }
}
