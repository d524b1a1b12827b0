//! Reading Coze's multipart upload: streamed, keeping only the `file` part, refused as soon
//! as a limit is crossed so an oversized upload is never buffered. Every part is described
//! for the journal as it streams past (name, filename, type, size, SHA-256).

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use super::error::{CozeError, MAX_BODY_BYTES, MAX_FILE_BYTES};
use crate::http::body::DrainableBody;
use crate::stores::request_body::{PartSummary, PartsSeen};

/// The one `file` part of an upload.
#[derive(Debug)]
pub struct Upload {
    /// Basename of the part's filename.
    pub filename: String,
    /// The file's bytes, at most [`MAX_FILE_BYTES`].
    pub bytes: Vec<u8>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
}

/// Streams the multipart body, keeping only the `file` part, and refuses as soon as a limit
/// is crossed so an oversized upload is never buffered. `parts` receives a summary of each
/// part read, the one being read when a limit was crossed included.
pub async fn read_upload(
    headers: &HeaderMap,
    body: &DrainableBody,
    parts: &mut PartsSeen,
) -> Result<Upload, CozeError> {
    if declared_too_large(headers) {
        return Err(CozeError::body_too_large());
    }
    read_parts(headers, body, parts, true)
        .await?
        .ok_or_else(CozeError::file_invalid)
}

/// Reads an upload refused before its body was looked at (a bad token) only to describe
/// its parts for the journal, keeping none; instead of draining it blindly. A body that is
/// not multipart, or breaks off, is left to the caller's drain.
pub async fn describe_unread(headers: &HeaderMap, body: &DrainableBody, parts: &mut PartsSeen) {
    if body.seen() == 0 && !declared_too_large(headers) {
        let _ = read_parts(headers, body, parts, false).await;
    }
}

/// The one multipart loop: with `keep`, the `file` part is checked and kept.
async fn read_parts(
    headers: &HeaderMap,
    body: &DrainableBody,
    parts: &mut PartsSeen,
    keep: bool,
) -> Result<Option<Upload>, CozeError> {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(CozeError::file_invalid)?;
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_BODY_BYTES));
    let mut multipart = multer::Multipart::with_constraints(body.stream(), boundary, constraints);
    let mut upload: Option<Upload> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let summary = parts.start(PartSummary::new(
            field.name(),
            field.file_name(),
            field
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        ));
        let mut part = PartReader {
            parts: &mut parts.parts,
            at: summary,
            hash: Sha256::new(),
        };
        if !keep || field.name() != Some("file") {
            // Other parts are ignored, but still read under the whole-body limit.
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                part.saw(&chunk);
            }
            part.finish();
            continue;
        }
        if upload.is_some() {
            return Err(CozeError::too_many_files());
        }
        let filename = match field.file_name().map(basename) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => return Err(CozeError::file_invalid()),
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if (bytes.len() + chunk.len()) as u64 > MAX_FILE_BYTES {
                return Err(CozeError::file_too_large());
            }
            part.saw(&chunk);
            bytes.extend_from_slice(&chunk);
        }
        let sha256 = part.finish();
        upload = Some(Upload {
            filename,
            bytes,
            sha256,
        });
    }
    Ok(upload)
}

/// Sizes and hashes one part as it streams past, into its summary (if it has one).
struct PartReader<'a> {
    parts: &'a mut Vec<PartSummary>,
    at: Option<usize>,
    hash: Sha256,
}

impl PartReader<'_> {
    fn saw(&mut self, chunk: &[u8]) {
        self.hash.update(chunk);
        if let Some(part) = self.at.and_then(|i| self.parts.get_mut(i)) {
            part.size += chunk.len() as u64;
        }
    }

    /// The part was read to its end: its hash, also recorded in the summary.
    fn finish(self) -> [u8; 32] {
        let sha: [u8; 32] = self.hash.finalize().into();
        if let Some(part) = self.at.and_then(|i| self.parts.get_mut(i)) {
            part.sha256 = Some(hex::encode(sha));
        }
        sha
    }
}

/// A `Content-Length` over the body limit: refused without reading a byte of it.
pub fn declared_too_large(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY_BYTES)
}

fn multipart_error(err: multer::Error) -> CozeError {
    match err {
        multer::Error::StreamSizeExceeded { .. } => CozeError::body_too_large(),
        other => CozeError::bad_request(format!(
            "The multipart/form-data body is malformed ({other}). Send the audio as a part named file."
        )),
    }
}

/// The last component of a filename that may be a full Unix or Windows path.
fn basename(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_handles_unix_and_windows_paths() {
        assert_eq!(basename("/Users/u/Downloads/hello.mp3"), "hello.mp3");
        assert_eq!(basename("C:\\a\\b.wav"), "b.wav");
        assert_eq!(basename("upload"), "upload");
    }
}
