//! Fetching a task's audio `Url` (SourceType 0) for real, within the provider's limits, so a
//! client sees the same failures it would see in production: an unreachable host, a 404, a
//! file over 512 MB or a server too slow to deliver all become task failure 10007.
//!
//! The timeout runs on the simulator's [`Clock`], not on tokio's timer: under a scaled clock a
//! slow download times out as fast as everything else, and under a manual clock a download
//! never times out until someone advances the clock past the deadline.
//!
//! Downloads are bounded in number and in memory: at most `concurrency` run at once (the
//! others wait for a slot, their tasks still `waiting`, and their timeout starts with the
//! slot), and a download keeps at most [`SPILL_BYTES`] in memory; past that its bytes go to
//! an unnamed temporary file. The SHA-256 is taken as the bytes arrive.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::Clock;
use crate::hosts::HostAllowlist;
use crate::metrics::Metrics;

use super::guard::{Outbound, SelfGuard};
use super::{describe_duration, duration_ms, root_cause, USER_AGENT};

/// The task failure code a download error ends in (spec §3: "audio download failed").
pub const DOWNLOAD_FAILED_CODE: i64 = 10007;

/// How many redirects a download follows before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// The provider's limits on an audio download.
#[derive(Debug, Clone)]
pub struct DownloadPolicy {
    /// How long the whole download (connect, headers, body) may take, on the simulator clock.
    pub timeout: Duration,
    /// The largest file accepted; the transfer stops as soon as it is exceeded.
    pub max_bytes: u64,
    /// Downloads running at once; more wait for a slot.
    pub concurrency: usize,
}

/// Downloads running at once by default [inferred]: enough for a test suite's parallel tasks,
/// few enough that examining what they fetched stays within a few files in memory.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Bytes of a download kept in memory; the rest goes to a temporary file.
pub const SPILL_BYTES: usize = 1024 * 1024;

impl Default for DownloadPolicy {
    /// 60 s [inferred: Tencent only says "ensure the download speed"], 512 MiB [seed] and
    /// [`DEFAULT_CONCURRENCY`] at once [inferred].
    fn default() -> Self {
        DownloadPolicy {
            timeout: Duration::from_secs(60),
            max_bytes: 512 * 1024 * 1024,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Why a download failed. `Display` is the task's `ErrorMsg`: Tencent's observed prefix
/// `Failed to download audio file!` followed by the reason, so users can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// Not an absolute http(s) URL with a host.
    #[error("Failed to download audio file! Invalid URL: {0}")]
    InvalidUrl(String),
    /// The server answered with a status outside 2xx (after redirects).
    #[error("Failed to download audio file! HTTP status {0}")]
    Status(u16),
    /// DNS, TCP or TLS failed before any answer arrived.
    #[error("Failed to download audio file! Connection failed: {0}")]
    Connect(String),
    /// More than [`MAX_REDIRECTS`] redirects, or a redirect to somewhere unusable.
    #[error("Failed to download audio file! Redirect failed: {0}")]
    Redirect(String),
    /// The file is larger than the limit (announced by Content-Length or seen while reading).
    #[error("Failed to download audio file! File larger than {limit} bytes")]
    TooLarge {
        /// The limit in force, in bytes.
        limit: u64,
    },
    /// The download did not finish within the timeout on the simulator clock.
    #[error("Failed to download audio file! Timed out after {}", describe_duration(*.after_ms))]
    Timeout {
        /// The timeout in force, in ms.
        after_ms: u64,
    },
    /// The connection broke while the body was being read.
    #[error("Failed to download audio file! Transfer interrupted: {0}")]
    Body(String),
    /// The host is not on the simulator's allowlist (`--allow-hosts`).
    #[error("Failed to download audio file! Host {0} is not on the simulator's allowlist (--allow-hosts)")]
    NotAllowed(String),
    /// Anything else (including an HTTP client that could not be built).
    #[error("Failed to download audio file! {0}")]
    Other(String),
}

impl DownloadError {
    /// The task failure code this error ends in: always 10007.
    pub fn code(&self) -> i64 {
        DOWNLOAD_FAILED_CODE
    }

    /// A short name of the reason, for the downloads metric's `outcome` label.
    pub fn kind(&self) -> &'static str {
        match self {
            DownloadError::InvalidUrl(_) => "invalid_url",
            DownloadError::Status(_) => "status",
            DownloadError::Connect(_) => "connect",
            DownloadError::Redirect(_) => "redirect",
            DownloadError::TooLarge { .. } => "too_large",
            DownloadError::Timeout { .. } => "timeout",
            DownloadError::Body(_) => "body",
            DownloadError::NotAllowed(_) => "not_allowed",
            DownloadError::Other(_) => "other",
        }
    }
}

/// Downloads audio URLs. Cheap to clone: the HTTP client (and its connection pool) is shared.
#[derive(Debug, Clone)]
pub struct Downloader {
    clock: Clock,
    policy: DownloadPolicy,
    /// The client, or why it could not be built (reported per fetch instead of panicking).
    client: Result<reqwest::Client, String>,
    /// Hosts it may contact; `None`: any.
    allow: Option<HostAllowlist>,
    /// One permit per download running (held until its bytes are dropped).
    slots: Arc<Semaphore>,
    /// Keeps downloads (redirects included) off the simulator's own control API.
    guard: SelfGuard,
    /// The server's metrics, if it counts downloads.
    metrics: Option<Metrics>,
}

impl Downloader {
    /// A downloader with its own HTTP client: up to [`MAX_REDIRECTS`] redirects, no cookie
    /// store, no transparent decompression (audio is returned byte for byte), the
    /// simulator's [`USER_AGENT`], and no timeout of its own (the clock enforces it).
    pub fn new(clock: Clock, policy: DownloadPolicy) -> Self {
        Self::with_allowlist(clock, policy, None)
    }

    /// A downloader that contacts only the hosts on `allow` (redirects included).
    pub fn with_allowlist(
        clock: Clock,
        policy: DownloadPolicy,
        allow: Option<HostAllowlist>,
    ) -> Self {
        let guard = SelfGuard::default();
        let (list, redirect_guard) = (allow.clone(), guard.clone());
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the first URL too, as in `Policy::limited`.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            if let Err(why) = redirect_guard.check_now(attempt.url().as_str(), Outbound::Download) {
                return attempt.error(why);
            }
            match &list {
                Some(list) if !list.allows(attempt.url()) => {
                    let host = attempt.url().host_str().unwrap_or("?").to_owned();
                    attempt.error(format!("redirect to {host}, which is not on the allowlist"))
                }
                _ => attempt.follow(),
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(redirect)
            .build()
            .map_err(|e| format!("HTTP client unavailable: {}", root_cause(&e)));
        let slots = Arc::new(Semaphore::new(policy.concurrency.max(1)));
        Downloader {
            clock,
            policy,
            client,
            allow,
            slots,
            guard,
            metrics: None,
        }
    }

    /// The same downloader, counting every finished download in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The check that keeps downloads off the control API; armed once the server is bound.
    pub fn guard(&self) -> &SelfGuard {
        &self.guard
    }

    /// The limits in force.
    pub fn policy(&self) -> &DownloadPolicy {
        &self.policy
    }

    /// Downloads `url` (http or https) and returns its bytes, or the reason it failed.
    ///
    /// It first waits for a free slot (untimed: the provider's queue is its own business);
    /// then the whole fetch races `timeout` on the simulator clock, so with a manual clock a
    /// stalled server holds the fetch until the clock is advanced past the deadline. The
    /// answer holds the slot until it is dropped, so examining the bytes counts too.
    pub async fn fetch(&self, url: &str) -> Result<Downloaded, DownloadError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DownloadError::Other("the downloader is shut down".to_owned()))?;
        let after_ms = duration_ms(self.policy.timeout);
        let deadline = self.clock.now_ms().saturating_add(after_ms as i64);
        let result = tokio::select! {
            biased;
            res = self.fetch_unbounded(url, slot) => res,
            () = self.clock.sleep_until(deadline) => Err(DownloadError::Timeout { after_ms }),
        };
        if let Some(metrics) = &self.metrics {
            match &result {
                Ok(done) => metrics.download("ok", done.len),
                Err(e) => metrics.download(e.kind(), 0),
            }
        }
        result
    }

    /// The fetch without its timeout.
    async fn fetch_unbounded(
        &self,
        url: &str,
        slot: OwnedSemaphorePermit,
    ) -> Result<Downloaded, DownloadError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| DownloadError::Other(e.clone()))?;
        let url = parse_url(url)?;
        if let Some(list) = &self.allow {
            if !list.allows(&url) {
                return Err(DownloadError::NotAllowed(
                    url.host_str().unwrap_or("?").to_owned(),
                ));
            }
        }
        self.guard
            .check(url.as_str(), Outbound::Download)
            .await
            .map_err(DownloadError::Other)?;
        let limit = self.policy.max_bytes;
        let response = client.get(url).send().await.map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Status(status.as_u16()));
        }
        // Refuse before reading a byte when the server announces too much.
        let announced = response.content_length();
        if announced.is_some_and(|len| len > limit) {
            return Err(DownloadError::TooLarge { limit });
        }
        // Preallocate what was announced, but never trust a header past the spill threshold.
        let reserve = announced.unwrap_or(0).min(SPILL_BYTES as u64);
        let mut spool = Spool::Memory(Vec::with_capacity(usize::try_from(reserve).unwrap_or(0)));
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            len = u64::try_from(chunk.len())
                .ok()
                .and_then(|n| len.checked_add(n))
                .filter(|&n| n <= limit)
                .ok_or(DownloadError::TooLarge { limit })?;
            hasher.update(&chunk);
            spool.write(&chunk).await.map_err(spool_error)?;
        }
        Ok(Downloaded {
            sha256: hasher.finalize().into(),
            len,
            spool,
            _slot: slot,
        })
    }
}

/// A finished download: its SHA-256 (taken as the bytes arrived), its length, and its bytes
/// in memory or in a temporary file. It holds its download slot until dropped.
#[derive(Debug)]
pub struct Downloaded {
    sha256: [u8; 32],
    len: u64,
    spool: Spool,
    _slot: OwnedSemaphorePermit,
}

impl Downloaded {
    /// SHA-256 of the whole file.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, read back from the temporary file if they went there (the file is then
    /// left empty). Keep `self` until done with them: it holds the download slot.
    pub async fn take_bytes(&mut self) -> Result<Vec<u8>, DownloadError> {
        match &mut self.spool {
            Spool::Memory(data) => Ok(std::mem::take(data)),
            Spool::File(file) => {
                let mut data = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
                file.flush().await.map_err(spool_error)?;
                file.seek(std::io::SeekFrom::Start(0))
                    .await
                    .map_err(spool_error)?;
                file.read_to_end(&mut data).await.map_err(spool_error)?;
                file.set_len(0).await.map_err(spool_error)?;
                Ok(data)
            }
        }
    }
}

/// Where a download's bytes wait: memory up to [`SPILL_BYTES`], then an unnamed temporary
/// file (removed by the system when closed, even after a crash).
#[derive(Debug)]
enum Spool {
    Memory(Vec<u8>),
    File(tokio::fs::File),
}

impl Spool {
    async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if let Spool::Memory(data) = self {
            if data.len().saturating_add(chunk.len()) <= SPILL_BYTES {
                data.extend_from_slice(chunk);
                return Ok(());
            }
            let file = tokio::task::spawn_blocking(tempfile::tempfile)
                .await
                .map_err(std::io::Error::other)??;
            let mut file = tokio::fs::File::from_std(file);
            file.write_all(data).await?;
            *self = Spool::File(file);
        }
        match self {
            Spool::File(file) => file.write_all(chunk).await,
            Spool::Memory(_) => Ok(()),
        }
    }
}

/// The simulator could not keep the bytes (a full disk, say): still a failed download.
fn spool_error(err: std::io::Error) -> DownloadError {
    DownloadError::Other(format!("could not keep the downloaded bytes: {err}"))
}

/// Accepts only absolute http(s) URLs with a host; reqwest's own message would name neither.
fn parse_url(url: &str) -> Result<reqwest::Url, DownloadError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| DownloadError::InvalidUrl(e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => {
            return Err(DownloadError::InvalidUrl(format!(
                "scheme {other:?} is not http or https"
            )))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DownloadError::InvalidUrl("no host".to_owned()));
    }
    Ok(parsed)
}

/// Maps a reqwest error to the reason a user can act on (the innermost cause, e.g.
/// "Connection refused (os error 111)", rather than "error sending request").
fn classify(err: reqwest::Error) -> DownloadError {
    let reason = root_cause(&err);
    if err.is_redirect() {
        DownloadError::Redirect(reason)
    } else if err.is_connect() {
        DownloadError::Connect(reason)
    } else if err.is_body() || err.is_decode() {
        DownloadError::Body(reason)
    } else if err.is_builder() {
        DownloadError::InvalidUrl(reason)
    } else if err.is_request() {
        // Failures after connecting but before a status line, e.g. the server hung up.
        DownloadError::Connect(reason)
    } else {
        DownloadError::Other(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::net::SocketAddr;

    use axum::body::Body;
    use axum::http::{header, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::get;
    use axum::Router;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    /// Serves `app` on a fresh loopback port for the rest of the test.
    async fn serve(app: Router) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    /// The bytes of a successful download.
    async fn bytes(fetched: Result<Downloaded, DownloadError>) -> Vec<u8> {
        fetched.unwrap().take_bytes().await.unwrap()
    }

    fn downloader(clock: &Clock, max_bytes: u64) -> Downloader {
        Downloader::new(
            clock.clone(),
            DownloadPolicy {
                max_bytes,
                ..DownloadPolicy::default()
            },
        )
    }

    /// A body sent in chunks without Content-Length.
    fn streamed(chunks: usize, size: usize) -> Response {
        let parts = (0..chunks).map(move |_| Ok::<_, Infallible>(vec![7u8; size]));
        Body::from_stream(futures_util::stream::iter(parts)).into_response()
    }

    async fn audio_app() -> SocketAddr {
        let app = Router::new()
            .route("/a.wav", get(|| async { vec![1u8; 1000] }))
            .route("/stream", get(|| async { streamed(10, 1000) }))
            .route(
                "/user-agent",
                get(|headers: axum::http::HeaderMap| async move {
                    headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                }),
            )
            .route(
                "/missing",
                get(|| async { (StatusCode::NOT_FOUND, "no such file") }),
            )
            .route("/hop/{n}", get(hop));
        serve(app).await
    }

    /// `/hop/n` redirects to `/hop/n-1`; `/hop/0` is the file.
    async fn hop(axum::extract::Path(n): axum::extract::Path<u32>) -> Response {
        if n == 0 {
            b"RIFF-audio".to_vec().into_response()
        } else {
            Redirect::temporary(&format!("/hop/{}", n - 1)).into_response()
        }
    }

    #[tokio::test]
    async fn downloads_the_whole_file() {
        let addr = audio_app().await;
        let clock = Clock::manual(0);
        let got = downloader(&clock, 1 << 20)
            .fetch(&format!("http://{addr}/a.wav"))
            .await;
        assert_eq!(bytes(got).await, vec![1u8; 1000]);
        let streamed = downloader(&clock, 1 << 20)
            .fetch(&format!("http://{addr}/stream"))
            .await;
        assert_eq!(bytes(streamed).await.len(), 10_000);
    }

    #[tokio::test]
    async fn names_itself_in_the_user_agent() {
        let addr = audio_app().await;
        let got = downloader(&Clock::manual(0), 1 << 20)
            .fetch(&format!("http://{addr}/user-agent"))
            .await;
        assert_eq!(String::from_utf8(bytes(got).await).unwrap(), USER_AGENT);
    }

    #[tokio::test]
    async fn a_404_names_the_status() {
        let addr = audio_app().await;
        let err = downloader(&Clock::manual(0), 1 << 20)
            .fetch(&format!("http://{addr}/missing"))
            .await
            .unwrap_err();
        assert_eq!(err, DownloadError::Status(404));
        assert_eq!(
            err.to_string(),
            "Failed to download audio file! HTTP status 404"
        );
        assert_eq!(err.code(), 10007);
    }

    #[tokio::test]
    async fn connection_refused_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = downloader(&Clock::manual(0), 1 << 20)
            .fetch(&format!("http://{addr}/a.wav"))
            .await
            .unwrap_err();
        assert!(matches!(err, DownloadError::Connect(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("Failed to download audio file! Connection failed: "),
            "{msg}"
        );
        assert!(msg.to_lowercase().contains("refused"), "{msg}");
    }

    #[tokio::test]
    async fn oversized_files_are_cut_off() {
        let addr = audio_app().await;
        let clock = Clock::manual(0);
        // Announced by Content-Length: refused before reading.
        let err = downloader(&clock, 999)
            .fetch(&format!("http://{addr}/a.wav"))
            .await
            .unwrap_err();
        assert_eq!(err, DownloadError::TooLarge { limit: 999 });
        assert_eq!(
            err.to_string(),
            "Failed to download audio file! File larger than 999 bytes"
        );
        // Exactly at the limit is fine.
        assert!(downloader(&clock, 1000)
            .fetch(&format!("http://{addr}/a.wav"))
            .await
            .is_ok());
        // Streamed without Content-Length: stopped once the count passes the limit.
        let err = downloader(&clock, 2500)
            .fetch(&format!("http://{addr}/stream"))
            .await
            .unwrap_err();
        assert_eq!(err, DownloadError::TooLarge { limit: 2500 });
    }

    #[tokio::test]
    async fn an_endless_stream_stops_at_the_limit() {
        // A body that never ends: the download must stop at the limit, not read forever.
        let app = Router::new().route(
            "/endless",
            get(|| async {
                let parts =
                    futures_util::stream::repeat_with(|| Ok::<_, Infallible>(vec![0u8; 4096]));
                Body::from_stream(parts)
            }),
        );
        let addr = serve(app).await;
        let err = downloader(&Clock::manual(0), 100_000)
            .fetch(&format!("http://{addr}/endless"))
            .await
            .unwrap_err();
        assert_eq!(err, DownloadError::TooLarge { limit: 100_000 });
    }

    #[tokio::test]
    async fn a_silent_server_times_out_only_when_the_clock_moves() {
        let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<()>();
        let app = Router::new().route(
            "/hang",
            get(move || {
                let arrived_tx = arrived_tx.clone();
                async move {
                    let _ = arrived_tx.send(());
                    std::future::pending::<()>().await;
                }
            }),
        );
        let addr = serve(app).await;
        let clock = Clock::manual(0);
        let dl = Downloader::new(
            clock.clone(),
            DownloadPolicy {
                timeout: Duration::from_secs(60),
                max_bytes: 1 << 20,
                ..DownloadPolicy::default()
            },
        );
        let fetch = tokio::spawn(async move { dl.fetch(&format!("http://{addr}/hang")).await });
        arrived.recv().await.unwrap();
        // Real time passes, simulated time does not: still waiting.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!fetch.is_finished());
        clock.advance(Duration::from_millis(59_999));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!fetch.is_finished());
        clock.advance(Duration::from_millis(1));
        let err = tokio::time::timeout(Duration::from_secs(5), fetch)
            .await
            .expect("timed out on the clock")
            .unwrap()
            .unwrap_err();
        assert_eq!(err, DownloadError::Timeout { after_ms: 60_000 });
        assert_eq!(
            err.to_string(),
            "Failed to download audio file! Timed out after 60 s"
        );
    }

    #[tokio::test]
    async fn follows_up_to_five_redirects() {
        let addr = audio_app().await;
        let dl = downloader(&Clock::manual(0), 1 << 20);
        let got = bytes(dl.fetch(&format!("http://{addr}/hop/5")).await).await;
        assert_eq!(got, b"RIFF-audio");
        let err = dl.fetch(&format!("http://{addr}/hop/6")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Failed to download audio file! Redirect failed: too many redirects"
        );
    }

    #[tokio::test]
    async fn refuses_urls_it_cannot_fetch() {
        let dl = downloader(&Clock::manual(0), 1 << 20);
        for url in ["ftp://example.com/a.wav", "not a url", "file:///etc/passwd"] {
            let err = dl.fetch(url).await.unwrap_err();
            assert!(
                matches!(err, DownloadError::InvalidUrl(_)),
                "{url}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn large_files_wait_in_a_temporary_file_and_hash_as_they_arrive() {
        // 3 MiB in 64 KiB chunks: past the spill threshold, so most of it goes to disk.
        let app = Router::new().route("/big", get(|| async { streamed(48, 64 * 1024) }));
        let addr = serve(app).await;
        let mut got = downloader(&Clock::manual(0), 1 << 30)
            .fetch(&format!("http://{addr}/big"))
            .await
            .unwrap();
        assert!(matches!(got.spool, Spool::File(_)), "{:?}", got.spool);
        assert_eq!(got.len(), 48 * 64 * 1024);
        let expected = vec![7u8; 48 * 64 * 1024];
        assert_eq!(got.sha256(), <[u8; 32]>::from(Sha256::digest(&expected)));
        assert_eq!(got.take_bytes().await.unwrap(), expected);
        // Small files stay in memory.
        let app = Router::new().route("/small", get(|| async { streamed(4, 1000) }));
        let addr = serve(app).await;
        let small = downloader(&Clock::manual(0), 1 << 30)
            .fetch(&format!("http://{addr}/small"))
            .await
            .unwrap();
        assert!(matches!(small.spool, Spool::Memory(_)), "{:?}", small.spool);
    }

    #[tokio::test]
    async fn downloads_past_the_concurrency_wait_for_a_slot() {
        let addr = audio_app().await;
        let dl = Downloader::new(
            Clock::manual(0),
            DownloadPolicy {
                concurrency: 1,
                ..DownloadPolicy::default()
            },
        );
        let first = dl.fetch(&format!("http://{addr}/a.wav")).await.unwrap();
        let waiting = {
            let dl = dl.clone();
            tokio::spawn(async move { dl.fetch(&format!("http://{addr}/a.wav")).await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the only slot is held by the first");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the slot freed")
            .unwrap();
        assert_eq!(bytes(second).await, vec![1u8; 1000]);
    }

    #[test]
    fn every_error_kind_is_a_download_outcome_of_the_metrics() {
        let errors = [
            DownloadError::InvalidUrl(String::new()),
            DownloadError::Status(404),
            DownloadError::Connect(String::new()),
            DownloadError::Redirect(String::new()),
            DownloadError::TooLarge { limit: 1 },
            DownloadError::Timeout { after_ms: 1 },
            DownloadError::Body(String::new()),
            DownloadError::NotAllowed(String::new()),
            DownloadError::Other(String::new()),
        ];
        for e in errors {
            assert!(crate::metrics::DOWNLOAD_OUTCOMES.contains(&e.kind()), "{e}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(60_000), "60 s");
        assert_eq!(describe_duration(1_500), "1500 ms");
        assert_eq!(duration_ms(Duration::MAX), u64::MAX);
    }
}
