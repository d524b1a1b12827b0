//! Synthetic WAV audio: silence or a speech-like chord, for hosted long recordings and
//! benchmarks that need audio of a given length without keeping it as a fixture.

/// An 8-bit PCM WAV. Speech-like audio alternates 1.2 s of a 3-tone chord with 0.6 s pauses.
pub fn wav_8bit(rate: u32, channels: u16, frames: u64, speechlike: bool) -> Vec<u8> {
    let data_len = frames * channels as u64;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&((36 + data_len).min(u32::MAX as u64) as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * channels as u32).to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data_len.min(u32::MAX as u64) as u32).to_le_bytes());
    let period = (rate as u64 * 18) / 10; // 1.8 s: 1.2 s voiced, 0.6 s pause
    let voiced = (rate as u64 * 12) / 10;
    for i in 0..frames {
        let sample = if speechlike && i % period < voiced {
            let t = i as f64 / rate as f64;
            let v = (t * 2.0 * std::f64::consts::PI * 150.0).sin() * 0.5
                + (t * 2.0 * std::f64::consts::PI * 310.0).sin() * 0.3
                + (t * 2.0 * std::f64::consts::PI * 440.0).sin() * 0.2;
            (128.0 + v * 100.0) as u8
        } else {
            128
        };
        for _ in 0..channels {
            wav.push(sample);
        }
    }
    wav
}
