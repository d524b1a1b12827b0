//! ISO base media files (MP4, M4A, 3GP): the `ftyp` brand names the flavour, the `moov` box
//! holds the duration (`mvhd`, else the audio track's `mdhd`) and the audio sample entry.
//!
//! Symphonia's MP4 demuxer sizes its sample tables from the counts in the file, so the tables
//! of every track are checked against their box sizes before it is allowed near them.

use super::bytes::{array, be_u16, be_u32, be_u64, slice, u8_at};
use super::decode::{Container, Plan};
use super::mpeg::{audio_specific_config, mpa_header};
use super::{frames_to_ms, Format, Parsed, ProbeError};

/// Flavour of an ISO file by its brands: the major brand decides, else the first telling
/// compatible brand, else plain MP4.
pub(crate) fn sniff_brand(b: &[u8]) -> Format {
    let classify = |brand: &[u8]| match brand {
        b"M4A " | b"M4B " => Some(Format::M4a),
        [b'3', b'g', b'p' | b'2', _] => Some(Format::ThreeGp),
        _ => None,
    };
    if slice(b, 4, 4) != Some(b"ftyp") {
        return Format::Mp4;
    }
    let size = be_u32(b, 0).map_or(0, |s| s as usize);
    let end = size.clamp(16, 16 + 4 * 64).min(b.len());
    let major = slice(b, 8, 4).and_then(classify);
    let compatible = || {
        b.get(16..end)
            .into_iter()
            .flat_map(|c| c.chunks_exact(4))
            .find_map(classify)
    };
    major.or_else(compatible).unwrap_or(Format::Mp4)
}

/// One box: its type and body. `Boxes` stops at the first box that is malformed or runs past
/// the data, and remembers that it did.
#[derive(Debug)]
struct Boxes<'a> {
    b: &'a [u8],
    pos: usize,
    /// A box claimed more bytes than there are.
    overrun: Option<[u8; 4]>,
}

impl<'a> Boxes<'a> {
    fn new(b: &'a [u8]) -> Self {
        Boxes {
            b,
            pos: 0,
            overrun: None,
        }
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = ([u8; 4], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (b, pos) = (self.b, self.pos);
        let size32 = be_u32(b, pos)?;
        let kind = array::<4>(b, pos + 4)?;
        let (header, size) = match size32 {
            0 => (8, b.len() - pos), // runs to the end of the file
            1 => (
                16,
                usize::try_from(be_u64(b, pos + 8)?).unwrap_or(usize::MAX),
            ),
            n => (8, n as usize),
        };
        if size < header {
            self.overrun = Some(kind);
            return None;
        }
        let Some(body) = slice(b, pos + header, size - header) else {
            self.overrun = Some(kind);
            return None;
        };
        self.pos = pos + size;
        Some((kind, body))
    }
}

/// First child box of type `kind`.
fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    Boxes::new(b).find(|(k, _)| k == kind).map(|(_, body)| body)
}

/// Follows a path of nested boxes.
fn path<'a>(b: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    kinds.iter().try_fold(b, |body, kind| child(body, kind))
}

/// (timescale, duration) from an `mvhd` or `mdhd` body, which share their first fields.
fn header_duration(body: &[u8]) -> Option<(u32, u64)> {
    match u8_at(body, 0)? {
        1 => Some((be_u32(body, 20)?, be_u64(body, 24)?)),
        _ => Some((be_u32(body, 12)?, u64::from(be_u32(body, 16)?))),
    }
}

/// A duration in `timescale` units, if it is a real one (not 0 and not all ones = unknown).
fn to_ms(timescale: u32, duration: u64) -> Option<u64> {
    (timescale > 0 && duration > 0 && duration != u64::from(u32::MAX) && duration != u64::MAX)
        .then(|| frames_to_ms(duration, timescale))
}

/// What the audio track says.
#[derive(Debug)]
struct Audio {
    channels: u16,
    sample_rate: u32,
    duration_ms: Option<u64>,
    /// Whether symphonia has a decoder for the codec.
    decodable: bool,
}

pub(crate) fn parse(format: Format, b: &[u8]) -> Result<Parsed, ProbeError> {
    let bad = |reason: &str| ProbeError::corrupt(format, reason);
    let mut top = Boxes::new(b);
    let mut moov = None;
    let mut saw_mdat = false;
    for (kind, body) in top.by_ref() {
        match &kind {
            b"moov" => moov = Some(body),
            b"mdat" => saw_mdat = true,
            _ => {}
        }
    }
    if let Some(kind) = top.overrun {
        let name = String::from_utf8_lossy(&kind).into_owned();
        return Err(bad(&format!(
            "the {name} box runs past the end of the file"
        )));
    }
    let moov = moov.ok_or_else(|| {
        bad(if saw_mdat {
            "media data but no moov box"
        } else {
            "no moov box"
        })
    })?;

    // A timescale of 0 divides by zero in demuxers (symphonia's among them): refuse it here.
    let movie = child(moov, b"mvhd").and_then(header_duration);
    if movie.is_some_and(|(timescale, _)| timescale == 0) {
        return Err(bad("the movie header has a timescale of 0"));
    }
    let movie_ms = movie.and_then(|(t, d)| to_ms(t, d));
    let fragment_ms = path(moov, &[b"mvex", b"mehd"]).and_then(|mehd| {
        let d = match u8_at(mehd, 0)? {
            1 => be_u64(mehd, 4)?,
            _ => u64::from(be_u32(mehd, 4)?),
        };
        let (timescale, _) = child(moov, b"mvhd").and_then(header_duration)?;
        to_ms(timescale, d)
    });
    let mut tables_ok = true;
    let mut audio: Option<Audio> = None;
    for (kind, trak) in Boxes::new(moov) {
        if &kind != b"trak" {
            continue;
        }
        let media = path(trak, &[b"mdia", b"mdhd"]).and_then(header_duration);
        if media.is_some_and(|(timescale, _)| timescale == 0) {
            return Err(bad("a track's media header has a timescale of 0"));
        }
        let stbl = path(trak, &[b"mdia", b"minf", b"stbl"]);
        tables_ok &= stbl.is_none_or(tables_fit);
        if audio.is_none() && is_sound(trak) {
            audio = stbl.and_then(|stbl| audio_track(b, trak, stbl));
        }
    }
    let audio = audio.ok_or_else(|| bad("no audio track"))?;
    let duration_ms = movie_ms
        .or(audio.duration_ms)
        .or(fragment_ms)
        .ok_or_else(|| bad("no duration in the movie or audio track headers"))?;
    if audio.channels == 0 || audio.sample_rate == 0 {
        return Err(bad("audio track has zero channels or sample rate"));
    }
    Ok(Parsed {
        format,
        channels: audio.channels,
        sample_rate: audio.sample_rate,
        duration_ms: Some(duration_ms),
        plan: if audio.decodable && tables_ok {
            Plan::Symphonia {
                container: Container::IsoMp4,
                start: 0,
            }
        } else {
            Plan::None
        },
    })
}

fn is_sound(trak: &[u8]) -> bool {
    path(trak, &[b"mdia", b"hdlr"]).and_then(|h| slice(h, 8, 4)) == Some(b"soun")
}

/// Reads the audio track's duration and first sample entry (`file` is the whole file, for
/// codecs whose true layout is only in the first sample).
fn audio_track(file: &[u8], trak: &[u8], stbl: &[u8]) -> Option<Audio> {
    let duration_ms = path(trak, &[b"mdia", b"mdhd"])
        .and_then(header_duration)
        .and_then(|(t, d)| to_ms(t, d));
    let stsd = child(stbl, b"stsd")?;
    // Version and flags, entry count, then sample entries (boxes).
    let (kind, entry) = Boxes::new(stsd.get(8..)?).next()?;
    // SampleEntry (8) + sound description: version, revision, vendor, then the v0 fields.
    let version = be_u16(entry, 8)?;
    let mut channels = be_u16(entry, 16)?;
    let mut sample_rate = be_u32(entry, 24)? >> 16;
    let children = match version {
        0 => entry.get(28..),
        1 => entry.get(44..),
        _ => {
            // QuickTime v2: a float64 rate and a 32-bit channel count.
            sample_rate = f64::from_bits(be_u64(entry, 32)?) as u32;
            channels = u16::try_from(be_u32(entry, 40)?).ok()?;
            entry.get(64..)
        }
    }
    .unwrap_or_default();
    let mut decodable = false;
    let mut mp3 = &kind == b".mp3";
    match &kind {
        b"mp4a" => {
            if let Some((oti, config)) = child(children, b"esds").and_then(esds) {
                decodable = matches!(oti, 0x40 | 0x66..=0x69 | 0x6B);
                mp3 = matches!(oti, 0x69 | 0x6B);
                if matches!(oti, 0x40 | 0x66..=0x68) {
                    if let Some((rate, ch)) = config.and_then(audio_specific_config) {
                        sample_rate = rate;
                        channels = ch;
                    }
                }
            }
        }
        b".mp3" | b"fLaC" => decodable = true,
        // AMR in 3GP: the entry's fields are fixed placeholders; the codec fixes the layout.
        b"samr" => (channels, sample_rate) = (1, 8_000),
        b"sawb" => (channels, sample_rate) = (1, 16_000),
        _ => {}
    }
    if mp3 {
        // Muxers write a placeholder channel count for MP3; its first frame header is exact.
        if let Some(h) = first_chunk(stbl)
            .and_then(|at| file.get(at..))
            .and_then(mpa_header)
        {
            (channels, sample_rate) = (h.channels, h.sample_rate);
        }
    }
    Some(Audio {
        channels,
        sample_rate,
        duration_ms,
        decodable,
    })
}

/// File offset of the first chunk of samples, from `stco` or `co64`.
fn first_chunk(stbl: &[u8]) -> Option<usize> {
    let offset = match child(stbl, b"stco") {
        Some(stco) => u64::from(be_u32(stco, 8)?),
        None => be_u64(child(stbl, b"co64")?, 8)?,
    };
    usize::try_from(offset).ok()
}

/// The object type indication and the DecoderSpecificInfo (AudioSpecificConfig) of an `esds`.
fn esds(body: &[u8]) -> Option<(u8, Option<&[u8]>)> {
    let mut d = body.get(4..)?; // version and flags
    let (tag, es) = descriptor(d)?;
    if tag != 0x03 {
        return None;
    }
    let flags = u8_at(es, 2)?;
    let mut at = 3;
    if flags & 0x80 != 0 {
        at += 2;
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(u8_at(es, at)?);
    }
    if flags & 0x20 != 0 {
        at += 2;
    }
    d = es.get(at..)?;
    let (tag, config) = descriptor(d)?;
    if tag != 0x04 {
        return None;
    }
    let oti = u8_at(config, 0)?;
    let specific = config
        .get(13..)
        .and_then(descriptor)
        .filter(|(t, _)| *t == 0x05)
        .map(|(_, s)| s);
    Some((oti, specific))
}

/// An MPEG-4 descriptor: tag, then a length in 7-bit groups, then the body.
fn descriptor(d: &[u8]) -> Option<(u8, &[u8])> {
    let tag = u8_at(d, 0)?;
    let mut len = 0usize;
    let mut at = 1;
    for _ in 0..4 {
        let x = u8_at(d, at)?;
        at += 1;
        len = (len << 7) | usize::from(x & 0x7F);
        if x & 0x80 == 0 {
            break;
        }
    }
    // Clip: some muxers overstate the length of the last descriptor.
    let body = d.get(at..)?;
    Some((tag, body.get(..len).unwrap_or(body)))
}

/// Whether every sample table's entry count fits inside its box, so that a demuxer that
/// preallocates by count cannot be made to reserve gigabytes.
fn tables_fit(stbl: &[u8]) -> bool {
    Boxes::new(stbl).all(|(kind, body)| {
        let entry = match &kind {
            b"stts" | b"ctts" => 8,
            b"stsc" => 12,
            b"stco" | b"stss" => 4,
            b"co64" => 8,
            b"stsz" => {
                // A non-zero fixed size means no per-sample table follows.
                return match (be_u32(body, 4), be_u32(body, 8)) {
                    (Some(0), Some(n)) => (n as usize).saturating_mul(4) <= body.len(),
                    (Some(_), Some(_)) => true,
                    _ => false,
                };
            }
            _ => return true,
        };
        be_u32(body, 4).is_some_and(|n| (n as usize).saturating_mul(entry) <= body.len())
    })
}
