//! MPEG audio (MP3) and ADTS AAC: both are bare frame streams sharing a 0xFFF-ish sync word,
//! told apart by the layer bits (ADTS always has layer 00, which MPEG audio reserves).
//!
//! Durations come from a Xing/Info/VBRI header when present, else from walking the frame
//! headers, which is exact and far cheaper than decoding.

use super::bytes::{be_u32, id3v2_len, slice, Bits};
use super::decode::{Container, Plan};
use super::{frames_to_ms, Format, Parsed, ProbeError};

/// One MPEG audio frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MpaHeader {
    /// 1 for MPEG-1, 2 for MPEG-2, 25 for MPEG-2.5.
    version: u8,
    layer: u8,
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) frame_len: usize,
    pub(crate) samples: u32,
    has_crc: bool,
}

const BITRATES_V1: [[u32; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_V2: [[u32; 15]; 3] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Parses an MPEG audio frame header at the start of `b`. Free-format streams (bitrate index 0)
/// are rejected: their frame length cannot be known from the header.
pub(crate) fn mpa_header(b: &[u8]) -> Option<MpaHeader> {
    let [b0, b1, b2, b3] = super::bytes::array::<4>(b, 0)?;
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = match (b1 >> 3) & 0x03 {
        0 => 25,
        2 => 2,
        3 => 1,
        _ => return None,
    };
    let layer = match (b1 >> 1) & 0x03 {
        1 => 3,
        2 => 2,
        3 => 1,
        _ => return None, // 00: reserved in MPEG audio, and exactly what ADTS uses
    };
    let has_crc = b1 & 0x01 == 0;
    let bitrate_index = usize::from(b2 >> 4);
    let rate_index = (b2 >> 2) & 0x03;
    let padding = u32::from((b2 >> 1) & 0x01);
    let table = if version == 1 {
        &BITRATES_V1
    } else {
        &BITRATES_V2
    };
    let kbps = *table.get(usize::from(layer - 1))?.get(bitrate_index)?;
    if kbps == 0 {
        return None;
    }
    let base_rate = match rate_index {
        0 => 44_100,
        1 => 48_000,
        2 => 32_000,
        _ => return None,
    };
    let sample_rate = match version {
        1 => base_rate,
        2 => base_rate / 2,
        _ => base_rate / 4,
    };
    let channels = if b3 >> 6 == 3 { 1 } else { 2 };
    let bps = kbps * 1000;
    let (samples, frame_len) = match (layer, version) {
        (1, _) => (384, (12 * bps / sample_rate + padding) * 4),
        (2, _) => (1152, 144 * bps / sample_rate + padding),
        (_, 1) => (1152, 144 * bps / sample_rate + padding),
        _ => (576, 72 * bps / sample_rate + padding),
    };
    Some(MpaHeader {
        version,
        layer,
        sample_rate,
        channels,
        frame_len: usize::try_from(frame_len).ok()?,
        samples,
        has_crc,
    })
}

impl MpaHeader {
    /// Whether `other` could belong to the same stream (guards against false syncs in data).
    fn same_stream(&self, other: &MpaHeader) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }
}

/// Whether `pos` starts a frame whose successor (if the data goes on) also looks like a frame
/// of the same stream: one header alone is too easy to find by chance in binary data.
pub(crate) fn confirmed_mpa(b: &[u8], pos: usize) -> Option<MpaHeader> {
    let h = mpa_header(b.get(pos..)?)?;
    let next = pos.checked_add(h.frame_len)?;
    if next + 4 > b.len() {
        return Some(h);
    }
    match mpa_header(b.get(next..)?) {
        Some(n) if h.same_stream(&n) => Some(h),
        // Trailing tags after the last frame are fine.
        _ if is_trailer(b, next) => Some(h),
        _ => None,
    }
}

/// ID3v1, APEv2 and Lyrics3 tags found at the end of MP3 files.
fn is_trailer(b: &[u8], pos: usize) -> bool {
    [&b"TAG"[..], b"APETAGEX", b"LYRICS"]
        .iter()
        .any(|t| slice(b, pos, t.len()) == Some(*t))
}

/// Finds the next confirmed frame at or after `pos`.
fn resync_mpa(b: &[u8], mut pos: usize) -> Option<(usize, MpaHeader)> {
    while pos + 4 <= b.len() {
        let at = b.get(pos..)?.iter().position(|&x| x == 0xFF)?;
        pos += at;
        if let Some(h) = confirmed_mpa(b, pos) {
            return Some((pos, h));
        }
        pos += 1;
    }
    None
}

pub(crate) fn parse_mp3(b: &[u8]) -> Result<Parsed, ProbeError> {
    let start = id3v2_len(b).unwrap_or(0);
    let (first_pos, first) = resync_mpa(b, start)
        .ok_or_else(|| ProbeError::corrupt(Format::Mp3, "no MPEG audio frames"))?;
    let plan = Plan::Symphonia {
        container: Container::Mp3,
        start,
    };
    let parsed = |frames: u64| Parsed {
        format: Format::Mp3,
        channels: first.channels,
        sample_rate: first.sample_rate,
        duration_ms: Some(frames_to_ms(
            frames * u64::from(first.samples),
            first.sample_rate,
        )),
        plan: plan.clone(),
    };
    let info = info_tag(b, first_pos, &first);
    if let Some(tag) = info {
        // Trust the tag only if the file holds (nearly) the bytes it promises; a cut-off
        // file keeps its tag but not its frames.
        let present = (b.len() - first_pos) as u64;
        let complete = tag
            .bytes
            .is_none_or(|n| present.saturating_mul(100) >= n.saturating_mul(99));
        if let (Some(frames), true) = (tag.frames, complete) {
            return Ok(parsed(u64::from(frames)));
        }
    }
    // Walk the frames; the Xing/Info/VBRI frame itself is silent metadata, not audio.
    let mut frames: u64 = 0;
    let mut pos = if info.is_some() {
        first_pos + first.frame_len
    } else {
        first_pos
    };
    loop {
        match mpa_header(b.get(pos..).unwrap_or_default()) {
            Some(h) if h.same_stream(&first) && pos + h.frame_len <= b.len() => {
                frames += 1;
                pos += h.frame_len;
            }
            // Damage, a false sync, a cut-off last frame or the end: skip to the next good
            // run of frames if there is one, as decoders do.
            _ if pos + 4 > b.len() || is_trailer(b, pos) => break,
            _ => match resync_mpa(b, pos + 1) {
                Some((p, h)) if h.same_stream(&first) => pos = p,
                _ => break,
            },
        }
    }
    if frames == 0 {
        return Err(ProbeError::corrupt(
            Format::Mp3,
            "no complete MPEG audio frames",
        ));
    }
    Ok(parsed(frames))
}

/// Frame and byte counts from a Xing/Info (LAME) or VBRI header in the first frame.
#[derive(Debug, Clone, Copy)]
struct InfoTag {
    frames: Option<u32>,
    bytes: Option<u64>,
}

fn info_tag(b: &[u8], pos: usize, h: &MpaHeader) -> Option<InfoTag> {
    let frame = slice(b, pos, h.frame_len).or_else(|| b.get(pos..))?;
    let side = match (h.version == 1, h.channels == 1) {
        (true, true) => 17,
        (true, false) => 32,
        (false, true) => 9,
        (false, false) => 17,
    };
    let xing_at = 4 + side + if h.has_crc { 2 } else { 0 };
    if let Some(b"Xing" | b"Info") = slice(frame, xing_at, 4) {
        let flags = be_u32(frame, xing_at + 4)?;
        let mut at = xing_at + 8;
        let mut frames = None;
        let mut bytes = None;
        if flags & 0x01 != 0 {
            frames = be_u32(frame, at);
            at += 4;
        }
        if flags & 0x02 != 0 {
            bytes = be_u32(frame, at).map(u64::from);
        }
        return Some(InfoTag {
            frames: frames.filter(|&n| n > 0),
            bytes,
        });
    }
    if slice(frame, 36, 4) == Some(b"VBRI") {
        let bytes = be_u32(frame, 36 + 10).map(u64::from);
        let frames = be_u32(frame, 36 + 14).filter(|&n| n > 0);
        return Some(InfoTag { frames, bytes });
    }
    None
}

/// One ADTS frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AdtsHeader {
    pub(crate) sample_rate: u32,
    pub(crate) channels: u16,
    pub(crate) frame_len: usize,
    /// PCM frames this ADTS frame decodes to.
    pub(crate) samples: u32,
}

/// Sampling-frequency table shared by ADTS and AudioSpecificConfig.
pub(crate) const AAC_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Channel counts for AAC channel configurations 0..=7 (0 means "in a PCE": assume stereo).
pub(crate) fn aac_channels(config: u8) -> u16 {
    match config {
        1..=6 => u16::from(config),
        7 => 8,
        _ => 2,
    }
}

/// Parses an ADTS header at the start of `b`.
pub(crate) fn adts_header(b: &[u8]) -> Option<AdtsHeader> {
    let h = super::bytes::array::<7>(b, 0)?;
    if h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
        return None; // 12-bit sync, then layer 00
    }
    let rate_index = usize::from((h[2] >> 2) & 0x0F);
    let sample_rate = *AAC_RATES.get(rate_index)?;
    let config = ((h[2] & 0x01) << 2) | (h[3] >> 6);
    let frame_len =
        (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
    let header_len = if h[1] & 0x01 == 0 { 9 } else { 7 };
    if frame_len < header_len {
        return None;
    }
    let blocks = u32::from(h[6] & 0x03) + 1;
    Some(AdtsHeader {
        sample_rate,
        channels: aac_channels(config),
        frame_len,
        samples: 1024 * blocks,
    })
}

pub(crate) fn parse_adts(b: &[u8]) -> Result<Parsed, ProbeError> {
    let start = id3v2_len(b).unwrap_or(0);
    let first = adts_header(b.get(start..).unwrap_or_default())
        .ok_or_else(|| ProbeError::corrupt(Format::Aac, "no ADTS frame"))?;
    let mut samples: u64 = 0;
    let mut pos = start;
    loop {
        match adts_header(b.get(pos..).unwrap_or_default()) {
            Some(h) if h.sample_rate == first.sample_rate && pos + h.frame_len <= b.len() => {
                samples += u64::from(h.samples);
                pos += h.frame_len;
            }
            _ if pos + 7 > b.len() || is_trailer(b, pos) => break,
            _ => match resync_adts(b, pos + 1) {
                Some(p) => pos = p,
                None => break,
            },
        }
    }
    if samples == 0 {
        return Err(ProbeError::corrupt(Format::Aac, "no complete ADTS frames"));
    }
    Ok(Parsed {
        format: Format::Aac,
        channels: first.channels,
        sample_rate: first.sample_rate,
        duration_ms: Some(frames_to_ms(samples, first.sample_rate)),
        plan: Plan::Symphonia {
            container: Container::Adts,
            start,
        },
    })
}

/// Like [`confirmed_mpa`], for ADTS.
pub(crate) fn confirmed_adts(b: &[u8], pos: usize) -> Option<AdtsHeader> {
    let h = adts_header(b.get(pos..)?)?;
    let next = pos.checked_add(h.frame_len)?;
    if next + 7 > b.len() || is_trailer(b, next) {
        return Some(h);
    }
    adts_header(b.get(next..)?)
        .filter(|n| n.sample_rate == h.sample_rate)
        .map(|_| h)
}

/// Finds the next confirmed ADTS frame at or after `pos`.
fn resync_adts(b: &[u8], mut pos: usize) -> Option<usize> {
    while pos + 7 <= b.len() {
        pos += b.get(pos..)?.iter().position(|&x| x == 0xFF)?;
        if confirmed_adts(b, pos).is_some() {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

/// Output sample rate and channels from an MPEG-4 AudioSpecificConfig (ISO 14496-3 1.6.2.1),
/// following explicit SBR/PS signalling the way decoders (and ffprobe) report them.
pub(crate) fn audio_specific_config(b: &[u8]) -> Option<(u32, u16)> {
    let mut bits = Bits::new(b);
    let rate = |bits: &mut Bits<'_>| -> Option<u32> {
        match bits.read(4)? {
            15 => u32::try_from(bits.read(24)?).ok(),
            i => AAC_RATES.get(usize::try_from(i).ok()?).copied(),
        }
    };
    let mut object_type = bits.read(5)?;
    if object_type == 31 {
        object_type = 32 + bits.read(6)?;
    }
    let mut sample_rate = rate(&mut bits)?;
    let config = u8::try_from(bits.read(4)?).ok()?;
    let mut channels = aac_channels(config);
    // 5: SBR (HE-AAC), 29: SBR + parametric stereo (HE-AAC v2).
    if object_type == 5 || object_type == 29 {
        sample_rate = rate(&mut bits)?;
        if object_type == 29 && channels == 1 {
            channels = 2;
        }
    }
    (sample_rate > 0).then_some((sample_rate, channels))
}
