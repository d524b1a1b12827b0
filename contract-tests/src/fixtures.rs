//! Audio the checks upload. Embedded from the simulator's committed fixtures
//! (`mock-server/tests/fixtures/audio/`), so the binary runs from any directory.

/// Mandarin speech ("你好，天气很好。"), 16 kHz mono WAV.
pub const SPEECH: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-server/tests/fixtures/audio/speech-cmn-16k.wav"
));

/// Filename [`SPEECH`] is uploaded as.
pub const SPEECH_NAME: &str = "speech-cmn-16k.wav";

/// [`SPEECH`]'s duration as ffprobe reports it (the fixture folder's `expected.json`).
pub const SPEECH_DURATION_MS: u64 = 2882;

/// Two seconds of digital silence, 16 kHz mono WAV.
pub const SILENCE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-server/tests/fixtures/audio/silence-2s-16k.wav"
));

/// Filename [`SILENCE`] is uploaded as.
pub const SILENCE_NAME: &str = "silence-2s-16k.wav";

/// A short text file: no audio container at all.
pub const NOT_AUDIO: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mock-server/tests/fixtures/audio/not-audio.txt"
));

/// Filename [`NOT_AUDIO`] is uploaded as.
pub const NOT_AUDIO_NAME: &str = "not-audio.txt";
