//! ASF (WMA): the Header Object holds a File Properties Object (play duration in 100 ns units,
//! which includes the preroll in milliseconds that players skip) and one Stream Properties
//! Object per stream (a WAVEFORMATEX for audio).

use super::bytes::{le_u16, le_u32, le_u64, slice};
use super::decode::Plan;
use super::{Format, Parsed, ProbeError};

const FILE_PROPERTIES: [u8; 16] = [
    0xA1, 0xDC, 0xAB, 0x8C, 0x47, 0xA9, 0xCF, 0x11, 0x8E, 0xE4, 0x00, 0xC0, 0x0C, 0x20, 0x53, 0x65,
];
const STREAM_PROPERTIES: [u8; 16] = [
    0x91, 0x07, 0xDC, 0xB7, 0xB7, 0xA9, 0xCF, 0x11, 0x8E, 0xE6, 0x00, 0xC0, 0x0C, 0x20, 0x53, 0x65,
];
const AUDIO_MEDIA: [u8; 16] = [
    0x40, 0x9E, 0x69, 0xF8, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B,
];
/// File Properties flag: a live broadcast, whose durations are meaningless.
const BROADCAST: u32 = 0x01;

fn bad(reason: &str) -> ProbeError {
    ProbeError::corrupt(Format::Wma, reason)
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, ProbeError> {
    let header_size = le_u64(b, 16).ok_or_else(|| bad("header truncated"))?;
    let header_end = usize::try_from(header_size).unwrap_or(usize::MAX);
    if header_end > b.len() {
        return Err(bad("header object truncated"));
    }
    let mut duration_ms: Option<u64> = None;
    let mut audio: Option<(u16, u32)> = None;
    let mut pos = 30usize; // GUID, size, object count, two reserved bytes
    while pos + 24 <= header_end {
        let (Some(guid), Some(size)) = (slice(b, pos, 16), le_u64(b, pos + 16)) else {
            break;
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size < 24 || size > header_end - pos {
            return Err(bad("header sub-object overruns the header"));
        }
        let body = pos + 24;
        if guid == FILE_PROPERTIES {
            // File ID (16), file size, creation date, data packets, play, send, preroll, flags.
            let play = le_u64(b, body + 40).ok_or_else(|| bad("file properties truncated"))?;
            let preroll = le_u64(b, body + 56).ok_or_else(|| bad("file properties truncated"))?;
            let flags = le_u32(b, body + 64).ok_or_else(|| bad("file properties truncated"))?;
            let file_size = le_u64(b, body + 16).unwrap_or(0);
            if (b.len() as u64).saturating_mul(100) < file_size.saturating_mul(99) {
                return Err(bad("file is shorter than its header says"));
            }
            if flags & BROADCAST == 0 {
                duration_ms = Some((play / 10_000).saturating_sub(preroll));
            }
        } else if guid == STREAM_PROPERTIES
            && audio.is_none()
            && slice(b, body, 16) == Some(&AUDIO_MEDIA[..])
        {
            // Type-specific data (WAVEFORMATEX) follows two GUIDs, a time offset, two
            // lengths, flags and a reserved dword.
            let fmt = body + 16 + 16 + 8 + 4 + 4 + 2 + 4;
            let channels = le_u16(b, fmt + 2).ok_or_else(|| bad("stream properties truncated"))?;
            let rate = le_u32(b, fmt + 4).ok_or_else(|| bad("stream properties truncated"))?;
            audio = Some((channels, rate));
        }
        pos += size;
    }
    let (channels, sample_rate) = audio.ok_or_else(|| bad("no audio stream"))?;
    let duration_ms = duration_ms.ok_or_else(|| bad("no file properties with a duration"))?;
    if channels == 0 || sample_rate == 0 {
        return Err(bad("audio stream has zero channels or sample rate"));
    }
    Ok(Parsed {
        format: Format::Wma,
        channels,
        sample_rate,
        duration_ms: Some(duration_ms),
        plan: Plan::None,
    })
}
