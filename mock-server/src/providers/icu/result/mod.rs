//! What a finished icu task shows: speakers labelled as the request asks, the `Result` text
//! (`[m:s.mmm,m:s.mmm]  text\n` lines) and the `ResultDetail` array, plus the callback's
//! `audioTime`.
//!
//! Run [`crate::transcript::filters::apply`] first, then [`assign_speakers`], then [`render`]:
//! speakers are assigned to the sentences that survive the filters, so `Fixed(n)` really shows
//! n speakers.
//!
//! Choices (the seed shows the line format and names the detail fields; the rest is inferred):
//! - `Result` lines keep punctuation in every ResTextFormat (the filters decide punctuation);
//!   whitespace inside a sentence (a fixture's line break) is folded to one space and trimmed,
//!   so there is always exactly one line per sentence.
//! - With speakers shown, a sentence that has none is labelled 0.
//! - ResultDetail (formats 1 and 2, empty otherwise): `FinalSentence` is the `Result` line's
//!   text in format 2 and the words without any punctuation, joined per language, in format 1.
//!   `SliceSentence` is the `Word`s joined by single spaces; in format 2 punctuation stays
//!   attached to the word it follows (`你好，` is one word), never a word of its own. Format 1
//!   trims punctuation from word edges (numbers such as `3.5` and `20%` stay whole) and leaves
//!   out words that were nothing but punctuation.
//! - Word offsets are relative to the sentence start (seed: "在句子中的开始时间偏移量"), and are
//!   made non-decreasing with each end at or after its start, whatever a fixture holds.
//! - `SpeechSpeed`: letters and digits (and the `*` of a masked dirty word) per second of the
//!   sentence's span; English counts words instead, as its speaking rate is measured in words.
//!   Rounded to one decimal; 0 for a sentence of zero length.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::wire::{SentenceDetail, SentenceWords};
use crate::transcript::filters::is_punct;
use crate::transcript::{Language, Sentence, Transcript, Word, WordKind};

/// Most speakers automatic diarization tells apart (seed: "目前仅支持 ≤6 个人").
pub const AUTO_MAX_SPEAKERS: u32 = 6;
/// Most speakers a request may fix (seed: SpeakerNumber 1–10).
pub const FIXED_MAX_SPEAKERS: u8 = 10;

/// How speakers are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speakers {
    /// No diarization: no sentence carries a speaker.
    None,
    /// SpeakerDiarization 1 with SpeakerNumber 0: at most [`AUTO_MAX_SPEAKERS`], ids from 0.
    Auto,
    /// SpeakerDiarization 1 with SpeakerNumber 1–10: exactly that many ids (values outside
    /// 1..=10 are clamped into it).
    Fixed(u8),
    /// `8k_zh` with ChannelNum 2: the channel, 0 left and 1 right, taking turns like a call.
    StereoChannels,
}

impl Speakers {
    /// Whether results show the speaker (`SpeakerId` and the third bracket field).
    pub fn shows_speaker(self) -> bool {
        self != Speakers::None
    }
}

/// Labels every sentence's speaker for `mode`; deterministic in (transcript, mode, seed, hash).
///
/// Speakers already on the sentences (the generator's, a fixture's) are kept, renumbered from
/// 0 in order of appearance; sentences without one continue the previous speaker or switch
/// (35 %) in a seeded turn-taking pattern among 1–3 speakers. `Auto` folds anything beyond 6
/// speakers back into 0–5; `Fixed(n)` folds extra speakers the same way and, when there are at
/// least n sentences but fewer speakers, splits the longest turns (or, with none left, a
/// repeated speaker's sentence) until every id 0..n-1 is used; `StereoChannels` starts on the
/// left channel and switches channel whenever the speaker changes, splitting a monologue of
/// two or more sentences so both parties of the call are heard.
pub fn assign_speakers(
    t: &Transcript,
    mode: Speakers,
    seed: u64,
    audio_sha256: &[u8; 32],
) -> Transcript {
    let ids: Vec<Option<u32>> = match mode {
        Speakers::None => vec![None; t.sentences.len()],
        Speakers::Auto => {
            let mut rng = crate::rng::derive(seed, "speakers", audio_sha256);
            base_ids(&t.sentences, &mut rng)
                .into_iter()
                .map(|id| Some(id % AUTO_MAX_SPEAKERS))
                .collect()
        }
        Speakers::Fixed(n) => {
            let mut rng = crate::rng::derive(seed, "speakers", audio_sha256);
            let n = u32::from(n.clamp(1, FIXED_MAX_SPEAKERS));
            let mut ids = base_ids(&t.sentences, &mut rng);
            let distinct = ids.iter().max().map_or(0, |m| m + 1);
            if distinct > n {
                ids.iter_mut().for_each(|id| *id %= n);
            } else {
                for new in distinct..n {
                    if !split_turn(&mut ids, new, &mut rng) {
                        break;
                    }
                }
            }
            dense(ids.into_iter().map(Some))
                .into_iter()
                .map(Some)
                .collect()
        }
        Speakers::StereoChannels => {
            let mut rng = crate::rng::derive(seed, "speakers", audio_sha256);
            let mut ids = base_ids(&t.sentences, &mut rng);
            if ids.iter().all(|&id| id == 0) {
                split_turn(&mut ids, 1, &mut rng);
            }
            let mut channel = 0u32;
            let mut out = Vec::with_capacity(ids.len());
            for (i, &id) in ids.iter().enumerate() {
                if i > 0 && ids.get(i - 1) != Some(&id) {
                    channel = 1 - channel;
                }
                out.push(Some(channel));
            }
            out
        }
    };
    Transcript {
        language: t.language,
        sentences: t
            .sentences
            .iter()
            .zip(ids)
            .map(|(s, speaker)| Sentence {
                speaker,
                ..s.clone()
            })
            .collect(),
    }
}

/// Every sentence's speaker, numbered from 0 in order of appearance: the sentence's own when
/// it has one, else from a seeded turn-taking pattern.
fn base_ids<R: Rng>(sentences: &[Sentence], rng: &mut R) -> Vec<u32> {
    let known = dense(sentences.iter().map(|s| s.speaker));
    let distinct = known.iter().copied().max().map_or(0, |m| m + 1);
    let pattern: u32 = match rng.gen_range(0..10) {
        0..=1 => 1,
        2..=7 => 2,
        _ => 3,
    };
    let k = distinct.max(pattern);
    let mut prev: Option<u32> = None;
    let mut out = Vec::with_capacity(sentences.len());
    for (s, &id) in sentences.iter().zip(&known) {
        let id = match (s.speaker, prev) {
            (Some(_), _) => id,
            (None, None) => 0,
            (None, Some(p)) if k > 1 && rng.gen_ratio(35, 100) => (p + rng.gen_range(1..k)) % k,
            (None, Some(p)) => p,
        };
        out.push(id);
        prev = Some(id);
    }
    dense(out.into_iter().map(Some))
}

/// Renumbers labels 0, 1, 2… in order of first appearance; missing labels become 0 in the
/// output (callers only read the positions that had one).
fn dense(labels: impl Iterator<Item = Option<u32>>) -> Vec<u32> {
    let mut map: HashMap<u32, u32> = HashMap::new();
    labels
        .map(|label| match label {
            Some(l) => {
                let next = u32::try_from(map.len()).unwrap_or(u32::MAX);
                *map.entry(l).or_insert(next)
            }
            None => 0,
        })
        .collect()
}

/// Gives speaker `new` some sentences without making another speaker disappear: the second
/// half of the longest turn of two or more sentences, or else one repeated sentence of a
/// speaker who has several. Returns false when every sentence already has its own speaker.
fn split_turn<R: Rng>(ids: &mut [u32], new: u32, rng: &mut R) -> bool {
    let mut best: Option<(usize, usize)> = None;
    let mut start = 0usize;
    for i in 1..=ids.len() {
        if i == ids.len() || ids.get(i) != ids.get(start) {
            let len = i - start;
            if len >= 2 && best.is_none_or(|(_, l)| len > l) {
                best = Some((start, len));
            }
            start = i;
        }
    }
    if let Some((a, len)) = best {
        for id in ids.iter_mut().skip(a + len / 2).take(len - len / 2) {
            *id = new;
        }
        return true;
    }
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let repeats: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, &id)| {
            let count = seen.entry(id).or_insert(0);
            *count += 1;
            (*count > 1).then_some(i)
        })
        .collect();
    if repeats.is_empty() {
        return false;
    }
    let pick = repeats.get(rng.gen_range(0..repeats.len())).copied();
    if let Some(slot) = pick.and_then(|i| ids.get_mut(i)) {
        *slot = new;
    }
    true
}

/// How a result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// ResTextFormat: 0 text only, 1 detail without punctuation, 2 detail with punctuation;
    /// other values give no detail.
    pub res_text_format: u8,
    /// Show speakers (diarization or 8k stereo): a third bracket field and `SpeakerId`.
    pub show_speaker: bool,
}

/// A rendered result: the `Result`/callback `text` string and the `ResultDetail` array.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rendered {
    /// `[m:s.mmm,m:s.mmm]  text\n` per sentence (`[…,…,speaker]` with speakers); "" when empty.
    pub result: String,
    /// One entry per sentence for ResTextFormat 1 and 2; empty otherwise.
    pub detail: Vec<SentenceDetail>,
    /// Both as JSON, kept only by results the render cache holds ([`Rendered::keep_json`]):
    /// a finished task is polled again and again, and escaping its text is most of a poll.
    #[serde(skip)]
    json: OnceLock<RenderedJson>,
}

/// `Result` and `ResultDetail` as JSON, ready to be embedded in a poll's answer.
#[derive(Debug, Clone)]
pub struct RenderedJson {
    /// The `Result` string, quoted and escaped.
    pub result: Box<RawValue>,
    /// The `ResultDetail` array.
    pub detail: Box<RawValue>,
}

impl PartialEq for Rendered {
    fn eq(&self, other: &Self) -> bool {
        self.result == other.result && self.detail == other.detail
    }
}

impl Rendered {
    /// A result from its text and detail.
    pub fn new(result: String, detail: Vec<SentenceDetail>) -> Self {
        Rendered {
            result,
            detail,
            json: OnceLock::new(),
        }
    }

    /// Both fields as JSON: the kept copy when there is one, else written now.
    pub fn json(&self) -> Cow<'_, RenderedJson> {
        match self.json.get() {
            Some(kept) => Cow::Borrowed(kept),
            None => Cow::Owned(self.write_json()),
        }
    }

    /// Writes the JSON once and keeps it (for results held by the render cache, which
    /// counts its bytes); returns its size.
    pub fn keep_json(&self) -> usize {
        let json = self.json.get_or_init(|| self.write_json());
        json.result.get().len() + json.detail.get().len()
    }

    fn write_json(&self) -> RenderedJson {
        // A string and a list of plain structs always serialise.
        let raw = |v: serde_json::Result<String>| {
            RawValue::from_string(v.unwrap_or_else(|_| "null".to_owned()))
                .unwrap_or_else(|_| RawValue::NULL.to_owned())
        };
        RenderedJson {
            result: raw(serde_json::to_string(&self.result)),
            detail: raw(serde_json::to_string(&self.detail)),
        }
    }
}

/// Writes `t` as the provider does; never fails.
pub fn render(t: &Transcript, opts: RenderOptions) -> Rendered {
    let mut result = String::new();
    for s in &t.sentences {
        result.push('[');
        result.push_str(&format_time(s.start_ms));
        result.push(',');
        result.push_str(&format_time(s.end_ms));
        if opts.show_speaker {
            result.push(',');
            result.push_str(&s.speaker.unwrap_or(0).to_string());
        }
        result.push_str("]  ");
        result.push_str(&line_text(s, t.language));
        result.push('\n');
    }
    let detail = match opts.res_text_format {
        1 => detail(t, opts.show_speaker, false),
        2 => detail(t, opts.show_speaker, true),
        _ => Vec::new(),
    };
    Rendered::new(result, detail)
}

/// A time as `m:s.mmm`: seconds not zero-padded, milliseconds always 3 digits, minutes
/// counting on past 60 (1640 → `0:1.640`, 3 665 120 → `61:5.120`).
pub fn format_time(ms: u64) -> String {
    format!("{}:{}.{:03}", ms / 60_000, (ms / 1_000) % 60, ms % 1_000)
}

/// The callback's `audioTime`: seconds with 6 decimals (8420 → `8.420000`), exact for any
/// millisecond count.
pub fn audio_time(duration_ms: u64) -> String {
    format!("{}.{:03}000", duration_ms / 1_000, duration_ms % 1_000)
}

/// A sentence's text on one line: whitespace runs folded to a single space, ends trimmed.
fn line_text(s: &Sentence, lang: Language) -> String {
    s.text(lang)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One SentenceDetail per sentence.
fn detail(t: &Transcript, show_speaker: bool, punct: bool) -> Vec<SentenceDetail> {
    t.sentences
        .iter()
        .map(|s| sentence_detail(s, t.language, show_speaker, punct))
        .collect()
}

/// One sentence's SentenceDetail; `punct` selects format 2 over format 1.
fn sentence_detail(
    s: &Sentence,
    lang: Language,
    show_speaker: bool,
    punct: bool,
) -> SentenceDetail {
    let mut words: Vec<SentenceWords> = Vec::with_capacity(s.words.len());
    let mut bare: Vec<String> = Vec::with_capacity(s.words.len());
    let mut prev_start = 0u64;
    for w in &s.words {
        let plain = bare_text(w);
        let shown = if punct {
            let mut full = w.text.clone();
            full.push_str(w.punct_after.as_deref().unwrap_or(""));
            full.split_whitespace().collect::<String>()
        } else {
            plain.clone()
        };
        if shown.is_empty() {
            continue;
        }
        if !plain.is_empty() {
            bare.push(plain);
        }
        let start = w.start_ms.saturating_sub(s.start_ms).max(prev_start);
        let end = w.end_ms.saturating_sub(s.start_ms).max(start);
        prev_start = start;
        words.push(SentenceWords {
            word: shown,
            offset_start_ms: start,
            offset_end_ms: end,
        });
    }
    let final_sentence = if punct {
        line_text(s, lang)
    } else {
        bare.join(lang.separator())
    };
    let slice_sentence = words
        .iter()
        .map(|w| w.word.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let units = if lang == Language::English {
        bare.iter()
            .filter(|b| b.chars().any(char::is_alphanumeric))
            .count()
    } else {
        bare.iter()
            .flat_map(|b| b.chars())
            .filter(|&c| c.is_alphanumeric() || c == '*')
            .count()
    };
    SentenceDetail {
        final_sentence,
        slice_sentence,
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        words_num: u32::try_from(words.len()).unwrap_or(u32::MAX),
        words,
        speech_speed: speed(units, s.end_ms.saturating_sub(s.start_ms)),
        speaker_id: show_speaker.then(|| s.speaker.unwrap_or(0)),
    }
}

/// A word without punctuation or whitespace; numbers (`3.5`, `20%`) stay whole.
fn bare_text(w: &Word) -> String {
    let text: String = w.text.split_whitespace().collect();
    if matches!(w.kind, WordKind::Number { .. }) {
        text
    } else {
        text.trim_matches(is_punct).to_string()
    }
}

/// Units per second, one decimal; 0 for a zero-length span.
fn speed(units: usize, span_ms: u64) -> f64 {
    if span_ms == 0 {
        return 0.0;
    }
    let per_second = units as f64 * 1_000.0 / span_ms as f64;
    (per_second * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
