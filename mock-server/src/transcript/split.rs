//! Lossless splitting of fixture text into sentences and words.
//!
//! Joining the pieces back the way [`Transcript::text`](super::Transcript::text) does (words
//! with [`Language::separator`], sentences with [`Language::sentence_separator`]) gives the
//! input again to the letter, whatever its spacing or punctuation: a boundary is only placed
//! where the separator the join will insert is really there, and everything else (extra
//! spaces, line breaks, punctuation) stays inside a word's text or its `punct_after`.

use super::lexicon::lexicon;
use super::{Language, WordKind};

/// A word cut from fixture text, before timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawWord {
    /// The word, possibly with opening punctuation ("“你").
    pub text: String,
    /// Punctuation and spacing after it; empty when none.
    pub punct: String,
    /// Modal particles and dirty words of the language are tagged; the rest is plain.
    pub kind: WordKind,
}

/// Splits `text` into sentences at sentence-final punctuation (`。！？!?…`, and `.` before a
/// space or the end), keeping closing quotes and brackets with their sentence. For Thai, whose
/// sentences end with a space instead of a stop, every single space between two words is a
/// sentence boundary too.
pub(crate) fn sentences(text: &str, lang: Language) -> Vec<&str> {
    let sep_is_space = lang.sentence_separator() == " ";
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let byte = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut out = Vec::new();
    let mut start = 0usize; // byte offset of the current sentence
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i].1;
        let thai_space = lang == Language::Thai
            && c == ' '
            && i > 0
            && at(i - 1).is_some_and(|p| !p.is_whitespace())
            && at(i + 1).is_some_and(|n| !n.is_whitespace());
        if thai_space {
            out.push(&text[start..byte(i)]);
            start = byte(i + 1);
            i += 1;
            continue;
        }
        if !is_final(c, at(i + 1)) {
            i += 1;
            continue;
        }
        // The sentence runs on over further stops and closing quotes or brackets.
        let mut j = i + 1;
        while let Some(n) = at(j) {
            if is_final(n, at(j + 1)) || is_closer(n) {
                j += 1;
            } else {
                break;
            }
        }
        if sep_is_space {
            // The boundary eats exactly one space, the one the join puts back.
            if at(j) == Some(' ') && at(j + 1).is_some_and(|n| !n.is_whitespace()) {
                out.push(&text[start..byte(j)]);
                start = byte(j + 1);
                i = j + 1;
                continue;
            }
        } else {
            // Nothing is put back by the join: spacing stays with the sentence before it.
            while at(j).is_some_and(char::is_whitespace) {
                j += 1;
            }
            if j < chars.len() {
                out.push(&text[start..byte(j)]);
                start = byte(j);
            }
        }
        i = j.max(i + 1);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Splits one sentence into words: at single spaces for English (extra spacing stays in
/// `punct`), otherwise one word per Chinese character (dirty words of several characters kept
/// whole), per run of kana, Thai, or letters and digits.
pub(crate) fn words(sentence: &str, lang: Language) -> Vec<RawWord> {
    let lex = lexicon(lang);
    if lang.separator() == " " {
        return spaced_words(sentence, lang);
    }
    let dirty: Vec<Vec<char>> = lex
        .dirty_words()
        .map(|d| d.chars().collect::<Vec<char>>())
        .filter(|d| d.len() > 1)
        .collect();
    let chars: Vec<char> = sentence.chars().collect();
    let mut out: Vec<RawWord> = Vec::new();
    let mut prefix = String::new();
    let mut i = 0usize;
    while i < chars.len() {
        let cls = class(chars[i]);
        let len = match cls {
            Class::Other => {
                let run = run_len(&chars[i..], |c| class(c) == Class::Other);
                let text: String = chars[i..i + run].iter().collect();
                match out.last_mut() {
                    Some(last) => last.punct.push_str(&text),
                    None => prefix.push_str(&text),
                }
                i += run;
                continue;
            }
            Class::Han => dirty
                .iter()
                .filter(|d| chars[i..].starts_with(d))
                .map(Vec::len)
                .max()
                .unwrap_or(1),
            Class::Kana | Class::Thai => run_len(&chars[i..], |c| class(c) == cls),
            Class::Alnum => alnum_len(&chars[i..]),
        };
        let word: String = chars[i..i + len].iter().collect();
        let kind = lex.tag(&word);
        out.push(RawWord {
            text: std::mem::take(&mut prefix) + &word,
            punct: String::new(),
            kind,
        });
        i += len;
    }
    if !prefix.is_empty() {
        out.push(RawWord {
            text: String::new(),
            punct: prefix,
            kind: WordKind::Plain,
        });
    }
    out
}

/// English: words at single spaces. Runs of spaces leave empty pieces, which join the word
/// before (as spacing in its `punct`) or, at the very start, the word after.
fn spaced_words(sentence: &str, lang: Language) -> Vec<RawWord> {
    let lex = lexicon(lang);
    let mut groups: Vec<String> = Vec::new();
    let mut leading = 0usize;
    for piece in sentence.split(' ') {
        match groups.last_mut() {
            Some(last) if piece.is_empty() => last.push(' '),
            Some(_) => groups.push(piece.to_string()),
            None if piece.is_empty() => leading += 1,
            None => groups.push(" ".repeat(leading) + piece),
        }
    }
    if groups.is_empty() && leading > 0 {
        // Only spaces: n + 1 empty pieces make n spaces.
        groups.push(" ".repeat(leading - 1));
    }
    groups
        .into_iter()
        .map(|g| {
            let cut = g
                .char_indices()
                .rev()
                .take_while(|&(_, c)| class(c) == Class::Other)
                .last()
                .map_or(g.len(), |(b, _)| b);
            let (text, punct) = g.split_at(cut);
            let kind = lex.tag(text);
            RawWord {
                text: text.to_string(),
                punct: punct.to_string(),
                kind,
            }
        })
        .collect()
}

/// Kinds of characters for word splitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A Chinese character: one word each.
    Han,
    /// Hiragana or katakana: a run is one word.
    Kana,
    /// Thai letters, vowels and tone marks: a run is one word.
    Thai,
    /// Letters and digits of other scripts (and `%`): a run is one word.
    Alnum,
    /// Punctuation, spacing and symbols: attached to the word before.
    Other,
}

fn class(c: char) -> Class {
    match c {
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}'
        | '\u{3007}' => Class::Han,
        '\u{3040}'..='\u{309F}' | '\u{30A0}'..='\u{30FA}' | '\u{30FC}'..='\u{30FF}' => Class::Kana,
        '\u{0E00}'..='\u{0E7F}' => Class::Thai,
        '%' | '\u{0300}'..='\u{036F}' => Class::Alnum,
        c if c.is_alphanumeric() => Class::Alnum,
        _ => Class::Other,
    }
}

fn run_len(chars: &[char], pred: impl Fn(char) -> bool) -> usize {
    chars.iter().take_while(|&&c| pred(c)).count().max(1)
}

/// A run of letters and digits, including joiners between two of them (`don't`, `3.5`,
/// `e-mail`, `10,000`).
fn alnum_len(chars: &[char]) -> usize {
    let is = |i: usize| chars.get(i).is_some_and(|&c| class(c) == Class::Alnum);
    let mut i = 0;
    while i < chars.len() {
        if is(i) {
            i += 1;
        } else if matches!(chars[i], '\'' | '’' | '-' | '.' | ',' | ':') && i > 0 && is(i + 1) {
            i += 2;
        } else {
            break;
        }
    }
    i.max(1)
}

/// Whether `c` ends a sentence; `.` only before spacing, a closer or the end, so `3.5` and
/// `e.g` do not split.
fn is_final(c: char, next: Option<char>) -> bool {
    match c {
        '。' | '！' | '？' | '!' | '?' | '…' | '．' => true,
        '.' => next.is_none_or(|n| n.is_whitespace() || is_closer(n) || n == '.'),
        _ => false,
    }
}

/// Closing quotes and brackets that belong to the sentence they close.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | ')' | '）' | '」' | '』' | '】' | '》' | ']'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Joins sentences and words exactly as `Transcript::text` does.
    fn rejoin(text: &str, lang: Language) -> String {
        sentences(text, lang)
            .iter()
            .map(|s| {
                words(s, lang)
                    .iter()
                    .map(|w| format!("{}{}", w.text, w.punct))
                    .collect::<Vec<_>>()
                    .join(lang.separator())
            })
            .collect::<Vec<_>>()
            .join(lang.sentence_separator())
    }

    #[test]
    fn sentences_split_at_final_punctuation() {
        assert_eq!(
            sentences("你好，世界。今天怎么样？“好！”他说。", Language::Mandarin),
            vec!["你好，世界。", "今天怎么样？", "“好！”", "他说。"]
        );
        assert_eq!(
            sentences(
                "Hello, world. It costs 3.5 dollars! Right?",
                Language::English
            ),
            vec!["Hello, world.", "It costs 3.5 dollars!", "Right?"]
        );
        // Two spaces or none: no boundary, the join could not restore them.
        assert_eq!(sentences("One.  Two.Three", Language::English).len(), 1);
        assert_eq!(
            sentences("Hi. 你好。 OK", Language::Mandarin),
            vec!["Hi. ", "你好。 ", "OK"]
        );
        assert_eq!(
            sentences("สวัสดีครับ วันนี้อากาศดี", Language::Thai),
            vec!["สวัสดีครับ", "วันนี้อากาศดี"]
        );
        assert!(sentences("", Language::Mandarin).is_empty());
    }

    #[test]
    fn words_split_per_language() {
        let w = words("嗯，他妈的这个3.5元的东西。", Language::Mandarin);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["嗯", "他妈的", "这", "个", "3.5", "元", "的", "东", "西"]
        );
        assert_eq!(w[0].kind, WordKind::Modal);
        assert_eq!(w[0].punct, "，");
        assert_eq!(w[1].kind, WordKind::Dirty);
        assert_eq!(w[8].punct, "。");
        let e = words("Um, it's 20% off, isn't it?", Language::English);
        assert_eq!(e[0].kind, WordKind::Modal);
        assert_eq!((e[2].text.as_str(), e[2].punct.as_str()), ("20%", ""));
        assert_eq!((e[5].text.as_str(), e[5].punct.as_str()), ("it", "?"));
        let j = words("データを送りました。", Language::Japanese);
        let texts: Vec<&str> = j.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, vec!["データを", "送", "りました"]);
    }

    #[test]
    fn every_text_round_trips() {
        let texts = [
            "Hello, world. How are you? I'm fine!",
            "  Leading and trailing spaces.  ",
            "Double  spaces,\tline\nbreaks — and dashes... right?!",
            "你好，世界。今天天气怎么样？“很好！”他说。",
            "我们一共二十五个人, 3.5元, 100%没问题!OK? 好的。",
            "Mixed 中文 and English。 Next sentence. 下一句！",
            "......",
            " ",
            "   ",
            "。",
            "“",
            "สวัสดีครับ  วันนี้ อากาศดี ",
            "こんにちは、元気ですか？はい。",
            "a",
            "",
        ];
        for lang in Language::ALL {
            for text in texts {
                assert_eq!(rejoin(text, lang), text, "{lang:?}");
            }
        }
    }

    #[test]
    fn random_texts_round_trip() {
        use rand::Rng;
        let alphabet: Vec<char> = "ab Z9 .,!?。，？！…“”\"'()（）\n\t-%你好他妈的嗯วันนี้データ  "
            .chars()
            .collect();
        let mut rng = crate::rng::derive(0, "test", b"split");
        for _ in 0..3_000 {
            let len = rng.gen_range(0..40);
            let text: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            for lang in Language::ALL {
                assert_eq!(rejoin(&text, lang), text, "{lang:?} {text:?}");
            }
        }
    }
}
