//! Audio the simulator serves itself, so an icu task's `Url` can point at it with no other
//! server: files uploaded with `PUT /__admin/audio/{name}`, and WAV files generated on the
//! fly (`/__admin/audio/generated/silence.wav?seconds=…`, `…/speechlike.wav?seconds=…`) for
//! long recordings that would be too big to keep as fixtures.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;

use super::AdminError;
use crate::control::types::{AudioFile, AudioFiles, GenerateQuery};
use crate::state::AppState;

/// Largest file one may upload.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Largest total kept.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;
/// Largest generated file (a 5-hour recording at the default rate is about 18 MB).
pub const MAX_GENERATED_BYTES: u64 = 512 * 1024 * 1024;

/// Uploaded audio by name, bounded in count and bytes.
#[derive(Debug, Default)]
pub struct AudioHost {
    files: Mutex<BTreeMap<String, Bytes>>,
}

impl AudioHost {
    /// Stores `bytes` under `name`, replacing a file of that name.
    pub fn put(&self, name: &str, bytes: Bytes) -> Result<(), String> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("a hosted file is at most {MAX_FILE_BYTES} bytes"));
        }
        let mut files = self.files.lock();
        let others: usize = files
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .map(|(_, b)| b.len())
            .sum();
        if others + bytes.len() > MAX_TOTAL_BYTES {
            return Err(format!(
                "hosted audio is limited to {MAX_TOTAL_BYTES} bytes in all: delete some first"
            ));
        }
        files.insert(name.to_owned(), bytes);
        Ok(())
    }

    /// The file called `name`.
    pub fn get(&self, name: &str) -> Option<Bytes> {
        self.files.lock().get(name).cloned()
    }

    /// Names and sizes.
    pub fn list(&self) -> Vec<(String, usize)> {
        self.files
            .lock()
            .iter()
            .map(|(n, b)| (n.clone(), b.len()))
            .collect()
    }

    /// Removes `name`; true if it existed.
    pub fn remove(&self, name: &str) -> bool {
        self.files.lock().remove(name).is_some()
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.files.lock().clear();
    }
}

/// Routes under `/__admin/audio`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/__admin/audio", get(list))
        .route("/__admin/audio/generated/{kind}", get(generated))
        .route(
            "/__admin/audio/{name}",
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

/// An 8-bit PCM WAV. Speech-like audio alternates 1.2 s of a 3-tone chord with 0.6 s pauses.
pub fn wav_8bit(rate: u32, channels: u16, frames: u64, speechlike: bool) -> Vec<u8> {
    let data_len = frames * channels as u64;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&((36 + data_len).min(u32::MAX as u64) as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * channels as u32).to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data_len.min(u32::MAX as u64) as u32).to_le_bytes());
    let period = (rate as u64 * 18) / 10; // 1.8 s: 1.2 s voiced, 0.6 s pause
    let voiced = (rate as u64 * 12) / 10;
    for i in 0..frames {
        let sample = if speechlike && i % period < voiced {
            let t = i as f64 / rate as f64;
            let v = (t * 2.0 * std::f64::consts::PI * 150.0).sin() * 0.5
                + (t * 2.0 * std::f64::consts::PI * 310.0).sin() * 0.3
                + (t * 2.0 * std::f64::consts::PI * 440.0).sin() * 0.2;
            (128.0 + v * 100.0) as u8
        } else {
            128
        };
        for _ in 0..channels {
            wav.push(sample);
        }
    }
    wav
}
