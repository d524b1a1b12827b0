//! Provider B's Mandarin text options (`FilterDirty`, `FilterModal`, `FilterPunc`,
//! `ConvertNumMode`), acting on the [`WordKind`] tags the generator and the fixture splitter
//! set, so each option visibly changes the result.
//!
//! Choices (the seed names the options and their values, nothing more):
//! - The options act on Mandarin transcripts only (seed: "目前支持中文普通话引擎");
//!   [`apply`] returns any other language unchanged, so a caller cannot misapply them.
//! - Values outside the documented ones act as the option's default (0, or 1 for
//!   `ConvertNumMode`); request validation is the handler's job, not this module's.
//! - Only words change: times of the remaining words stay as they were, and so do a sentence's
//!   `start_ms`/`end_ms`, because the speech the engine heard (a filler, a swear word) still
//!   took that time. A sentence left with no words disappears.
//! - `FilterModal` 1 (partial) drops a modal particle only where it stands alone as a filler:
//!   at the start of the sentence when a pause mark follows it, another particle follows it or
//!   nothing else is left (`嗯，` `嗯嗯，` `嗯。`), or anywhere when a pause mark (comma and the
//!   like) follows it (`好啊，我来` → `好，我来`). Particles that close a clause with
//!   sentence-final punctuation (`好吧。` `是吗？`) carry meaning and stay; strict mode (2)
//!   drops every modal word. A particle at the start glued to the next word (fixture `哈喽`,
//!   whose 哈 the lexicon tags as modal) also stays in partial mode.
//! - A dropped word's punctuation moves to the previous remaining word: sentence-final
//!   punctuation (`。？！…` and ASCII forms) replaces a pause mark there (`好，吧。` → `好。`), a
//!   pause mark (`，`) only goes where there is none, so clauses stay apart (`好啊，增长` →
//!   `好，增长`). A pause mark with no word before it (`嗯，` opening a sentence) is dropped,
//!   and so is one left dangling at the end of the sentence (`行，靠` → `行`).
//! - `FilterDirty` 2 replaces every character of a dirty word with `*` (他妈的 → `***`).
//! - `FilterPunc` 1 removes sentence-final marks from the end of each sentence (closing quotes
//!   stay); 2 removes every punctuation mark after words and trims punctuation from the edges
//!   of word text (opening quotes in fixtures), but never touches numbers (`3.5`, `20%`).
//! - `ConvertNumMode` 0 keeps numbers as spoken (三百二十五); 1 shows the Arabic form the
//!   generator recorded (325); 3 adds maths conversion (symbols such as `+`, `=`), but neither
//!   the generator nor the fixture splitter produce maths expressions, so 3 gives exactly what
//!   1 gives. Fixture words are never tagged as numbers, so fixture text keeps its numerals.

use super::{Language, Sentence, Transcript, Word, WordKind};

/// The four options as raw wire values.
///
/// `Filters::default()` is the identity (all zeros: numbers stay as spoken); the provider's
/// request defaults are [`Filters::PROVIDER_DEFAULT`], where `ConvertNumMode` is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Filters {
    /// `FilterDirty`: 0 keep, 1 drop dirty words, 2 replace their characters with `*`.
    pub dirty: u8,
    /// `FilterModal`: 0 keep, 1 drop stand-alone fillers, 2 drop every modal particle.
    pub modal: u8,
    /// `FilterPunc`: 0 keep, 1 drop sentence-final punctuation, 2 drop all punctuation.
    pub punc: u8,
    /// `ConvertNumMode`: 0 Chinese numerals, 1 smart Arabic conversion, 3 also maths.
    pub convert_num: u8,
}

impl Filters {
    /// What a request that names none of the options gets (seed: ConvertNumMode defaults to 1).
    pub const PROVIDER_DEFAULT: Filters = Filters {
        dirty: 0,
        modal: 0,
        punc: 0,
        convert_num: 1,
    };
}

/// Marks that end a sentence (`FilterPunc` 1 removes them at the end of each sentence).
pub fn is_final_mark(c: char) -> bool {
    matches!(c, '。' | '？' | '！' | '.' | '?' | '!' | '…' | '．')
}

/// Punctuation marks, Chinese and ASCII. Deliberately excludes `*` (a masked dirty word is
/// content), `%` and `-` (parts of numbers and hyphenated words).
pub fn is_punct(c: char) -> bool {
    is_final_mark(c)
        || matches!(
            c,
            '，' | '、'
                | '；'
                | '：'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '「'
                | '」'
                | '『'
                | '』'
                | '（'
                | '）'
                | '《'
                | '》'
                | '〈'
                | '〉'
                | '【'
                | '】'
                | '—'
                | '～'
                | '·'
                | ','
                | ';'
                | ':'
                | '"'
                | '\''
                | '('
                | ')'
                | '['
                | ']'
        )
}

/// Applies the options to a Mandarin transcript; other languages come back unchanged.
pub fn apply(t: &Transcript, f: &Filters) -> Transcript {
    if t.language != Language::Mandarin {
        return t.clone();
    }
    Transcript {
        language: t.language,
        sentences: t
            .sentences
            .iter()
            .filter_map(|s| filter_sentence(s, f))
            .collect(),
    }
}

/// One sentence through every option; `None` when no word is left.
fn filter_sentence(s: &Sentence, f: &Filters) -> Option<Sentence> {
    let mut kept: Vec<Word> = Vec::with_capacity(s.words.len());
    let mut last_dropped = false;
    for (i, word) in s.words.iter().enumerate() {
        let next = s.words.get(i + 1);
        if drops(word, next, kept.is_empty(), f) {
            carry_punct(word, &mut kept);
            last_dropped = true;
            continue;
        }
        last_dropped = false;
        let mut w = word.clone();
        match &w.kind {
            WordKind::Dirty if f.dirty == 2 => {
                w.text = w
                    .text
                    .chars()
                    .map(|c| if c.is_whitespace() { c } else { '*' })
                    .collect();
            }
            WordKind::Number { arabic } if f.convert_num != 0 && !arabic.is_empty() => {
                w.text = arabic.clone();
            }
            _ => {}
        }
        kept.push(w);
    }
    if last_dropped {
        // A comma whose clause was dropped would dangle at the end of the sentence.
        if let Some(last) = kept.last_mut() {
            if last.punct_after.as_deref().is_some_and(is_pause) {
                last.punct_after = None;
            }
        }
    }
    match f.punc {
        1 => {
            if let Some(last) = kept.last_mut() {
                last.punct_after = last
                    .punct_after
                    .take()
                    .map(|p| p.chars().filter(|&c| !is_final_mark(c)).collect::<String>())
                    .filter(|p| !p.trim().is_empty());
            }
        }
        2 => {
            for w in &mut kept {
                w.punct_after = None;
                if !matches!(w.kind, WordKind::Number { .. }) {
                    w.text = w.text.trim_matches(is_punct).to_string();
                }
            }
            kept.retain(|w| !w.text.is_empty());
        }
        _ => {}
    }
    if kept.is_empty() {
        return None;
    }
    Some(Sentence {
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        words: kept,
        speaker: s.speaker,
    })
}

/// Whether `FilterDirty` 1 or `FilterModal` removes `word`; `at_start` means no word of the
/// sentence is kept before it.
fn drops(word: &Word, next: Option<&Word>, at_start: bool, f: &Filters) -> bool {
    match word.kind {
        WordKind::Dirty => f.dirty == 1,
        WordKind::Modal => match f.modal {
            2 => true,
            1 => {
                let punct = word.punct_after.as_deref().filter(|p| !p.trim().is_empty());
                let pause_after = punct.is_some_and(is_pause);
                let alone_at_start = at_start
                    && (punct.is_some()
                        || next.is_none_or(|n| n.kind == WordKind::Modal || n.text.is_empty()));
                pause_after || alone_at_start
            }
            _ => false,
        },
        _ => false,
    }
}

/// Moves a dropped word's punctuation to the previous kept word: a sentence-final mark
/// replaces a pause mark there, a pause mark only fills an empty place; with no previous word
/// it is dropped.
fn carry_punct(dropped: &Word, kept: &mut [Word]) {
    let Some(p) = dropped
        .punct_after
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    else {
        return;
    };
    let Some(prev) = kept.last_mut() else {
        return;
    };
    let replace = match prev.punct_after.as_deref().filter(|q| !q.trim().is_empty()) {
        None => true,
        Some(q) => is_pause(q) && !is_pause(p),
    };
    if replace {
        prev.punct_after = Some(p.to_string());
    }
}

/// Punctuation that marks a pause inside a sentence (a comma and the like), not its end.
fn is_pause(p: &str) -> bool {
    !p.trim().is_empty() && !p.chars().any(is_final_mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str, kind: WordKind, punct: Option<&str>, t: u64) -> Word {
        Word {
            text: text.to_string(),
            start_ms: t,
            end_ms: t + 100,
            kind,
            punct_after: punct.map(str::to_string),
        }
    }

    fn num(text: &str, arabic: &str, t: u64) -> Word {
        w(
            text,
            WordKind::Number {
                arabic: arabic.to_string(),
            },
            None,
            t,
        )
    }

    fn zh(sentences: Vec<Vec<Word>>) -> Transcript {
        Transcript {
            language: Language::Mandarin,
            sentences: sentences
                .into_iter()
                .map(|words| Sentence {
                    start_ms: words.first().map_or(0, |w| w.start_ms),
                    end_ms: words.last().map_or(0, |w| w.end_ms),
                    words,
                    speaker: Some(1),
                })
                .collect(),
        }
    }

    fn sample() -> Transcript {
        use WordKind::{Dirty, Modal, Plain};
        zh(vec![
            vec![
                w("嗯", Modal, Some("，"), 0),
                w("他妈的", Dirty, Some("，"), 100),
                w("这", Plain, None, 200),
                w("报告", Plain, None, 300),
                w("一共", Plain, None, 400),
                num("三百二十五", "325", 500),
                w("页", Plain, None, 600),
                w("吧", Modal, Some("。"), 700),
            ],
            vec![
                w("好", Plain, None, 1_000),
                w("啊", Modal, Some("，"), 1_100),
                w("增长", Plain, None, 1_200),
                num("百分之二十", "20%", 1_300),
                w("呢", Modal, Some("？"), 1_400),
            ],
            vec![w("靠", Dirty, Some("！"), 2_000)],
        ])
    }

    fn apply_text(f: Filters) -> String {
        apply(&sample(), &f).text()
    }

    #[test]
    fn identity_and_defaults() {
        let t = sample();
        assert_eq!(apply(&t, &Filters::default()), t);
        assert_eq!(
            t.text(),
            "嗯，他妈的，这报告一共三百二十五页吧。好啊，增长百分之二十呢？靠！"
        );
        assert_eq!(
            apply_text(Filters::PROVIDER_DEFAULT),
            "嗯，他妈的，这报告一共325页吧。好啊，增长20%呢？靠！"
        );
    }

    #[test]
    fn dirty_words_are_dropped_or_starred() {
        let drop = Filters {
            dirty: 1,
            ..Filters::default()
        };
        assert_eq!(
            apply_text(drop),
            "嗯，这报告一共三百二十五页吧。好啊，增长百分之二十呢？"
        );
        let star = Filters {
            dirty: 2,
            ..Filters::default()
        };
        assert_eq!(
            apply_text(star),
            "嗯，***，这报告一共三百二十五页吧。好啊，增长百分之二十呢？*！"
        );
    }

    #[test]
    fn modal_partial_keeps_closing_particles_and_strict_drops_all() {
        let partial = Filters {
            modal: 1,
            ..Filters::default()
        };
        assert_eq!(
            apply_text(partial),
            "他妈的，这报告一共三百二十五页吧。好，增长百分之二十呢？靠！"
        );
        let strict = Filters {
            modal: 2,
            ..Filters::default()
        };
        assert_eq!(
            apply_text(strict),
            "他妈的，这报告一共三百二十五页。好，增长百分之二十？靠！"
        );
    }

    #[test]
    fn modal_partial_start_of_sentence() {
        use WordKind::{Modal, Plain};
        let t = zh(vec![
            vec![w("哈", Modal, None, 0), w("喽", Plain, Some("。"), 100)],
            vec![
                w("嗯", Modal, None, 200),
                w("嗯", Modal, Some("，"), 300),
                w("好", Plain, Some("。"), 400),
            ],
            vec![w("嗯", Modal, Some("。"), 500)],
            vec![w("对", Plain, None, 600), w("啊", Modal, None, 700)],
        ]);
        let f = Filters {
            modal: 1,
            ..Filters::default()
        };
        let out = apply(&t, &f);
        assert_eq!(out.sentences.len(), 3);
        assert_eq!(out.text(), "哈喽。好。对啊");
    }

    #[test]
    fn punctuation_moves_or_dangles_correctly() {
        use WordKind::{Dirty, Modal, Plain};
        let t = zh(vec![
            vec![
                w("好", Plain, Some("，"), 0),
                w("吧", Modal, Some("。"), 100),
            ],
            vec![w("行", Plain, Some("，"), 200), w("靠", Dirty, None, 300)],
        ]);
        let f = Filters {
            dirty: 1,
            modal: 2,
            ..Filters::default()
        };
        assert_eq!(apply(&t, &f).text(), "好。行");
    }

    #[test]
    fn punc_filter_levels() {
        let end = Filters {
            punc: 1,
            ..Filters::default()
        };
        assert_eq!(
            apply_text(end),
            "嗯，他妈的，这报告一共三百二十五页吧好啊，增长百分之二十呢靠"
        );
        let all = Filters {
            punc: 2,
            convert_num: 1,
            ..Filters::default()
        };
        assert_eq!(apply_text(all), "嗯他妈的这报告一共325页吧好啊增长20%呢靠");
        let quoted = zh(vec![vec![
            w("“你", WordKind::Plain, None, 0),
            w("好", WordKind::Plain, Some("。”"), 100),
        ]]);
        assert_eq!(apply(&quoted, &end).text(), "“你好”");
        assert_eq!(apply(&quoted, &all).text(), "你好");
    }

    #[test]
    fn empty_sentences_disappear_and_times_stay() {
        let f = Filters {
            dirty: 1,
            modal: 2,
            punc: 2,
            convert_num: 3,
        };
        let out = apply(&sample(), &f);
        assert_eq!(out.sentences.len(), 2);
        assert_eq!(out.text(), "这报告一共325页好增长20%");
        let s = &out.sentences[0];
        assert_eq!((s.start_ms, s.end_ms), (0, 800));
        assert_eq!(s.words[0].start_ms, 200);
        let only_dirty = zh(vec![vec![w("靠", WordKind::Dirty, Some("！"), 0)]]);
        assert!(apply(&only_dirty, &f).sentences.is_empty());
    }

    #[test]
    fn other_languages_and_odd_input_are_safe() {
        let mut en = sample();
        en.language = Language::English;
        let all = Filters {
            dirty: 2,
            modal: 2,
            punc: 2,
            convert_num: 1,
        };
        assert_eq!(apply(&en, &all), en);
        let odd = zh(vec![
            vec![],
            vec![w("", WordKind::Plain, Some("……"), 0)],
            vec![w("", WordKind::Modal, None, 0), num("五", "", 10)],
        ]);
        for dirty in 0..4 {
            for modal in 0..4 {
                for punc in 0..4 {
                    for convert_num in 0..5 {
                        let f = Filters {
                            dirty,
                            modal,
                            punc,
                            convert_num,
                        };
                        let out = apply(&odd, &f);
                        assert!(out.sentences.iter().all(|s| !s.words.is_empty()));
                        let _ = apply(&sample(), &f).text();
                    }
                }
            }
        }
    }
}
