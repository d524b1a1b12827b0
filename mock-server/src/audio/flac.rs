//! Native FLAC: STREAMINFO, the mandatory first metadata block, holds rate, channels and the
//! total sample count (0 when the encoder did not know it; the packets then tell).

use super::bytes::{be_u24, id3v2_len, slice, u8_at, Bits};
use super::decode::{Container, Plan};
use super::{frames_to_ms, Format, Parsed, ProbeError};

/// The STREAMINFO fields that matter here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamInfo {
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) total_samples: u64,
}

/// Parses a 34-byte STREAMINFO body.
pub(crate) fn streaminfo(b: &[u8]) -> Option<StreamInfo> {
    let mut bits = Bits::new(slice(b, 0, 34)?);
    bits.read(16 + 16)?; // block size bounds
    bits.read(24 + 24)?; // frame size bounds
    let sample_rate = u32::try_from(bits.read(20)?).ok()?;
    let channels = u16::try_from(bits.read(3)? + 1).ok()?;
    bits.read(5)?; // bits per sample - 1
    let total_samples = bits.read(36)?;
    Some(StreamInfo {
        sample_rate,
        channels,
        total_samples,
    })
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, ProbeError> {
    let bad = |reason: &str| ProbeError::corrupt(Format::Flac, reason);
    let start = id3v2_len(b).unwrap_or(0);
    if slice(b, start, 4) != Some(b"fLaC") {
        return Err(bad("no fLaC marker"));
    }
    let block_type = u8_at(b, start + 4).ok_or_else(|| bad("no metadata"))? & 0x7F;
    let block_len = be_u24(b, start + 5).ok_or_else(|| bad("no metadata"))?;
    if block_type != 0 || block_len < 34 {
        return Err(bad("first metadata block is not STREAMINFO"));
    }
    let info = b
        .get(start + 8..)
        .and_then(streaminfo)
        .ok_or_else(|| bad("STREAMINFO truncated"))?;
    if info.sample_rate == 0 {
        return Err(bad("STREAMINFO has a zero sample rate"));
    }
    Ok(Parsed {
        format: Format::Flac,
        channels: info.channels,
        sample_rate: info.sample_rate,
        duration_ms: (info.total_samples > 0)
            .then(|| frames_to_ms(info.total_samples, info.sample_rate)),
        plan: Plan::Symphonia {
            container: Container::Flac,
            start,
        },
    })
}
