//! Synthetic WAV audio: silence or a speech-like chord, for hosted long recordings and
//! benchmarks that need audio of a given length without keeping it as a fixture.
//!
//! [`Synth`] describes a file by its size and produces it a slice of frames at a time, so a
//! server can stream hours of audio without ever holding the whole file.

/// Bytes of the canonical WAV header written before the samples.
pub const HEADER_BYTES: u64 = 44;

/// An 8-bit PCM WAV of `frames` frames. Speech-like audio alternates 1.2 s of a 3-tone chord
/// with 0.6 s pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synth {
    rate: u32,
    channels: u16,
    frames: u64,
    speechlike: bool,
    /// Bytes of samples: frames × channels, checked when made.
    data_len: u64,
}

impl Synth {
    /// The file's description, or `None` when its size does not fit in 64 bits (or the rate or
    /// channel count is zero): sizes from a query string are never trusted to multiply safely.
    pub fn new(rate: u32, channels: u16, frames: u64, speechlike: bool) -> Option<Synth> {
        if rate == 0 || channels == 0 {
            return None;
        }
        let data_len = frames.checked_mul(u64::from(channels))?;
        data_len.checked_add(HEADER_BYTES)?;
        Some(Synth {
            rate,
            channels,
            frames,
            speechlike,
            data_len,
        })
    }

    /// The whole file's length in bytes, header included.
    pub fn total_bytes(&self) -> u64 {
        self.data_len + HEADER_BYTES
    }

    /// Frames in the file.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The canonical 44-byte header (sizes saturate at 4 GiB, as streaming writers leave them).
    pub fn header(&self) -> [u8; HEADER_BYTES as usize] {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let byte_rate = self.rate.saturating_mul(u32::from(self.channels));
        let mut h = [0u8; HEADER_BYTES as usize];
        let fields: [&[u8]; 12] = [
            b"RIFF",
            &clamp(36 + self.data_len).to_le_bytes(),
            b"WAVEfmt ",
            &16u32.to_le_bytes(),
            &1u16.to_le_bytes(),
            &self.channels.to_le_bytes(),
            &self.rate.to_le_bytes(),
            &byte_rate.to_le_bytes(),
            &self.channels.to_le_bytes(),
            &8u16.to_le_bytes(),
            b"data",
            &clamp(self.data_len).to_le_bytes(),
        ];
        let mut at = 0;
        for f in fields {
            h[at..at + f.len()].copy_from_slice(f);
            at += f.len();
        }
        h
    }

    /// Appends the interleaved samples of frames `from..from + count` (clipped to the file)
    /// to `out`.
    pub fn samples_into(&self, from: u64, count: u64, out: &mut Vec<u8>) {
        let end = from.saturating_add(count).min(self.frames);
        let channels = usize::from(self.channels);
        if !self.speechlike {
            let n = usize::try_from(end.saturating_sub(from)).unwrap_or(0);
            out.resize(out.len().saturating_add(n.saturating_mul(channels)), 128);
            return;
        }
        let rate = u64::from(self.rate);
        let period = (rate * 18 / 10).max(1); // 1.8 s: 1.2 s voiced, 0.6 s pause
        let voiced = rate * 12 / 10;
        for i in from..end {
            let sample = if i % period < voiced {
                let t = i as f64 / rate as f64;
                let v = (t * 2.0 * std::f64::consts::PI * 150.0).sin() * 0.5
                    + (t * 2.0 * std::f64::consts::PI * 310.0).sin() * 0.3
                    + (t * 2.0 * std::f64::consts::PI * 440.0).sin() * 0.2;
                (128.0 + v * 100.0) as u8
            } else {
                128
            };
            out.extend(std::iter::repeat_n(sample, channels));
        }
    }
}

/// The whole of a small synthetic WAV in memory (tests and benchmarks); see [`Synth`].
/// An impossible size (zero rate or channels, or more than 64 bits of bytes) gives the header
/// alone of an empty file.
pub fn wav_8bit(rate: u32, channels: u16, frames: u64, speechlike: bool) -> Vec<u8> {
    let synth = Synth::new(rate, channels, frames, speechlike)
        .or_else(|| Synth::new(rate.max(1), channels.max(1), 0, false))
        .unwrap_or(Synth {
            rate: 1,
            channels: 1,
            frames: 0,
            speechlike: false,
            data_len: 0,
        });
    let mut wav = Vec::with_capacity(
        usize::try_from(synth.total_bytes())
            .unwrap_or(0)
            .min(1 << 30),
    );
    wav.extend_from_slice(&synth.header());
    synth.samples_into(0, synth.frames, &mut wav);
    wav
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_into_the_whole_file() {
        let synth = Synth::new(8000, 2, 8000 * 3 + 17, true).unwrap();
        let whole = wav_8bit(8000, 2, 8000 * 3 + 17, true);
        assert_eq!(whole.len() as u64, synth.total_bytes());
        let mut joined = synth.header().to_vec();
        let mut from = 0;
        while from < synth.frames() {
            synth.samples_into(from, 4093, &mut joined);
            from += 4093;
        }
        assert_eq!(joined, whole);
    }

    #[test]
    fn sizes_that_overflow_are_refused() {
        assert!(Synth::new(1024, 2, u64::MAX / 2 + 1, false).is_none());
        assert!(Synth::new(1024, 1, u64::MAX - 10, false).is_none());
        assert!(Synth::new(0, 1, 10, false).is_none());
        assert_eq!(wav_8bit(1024, 2, u64::MAX, false).len(), 44);
    }
}
