//! Audio that arrives in pieces (the streaming recognition endpoint): decoded as it comes, a
//! partial frame and a WAV header at most kept between pieces, speech found by the same
//! detector and the same sample conversion as [`super::probe`], so the same samples give the
//! same spans however they were cut and whether or not a WAV header came first.
//!
//! Containers not decoded here (Ogg) are kept whole, up to a cap, and probed at the end, as
//! an upload of the same bytes would be.

use super::decode::{pcm_sample, PcmEncoding, Plan};
use super::vad::Vad;
use super::{frames_to_ms, probe, Format, ProbeOptions};

/// Most bytes waited for before a WAV header must be complete (fmt and the data chunk's
/// header); real headers take 44 to a few hundred bytes.
const MAX_WAV_HEADER: usize = 64 * 1024;

/// How the client says its audio is laid out (`input_audio`), already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLayout {
    /// Interleaved sample encoding of headerless audio.
    pub codec: StreamCodec,
    /// Frames per second.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// 8, 16 or 24 (for `Pcm`).
    pub bit_depth: u16,
}

/// The codecs a stream may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCodec {
    /// Linear PCM, little-endian (8-bit unsigned).
    Pcm,
    /// Opus packets: not decoded here.
    Opus,
    /// G.711 A-law.
    G711a,
    /// G.711 mu-law.
    G711u,
}

/// Why a stream cannot take more audio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Audio kept whole for probing went over its cap.
    #[error("the stream holds more than {0} bytes of audio that cannot be decoded as it arrives")]
    TooManyBytes(usize),
}

/// What a finished stream was.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAudio {
    /// Playing time.
    pub duration_ms: u64,
    /// Speech spans, or `None` when the audio was not decoded (speech assumed throughout).
    pub voiced: Option<Vec<(u64, u64)>>,
}

/// A stream being decoded.
#[derive(Debug)]
pub struct StreamDecoder {
    declared: StreamLayout,
    state: State,
    /// Bytes of audio received in total.
    received: u64,
    /// Cap on the bytes kept whole (Ogg, Opus).
    max_kept: usize,
}

#[derive(Debug)]
enum State {
    /// Fewer than 4 bytes so far: not yet known whether a header comes.
    Sniffing(Vec<u8>),
    /// A WAV header being collected.
    WavHeader(Vec<u8>),
    /// Samples being decoded.
    Pcm(Pcm),
    /// Bytes kept whole to be probed at the end.
    Kept(Vec<u8>),
}

#[derive(Debug)]
struct Pcm {
    encoding: PcmEncoding,
    channels: u16,
    /// Bytes of a frame split across pieces.
    carry: Vec<u8>,
    /// Data bytes still expected (a WAV data chunk's size), `None` for no limit.
    remaining: Option<u64>,
    vad: Vad,
}

impl Pcm {
    fn new(encoding: PcmEncoding, channels: u16, rate: u32, remaining: Option<u64>) -> Self {
        Pcm {
            encoding,
            channels: channels.max(1),
            carry: Vec::new(),
            remaining,
            vad: Vad::new(rate),
        }
    }

    fn frame_len(&self) -> usize {
        self.encoding.width() * usize::from(self.channels)
    }

    /// Decodes whole frames of `bytes` (after any carried partial frame).
    fn push(&mut self, mut bytes: &[u8]) {
        if let Some(left) = self.remaining.as_mut() {
            let take = usize::try_from(*left)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            bytes = &bytes[..take];
            *left -= take as u64;
        }
        let frame_len = self.frame_len();
        if !self.carry.is_empty() {
            let need = frame_len - self.carry.len();
            let take = need.min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < frame_len {
                return;
            }
            let frame = std::mem::take(&mut self.carry);
            self.frame(&frame);
        }
        let mut frames = bytes.chunks_exact(frame_len);
        for frame in frames.by_ref() {
            self.frame(frame);
        }
        self.carry.extend_from_slice(frames.remainder());
    }

    /// The mono mix of one frame, exactly as `decode` computes it for a file.
    #[inline]
    fn frame(&mut self, frame: &[u8]) {
        let width = self.encoding.width();
        let scale = 1.0 / f32::from(self.channels);
        let sum: f32 = frame
            .chunks_exact(width)
            .map(|s| pcm_sample(s, self.encoding))
            .sum();
        self.vad.push(sum * scale);
    }
}

impl StreamDecoder {
    /// A stream laid out as `declared` unless a WAV header (or an Ogg page) says otherwise;
    /// at most `max_kept` bytes are kept for audio that is only probed at the end.
    pub fn new(declared: StreamLayout, max_kept: usize) -> Self {
        StreamDecoder {
            declared,
            state: State::Sniffing(Vec::with_capacity(4)),
            received: 0,
            max_kept,
        }
    }

    /// Takes the next piece of audio.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        self.received = self.received.saturating_add(bytes.len() as u64);
        match &mut self.state {
            State::Sniffing(head) => {
                let mut head = std::mem::take(head);
                head.extend_from_slice(bytes);
                if head.len() < 4 {
                    self.state = State::Sniffing(head);
                    return Ok(());
                }
                self.state = match &head[..4] {
                    b"RIFF" | b"RF64" | b"BW64" => State::WavHeader(Vec::new()),
                    b"OggS" => State::Kept(Vec::new()),
                    _ if self.declared.codec == StreamCodec::Opus => State::Kept(Vec::new()),
                    _ => State::Pcm(self.declared_pcm()),
                };
                self.feed(&head)
            }
            _ => self.feed(bytes),
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        match &mut self.state {
            State::Sniffing(_) => Ok(()),
            State::Pcm(pcm) => {
                pcm.push(bytes);
                Ok(())
            }
            State::Kept(kept) => {
                if kept.len().saturating_add(bytes.len()) > self.max_kept {
                    return Err(StreamError::TooManyBytes(self.max_kept));
                }
                kept.extend_from_slice(bytes);
                Ok(())
            }
            State::WavHeader(head) => {
                head.extend_from_slice(bytes);
                if let Some((pcm, data_at)) = wav_header(head) {
                    let rest = head.split_off(data_at.min(head.len()));
                    self.state = State::Pcm(pcm);
                    return self.feed(&rest);
                }
                if head.len() > MAX_WAV_HEADER {
                    // Not a header this decoder understands (compressed WAV, garbage):
                    // keep the bytes and let the probe at the end judge them.
                    let head = std::mem::take(head);
                    self.state = State::Kept(Vec::new());
                    return self.feed(&head);
                }
                Ok(())
            }
        }
    }

    fn declared_pcm(&self) -> Pcm {
        let d = self.declared;
        let encoding = match (d.codec, d.bit_depth) {
            (StreamCodec::G711a, _) => PcmEncoding::ALaw,
            (StreamCodec::G711u, _) => PcmEncoding::MuLaw,
            (_, 8) => PcmEncoding::U8,
            (_, 24) => PcmEncoding::S24,
            _ => PcmEncoding::S16,
        };
        Pcm::new(encoding, d.channels, d.sample_rate, None)
    }

    /// Speech spans heard so far, in ms: finished ones and the open one, which later audio
    /// can only lengthen (for interim results).
    pub fn heard(&self) -> Vec<(u64, u64)> {
        match &self.state {
            State::Pcm(pcm) => pcm.vad.heard(),
            _ => Vec::new(),
        }
    }

    /// Playing time decoded so far (0 for audio kept whole).
    pub fn decoded_ms(&self) -> u64 {
        match &self.state {
            State::Pcm(pcm) => frames_to_ms(pcm.vad.frames(), pcm.vad.rate()),
            _ => 0,
        }
    }

    /// Ends the stream: its duration and speech spans, or `None` when nothing was sent or
    /// the bytes are not audio (the probe's verdict on kept bytes).
    pub fn finish(self, probe_options: &ProbeOptions) -> Option<StreamAudio> {
        match self.state {
            State::Sniffing(head) if head.is_empty() => None,
            // Fewer than 4 bytes: samples in the declared layout.
            State::Sniffing(head) => {
                let mut pcm = StreamDecoder::new(self.declared, 0).declared_pcm();
                pcm.push(&head);
                Some(finish_pcm(pcm))
            }
            State::Pcm(pcm) => Some(finish_pcm(pcm)),
            State::WavHeader(head) | State::Kept(head) => {
                let info = probe(&head, None, probe_options).ok()?;
                Some(StreamAudio {
                    duration_ms: info.duration_ms,
                    voiced: info.voiced,
                })
            }
        }
    }
}

fn finish_pcm(pcm: Pcm) -> StreamAudio {
    let duration_ms = frames_to_ms(pcm.vad.frames(), pcm.vad.rate());
    StreamAudio {
        duration_ms,
        voiced: Some(pcm.vad.finish()),
    }
}

/// A complete WAV header of plain PCM in `head`: the decoder for its samples and where they
/// start. `None` while the header is incomplete or when it is not plain PCM.
fn wav_header(head: &[u8]) -> Option<(Pcm, usize)> {
    let parsed = super::wav::parse(head).ok()?;
    if parsed.format != Format::Wav {
        return None;
    }
    let Plan::Pcm {
        data,
        encoding,
        channels,
        rate,
    } = parsed.plan
    else {
        return None;
    };
    // The data chunk's declared size bounds the samples (chunks after it are not audio);
    // 0 or 0xFFFFFFFF is a writer that never came back to fill it in.
    let size_at = data.start.checked_sub(4)?;
    let size = u32::from_le_bytes(head.get(size_at..data.start)?.try_into().ok()?);
    let remaining = match size {
        0 | u32::MAX => None,
        n => Some(u64::from(n)),
    };
    Some((Pcm::new(encoding, channels, rate, remaining), data.start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::synth::Synth;

    fn wav(rate: u32, channels: u16, secs: u64) -> Vec<u8> {
        let synth = Synth::new(rate, channels, u64::from(rate) * secs, true).unwrap();
        let mut out = synth.header().to_vec();
        synth.samples_into(0, synth.frames(), &mut out);
        out
    }

    fn layout() -> StreamLayout {
        StreamLayout {
            codec: StreamCodec::Pcm,
            sample_rate: 16_000,
            channels: 1,
            bit_depth: 16,
        }
    }

    fn run(bytes: &[u8], cuts: &[usize], declared: StreamLayout) -> StreamAudio {
        let mut d = StreamDecoder::new(declared, 1 << 20);
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.min(bytes.len()).max(at);
            d.push(&bytes[at..cut]).unwrap();
            at = cut;
        }
        d.push(&bytes[at..]).unwrap();
        d.finish(&ProbeOptions::default()).unwrap()
    }

    #[test]
    fn any_cut_of_a_wav_gives_the_probes_spans() {
        let file = wav(16_000, 2, 8);
        let probed = probe(&file, None, &ProbeOptions::default()).unwrap();
        assert!(probed.voiced.as_ref().is_some_and(|v| !v.is_empty()));
        for cuts in [
            vec![],
            vec![1],
            vec![3, 5, 44, 45, 47],
            vec![1000, 77_777, 200_001],
        ] {
            let got = run(&file, &cuts, layout());
            assert_eq!(got.voiced, probed.voiced, "cuts {cuts:?}");
            assert_eq!(got.duration_ms, probed.duration_ms);
        }
        // The header overrides the declared layout; the samples alone need the right one.
        let stereo = StreamLayout {
            channels: 2,
            bit_depth: 8,
            ..layout()
        };
        assert_eq!(run(&file[44..], &[9], stereo).voiced, probed.voiced);
    }

    #[test]
    fn heard_spans_only_grow_into_the_final_ones() {
        // Each view keeps the spans before and lengthens (or keeps) the last one.
        fn grows(before: &[(u64, u64)], after: &[(u64, u64)]) -> bool {
            match before.split_last() {
                None => true,
                Some((&(a, b), done)) => {
                    after.starts_with(done)
                        && after
                            .get(done.len())
                            .is_some_and(|&(a2, b2)| a2 == a && b2 >= b)
                }
            }
        }
        let file = wav(16_000, 1, 12);
        let mut d = StreamDecoder::new(layout(), 0);
        let mut last = Vec::new();
        let mut views = 0;
        for piece in file.chunks(3_333) {
            d.push(piece).unwrap();
            let now = d.heard();
            assert!(grows(&last, &now), "{last:?} then {now:?}");
            views += usize::from(now != last);
            last = now;
        }
        assert!(
            views > 3,
            "the open span grows as audio comes: {views} views"
        );
        let done = d.finish(&ProbeOptions::default()).unwrap().voiced.unwrap();
        assert!(grows(&last, &done), "{last:?} then {done:?}");
    }

    #[test]
    fn kept_audio_is_capped_and_empty_streams_are_nothing() {
        let mut d = StreamDecoder::new(layout(), 10);
        assert_eq!(
            d.push(b"OggS0123456789"),
            Err(StreamError::TooManyBytes(10))
        );
        let d = StreamDecoder::new(layout(), 10);
        assert_eq!(d.finish(&ProbeOptions::default()), None);
        // Two bytes are one 16-bit sample of silence.
        let mut d = StreamDecoder::new(layout(), 10);
        d.push(&[0, 0]).unwrap();
        let got = d.finish(&ProbeOptions::default()).unwrap();
        assert_eq!(got.voiced, Some(vec![]));
    }
}
