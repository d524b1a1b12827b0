//! Transcripts: what the simulator "heard" in an audio file.
//!
//! Both providers answer from the same [`Transcript`], so one audio file gives the same words
//! whichever API is asked: provider A shows only [`Transcript::text`]; provider B shows the
//! sentences, word timings and speakers, and its filters act on the [`WordKind`] tags set here.
//!
//! [`transcribe`] is the one entry point: a fixture registered for the audio's SHA-256 wins,
//! otherwise [`generate`] invents a plausible transcript from (seed, audio hash, language)
//! whose amount and timings follow the audio's real duration and speech spans.
//!
//! # Layout
//! - `fixtures/`: registered transcripts by audio hash (a TOML folder and the control API),
//!   with an optional icu recording (`icu.rs`) and the file writer (`write.rs`);
//! - `generate.rs`: the seeded generator used when no fixture matches;
//! - `lexicon.rs`: per-language vocabularies and sentence templates the generator draws from;
//! - `numbers.rs`: spoken numerals with their Arabic rendering;
//! - `split.rs`: lossless splitting of fixture text into sentences and words;
//! - `timing.rs`: cleaning speech spans and spreading items over time.
//!
//! # Invariants
//! - Deterministic: the same input always gives the same transcript; all randomness comes
//!   from [`crate::rng::derive`] keyed by (audio hash, language).
//! - Generated times: words strictly increase and never overlap, a sentence runs from its first
//!   word's start to its last word's end, and everything lies inside `[0, duration_ms]` and
//!   inside one voiced span.
//! - A fixture's text comes back unchanged, to the letter, from [`Transcript::text`].

pub mod filters;
mod fixtures;
mod generate;
mod lexicon;
mod numbers;
mod split;
mod timing;

pub use fixtures::{
    check_dir as check_fixtures_dir, read_file, recorded_transcript,
    render_check as render_fixtures_check, write_toml, Fixture, FixtureError, FixtureSentence,
    FixtureStore, IcuRecording, IcuSettings, RecordedSentence, RecordedWord,
};
pub use generate::generate;

pub use crate::language::Language;

/// What a word is, so provider B's filters (dirty words, modal particles, number conversion)
/// know what to act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum WordKind {
    /// An ordinary word.
    Plain,
    /// A dirty word (他妈的, 靠, damn): dropped or starred by `FilterDirty`.
    Dirty,
    /// A modal particle or filler (嗯, 吧, um): removed by `FilterModal`.
    Modal,
    /// A number as spoken: `text` holds the numeral (三百二十五), `arabic` the digits ("325"),
    /// which `ConvertNumMode` shows instead.
    Number {
        /// The same number in Arabic digits ("325", "3.5", "20%", "2024").
        arabic: String,
    },
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Word {
    /// The word as written, without the punctuation that follows it.
    pub text: String,
    /// Start, in ms from the start of the audio.
    pub start_ms: u64,
    /// End, in ms from the start of the audio; never before `start_ms`.
    pub end_ms: u64,
    /// What the filters may do with it.
    pub kind: WordKind,
    /// Punctuation written after the word ("，" "。" "？" "," "."), kept apart so word-level
    /// output without punctuation (ResTextFormat 1, FilterPunc) is easy to produce.
    pub punct_after: Option<String>,
}

/// One sentence: the unit of provider B's `Result` lines and `ResultDetail`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sentence {
    /// Start of the first word, in ms from the start of the audio.
    pub start_ms: u64,
    /// End of the last word, in ms from the start of the audio.
    pub end_ms: u64,
    /// The words in order.
    pub words: Vec<Word>,
    /// Who speaks it (0, 1, …); providers show it only when diarization is asked for.
    pub speaker: Option<u32>,
}

impl Sentence {
    /// The sentence as written: words with their punctuation, joined per language.
    pub fn text(&self, lang: Language) -> String {
        let sep = lang.separator();
        let mut out = String::new();
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&word.text);
            if let Some(p) = &word.punct_after {
                out.push_str(p);
            }
        }
        out
    }
}

/// A whole transcript in one language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transcript {
    /// The language it is written in; decides how words and sentences are joined.
    pub language: Language,
    /// Sentences in time order; empty for silence.
    pub sentences: Vec<Sentence>,
}

impl Transcript {
    /// The whole text, sentences joined per language; "" when there are no sentences.
    pub fn text(&self) -> String {
        let sep = self.language.sentence_separator();
        let mut out = String::new();
        for (i, sentence) in self.sentences.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&sentence.text(self.language));
        }
        out
    }
}

/// What a transcript is made from.
#[derive(Debug, Clone, Copy)]
pub struct GenerateInput<'a> {
    /// The server seed: a different seed gives different generated text.
    pub seed: u64,
    /// SHA-256 of the audio bytes: looks up fixtures and keys the generator.
    pub audio_sha256: [u8; 32],
    /// The language to write in (from the provider's engine).
    pub language: Language,
    /// The audio's real duration; no time in the transcript lies beyond it.
    pub duration_ms: u64,
    /// Speech spans `(start_ms, end_ms)` from audio analysis: `Some(&[])` is silence, `None`
    /// means unknown (speech is assumed across the whole duration).
    pub voiced: Option<&'a [(u64, u64)]>,
}

/// The transcript both providers serve: the fixture registered for the audio wins, otherwise
/// one is generated.
pub fn transcribe(store: &FixtureStore, input: &GenerateInput<'_>) -> Transcript {
    match store.get(&input.audio_sha256) {
        Some(fixture) => fixtures::to_transcript(&fixture, input),
        None => generate(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, punct: Option<&str>) -> Word {
        Word {
            text: text.to_string(),
            start_ms: 0,
            end_ms: 1,
            kind: WordKind::Plain,
            punct_after: punct.map(str::to_string),
        }
    }

    #[test]
    fn text_joins_words_and_sentences_per_language() {
        let s1 = Sentence {
            start_ms: 0,
            end_ms: 1,
            words: vec![word("Hello", Some(",")), word("world", Some("."))],
            speaker: None,
        };
        let s2 = Sentence {
            start_ms: 0,
            end_ms: 1,
            words: vec![word("Bye", Some("!"))],
            speaker: None,
        };
        let en = Transcript {
            language: Language::English,
            sentences: vec![s1.clone(), s2.clone()],
        };
        assert_eq!(en.text(), "Hello, world. Bye!");
        let zh = Transcript {
            language: Language::Mandarin,
            sentences: vec![s1, s2],
        };
        assert_eq!(zh.text(), "Hello,world.Bye!");
        let empty = Transcript {
            language: Language::Thai,
            sentences: vec![],
        };
        assert_eq!(empty.text(), "");
    }

    #[test]
    fn transcribe_prefers_the_fixture_and_both_agree() {
        let store = FixtureStore::new();
        let input = GenerateInput {
            seed: 1,
            audio_sha256: [7; 32],
            language: Language::Mandarin,
            duration_ms: 10_000,
            voiced: None,
        };
        assert_eq!(transcribe(&store, &input), generate(&input));
        store
            .register(
                [7; 32],
                Fixture {
                    text: "你好，世界。再见！".to_string(),
                    sentences: None,
                    icu: None,
                },
            )
            .unwrap();
        let t = transcribe(&store, &input);
        assert_eq!(t.text(), "你好，世界。再见！");
        assert_eq!(t, transcribe(&store, &input));
    }
}
