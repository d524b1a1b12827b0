//! The simulator's own metrics, served at `GET /__admin/metrics` in the Prometheus text
//! format. One [`Metrics`] per server (in the state, never a process-global recorder), so
//! many simulators in one test process count apart.
//!
//! Every label value is a `&'static str` or a number from a closed set (providers,
//! endpoints, HTTP statuses, provider codes, outcome names, scenario names loaded at start),
//! never a path, a token or a URL: the number of series stays bounded.
//!
//! Counters count from the server's start and are not reset by `/__admin/reset`, as
//! Prometheus expects of counters. Gauges that describe stores (tasks by status, resident
//! memory) are read when scraped.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of the Prometheus text format (version 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the request latency buckets, in seconds (Prometheus' defaults, widened
/// at both ends: local answers take about a millisecond, scripted faults many seconds).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One answered request outside the control API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// `coze`, `icu`, or `none` for a path no provider owns.
    pub provider: &'static str,
    /// `transcribe`, `stream`, `submit`, `query`, or `other`.
    pub endpoint: &'static str,
    /// The HTTP status (0: the connection was dropped without an answer).
    pub status: u16,
    /// The provider code in the body (empty when the answer had none).
    pub code: Option<i64>,
}

/// A provider endpoint, for the latency histograms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    /// As in [`RequestLabels`].
    pub provider: &'static str,
    /// As in [`RequestLabels`].
    pub endpoint: &'static str,
}

/// An outcome: what an attempt, a download or a session came to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// A name from the metric's closed set (README, "Metrics").
    pub outcome: &'static str,
}

/// A task status, for the tasks gauge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StatusLabels {
    /// `waiting`, `doing`, `success` or `failed`.
    pub status: &'static str,
}

/// A scenario fault that acted on a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct FaultLabels {
    /// The scenario's name (from the library loaded at start).
    pub scenario: Arc<str>,
    /// The fault's action (`status`, `latency`, `reset`, …) or `rate_limit`.
    pub action: &'static str,
}

/// Who ended a streaming session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct EndLabels {
    /// `client`, `server`, `dropped`, or `not_upgraded` (the 101 went out but the
    /// connection never became a WebSocket).
    pub ended_by: &'static str,
}

/// Callback outcomes, each shown from the start (at 0) so a scraper sees the whole set.
pub const CALLBACK_OUTCOMES: [&str; 4] = ["acknowledged", "rejected", "failed", "not_sent"];
/// Download outcomes: `ok`, or the kind of the download error.
pub const DOWNLOAD_OUTCOMES: [&str; 10] = [
    "ok",
    "invalid_url",
    "status",
    "connect",
    "redirect",
    "too_large",
    "timeout",
    "body",
    "not_allowed",
    "other",
];
/// Who may end a streaming session.
pub const STREAM_ENDS: [&str; 4] = ["client", "server", "dropped", "not_upgraded"];

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The server's metrics: cheap to clone, all clones count into the same registry.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    tasks: Family<StatusLabels, Gauge>,
    callback_attempts: Family<OutcomeLabels, Counter>,
    downloads: Family<OutcomeLabels, Counter>,
    download_bytes: Counter,
    faults: Family<FaultLabels, Counter>,
    streams_opened: Counter,
    streams_active: Gauge,
    streams_ended: Family<EndLabels, Counter>,
    resident_memory: Gauge,
    /// Each request label set's counter and histogram, found once: the families hash their
    /// labels with SipHash on every lookup, two lookups a request, a tenth of a poll.
    handles: RwLock<HashMap<RequestLabels, (Counter, Histogram), foldhash::fast::RandomState>>,
}

/// Most label sets [`Inner::handles`] keeps (the sets are closed; this only bounds a bug).
const MAX_HANDLES: usize = 4096;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered under the `asr_mock_` prefix (resident
    /// memory under its conventional name, `process_resident_memory_bytes`).
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        let tasks = Family::<StatusLabels, Gauge>::default();
        let callback_attempts = Family::<OutcomeLabels, Counter>::default();
        let downloads = Family::<OutcomeLabels, Counter>::default();
        let download_bytes = Counter::default();
        let faults = Family::<FaultLabels, Counter>::default();
        let streams_opened = Counter::default();
        let streams_active = Gauge::default();
        let streams_ended = Family::<EndLabels, Counter>::default();
        let resident_memory = Gauge::default();

        let mut registry = Registry::default();
        let asr = registry.sub_registry_with_prefix("asr_mock");
        asr.register(
            "requests",
            "Requests answered outside the control API, by provider, endpoint, HTTP status and provider code",
            requests.clone(),
        );
        asr.register(
            "request_duration_seconds",
            "Real (wall-clock) time from a request's arrival to its answer's headers, by provider and endpoint",
            latency.clone(),
        );
        asr.register(
            "icu_tasks",
            "icu tasks kept, by their status when scraped",
            tasks.clone(),
        );
        asr.register(
            "callback_attempts",
            "Callback deliveries tried, by outcome: acknowledged, rejected (answered, not acknowledged), failed (no answer), not_sent",
            callback_attempts.clone(),
        );
        asr.register(
            "downloads",
            "Task audio downloads, by outcome: ok, or why they failed",
            downloads.clone(),
        );
        asr.register(
            "download_bytes",
            "Bytes of audio downloaded by successful downloads",
            download_bytes.clone(),
        );
        asr.register(
            "scenario_faults",
            "Scenario faults that acted on a request, by scenario and action",
            faults.clone(),
        );
        asr.register(
            "stream_sessions_opened",
            "Streaming (WebSocket) sessions accepted",
            streams_opened.clone(),
        );
        asr.register(
            "stream_sessions_active",
            "Streaming sessions open now",
            streams_active.clone(),
        );
        asr.register(
            "stream_sessions_ended",
            "Streaming sessions ended, by who ended them",
            streams_ended.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the simulator's process in bytes (0 where /proc is missing)",
            resident_memory.clone(),
        );
        for outcome in CALLBACK_OUTCOMES {
            callback_attempts
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(0);
        }
        for outcome in DOWNLOAD_OUTCOMES {
            downloads
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(0);
        }
        for ended_by in STREAM_ENDS {
            streams_ended
                .get_or_create(&EndLabels { ended_by })
                .inc_by(0);
        }
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            tasks,
            callback_attempts,
            downloads,
            download_bytes,
            faults,
            streams_opened,
            streams_active,
            streams_ended,
            resident_memory,
            handles: RwLock::default(),
        }))
    }

    /// Counts an answered request and its real duration.
    pub fn request(&self, labels: RequestLabels, seconds: f64) {
        if let Some((count, latency)) = self.0.handles.read().get(&labels) {
            count.inc();
            latency.observe(seconds);
            return;
        }
        let route = RouteLabels {
            provider: labels.provider,
            endpoint: labels.endpoint,
        };
        // Clones share the metric: counting through them counts in the family.
        let count = self.0.requests.get_or_create(&labels).clone();
        let latency = self.0.latency.get_or_create(&route).clone();
        count.inc();
        latency.observe(seconds);
        let mut handles = self.0.handles.write();
        if handles.len() < MAX_HANDLES {
            handles.insert(labels, (count, latency));
        }
    }

    /// Counts one callback attempt's outcome.
    pub fn callback_attempt(&self, outcome: &'static str) {
        self.0
            .callback_attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts one finished download: `bytes` downloaded when it succeeded.
    pub fn download(&self, outcome: &'static str, bytes: u64) {
        self.0
            .downloads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.0.download_bytes.inc_by(bytes);
    }

    /// Counts a scenario fault acting on a request.
    pub fn fault(&self, scenario: &str, action: &'static str) {
        self.0
            .faults
            .get_or_create(&FaultLabels {
                scenario: scenario.into(),
                action,
            })
            .inc();
    }

    /// Counts a streaming session that opened; [`Metrics::stream_ended`] follows it.
    pub fn stream_opened(&self) {
        self.0.streams_opened.inc();
        self.0.streams_active.inc();
    }

    /// Counts a streaming session that ended.
    pub fn stream_ended(&self, ended_by: &'static str) {
        self.0.streams_active.dec();
        self.0
            .streams_ended
            .get_or_create(&EndLabels { ended_by })
            .inc();
    }

    /// The text to serve: the tasks gauge set from `tasks` (status, count) and resident
    /// memory read now, then every family.
    pub fn encode(&self, tasks: &[(&'static str, usize)]) -> String {
        for &(status, count) in tasks {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            self.0
                .tasks
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
        let rss = resident_memory_bytes().unwrap_or(0);
        self.0
            .resident_memory
            .set(i64::try_from(rss).unwrap_or(i64::MAX));
        let mut text = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail; an encoder error would only leave it shorter.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry);
        text
    }
}

/// The process's resident set size from `/proc/self/status` (`VmRSS`, in kB), or `None`
/// where there is no such file (not Linux) or it cannot be read.
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_reach_the_text() {
        let m = Metrics::new();
        m.request(
            RequestLabels {
                provider: "coze",
                endpoint: "transcribe",
                status: 401,
                code: Some(4100),
            },
            0.003,
        );
        m.callback_attempt("acknowledged");
        m.download("ok", 1234);
        m.fault("always-500", "status");
        m.stream_opened();
        let text = m.encode(&[("waiting", 2), ("success", 0)]);
        for line in [
            "asr_mock_requests_total{provider=\"coze\",endpoint=\"transcribe\",status=\"401\",code=\"4100\"} 1",
            "asr_mock_request_duration_seconds_bucket{provider=\"coze\",endpoint=\"transcribe\",le=\"0.005\"} 1",
            "asr_mock_request_duration_seconds_bucket{provider=\"coze\",endpoint=\"transcribe\",le=\"0.0025\"} 0",
            "asr_mock_callback_attempts_total{outcome=\"acknowledged\"} 1",
            "asr_mock_downloads_total{outcome=\"ok\"} 1",
            "asr_mock_download_bytes_total 1234",
            "asr_mock_scenario_faults_total{scenario=\"always-500\",action=\"status\"} 1",
            "asr_mock_stream_sessions_active 1",
            "asr_mock_icu_tasks{status=\"waiting\"} 2",
            "asr_mock_icu_tasks{status=\"success\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
        m.stream_ended("client");
        let text = m.encode(&[]);
        assert!(
            text.contains("asr_mock_stream_sessions_active 0\n"),
            "{text}"
        );
        assert!(text.contains("asr_mock_stream_sessions_ended_total{ended_by=\"client\"} 1\n"));
    }

    #[test]
    fn clones_count_together_and_servers_apart() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.clone().download("timeout", 0);
        assert!(a
            .encode(&[])
            .contains("asr_mock_downloads_total{outcome=\"timeout\"} 1\n"));
        assert!(b
            .encode(&[])
            .contains("asr_mock_downloads_total{outcome=\"timeout\"} 0\n"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resident_memory_is_read_on_linux() {
        let rss = resident_memory_bytes().expect("VmRSS");
        assert!(rss > 1024 * 1024, "{rss}");
    }
}
