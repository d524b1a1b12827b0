//! A fixture's `[icu]` recording: made from a real answer (`Result` and `ResultDetail`),
//! checked to render back to that answer, and replayed to tasks of the same audio.
//!
//! Same settings as recorded: the recorded sentences, words and speakers rendered by
//! [`result::render`] with no filters and no speaker reassignment, which gives the recorded
//! `Result` and `ResultDetail` byte for byte (when [`renders_back`] says so). Other settings:
//! the recorded words are what was "heard" and go through [`recipe::shape`] like any fixture
//! (inferred: the filters and speaker modes act on recorded words the way they act on
//! generated ones).

use super::params::SubmitParams;
use super::recipe::{self, SubmitOptions};
use super::recognize::submit_options;
use super::result::{self, RenderOptions, Rendered};
use super::wire::SentenceDetail;
use crate::engine::Engine;
use crate::transcript::{
    recorded_transcript, Fixture, IcuRecording, IcuSettings, RecordedSentence, RecordedWord,
};

/// The settings a recording keeps, from a submit request.
pub fn settings_of(params: &SubmitParams) -> IcuSettings {
    settings(
        params.engine,
        params.res_text_format,
        &submit_options(params),
    )
}

fn settings(engine: Engine, res_text_format: u8, o: &SubmitOptions) -> IcuSettings {
    IcuSettings {
        engine,
        res_text_format,
        channel_num: o.channel_num,
        speaker_diarization: u8::from(o.speaker_diarization),
        speaker_number: o.speaker_number,
        filter_dirty: o.filter_dirty,
        filter_modal: o.filter_modal,
        filter_punc: o.filter_punc,
        convert_num_mode: o.convert_num_mode,
    }
}

/// The options a recording's settings stand for.
fn options_of(s: &IcuSettings) -> SubmitOptions {
    SubmitOptions {
        channel_num: s.channel_num,
        speaker_diarization: s.speaker_diarization != 0,
        speaker_number: s.speaker_number,
        filter_dirty: s.filter_dirty,
        filter_modal: s.filter_modal,
        convert_num_mode: s.convert_num_mode,
        filter_punc: s.filter_punc,
    }
}

/// The result a task gets from a fixture's recording: exact for the recorded settings,
/// shaped from the recorded words for others.
pub fn replay(
    recording: &IcuRecording,
    seed: u64,
    audio_sha256: &[u8; 32],
    engine: Engine,
    res_text_format: u8,
    options: &SubmitOptions,
) -> Rendered {
    if settings(engine, res_text_format, options) == recording.settings {
        return exact(recording);
    }
    let heard = recorded_transcript(recording);
    recipe::shape(&heard, seed, audio_sha256, engine, res_text_format, options)
}

/// The recording rendered with its own settings, speakers as recorded.
fn exact(recording: &IcuRecording) -> Rendered {
    let s = &recording.settings;
    result::render(
        &recorded_transcript(recording),
        RenderOptions {
            res_text_format: s.res_text_format,
            show_speaker: recipe::speaker_mode(s.engine, &options_of(s)).shows_speaker(),
        },
    )
}

/// The recording of an answer: `result` is the `Result` string (`[m:s.mmm,m:s.mmm]  text` or
/// `[m:s.mmm,m:s.mmm,speaker]  text` lines) and `detail` the `ResultDetail` array (empty, or
/// one entry per line; word offsets are from the sentence start and become absolute).
/// Malformed input, or a recording a fixture could not hold, is refused with the reason.
pub fn recording_from_answer(
    settings: IcuSettings,
    result: &str,
    detail: &[SentenceDetail],
) -> Result<IcuRecording, String> {
    let lines: Vec<&str> = result
        .strip_suffix('\n')
        .unwrap_or(result)
        .split('\n')
        .collect();
    let lines = if result.is_empty() { Vec::new() } else { lines };
    if !detail.is_empty() && detail.len() != lines.len() {
        return Err(format!(
            "ResultDetail has {} entries for {} Result lines; it needs one per line",
            detail.len(),
            lines.len()
        ));
    }
    let mut sentences = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let (start_ms, end_ms, speaker, text) =
            parse_line(line).map_err(|e| format!("Result line {}: {e}", i + 1))?;
        let mut sentence = RecordedSentence {
            start_ms,
            end_ms,
            text: text.to_string(),
            speaker,
            words: None,
        };
        if let Some(d) = detail.get(i) {
            let at = |field: &str| format!("ResultDetail[{i}].{field}");
            if (d.start_ms, d.end_ms) != (start_ms, end_ms) {
                return Err(format!(
                    "{}/EndMs {}–{} differ from Result line {}'s {}–{}",
                    at("StartMs"),
                    d.start_ms,
                    d.end_ms,
                    i + 1,
                    start_ms,
                    end_ms
                ));
            }
            match (speaker, d.speaker_id) {
                (Some(a), Some(b)) if a != b => {
                    return Err(format!(
                        "{} {b} differs from Result line {}'s speaker {a}",
                        at("SpeakerId"),
                        i + 1
                    ))
                }
                (None, Some(b)) => sentence.speaker = Some(b),
                _ => {}
            }
            let mut words = Vec::with_capacity(d.words.len());
            for (j, w) in d.words.iter().enumerate() {
                let abs = |offset: u64| {
                    start_ms.checked_add(offset).ok_or_else(|| {
                        format!("{}: offset {offset} overflows", at(&format!("Words[{j}]")))
                    })
                };
                words.push(RecordedWord {
                    text: w.word.clone(),
                    start_ms: abs(w.offset_start_ms)?,
                    end_ms: abs(w.offset_end_ms)?,
                });
            }
            sentence.words = Some(words);
        }
        sentences.push(sentence);
    }
    let fixture = Fixture {
        text: String::new(),
        sentences: None,
        icu: Some(IcuRecording {
            settings,
            sentences,
        }),
    };
    fixture.validate().map_err(|e| e.to_string())?;
    fixture
        .icu
        .ok_or_else(|| "the recording went missing".to_string())
}

/// One `Result` line: start, end, speaker and text.
fn parse_line(line: &str) -> Result<(u64, u64, Option<u32>, &str), String> {
    let rest = line
        .strip_prefix('[')
        .ok_or_else(|| format!("does not start with `[`: {line:?}"))?;
    let (inside, text) = rest
        .split_once(']')
        .ok_or_else(|| format!("has no `]`: {line:?}"))?;
    let text = text
        .strip_prefix("  ")
        .or_else(|| text.strip_prefix(' '))
        .ok_or_else(|| format!("has no space after `]`: {line:?}"))?;
    let mut fields = inside.split(',');
    let start = parse_time(fields.next().unwrap_or(""))?;
    let end = parse_time(fields.next().ok_or("has no end time")?)?;
    let speaker = fields
        .next()
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("speaker {s:?} is not a number"))
        })
        .transpose()?;
    if fields.next().is_some() {
        return Err(format!("has more than three fields in brackets: {line:?}"));
    }
    Ok((start, end, speaker, text))
}

/// `m:s.mmm` (minutes may pass 60) to ms.
fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || format!("time {s:?} is not m:s.mmm");
    let (m, rest) = s.split_once(':').ok_or_else(bad)?;
    let (sec, ms) = rest.split_once('.').ok_or_else(bad)?;
    let digits = |d: &str, max_len: usize| {
        (!d.is_empty() && d.len() <= max_len && d.bytes().all(|b| b.is_ascii_digit()))
            .then(|| d.parse::<u64>().ok())
            .flatten()
    };
    let (m, sec, ms) = (
        digits(m, 9).ok_or_else(bad)?,
        digits(sec, 2).ok_or_else(bad)?,
        digits(ms, 3).filter(|_| ms.len() == 3).ok_or_else(bad)?,
    );
    if sec >= 60 {
        return Err(bad());
    }
    Ok(m * 60_000 + sec * 1_000 + ms)
}

/// Whether replaying `recording` with its own settings gives `result` and `detail` again;
/// `Err` names the first field that differs.
pub fn renders_back(
    recording: &IcuRecording,
    result: &str,
    detail: &[SentenceDetail],
) -> Result<(), String> {
    let again = exact(recording);
    if again.result != result {
        let mut ours = again.result.split('\n');
        for (i, theirs) in result.split('\n').enumerate() {
            let mine = ours.next().unwrap_or("");
            if mine != theirs {
                return Err(format!(
                    "Result line {}: recorded {theirs:?}, replayed {mine:?}",
                    i + 1
                ));
            }
        }
        return Err(format!(
            "Result: replay has more lines than the {} recorded",
            result.lines().count()
        ));
    }
    if again.detail.len() != detail.len() {
        return Err(format!(
            "ResultDetail: recorded {} entries, replayed {}",
            detail.len(),
            again.detail.len()
        ));
    }
    for (i, (theirs, mine)) in detail.iter().zip(&again.detail).enumerate() {
        let differ = |field: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
            Err(format!(
                "ResultDetail[{i}].{field}: recorded {a:?}, replayed {b:?}"
            ))
        };
        if theirs.final_sentence != mine.final_sentence {
            return differ(
                "FinalSentence",
                &theirs.final_sentence,
                &mine.final_sentence,
            );
        }
        if theirs.slice_sentence != mine.slice_sentence {
            return differ(
                "SliceSentence",
                &theirs.slice_sentence,
                &mine.slice_sentence,
            );
        }
        if theirs.start_ms != mine.start_ms {
            return differ("StartMs", &theirs.start_ms, &mine.start_ms);
        }
        if theirs.end_ms != mine.end_ms {
            return differ("EndMs", &theirs.end_ms, &mine.end_ms);
        }
        if theirs.words_num != mine.words_num {
            return differ("WordsNum", &theirs.words_num, &mine.words_num);
        }
        if theirs.words.len() != mine.words.len() {
            return differ("Words", &theirs.words.len(), &mine.words.len());
        }
        for (j, (a, b)) in theirs.words.iter().zip(&mine.words).enumerate() {
            if a != b {
                return differ(&format!("Words[{j}]"), a, b);
            }
        }
        if theirs.speech_speed.to_bits() != mine.speech_speed.to_bits() {
            return differ("SpeechSpeed", &theirs.speech_speed, &mine.speech_speed);
        }
        if theirs.speaker_id != mine.speaker_id {
            return differ("SpeakerId", &theirs.speaker_id, &mine.speaker_id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
