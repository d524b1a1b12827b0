//! `POST /v1/audio/transcriptions`: authenticate, stream the multipart body under the size
//! limits, probe the audio, and answer with a transcript in Coze's envelope.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Extension, Json, Router};
use sha2::{Digest, Sha256};

use super::error::{CozeError, MAX_BODY_BYTES, MAX_DURATION_MS, MAX_FILE_BYTES};
use super::wire::{AudioTranscriptionsData, ErrorResponse, ResponseDetail, TranscriptionResponse};
use crate::audio::{self, Format, ProbeError};
use crate::body::DrainableBody;
use crate::config::CozeModel;
use crate::journal::JournalNote;
use crate::scenarios::{middleware, Facts, Provider, Selected};
use crate::state::AppState;
use crate::tokens::{AuthOutcome, CREATE_TRANSCRIPTION};
use crate::transcript::filters::{self, Filters};
use crate::transcript::{self, GenerateInput, Language};

/// The header both carrying and echoing the logid.
pub const LOGID_HEADER: &str = "x-tt-logid";

/// Provider A's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/audio/transcriptions",
            post(transcribe).fallback(method_not_allowed),
        )
        .route("/v1/{*rest}", any(not_found))
}

async fn transcribe(
    State(state): State<AppState>,
    selected: Option<Extension<Selected>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let logid = state.next_logid();
    let body = DrainableBody::new(body);
    let mut facts = None;
    let selected = selected.map(|Extension(s)| s);
    let result = handle(&state, selected.as_ref(), &headers, &body, &mut facts).await;
    if result.is_err() && !declared_too_large(&headers) {
        // Let a client that is still uploading finish, so it reads the answer.
        body.drain(MAX_BODY_BYTES).await;
    }
    let mut response = respond(result, logid);
    if let Some(facts) = facts {
        // For scenarios that match on the upload (filename, audio hash).
        response.extensions_mut().insert(facts);
    }
    response
}

/// An error answer in Coze's envelope with a fresh logid (scenario faults use it too).
pub fn error_response(state: &AppState, err: CozeError) -> Response {
    respond(Err(err), state.next_logid())
}

async fn method_not_allowed(State(state): State<AppState>, method: Method) -> Response {
    respond(
        Err(CozeError::method_not_allowed(method.as_str())),
        state.next_logid(),
    )
}

async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    respond(Err(CozeError::not_found(uri.path())), state.next_logid())
}

async fn handle(
    state: &AppState,
    selected: Option<&Selected>,
    headers: &HeaderMap,
    body: &DrainableBody,
    facts: &mut Option<Facts>,
) -> Result<String, CozeError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.tokens.check(authorization, CREATE_TRANSCRIPTION) {
        AuthOutcome::Allowed => {}
        AuthOutcome::Unauthenticated => return Err(CozeError::auth_invalid()),
        AuthOutcome::Forbidden => return Err(CozeError::permission_denied(CREATE_TRANSCRIPTION)),
    }
    let upload = read_upload(headers, body).await?;
    let sha: [u8; 32] = Sha256::digest(&upload.bytes).into();
    let known = facts.insert(Facts {
        provider: Some(Provider::Coze),
        path: "/v1/audio/transcriptions".into(),
        filename: Some(upload.filename.clone()),
        audio_sha256: Some(sha),
        ..Facts::default()
    });
    let scenarios = middleware::for_handler(state, selected, known);
    if upload.bytes.is_empty() {
        return Err(CozeError::file_empty());
    }
    let model = state.coze_model;
    let probe_opts = state.probe.clone();
    let (bytes, filename) = (upload.bytes, upload.filename);
    // Probing decodes the audio: keep that off the async workers.
    let (probed, filename) = tokio::task::spawn_blocking(move || {
        let probed = audio::probe(&bytes, Some(&filename), &probe_opts);
        (probed, filename)
    })
    .await
    .map_err(|_| CozeError::internal())?;
    let info = match probed {
        Ok(info) => info,
        Err(err) => return Err(probe_failure(model, &filename, &err)),
    };
    if !supports(model, info.format) {
        return Err(CozeError::unsupported_format(
            info.format.name(),
            model_name(model),
            supported_list(model),
        ));
    }
    if info.duration_ms >= MAX_DURATION_MS {
        return Err(CozeError::too_long(info.duration_ms));
    }
    // The same words as provider B with its default options (numbers in Arabic digits),
    // so one audio file reads the same on both APIs.
    let transcript = transcript::transcribe(
        &state.fixtures,
        &GenerateInput {
            seed: state.seed,
            audio_sha256: sha,
            language: Language::Mandarin,
            duration_ms: info.duration_ms,
            voiced: info.voiced.as_deref(),
        },
    );
    if transcript.sentences.is_empty() && scenarios.iter().any(|s| s.identity.coze_no_speech_5000) {
        // The provider's old behaviour for audio without speech, kept as a scenario.
        return Err(CozeError::internal());
    }
    Ok(filters::apply(&transcript, &Filters::PROVIDER_DEFAULT).text())
}

/// The one `file` part of an upload.
#[derive(Debug)]
struct Upload {
    /// Basename of the part's filename.
    filename: String,
    /// The file's bytes, at most [`MAX_FILE_BYTES`].
    bytes: Vec<u8>,
}

/// Streams the multipart body, keeping only the `file` part, and refuses as soon as a limit
/// is crossed so an oversized upload is never buffered.
async fn read_upload(headers: &HeaderMap, body: &DrainableBody) -> Result<Upload, CozeError> {
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
fn declared_too_large(headers: &HeaderMap) -> bool {
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

/// Maps a probe failure to Coze's code: a name that promises a format the model takes but
/// bytes that are not that format is "undecodable" (4304); anything else is an unsupported
/// format (4303).
fn probe_failure(model: CozeModel, filename: &str, err: &ProbeError) -> CozeError {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match err {
        ProbeError::Empty => CozeError::file_empty(),
        ProbeError::Corrupt { format, reason } => {
            if supported_formats(model).iter().any(|f| f.name() == *format) {
                CozeError::undecodable(&format!(
                    "the {format} data is corrupt or truncated ({reason})"
                ))
            } else {
                CozeError::unsupported_format(format, model_name(model), supported_list(model))
            }
        }
        ProbeError::Unrecognized => match ext {
            Some(ext) if extension_supported(model, &ext) => CozeError::undecodable(&format!(
                "the file is named .{ext} but its bytes are not {ext} audio"
            )),
            Some(ext) => {
                CozeError::unsupported_format(&ext, model_name(model), supported_list(model))
            }
            None => {
                CozeError::unsupported_format("unknown", model_name(model), supported_list(model))
            }
        },
    }
}

/// Whether `model` accepts audio of `format` (seed's two lists; 3gp, flac, wma and flv are in
/// neither).
pub fn supports(model: CozeModel, format: Format) -> bool {
    supported_formats(model).contains(&format)
}

fn supported_formats(model: CozeModel) -> &'static [Format] {
    use Format::*;
    match model {
        CozeModel::Large => &[
            Wav, Mp3, OggVorbis, OggOpus, OggSpeex, M4a, Mp4, Pcm, Aac, Amr, AmrWb,
        ],
        CozeModel::Small => &[Wav, Mp3, OggVorbis, OggOpus, M4a, Mp4],
    }
}

fn extension_supported(model: CozeModel, ext: &str) -> bool {
    supported_list(model).split(", ").any(|e| e == ext)
}

fn model_name(model: CozeModel) -> &'static str {
    match model {
        CozeModel::Large => "large",
        CozeModel::Small => "small",
    }
}

fn supported_list(model: CozeModel) -> &'static str {
    match model {
        CozeModel::Large => "opus, ogg, mp3, wav, m4a, mp4, pcm, raw, spx, aac, amr",
        CozeModel::Small => "ogg, mp3, wav, mp4, m4a",
    }
}

/// Builds the answer: JSON, the logid in header and body, and a note for the journal.
fn respond(result: Result<String, CozeError>, logid: String) -> Response {
    let detail = ResponseDetail {
        logid: logid.clone(),
    };
    let (mut response, note) = match result {
        Ok(text) => (
            Json(TranscriptionResponse {
                code: 0,
                msg: String::new(),
                data: AudioTranscriptionsData { text },
                detail,
            })
            .into_response(),
            JournalNote {
                provider: Some("coze"),
                code: Some(0),
                msg: None,
                id: Some(logid.clone()),
            },
        ),
        Err(err) => {
            let note = JournalNote {
                provider: Some("coze"),
                code: Some(err.code),
                msg: Some(err.msg.clone()),
                id: Some(logid.clone()),
            };
            let body = ErrorResponse {
                code: err.code,
                msg: err.msg,
                detail,
            };
            ((err.status, Json(body)).into_response(), note)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&logid) {
        response.headers_mut().insert(LOGID_HEADER, value);
    }
    response.extensions_mut().insert(note);
    response
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

    #[test]
    fn model_lists_follow_the_seed() {
        assert!(supports(CozeModel::Large, Format::Amr));
        assert!(!supports(CozeModel::Small, Format::Amr));
        assert!(!supports(CozeModel::Small, Format::Pcm));
        for f in [Format::Flac, Format::Wma, Format::Flv, Format::ThreeGp] {
            assert!(!supports(CozeModel::Large, f));
        }
    }
}
