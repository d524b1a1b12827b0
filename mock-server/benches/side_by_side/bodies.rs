//! Audio and request bodies: WAV files built in memory, the icu submit JSON, Coze's upload.

use std::net::SocketAddr;

use base64::Engine as _;
use hyper::header::AUTHORIZATION;
use serde_json::{json, Value};

use crate::client::Req;

const BOUNDARY: &str = "----side-by-side-7d2f0c";

fn wav_pcm16(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

/// 1 s of 16-bit silence at 8 kHz (16 044 bytes).
pub(crate) fn silence_8k_1s() -> Vec<u8> {
    wav_pcm16(8000, &[0; 8000])
}

/// A 440 Hz tone at 16 kHz, 16-bit mono, exactly `total` bytes long with its header.
pub(crate) fn tone_wav(total: usize) -> Vec<u8> {
    let n = (total - 44) / 2;
    let samples: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            ((t * 2.0 * std::f64::consts::PI * 440.0).sin() * 8_000.0) as i16
        })
        .collect();
    wav_pcm16(16_000, &samples)
}

pub(crate) fn submit_body(engine: &str, wav: &[u8], callback: Option<&str>) -> String {
    let mut body = json!({
        "EngineModelType": engine,
        "ChannelNum": 1,
        "ResTextFormat": 0,
        "SourceType": 1,
        "Data": base64::engine::general_purpose::STANDARD.encode(wav),
    });
    if let Some(url) = callback {
        body["CallbackUrl"] = Value::from(url);
    }
    body.to_string()
}

/// Provider A's upload: one `file` field, as the Coze SDKs send it.
pub(crate) fn upload_request(addr: SocketAddr, wav: &[u8]) -> Req {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tone.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(wav);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Req::post(
        addr,
        "/v1/audio/transcriptions",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        body,
    )
    .header(AUTHORIZATION, "Bearer pat_side_by_side")
}
