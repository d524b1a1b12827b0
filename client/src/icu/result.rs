//! A task's state as `searchResult` reports it, the sentence details, and the `Result` text
//! (`[m:s.mmm,m:s.mmm(,speaker)]  text\n` lines) as typed segments.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Where a task is: it moves only forward, waiting → doing → success or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `0` / `waiting`: queued.
    Waiting,
    /// `1` / `doing`: being recognised.
    Doing,
    /// `2` / `success`: `Result` holds the text.
    Success,
    /// `3` / `failed`: `ErrorMsg` says why.
    Failed,
}

impl Status {
    /// The numeric `Status`.
    pub fn code(self) -> u8 {
        match self {
            Status::Waiting => 0,
            Status::Doing => 1,
            Status::Success => 2,
            Status::Failed => 3,
        }
    }

    /// From the numeric `Status`.
    pub fn from_code(code: i64) -> Option<Status> {
        match code {
            0 => Some(Status::Waiting),
            1 => Some(Status::Doing),
            2 => Some(Status::Success),
            3 => Some(Status::Failed),
            _ => None,
        }
    }

    /// The `StatusStr` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Doing => "doing",
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }

    /// From the `StatusStr` text.
    pub fn from_name(s: &str) -> Option<Status> {
        [
            Status::Waiting,
            Status::Doing,
            Status::Success,
            Status::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Success or failed: polling can stop.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Success | Status::Failed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `searchResult` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    /// `TaskId` (uint64; may be above 2^53).
    pub task_id: u64,
    /// `Status`.
    pub status: Status,
    /// `StatusStr` as sent (the status's name when the provider left it out).
    pub status_str: String,
    /// `ErrorMsg`: why it failed; `""` otherwise.
    pub error_msg: String,
    /// `Result`: the text lines; `""` until success. See [`parse_result`].
    pub result: String,
    /// `ResultDetail`: one entry per sentence for ResTextFormat 1 and 2; empty otherwise.
    pub result_detail: Vec<SentenceDetail>,
}

impl TaskStatus {
    /// `result` as segments.
    pub fn segments(&self) -> Result<Vec<Segment>, ParseError> {
        parse_result(&self.result)
    }
}

/// One sentence of `ResultDetail` (Tencent's SentenceDetail). Tencent says any field may be
/// null, so null and missing fields read as empty/zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentenceDetail {
    /// The sentence (without punctuation in format 1, with it in format 2).
    #[serde(rename = "FinalSentence", default, deserialize_with = "nullable")]
    pub final_sentence: String,
    /// The words joined by single spaces.
    #[serde(rename = "SliceSentence", default, deserialize_with = "nullable")]
    pub slice_sentence: String,
    /// Sentence start, ms from the audio start.
    #[serde(rename = "StartMs", default, deserialize_with = "nullable")]
    pub start_ms: u64,
    /// Sentence end, ms from the audio start.
    #[serde(rename = "EndMs", default, deserialize_with = "nullable")]
    pub end_ms: u64,
    /// Number of words.
    #[serde(rename = "WordsNum", default, deserialize_with = "nullable")]
    pub words_num: u32,
    /// The words, with offsets within the sentence.
    #[serde(rename = "Words", default, deserialize_with = "nullable")]
    pub words: Vec<SentenceWords>,
    /// Characters per second.
    #[serde(rename = "SpeechSpeed", default, deserialize_with = "nullable")]
    pub speech_speed: f64,
    /// Speaker (diarization) or channel (8k stereo: 0 left, 1 right); absent otherwise.
    #[serde(rename = "SpeakerId", default, skip_serializing_if = "Option::is_none")]
    pub speaker_id: Option<u32>,
}

/// One word of a [`SentenceDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SentenceWords {
    /// The word.
    #[serde(rename = "Word", default, deserialize_with = "nullable")]
    pub word: String,
    /// Start, ms from the sentence start.
    #[serde(rename = "OffsetStartMs", default, deserialize_with = "nullable")]
    pub offset_start_ms: u64,
    /// End, ms from the sentence start.
    #[serde(rename = "OffsetEndMs", default, deserialize_with = "nullable")]
    pub offset_end_ms: u64,
}

/// `null` reads as the type's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One line of the `Result` text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Start, ms from the audio start.
    pub start_ms: u64,
    /// End, ms from the audio start.
    pub end_ms: u64,
    /// The third bracket field, with diarization or 8k stereo.
    pub speaker: Option<u32>,
    /// The text after the two spaces.
    pub text: String,
}

/// A `Result` line that is not `[m:s.mmm,m:s.mmm(,speaker)]  text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Result line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses the `Result` text. Lines end in `\n` (the last one may lack it; blank lines are
/// skipped); minutes keep counting past 60; seconds may be unpadded; milliseconds are
/// exactly 3 digits. The two spaces before the text are taken off (one, if only one is
/// there). Never panics.
pub fn parse_result(text: &str) -> Result<Vec<Segment>, ParseError> {
    text.split('\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            parse_line(line).map_err(|reason| ParseError {
                line: i + 1,
                reason,
            })
        })
        .collect()
}

/// Formats segments as the provider does: the exact inverse of [`parse_result`] for
/// segments whose text has no `\n`.
pub fn format_result(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        out.push('[');
        push_time(&mut out, s.start_ms);
        out.push(',');
        push_time(&mut out, s.end_ms);
        if let Some(speaker) = s.speaker {
            out.push(',');
            out.push_str(&speaker.to_string());
        }
        out.push_str("]  ");
        out.push_str(&s.text);
        out.push('\n');
    }
    out
}

fn push_time(out: &mut String, ms: u64) {
    out.push_str(&format!(
        "{}:{}.{:03}",
        ms / 60_000,
        (ms / 1000) % 60,
        ms % 1000
    ));
}

fn parse_line(line: &str) -> Result<Segment, String> {
    let rest = line
        .strip_prefix('[')
        .ok_or_else(|| format!("must start with '[', got {}", show(line)))?;
    let (head, tail) = rest
        .split_once(']')
        .ok_or_else(|| format!("has no closing ']': {}", show(line)))?;
    let text = tail
        .strip_prefix("  ")
        .or_else(|| tail.strip_prefix(' '))
        .unwrap_or(tail);
    let mut fields = head.split(',').map(str::trim);
    let start_ms = parse_time(fields.next().unwrap_or_default())?;
    let end_ms = parse_time(
        fields
            .next()
            .ok_or_else(|| format!("needs a start and an end time: {}", show(line)))?,
    )?;
    let speaker = match fields.next() {
        None => None,
        Some(s) => Some(
            digits(s)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("speaker must be a small integer, got {}", show(s)))?,
        ),
    };
    if fields.next().is_some() {
        return Err(format!("has more than three fields: {}", show(line)));
    }
    Ok(Segment {
        start_ms,
        end_ms,
        speaker,
        text: text.to_owned(),
    })
}

/// `m:s.mmm` as milliseconds.
fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || format!("time must look like m:s.mmm, got {}", show(s));
    let (m, rest) = s.split_once(':').ok_or_else(bad)?;
    let (sec, ms) = rest.split_once('.').ok_or_else(bad)?;
    if ms.len() != 3 {
        return Err(bad());
    }
    let (m, sec, ms) = (
        digits(m).ok_or_else(bad)?,
        digits(sec).ok_or_else(bad)?,
        digits(ms).ok_or_else(bad)?,
    );
    m.checked_mul(60_000)
        .and_then(|t| t.checked_add(sec.checked_mul(1000)?))
        .and_then(|t| t.checked_add(ms))
        .ok_or_else(|| format!("time is too large: {}", show(s)))
}

/// ASCII digits only (`u64::from_str` would take a `+`).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A piece of input for a message, quoted and cut short.
fn show(s: &str) -> String {
    match s.char_indices().nth(80) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_example() {
        let text = "[0:1.640,0:2.460]  哈喽。\n[0:2.760,0:3.680]  喂。\n[61:5.120,61:19.712,3]  好，下一个。\n";
        let segs = parse_result(text).unwrap_or_default();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].start_ms, 1640);
        assert_eq!(segs[0].text, "哈喽。");
        assert_eq!(segs[2].start_ms, 61 * 60_000 + 5120);
        assert_eq!(segs[2].end_ms, 61 * 60_000 + 19_712);
        assert_eq!(segs[2].speaker, Some(3));
        assert_eq!(format_result(&segs), text);
    }

    #[test]
    fn bad_lines_name_the_line() {
        for (text, line) in [
            ("x\n", 1),
            ("[0:1.000,0:2.000]  a\n[0:1.00,0:2.000]  b\n", 2),
            ("[0:1.000]  a", 1),
            ("[0:1.000,0:2.000,1,2]  a", 1),
            ("[0:1.000,0:2.000,-1]  a", 1),
            ("[0:+1.000,0:2.000]  a", 1),
            ("[0:1.000,0:2.000  a", 1),
            ("[99999999999999999999:1.000,0:2.000]  a", 1),
            ("[307445734561825860:15.000,0:2.000]  a", 1),
        ] {
            assert_eq!(
                parse_result(text).err().map(|e| e.line),
                Some(line),
                "{text}"
            );
        }
        assert_eq!(parse_result(""), Ok(vec![]));
    }
}
