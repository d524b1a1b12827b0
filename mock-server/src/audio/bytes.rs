//! Bounds-checked integer reads: every parser reads through these, so a truncated or lying
//! header yields `None` (and then a `Corrupt` error), never an out-of-range index.

/// `n` bytes at `at`, or `None` if they are not all there.
pub(crate) fn slice(b: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(n)?)
}

/// Fixed-size array at `at`.
pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    slice(b, at, N)?.try_into().ok()
}

pub(crate) fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

pub(crate) fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_be_bytes)
}

pub(crate) fn be_u24(b: &[u8], at: usize) -> Option<u32> {
    let [x, y, z] = array::<3>(b, at)?;
    Some(u32::from_be_bytes([0, x, y, z]))
}

pub(crate) fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_be_bytes)
}

pub(crate) fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    array(b, at).map(u64::from_be_bytes)
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_le_bytes)
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_le_bytes)
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    array(b, at).map(u64::from_le_bytes)
}

/// Length of an ID3v2 tag at the start of `b` (header, body and optional footer), if any.
/// MP3, ADTS and FLAC files all may begin with one.
pub(crate) fn id3v2_len(b: &[u8]) -> Option<usize> {
    if b.get(..3)? != b"ID3" {
        return None;
    }
    let flags = u8_at(b, 5)?;
    let size = array::<4>(b, 6)?;
    // Sizes are "syncsafe": 7 bits per byte.
    if size.iter().any(|x| x & 0x80 != 0) {
        return None;
    }
    let body = size
        .iter()
        .fold(0usize, |acc, &x| (acc << 7) | usize::from(x));
    let footer = if flags & 0x10 != 0 { 10 } else { 0 };
    Some(10 + body + footer)
}

/// Bit reader for the few bit-packed headers (AAC AudioSpecificConfig, FLAC STREAMINFO).
#[derive(Debug)]
pub(crate) struct Bits<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Bits { buf, pos: 0 }
    }

    /// Next `n` (at most 64) bits, most significant first.
    pub(crate) fn read(&mut self, n: u32) -> Option<u64> {
        if n > 64 {
            return None;
        }
        let mut v = 0u64;
        for _ in 0..n {
            let byte = *self.buf.get(self.pos / 8)?;
            let bit = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u64::from(bit);
            self.pos += 1;
        }
        Some(v)
    }
}
