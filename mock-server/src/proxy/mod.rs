//! The recording proxy (`--proxy-coze URL`, `--proxy-icu URL`, `--record DIR`): a provider's
//! every request goes to the upstream as it came (credentials untouched, never stored) and
//! the upstream's answer goes back as it came. With `--record`, what the upstream answered
//! is written as ordinary fixtures and scenario files ([`record`]), so a later run without
//! the proxy replays it.
//!
//! - `http.rs` forwards one HTTP request (bodies bounded by the provider's own limits);
//! - `ws.rs` forwards a Coze streaming session frame by frame;
//! - `record/` turns answers into fixture and scenario files.
//!
//! **Invariants:** the proxy never answers from the simulator's own engine for a proxied
//! provider; an upstream that cannot be reached is a 502 in the provider's envelope; at most
//! [`MAX_IN_FLIGHT`] forwarded requests wait on the upstream at once (a client still sending
//! its body holds no slot).

mod http;
pub mod record;
mod ws;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

pub use http::forward;

use crate::outbound::download::Downloader;
use crate::routes::Provider;
use record::Recorder;

/// Most forwarded HTTP requests in flight; more wait for a slot (each may hold a body of up
/// to the provider's limit, 15–21 MB).
pub const MAX_IN_FLIGHT: usize = 32;

/// What the settings ask the proxy to do.
#[derive(Debug, Clone, Default)]
pub struct ProxySettings {
    /// Coze's upstream base URL.
    pub coze: Option<String>,
    /// icu's upstream base URL.
    pub icu: Option<String>,
    /// Where recordings go.
    pub record: Option<PathBuf>,
    /// Real time one forwarded request may take.
    pub timeout: Duration,
}

/// Why the proxy settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A base URL that is not an absolute http(s) URL.
    #[error("--proxy-{provider}: {reason}")]
    Url {
        /// Whose URL.
        provider: Provider,
        /// What is wrong.
        reason: String,
    },
    /// `--record` without a proxy.
    #[error(
        "--record needs --proxy-coze or --proxy-icu: without a proxy there is nothing to record"
    )]
    RecordWithoutProxy,
    /// The record folder cannot be created.
    #[error("--record {}: {source}", path.display())]
    Record {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The HTTP client cannot be built.
    #[error("proxy client: {0}")]
    Client(String),
}

/// The proxy: upstreams, one pooled client, the in-flight bound and the recorder.
#[derive(Debug)]
pub struct Proxy {
    coze: Option<Url>,
    icu: Option<Url>,
    client: reqwest::Client,
    slots: Semaphore,
    timeout: Duration,
    /// Writes recordings, when `--record` is set.
    pub recorder: Option<Recorder>,
}

impl Proxy {
    /// The proxy the settings ask for; `None` when neither provider is proxied. The
    /// recorder fetches icu `Url` audio with `downloader`.
    pub fn from_settings(
        settings: &ProxySettings,
        downloader: Option<Downloader>,
    ) -> Result<Option<Arc<Proxy>>, ProxyError> {
        let coze = settings
            .coze
            .as_deref()
            .map(|u| base_url(Provider::Coze, u))
            .transpose()?;
        let icu = settings
            .icu
            .as_deref()
            .map(|u| base_url(Provider::Icu, u))
            .transpose()?;
        if coze.is_none() && icu.is_none() {
            return match settings.record {
                Some(_) => Err(ProxyError::RecordWithoutProxy),
                None => Ok(None),
            };
        }
        let recorder = settings
            .record
            .as_ref()
            .map(|dir| Recorder::open(dir.clone(), downloader))
            .transpose()?;
        let client = reqwest::Client::builder()
            // The upstream's answer goes back as it came: no redirects followed for it,
            // no decompression (the bytes and their Content-Encoding go back together).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ProxyError::Client(e.to_string()))?;
        Ok(Some(Arc::new(Proxy {
            coze,
            icu,
            client,
            slots: Semaphore::new(MAX_IN_FLIGHT),
            timeout: settings.timeout,
            recorder,
        })))
    }

    /// The upstream of `provider`, if it is proxied.
    pub fn upstream(&self, provider: Provider) -> Option<&Url> {
        match provider {
            Provider::Coze => self.coze.as_ref(),
            Provider::Icu => self.icu.as_ref(),
        }
    }

    /// Whether `addr` is where an upstream points: the simulator must not proxy to itself.
    pub fn points_at(&self, addr: std::net::SocketAddr) -> Option<Provider> {
        [Provider::Coze, Provider::Icu].into_iter().find(|&p| {
            self.upstream(p).is_some_and(|u| {
                let port = u.port_or_known_default();
                let host_is = match u.host() {
                    Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip) == addr.ip(),
                    Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip) == addr.ip(),
                    Some(url::Host::Domain(d)) => {
                        d.eq_ignore_ascii_case("localhost") && addr.ip().is_loopback()
                    }
                    None => false,
                };
                host_is && port == Some(addr.port())
            })
        })
    }

    /// The upstream URL of a request: the base's path, then the request's path and query.
    fn target(&self, provider: Provider, path_and_query: &str) -> Option<Url> {
        let base = self.upstream(provider)?;
        let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path_and_query);
        Url::parse(&joined).ok()
    }
}

/// An upstream base URL: absolute http(s) with a host, no query or fragment.
fn base_url(provider: Provider, raw: &str) -> Result<Url, ProxyError> {
    let fail = |reason: String| ProxyError::Url { provider, reason };
    if !raw.contains("://") {
        // `localhost:8080` would parse as the scheme `localhost`: say what is missing.
        return Err(fail(format!(
            "{raw:?} has no scheme: give the whole base URL, e.g. \"http://{raw}\""
        )));
    }
    let url = Url::parse(raw.trim()).map_err(|e| fail(format!("{raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail(format!(
            "{raw:?}: the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(fail(format!("{raw:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(fail(format!(
            "{raw:?}: a base URL takes no query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(format!(
            "{raw:?}: credentials in the URL would be logged; pass them in the requests"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_joined_with_the_request_path() {
        let p = Proxy::from_settings(
            &ProxySettings {
                coze: Some("https://api.coze.cn/".into()),
                icu: Some("http://127.0.0.1:9000/prefix".into()),
                record: None,
                timeout: Duration::from_secs(1),
            },
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            p.target(Provider::Coze, "/v1/audio/transcriptions")
                .unwrap()
                .as_str(),
            "https://api.coze.cn/v1/audio/transcriptions"
        );
        assert_eq!(
            p.target(Provider::Icu, "/openapi/asr/searchResult?TaskId=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/prefix/openapi/asr/searchResult?TaskId=1"
        );
        assert_eq!(
            p.points_at("127.0.0.1:9000".parse().unwrap()),
            Some(Provider::Icu)
        );
        assert_eq!(p.points_at("127.0.0.1:9001".parse().unwrap()), None);
        for bad in [
            "localhost:8080",
            "ftp://x",
            "not a url",
            "http://u:p@host/",
            "http://host/?q=1",
        ] {
            let e = Proxy::from_settings(
                &ProxySettings {
                    coze: Some(bad.into()),
                    ..ProxySettings::default()
                },
                None,
            )
            .unwrap_err();
            assert!(e.to_string().starts_with("--proxy-coze: "), "{e}");
        }
        let e = Proxy::from_settings(
            &ProxySettings {
                record: Some("x".into()),
                ..ProxySettings::default()
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(e, ProxyError::RecordWithoutProxy));
        assert!(Proxy::from_settings(&ProxySettings::default(), None)
            .unwrap()
            .is_none());
    }
}
