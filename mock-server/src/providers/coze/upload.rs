//! Reading Coze's multipart upload: streamed, keeping only the `file` part, refused as soon
//! as a limit is crossed so an oversized upload is never buffered.

use axum::http::{header, HeaderMap};

use super::error::{CozeError, MAX_BODY_BYTES, MAX_FILE_BYTES};
use crate::http::body::DrainableBody;

/// The one `file` part of an upload.
#[derive(Debug)]
pub struct Upload {
    /// Basename of the part's filename.
    pub filename: String,
    /// The file's bytes, at most [`MAX_FILE_BYTES`].
    pub bytes: Vec<u8>,
}

/// Streams the multipart body, keeping only the `file` part, and refuses as soon as a limit
/// is crossed so an oversized upload is never buffered.
pub async fn read_upload(headers: &HeaderMap, body: &DrainableBody) -> Result<Upload, CozeError> {
    if declared_too_large(headers) {
        return Err(CozeError::body_too_large());
    }
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
        if field.name() != Some("file") {
            // Other parts are ignored, but still read under the whole-body limit.
            while field.chunk().await.map_err(multipart_error)?.is_some() {}
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
            bytes.extend_from_slice(&chunk);
        }
        upload = Some(Upload { filename, bytes });
    }
    upload.ok_or_else(CozeError::file_invalid)
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
