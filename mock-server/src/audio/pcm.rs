//! Headerless PCM: nothing to parse, the caller says the layout.

use super::decode::{PcmEncoding, Plan};
use super::{frames_to_ms, Format, Parsed, PcmSpec, ProbeError};

pub(crate) fn parse(b: &[u8], spec: PcmSpec) -> Result<Parsed, ProbeError> {
    let encoding = match spec.bits_per_sample {
        8 => PcmEncoding::U8,
        16 => PcmEncoding::S16,
        24 => PcmEncoding::S24,
        32 => PcmEncoding::S32,
        _ => {
            return Err(ProbeError::corrupt(
                Format::Pcm,
                "unsupported PCM sample width",
            ))
        }
    };
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(ProbeError::corrupt(
            Format::Pcm,
            "PCM layout has no channels or rate",
        ));
    }
    let frame = encoding.width() * usize::from(spec.channels);
    let frames = (b.len() / frame) as u64;
    Ok(Parsed {
        format: Format::Pcm,
        channels: spec.channels,
        sample_rate: spec.sample_rate,
        duration_ms: Some(frames_to_ms(frames, spec.sample_rate)),
        plan: Plan::Pcm {
            data: 0..b.len(),
            encoding,
            channels: spec.channels,
            rate: spec.sample_rate,
        },
    })
}
