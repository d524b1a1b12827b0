//! Checks against real files made by `scripts/make-audio-fixtures.sh` (expected values are
//! ffprobe's, stored in `expected.json`), plus synthetic signals and hostile bytes.

use std::path::{Path, PathBuf};

use super::*;

/// The fixture folder. Normally `CARGO_MANIFEST_DIR/tests/fixtures/audio`; when this module is
/// compiled into another crate by `#[path]` (a scratch crate while the main one is in flux),
/// the folder is found from this source file's location instead.
fn fixture_dir() -> PathBuf {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
    if own.is_dir() {
        return own;
    }
    // file!() is mock-server/src/audio/tests.rs (relative or absolute): go up to mock-server.
    let package = Path::new(file!())
        .ancestors()
        .nth(3)
        .unwrap_or(Path::new("."));
    package.join("tests/fixtures/audio")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn expected() -> serde_json::Map<String, serde_json::Value> {
    let text = fixture("expected.json");
    match serde_json::from_slice(&text) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("expected.json is not an object: {other:?}"),
    }
}

fn probe_default(bytes: &[u8], name: &str) -> Result<AudioInfo, ProbeError> {
    probe(bytes, Some(name), &ProbeOptions::default())
}

const ALL_FORMATS: [Format; 15] = [
    Format::Wav,
    Format::Mp3,
    Format::OggVorbis,
    Format::OggOpus,
    Format::OggSpeex,
    Format::Flac,
    Format::M4a,
    Format::Mp4,
    Format::ThreeGp,
    Format::Aac,
    Format::Amr,
    Format::AmrWb,
    Format::Wma,
    Format::Flv,
    Format::Pcm,
];

fn format_named(name: &str) -> Format {
    ALL_FORMATS
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no format named {name}"))
}

#[test]
fn every_fixture_matches_ffprobe() {
    let expected = expected();
    assert!(
        expected.len() >= 20,
        "expected.json lists {} files",
        expected.len()
    );
    for (name, want) in &expected {
        let bytes = fixture(name);
        let got = probe_default(&bytes, name);
        if let Some(error) = want.get("error").and_then(|e| e.as_str()) {
            match (error, &got) {
                ("corrupt", Err(ProbeError::Corrupt { .. }))
                | ("unrecognized", Err(ProbeError::Unrecognized)) => {}
                _ => panic!("{name}: expected {error} error, got {got:?}"),
            }
            continue;
        }
        let info = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let format = format_named(want["format"].as_str().unwrap_or_default());
        assert_eq!(info.format, format, "{name}: format");
        let want_ms = want["duration_ms"].as_u64().unwrap_or_default();
        let diff = info.duration_ms.abs_diff(want_ms);
        assert!(
            diff * 100 <= want_ms,
            "{name}: duration {} ms, ffprobe {want_ms} ms",
            info.duration_ms
        );
        assert_eq!(
            u64::from(info.channels),
            want["channels"].as_u64().unwrap_or(0),
            "{name}"
        );
        assert_eq!(
            u64::from(info.sample_rate),
            want["sample_rate"].as_u64().unwrap_or(0),
            "{name}"
        );
        let sniffed = if format == Format::Pcm {
            None
        } else {
            Some(format)
        };
        assert_eq!(sniff(&bytes), sniffed, "{name}: sniff");
    }
}

#[test]
fn silent_wav_has_no_speech() {
    let info = probe_default(&fixture("silence-2s-16k.wav"), "silence.wav").expect("probe");
    assert_eq!(info.duration_ms, 2000);
    assert_eq!(info.voiced, Some(vec![]));
}

#[test]
fn speech_wav_has_spans_inside_the_speech() {
    for name in [
        "speech-cmn-16k.wav",
        "speech-en-16k.wav",
        "speech-stereo-8k.wav",
    ] {
        let info = probe_default(&fixture(name), name).expect("probe");
        let spans = info.voiced.expect("wav is decoded");
        assert!(!spans.is_empty(), "{name}: no speech found");
        // The script pads the speech with 250 ms of silence before and 300 ms after.
        let first = spans.first().map_or(0, |s| s.0);
        let last = spans.last().map_or(0, |s| s.1);
        assert!(
            (150..=400).contains(&first),
            "{name}: speech starts at {first} ms"
        );
        let tail = info.duration_ms - last;
        assert!(
            (200..=450).contains(&tail),
            "{name}: speech ends {tail} ms before the end"
        );
        assert!(
            spans.windows(2).all(|w| w[0].1 < w[1].0),
            "{name}: unsorted {spans:?}"
        );
        assert!(
            spans.iter().all(|&(s, e)| s < e && e <= info.duration_ms),
            "{name}: {spans:?}"
        );
    }
}

#[test]
fn decodable_formats_find_the_speech_and_others_assume_it() {
    let decoded = [
        "speech-cmn.mp3",
        "speech-cmn-cbr-noxing.mp3",
        "speech-cmn.ogg",
        "speech-cmn.flac",
        "speech-cmn-flac.oga",
        "speech-cmn.m4a",
        "speech-cmn.mp4",
        "speech-cmn.aac",
        "speech-cmn.flv",
        "speech-cmn.pcm",
        "speech-cmn-rf64.wav",
    ];
    for name in decoded {
        let info = probe_default(&fixture(name), name).expect("probe");
        let spans = info.voiced.unwrap_or_else(|| panic!("{name}: not decoded"));
        assert!(!spans.is_empty(), "{name}: no speech found");
        let first = spans.first().map_or(0, |s| s.0);
        let last = spans.last().map_or(0, |s| s.1);
        // Encoder priming may shift things by up to ~100 ms.
        assert!(
            (100..=500).contains(&first),
            "{name}: speech starts at {first} ms"
        );
        assert!(
            last + 150 <= info.duration_ms,
            "{name}: speech ends at {last} ms"
        );
    }
    for name in [
        "speech-cmn.opus",
        "speech-cmn.spx",
        "speech-cmn.amr",
        "synthetic-wb.amr",
    ] {
        let info = probe_default(&fixture(name), name).expect("probe");
        assert_eq!(info.voiced, None, "{name}");
    }
    for name in ["speech-cmn.wma", "speech-cmn.3gp"] {
        let info = probe_default(&fixture(name), name).expect("probe");
        assert_eq!(info.voiced, None, "{name}");
    }
}

#[test]
fn max_decode_ms_bounds_the_spans_but_not_the_duration() {
    let opts = ProbeOptions {
        max_decode_ms: 1_000,
        ..ProbeOptions::default()
    };
    for name in ["speech-cmn-16k.wav", "speech-cmn.mp3", "speech-cmn.m4a"] {
        let info = probe(&fixture(name), Some(name), &opts).expect("probe");
        let full = probe_default(&fixture(name), name).expect("probe");
        assert_eq!(info.duration_ms, full.duration_ms, "{name}");
        let spans = info.voiced.expect("decoded");
        // What was heard ends by 1 s; past the cut the rest counts as speech (not heard).
        let (&(last_start, last_end), heard) = spans.split_last().expect("spans");
        assert_eq!(last_end, info.duration_ms, "{name}: {spans:?}");
        assert!(last_start <= 1_000, "{name}: {spans:?}");
        assert!(heard.iter().all(|&(_, e)| e <= 1_000), "{name}: {spans:?}");
    }
}

#[test]
fn flac_without_a_total_is_measured_from_its_frames() {
    let mut bytes = fixture("speech-cmn.flac");
    // STREAMINFO starts at 8; its 36-bit sample total occupies bits 108..144.
    bytes[8 + 13] &= 0xF0;
    bytes[8 + 14..8 + 18].fill(0);
    let info = probe_default(&bytes, "x.flac").expect("probe");
    assert!(
        info.duration_ms.abs_diff(2882) <= 28,
        "{}",
        info.duration_ms
    );
    // Measuring does not need decoding.
    let opts = ProbeOptions {
        max_decode_ms: 0,
        ..ProbeOptions::default()
    };
    let info = probe(&bytes, None, &opts).expect("probe");
    assert!(
        info.duration_ms.abs_diff(2882) <= 28,
        "{}",
        info.duration_ms
    );
    assert_eq!(info.voiced, None);
}

#[test]
fn zero_max_decode_turns_detection_off() {
    let opts = ProbeOptions {
        max_decode_ms: 0,
        ..ProbeOptions::default()
    };
    for name in [
        "speech-cmn-16k.wav",
        "speech-cmn.pcm",
        "speech-cmn.mp3",
        "speech-cmn.flv",
    ] {
        let info = probe(&fixture(name), Some(name), &opts).expect("probe");
        assert_eq!(info.voiced, None, "{name}");
    }
}

#[test]
fn pcm_only_by_extension() {
    let bytes = fixture("speech-cmn.pcm");
    let opts = ProbeOptions::default();
    assert_eq!(probe(&bytes, None, &opts), Err(ProbeError::Unrecognized));
    for name in ["speech-cmn.txt", "pcm", "speech.pcm.bin", "dir.pcm/file"] {
        assert_eq!(
            probe(&bytes, Some(name), &opts),
            Err(ProbeError::Unrecognized),
            "{name}"
        );
    }
    for name in [
        "a.pcm",
        "A.PCM",
        "rec.Raw",
        "/tmp/up/x.pcm",
        r"C:\Users\me\rec.raw",
    ] {
        let info = probe(&bytes, Some(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.format, Format::Pcm, "{name}");
        assert_eq!(info.duration_ms, 2882, "{name}");
    }
    // A first sample of -1 then 16 reads as an MPEG-1 layer I header (FF FF 10 00); one header
    // is not enough to call it MP3.
    let mut tricky = bytes.clone();
    tricky[..4].copy_from_slice(&[0xFF, 0xFF, 0x10, 0x00]);
    assert_eq!(sniff(&tricky), None);
    let info = probe(&tricky, Some("x.pcm"), &opts).expect("probe");
    assert_eq!(info.format, Format::Pcm);
    // The layout comes from the options: the same bytes as 8 kHz are twice as long.
    let slow = ProbeOptions {
        pcm: PcmSpec {
            sample_rate: 8_000,
            ..PcmSpec::default()
        },
        ..opts
    };
    let info = probe(&bytes, Some("x.pcm"), &slow).expect("probe");
    assert_eq!((info.duration_ms, info.sample_rate), (5764, 8_000));
    let broken = ProbeOptions {
        pcm: PcmSpec {
            bits_per_sample: 12,
            ..PcmSpec::default()
        },
        ..ProbeOptions::default()
    };
    assert!(matches!(
        probe(&bytes, Some("x.pcm"), &broken),
        Err(ProbeError::Corrupt { .. })
    ));
}

#[test]
fn wrong_extension_is_ignored() {
    let cases = [
        ("speech-cmn-16k.wav", "upload.mp3", Format::Wav),
        ("speech-cmn.mp3", "upload.pcm", Format::Mp3),
        ("speech-cmn.m4a", "upload.wav", Format::M4a),
        ("speech-cmn.opus", "upload.ogg", Format::OggOpus),
        ("speech-cmn.amr", "upload.raw", Format::Amr),
    ];
    for (file, name, format) in cases {
        let info = probe_default(&fixture(file), name).expect("probe");
        assert_eq!(info.format, format, "{file} as {name}");
    }
}

#[test]
fn empty_input_is_its_own_error() {
    assert_eq!(
        probe(&[], Some("a.wav"), &ProbeOptions::default()),
        Err(ProbeError::Empty)
    );
    assert_eq!(
        probe(&[], Some("a.pcm"), &ProbeOptions::default()),
        Err(ProbeError::Empty)
    );
    assert_eq!(sniff(&[]), None);
}

#[test]
fn error_messages_name_the_format() {
    let err = probe_default(&fixture("truncated-header.wav"), "t.wav").expect_err("corrupt");
    assert!(
        err.to_string()
            .starts_with("the wav file is corrupt or truncated: "),
        "{err}"
    );
}

#[test]
fn sniff_tells_adts_from_mp3() {
    // MPEG-1 layer III, 128 kbit/s, 44.1 kHz.
    assert_eq!(
        sniff(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]),
        Some(Format::Mp3)
    );
    // ADTS: sync 0xFFF, MPEG-4, layer 00, no CRC; LC, 16 kHz, mono, 100-byte frame.
    let adts = [0xFF, 0xF1, 0x60, 0x40, 0x0C, 0x9F, 0xFC];
    assert_eq!(sniff(&adts), Some(Format::Aac));
    // The same behind an empty ID3v2 tag.
    let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    tagged.extend_from_slice(&adts);
    assert_eq!(sniff(&tagged), Some(Format::Aac));
    tagged.truncate(10);
    tagged.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
    assert_eq!(sniff(&tagged), Some(Format::Mp3));
    // Layer bits 00 without the full 12-bit sync are neither.
    assert_eq!(sniff(&[0xFF, 0xE1, 0x60, 0x40]), None);
}

#[test]
fn sniff_reads_iso_brands() {
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = u32::try_from(size).unwrap_or(0).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 2, 0]);
        compatible.iter().for_each(|c| b.extend_from_slice(*c));
        b
    }
    assert_eq!(
        sniff(&ftyp(b"M4A ", &[b"M4A ", b"mp42"])),
        Some(Format::M4a)
    );
    assert_eq!(sniff(&ftyp(b"M4B ", &[])), Some(Format::M4a));
    assert_eq!(sniff(&ftyp(b"3gp4", &[b"isom"])), Some(Format::ThreeGp));
    assert_eq!(sniff(&ftyp(b"3g2a", &[])), Some(Format::ThreeGp));
    assert_eq!(
        sniff(&ftyp(b"isom", &[b"iso2", b"3gp5"])),
        Some(Format::ThreeGp)
    );
    assert_eq!(
        sniff(&ftyp(b"mp42", &[b"isom", b"M4A "])),
        Some(Format::M4a)
    );
    assert_eq!(
        sniff(&ftyp(b"isom", &[b"iso2", b"avc1", b"mp41"])),
        Some(Format::Mp4)
    );
    assert_eq!(sniff(&ftyp(b"qt  ", &[])), Some(Format::Mp4));
}

#[test]
fn sniff_reads_other_magic() {
    assert_eq!(sniff(b"#!AMR\n\x3c"), Some(Format::Amr));
    assert_eq!(sniff(b"#!AMR-WB\n\x44"), Some(Format::AmrWb));
    assert_eq!(sniff(b"FLV\x01\x04\x00\x00\x00\x09"), Some(Format::Flv));
    assert_eq!(sniff(b"fLaC\x00\x00\x00\x22"), Some(Format::Flac));
    assert_eq!(sniff(b"RIFF\x00\x00\x00\x00WAVEfmt "), Some(Format::Wav));
    assert_eq!(sniff(b"RIFF\x00\x00\x00\x00AVI LIST"), None);
    assert_eq!(sniff(&sniff::ASF_HEADER_GUID), Some(Format::Wma));
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), None);
    assert_eq!(sniff(b"hello"), None);
}

#[test]
fn format_names_are_distinct() {
    let mut names: Vec<&str> = ALL_FORMATS.iter().map(|f| f.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ALL_FORMATS.len());
    assert_eq!(Format::OggOpus.to_string(), "opus");
}

/// 16 kHz mono s16le built from (milliseconds, amplitude in dBFS or None for silence).
fn synth(parts: &[(u64, Option<f64>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = 0u64;
    for &(ms, level) in parts {
        for _ in 0..ms * 16 {
            let v = level.map_or(0.0, |db| {
                let amp = 10f64.powf(db / 20.0) * std::f64::consts::SQRT_2;
                amp * (n as f64 * 2.0 * std::f64::consts::PI * 220.0 / 16_000.0).sin()
            });
            let s = (v * 32_767.0).round() as i16;
            out.extend_from_slice(&s.to_le_bytes());
            n += 1;
        }
    }
    out
}

#[test]
fn detector_merges_short_gaps_and_drops_clicks() {
    let pcm = synth(&[
        (1000, None),
        (600, Some(-20.0)),
        (200, None), // a breath: merged
        (500, Some(-25.0)),
        (1000, None),
        (60, Some(-10.0)), // a click: dropped
        (1000, None),
        (400, Some(-30.0)),
        (500, None), // a real pause: split
        (300, Some(-30.0)),
        (240, None),
    ]);
    let info = probe(&pcm, Some("x.pcm"), &ProbeOptions::default()).expect("probe");
    let spans = info.voiced.expect("decoded");
    let near = |a: u64, b: u64| a.abs_diff(b) <= 20;
    assert_eq!(spans.len(), 3, "{spans:?}");
    assert!(
        near(spans[0].0, 1000) && near(spans[0].1, 2300),
        "{spans:?}"
    );
    assert!(
        near(spans[1].0, 4360) && near(spans[1].1, 4760),
        "{spans:?}"
    );
    assert!(
        near(spans[2].0, 5260) && near(spans[2].1, 5560),
        "{spans:?}"
    );
}

#[test]
fn quiet_noise_is_not_speech() {
    let pcm = synth(&[(2000, Some(-60.0))]);
    let info = probe(&pcm, Some("x.raw"), &ProbeOptions::default()).expect("probe");
    assert_eq!(info.voiced, Some(vec![]));
    let pcm = synth(&[(2000, Some(-35.0))]);
    let info = probe(&pcm, Some("x.raw"), &ProbeOptions::default()).expect("probe");
    assert_eq!(info.voiced, Some(vec![(0, 2000)]));
}

/// Deterministic xorshift: the no-panic checks need variety, not quality, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn audio_fixtures() -> Vec<(String, Vec<u8>)> {
    expected()
        .keys()
        .map(|name| (name.clone(), fixture(name)))
        .collect()
}

/// Probing must return (anything) for every input; a panic fails the test. Decoding is capped
/// so the many probes stay quick; the parsers see every byte regardless.
fn must_not_panic(bytes: &[u8], name: &str) {
    let opts = ProbeOptions {
        max_decode_ms: 300,
        ..ProbeOptions::default()
    };
    let _ = sniff(bytes);
    let _ = probe(bytes, Some(name), &opts);
}

#[test]
fn truncations_never_panic() {
    for (name, bytes) in audio_fixtures() {
        let short = bytes.len().min(600);
        for cut in 0..short {
            must_not_panic(&bytes[..cut], &name);
        }
        let step = (bytes.len() / 40).max(1);
        for cut in (short..bytes.len()).step_by(step) {
            must_not_panic(&bytes[..cut], &name);
        }
    }
}

#[test]
fn corrupted_fixtures_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (name, bytes) in audio_fixtures() {
        if bytes.is_empty() {
            continue;
        }
        for round in 0..60 {
            let mut b = bytes.clone();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                // Mostly in the headers, where parsers make decisions.
                let span = if round % 3 == 0 {
                    b.len()
                } else {
                    b.len().min(256)
                };
                let at = rng.below(span);
                b[at] = match rng.below(4) {
                    0 => 0x00,
                    1 => 0xFF,
                    _ => rng.next() as u8,
                };
            }
            must_not_panic(&b, &name);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let magics: [&[u8]; 14] = [
        b"RIFF\xff\xff\xff\xffWAVE",
        b"RF64\xff\xff\xff\xffWAVEds64",
        b"fLaC",
        b"OggS\x00\x02",
        b"#!AMR\n",
        b"#!AMR-WB\n",
        &sniff::ASF_HEADER_GUID,
        b"FLV\x01\x05\x00\x00\x00\x09",
        b"\x00\x00\x00\x18ftypM4A ",
        b"\x00\x00\x00\x18ftyp3gp4",
        b"ID3\x04\x00\x00\x00\x00\x00\x00",
        &[0xFF, 0xF1, 0x60, 0x40],
        &[0xFF, 0xFB, 0x90, 0x64],
        b"\x00\x00\x00\x08moov",
    ];
    for i in 0..3000 {
        let len = rng.below(2048);
        let mut b = rng.bytes(len);
        if i % 2 == 0 {
            let magic = magics[rng.below(magics.len())];
            let mut with = magic.to_vec();
            with.append(&mut b);
            b = with;
        }
        must_not_panic(&b, if i % 5 == 0 { "r.pcm" } else { "r.bin" });
    }
}

/// `fixture` with the timescale of its first `tag` box (`mvhd` or `mdhd`) set to 0.
fn zero_timescale(name: &str, tag: &[u8; 4]) -> Vec<u8> {
    let mut b = fixture(name);
    let body = b.windows(4).position(|w| w == tag).expect("box") + 4;
    let at = if b[body] == 1 { body + 20 } else { body + 12 };
    b[at..at + 4].fill(0);
    b
}

#[test]
fn a_zero_timescale_is_refused_before_any_demuxer_sees_it() {
    // Symphonia's MP4 reader panics on a zero media timescale ("TimeBase cannot have 0
    // numerator or denominator"); the parser refuses both headers first.
    for name in ["speech-cmn.mp4", "speech-cmn.m4a"] {
        for (tag, reason) in [
            (b"mvhd", "the movie header has a timescale of 0"),
            (b"mdhd", "a track's media header has a timescale of 0"),
        ] {
            let err = probe_default(&zero_timescale(name, tag), name).unwrap_err();
            match err {
                ProbeError::Corrupt { reason: got, .. } => assert_eq!(got, reason, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
