//! Registered transcripts by audio SHA-256: loaded from a folder of TOML files at start-up or
//! registered through the control API, and turned into a [`Transcript`] for a request.
//!
//! A fixture file:
//! ```toml
//! # name the audio by its hash …
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! # … or by a file next to this one, hashed at load: audio = "calls/hello.wav"
//! text = "哈喽。喂。"
//!
//! [[sentences]]              # optional: exact sentence timings
//! start_ms = 1640
//! end_ms = 2460
//! text = "哈喽。"
//! speaker = 0                # optional
//!
//! [[sentences]]
//! start_ms = 2760
//! end_ms = 3680
//! text = "喂。"
//! ```
//!
//! Rules: exactly one of `sha256` and `audio`; `text` at most 1 MiB; sentences non-empty,
//! without surrounding spaces, in time order without overlap, each ending after it starts and
//! within 5 h; and `text` must be the sentences' texts in order, joined by nothing or by one
//! space, so every provider shows the same words. Sentence times are used as written (not
//! clamped to the audio's duration): the fixture's author decides.
//!
//! Bounds: at most [`MAX_DIR_FIXTURES`] from folders (more is a load error) and
//! [`MAX_API_FIXTURES`] from the control API (registering more evicts the oldest API one).
//! An API fixture for the same audio as a folder one shadows it until the next reset.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::lexicon::lexicon;
use super::split::{self, RawWord};
use super::timing::{clean_spans, spread, whole_span};
use super::{GenerateInput, Language, Sentence, Transcript, Word};

/// Most fixtures loaded from folders; more is an error at load.
pub const MAX_DIR_FIXTURES: usize = 10_000;
/// Most fixtures registered through the control API; the oldest is evicted beyond it.
pub const MAX_API_FIXTURES: usize = 10_000;
/// Longest fixture text, in bytes (a 5 h recording transcribes to a few hundred KB).
const MAX_TEXT_BYTES: usize = 1 << 20;
/// Largest fixture file read from disk.
const MAX_FILE_BYTES: u64 = 4 << 20;
/// Most sentences in one fixture.
const MAX_SENTENCES: usize = 100_000;
/// Latest sentence end accepted: the providers' longest audio, 5 h.
const MAX_SENTENCE_END_MS: u64 = 5 * 3_600_000;
/// Silence assumed before and after speech when a text-only fixture has no speech spans.
const LEAD_MS: u64 = 200;
/// Pause between two sentences of a text-only fixture, in natural-duration ms.
const SENTENCE_PAUSE_MS: u64 = 400;

/// A transcript registered for one audio file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    /// The whole text, returned to the letter by [`Transcript::text`].
    pub text: String,
    /// Exact sentence timings; without them the text is cut into sentences at final
    /// punctuation and spread over the audio's speech.
    #[serde(default)]
    pub sentences: Option<Vec<FixtureSentence>>,
}

/// One timed sentence of a fixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureSentence {
    /// Start, in ms from the start of the audio.
    pub start_ms: u64,
    /// End, in ms from the start of the audio; after `start_ms`.
    pub end_ms: u64,
    /// The sentence as written, punctuation included.
    pub text: String,
    /// Who speaks it, shown when diarization is asked for.
    #[serde(default)]
    pub speaker: Option<u32>,
}

/// Where a fixture came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixtureSource {
    /// A TOML file in the fixtures folder.
    Dir(PathBuf),
    /// The control API; dropped by a reset.
    Api,
}

impl fmt::Display for FixtureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixtureSource::Dir(path) => write!(f, "{}", path.display()),
            FixtureSource::Api => f.write_str("api"),
        }
    }
}

/// Why fixtures could not be loaded or registered.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A folder or file that cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A broken fixture file: bad TOML or a rule broken.
    #[error("{}:{line}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or table.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A fixture from the control API that breaks a rule.
    #[error("invalid fixture: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A folder with more fixtures than the store holds.
    #[error("{}: more than {limit} fixtures", path.display())]
    TooMany {
        /// The folder.
        path: PathBuf,
        /// [`MAX_DIR_FIXTURES`].
        limit: usize,
    },
}

impl Fixture {
    /// Checks the rules in the module docs; [`FixtureStore::register`] does it too.
    pub fn validate(&self) -> Result<(), FixtureError> {
        check(self).map_err(|invalid| FixtureError::Invalid {
            reason: invalid.reason,
        })
    }
}

/// The fixtures, thread-safe; share it with `Arc`.
#[derive(Debug, Default)]
pub struct FixtureStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Loaded from folders, with their file.
    dir: HashMap<[u8; 32], (Fixture, PathBuf)>,
    /// Registered through the API, with their registration number.
    api: HashMap<[u8; 32], (u64, Fixture)>,
    /// Registration number → hash, oldest first, for eviction.
    api_order: BTreeMap<u64, [u8; 32]>,
    /// Next registration number.
    next_seq: u64,
}

impl FixtureStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `*.toml` file directly in `dir` (not in subfolders), in name order, and
    /// returns how many were loaded. All or nothing: on any error nothing is added, and the
    /// error names the file, the line and the reason. A file for audio already loaded from a
    /// folder replaces it.
    pub fn load_dir(&self, dir: &Path) -> Result<usize, FixtureError> {
        let io_err = |source| FixtureError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err)? {
            let path = entry.map_err(io_err)?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                files.push(path);
            }
            if files.len() > MAX_DIR_FIXTURES {
                return Err(FixtureError::TooMany {
                    path: dir.to_path_buf(),
                    limit: MAX_DIR_FIXTURES,
                });
            }
        }
        files.sort();
        let mut loaded: Vec<([u8; 32], Fixture, PathBuf)> = Vec::with_capacity(files.len());
        let mut seen: HashMap<[u8; 32], PathBuf> = HashMap::new();
        for path in files {
            let (sha, fixture, line) = parse_file(&path)?;
            if let Some(other) = seen.insert(sha, path.clone()) {
                return Err(FixtureError::File {
                    path,
                    line,
                    reason: format!(
                        "the same audio (sha256 {}) is already described by {}",
                        hex::encode(sha),
                        other.display()
                    ),
                });
            }
            loaded.push((sha, fixture, path));
        }
        let mut inner = self.inner.write();
        let added = loaded
            .iter()
            .filter(|(sha, _, _)| !inner.dir.contains_key(sha))
            .count();
        if inner.dir.len() + added > MAX_DIR_FIXTURES {
            return Err(FixtureError::TooMany {
                path: dir.to_path_buf(),
                limit: MAX_DIR_FIXTURES,
            });
        }
        let count = loaded.len();
        for (sha, fixture, path) in loaded {
            inner.dir.insert(sha, (fixture, path));
        }
        Ok(count)
    }

    /// Registers a fixture from the control API after checking it; replaces an earlier API
    /// fixture for the same audio, and evicts the oldest API fixture beyond
    /// [`MAX_API_FIXTURES`].
    pub fn register(&self, sha256: [u8; 32], fixture: Fixture) -> Result<(), FixtureError> {
        fixture.validate()?;
        let mut guard = self.inner.write();
        let inner = &mut *guard;
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if let Some((old, _)) = inner.api.insert(sha256, (seq, fixture)) {
            inner.api_order.remove(&old);
        }
        inner.api_order.insert(seq, sha256);
        while inner.api.len() > MAX_API_FIXTURES {
            match inner.api_order.pop_first() {
                Some((_, oldest)) => {
                    inner.api.remove(&oldest);
                }
                None => break,
            }
        }
        Ok(())
    }

    /// The fixture for this audio: an API one first, else one from a folder.
    pub fn get(&self, sha256: &[u8; 32]) -> Option<Fixture> {
        let inner = self.inner.read();
        inner
            .api
            .get(sha256)
            .map(|(_, f)| f.clone())
            .or_else(|| inner.dir.get(sha256).map(|(f, _)| f.clone()))
    }

    /// Every fixture with its hex hash and source: folder ones by hash, then API ones oldest
    /// first (a folder fixture shadowed by an API one is listed too).
    pub fn list(&self) -> Vec<(String, Fixture, FixtureSource)> {
        let inner = self.inner.read();
        let mut dir: Vec<(String, Fixture, FixtureSource)> = inner
            .dir
            .iter()
            .map(|(sha, (f, path))| {
                (
                    hex::encode(sha),
                    f.clone(),
                    FixtureSource::Dir(path.clone()),
                )
            })
            .collect();
        dir.sort_by(|a, b| a.0.cmp(&b.0));
        let api = inner.api_order.values().filter_map(|sha| {
            inner
                .api
                .get(sha)
                .map(|(_, f)| (hex::encode(sha), f.clone(), FixtureSource::Api))
        });
        dir.into_iter().chain(api).collect()
    }

    /// Drops the API fixtures (a reset); folder ones stay.
    pub fn clear_api(&self) {
        let mut inner = self.inner.write();
        inner.api.clear();
        inner.api_order.clear();
    }

    /// How many fixtures are held, folder and API ones together.
    pub fn len(&self) -> usize {
        let inner = self.inner.read();
        inner.dir.len() + inner.api.len()
    }

    /// Whether no fixture is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A fixture file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    sha256: Option<Spanned<String>>,
    audio: Option<Spanned<String>>,
    text: Spanned<String>,
    #[serde(default)]
    sentences: Option<Vec<Spanned<RawSentence>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSentence {
    start_ms: u64,
    end_ms: u64,
    text: String,
    #[serde(default)]
    speaker: Option<u32>,
}

/// Reads and checks one fixture file; returns the audio hash, the fixture and the line that
/// names the audio.
fn parse_file(path: &Path) -> Result<([u8; 32], Fixture, usize), FixtureError> {
    let io_err = |source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_err = |line: usize, reason: String| FixtureError::File {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let size = fs::metadata(path).map_err(io_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(file_err(
            1,
            format!("the file is {size} bytes; a fixture file may have at most {MAX_FILE_BYTES}"),
        ));
    }
    let src = fs::read_to_string(path).map_err(io_err)?;
    let raw: RawFile = toml::from_str(&src).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        file_err(line_of(&src, at), e.message().to_string())
    })?;
    let line = |span: std::ops::Range<usize>| line_of(&src, span.start);

    let (sha, sha_line) = match (&raw.sha256, &raw.audio) {
        (Some(_), Some(audio)) => {
            return Err(file_err(
                line(audio.span()),
                "give either `sha256` or `audio`, not both".to_string(),
            ))
        }
        (None, None) => {
            return Err(file_err(
                1,
                "missing `sha256` or `audio`: name the audio by its SHA-256 (64 hex digits) \
                 or by the path of the audio file"
                    .to_string(),
            ))
        }
        (Some(hex_sha), None) => {
            let at = line(hex_sha.span());
            (
                parse_sha(hex_sha.get_ref()).map_err(|r| file_err(at, r))?,
                at,
            )
        }
        (None, Some(audio)) => {
            let at = line(audio.span());
            let base = path.parent().unwrap_or(Path::new("."));
            let audio_path = base.join(audio.get_ref());
            let sha = hash_file(&audio_path).map_err(|e| {
                file_err(
                    at,
                    format!("cannot read audio file {}: {e}", audio_path.display()),
                )
            })?;
            (sha, at)
        }
    };
    let fixture = Fixture {
        text: raw.text.get_ref().clone(),
        sentences: raw.sentences.as_ref().map(|list| {
            list.iter()
                .map(|s| {
                    let s = s.get_ref().clone();
                    FixtureSentence {
                        start_ms: s.start_ms,
                        end_ms: s.end_ms,
                        text: s.text,
                        speaker: s.speaker,
                    }
                })
                .collect()
        }),
    };
    check(&fixture).map_err(|invalid| {
        let text_line = line(raw.text.span());
        let at = match invalid.at {
            Where::Text => text_line,
            Where::Sentence(i) => raw
                .sentences
                .as_ref()
                .and_then(|list| list.get(i))
                .map_or(text_line, |s| line(s.span())),
        };
        file_err(at, invalid.reason)
    })?;
    Ok((sha, fixture, sha_line))
}

/// 1-based line of byte offset `at`.
fn line_of(src: &str, at: usize) -> usize {
    let end = at.min(src.len());
    1 + src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn parse_sha(s: &str) -> Result<[u8; 32], String> {
    let n = s.chars().count();
    if n != 64 {
        return Err(format!(
            "`sha256` must be 64 hex digits, got {n} characters"
        ));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("`sha256` contains {c:?}, which is not a hex digit"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("`sha256`: {e}"))?;
    Ok(out)
}

/// SHA-256 of a file, streamed so large audio does not sit in memory.
fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().into())
}

/// Which part of a fixture breaks a rule, so file errors can point at its line.
#[derive(Debug)]
enum Where {
    Text,
    Sentence(usize),
}

#[derive(Debug)]
struct Invalid {
    at: Where,
    reason: String,
}

/// The rules of the module docs.
fn check(f: &Fixture) -> Result<(), Invalid> {
    let text_err = |reason: String| Invalid {
        at: Where::Text,
        reason,
    };
    if f.text.len() > MAX_TEXT_BYTES {
        return Err(text_err(format!(
            "`text` is {} bytes; at most {MAX_TEXT_BYTES} are allowed",
            f.text.len()
        )));
    }
    let Some(sentences) = f.sentences.as_deref() else {
        return Ok(());
    };
    if sentences.len() > MAX_SENTENCES {
        return Err(Invalid {
            at: Where::Sentence(MAX_SENTENCES),
            reason: format!("more than {MAX_SENTENCES} sentences"),
        });
    }
    let mut prev_end = 0u64;
    for (i, s) in sentences.iter().enumerate() {
        let err = |reason: String| Invalid {
            at: Where::Sentence(i),
            reason: format!("sentence #{}: {reason}", i + 1),
        };
        if s.text.trim().is_empty() {
            return Err(err("`text` is empty".to_string()));
        }
        if s.text.trim() != s.text {
            return Err(err("`text` must not start or end with spaces".to_string()));
        }
        if s.end_ms <= s.start_ms {
            return Err(err(format!(
                "`end_ms` ({}) must be after `start_ms` ({})",
                s.end_ms, s.start_ms
            )));
        }
        if s.end_ms > MAX_SENTENCE_END_MS {
            return Err(err(format!(
                "`end_ms` ({}) is beyond 5 hours ({MAX_SENTENCE_END_MS} ms)",
                s.end_ms
            )));
        }
        if i > 0 && s.start_ms < prev_end {
            return Err(err(format!(
                "starts at {} ms, before the previous sentence ends ({prev_end} ms); sentences \
                 must be in time order without overlap",
                s.start_ms
            )));
        }
        prev_end = s.end_ms;
    }
    match match_gaps(&f.text, sentences) {
        Ok(_) => Ok(()),
        Err(i) if i < sentences.len() => Err(Invalid {
            at: Where::Sentence(i),
            reason: format!(
                "sentence #{}: its text does not continue `text`; `text` must be the sentences' \
                 texts in order, joined by nothing or by one space",
                i + 1
            ),
        }),
        Err(_) => Err(text_err(
            "`text` goes on after the last sentence; it must be the sentences' texts in \
             order, joined by nothing or by one space"
                .to_string(),
        )),
    }
}

/// How the sentences' texts join into `text`: for each boundary, whether one space sits
/// between them. `Err(i)` names the first sentence that does not continue `text`
/// (`sentences.len()` when `text` goes on after the last one).
fn match_gaps(text: &str, sentences: &[FixtureSentence]) -> Result<Vec<bool>, usize> {
    let mut rest = text;
    let mut gaps = Vec::with_capacity(sentences.len().saturating_sub(1));
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            if rest.starts_with(s.text.as_str()) {
                gaps.push(false);
            } else if let Some(after) = rest.strip_prefix(' ').filter(|r| r.starts_with(&s.text)) {
                gaps.push(true);
                rest = after;
            } else {
                return Err(i);
            }
        } else if !rest.starts_with(s.text.as_str()) {
            return Err(0);
        }
        rest = rest.get(s.text.len()..).unwrap_or("");
    }
    if rest.is_empty() {
        Ok(gaps)
    } else {
        Err(sentences.len())
    }
}

/// The transcript a fixture gives for a request: its own sentence timings when it has valid
/// ones, else its text spread over the speech. Either way `text()` gives `fixture.text` back.
pub(crate) fn to_transcript(fixture: &Fixture, input: &GenerateInput<'_>) -> Transcript {
    if let Some(sentences) = fixture.sentences.as_deref().filter(|s| !s.is_empty()) {
        if let Some(t) = from_timed(&fixture.text, sentences, input.language) {
            return t;
        }
    }
    from_text(&fixture.text, input)
}

/// Uses the fixture's sentence timings. Where the fixture's spacing between two sentences
/// differs from the language's sentence separator, the space moves into the punctuation of
/// the sentence before, or the two sentences become one, so the text stays exact.
fn from_timed(text: &str, sentences: &[FixtureSentence], lang: Language) -> Option<Transcript> {
    if sentences.iter().any(|s| s.text.is_empty()) {
        return None;
    }
    let gaps = match_gaps(text, sentences).ok()?;
    let sep_is_space = lang.sentence_separator() == " ";
    let mut out: Vec<Sentence> = Vec::with_capacity(sentences.len());
    for (i, fs) in sentences.iter().enumerate() {
        let end = fs.end_ms.max(fs.start_ms);
        let sentence = timed_sentence(&fs.text, fs.start_ms, end, fs.speaker, lang);
        let gap_is_space = i > 0 && gaps.get(i - 1).copied().unwrap_or(false);
        if i == 0 || gap_is_space == sep_is_space {
            out.push(sentence);
        } else if gap_is_space {
            if let Some(last) = out.last_mut().and_then(|prev| prev.words.last_mut()) {
                last.punct_after.get_or_insert_with(String::new).push(' ');
            }
            out.push(sentence);
        } else if let Some(prev) = out.last_mut() {
            merge(prev, sentence, lang);
        }
    }
    let t = Transcript {
        language: lang,
        sentences: out,
    };
    (t.text() == text).then_some(t)
}

/// Appends `next` to `prev` with nothing between them.
fn merge(prev: &mut Sentence, next: Sentence, lang: Language) {
    let mut words = next.words.into_iter();
    if lang.separator() == " " {
        // The join would put a space between the two boundary words: make them one word.
        if let (Some(last), Some(first)) = (prev.words.last_mut(), words.next()) {
            last.text
                .push_str(last.punct_after.as_deref().unwrap_or(""));
            last.text.push_str(&first.text);
            last.punct_after = first.punct_after;
            last.end_ms = first.end_ms.max(last.start_ms);
            last.kind = super::WordKind::Plain;
        }
    }
    prev.words.extend(words);
    prev.end_ms = prev
        .words
        .last()
        .map_or(prev.end_ms, |w| w.end_ms)
        .max(prev.start_ms);
}

/// Cuts the text into sentences and spreads them over the speech spans in proportion to
/// their length: each sentence goes to the span holding its middle on the speech timeline,
/// so none straddles a silence, and lasts at most 1.3 times its natural duration.
fn from_text(text: &str, input: &GenerateInput<'_>) -> Transcript {
    let lang = input.language;
    let lex = lexicon(lang);
    let pieces = split::sentences(text, lang);
    let mut spans = input
        .voiced
        .map(|v| clean_spans(v, input.duration_ms))
        .unwrap_or_default();
    if spans.is_empty() {
        spans.push(whole_span(input.duration_ms, LEAD_MS));
    }
    // Natural duration of each sentence at the language's pace, in ms.
    let natural: Vec<u64> = pieces
        .iter()
        .map(|p| {
            let units = if lex.counts_words {
                p.split_whitespace().count()
            } else {
                p.chars().filter(|c| !c.is_whitespace()).count()
            } as u64;
            (units * 10_000 / lex.units_per_10s.max(1)).max(1)
        })
        .collect();
    let speech: u128 = spans.iter().map(|&(a, b)| u128::from(b - a)).sum();
    let weight: u128 = natural.iter().map(|&n| u128::from(n)).sum::<u128>().max(1);

    // Span index for each sentence (never decreasing).
    let mut span_of = Vec::with_capacity(pieces.len());
    let mut span = 0usize;
    let mut span_end = spans.first().map_or(0, |&(a, b)| u128::from(b - a));
    let mut cum: u128 = 0;
    for &n in &natural {
        let mid = speech * (2 * cum + u128::from(n)) / (2 * weight);
        while span + 1 < spans.len() && mid >= span_end {
            span += 1;
            span_end += spans.get(span).map_or(0, |&(a, b)| u128::from(b - a));
        }
        span_of.push(span);
        cum += u128::from(n);
    }

    let mut sentences = Vec::with_capacity(pieces.len());
    let mut i = 0usize;
    while i < pieces.len() {
        let s = span_of[i];
        let j = i + span_of[i..].iter().take_while(|&&x| x == s).count();
        let (a, b) = spans.get(s).copied().unwrap_or((0, 0));
        let items: Vec<(u64, u64)> = natural[i..j]
            .iter()
            .map(|&n| (n, SENTENCE_PAUSE_MS))
            .collect();
        for (k, (start, end)) in spread(a, b, &items).into_iter().enumerate() {
            // A sentence is said at a natural pace at the start of its share, not drawled
            // over a long stretch of speech.
            let said = natural[i + k].saturating_mul(13) / 10;
            let end = end.min(start.saturating_add(said));
            sentences.push(timed_sentence(pieces[i + k], start, end, None, lang));
        }
        i = j;
    }
    Transcript {
        language: lang,
        sentences,
    }
}

/// One sentence of fixture text with its words spread over `[start, end]` by length.
fn timed_sentence(
    text: &str,
    start: u64,
    end: u64,
    speaker: Option<u32>,
    lang: Language,
) -> Sentence {
    let raw: Vec<RawWord> = split::words(text, lang);
    let (extra, pause) = if lang.separator() == " " {
        (2, 4)
    } else {
        (0, 2)
    };
    let items: Vec<(u64, u64)> = raw
        .iter()
        .map(|w| {
            let weight = (w.text.chars().count() as u64 + extra).max(1);
            (weight, if w.punct.is_empty() { 0 } else { pause })
        })
        .collect();
    let words: Vec<Word> = raw
        .into_iter()
        .zip(spread(start, end, &items))
        .map(|(w, (s, e))| Word {
            text: w.text,
            start_ms: s,
            end_ms: e,
            kind: w.kind,
            punct_after: (!w.punct.is_empty()).then_some(w.punct),
        })
        .collect();
    Sentence {
        start_ms: words.first().map_or(start, |w| w.start_ms),
        end_ms: words.last().map_or(end, |w| w.end_ms),
        words,
        speaker,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh folder under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "asr-mock-fixtures-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn write(&self, name: &str, content: &str) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, content).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn sha_bytes() -> [u8; 32] {
        parse_sha(SHA).unwrap()
    }

    fn input(lang: Language, voiced: Option<&[(u64, u64)]>) -> GenerateInput<'_> {
        GenerateInput {
            seed: 1,
            audio_sha256: sha_bytes(),
            language: lang,
            duration_ms: 30_000,
            voiced,
        }
    }

    fn text_fixture(text: &str) -> Fixture {
        Fixture {
            text: text.to_string(),
            sentences: None,
        }
    }

    /// Loads a folder holding just `content` and returns the error text.
    fn load_error(content: &str) -> String {
        let dir = TempDir::new();
        dir.write("broken.toml", content);
        let err = FixtureStore::new().load_dir(&dir.0).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("broken.toml"), "{msg}");
        msg
    }

    #[test]
    fn loads_good_files_by_hash_and_by_audio_path() {
        let dir = TempDir::new();
        dir.write(
            "a.toml",
            &format!(
                "# by hash\nsha256 = \"{SHA}\"\ntext = \"哈喽。喂。\"\n\n[[sentences]]\n\
                 start_ms = 1640\nend_ms = 2460\ntext = \"哈喽。\"\nspeaker = 0\n\n\
                 [[sentences]]\nstart_ms = 2760\nend_ms = 3680\ntext = \"喂。\"\n"
            ),
        );
        fs::create_dir_all(dir.0.join("audio")).unwrap();
        fs::write(dir.0.join("audio/hello.wav"), b"RIFF fake audio").unwrap();
        dir.write(
            "b.toml",
            "audio = \"audio/hello.wav\"\ntext = \"Hello there.\"\n",
        );
        dir.write("notes.txt", "not a fixture");
        let store = FixtureStore::new();
        assert_eq!(store.load_dir(&dir.0).unwrap(), 2);
        assert_eq!(store.len(), 2);

        let t = to_transcript(
            &store.get(&sha_bytes()).unwrap(),
            &input(Language::Mandarin, None),
        );
        assert_eq!(t.text(), "哈喽。喂。");
        assert_eq!(
            (t.sentences[0].start_ms, t.sentences[0].end_ms),
            (1640, 2460)
        );
        assert_eq!(t.sentences[0].speaker, Some(0));
        assert_eq!(t.sentences[1].words.len(), 1);

        let audio_sha: [u8; 32] = Sha256::digest(b"RIFF fake audio").into();
        assert_eq!(store.get(&audio_sha).unwrap().text, "Hello there.");
        let list = store.list();
        assert_eq!(list.len(), 2);
        assert!(list
            .iter()
            .all(|(_, _, src)| matches!(src, FixtureSource::Dir(p) if p.starts_with(&dir.0))));
    }

    #[test]
    fn broken_files_name_path_line_and_reason() {
        let cases: Vec<(String, &str, &str)> = vec![
            (
                "text = \"hi\"\n".into(),
                ":1:",
                "missing `sha256` or `audio`",
            ),
            (
                format!("sha256 = \"{SHA}\"\naudio = \"x.wav\"\ntext = \"hi\"\n"),
                ":2:",
                "not both",
            ),
            (
                "\n\nsha256 = \"abc\"\ntext = \"hi\"\n".into(),
                ":3:",
                "64 hex digits",
            ),
            (
                format!("sha256 = \"{}\"\ntext = \"hi\"\n", "g".repeat(64)),
                ":1:",
                "not a hex digit",
            ),
            (
                "audio = \"missing.wav\"\ntext = \"hi\"\n".into(),
                ":1:",
                "cannot read audio",
            ),
            (
                format!("sha256 = \"{SHA}\"\ntext = \"unclosed\n"),
                ":2:",
                "",
            ),
            (
                format!("sha256 = \"{SHA}\"\n"),
                ":1:",
                "missing field `text`",
            ),
            (
                format!("sha256 = \"{SHA}\"\ntext = \"hi\"\ncolour = 1\n"),
                ":3:",
                "unknown field `colour`",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a。b。\"\n[[sentences]]\nstart_ms = 0\n\
                     end_ms = 10\ntext = \"a。\"\n\n[[sentences]]\nstart_ms = 5\nend_ms = 20\n\
                     text = \"b。\"\n"
                ),
                ":8:",
                "before the previous sentence ends",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a。\"\n[[sentences]]\nstart_ms = 10\n\
                     end_ms = 10\ntext = \"a。\"\n"
                ),
                ":3:",
                "must be after `start_ms`",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a。\"\n[[sentences]]\nstart_ms = 0\n\
                     end_ms = 99999999999\ntext = \"a。\"\n"
                ),
                ":3:",
                "beyond 5 hours",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a。c。\"\n[[sentences]]\nstart_ms = 0\n\
                     end_ms = 10\ntext = \"a。\"\n[[sentences]]\nstart_ms = 20\nend_ms = 30\n\
                     text = \"b。\"\n"
                ),
                ":7:",
                "does not continue `text`",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a。b\"\n[[sentences]]\nstart_ms = 0\n\
                     end_ms = 10\ntext = \"a。\"\n"
                ),
                ":2:",
                "goes on after the last sentence",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \"a\"\n[[sentences]]\nstart_ms = -1\n\
                     end_ms = 10\ntext = \"a\"\n"
                ),
                ":4:",
                "",
            ),
            (
                format!(
                    "sha256 = \"{SHA}\"\ntext = \" a\"\n[[sentences]]\nstart_ms = 1\n\
                     end_ms = 10\ntext = \" a\"\n"
                ),
                ":3:",
                "spaces",
            ),
        ];
        for (content, line, reason) in cases {
            let msg = load_error(&content);
            assert!(msg.contains(line), "want line {line} in {msg}");
            assert!(msg.contains(reason), "want {reason:?} in {msg}");
        }
    }

    #[test]
    fn a_broken_file_loads_nothing_and_duplicates_are_refused() {
        let dir = TempDir::new();
        dir.write("a.toml", &format!("sha256 = \"{SHA}\"\ntext = \"one\"\n"));
        dir.write(
            "b.toml",
            &format!("sha256 = \"{}\"\ntext = \"two\"\n", SHA.to_uppercase()),
        );
        let store = FixtureStore::new();
        let msg = store.load_dir(&dir.0).unwrap_err().to_string();
        assert!(msg.contains("b.toml:1:") && msg.contains("a.toml"), "{msg}");
        assert!(store.is_empty());
        let missing = store.load_dir(&dir.0.join("nope")).unwrap_err().to_string();
        assert!(missing.contains("nope"), "{missing}");
    }

    #[test]
    fn api_fixtures_shadow_folder_ones_until_reset_and_are_bounded() {
        let dir = TempDir::new();
        dir.write(
            "a.toml",
            &format!("sha256 = \"{SHA}\"\ntext = \"from dir\"\n"),
        );
        let store = FixtureStore::new();
        store.load_dir(&dir.0).unwrap();
        store
            .register(sha_bytes(), text_fixture("from api"))
            .unwrap();
        assert_eq!(store.get(&sha_bytes()).unwrap().text, "from api");
        assert_eq!(store.list().last().unwrap().2, FixtureSource::Api);
        assert_eq!(store.list().last().unwrap().2.to_string(), "api");
        store.clear_api();
        assert_eq!(store.get(&sha_bytes()).unwrap().text, "from dir");
        assert_eq!(store.len(), 1);

        for i in 0..MAX_API_FIXTURES + 5 {
            let mut sha = [0u8; 32];
            sha[..8].copy_from_slice(&(i as u64).to_le_bytes());
            store.register(sha, text_fixture("x")).unwrap();
        }
        assert_eq!(store.len(), 1 + MAX_API_FIXTURES);
        assert!(store.get(&[0; 32]).is_none(), "the oldest was evicted");
        let mut newest = [0u8; 32];
        newest[..8].copy_from_slice(&((MAX_API_FIXTURES + 4) as u64).to_le_bytes());
        assert!(store.get(&newest).is_some());

        let bad = Fixture {
            text: "a".into(),
            sentences: Some(vec![FixtureSentence {
                start_ms: 5,
                end_ms: 1,
                text: "a".into(),
                speaker: None,
            }]),
        };
        let err = store.register([9; 32], bad).unwrap_err().to_string();
        assert!(
            err.contains("sentence #1") && err.contains("end_ms"),
            "{err}"
        );
    }

    const ROUND_TRIP: &[&str] = &[
        "Hello, world. How are you? I'm fine!",
        "Hello there.How are you?  Two spaces. Done",
        "  leading, trailing  ",
        "你好，世界。今天天气怎么样？“很好！”他说。",
        "嗯，我们一共25个人, 3.5元, 100%没问题!OK? 好的。",
        "Mixed 中文 and English。 Next sentence. 下一句！\n换行了。",
        "สวัสดีครับ วันนี้อากาศดี  มาก",
        "こんにちは、元気ですか？はい。",
        "……",
        "",
    ];

    #[test]
    fn text_fixtures_round_trip_in_every_language() {
        let spans: &[(u64, u64)] = &[(1_000, 5_000), (6_000, 20_000), (22_000, 29_000)];
        for lang in Language::ALL {
            for text in ROUND_TRIP {
                for voiced in [None, Some(spans), Some(&[][..])] {
                    let t = to_transcript(&text_fixture(text), &input(lang, voiced));
                    assert_eq!(&t.text(), text, "{lang:?} {voiced:?}");
                    let mut prev = 0;
                    for s in &t.sentences {
                        assert!(s.start_ms >= prev && s.end_ms <= 30_000);
                        if let Some(v) = voiced.filter(|v| !v.is_empty()) {
                            assert!(v.iter().any(|&(a, b)| a <= s.start_ms && s.end_ms <= b));
                        }
                        for w in &s.words {
                            assert!(w.start_ms >= prev && w.end_ms >= w.start_ms);
                            prev = w.end_ms;
                        }
                    }
                }
            }
        }
        let short = to_transcript(&text_fixture("你好呀"), &input(Language::Mandarin, None));
        let s = &short.sentences[0];
        assert!(
            s.end_ms - s.start_ms <= 1_000,
            "said at a natural pace: {s:?}"
        );
        let t = to_transcript(
            &text_fixture("一。二。三。四。"),
            &input(Language::Mandarin, Some(spans)),
        );
        let used: std::collections::BTreeSet<usize> = t
            .sentences
            .iter()
            .map(|s| {
                spans
                    .iter()
                    .position(|&(a, b)| a <= s.start_ms && s.end_ms <= b)
                    .unwrap()
            })
            .collect();
        assert!(
            used.len() >= 2,
            "sentences spread over the speech: {used:?}"
        );
    }

    #[test]
    fn timed_fixtures_round_trip_whatever_the_spacing() {
        let cases: &[(&str, &[&str])] = &[
            (
                "Hello there. How are you?",
                &["Hello there.", "How are you?"],
            ),
            ("你好。世界！", &["你好。", "世界！"]),
            ("你好。 世界！", &["你好。", "世界！"]),
            ("Hello.How are you?", &["Hello.", "How are you?"]),
            ("สวัสดี ครับ", &["สวัสดี", "ครับ"]),
            ("สวัสดีครับ", &["สวัสดี", "ครับ"]),
        ];
        for lang in Language::ALL {
            for &(text, parts) in cases {
                let fixture = Fixture {
                    text: text.to_string(),
                    sentences: Some(
                        parts
                            .iter()
                            .enumerate()
                            .map(|(i, p)| FixtureSentence {
                                start_ms: 1_000 * i as u64,
                                end_ms: 1_000 * i as u64 + 800,
                                text: p.to_string(),
                                speaker: Some(i as u32),
                            })
                            .collect(),
                    ),
                };
                fixture.validate().unwrap();
                let t = to_transcript(&fixture, &input(lang, None));
                assert_eq!(t.text(), text, "{lang:?}");
                assert_eq!(t.sentences[0].start_ms, 0);
            }
        }
        // A fixture registered without validation still keeps its text.
        let odd = Fixture {
            text: "something else".into(),
            sentences: Some(vec![FixtureSentence {
                start_ms: 0,
                end_ms: 0,
                text: "x".into(),
                speaker: None,
            }]),
        };
        assert_eq!(
            to_transcript(&odd, &input(Language::English, None)).text(),
            "something else"
        );
    }

    #[test]
    fn any_fixture_keeps_its_text_and_never_panics() {
        use rand::Rng;
        let alphabet: Vec<char> = "ab Z9 .,!?。，？！“”'\n-%你好他妈的嗯วันนี้データ"
            .chars()
            .collect();
        let mut rng = crate::rng::derive(0, "test", b"fixtures");
        for round in 0..2_000u64 {
            let len = rng.gen_range(0..30);
            let text: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            // Sentences cut from the text at random char boundaries, with wild times.
            let cuts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            let mut sentences = Vec::new();
            let mut prev = 0;
            for &b in cuts.iter().skip(1) {
                if rng.gen_ratio(1, 4) {
                    sentences.push(text[prev..b].to_string());
                    prev = b;
                }
            }
            sentences.push(text[prev..].to_string());
            let times = |rng: &mut crate::rng::DetRng| match rng.gen_range(0..4) {
                0 => u64::MAX - rng.gen_range(0..10),
                _ => rng.gen_range(0..40_000),
            };
            let fixture = Fixture {
                text: text.clone(),
                sentences: (round % 3 != 0).then(|| {
                    sentences
                        .into_iter()
                        .map(|t| FixtureSentence {
                            start_ms: times(&mut rng),
                            end_ms: times(&mut rng),
                            text: t,
                            speaker: None,
                        })
                        .collect()
                }),
            };
            let spans: Vec<(u64, u64)> = (0..rng.gen_range(0..4))
                .map(|_| (rng.gen_range(0..40_000), rng.gen_range(0..40_000)))
                .collect();
            for lang in Language::ALL {
                let mut i = input(lang, Some(&spans));
                i.duration_ms = rng.gen_range(0..40_000);
                let t = to_transcript(&fixture, &i);
                assert_eq!(t.text(), text, "{lang:?} {fixture:?}");
                for w in t.sentences.iter().flat_map(|s| &s.words) {
                    assert!(w.end_ms >= w.start_ms);
                }
            }
        }
    }

    #[test]
    fn fixture_words_carry_kinds_for_the_filters() {
        let t = to_transcript(
            &text_fixture("嗯，他妈的好吧。"),
            &input(Language::Mandarin, None),
        );
        let kinds: Vec<_> = t.sentences[0]
            .words
            .iter()
            .map(|w| w.kind.clone())
            .collect();
        assert_eq!(kinds[0], super::super::WordKind::Modal);
        assert_eq!(kinds[1], super::super::WordKind::Dirty);
        assert_eq!(kinds.last(), Some(&super::super::WordKind::Modal));
    }
}
