//! Audio the simulator serves itself, so an icu task's `Url` can point at it with no other
//! server: files uploaded with `PUT /__admin/audio/{name}`, and WAV files generated on the
//! fly (`/__admin/audio/generated/silence.wav?seconds=…`, `…/speechlike.wav?seconds=…`) for
//! long recordings that would be too big to keep as fixtures.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AdminError;
use crate::audio::synth::{Synth, HEADER_BYTES};
use crate::control::types::{AudioFile, AudioFiles, GenerateQuery};
use crate::routes;
use crate::state::AppState;
use crate::stores::audio_host::MAX_FILE_BYTES;

/// Largest generated file (a 5-hour recording at the default rate is about 18 MB).
pub const MAX_GENERATED_BYTES: u64 = 512 * 1024 * 1024;

/// Routes under `/__admin/audio`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::AUDIO, get(list))
        .route(routes::admin::AUDIO_GENERATED, get(generated))
        .route(
            routes::admin::AUDIO_FILE,
            get(fetch).put(upload).post(upload).delete(remove),
        )
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES))
}

async fn list(State(state): State<AppState>) -> Json<AudioFiles> {
    let files = state
        .audio_host
        .list()
        .into_iter()
        .map(|(name, size)| AudioFile::new(name, size))
        .collect();
    Json(AudioFiles { files })
}

async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<AudioFile>), AdminError> {
    // Over the body limit (or cut short): the control API's envelope, not axum's plain text.
    let body = body.map_err(|e| AdminError(e.status(), e.body_text()))?;
    if name.is_empty() || name.contains('/') || name == "generated" {
        return Err(AdminError::bad(
            "name the file with one path segment, e.g. /__admin/audio/call.wav",
        ));
    }
    let size = body.len();
    state.audio_host.put(&name, body).map_err(AdminError::bad)?;
    Ok((StatusCode::CREATED, Json(AudioFile::new(name, size))))
}

async fn fetch(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.audio_host.get(&name) {
        Some(bytes) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::from(bytes),
        )
            .into_response(),
        None => AdminError::not_found(format!("no hosted audio called {name:?}")).into_response(),
    }
}

async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, AdminError> {
    if state.audio_host.remove(&name) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AdminError::not_found(format!(
            "no hosted audio called {name:?}"
        )))
    }
}

/// `silence.wav` (digital silence) or `speechlike.wav` (bursts of tone with pauses, which
/// the speech detector takes for speech): 8-bit PCM WAV of any length up to
/// [`MAX_GENERATED_BYTES`], streamed as it is made (see [`stream_wav`]).
async fn generated(
    Path(kind): Path<String>,
    query: Result<Query<GenerateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    let speechlike = match kind.as_str() {
        "silence.wav" => false,
        "speechlike.wav" => true,
        other => {
            return Err(AdminError::not_found(format!(
                "no generator {other:?}: use silence.wav or speechlike.wav"
            )))
        }
    };
    let rate = q.rate.unwrap_or(1000).clamp(100, 48_000);
    let channels = q.channels.unwrap_or(1).clamp(1, 2);
    let synth = generated_size(q.seconds, rate, channels, speechlike)?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (header::CONTENT_LENGTH, synth.total_bytes().to_string()),
        ],
        Body::from_stream(stream_wav(synth)),
    )
        .into_response())
}

/// Checks the size a query asks for before anything is made: seconds × rate × channels is
/// computed in floating point first (a query can ask for 2^53 seconds), then in checked
/// integers once it is known to be under the cap.
fn generated_size(
    seconds: f64,
    rate: u32,
    channels: u16,
    speechlike: bool,
) -> Result<Synth, AdminError> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(AdminError::bad("seconds must be a finite number >= 0"));
    }
    let too_big = |bytes: f64| {
        AdminError::bad(format!(
            "that would be {bytes:.0} bytes; generated audio is limited to {MAX_GENERATED_BYTES}: lower rate or seconds"
        ))
    };
    let frames = (seconds * f64::from(rate)).round();
    let bytes = frames * f64::from(channels);
    // Finite, since seconds is and the rate and channels are small.
    if bytes > MAX_GENERATED_BYTES as f64 {
        return Err(too_big(bytes));
    }
    // Under the cap, so the cast is exact; the multiplication is checked all the same.
    let synth = Synth::new(rate, channels, frames as u64, speechlike)
        .filter(|s| s.total_bytes() - HEADER_BYTES <= MAX_GENERATED_BYTES)
        .ok_or_else(|| too_big(bytes))?;
    Ok(synth)
}

/// Frames made per chunk: 256 KiB of mono samples.
const CHUNK_FRAMES: u64 = 256 * 1024;

/// The file as a stream of chunks, each made on the blocking pool (a speech-like chunk costs
/// sines per sample) and only when the client has taken the previous one, so memory stays at
/// one chunk per download and the async workers never generate.
fn stream_wav(
    synth: Synth,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(0u64), move |next| async move {
        let from = next?;
        let chunk = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            if from == 0 {
                out.extend_from_slice(&synth.header());
            }
            synth.samples_into(from, CHUNK_FRAMES, &mut out);
            out
        })
        .await;
        match chunk {
            Ok(bytes) => {
                let after = from.saturating_add(CHUNK_FRAMES);
                let next = (after < synth.frames()).then_some(after);
                Some((Ok(Bytes::from(bytes)), next))
            }
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}
