//! Ogg: the codec is named by the first packet of the stream (Vorbis, Opus, Speex or FLAC), and
//! the duration is the last page's granule position, in samples (48 kHz for Opus, minus the
//! pre-skip the encoder asks decoders to drop).

use super::bytes::{be_u16, le_u16, le_u32, le_u64, slice, u8_at};
use super::decode::{Container, Plan};
use super::{flac, frames_to_ms, Format, Parsed, ProbeError};

/// One Ogg page, located in the file.
#[derive(Debug, Clone, Copy)]
struct Page {
    /// Beginning-of-stream flag: the page holds a stream's first packet.
    bos: bool,
    granule: u64,
    serial: u32,
    /// Where the page's body starts and its length.
    body: usize,
    /// Length of the first packet on the page (up to the first lacing value below 255).
    first_packet_len: usize,
    /// Offset of the next page.
    end: usize,
}

/// Parses the page header at `pos`; `None` if it is not a page or is cut off.
fn page_at(b: &[u8], pos: usize) -> Option<Page> {
    if slice(b, pos, 4)? != b"OggS" || u8_at(b, pos + 4)? != 0 {
        return None;
    }
    let flags = u8_at(b, pos + 5)?;
    let granule = le_u64(b, pos + 6)?;
    let serial = le_u32(b, pos + 14)?;
    let segments = usize::from(u8_at(b, pos + 26)?);
    let lacing = slice(b, pos + 27, segments)?;
    let body_len: usize = lacing.iter().map(|&x| usize::from(x)).sum();
    let first_packet_len = match lacing.iter().position(|&x| x < 255) {
        Some(i) => lacing.iter().take(i + 1).map(|&x| usize::from(x)).sum(),
        None => body_len,
    };
    let body = pos + 27 + segments;
    Some(Page {
        bos: flags & 0x02 != 0,
        granule,
        serial,
        body,
        first_packet_len,
        end: body + body_len,
    })
}

/// The codec of an Ogg stream, from its first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Vorbis { channels: u16, rate: u32 },
    Opus { channels: u16, pre_skip: u16 },
    Speex { channels: u16, rate: u32 },
    Flac { channels: u16, rate: u32 },
}

fn identify(packet: &[u8]) -> Option<Codec> {
    if packet.starts_with(b"\x01vorbis") {
        let channels = u16::from(u8_at(packet, 11)?);
        let rate = le_u32(packet, 12)?;
        return Some(Codec::Vorbis { channels, rate });
    }
    if packet.starts_with(b"OpusHead") {
        let channels = u16::from(u8_at(packet, 9)?);
        let pre_skip = le_u16(packet, 10)?;
        return Some(Codec::Opus { channels, pre_skip });
    }
    if packet.starts_with(b"Speex   ") {
        let rate = le_u32(packet, 36)?;
        let channels = u16::try_from(le_u32(packet, 48)?).ok()?;
        return Some(Codec::Speex { channels, rate });
    }
    if packet.starts_with(b"\x7FFLAC") {
        // Mapping header (9 bytes), then "fLaC", then a metadata block header and STREAMINFO.
        let _major_minor_headers = be_u16(packet, 5)?;
        if slice(packet, 9, 4)? != b"fLaC" {
            return None;
        }
        let info = flac::streaminfo(packet.get(17..)?)?;
        return Some(Codec::Flac {
            channels: info.channels,
            rate: info.sample_rate,
        });
    }
    None
}

/// Format of an Ogg file by the first packet of its first stream; unknown codecs count as
/// plain "ogg" so that `probe` reports them as such.
pub(crate) fn sniff_codec(b: &[u8]) -> Format {
    let packet = page_at(b, 0).and_then(|p| slice(b, p.body, p.first_packet_len.min(64)));
    let prefix = |magic: &[u8]| packet.is_some_and(|p| p.starts_with(magic));
    // Fall back to the raw bytes after the header when the page is cut off mid-packet.
    let head = b.get(27..).unwrap_or_default();
    let seen =
        |magic: &[u8]| prefix(magic) || head.windows(magic.len()).take(256).any(|w| w == magic);
    if seen(b"OpusHead") {
        Format::OggOpus
    } else if seen(b"Speex   ") {
        Format::OggSpeex
    } else if seen(b"\x7FFLAC") {
        Format::Flac
    } else {
        Format::OggVorbis
    }
}

pub(crate) fn parse(b: &[u8]) -> Result<Parsed, ProbeError> {
    let sniffed = sniff_codec(b);
    let bad = |reason: &str| ProbeError::corrupt(sniffed, reason);
    // Beginning-of-stream pages come first; take the first audio stream among them.
    let mut pos = 0usize;
    let mut stream: Option<(u32, Codec)> = None;
    while let Some(page) = page_at(b, pos) {
        if !page.bos {
            break;
        }
        if stream.is_none() {
            let packet = slice(b, page.body, page.first_packet_len).unwrap_or_default();
            stream = identify(packet).map(|c| (page.serial, c));
        }
        pos = page.end;
    }
    let (serial, codec) = stream.ok_or_else(|| bad("no Vorbis, Opus, Speex or FLAC stream"))?;

    // Walk every page for the stream's last granule position; resynchronise on damage.
    let mut last_granule: Option<u64> = None;
    let mut pos = 0usize;
    while pos < b.len() {
        match page_at(b, pos) {
            Some(page) if page.end <= b.len() => {
                if page.serial == serial && page.granule != u64::MAX && !page.bos {
                    last_granule = Some(page.granule);
                }
                pos = page.end;
            }
            _ => match find(b, pos + 1, b"OggS") {
                Some(next) => pos = next,
                None => break,
            },
        }
    }
    let granule = last_granule.ok_or_else(|| bad("no audio pages"))?;
    let (format, channels, sample_rate, frames, plan) = match codec {
        Codec::Vorbis { channels, rate } => {
            (Format::OggVorbis, channels, rate, granule, decodable())
        }
        Codec::Flac { channels, rate } => (Format::Flac, channels, rate, granule, decodable()),
        Codec::Speex { channels, rate } => (Format::OggSpeex, channels, rate, granule, Plan::None),
        Codec::Opus { channels, pre_skip } => {
            let frames = granule.saturating_sub(u64::from(pre_skip));
            (Format::OggOpus, channels, 48_000, frames, Plan::None)
        }
    };
    if channels == 0 || sample_rate == 0 {
        return Err(ProbeError::corrupt(
            format,
            "header has zero channels or sample rate",
        ));
    }
    Ok(Parsed {
        format,
        channels,
        sample_rate,
        duration_ms: Some(frames_to_ms(frames, sample_rate)),
        plan,
    })
}

fn decodable() -> Plan {
    Plan::Symphonia {
        container: Container::Ogg,
        start: 0,
    }
}

/// Position of the next `needle` at or after `from`.
pub(crate) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let hay = b.get(from..)?;
    hay.windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}
