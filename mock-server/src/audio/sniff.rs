//! Magic-byte identification: looks at a few header bytes only, so it can run on the first
//! kilobytes of an upload before the rest arrives.

use super::bytes::{id3v2_len, slice};
use super::{mp4, mpeg, ogg, Format};

/// ASF Header Object GUID (75B22630-668E-11CF-A6D9-00AA0062CE6C as stored on disk).
pub(crate) const ASF_HEADER_GUID: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// Identifies the container from its leading bytes alone; `None` for anything else, including
/// headerless PCM (which has no magic at all).
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let b = bytes;
    let at = |n: usize, magic: &[u8]| slice(b, n, magic.len()) == Some(magic);
    if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
        return Some(Format::Wav);
    }
    if at(0, b"fLaC") {
        return Some(Format::Flac);
    }
    if at(0, b"OggS") {
        return Some(ogg::sniff_codec(b));
    }
    if at(0, b"#!AMR-WB") {
        return Some(Format::AmrWb);
    }
    if at(0, b"#!AMR") {
        return Some(Format::Amr);
    }
    if at(0, &ASF_HEADER_GUID) {
        return Some(Format::Wma);
    }
    if at(0, b"FLV\x01") {
        return Some(Format::Flv);
    }
    if at(4, b"ftyp") || at(4, b"moov") {
        return Some(mp4::sniff_brand(b));
    }
    if let Some(tag) = id3v2_len(b) {
        // An ID3v2 tag says "MP3" by convention, but AAC and FLAC files carry them too.
        let rest = b.get(tag..).unwrap_or_default();
        return Some(if rest.starts_with(b"fLaC") {
            Format::Flac
        } else if mpeg::adts_header(rest).is_some() {
            Format::Aac
        } else {
            Format::Mp3
        });
    }
    // Bare frame syncs are only 11-12 bits, which raw PCM hits by chance (a -1 sample is
    // FF FF): ask for a second frame header where the first frame ends, when the data is there.
    if mpeg::confirmed_adts(b, 0).is_some() {
        return Some(Format::Aac);
    }
    if mpeg::confirmed_mpa(b, 0).is_some() {
        return Some(Format::Mp3);
    }
    None
}
