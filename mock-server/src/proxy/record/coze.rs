//! A Coze upload through the proxy: the `file` part's SHA-256 keys the fixture its text is
//! written to; an error answer becomes a scenario.

use sha2::{Digest, Sha256};

use super::errors::{self, Recorded};
use super::files::Files;
use super::{Exchange, Secrets};
use crate::providers::coze::error::MAX_BODY_BYTES;
use crate::transcript::Fixture;

/// Records one transcription answer.
pub async fn record(files: &Files, secrets: &Secrets, ex: &Exchange<'_>) {
    let Some(answer) = ex.answer else {
        tracing::info!(
            status = ex.status,
            "record: Coze answer is not JSON, not recorded"
        );
        return;
    };
    let code = answer.get("code").and_then(serde_json::Value::as_i64);
    let text = answer
        .pointer("/data/text")
        .and_then(serde_json::Value::as_str);
    match (ex.status, code, text) {
        (200..=299, Some(0), Some(text)) => {
            let Some(sha) = audio_sha256(ex).await else {
                tracing::info!("record: Coze upload without a readable file part, not recorded");
                return;
            };
            write_text(files, sha, secrets.scrub(text), "coze").await;
        }
        (status, Some(code), _) if code != 0 || status >= 400 => {
            let msg = answer
                .get("msg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            errors::record(files, secrets, &Recorded::Coze { status, code, msg }).await;
        }
        _ => tracing::info!(
            status = ex.status,
            "record: Coze answer without code, not recorded"
        ),
    }
}

/// SHA-256 of the upload's `file` part, as the simulator hashes it.
async fn audio_sha256(ex: &Exchange<'_>) -> Option<[u8; 32]> {
    let content_type = ex
        .request_headers
        .get(axum::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let boundary = multer::parse_boundary(content_type).ok()?;
    let body = ex.body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::with_constraints(
        stream,
        boundary,
        multer::Constraints::new()
            .size_limit(multer::SizeLimit::new().whole_stream(MAX_BODY_BYTES)),
    );
    while let Ok(Some(mut field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let mut hasher = Sha256::new();
        while let Ok(Some(chunk)) = field.chunk().await {
            hasher.update(&chunk);
        }
        return Some(hasher.finalize().into());
    }
    None
}

/// Sets the Coze text of the audio's fixture (upload or streaming cycle), keeping its
/// `[icu]` recording.
pub async fn write_text(files: &Files, sha: [u8; 32], text: String, kind: &str) {
    let written = files
        .update_fixture(sha, move |current| {
            let mut fixture = current.unwrap_or_else(|| Fixture {
                text: String::new(),
                sentences: None,
                icu: None,
            });
            fixture.text = text;
            fixture.sentences = None;
            fixture
        })
        .await;
    log_fixture(kind, &sha, written);
}

/// Logs where a fixture went, or why it did not.
pub fn log_fixture(kind: &str, sha: &[u8; 32], written: Result<std::path::PathBuf, String>) {
    match written {
        Ok(path) => {
            tracing::info!(kind, sha256 = %hex::encode(sha), path = %path.display(), "recorded a fixture")
        }
        Err(e) => {
            tracing::warn!(kind, sha256 = %hex::encode(sha), error = %e, "record: fixture not written")
        }
    }
}
