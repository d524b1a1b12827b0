//! `--record DIR`: what the upstream answered through the proxy, written in the formats the
//! simulator already reads, so `--fixtures DIR/fixtures --scenarios DIR/scenarios` replays
//! it without the upstream.
//!
//! - `DIR/fixtures/<sha256>.toml`: one file per audio (SHA-256 of the bytes as sent): Coze's
//!   text (upload or streaming cycle) and icu's sentences, words and speakers with the
//!   settings they were recognised with ([`icu`]). Recording the same audio again updates its
//!   file: the part just seen is replaced, the other kept.
//! - `DIR/scenarios/<name>.toml`: each distinct error answer as a scenario that reproduces it
//!   ([`errors`]); its name says provider, endpoint and code, and a short hash of the answer.
//!
//! Nothing secret is written: requests' credentials never reach the files, and any string
//! written that contains one (an upstream echoing a token) has it replaced ([`Secrets`]).
//! Every file is written whole to a temporary name and renamed, one write at a time, and
//! checked with the loader the replay will use.

mod coze;
mod errors;
mod files;
mod icu;
mod stream;

use std::path::PathBuf;

use axum::body::Bytes;
use axum::http::HeaderMap;

pub use stream::StreamWatch;

use super::ProxyError;
use crate::outbound::download::Downloader;
use crate::routes::{self, Provider};
use crate::stores::redact::is_credential;

/// One forwarded HTTP exchange, as the recorder reads it.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// Whose path.
    pub provider: Provider,
    /// The request's path.
    pub path: &'a str,
    /// The request's query string.
    pub query: Option<&'a str>,
    /// The request's headers (credentials are only read to keep them out of the files).
    pub request_headers: &'a HeaderMap,
    /// The request's body.
    pub body: &'a Bytes,
    /// The upstream's HTTP status.
    pub status: u16,
    /// The upstream's body as JSON; `None` when it is not JSON.
    pub answer: Option<&'a serde_json::Value>,
}

/// Writes recordings under one folder.
#[derive(Debug)]
pub struct Recorder {
    files: files::Files,
    pending: icu::Pending,
    /// Fetches icu `Url` audio for its hash (the simulator's own downloader).
    downloader: Option<Downloader>,
}

impl Recorder {
    /// Creates `dir/fixtures` and `dir/scenarios` if they do not exist; `downloader` fetches
    /// the audio of icu tasks submitted by `Url` (without it they are not recorded).
    pub fn open(dir: PathBuf, downloader: Option<Downloader>) -> Result<Recorder, ProxyError> {
        let files = files::Files::open(&dir).map_err(|source| ProxyError::Record {
            path: dir.clone(),
            source,
        })?;
        Ok(Recorder {
            files,
            pending: icu::Pending::default(),
            downloader,
        })
    }

    /// Records what one HTTP exchange shows; never fails the exchange (a recording that
    /// cannot be made is logged).
    pub async fn http(&self, ex: Exchange<'_>) {
        let secrets = Secrets::of(ex.request_headers, ex.query);
        match (ex.provider, ex.path) {
            (Provider::Coze, routes::COZE_TRANSCRIBE) => {
                coze::record(&self.files, &secrets, &ex).await;
            }
            (Provider::Icu, routes::ICU_SUBMIT) => {
                let downloader = self.downloader.as_ref();
                icu::submitted(&self.files, &self.pending, downloader, &secrets, &ex).await;
            }
            (Provider::Icu, routes::ICU_QUERY) => {
                icu::queried(&self.files, &self.pending, &secrets, &ex).await;
            }
            _ => tracing::debug!(path = ex.path, "record: not an endpoint that is recorded"),
        }
    }

    /// A watch for one streaming session's frames.
    pub fn stream_watch(&self, headers: &HeaderMap, query: Option<&str>) -> StreamWatch {
        StreamWatch::new(Secrets::of(headers, query))
    }

    /// Writes what a finished streaming session showed.
    pub async fn stream_finished(&self, watch: StreamWatch) {
        stream::finished(&self.files, watch).await;
    }
}

/// The credentials a request carried, so that no file ever holds one.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

/// Credentials shorter than this are not searched for (they would match ordinary words).
const MIN_SECRET_CHARS: usize = 6;

impl Secrets {
    /// Every credential header's value (and the token after a scheme such as `Bearer`), and
    /// the values of query parameters named like credentials (Coze's `authorization`).
    pub fn of(headers: &HeaderMap, query: Option<&str>) -> Secrets {
        let mut found: Vec<String> = Vec::new();
        let mut add = |value: &str| {
            let value = value.trim();
            found.push(value.to_owned());
            if let Some((_, token)) = value.split_once(' ') {
                found.push(token.trim().to_owned());
            }
        };
        for (name, value) in headers {
            if is_credential(name.as_str()) {
                if let Ok(v) = value.to_str() {
                    add(v);
                }
            }
        }
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if is_credential(&name.to_ascii_lowercase()) {
                add(&value);
            }
        }
        found.retain(|s| s.chars().count() >= MIN_SECRET_CHARS);
        // Longest first, so a token inside a longer credential is replaced with it.
        found.sort_by_key(|s| std::cmp::Reverse(s.len()));
        found.dedup();
        Secrets(found)
    }

    /// `text` with every credential replaced by `…`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "…");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_from_headers_and_query_are_scrubbed_from_text() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer pat_abcdef123456".parse().unwrap());
        headers.insert("c-secret", "icu-secret-999".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let s = Secrets::of(&headers, Some("authorization=Bearer%20pat_query_777&x=1"));
        assert_eq!(
            s.scrub("token pat_abcdef123456 and icu-secret-999 and pat_query_777, json"),
            "token … and … and …, json"
        );
        assert_eq!(s.scrub("application/json"), "application/json");
    }
}
