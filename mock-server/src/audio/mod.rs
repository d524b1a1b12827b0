//! Audio inspection: which container an upload really is (from its bytes, never its name), how
//! long it lasts, its channels and sample rate, and where in it someone is speaking.
//!
//! The real providers reject audio by what it is, not by what it is called, so the simulator
//! must too. Two entry points:
//! - [`sniff`]: magic bytes only, for cheap early checks before a body is fully buffered;
//! - [`probe`]: full inspection, used to validate uploads and to spread transcript timings
//!   over the real duration and the real speech.
//!
//! Layout: every container has a small parser of its own (`wav`, `mpeg` for MP3 and ADTS,
//! `ogg`, `flac`, `mp4`, `amr`, `asf`, `flv`, `pcm`) that reads durations, channels and sample
//! rates from headers or frame structure without decoding, so metadata stays exact and cheap
//! and no allocation is sized by an untrusted length. `decode` then decodes what it can
//! (symphonia, or plain PCM by hand) into `vad`, a streaming energy detector whose memory does
//! not grow with the audio.
//!
//! Nothing here panics on any input: parsers use bounds-checked reads only, and the third-party
//! decoders run behind `catch_unwind` (`guard`), so a decoder bug costs the speech spans, not
//! the server. Decoding work is bounded too: at most [`ProbeOptions::max_decode_ms`] of audio
//! (and `decode::MAX_DECODE_FRAMES`) is decoded, so a small file that expands to hours of
//! samples costs no more than a short one.

mod amr;
mod asf;
mod bytes;
mod decode;
mod flac;
mod flv;
mod guard;
mod mp4;
mod mpeg;
mod ogg;
mod pcm;
mod sniff;
pub mod stream;
pub mod synth;
mod vad;
mod wav;

#[cfg(test)]
mod tests;

pub use sniff::sniff;

/// An audio container (and, for Ogg, the codec inside, since providers list them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Format {
    /// RIFF/WAVE, RF64 or BW64.
    Wav,
    /// MPEG-1/2/2.5 audio layer III (also layers I and II, which providers lump in with it).
    Mp3,
    /// Ogg with Vorbis inside (and Ogg with an unknown first packet).
    OggVorbis,
    /// Ogg with Opus inside.
    OggOpus,
    /// Ogg with Speex inside.
    OggSpeex,
    /// Native FLAC, and FLAC in Ogg.
    Flac,
    /// ISO BMFF branded as iTunes audio (`M4A `, `M4B `).
    M4a,
    /// ISO BMFF with any other brand.
    Mp4,
    /// ISO BMFF branded `3gp*` or `3g2*`.
    ThreeGp,
    /// Raw AAC in ADTS frames.
    Aac,
    /// AMR narrow-band storage format (`#!AMR`).
    Amr,
    /// AMR wide-band storage format (`#!AMR-WB`).
    AmrWb,
    /// ASF (Windows Media Audio).
    Wma,
    /// Flash video container.
    Flv,
    /// Headerless PCM, known only by the file's extension.
    Pcm,
}

impl Format {
    /// The short name providers use in their format lists and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Mp3 => "mp3",
            Format::OggVorbis => "ogg",
            Format::OggOpus => "opus",
            Format::OggSpeex => "spx",
            Format::Flac => "flac",
            Format::M4a => "m4a",
            Format::Mp4 => "mp4",
            Format::ThreeGp => "3gp",
            Format::Aac => "aac",
            Format::Amr => "amr",
            Format::AmrWb => "amr-wb",
            Format::Wma => "wma",
            Format::Flv => "flv",
            Format::Pcm => "pcm",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to read headerless PCM, which carries no description of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmSpec {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// 8 (unsigned), 16, 24 or 32 (signed little-endian integers).
    pub bits_per_sample: u16,
}

impl Default for PcmSpec {
    /// 16 kHz mono 16-bit: what both providers assume for raw PCM.
    fn default() -> Self {
        PcmSpec {
            sample_rate: 16_000,
            channels: 1,
            bits_per_sample: 16,
        }
    }
}

/// Knobs for [`probe`].
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Layout assumed for headerless `.pcm` / `.raw` uploads.
    pub pcm: PcmSpec,
    /// Speech detection decodes at most this much audio (and never more frames than 30 min at
    /// 16 kHz), so huge files and decompression bombs stay cheap; past it the rest of the file
    /// counts as speech, as for formats not decoded here. 0 switches detection off (`voiced`
    /// is then `None`). Durations never depend on it.
    pub max_decode_ms: u64,
}

/// The default decode budget: Coze's longest file, so every file Coze accepts is heard whole.
pub const DEFAULT_MAX_DECODE_MS: u64 = 30 * 60 * 1000;

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            pcm: PcmSpec::default(),
            max_decode_ms: DEFAULT_MAX_DECODE_MS,
        }
    }
}

/// What [`probe`] learned about an audio file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AudioInfo {
    /// The container, identified from the bytes.
    pub format: Format,
    /// Playing time, within 1% of what ffprobe reports.
    pub duration_ms: u64,
    /// Channels of the first audio stream.
    pub channels: u16,
    /// Sample rate of the first audio stream as a decoder outputs it (48 kHz for Opus).
    pub sample_rate: u32,
    /// Speech spans (start_ms, end_ms), sorted, from decoding the samples;
    /// Some(vec![]) = decodable and silent; None = this format is not decoded here
    /// (e.g. opus, speex, amr, wma) so callers assume speech throughout.
    pub voiced: Option<Vec<(u64, u64)>>,
}

/// Why [`probe`] could not describe the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Zero bytes: providers report this separately from bad audio.
    #[error("the file is empty")]
    Empty,
    /// No known magic, and not named as headerless PCM.
    #[error("the bytes are not a known audio container")]
    Unrecognized,
    /// The magic matched but the rest does not hold together.
    #[error("the {format} file is corrupt or truncated: {reason}")]
    Corrupt {
        /// [`Format::name`] of the container the magic promised.
        format: &'static str,
        /// What was wrong, for logs and error messages.
        reason: String,
    },
}

impl ProbeError {
    /// Shorthand used by every parser.
    pub(crate) fn corrupt(format: Format, reason: impl Into<String>) -> Self {
        ProbeError::Corrupt {
            format: format.name(),
            reason: reason.into(),
        }
    }
}

/// A container parser's findings, before any decoding.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// May refine the sniffed format (FLAC inside Ogg, for instance).
    pub format: Format,
    /// Reported as is.
    pub channels: u16,
    /// Reported as is; the decoder's own rate drives speech detection.
    pub sample_rate: u32,
    /// `None` when the headers do not say and only walking the packets can tell (FLAC whose
    /// STREAMINFO leaves the total at zero); `decode` then measures it.
    pub duration_ms: Option<u64>,
    /// How to get samples for speech detection, if at all.
    pub plan: decode::Plan,
}

/// Identifies `bytes` and reports duration, channels, sample rate and speech spans.
///
/// `filename` matters only when the bytes have no known magic: a `.pcm` or `.raw` name then
/// means headerless PCM laid out as `opts.pcm`. A misleading extension on real audio is ignored.
pub fn probe(
    bytes: &[u8],
    filename: Option<&str>,
    opts: &ProbeOptions,
) -> Result<AudioInfo, ProbeError> {
    if bytes.is_empty() {
        return Err(ProbeError::Empty);
    }
    let parsed = match sniff(bytes) {
        Some(format) => parse(format, bytes)?,
        None if named_pcm(filename) => pcm::parse(bytes, opts.pcm)?,
        None => return Err(ProbeError::Unrecognized),
    };
    let decoded = decode::run(bytes, &parsed, opts.max_decode_ms);
    let duration_ms = match (parsed.duration_ms, decoded.end_ms) {
        (Some(ms), _) | (None, Some(ms)) => ms,
        (None, None) => {
            return Err(ProbeError::corrupt(
                parsed.format,
                "no audio frames to measure",
            ));
        }
    };
    let voiced = decoded
        .voiced
        .map(|spans| clamp_spans(assume_speech_after(spans, decoded.cut_ms), duration_ms));
    Ok(AudioInfo {
        format: parsed.format,
        duration_ms,
        channels: parsed.channels,
        sample_rate: parsed.sample_rate,
        voiced,
    })
}

/// Runs the parser for a sniffed format.
fn parse(format: Format, bytes: &[u8]) -> Result<Parsed, ProbeError> {
    match format {
        Format::Wav => wav::parse(bytes),
        Format::Mp3 => mpeg::parse_mp3(bytes),
        Format::Aac => mpeg::parse_adts(bytes),
        Format::OggVorbis | Format::OggOpus | Format::OggSpeex => ogg::parse(bytes),
        Format::Flac => match bytes.get(..4) {
            Some(b"OggS") => ogg::parse(bytes),
            _ => flac::parse(bytes),
        },
        Format::M4a | Format::Mp4 | Format::ThreeGp => mp4::parse(format, bytes),
        Format::Amr | Format::AmrWb => amr::parse(format, bytes),
        Format::Wma => asf::parse(bytes),
        Format::Flv => flv::parse(bytes),
        // sniff never says Pcm: it has no magic.
        Format::Pcm => Err(ProbeError::Unrecognized),
    }
}

/// Whether the basename of `filename` ends in `.pcm` or `.raw`, in any case. Both separators
/// count because browsers on Windows may send a full path.
fn named_pcm(filename: Option<&str>) -> bool {
    let Some(name) = filename else { return false };
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("pcm") || ext.eq_ignore_ascii_case("raw"))
}

/// Past the point where the decode budget stopped, nothing was heard: like an undecodable
/// format, that part counts as speech (joined to a span still open at the cut).
fn assume_speech_after(mut spans: Vec<(u64, u64)>, cut_ms: Option<u64>) -> Vec<(u64, u64)> {
    let Some(cut) = cut_ms else { return spans };
    match spans.last_mut() {
        Some((_, end)) if *end >= cut => *end = u64::MAX,
        _ => spans.push((cut, u64::MAX)),
    }
    spans
}

/// Keeps spans inside `[0, duration_ms]`: decoders may emit a little past the container's
/// duration (encoder padding), and callers rely on spans lying within the file.
fn clamp_spans(spans: Vec<(u64, u64)>, duration_ms: u64) -> Vec<(u64, u64)> {
    spans
        .into_iter()
        .filter_map(|(start, end)| {
            let end = end.min(duration_ms);
            (start < end).then_some((start, end))
        })
        .collect()
}

/// Rounds `frames / rate` seconds to whole milliseconds without overflow.
pub(crate) fn frames_to_ms(frames: u64, rate: u32) -> u64 {
    if rate == 0 {
        return 0;
    }
    let rate = u128::from(rate);
    let ms = (u128::from(frames) * 1000 + rate / 2) / rate;
    u64::try_from(ms).unwrap_or(u64::MAX)
}
