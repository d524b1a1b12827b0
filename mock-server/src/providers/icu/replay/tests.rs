//! Tests of replay: generated answers recorded, rendered back and replayed by examination.
use sha2::{Digest, Sha256};

use super::*;
use crate::audio::synth::wav_8bit;
use crate::providers::icu::params::Source;
use crate::providers::icu::recipe::Recipe;
use crate::providers::icu::recognize::{examine, RecognizeSettings};
use crate::transcript::FixtureStore;

fn params(engine: Engine, format: u8, diarize: bool) -> SubmitParams {
    SubmitParams {
        speaker_diarization: diarize,
        ..SubmitParams::defaults(engine, Source::Data(Vec::new()), format)
    }
}

/// What a task on `wav` shows with `params`, from `fixtures`.
fn answer(seed: u64, fixtures: &FixtureStore, params: &SubmitParams, wav: &[u8]) -> Rendered {
    let sha: [u8; 32] = Sha256::digest(wav).into();
    let found = examine(
        seed,
        fixtures,
        &RecognizeSettings::default(),
        params,
        wav,
        &sha,
        None,
    );
    let recipe = found.outcome.recipe().expect("a success").clone();
    Rendered::clone(&recipe.render())
}

fn with_recording(wav: &[u8], recording: IcuRecording) -> FixtureStore {
    let store = FixtureStore::new();
    let fixture = Fixture {
        text: "whatever Coze said".into(),
        sentences: None,
        icu: Some(recording),
    };
    store
        .register(Sha256::digest(wav).into(), fixture)
        .expect("a valid recording");
    store
}

const CASES: [(Engine, bool); 5] = [
    (Engine::Zh16k, false),
    (Engine::Zh16k, true),
    (Engine::En16k, false),
    (Engine::Zh8k, false),
    (Engine::Zh8k, true),
];

#[test]
fn generated_answers_record_render_back_and_replay_byte_for_byte() {
    for seed in 0..8u64 {
        let wav = wav_8bit(8000, 1, 8000 * (6 + seed * 3), true);
        for (engine, diarize) in CASES {
            for format in 0..=2u8 {
                let p = params(engine, format, diarize);
                let generated = answer(seed, &FixtureStore::new(), &p, &wav);
                assert!(!generated.result.is_empty());
                let what = format!("seed {seed} {engine} format {format} diarize {diarize}");
                let rec =
                    recording_from_answer(settings_of(&p), &generated.result, &generated.detail)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(rec.sentences.len(), generated.result.lines().count());
                assert_eq!(rec.sentences.iter().any(|s| s.speaker.is_some()), diarize);
                renders_back(&rec, &generated.result, &generated.detail)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));

                // A fixture holding the recording, another seed: the same answer.
                let store = with_recording(&wav, rec.clone());
                let replayed = answer(seed + 100, &store, &p, &wav);
                assert_eq!(replayed, generated, "{what}");
                assert_eq!(
                    serde_json::to_string(&replayed.detail).unwrap(),
                    serde_json::to_string(&generated.detail).unwrap(),
                    "{what}"
                );

                // Other settings: a valid answer from the recorded words.
                let other = params(engine, (format + 1) % 3, diarize);
                let shaped = answer(seed, &store, &other, &wav);
                let texts = |r: &str| -> Vec<String> {
                    r.lines()
                        .map(|l| l.split_once("]  ").unwrap().1.to_string())
                        .collect()
                };
                assert_eq!(texts(&shaped.result), texts(&generated.result), "{what}");
                assert_eq!(shaped.detail.is_empty(), other.res_text_format == 0);
                if !shaped.detail.is_empty() {
                    assert_eq!(shaped.detail.len(), rec.sentences.len());
                }
            }
        }
    }
}

#[test]
fn other_settings_apply_filters_and_speakers_to_the_recorded_words() {
    let wav = wav_8bit(8000, 1, 8000 * 12, true);
    let p = params(Engine::Zh16k, 2, false);
    let generated = answer(3, &FixtureStore::new(), &p, &wav);
    let rec = recording_from_answer(settings_of(&p), &generated.result, &generated.detail).unwrap();
    let store = with_recording(&wav, rec.clone());

    let no_punc = SubmitParams {
        filter_punc: 2,
        ..p.clone()
    };
    let shaped = answer(3, &store, &no_punc, &wav);
    assert!(!shaped.result.contains(['，', '。']), "{}", shaped.result);
    assert_eq!(shaped.result.lines().count(), rec.sentences.len());

    let diarized = params(Engine::Zh16k, 2, true);
    let shaped = answer(3, &store, &diarized, &wav);
    assert!(shaped.detail.iter().all(|d| d.speaker_id.is_some()));
    let first = shaped.result.lines().next().unwrap();
    assert!(
        first.split_once(']').unwrap().0.matches(',').count() == 2,
        "{first}"
    );
}

fn word(text: &str, start_ms: u64, end_ms: u64) -> RecordedWord {
    RecordedWord {
        text: text.into(),
        start_ms,
        end_ms,
    }
}

fn settings_for(engine: Engine, format: u8) -> IcuSettings {
    settings_of(&params(engine, format, false))
}

#[test]
fn bare_and_punctuated_words_align_with_the_line() {
    let one = |engine: Engine, format: u8, text: &str, words: Vec<RecordedWord>| IcuRecording {
        settings: settings_for(engine, format),
        sentences: vec![RecordedSentence {
            start_ms: 1_000,
            end_ms: 2_000,
            text: text.into(),
            speaker: None,
            words: Some(words),
        }],
    };
    let cases = [
        one(
            Engine::Zh16k,
            2,
            "你好，世界。",
            vec![word("你好，", 1_000, 1_400), word("世界。", 1_500, 2_000)],
        ),
        one(
            Engine::Zh16k,
            1,
            "你好，世界。",
            vec![word("你好", 1_000, 1_400), word("世界", 1_500, 2_000)],
        ),
        one(
            Engine::En16k,
            1,
            "Hello, world.",
            vec![word("Hello", 1_000, 1_400), word("world", 1_500, 2_000)],
        ),
        one(
            Engine::Zh16k,
            1,
            "“我用 iPhone 打电话。”",
            vec![
                word("我用", 1_000, 1_300),
                word("iPhone", 1_300, 1_600),
                word("打电话", 1_600, 2_000),
            ],
        ),
    ];
    for rec in cases {
        let t = recorded_transcript(&rec);
        let s = &t.sentences[0];
        assert_eq!(s.text(t.language), rec.sentences[0].text);
        assert_eq!(
            s.words.len(),
            rec.sentences[0].words.as_ref().unwrap().len()
        );
        assert!(s
            .words
            .iter()
            .all(|w| w.kind == crate::transcript::WordKind::Plain));
        assert_eq!(
            (s.start_ms, s.words[0].start_ms, s.end_ms),
            (1_000, 1_000, 2_000)
        );
        let shown = exact(&rec);
        assert_eq!(
            shown.result,
            format!("[0:1.000,0:2.000]  {}\n", rec.sentences[0].text)
        );
        let words: Vec<&str> = shown.detail[0]
            .words
            .iter()
            .map(|w| w.word.as_str())
            .collect();
        let recorded: Vec<&str> = rec.sentences[0]
            .words
            .iter()
            .flatten()
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(words, recorded);
    }
    // Punctuation of a format 2 word moves after it, so FilterPunc can drop it.
    let t = recorded_transcript(&one(
        Engine::Zh16k,
        2,
        "你好，世界。",
        vec![word("你好，", 1_000, 1_400), word("世界。", 1_500, 2_000)],
    ));
    assert_eq!(t.sentences[0].words[0].text, "你好");
    assert_eq!(t.sentences[0].words[0].punct_after.as_deref(), Some("，"));
}

#[test]
fn words_that_do_not_line_up_fall_back_to_splitting_the_line() {
    let rec = IcuRecording {
        settings: settings_for(Engine::Zh16k, 0),
        sentences: vec![
            RecordedSentence {
                start_ms: 0,
                end_ms: 900,
                text: "你好，世界。".into(),
                speaker: None,
                words: Some(vec![word("再见", 0, 900)]),
            },
            RecordedSentence {
                start_ms: 61 * 60_000 + 5_120,
                end_ms: 61 * 60_000 + 6_000,
                text: "没有词。".into(),
                speaker: None,
                words: None,
            },
        ],
    };
    let shown = exact(&rec);
    assert_eq!(
        shown.result,
        "[0:0.000,0:0.900]  你好，世界。\n[61:5.120,61:6.000]  没有词。\n"
    );
    let back = recording_from_answer(rec.settings, &shown.result, &[]).unwrap();
    assert_eq!(back.sentences[1].start_ms, 61 * 60_000 + 5_120);
    renders_back(&back, &shown.result, &[]).unwrap();
}

#[test]
fn malformed_answers_are_refused_with_the_reason() {
    let s = settings_for(Engine::Zh16k, 0);
    let err = |result: &str| recording_from_answer(s, result, &[]).unwrap_err();
    assert!(err("0:1.000,0:2.000]  x\n").contains("does not start with `[`"));
    assert!(err("[0:1.000,0:2.000  x\n").contains("no `]`"));
    assert!(err("[0:1.000,0:2.000]x\n").contains("no space"));
    assert!(err("[0:1.000]  x\n").contains("no end time"));
    assert!(err("[0:61.000,0:62.000]  x\n").contains("not m:s.mmm"));
    assert!(err("[0:1.00,0:2.000]  x\n").contains("not m:s.mmm"));
    assert!(err("[0:1.000,0:2.000,a]  x\n").contains("speaker \"a\""));
    assert!(err("[0:1.000,0:2.000,1,2]  x\n").contains("three fields"));
    assert!(err("[0:2.000,0:1.000]  x\n").contains("before `start_ms`"));
    assert!(err("[0:1.000,0:2.000]  a\n\n").starts_with("Result line 2"));
    assert!(err("[400:0.000,400:1.000]  x\n").contains("5 hours"));

    let p = params(Engine::Zh16k, 2, false);
    let line = "[0:1.000,0:2.000]  你好。\n";
    let detail = |start_ms: u64, offset_end: u64| SentenceDetail {
        final_sentence: "你好。".into(),
        slice_sentence: "你好。".into(),
        start_ms,
        end_ms: 2_000,
        words_num: 1,
        words: vec![crate::providers::icu::wire::SentenceWords {
            word: "你好。".into(),
            offset_start_ms: 0,
            offset_end_ms: offset_end,
        }],
        speech_speed: 2.0,
        speaker_id: None,
    };
    let d = detail(1_000, 1_000);
    let rec = recording_from_answer(settings_of(&p), line, std::slice::from_ref(&d)).unwrap();
    assert_eq!(
        rec.sentences[0].words.as_ref().unwrap()[0],
        word("你好。", 1_000, 2_000)
    );
    renders_back(&rec, line, std::slice::from_ref(&d)).unwrap();
    let e = recording_from_answer(settings_of(&p), line, &[d.clone(), d.clone()]).unwrap_err();
    assert!(e.contains("2 entries for 1 Result lines"), "{e}");
    let e = recording_from_answer(settings_of(&p), line, &[detail(900, 1_000)]).unwrap_err();
    assert!(e.contains("ResultDetail[0].StartMs"), "{e}");
    let e = recording_from_answer(settings_of(&p), line, &[detail(1_000, 1_500)]).unwrap_err();
    assert!(e.contains("outside its sentence"), "{e}");

    // An answer replay cannot reproduce is named by its first differing field.
    let slower = SentenceDetail {
        speech_speed: 3.5,
        ..d.clone()
    };
    let e = renders_back(&rec, line, &[slower]).unwrap_err();
    assert_eq!(e, "ResultDetail[0].SpeechSpeed: recorded 3.5, replayed 2.0");
    let e = renders_back(&rec, "[0:1.000,0:2.000]  你好！\n", &[d]).unwrap_err();
    assert!(e.starts_with("Result line 1: recorded"), "{e}");
}

#[test]
fn a_recording_replays_as_it_was_rendered_into_the_task() {
    let wav = wav_8bit(8000, 1, 8000 * 6, true);
    let p = params(Engine::Zh16k, 0, false);
    let rec = recording_from_answer(settings_of(&p), "[0:1.000,0:2.000]  录好的。\n", &[]).unwrap();
    let store = with_recording(&wav, rec);
    let sha: [u8; 32] = Sha256::digest(&wav).into();
    let found = examine(
        1,
        &store,
        &RecognizeSettings::default(),
        &p,
        &wav,
        &sha,
        None,
    );
    assert!(found.from_fixture);
    let recipe = found.outcome.recipe().unwrap();
    assert!(matches!(**recipe, Recipe::Rendered(_)));
    assert_eq!(recipe.render().result, "[0:1.000,0:2.000]  录好的。\n");
}
