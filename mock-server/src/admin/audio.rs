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
use crate::audio::synth::wav_8bit;
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
    body: Bytes,
) -> Result<(StatusCode, Json<AudioFile>), AdminError> {
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
/// the speech detector takes for speech): 8-bit PCM WAV of any length.
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
    if !(q.seconds.is_finite() && q.seconds >= 0.0) {
        return Err(AdminError::bad("seconds must be a finite number >= 0"));
    }
    let frames = (q.seconds * rate as f64).round() as u64;
    let data_len = frames * channels as u64;
    if data_len > MAX_GENERATED_BYTES {
        return Err(AdminError::bad(format!(
            "that would be {data_len} bytes; generated audio is limited to {MAX_GENERATED_BYTES}: lower rate or seconds"
        )));
    }
    let wav = wav_8bit(rate, channels, frames, speechlike);
    Ok(([(header::CONTENT_TYPE, "audio/wav")], wav).into_response())
}
