//! The generator: a plausible transcript from (seed, audio hash, language) whose amount and
//! timings follow the audio's duration and speech spans.
//!
//! Steps: clean the speech spans (or assume speech across the whole duration), cut each span
//! into sentence slots of 1–8 s with short gaps, fill each slot with clauses from the
//! language's templates at a realistic speaking rate, then spread the words over the time
//! they take to say at the speaker's pace (the whole slot at most, so content that came out
//! short leaves a silence rather than being drawled).
//!
//! Choices:
//! - A speech span shorter than 300 ms (a cough, a click) gives no sentence, so audio with less
//!   than 300 ms of speech gives an empty transcript, as real engines return nothing for it.
//! - Speech after 24 h is not transcribed: it bounds work and memory for absurd durations
//!   (the providers accept at most 5 h).
//! - Every sentence carries a speaker (1–4 speakers taking turns); providers show it only when
//!   diarization is asked for.
//! - Each kind provider B's filters act on (modal particle, dirty word, number) appears at a
//!   seeded rate, and when a transcript has at least 5 s of sentences, the first one missing
//!   after 6 s of speech (or by the last sentence) is forced in, so every transcript of about
//!   10 s or more shows what the filters do. With speech spans from audio it is forced after
//!   3 s, at the sentence's start where it can; the end of speech may still cut it off
//!   (about 2% of 10 s transcripts miss one).
//! - With speech spans, each span's sentences are keyed by where the span starts and cut
//!   where it ends, so speech still coming (a stream's open segment) reads as a prefix of
//!   the finished text.

use rand::Rng;

use super::lexicon::{lexicon, Lexicon};
use super::numbers::{self, NumKind, Numerals};
use super::timing::{clean_spans, spread, whole_span};
use super::{GenerateInput, Sentence, Transcript, Word, WordKind};
use crate::rng::DetRng;

/// Shortest speech span that gets a sentence.
const MIN_SENTENCE_MS: u64 = 300;
/// Longest sentence slot, as engines cut long speech into sentences of a few seconds.
const MAX_SENTENCE_MS: u64 = 8_000;
/// Pause between two sentences inside one speech span.
const GAP_MS: (u64, u64) = (150, 700);
/// Speech beyond this point is not transcribed (bounds work for absurd durations).
const MAX_GENERATED_MS: u64 = 24 * 3_600_000;
/// Silence assumed before and after speech when the spans are unknown.
const LEAD_MS: (u64, u64) = (100, 400);
/// A transcript with at least this much sentence time shows every word kind.
const COVER_MIN_TOTAL_MS: u64 = 5_000;
/// … and shows each of them by this much sentence time.
const COVER_BY_MS: u64 = 6_000;
/// … or, with speech spans from audio (where the end of speech may cut the sentence that
/// shows them), by this much speech.
const COVER_BY_SPEECH_MS: u64 = 3_000;
/// Most clauses in one sentence.
const MAX_CLAUSES: usize = 4;
/// Pause after a comma inside a sentence, at a normal pace.
const COMMA_PAUSE_MS: u64 = 250;
/// Time per letter of an English word (plus two letters' worth per word), at a normal pace.
const ENGLISH_LETTER_MS: u64 = 60;
/// How many recent templates a new clause avoids repeating.
const RECENT_TEMPLATES: usize = 4;

/// Generates the transcript for `input`; the same input always gives the same transcript.
///
/// With speech spans from decoded audio, each span's sentences are drawn from its own stream,
/// keyed by (seed, language, the span's ordinal and times) and by what earlier spans said, not
/// by the file's bytes: the same samples then read the same in any container, and a stream
/// cut short reads as a prefix of the whole (the streaming endpoint's partial results).
/// Without spans (formats not decoded here) the file's hash keys everything.
pub fn generate(input: &GenerateInput<'_>) -> Transcript {
    let lang = input.language;
    let lex = lexicon(lang);
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(&input.audio_sha256);
    key.extend_from_slice(lang.code().as_bytes());
    let mut rng = crate::rng::derive(input.seed, "transcript", &key);

    let lead = rng.gen_range(LEAD_MS.0..=LEAD_MS.1);
    let spans: Vec<(u64, u64)> = match input.voiced {
        Some(voiced) => clean_spans(voiced, input.duration_ms),
        None => vec![whole_span(input.duration_ms, lead)],
    }
    .into_iter()
    .map(|(a, b)| (a, b.min(MAX_GENERATED_MS)))
    .filter(|&(a, b)| b > a)
    .collect();

    let speakers: u32 = match rng.gen_range(0..20) {
        0..=5 => 1,
        6..=15 => 2,
        16..=18 => 3,
        _ => 4,
    };
    let pace_pct: u64 = rng.gen_range(85..=115);
    let mut writer = Writer {
        lex,
        seen: Kinds::default(),
        possible: Kinds {
            modal: !lex.openers.is_empty() || !lex.finals.is_empty(),
            dirty: !lex.dirty_open.is_empty() || !lex.dirty_inline.is_empty(),
            number: lex.numerals != Numerals::None,
        },
        elapsed: 0,
        recent: Vec::with_capacity(RECENT_TEMPLATES + 1),
        sentences: Vec::new(),
        speaker: 0,
        speakers,
        front_load: input.voiced.is_some(),
    };

    if input.voiced.is_some() {
        for (n, &(a, b)) in spans.iter().enumerate() {
            // Keyed by where the span starts, not where it ends: a span still being spoken
            // (a stream's open segment) then reads as a prefix of the finished one.
            let mut key = Vec::with_capacity(24);
            key.extend_from_slice(lang.code().as_bytes());
            key.extend_from_slice(&(n as u64).to_le_bytes());
            key.extend_from_slice(&a.to_le_bytes());
            let mut span_rng = crate::rng::derive(input.seed, "transcript-span", &key);
            let pace_pct: u64 = span_rng.gen_range(85..=115);
            let mut cur = a;
            while b.saturating_sub(cur) >= MIN_SENTENCE_MS {
                let len = span_rng.gen_range(500..=4_000) + span_rng.gen_range(500..=4_000);
                let gap = span_rng.gen_range(GAP_MS.0..=GAP_MS.1);
                // Only what came before decides, so the end of speech cuts the last
                // sentence short instead of changing it.
                let cover = |elapsed: u64| elapsed >= COVER_BY_SPEECH_MS;
                writer.sentence(
                    &mut span_rng,
                    Some(&mut rng),
                    (cur, cur + len),
                    pace_pct,
                    false,
                    cover,
                    Some(b),
                );
                cur = cur.saturating_add(len).saturating_add(gap);
            }
        }
    } else {
        let slots = plan_slots(&mut rng, &spans);
        let total_ms: u64 = slots.iter().map(|&(a, b)| b - a).sum();
        let cover_at = COVER_BY_MS.min(total_ms);
        let cover = |elapsed: u64| total_ms >= COVER_MIN_TOTAL_MS && elapsed >= cover_at;
        for (i, &slot) in slots.iter().enumerate() {
            writer.sentence(
                &mut rng,
                None,
                slot,
                pace_pct,
                i + 1 == slots.len(),
                cover,
                None,
            );
        }
    }
    Transcript {
        language: lang,
        sentences: writer.sentences,
    }
}

/// What the sentences written so far leave for the next one.
struct Writer<'l> {
    lex: &'l Lexicon,
    seen: Kinds,
    possible: Kinds,
    elapsed: u64,
    recent: Vec<&'static str>,
    sentences: Vec<Sentence>,
    speaker: u32,
    speakers: u32,
    /// Put the word kinds a sentence must show at its start, where the end of speech cannot
    /// cut them off (speech spans from audio).
    front_load: bool,
}

impl Writer<'_> {
    /// Writes the sentence for one slot: its words from `rng`, who says it from `turns`
    /// (`None`: from `rng` too, when everything is keyed by the file). With `cut`, speech
    /// ends there: later words are dropped (the first word is kept, squeezed, so a slot that
    /// starts in speech says something) and the last one kept ends the sentence.
    #[allow(clippy::too_many_arguments)]
    fn sentence(
        &mut self,
        rng: &mut DetRng,
        turns: Option<&mut DetRng>,
        (start, end): (u64, u64),
        pace_pct: u64,
        is_last: bool,
        cover: impl Fn(u64) -> bool,
        cut: Option<u64>,
    ) {
        let lex = self.lex;
        let len = end - start;
        self.elapsed += len;
        let jitter: u64 = rng.gen_range(90..=110);
        let budget = (len * lex.units_per_10s * pace_pct * jitter / 100_000_000).max(1);
        let due = cover(self.elapsed) && (is_last || budget >= lex.units_per_10s / 4);
        let want = Kinds {
            modal: due && self.possible.modal && !self.seen.modal,
            dirty: due && self.possible.dirty && !self.seen.dirty,
            number: due && self.possible.number && !self.seen.number,
        };
        let toks = compose(lex, rng, budget, want, self.front_load, &mut self.recent);
        let turns = match turns {
            Some(turns) => turns,
            None => &mut *rng,
        };
        if !self.sentences.is_empty() && self.speakers > 1 && turns.gen_ratio(35, 100) {
            self.speaker = (self.speaker + turns.gen_range(1..self.speakers)) % self.speakers;
        }
        // Content shorter than the slot is said at the speaker's pace, leaving silence after.
        let natural = toks.iter().map(|t| natural_ms(lex, t)).sum::<u64>() * 100 / pace_pct;
        let stretch: u64 = rng.gen_range(100..=115);
        let said = (natural * stretch / 100).clamp(MIN_SENTENCE_MS.min(len), len);
        let mut sentence = lay_out(lex, toks, start, start + said, self.speaker);
        if let Some(cut) = cut {
            cut_at(lex, &mut sentence, cut);
            // Later sentences count the speech this one really had.
            let lost = (start + len).saturating_sub(cut.max(start));
            self.elapsed -= lost.min(len);
        }
        for w in &sentence.words {
            match w.kind {
                WordKind::Modal => self.seen.modal = true,
                WordKind::Dirty => self.seen.dirty = true,
                WordKind::Number { .. } => self.seen.number = true,
                WordKind::Plain => {}
            }
        }
        self.sentences.push(sentence);
    }
}

/// Ends `sentence` where speech ends: the words said by `cut` stay (at least the first one,
/// squeezed to end there), and the last one kept takes the full stop.
fn cut_at(lex: &Lexicon, sentence: &mut Sentence, cut: u64) {
    let keep = sentence
        .words
        .iter()
        .take_while(|w| w.end_ms <= cut)
        .count()
        .max(1);
    if keep >= sentence.words.len() && sentence.end_ms <= cut {
        return;
    }
    sentence.words.truncate(keep);
    if let Some(last) = sentence.words.last_mut() {
        last.end_ms = last.end_ms.min(cut).max(last.start_ms + 1);
        last.punct_after = Some(lex.full_stop.to_string());
    }
    sentence.end_ms = sentence.words.last().map_or(sentence.end_ms, |w| w.end_ms);
}

/// Which of the filterable word kinds (wanted, seen, possible).
#[derive(Debug, Default, Clone, Copy)]
struct Kinds {
    modal: bool,
    dirty: bool,
    number: bool,
}

impl Kinds {
    fn any(self) -> bool {
        self.modal || self.dirty || self.number
    }
}

/// Cuts speech spans into sentence slots: 1–8 s (around 4.5 s on average) separated by short
/// pauses; a remainder too short for another sentence is absorbed by the last one.
fn plan_slots<R: Rng>(rng: &mut R, spans: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut slots = Vec::new();
    for &(a, b) in spans {
        let mut cur = a;
        while b.saturating_sub(cur) >= MIN_SENTENCE_MS {
            let rem = b - cur;
            let mut len = (rng.gen_range(500..=4_000) + rng.gen_range(500..=4_000)).min(rem);
            let gap = rng.gen_range(GAP_MS.0..=GAP_MS.1);
            if rem - len < gap + MIN_SENTENCE_MS && rem <= MAX_SENTENCE_MS {
                len = rem;
            }
            slots.push((cur, cur + len));
            cur = cur.saturating_add(len).saturating_add(gap);
        }
    }
    slots
}

/// A word before timing.
#[derive(Debug)]
struct Tok {
    text: String,
    kind: WordKind,
    punct: Option<&'static str>,
}

/// How much of a sentence's speaking budget a word uses (characters, or words for English).
fn units(lex: &Lexicon, tok: &Tok) -> u64 {
    if lex.counts_words {
        1
    } else {
        tok.text.chars().count() as u64
    }
}

/// How long a word takes at a normal pace, pause after it included.
fn natural_ms(lex: &Lexicon, tok: &Tok) -> u64 {
    let chars = tok.text.chars().count() as u64;
    let said = if lex.counts_words {
        (chars + 2) * ENGLISH_LETTER_MS
    } else {
        chars * 10_000 / lex.units_per_10s.max(1)
    };
    said.max(1) + pause_ms(tok)
}

/// The pause after a word: after a comma, not after the sentence's last word.
fn pause_ms(tok: &Tok) -> u64 {
    match tok.punct {
        Some(p) if !p.is_empty() => COMMA_PAUSE_MS,
        _ => 0,
    }
}

/// Writes one sentence's words for a speaking budget of `budget` units, including the kinds
/// in `want` when the language has them, and avoiding the `recent` templates.
fn compose<R: Rng>(
    lex: &Lexicon,
    rng: &mut R,
    budget: u64,
    want: Kinds,
    front: bool,
    recent: &mut Vec<&'static str>,
) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::new();
    if budget < lex.units_per_10s / 8 && !want.any() {
        if let Some(utterance) = pick(rng, lex.short) {
            push_words(&mut toks, utterance, WordKind::Plain);
        }
        finish(lex, rng, &mut toks, false);
        return toks;
    }

    let dirty_open = !lex.dirty_open.is_empty()
        && ((want.dirty && (front || lex.dirty_inline.is_empty() || rng.gen_ratio(1, 2)))
            || rng.gen_ratio(3, 100));
    let modal_open = !lex.openers.is_empty()
        && ((want.modal && (front || lex.finals.is_empty() || rng.gen_ratio(1, 2)))
            || rng.gen_ratio(15, 100));
    if modal_open {
        push_interjection(lex, rng, &mut toks, lex.openers, WordKind::Modal);
    }
    if dirty_open {
        push_interjection(lex, rng, &mut toks, lex.dirty_open, WordKind::Dirty);
    }

    let mut need_dirty = want.dirty && !dirty_open && !lex.dirty_inline.is_empty();
    let mut need_number = want.number && lex.numerals != Numerals::None;
    let mut used: u64 = toks.iter().map(|t| units(lex, t)).sum();
    let mut question = false;
    for n in 0..MAX_CLAUSES {
        // A question ends the sentence, so it comes once most of the budget is used (or the
        // sentence is short enough to be just a question).
        let allow_question = used * 2 >= budget || budget * 10 <= lex.units_per_10s * 3;
        let template = choose_template(lex, rng, need_number, need_dirty, allow_question, recent);
        recent.push(template);
        if recent.len() > RECENT_TEMPLATES {
            recent.remove(0);
        }
        let fill_dirty = need_dirty || rng.gen_ratio(1, 10);
        let mut clause = Vec::new();
        let is_question = expand(lex, rng, template, &mut clause, fill_dirty);
        let cost: u64 = clause.iter().map(|t| units(lex, t)).sum();
        let forced = need_number || need_dirty;
        if n > 0 && !forced && used + cost > budget * 13 / 10 {
            break;
        }
        if n > 0 {
            if let Some(last) = toks.last_mut() {
                last.punct = Some(lex.comma);
            }
        }
        for t in &clause {
            match t.kind {
                WordKind::Number { .. } => need_number = false,
                WordKind::Dirty => need_dirty = false,
                _ => {}
            }
        }
        toks.extend(clause);
        used += cost;
        if is_question {
            question = true;
            break;
        }
        if !need_number && !need_dirty && used * 10 >= budget * 8 {
            break;
        }
    }

    let want_final = want.modal && !modal_open;
    if want_final && (question || lex.finals.is_empty()) {
        // Questions take no closing particle here: open with a filler instead.
        let mut opener = Vec::new();
        push_interjection(lex, rng, &mut opener, lex.openers, WordKind::Modal);
        toks.splice(0..0, opener);
    } else if !question && !lex.finals.is_empty() && (want_final || rng.gen_ratio(12, 100)) {
        if let Some(particle) = pick(rng, lex.finals) {
            toks.push(Tok {
                text: particle.to_string(),
                kind: WordKind::Modal,
                punct: None,
            });
        }
    }
    finish(lex, rng, &mut toks, question);
    toks
}

/// Picks a clause template: one with a number or an inline dirty word when those are needed,
/// a question only when allowed, and none of the `avoid` ones if possible.
fn choose_template<R: Rng>(
    lex: &Lexicon,
    rng: &mut R,
    need_number: bool,
    need_dirty: bool,
    allow_question: bool,
    avoid: &[&str],
) -> &'static str {
    let marker: Option<&str> = if need_number {
        Some("{n:")
    } else if need_dirty {
        Some("{dirty}")
    } else {
        None
    };
    let fits = |c: &str, strict: bool| {
        marker.is_none_or(|m| c.contains(m))
            && (allow_question || !c.ends_with('?'))
            && (!strict || !avoid.contains(&c))
    };
    for strict in [true, false] {
        let count = lex.clauses.iter().filter(|c| fits(c, strict)).count();
        if count > 0 {
            let k = rng.gen_range(0..count);
            if let Some(c) = lex.clauses.iter().filter(|c| fits(c, strict)).nth(k) {
                return c;
            }
        }
    }
    pick(rng, lex.clauses).copied().unwrap_or("")
}

/// Expands a template into words; returns whether the clause is a question.
fn expand<R: Rng>(
    lex: &Lexicon,
    rng: &mut R,
    template: &str,
    out: &mut Vec<Tok>,
    fill_dirty: bool,
) -> bool {
    let mut question = false;
    for tok in template.split(' ').filter(|t| !t.is_empty()) {
        match tok {
            "," => {
                if let Some(last) = out.last_mut() {
                    last.punct = Some(lex.comma);
                }
            }
            "?" => question = true,
            "{dirty}" => {
                if fill_dirty {
                    if let Some(d) = pick(rng, lex.dirty_inline) {
                        push_words(out, d, WordKind::Dirty);
                    }
                }
            }
            _ => {
                let Some(name) = tok.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
                    push_words(out, tok, WordKind::Plain);
                    continue;
                };
                if let Some(kind) = name.strip_prefix("n:").and_then(NumKind::from_name) {
                    if let Some((spoken, arabic)) = numbers::draw(lex.numerals, kind, rng) {
                        out.push(Tok {
                            text: spoken,
                            kind: WordKind::Number { arabic },
                            punct: None,
                        });
                    }
                } else if let Some(entry) = pick(rng, lex.slot(name)) {
                    push_words(out, entry, WordKind::Plain);
                }
            }
        }
    }
    question
}

/// Pushes each space-separated word of `entry` with `kind`.
fn push_words(out: &mut Vec<Tok>, entry: &str, kind: WordKind) {
    for w in entry.split(' ').filter(|w| !w.is_empty()) {
        out.push(Tok {
            text: w.to_string(),
            kind: kind.clone(),
            punct: None,
        });
    }
}

/// Pushes a sentence-opening interjection ("嗯，", "靠，") followed by a comma.
fn push_interjection<R: Rng>(
    lex: &Lexicon,
    rng: &mut R,
    out: &mut Vec<Tok>,
    choices: &[&str],
    kind: WordKind,
) {
    if let Some(word) = pick(rng, choices) {
        out.push(Tok {
            text: word.to_string(),
            kind,
            punct: Some(lex.comma),
        });
    }
}

/// Ends the sentence with its final punctuation and, for English, a capital letter.
fn finish<R: Rng>(lex: &Lexicon, rng: &mut R, toks: &mut [Tok], question: bool) {
    let dirty = toks.iter().any(|t| t.kind == WordKind::Dirty);
    let end = if question {
        lex.question
    } else if (dirty && rng.gen_ratio(1, 2)) || rng.gen_ratio(1, 20) {
        lex.exclaim
    } else {
        lex.full_stop
    };
    if let Some(last) = toks.last_mut() {
        last.punct = Some(end);
    }
    if lex.counts_words {
        if let Some(first) = toks.first_mut() {
            if let Some(c) = first.text.chars().next() {
                let upper: String = c.to_uppercase().collect();
                first.text.replace_range(..c.len_utf8(), &upper);
            }
        }
    }
}

/// Spreads the words over `[start, end]` in proportion to how long each takes to say.
fn lay_out(lex: &Lexicon, toks: Vec<Tok>, start: u64, end: u64, speaker: u32) -> Sentence {
    let last = toks.len().saturating_sub(1);
    let items: Vec<(u64, u64)> = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let pause = if i < last { pause_ms(t) } else { 0 };
            (natural_ms(lex, t) - pause_ms(t), pause)
        })
        .collect();
    let times = spread(start, end, &items);
    let words: Vec<Word> = toks
        .into_iter()
        .zip(times)
        .map(|(t, (s, e))| Word {
            text: t.text,
            start_ms: s,
            end_ms: e,
            kind: t.kind,
            punct_after: t.punct.filter(|p| !p.is_empty()).map(str::to_string),
        })
        .collect();
    Sentence {
        start_ms: words.first().map_or(start, |w| w.start_ms),
        end_ms: words.last().map_or(end, |w| w.end_ms),
        words,
        speaker: Some(speaker),
    }
}

/// A uniformly chosen element, `None` for an empty slice.
fn pick<'a, R: Rng, T>(rng: &mut R, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.gen_range(0..items.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Language;
    use super::*;

    fn input(seed: u64, sha: u8, lang: Language, duration_ms: u64) -> GenerateInput<'static> {
        GenerateInput {
            seed,
            audio_sha256: [sha; 32],
            language: lang,
            duration_ms,
            voiced: None,
        }
    }

    /// Checks every timing invariant the providers rely on.
    fn check_invariants(t: &Transcript, duration_ms: u64, spans: &[(u64, u64)]) {
        let mut prev_end = 0;
        for s in &t.sentences {
            assert!(!s.words.is_empty());
            assert!(s.start_ms >= prev_end, "sentences overlap");
            assert!(s.end_ms > s.start_ms);
            assert!(s.end_ms <= duration_ms);
            assert!(s.end_ms - s.start_ms <= MAX_SENTENCE_MS);
            assert_eq!(s.start_ms, s.words[0].start_ms);
            assert_eq!(s.end_ms, s.words[s.words.len() - 1].end_ms);
            assert!(
                spans.iter().any(|&(a, b)| a <= s.start_ms && s.end_ms <= b),
                "sentence {}..{} outside speech {spans:?}",
                s.start_ms,
                s.end_ms
            );
            let mut word_end = s.start_ms;
            for w in &s.words {
                assert!(w.start_ms >= word_end && w.end_ms > w.start_ms, "{w:?}");
                assert!(!w.text.is_empty());
                word_end = w.end_ms;
            }
            assert!(!s.text(t.language).is_empty());
            prev_end = s.end_ms;
        }
    }

    #[test]
    fn same_input_same_transcript() {
        for lang in Language::ALL {
            let i = input(42, 9, lang, 30_000);
            assert_eq!(generate(&i), generate(&i));
        }
    }

    #[test]
    fn seed_hash_and_language_change_the_text() {
        let base = generate(&input(1, 1, Language::Mandarin, 20_000)).text();
        assert_ne!(
            base,
            generate(&input(2, 1, Language::Mandarin, 20_000)).text()
        );
        assert_ne!(
            base,
            generate(&input(1, 2, Language::Mandarin, 20_000)).text()
        );
        assert_ne!(
            base,
            generate(&input(1, 1, Language::Cantonese, 20_000)).text()
        );
    }

    #[test]
    fn silence_and_tiny_speech_give_nothing() {
        for lang in Language::ALL {
            let mut i = input(1, 1, lang, 60_000);
            i.voiced = Some(&[]);
            assert!(generate(&i).sentences.is_empty());
            i.voiced = Some(&[(1_000, 1_200), (5_000, 5_299)]);
            assert!(generate(&i).sentences.is_empty());
            i.voiced = Some(&[(1_000, 1_400)]);
            assert_eq!(generate(&i).sentences.len(), 1);
            assert!(generate(&input(1, 1, lang, 0)).sentences.is_empty());
            assert!(generate(&input(1, 1, lang, 200)).sentences.is_empty());
        }
    }

    #[test]
    fn timing_invariants_hold_for_many_inputs() {
        for seed in 0..400u64 {
            let lang = Language::ALL[(seed % 6) as usize];
            let mut rng = crate::rng::derive(seed, "test", b"spans");
            let duration_ms: u64 = match seed % 4 {
                0 => rng.gen_range(0..2_000),
                1 => rng.gen_range(0..30_000),
                _ => rng.gen_range(0..300_000),
            };
            let raw: Vec<(u64, u64)> = (0..rng.gen_range(0..12))
                .map(|_| {
                    let a = rng.gen_range(0..duration_ms.max(1) + 5_000);
                    (a, a.saturating_add(rng.gen_range(0..40_000)))
                })
                .collect();
            let voiced = if seed % 3 == 0 {
                None
            } else {
                Some(raw.as_slice())
            };
            let i = GenerateInput {
                seed,
                audio_sha256: [seed as u8; 32],
                language: lang,
                duration_ms,
                voiced,
            };
            let t = generate(&i);
            let spans = match voiced {
                Some(v) => clean_spans(v, duration_ms),
                None => vec![(0, duration_ms)],
            };
            check_invariants(&t, duration_ms, &spans);
        }
        // Absurd inputs do not panic or run away.
        let i = GenerateInput {
            seed: 0,
            audio_sha256: [0; 32],
            language: Language::English,
            duration_ms: u64::MAX,
            voiced: Some(&[(u64::MAX - 10_000, u64::MAX), (5, 3), (0, 0)]),
        };
        assert!(generate(&i).sentences.is_empty());
    }

    #[test]
    fn speech_still_coming_reads_as_a_prefix_of_the_finished_text() {
        use crate::transcript::filters::{apply, Filters};
        // What a stream shows mid-span: the text so far without its closing punctuation.
        fn said(t: &Transcript) -> String {
            let text = apply(t, &Filters::PROVIDER_DEFAULT).text();
            text.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        }
        let mut checked = 0;
        for seed in 0..300u64 {
            let lang = Language::ALL[(seed % 6) as usize];
            let mut rng = crate::rng::derive(seed, "test", b"open-spans");
            let mut spans = Vec::new();
            let mut at = rng.gen_range(0..2_000);
            for _ in 0..rng.gen_range(1..5) {
                let len = rng.gen_range(50..20_000);
                spans.push((at, at + len));
                at += len + rng.gen_range(300..3_000);
            }
            let duration_ms = at;
            let whole = |voiced: &[(u64, u64)], duration_ms| {
                generate(&GenerateInput {
                    seed,
                    audio_sha256: [0; 32],
                    language: lang,
                    duration_ms,
                    voiced: Some(voiced),
                })
            };
            let finished = apply(&whole(&spans, duration_ms), &Filters::PROVIDER_DEFAULT).text();
            let (&(a, b), done) = spans.split_last().unwrap();
            let mut before = said(&whole(done, a));
            for step in 1..=12 {
                let t = a + (b - a) * step / 12;
                let mut open = done.to_vec();
                open.push((a, t));
                let now = said(&whole(&open, t));
                assert!(now.starts_with(&before), "{seed}: {before:?} then {now:?}");
                assert!(
                    finished.starts_with(&now),
                    "{seed}: {now:?} then {finished:?}"
                );
                checked += usize::from(now != before);
                before = now;
            }
        }
        assert!(checked > 1_000, "interim texts grew only {checked} times");
    }

    #[test]
    fn ten_seconds_of_chinese_show_every_filterable_kind() {
        // From speech spans the end of speech may cut off the sentence that shows a kind.
        let (mut from_speech, mut missed) = (0, 0);
        let spans: [&[(u64, u64)]; 3] = [
            &[(400, 9_600)],
            &[(200, 4_000), (4_600, 9_800)],
            &[(0, 3_000), (3_500, 6_500), (7_000, 10_000)],
        ];
        for lang in [
            Language::Mandarin,
            Language::Cantonese,
            Language::Shanghainese,
        ] {
            for seed in 0..300u64 {
                let mut i = input(seed, (seed % 251) as u8, lang, 10_000 + seed * 97);
                if seed % 2 == 1 {
                    i.voiced = Some(spans[(seed % 3) as usize]);
                }
                let t = generate(&i);
                let kinds: Vec<&WordKind> = t
                    .sentences
                    .iter()
                    .flat_map(|s| &s.words)
                    .map(|w| &w.kind)
                    .collect();
                let shown = kinds.contains(&&WordKind::Modal)
                    && kinds.contains(&&WordKind::Dirty)
                    && kinds.iter().any(|k| matches!(k, WordKind::Number { .. }));
                if i.voiced.is_none() {
                    assert!(shown, "{lang:?} {seed}: {}", t.text());
                } else {
                    from_speech += 1;
                    missed += usize::from(!shown);
                }
            }
        }
        assert!(
            missed * 20 <= from_speech,
            "{missed} of {from_speech} missed a kind"
        );
    }

    #[test]
    fn english_has_fillers_and_numbers() {
        let t = generate(&input(3, 3, Language::English, 60_000));
        let words: Vec<&Word> = t.sentences.iter().flat_map(|s| &s.words).collect();
        assert!(words.iter().any(|w| w.kind == WordKind::Modal));
        assert!(words
            .iter()
            .any(|w| matches!(&w.kind, WordKind::Number { arabic }
            if arabic.chars().all(|c| c.is_ascii_digit()))));
        let text = t.text();
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains(". ") || text.contains("? ") || text.contains("! "));
        for s in &t.sentences {
            let first = s.words[0].text.chars().next().unwrap();
            assert!(first.is_uppercase(), "{}", s.text(Language::English));
        }
    }

    #[test]
    fn each_language_writes_its_own_script() {
        let has = |text: &str, range: std::ops::RangeInclusive<char>| {
            text.chars().any(|c| range.contains(&c))
        };
        for seed in 0..20u64 {
            let text = |lang| generate(&input(seed, 5, lang, 30_000)).text();
            let thai = text(Language::Thai);
            assert!(thai
                .chars()
                .all(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c) || c == ' '));
            assert!(!thai.ends_with(' ') && !thai.is_empty());
            let ja = text(Language::Japanese);
            assert!(has(&ja, '\u{3040}'..='\u{30FF}'), "{ja}");
            let yue = text(Language::Cantonese);
            assert!(
                yue.chars().any(|c| "咗喺嘅哋係冇嚟佢唔".contains(c)),
                "{yue}"
            );
            assert!(!yue.chars().any(|c| "这们说时们还个".contains(c)), "{yue}");
            let wuu = text(Language::Shanghainese);
            assert!(
                wuu.chars().any(|c| "侬阿拉伐额辣搿勿覅侪".contains(c)),
                "{wuu}"
            );
            let zh = text(Language::Mandarin);
            assert!(
                has(&zh, '\u{4E00}'..='\u{9FFF}') && !has(&zh, 'A'..='z'),
                "{zh}"
            );
            assert!(zh.ends_with('。') || zh.ends_with('？') || zh.ends_with('！'));
        }
    }

    #[test]
    fn speaking_rate_is_realistic() {
        for seed in 0..10u64 {
            let zh = generate(&input(seed, 1, Language::Mandarin, 600_000));
            let chars: usize = zh
                .sentences
                .iter()
                .flat_map(|s| &s.words)
                .map(|w| w.text.chars().count())
                .sum();
            let rate = chars as f64 / 600.0;
            assert!((2.5..=5.0).contains(&rate), "Mandarin {rate} chars/s");
            let en = generate(&input(seed, 1, Language::English, 600_000));
            let words: usize = en.sentences.iter().map(|s| s.words.len()).sum();
            let rate = words as f64 / 600.0;
            assert!((1.5..=3.2).contains(&rate), "English {rate} words/s");
            let mean = 600_000 / zh.sentences.len() as u64;
            assert!(
                (2_500..=7_000).contains(&mean),
                "mean sentence slot {mean} ms"
            );
        }
    }

    #[test]
    fn speakers_take_turns() {
        let speakers: std::collections::BTreeSet<u32> = (0..30u8)
            .flat_map(|sha| generate(&input(1, sha, Language::Mandarin, 60_000)).sentences)
            .filter_map(|s| s.speaker)
            .collect();
        assert!(speakers.len() >= 2 && speakers.iter().all(|&s| s < 4));
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // measures this test's own run time, not simulated time
    fn five_hours_generate_quickly() {
        let five_hours = 5 * 3_600_000;
        let started = std::time::Instant::now();
        let zh = generate(&input(7, 7, Language::Mandarin, five_hours));
        let elapsed = started.elapsed();
        let words: usize = zh.sentences.iter().map(|s| s.words.len()).sum();
        assert!((2_500..=8_000).contains(&zh.sentences.len()));
        assert!(words < 200_000);
        check_invariants(&zh, five_hours, &[(0, five_hours)]);
        // Generous for unoptimised test builds on a shared machine; release takes a few ms.
        assert!(elapsed.as_millis() < 1_000, "took {elapsed:?}");
        let huge = generate(&input(7, 7, Language::English, u64::MAX));
        let last_end = huge.sentences.last().map_or(0, |s| s.end_ms);
        assert!(last_end <= MAX_GENERATED_MS);
    }
}
