//! AMR storage format (RFC 4867 section 5): a magic line, then 20 ms frames whose length
//! follows from the frame type in each one-byte header.

use super::decode::Plan;
use super::{Format, Parsed, ProbeError};

/// Speech bytes after the header byte for AMR-NB frame types 0..=15 (`None`: reserved).
const NB_SIZES: [Option<usize>; 16] = [
    Some(12),
    Some(13),
    Some(15),
    Some(17),
    Some(19),
    Some(20),
    Some(26),
    Some(31),
    Some(5), // SID
    None,
    None,
    None,
    None,
    None,
    None,
    Some(0), // NO_DATA
];

/// The same for AMR-WB.
const WB_SIZES: [Option<usize>; 16] = [
    Some(17),
    Some(23),
    Some(32),
    Some(36),
    Some(40),
    Some(46),
    Some(50),
    Some(58),
    Some(60),
    Some(5), // SID
    None,
    None,
    None,
    None,
    Some(0), // SPEECH_LOST
    Some(0), // NO_DATA
];

pub(crate) fn parse(format: Format, b: &[u8]) -> Result<Parsed, ProbeError> {
    let (magic, sizes, rate): (&[u8], _, u32) = match format {
        Format::AmrWb => (b"#!AMR-WB\n", &WB_SIZES, 16_000),
        _ => (b"#!AMR\n", &NB_SIZES, 8_000),
    };
    if !b.starts_with(magic) {
        // The multichannel variants ("#!AMR_MC1.0\n") are vanishingly rare.
        return Err(ProbeError::corrupt(
            format,
            "not single-channel AMR storage format",
        ));
    }
    let mut pos = magic.len();
    let mut frames: u64 = 0;
    while let Some(&header) = b.get(pos) {
        let Some(size) = sizes[usize::from((header >> 3) & 0x0F)] else {
            break;
        };
        let end = pos + 1 + size;
        if end > b.len() {
            break; // a cut-off last frame does not play
        }
        frames += 1;
        pos = end;
    }
    if frames == 0 {
        return Err(ProbeError::corrupt(format, "no AMR frames"));
    }
    Ok(Parsed {
        format,
        channels: 1,
        sample_rate: rate,
        duration_ms: Some(frames * 20),
        plan: Plan::None,
    })
}
