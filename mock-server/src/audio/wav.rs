//! RIFF/WAVE, plus RF64 and BW64 (the 64-bit variants broadcast recorders write past 4 GiB).
//!
//! Streaming recorders often leave the data size at 0 or 0xFFFFFFFF, or are cut off mid-write;
//! like players, the parser then takes whatever data is actually present.

use super::bytes::{le_u16, le_u32, le_u64, slice};
use super::decode::{Container, PcmEncoding, Plan};
use super::{frames_to_ms, Format, Parsed, ProbeError};

const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_MS_ADPCM: u16 = 0x0002;
const WAVE_FORMAT_IMA_ADPCM: u16 = 0x0011;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// The `fmt ` chunk fields that matter here.
#[derive(Debug, Clone, Copy)]
struct Fmt {
    /// Format code, with WAVE_FORMAT_EXTENSIBLE resolved to its sub-format.
    code: u16,
    channels: u16,
    rate: u32,
    byte_rate: u32,
    block_align: u16,
    bits: u16,
}

fn bad(reason: &str) -> ProbeError {
    ProbeError::corrupt(Format::Wav, reason)
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, ProbeError> {
    let is_64 = matches!(b.get(..4), Some(b"RF64" | b"BW64"));
    let riff_size = le_u32(b, 4).ok_or_else(|| bad("header truncated"))?;
    let mut fmt: Option<Fmt> = None;
    let mut data: Option<(usize, usize)> = None;
    let mut ds64_data: Option<u64> = None;
    let mut fact_frames: Option<u32> = None;
    let mut pos = 12usize;
    while let Some(id) = slice(b, pos, 4) {
        let Some(size) = le_u32(b, pos + 4) else {
            break;
        };
        let body = pos + 8;
        let available = b.len().saturating_sub(body);
        match id {
            b"ds64" => {
                ds64_data = le_u64(b, body + 8);
            }
            b"fmt " => {
                let chunk = slice(b, body, usize::try_from(size).unwrap_or(usize::MAX))
                    .ok_or_else(|| bad("fmt chunk truncated"))?;
                fmt = Some(parse_fmt(chunk)?);
            }
            b"fact" => fact_frames = le_u32(b, body),
            b"data" => {
                let declared = if is_64 && size == u32::MAX {
                    ds64_data.unwrap_or(u64::MAX)
                } else if size == 0 && matches!(riff_size, 0 | u32::MAX) {
                    u64::MAX // a streaming writer that never came back to fill in sizes
                } else {
                    u64::from(size)
                };
                let len = usize::try_from(declared)
                    .unwrap_or(usize::MAX)
                    .min(available);
                data = Some((body, len));
                if fmt.is_some() {
                    break;
                }
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        let Some(next) = usize::try_from(size)
            .ok()
            .and_then(|s| body.checked_add(s))
            .and_then(|end| end.checked_add(end & 1))
        else {
            break;
        };
        pos = next;
    }
    let fmt = fmt.ok_or_else(|| bad("no fmt chunk"))?;
    let (start, len) = data.ok_or_else(|| bad("no data chunk"))?;

    let pcm = match (fmt.code, fmt.bits) {
        (WAVE_FORMAT_PCM, 1..=8) => Some(PcmEncoding::U8),
        (WAVE_FORMAT_PCM, 9..=16) => Some(PcmEncoding::S16),
        (WAVE_FORMAT_PCM, 17..=24) => Some(PcmEncoding::S24),
        (WAVE_FORMAT_PCM, 25..=32) => Some(PcmEncoding::S32),
        (WAVE_FORMAT_IEEE_FLOAT, 32) => Some(PcmEncoding::F32),
        (WAVE_FORMAT_IEEE_FLOAT, 64) => Some(PcmEncoding::F64),
        (WAVE_FORMAT_ALAW, _) => Some(PcmEncoding::ALaw),
        (WAVE_FORMAT_MULAW, _) => Some(PcmEncoding::MuLaw),
        _ => None,
    };
    let block = u64::from(fmt.block_align);
    let data_len = len as u64;
    let frames = match (pcm, fact_frames) {
        // Sample-per-block formats: the data length is the truth (fact may be stale).
        (Some(_), _) => data_len / block,
        (None, Some(n)) if n > 0 => u64::from(n),
        (None, _) if fmt.byte_rate > 0 => {
            let ms = u128::from(data_len) * 1000 / u128::from(fmt.byte_rate);
            return Ok(Parsed {
                format: Format::Wav,
                channels: fmt.channels,
                sample_rate: fmt.rate,
                duration_ms: Some(u64::try_from(ms).unwrap_or(u64::MAX)),
                plan: compressed_plan(fmt),
            });
        }
        (None, _) => return Err(bad("compressed data without fact chunk or byte rate")),
    };
    let plan = match pcm {
        // The container width per sample is block_align / channels (12-bit in 16, and so on).
        Some(encoding)
            if usize::from(fmt.block_align) == encoding.width() * usize::from(fmt.channels) =>
        {
            Plan::Pcm {
                data: start..start + len,
                encoding,
                channels: fmt.channels,
                rate: fmt.rate,
            }
        }
        Some(_) => Plan::None,
        None => compressed_plan(fmt),
    };
    Ok(Parsed {
        format: Format::Wav,
        channels: fmt.channels,
        sample_rate: fmt.rate,
        duration_ms: Some(frames_to_ms(frames, fmt.rate)),
        plan,
    })
}

/// ADPCM goes through symphonia; other codecs in WAV (GSM, MP3, ...) are not decoded.
fn compressed_plan(fmt: Fmt) -> Plan {
    match fmt.code {
        WAVE_FORMAT_MS_ADPCM | WAVE_FORMAT_IMA_ADPCM => Plan::Symphonia {
            container: Container::Wav,
            start: 0,
        },
        _ => Plan::None,
    }
}

fn parse_fmt(c: &[u8]) -> Result<Fmt, ProbeError> {
    let short = || bad("fmt chunk too short");
    let mut code = le_u16(c, 0).ok_or_else(short)?;
    let channels = le_u16(c, 2).ok_or_else(short)?;
    let rate = le_u32(c, 4).ok_or_else(short)?;
    let byte_rate = le_u32(c, 8).ok_or_else(short)?;
    let block_align = le_u16(c, 12).ok_or_else(short)?;
    let bits = le_u16(c, 14).unwrap_or(0);
    if code == WAVE_FORMAT_EXTENSIBLE {
        // The sub-format GUID starts with the plain format code.
        code = le_u16(c, 24).ok_or_else(|| bad("WAVE_FORMAT_EXTENSIBLE without sub-format"))?;
    }
    if channels == 0 || rate == 0 || block_align == 0 {
        return Err(bad(
            "fmt chunk has zero channels, sample rate or block size",
        ));
    }
    Ok(Fmt {
        code,
        channels,
        rate,
        byte_rate,
        block_align,
        bits,
    })
}
