//! Turns a parsed file into speech spans: plain PCM by hand (fast, no copies), everything else
//! that symphonia can decode through symphonia, streamed packet by packet into [`Vad`].

use std::io::Cursor;
use std::ops::Range;

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{CodecParameters, DecoderOptions, CODEC_TYPE_AAC, CODEC_TYPE_MP3};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::sample::Sample;
use symphonia::core::units::TimeBase;
use symphonia::default::formats::{
    AdtsReader, FlacReader, IsoMp4Reader, MpaReader, OggReader, WavReader,
};

use super::guard::guarded;
use super::vad::Vad;
use super::{flv, Parsed};

/// Most frames decoded for speech detection in one probe, whatever the time budget says:
/// 30 minutes at 16 kHz (the usual ASR rate; less time at higher rates). A file that decodes
/// to more (a few megabytes of FLAC can hold hours of silence) costs at most this much work.
pub(crate) const MAX_DECODE_FRAMES: u64 = 30 * 60 * 16_000;

/// How `decode` gets samples out of a file.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// Not decodable here (Opus, Speex, AMR, WMA, ...): speech is assumed throughout.
    None,
    /// Interleaved little-endian PCM at `data`.
    Pcm {
        data: Range<usize>,
        encoding: PcmEncoding,
        channels: u16,
        rate: u32,
    },
    /// A container symphonia demuxes, starting at byte `start` (past any ID3 tag).
    Symphonia { container: Container, start: usize },
    /// Audio tags of an FLV file, fed to a symphonia decoder one tag at a time.
    Flv(flv::AudioCodec),
}

/// Containers handed to symphonia's own demuxers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Wav,
    Mp3,
    Adts,
    Ogg,
    Flac,
    IsoMp4,
}

/// Sample encodings decoded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PcmEncoding {
    U8,
    S16,
    S24,
    S32,
    F32,
    F64,
    ALaw,
    MuLaw,
}

impl PcmEncoding {
    /// Bytes per sample.
    pub(crate) fn width(self) -> usize {
        match self {
            PcmEncoding::U8 | PcmEncoding::ALaw | PcmEncoding::MuLaw => 1,
            PcmEncoding::S16 => 2,
            PcmEncoding::S24 => 3,
            PcmEncoding::S32 | PcmEncoding::F32 => 4,
            PcmEncoding::F64 => 8,
        }
    }
}

/// What decoding found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Speech spans, or `None` when nothing could be decoded.
    pub voiced: Option<Vec<(u64, u64)>>,
    /// End of the last packet, measured only when the headers gave no duration.
    pub end_ms: Option<u64>,
    /// Where decoding stopped because the budget ran out: spans past it are unknown.
    pub cut_ms: Option<u64>,
}

/// Decodes up to `max_ms` of audio for speech detection (and, when the headers had no
/// duration, walks the remaining packets to measure it).
pub(crate) fn run(bytes: &[u8], parsed: &Parsed, max_ms: u64) -> Outcome {
    let need_end = parsed.duration_ms.is_none();
    match &parsed.plan {
        Plan::None => Outcome::default(),
        // Detection switched off: nothing is decoded, so nothing can be claimed silent.
        Plan::Pcm { .. } | Plan::Flv(_) if max_ms == 0 => Outcome::default(),
        Plan::Pcm {
            data,
            encoding,
            channels,
            rate,
        } => {
            let data = bytes.get(data.clone()).unwrap_or_default();
            let (voiced, cut_ms) = pcm_voiced(data, *encoding, *channels, *rate, max_ms);
            Outcome {
                voiced: Some(voiced),
                end_ms: None,
                cut_ms,
            }
        }
        // Symphonia is third-party code fed untrusted bytes and does panic on some: lose the
        // spans then (callers assume speech throughout), not the request (see `guard`).
        Plan::Symphonia { container, start } => {
            let data = bytes.get(*start..).unwrap_or_default();
            guarded(|| with_reader(data, *container, max_ms, need_end)).unwrap_or_default()
        }
        Plan::Flv(codec) => guarded(|| flv_voiced(bytes, codec, max_ms)).unwrap_or_default(),
    }
}

/// Frames decoded at most: `ms` milliseconds at `rate`, and never more than
/// [`MAX_DECODE_FRAMES`].
fn frame_budget(ms: u64, rate: u32) -> u64 {
    let frames = u128::from(ms) * u128::from(rate) / 1000;
    u64::try_from(frames)
        .unwrap_or(u64::MAX)
        .min(MAX_DECODE_FRAMES)
}

/// Energy detection straight over interleaved PCM bytes; also where the budget cut it short.
fn pcm_voiced(
    data: &[u8],
    encoding: PcmEncoding,
    channels: u16,
    rate: u32,
    max_ms: u64,
) -> (Vec<(u64, u64)>, Option<u64>) {
    let width = encoding.width();
    let channels = usize::from(channels.max(1));
    let frame_len = width * channels;
    let budget = frame_budget(max_ms, rate);
    let limit = usize::try_from(budget).unwrap_or(usize::MAX);
    let scale = 1.0 / channels as f32;
    let mut vad = Vad::new(rate);
    let frames = data.chunks_exact(frame_len);
    let cut = (frames.len() > limit).then(|| super::frames_to_ms(budget, rate));
    for frame in frames.take(limit) {
        let sum: f32 = frame
            .chunks_exact(width)
            .map(|s| pcm_sample(s, encoding))
            .sum();
        vad.push(sum * scale);
    }
    (vad.finish(), cut)
}

/// One little-endian sample as a float in [-1, 1].
#[inline]
pub(crate) fn pcm_sample(s: &[u8], encoding: PcmEncoding) -> f32 {
    let byte = |i: usize| s.get(i).copied().unwrap_or(0);
    match encoding {
        PcmEncoding::U8 => (f32::from(byte(0)) - 128.0) / 128.0,
        PcmEncoding::S16 => f32::from(i16::from_le_bytes([byte(0), byte(1)])) / 32_768.0,
        PcmEncoding::S24 => {
            let v = i32::from_le_bytes([0, byte(0), byte(1), byte(2)]) >> 8;
            v as f32 / 8_388_608.0
        }
        PcmEncoding::S32 => {
            i32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)]) as f32 / 2_147_483_648.0
        }
        PcmEncoding::F32 => f32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)]),
        PcmEncoding::F64 => {
            let b = [
                byte(0),
                byte(1),
                byte(2),
                byte(3),
                byte(4),
                byte(5),
                byte(6),
                byte(7),
            ];
            f64::from_le_bytes(b) as f32
        }
        PcmEncoding::ALaw => f32::from(alaw(byte(0))) / 32_768.0,
        PcmEncoding::MuLaw => f32::from(mulaw(byte(0))) / 32_768.0,
    }
}

/// G.711 A-law expansion.
fn alaw(a: u8) -> i16 {
    let a = a ^ 0x55;
    let exp = (a >> 4) & 0x07;
    let mant = i16::from(a & 0x0F);
    let mag = if exp == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (exp - 1)
    };
    if a & 0x80 != 0 {
        mag
    } else {
        -mag
    }
}

/// G.711 mu-law expansion.
fn mulaw(u: u8) -> i16 {
    let u = !u;
    let exp = (u >> 4) & 0x07;
    let mant = i32::from(u & 0x0F);
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    let mag = i16::try_from(mag).unwrap_or(i16::MAX);
    if u & 0x80 != 0 {
        -mag
    } else {
        mag
    }
}

/// Opens symphonia's demuxer for `container` over `data`.
fn open(data: &[u8], container: Container) -> Option<Box<dyn FormatReader>> {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(data.to_vec())), Default::default());
    // Gapless trimming drops encoder priming, so spans line up with the original audio.
    let opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let reader: Box<dyn FormatReader> = match container {
        Container::Wav => Box::new(WavReader::try_new(mss, &opts).ok()?),
        Container::Mp3 => Box::new(MpaReader::try_new(mss, &opts).ok()?),
        Container::Adts => Box::new(AdtsReader::try_new(mss, &opts).ok()?),
        Container::Ogg => Box::new(OggReader::try_new(mss, &opts).ok()?),
        Container::Flac => Box::new(FlacReader::try_new(mss, &opts).ok()?),
        Container::IsoMp4 => Box::new(IsoMp4Reader::try_new(mss, &opts).ok()?),
    };
    Some(reader)
}

/// Decodes the first audio track of a symphonia-demuxed file into the detector.
fn with_reader(data: &[u8], container: Container, max_ms: u64, need_end: bool) -> Outcome {
    let Some(mut reader) = open(data, container) else {
        return Outcome::default();
    };
    let Some(track) = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.sample_rate.is_some() && t.codec_params.channels.is_some())
        .or_else(|| reader.default_track())
        .cloned()
    else {
        return Outcome::default();
    };
    let time_base = track.codec_params.time_base.or_else(|| {
        track
            .codec_params
            .sample_rate
            .map(|r| TimeBase::new(1, r.max(1)))
    });
    let mut sink = Sink::new(&track.codec_params, max_ms);
    let mut end_ts: Option<u64> = None;
    // Every packet consumes input, so this bounds the loop even if a demuxer misbehaves.
    let mut budget = data.len().saturating_add(16);
    while budget > 0 {
        budget -= 1;
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(_) => break, // end of stream, or damage past which nothing is trustworthy
        };
        if packet.track_id() != track.id {
            continue;
        }
        if need_end {
            let end = packet.ts().saturating_add(packet.dur());
            end_ts = Some(end_ts.map_or(end, |e| e.max(end)));
        }
        if !sink.feed(&packet) && !need_end {
            break;
        }
    }
    let cut_ms = sink.cut_ms();
    Outcome {
        voiced: sink.finish(),
        end_ms: end_ts.zip(time_base).and_then(|(ts, tb)| ts_to_ms(ts, tb)),
        cut_ms,
    }
}

/// Converts a timestamp in `tb` units to milliseconds.
fn ts_to_ms(ts: u64, tb: TimeBase) -> Option<u64> {
    if tb.denom == 0 {
        return None;
    }
    let ms = u128::from(ts) * u128::from(tb.numer) * 1000 / u128::from(tb.denom);
    u64::try_from(ms).ok()
}

/// Decoder plus detector, shared by the demuxer path and the FLV path.
struct Sink {
    decoder: Option<Box<dyn symphonia::core::codecs::Decoder>>,
    vad: Option<Vad>,
    limit: u64,
    max_ms: u64,
    /// Consecutive packets that failed to decode; many in a row means give up.
    errors: u32,
}

impl Sink {
    fn new(params: &CodecParameters, max_ms: u64) -> Self {
        let decoder = if max_ms == 0 {
            None
        } else {
            symphonia::default::get_codecs()
                .make(params, &DecoderOptions::default())
                .ok()
        };
        Sink {
            decoder,
            vad: None,
            limit: u64::MAX,
            max_ms,
            errors: 0,
        }
    }

    /// Decodes one packet; `false` once decoding is over (limit reached or decoder gone).
    fn feed(&mut self, packet: &Packet) -> bool {
        let Some(decoder) = self.decoder.as_mut() else {
            return false;
        };
        if self.vad.as_ref().is_some_and(|v| v.frames() >= self.limit) {
            return false;
        }
        match decoder.decode(packet) {
            Ok(buf) => {
                self.errors = 0;
                let vad = self.vad.get_or_insert_with(|| {
                    let rate = buf.spec().rate;
                    Vad::new(rate)
                });
                if self.limit == u64::MAX {
                    self.limit = frame_budget(self.max_ms, buf.spec().rate);
                }
                feed_buffer(vad, &buf, self.limit);
                true
            }
            // A damaged packet: skip it, as players do, unless the stream is hopeless.
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                self.errors += 1;
                if self.errors > 64 {
                    self.decoder = None;
                }
                self.decoder.is_some()
            }
            Err(_) => {
                self.decoder = None;
                false
            }
        }
    }

    /// Where the budget stopped decoding, if it did (the rest of the file was not heard).
    fn cut_ms(&self) -> Option<u64> {
        let vad = self.vad.as_ref()?;
        (vad.frames() >= self.limit).then(|| super::frames_to_ms(vad.frames(), vad.rate()))
    }

    /// Spans, or `None` if not a single frame was decoded.
    fn finish(self) -> Option<Vec<(u64, u64)>> {
        self.vad.filter(|v| v.frames() > 0).map(Vad::finish)
    }
}

/// Mixes a decoded buffer to mono and feeds it, stopping at `limit` frames in total.
fn feed_buffer(vad: &mut Vad, buf: &AudioBufferRef<'_>, limit: u64) {
    match buf {
        AudioBufferRef::U8(b) => feed_planes(vad, b, limit),
        AudioBufferRef::U16(b) => feed_planes(vad, b, limit),
        AudioBufferRef::U24(b) => feed_planes(vad, b, limit),
        AudioBufferRef::U32(b) => feed_planes(vad, b, limit),
        AudioBufferRef::S8(b) => feed_planes(vad, b, limit),
        AudioBufferRef::S16(b) => feed_planes(vad, b, limit),
        AudioBufferRef::S24(b) => feed_planes(vad, b, limit),
        AudioBufferRef::S32(b) => feed_planes(vad, b, limit),
        AudioBufferRef::F32(b) => feed_planes(vad, b, limit),
        AudioBufferRef::F64(b) => feed_planes(vad, b, limit),
    }
}

fn feed_planes<S: Sample + IntoSample<f32>>(vad: &mut Vad, buf: &AudioBuffer<S>, limit: u64) {
    let room = usize::try_from(limit.saturating_sub(vad.frames())).unwrap_or(usize::MAX);
    let frames = buf.frames().min(room);
    let planes = buf.planes();
    let planes = planes.planes();
    match planes {
        [] => {}
        [mono] => {
            for &s in mono.iter().take(frames) {
                vad.push(s.into_sample());
            }
        }
        [left, right] => {
            for (&l, &r) in left.iter().zip(right.iter()).take(frames) {
                let (l, r): (f32, f32) = (l.into_sample(), r.into_sample());
                vad.push((l + r) * 0.5);
            }
        }
        _ => {
            let scale = 1.0 / planes.len() as f32;
            for i in 0..frames {
                let sum: f32 = planes
                    .iter()
                    .map(|p| p.get(i).map_or(0.0, |&s| s.into_sample()))
                    .sum();
                vad.push(sum * scale);
            }
        }
    }
}

/// Decodes the audio tags of an FLV file (AAC or MP3) into the detector.
fn flv_voiced(bytes: &[u8], codec: &flv::AudioCodec, max_ms: u64) -> Outcome {
    let mut params = CodecParameters::new();
    match codec {
        flv::AudioCodec::Aac { config } => {
            params
                .for_codec(CODEC_TYPE_AAC)
                .with_extra_data(config.clone().into_boxed_slice());
        }
        flv::AudioCodec::Mp3 => {
            params.for_codec(CODEC_TYPE_MP3);
        }
    }
    let mut sink = Sink::new(&params, max_ms);
    for tag in flv::audio_payloads(bytes, codec) {
        if !sink.feed(&Packet::new_from_slice(0, 0, 0, tag)) {
            break;
        }
    }
    let cut_ms = sink.cut_ms();
    Outcome {
        voiced: sink.finish(),
        end_ms: None,
        cut_ms,
    }
}
