//! Tests of result.
use std::collections::BTreeSet;

use super::*;
use crate::transcript::filters::{apply, is_final_mark, Filters};
use crate::transcript::{generate, GenerateInput};

/// A sentence from (text, punctuation) pairs spread evenly over [start, end].
fn sentence(start: u64, end: u64, words: &[(&str, &str)]) -> Sentence {
    let n = words.len().max(1) as u64;
    let step = (end - start) / n;
    let words = words
        .iter()
        .enumerate()
        .map(|(i, &(text, p))| {
            let i = i as u64;
            Word {
                text: text.to_string(),
                start_ms: start + i * step,
                end_ms: if i + 1 == n {
                    end
                } else {
                    start + (i + 1) * step
                },
                kind: WordKind::Plain,
                punct_after: (!p.is_empty()).then(|| p.to_string()),
            }
        })
        .collect();
    Sentence {
        start_ms: start,
        end_ms: end,
        words,
        speaker: None,
    }
}

fn seed_call() -> Transcript {
    Transcript {
        language: Language::Mandarin,
        sentences: vec![
            sentence(1_640, 2_460, &[("哈喽", "。")]),
            sentence(2_760, 3_680, &[("喂", "。")]),
            sentence(3_680, 4_520, &[("喂", "，"), ("你好", "。")]),
            sentence(4_520, 5_260, &[("哪位", "？")]),
            sentence(
                6_060,
                7_920,
                &[
                    ("你", ""),
                    ("给", ""),
                    ("我", ""),
                    ("打", ""),
                    ("的", "，"),
                    ("你", ""),
                    ("问", ""),
                    ("我", ""),
                    ("哪位", "？"),
                ],
            ),
            sentence(
                8_140,
                10_140,
                &[("哦", "，"), ("你好", ""), ("你好", "，"), ("你好", "。")],
            ),
            sentence(
                10_140,
                11_420,
                &[("没", ""), ("什么", ""), ("事", ""), ("了", "。")],
            ),
            sentence(11_420, 12_760, &[("嗯", "，"), ("拜拜", "。")]),
        ],
    }
}

const SEED_RESULT: &str = "[0:1.640,0:2.460]  哈喽。\n[0:2.760,0:3.680]  喂。\n[0:3.680,0:4.520]  喂，你好。\n[0:4.520,0:5.260]  哪位？\n[0:6.060,0:7.920]  你给我打的，你问我哪位？\n[0:8.140,0:10.140]  哦，你好你好，你好。\n[0:10.140,0:11.420]  没什么事了。\n[0:11.420,0:12.760]  嗯，拜拜。\n";

const TEXT_ONLY: RenderOptions = RenderOptions {
    res_text_format: 0,
    show_speaker: false,
};

fn mandarin(seed: u64, sha: u8, duration_ms: u64) -> Transcript {
    generate(&GenerateInput {
        seed,
        audio_sha256: [sha; 32],
        language: Language::Mandarin,
        duration_ms,
        voiced: None,
    })
}

fn words(t: &Transcript) -> impl Iterator<Item = &Word> {
    t.sentences.iter().flat_map(|s| &s.words)
}

#[test]
fn seed_result_is_reproduced_exactly() {
    let r = render(&seed_call(), TEXT_ONLY);
    assert_eq!(r.result, SEED_RESULT);
    assert!(r.detail.is_empty());
    let callback = Transcript {
        language: Language::Mandarin,
        sentences: vec![
            sentence(
                1_640,
                4_600,
                &[("我", ""), ("在", ""), ("马上", ""), ("上夜班", "。")],
            ),
            sentence(
                5_420,
                7_820,
                &[("明天", ""), ("早上", ""), ("说", ""), ("哈", "。")],
            ),
        ],
    };
    assert_eq!(
        render(&callback, TEXT_ONLY).result,
        "[0:1.640,0:4.600]  我在马上上夜班。\n[0:5.420,0:7.820]  明天早上说哈。\n"
    );
    let empty = Transcript {
        language: Language::Mandarin,
        sentences: vec![],
    };
    let r = render(
        &empty,
        RenderOptions {
            res_text_format: 2,
            show_speaker: true,
        },
    );
    assert_eq!(r.result, "");
    assert!(r.detail.is_empty());
}

#[test]
fn times_format_like_the_provider() {
    assert_eq!(format_time(1_640), "0:1.640");
    assert_eq!(format_time(19_712), "0:19.712");
    assert_eq!(format_time(0), "0:0.000");
    assert_eq!(format_time(59_999), "0:59.999");
    assert_eq!(format_time(60_000), "1:0.000");
    assert_eq!(format_time(3_665_120), "61:5.120");
    assert_eq!(format_time(5 * 3_600_000), "300:0.000");
    assert!(!format_time(u64::MAX).is_empty());
    let late = Transcript {
        language: Language::Mandarin,
        sentences: vec![sentence(3_665_120, 3_667_005, &[("好", "。")])],
    };
    assert_eq!(
        render(&late, TEXT_ONLY).result,
        "[61:5.120,61:7.005]  好。\n"
    );
}

#[test]
fn audio_time_has_six_decimals() {
    assert_eq!(audio_time(8_420), "8.420000");
    assert_eq!(audio_time(0), "0.000000");
    assert_eq!(audio_time(1), "0.001000");
    assert_eq!(audio_time(18_000_000), "18000.000000");
    assert!(audio_time(u64::MAX).ends_with("000"));
}

#[test]
fn speaker_field_in_lines_and_detail() {
    let mut t = seed_call();
    for (i, s) in t.sentences.iter_mut().enumerate() {
        s.speaker = Some((i % 2) as u32);
    }
    t.sentences[7].speaker = None;
    let opts = RenderOptions {
        res_text_format: 2,
        show_speaker: true,
    };
    let r = render(&t, opts);
    let lines: Vec<&str> = r.result.lines().collect();
    assert_eq!(lines[0], "[0:1.640,0:2.460,0]  哈喽。");
    assert_eq!(lines[1], "[0:2.760,0:3.680,1]  喂。");
    assert_eq!(lines[7], "[0:11.420,0:12.760,0]  嗯，拜拜。");
    assert_eq!(r.detail[1].speaker_id, Some(1));
    assert_eq!(r.detail[7].speaker_id, Some(0));
    let hidden = render(
        &t,
        RenderOptions {
            res_text_format: 2,
            show_speaker: false,
        },
    );
    assert_eq!(hidden.result, SEED_RESULT);
    assert!(hidden.detail.iter().all(|d| d.speaker_id.is_none()));
    let json = serde_json::to_string(&hidden.detail[0]).unwrap();
    assert!(!json.contains("SpeakerId"), "{json}");
}

#[test]
fn formats_zero_one_two_on_the_same_transcript() {
    let t = seed_call();
    let r0 = render(&t, TEXT_ONLY);
    let opts = |f| RenderOptions {
        res_text_format: f,
        show_speaker: false,
    };
    let r1 = render(&t, opts(1));
    let r2 = render(&t, opts(2));
    assert_eq!(r0.result, r1.result);
    assert_eq!(r0.result, r2.result);
    assert!(r0.detail.is_empty());
    assert_eq!(r1.detail.len(), 8);
    assert_eq!(r2.detail.len(), 8);

    let d1 = &r1.detail[5];
    assert_eq!(d1.final_sentence, "哦你好你好你好");
    assert_eq!(d1.slice_sentence, "哦 你好 你好 你好");
    let d2 = &r2.detail[5];
    assert_eq!(d2.final_sentence, "哦，你好你好，你好。");
    assert_eq!(d2.slice_sentence, "哦， 你好 你好， 你好。");
    for d in [d1, d2] {
        assert_eq!((d.start_ms, d.end_ms), (8_140, 10_140));
        assert_eq!(d.words_num, 4);
        assert_eq!(d.words.len(), 4);
        // 7 characters in 2 s.
        assert_eq!(d.speech_speed, 3.5);
    }
    for d in &r1.detail {
        let all = format!(
            "{}{}{}",
            d.final_sentence,
            d.slice_sentence,
            d.words.iter().map(|w| w.word.as_str()).collect::<String>()
        );
        assert!(!all.chars().any(is_punct), "{all}");
    }
    for d in &r2.detail {
        assert!(d.final_sentence.chars().any(is_final_mark));
        let joined: Vec<&str> = d.words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(d.slice_sentence, joined.join(" "));
    }
}

#[test]
fn offsets_are_relative_and_non_decreasing() {
    let r = render(
        &seed_call(),
        RenderOptions {
            res_text_format: 1,
            show_speaker: false,
        },
    );
    let d = &r.detail[4];
    assert_eq!(d.words[0].offset_start_ms, 0);
    assert_eq!(d.words.last().unwrap().offset_end_ms, 7_920 - 6_060);
    for seed in 0..20 {
        let t = mandarin(seed, 3, 40_000);
        let r = render(
            &t,
            RenderOptions {
                res_text_format: 2,
                show_speaker: false,
            },
        );
        for (d, s) in r.detail.iter().zip(&t.sentences) {
            let mut prev = 0;
            for (w, orig) in d.words.iter().zip(&s.words) {
                assert!(w.offset_start_ms >= prev && w.offset_end_ms >= w.offset_start_ms);
                assert_eq!(w.offset_start_ms, orig.start_ms - s.start_ms);
                assert!(w.offset_end_ms <= d.end_ms - d.start_ms);
                prev = w.offset_start_ms;
            }
        }
    }
    // Words out of order or outside their sentence (odd fixtures) still give sane offsets.
    let mut odd = sentence(1_000, 2_000, &[("甲", ""), ("乙", ""), ("丙", "。")]);
    odd.words[0].start_ms = 1_500;
    odd.words[1].start_ms = 10;
    odd.words[1].end_ms = 5;
    let t = Transcript {
        language: Language::Mandarin,
        sentences: vec![odd],
    };
    let d = &render(
        &t,
        RenderOptions {
            res_text_format: 2,
            show_speaker: false,
        },
    )
    .detail[0];
    let mut prev = 0;
    for w in &d.words {
        assert!(w.offset_start_ms >= prev && w.offset_end_ms >= w.offset_start_ms);
        prev = w.offset_start_ms;
    }
}

#[test]
fn english_detail_counts_words_and_keeps_spaces() {
    let t = Transcript {
        language: Language::English,
        sentences: vec![sentence(
            0,
            2_000,
            &[("Well", ","), ("it", ""), ("costs", ""), ("forty-two", ".")],
        )],
    };
    let r = render(
        &t,
        RenderOptions {
            res_text_format: 1,
            show_speaker: false,
        },
    );
    assert_eq!(r.result, "[0:0.000,0:2.000]  Well, it costs forty-two.\n");
    let d = &r.detail[0];
    assert_eq!(d.final_sentence, "Well it costs forty-two");
    assert_eq!(d.slice_sentence, "Well it costs forty-two");
    assert_eq!(d.speech_speed, 2.0);
    let zero = Transcript {
        language: Language::English,
        sentences: vec![sentence(5, 5, &[("Hi", ".")])],
    };
    let d = &render(
        &zero,
        RenderOptions {
            res_text_format: 2,
            show_speaker: false,
        },
    )
    .detail[0];
    assert_eq!(d.speech_speed, 0.0);
}

#[test]
fn whitespace_in_fixture_text_stays_on_one_line() {
    let mut s = sentence(0, 1_000, &[("你好", "\n"), ("世界", "。 ")]);
    s.words.push(Word {
        text: String::new(),
        start_ms: 1_000,
        end_ms: 1_000,
        kind: WordKind::Plain,
        punct_after: Some("……".to_string()),
    });
    let t = Transcript {
        language: Language::Mandarin,
        sentences: vec![s],
    };
    let r = render(
        &t,
        RenderOptions {
            res_text_format: 1,
            show_speaker: false,
        },
    );
    assert_eq!(r.result, "[0:0.000,0:1.000]  你好 世界。 ……\n");
    assert_eq!(r.detail[0].words_num, 2);
    assert_eq!(r.detail[0].final_sentence, "你好世界");
}

/// Line texts of a rendered result (after the two spaces).
fn line_texts(result: &str) -> Vec<&str> {
    result
        .lines()
        .map(|l| l.split_once("]  ").map_or("", |(_, t)| t))
        .collect()
}

fn filtered(t: &Transcript, f: Filters) -> (Transcript, String) {
    let out = apply(t, &f);
    let text = render(&out, TEXT_ONLY).result;
    (out, text)
}

const SEEDS: std::ops::Range<u64> = 0..12;

#[test]
fn dirty_filter_drops_or_stars() {
    for seed in SEEDS {
        let t = mandarin(seed, seed as u8, 30_000);
        let base = render(&t, TEXT_ONLY).result;
        let dirty: Vec<&Word> = words(&t).filter(|w| w.kind == WordKind::Dirty).collect();
        assert!(!dirty.is_empty(), "seed {seed}: {base}");

        let f = |dirty| Filters {
            dirty,
            ..Filters::default()
        };
        let (out, text) = filtered(&t, f(1));
        assert_ne!(text, base);
        assert!(words(&out).all(|w| w.kind != WordKind::Dirty));
        assert_eq!(words(&out).count(), words(&t).count() - dirty.len());

        let (out, text) = filtered(&t, f(2));
        assert_ne!(text, base);
        assert!(text.contains('*'));
        assert_eq!(words(&out).count(), words(&t).count());
        for (a, b) in words(&t).zip(words(&out)) {
            if a.kind == WordKind::Dirty {
                assert_eq!(b.text, "*".repeat(a.text.chars().count()));
            } else {
                assert_eq!(a.text, b.text);
            }
        }
    }
}

#[test]
fn modal_filter_partial_and_strict() {
    let mut partial_changed = 0;
    let mut strict_beyond_partial = 0;
    for seed in SEEDS {
        let t = mandarin(seed, seed as u8, 30_000);
        let base = render(&t, TEXT_ONLY).result;
        let modal = words(&t).filter(|w| w.kind == WordKind::Modal).count();
        assert!(modal > 0, "seed {seed}: {base}");
        let f = |modal| Filters {
            modal,
            ..Filters::default()
        };
        let (strict, strict_text) = filtered(&t, f(2));
        assert_ne!(strict_text, base);
        assert!(words(&strict).all(|w| w.kind != WordKind::Modal));

        let (partial, partial_text) = filtered(&t, f(1));
        // Fillers opening a sentence go; particles closing one with 。？！ stay.
        assert!(partial
            .sentences
            .iter()
            .all(|s| s.words[0].kind != WordKind::Modal));
        let closing = |t: &Transcript| {
            words(t)
                .filter(|w| {
                    w.kind == WordKind::Modal
                        && w.punct_after
                            .as_deref()
                            .is_some_and(|p| p.chars().any(is_final_mark))
                })
                .count()
        };
        assert_eq!(
            closing(&partial),
            closing(&t),
            "seed {seed}: {partial_text}"
        );
        if partial_text != base {
            partial_changed += 1;
        }
        if strict_text != partial_text {
            strict_beyond_partial += 1;
        }
    }
    assert!(partial_changed >= 6, "{partial_changed}");
    assert!(strict_beyond_partial >= 3, "{strict_beyond_partial}");
}

#[test]
fn punc_filter_levels() {
    for seed in SEEDS {
        let t = mandarin(seed, seed as u8, 30_000);
        let base = render(&t, TEXT_ONLY).result;
        let f = |punc| Filters {
            punc,
            ..Filters::default()
        };
        let (_, end) = filtered(&t, f(1));
        assert_ne!(end, base);
        assert_eq!(end.lines().count(), base.lines().count());
        for line in line_texts(&end) {
            assert!(!line.ends_with(is_final_mark), "{line}");
        }
        assert!(end.contains('，'));
        let (_, all) = filtered(&t, f(2));
        assert_ne!(all, end);
        for line in line_texts(&all) {
            assert!(!line.chars().any(is_punct), "{line}");
        }
    }
}

#[test]
fn number_conversion_modes() {
    for seed in SEEDS {
        let t = mandarin(seed, seed as u8, 30_000);
        let f = |convert_num| Filters {
            convert_num,
            ..Filters::default()
        };
        let (_, chinese) = filtered(&t, f(0));
        let (_, arabic) = filtered(&t, f(1));
        let (_, maths) = filtered(&t, f(3));
        let digits = |s: &str| line_texts(s).concat().chars().any(|c| c.is_ascii_digit());
        assert_eq!(chinese, render(&t, TEXT_ONLY).result);
        assert!(!digits(&chinese), "{chinese}");
        assert!(digits(&arabic), "{arabic}");
        assert_ne!(chinese, arabic);
        assert_eq!(maths, arabic);
        assert_eq!(filtered(&t, Filters::PROVIDER_DEFAULT).1, arabic);
    }
}

#[test]
fn speaker_modes() {
    let sha = [9u8; 32];
    for seed in 0..30 {
        let t = mandarin(seed, seed as u8, 60_000);
        let ids = |mode| -> Vec<Option<u32>> {
            assign_speakers(&t, mode, seed, &sha)
                .sentences
                .iter()
                .map(|s| s.speaker)
                .collect()
        };
        let set = |v: &[Option<u32>]| v.iter().flatten().copied().collect::<BTreeSet<u32>>();
        assert!(ids(Speakers::None).iter().all(Option::is_none));
        let auto = ids(Speakers::Auto);
        assert!(auto.iter().all(Option::is_some));
        let auto_set = set(&auto);
        assert!(auto_set.len() <= 6 && auto_set.contains(&0));
        assert_eq!(
            auto_set.iter().max().map(|m| m + 1),
            Some(auto_set.len() as u32)
        );
        assert!(t.sentences.len() >= 3);
        assert_eq!(set(&ids(Speakers::Fixed(3))), BTreeSet::from([0, 1, 2]));
        assert_eq!(set(&ids(Speakers::Fixed(1))), BTreeSet::from([0]));
        let stereo = ids(Speakers::StereoChannels);
        assert_eq!(set(&stereo), BTreeSet::from([0, 1]));
        assert_eq!(stereo[0], Some(0));
        // Determinism.
        assert_eq!(auto, ids(Speakers::Auto));
        assert_eq!(stereo, ids(Speakers::StereoChannels));
    }
}

#[test]
fn speakers_from_fixtures_and_patterns() {
    let base = seed_call();
    let sha = [1u8; 32];
    // No speakers at all: a seeded pattern, the same every time.
    let a = assign_speakers(&base, Speakers::Auto, 5, &sha);
    assert_eq!(a, assign_speakers(&base, Speakers::Auto, 5, &sha));
    assert_eq!(a.sentences[0].speaker, Some(0));
    let differs = (0..20u64).any(|s| assign_speakers(&base, Speakers::Auto, s, &sha) != a);
    assert!(differs);
    // A fixture's own speakers are kept, renumbered, and folded into six.
    let mut many = base.clone();
    for (i, s) in many.sentences.iter_mut().enumerate() {
        s.speaker = Some(100 + i as u32);
    }
    let out = assign_speakers(&many, Speakers::Auto, 0, &sha);
    let ids: Vec<u32> = out.sentences.iter().filter_map(|s| s.speaker).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5, 0, 1]);
    // Fixed(n) with n up to the sentence count uses every id; beyond it, distinct ids.
    for n in 1..=10u8 {
        let out = assign_speakers(&base, Speakers::Fixed(n), 3, &sha);
        let set: BTreeSet<u32> = out.sentences.iter().filter_map(|s| s.speaker).collect();
        let want = u32::from(n).min(8);
        assert_eq!(set, (0..want).collect::<BTreeSet<u32>>(), "n={n}");
    }
    for n in [0u8, 11, 255] {
        let out = assign_speakers(&base, Speakers::Fixed(n), 3, &sha);
        assert!(out
            .sentences
            .iter()
            .all(|s| s.speaker.is_some_and(|id| id < 10)));
    }
    // A one-speaker call still has two channels, and channels switch by turns.
    let mut mono = base.clone();
    mono.sentences.iter_mut().for_each(|s| s.speaker = Some(7));
    let out = assign_speakers(&mono, Speakers::StereoChannels, 0, &sha);
    let ch: Vec<u32> = out.sentences.iter().filter_map(|s| s.speaker).collect();
    assert_eq!(ch, vec![0, 0, 0, 0, 1, 1, 1, 1]);
    let mut turns = base.clone();
    for (s, id) in turns.sentences.iter_mut().zip([4, 4, 9, 2, 2, 4, 9, 9]) {
        s.speaker = Some(id);
    }
    let out = assign_speakers(&turns, Speakers::StereoChannels, 0, &sha);
    let ch: Vec<u32> = out.sentences.iter().filter_map(|s| s.speaker).collect();
    assert_eq!(ch, vec![0, 0, 1, 0, 0, 1, 0, 0]);
    // Empty and single-sentence transcripts.
    let empty = Transcript {
        language: Language::Mandarin,
        sentences: vec![],
    };
    for mode in [
        Speakers::None,
        Speakers::Auto,
        Speakers::Fixed(4),
        Speakers::StereoChannels,
    ] {
        assert!(assign_speakers(&empty, mode, 0, &sha).sentences.is_empty());
    }
    let one = Transcript {
        language: Language::Mandarin,
        sentences: vec![base.sentences[0].clone()],
    };
    let out = assign_speakers(&one, Speakers::Fixed(5), 0, &sha);
    assert_eq!(out.sentences[0].speaker, Some(0));
}

#[test]
fn rendering_many_transcripts_never_panics() {
    let modes = [
        Speakers::None,
        Speakers::Auto,
        Speakers::Fixed(2),
        Speakers::Fixed(7),
        Speakers::StereoChannels,
    ];
    for seed in 0..150u64 {
        let lang = Language::ALL[(seed % 6) as usize];
        let duration_ms = [0, 800, 5_000, 30_000, 200_000][(seed % 5) as usize] + seed * 37;
        let sha = [(seed * 7) as u8; 32];
        let t = generate(&GenerateInput {
            seed,
            audio_sha256: sha,
            language: lang,
            duration_ms,
            voiced: None,
        });
        let f = Filters {
            dirty: (seed % 3) as u8,
            modal: ((seed / 3) % 3) as u8,
            punc: ((seed / 9) % 3) as u8,
            convert_num: [0, 1, 3][(seed % 3) as usize],
        };
        let t = apply(&t, &f);
        let mode = modes[(seed % 5) as usize];
        let t = assign_speakers(&t, mode, seed, &sha);
        for format in 0..=3u8 {
            let opts = RenderOptions {
                res_text_format: format,
                show_speaker: mode.shows_speaker(),
            };
            let r = render(&t, opts);
            assert_eq!(r.result.lines().count(), t.sentences.len());
            assert_eq!(r.result.matches('\n').count(), t.sentences.len());
            assert!(r.result.is_empty() || r.result.ends_with('\n'));
            match format {
                1 | 2 => assert_eq!(r.detail.len(), t.sentences.len()),
                _ => assert!(r.detail.is_empty()),
            }
            for d in &r.detail {
                assert_eq!(d.words_num as usize, d.words.len());
                assert!(d.speech_speed.is_finite() && d.speech_speed >= 0.0);
                assert_eq!(d.speaker_id.is_some(), mode.shows_speaker());
            }
            assert_eq!(r, render(&t, opts));
        }
    }
}
