//! FLV: a 9-byte header, then tags (audio, video, script) each stamped in milliseconds. The
//! duration is the `onMetaData` script tag's when present and the file is whole, else the end
//! of the last audio tag; AAC tags carry an AudioSpecificConfig with the true rate and channels.

use super::bytes::{be_u16, be_u24, be_u32, be_u64, slice, u8_at};
use super::decode::Plan;
use super::mpeg::{audio_specific_config, mpa_header};
use super::{Format, Parsed, ProbeError};

const TAG_AUDIO: u8 = 8;
const TAG_SCRIPT: u8 = 18;
const SOUND_MP3: u8 = 2;
const SOUND_AAC: u8 = 10;
const SOUND_SPEEX: u8 = 11;
const SOUND_MP3_8K: u8 = 14;

/// Audio codecs decoded for speech detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AudioCodec {
    /// With its AudioSpecificConfig, which the decoder needs.
    Aac {
        config: Vec<u8>,
    },
    Mp3,
}

/// One tag, with its body; `None` from the iterator ends the walk (end of data or damage).
#[derive(Debug, Clone, Copy)]
struct Tag<'a> {
    kind: u8,
    timestamp_ms: u64,
    data: &'a [u8],
}

/// Walks the tags; the flag records whether the walk stopped on a cut-off tag.
#[derive(Debug)]
struct Tags<'a> {
    b: &'a [u8],
    pos: usize,
    truncated: bool,
}

impl<'a> Tags<'a> {
    fn new(b: &'a [u8]) -> Option<Self> {
        let offset = usize::try_from(be_u32(b, 5)?).ok()?;
        // Skip PreviousTagSize0.
        Some(Tags {
            b,
            pos: offset.checked_add(4)?,
            truncated: false,
        })
    }
}

impl<'a> Iterator for Tags<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        let b = self.b;
        let pos = self.pos;
        if pos >= b.len() {
            return None;
        }
        let (Some(kind), Some(size), Some(ts), Some(ts_ext)) = (
            u8_at(b, pos),
            be_u24(b, pos + 1),
            be_u24(b, pos + 4),
            u8_at(b, pos + 7),
        ) else {
            self.truncated = true;
            return None;
        };
        let body = pos + 11;
        let Some(data) = slice(b, body, size as usize) else {
            self.truncated = true;
            return None;
        };
        self.pos = body + data.len() + 4; // and the PreviousTagSize after it
        Some(Tag {
            kind: kind & 0x1F,
            timestamp_ms: (u64::from(ts_ext) << 24) | u64::from(ts),
            data,
        })
    }
}

fn bad(reason: &str) -> ProbeError {
    ProbeError::corrupt(Format::Flv, reason)
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, ProbeError> {
    let mut tags = Tags::new(b).ok_or_else(|| bad("header truncated"))?;
    let mut meta = Meta::default();
    let mut audio: Option<(u16, u32)> = None;
    let mut codec: Option<AudioCodec> = None;
    let mut sound_format: Option<u8> = None;
    let mut last_audio: Option<(u64, u64)> = None; // (timestamp, frame duration) in ms
    for tag in tags.by_ref() {
        match tag.kind {
            TAG_SCRIPT if meta == Meta::default() => {
                meta = on_metadata(tag.data).unwrap_or_default()
            }
            TAG_AUDIO => {
                let Some(&info) = tag.data.first() else {
                    continue;
                };
                let format = info >> 4;
                let payload = tag.data.get(1..).unwrap_or_default();
                sound_format.get_or_insert(format);
                let mut frame_ms = 0;
                match format {
                    SOUND_AAC => match payload.split_first() {
                        Some((0, config)) => {
                            if let Some((rate, channels)) = audio_specific_config(config) {
                                audio = Some((channels, rate));
                            }
                            codec = Some(AudioCodec::Aac {
                                config: config.to_vec(),
                            });
                            continue; // a sequence header, not audio
                        }
                        Some(_) => {
                            frame_ms =
                                audio.map_or(0, |(_, rate)| 1_024_000 / u64::from(rate.max(1)))
                        }
                        None => continue,
                    },
                    SOUND_MP3 | SOUND_MP3_8K => {
                        if let Some(h) = mpa_header(payload) {
                            audio.get_or_insert((h.channels, h.sample_rate));
                            codec.get_or_insert(AudioCodec::Mp3);
                            frame_ms = u64::from(h.samples) * 1000 / u64::from(h.sample_rate);
                        }
                    }
                    _ => {}
                }
                if audio.is_none() {
                    audio = Some(tag_layout(info));
                }
                last_audio = Some((tag.timestamp_ms, frame_ms));
            }
            _ => {}
        }
    }
    let (mut channels, mut sample_rate) = audio.ok_or_else(|| bad("no audio tags"))?;
    if sound_format != Some(SOUND_AAC) && sound_format != Some(SOUND_MP3) {
        // The tag's 2-bit rate field cannot say 8 or 16 kHz; the metadata can.
        sample_rate = meta.sample_rate.unwrap_or(sample_rate);
        channels = meta.channels.unwrap_or(channels);
    }
    let from_tags = last_audio.map(|(ts, frame)| ts + frame);
    let duration_ms = match (meta.duration_ms, from_tags) {
        (Some(ms), _) if !tags.truncated => ms,
        (_, Some(ms)) => ms,
        (Some(ms), None) => ms,
        (None, None) => return Err(bad("no audio frames")),
    };
    Ok(Parsed {
        format: Format::Flv,
        channels,
        sample_rate,
        duration_ms: Some(duration_ms),
        plan: codec.map_or(Plan::None, Plan::Flv),
    })
}

/// Channels and rate from an audio tag's first byte (approximate for AAC, exact for others
/// at the rates the 2-bit field can express).
fn tag_layout(info: u8) -> (u16, u32) {
    let format = info >> 4;
    let channels = if info & 0x01 != 0 { 2 } else { 1 };
    let rate = match format {
        SOUND_SPEEX | 4 => 16_000,         // Speex, Nellymoser 16 kHz
        5 | 7 | 8 | SOUND_MP3_8K => 8_000, // Nellymoser 8 kHz, G.711 A-law, mu-law, MP3 8 kHz
        _ => [5_512, 11_025, 22_050, 44_100][usize::from((info >> 2) & 0x03)],
    };
    (channels, rate)
}

/// The raw frames of every audio tag, for the decoder.
pub(crate) fn audio_payloads<'a>(
    b: &'a [u8],
    codec: &AudioCodec,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let aac = matches!(codec, AudioCodec::Aac { .. });
    Tags::new(b).into_iter().flatten().filter_map(move |tag| {
        if tag.kind != TAG_AUDIO {
            return None;
        }
        let format = tag.data.first()? >> 4;
        match (aac, format) {
            (true, SOUND_AAC) if tag.data.get(1) == Some(&1) => tag.data.get(2..),
            (false, SOUND_MP3 | SOUND_MP3_8K) => tag.data.get(1..),
            _ => None,
        }
    })
}

/// What `onMetaData` says.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Meta {
    duration_ms: Option<u64>,
    sample_rate: Option<u32>,
    channels: Option<u16>,
}

/// Reads the `onMetaData` script tag: an AMF0 string then an ECMA array or object.
fn on_metadata(d: &[u8]) -> Option<Meta> {
    if u8_at(d, 0)? != 2 {
        return None;
    }
    let name_len = usize::from(be_u16(d, 1)?);
    if slice(d, 3, name_len)? != b"onMetaData" {
        return None;
    }
    let mut pos = 3 + name_len;
    match u8_at(d, pos)? {
        8 => pos += 5, // ECMA array: marker and an approximate count
        3 => pos += 1,
        _ => return None,
    }
    let mut meta = Meta::default();
    // Properties until the 00 00 09 end marker; stop quietly at anything malformed.
    while let Some(key_len) = be_u16(d, pos) {
        let key_len = usize::from(key_len);
        let key = slice(d, pos + 2, key_len)?;
        let value = pos + 2 + key_len;
        if key.is_empty() && u8_at(d, value) == Some(9) {
            break;
        }
        if u8_at(d, value) == Some(0) {
            let n = f64::from_bits(be_u64(d, value + 1)?);
            let whole = |x: f64| (0.0..1e12).contains(&x).then_some(x);
            match key {
                b"duration" => meta.duration_ms = whole(n * 1000.0).map(|ms| ms.round() as u64),
                b"audiosamplerate" => meta.sample_rate = whole(n).map(|r| r as u32),
                b"audiochannels" => meta.channels = whole(n).map(|c| c.min(64.0) as u16),
                _ => {}
            }
        } else if key == b"stereo" && u8_at(d, value) == Some(1) {
            meta.channels
                .get_or_insert(if u8_at(d, value + 1)? != 0 { 2 } else { 1 });
        }
        pos = skip_amf(d, value, 0)?;
    }
    // Live encoders write a zero duration.
    meta.duration_ms = meta.duration_ms.filter(|&ms| ms > 0);
    Some(meta)
}

/// Offset just past the AMF0 value at `pos`; depth-limited so hostile nesting cannot recurse
/// without bound.
fn skip_amf(d: &[u8], pos: usize, depth: u32) -> Option<usize> {
    if depth > 16 {
        return None;
    }
    let body = pos + 1;
    match u8_at(d, pos)? {
        0 => Some(body + 8),                                            // number
        1 => Some(body + 1),                                            // boolean
        2 => Some(body + 2 + usize::from(be_u16(d, body)?)),            // string
        5 | 6 => Some(body),                                            // null, undefined
        7 => Some(body + 2),                                            // reference
        11 => Some(body + 10),                                          // date
        12 => Some(body + 4 + usize::try_from(be_u32(d, body)?).ok()?), // long string
        3 | 8 => {
            // Object or ECMA array: properties until an empty key and the end marker.
            let mut p = if u8_at(d, pos)? == 8 { body + 4 } else { body };
            loop {
                let key_len = usize::from(be_u16(d, p)?);
                if key_len == 0 && u8_at(d, p + 2)? == 9 {
                    return Some(p + 3);
                }
                p = skip_amf(d, p + 2 + key_len, depth + 1)?;
            }
        }
        10 => {
            // Strict array: a count, then values.
            let count = be_u32(d, body)?;
            let mut p = body + 4;
            for _ in 0..count {
                p = skip_amf(d, p, depth + 1)?;
            }
            Some(p)
        }
        _ => None,
    }
}
