//! What a finished icu task keeps instead of its rendered text: the recipe its result is
//! rendered from (a few dozen bytes, shared by the tasks of the same audio and options), and
//! bounded caches so that rendering on every poll stays cheap.
//!
//! Rendering is a pure function of the recipe (seed, audio hash, speech spans, options), so
//! a result rendered now, after a restart or after the cache forgot it is byte for byte the
//! one examination saw.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::result::{self, RenderOptions, Rendered, Speakers};
use super::wire::{SentenceDetail, SentenceWords};
use crate::engine::Engine;
use crate::transcript::filters::{self, Filters};
use crate::transcript::{self, GenerateInput, Transcript};

/// The submit options only the examination reads (8 bytes): kept per task so a download
/// interrupted by a crash can be redone with the same parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubmitOptions {
    /// `ChannelNum`.
    pub channel_num: u8,
    /// `SpeakerDiarization`.
    pub speaker_diarization: bool,
    /// `SpeakerNumber`.
    pub speaker_number: u8,
    /// `FilterDirty`.
    pub filter_dirty: u8,
    /// `FilterModal`.
    pub filter_modal: u8,
    /// `ConvertNumMode`.
    pub convert_num_mode: u8,
    /// `FilterPunc`.
    pub filter_punc: u8,
}

impl Default for SubmitOptions {
    /// The provider's defaults (ConvertNumMode 1, the rest 0/off, one channel).
    fn default() -> Self {
        SubmitOptions {
            channel_num: 1,
            speaker_diarization: false,
            speaker_number: 0,
            filter_dirty: 0,
            filter_modal: 0,
            convert_num_mode: 1,
            filter_punc: 0,
        }
    }
}

/// Most rendered results kept for polls and callbacks.
const RENDER_ENTRIES: usize = 256;
/// Most bytes of rendered results kept (a 5-hour recording with word detail takes a few MB).
const RENDER_BYTES: usize = 16 << 20;

/// How a successful task's result comes about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Recipe {
    /// Generated from the audio: rendered whenever it is asked for.
    Generated(Generation),
    /// Rendered once at examination: a registered fixture's text (fixtures may be replaced
    /// later, and a task keeps what it was given), or the empty result every silent task
    /// shares.
    Rendered(Arc<Rendered>),
}

impl Recipe {
    /// A result fixed at examination; an empty one is shared, so a million silent tasks do
    /// not each hold an allocation of nothing.
    pub fn rendered(result: String, detail: Vec<SentenceDetail>) -> Arc<Recipe> {
        static EMPTY: OnceLock<Arc<Recipe>> = OnceLock::new();
        if result.is_empty() && detail.is_empty() {
            return EMPTY
                .get_or_init(|| Arc::new(Recipe::Rendered(Arc::new(Rendered::default()))))
                .clone();
        }
        Arc::new(Recipe::Rendered(Arc::new(Rendered::new(result, detail))))
    }

    /// The result, rendered now (no cache: see [`Renders`]).
    pub fn render(&self) -> Arc<Rendered> {
        match self {
            Recipe::Generated(g) => Arc::new(g.render()),
            Recipe::Rendered(r) => r.clone(),
        }
    }

    /// Heap bytes this recipe holds beyond its own size.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Recipe::Generated(g) => g.voiced.as_ref().map_or(0, |v| size_of_val(&**v)),
            Recipe::Rendered(r) => rendered_bytes(r),
        }
    }
}

/// Everything a generated result depends on. Equal generations render equal results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generation {
    /// The server seed at examination (a restart with another seed keeps the task's text).
    pub seed: u64,
    /// SHA-256 of the audio bytes: keys the generator and the speaker pattern.
    pub audio_sha256: [u8; 32],
    /// The audio's real duration.
    pub duration_ms: u64,
    /// Speech spans found in the audio (`None`: unknown, speech assumed throughout).
    pub voiced: Option<Box<[(u64, u64)]>>,
    /// `EngineModelType`: the language, and whether filters apply (Mandarin only).
    pub engine: Engine,
    /// `ResTextFormat`.
    pub res_text_format: u8,
    /// Channels, speakers and filters as submitted.
    pub options: SubmitOptions,
}

/// Hashes the fixed-size fields only, so a lookup costs the same for a 5-hour recording;
/// equality still compares the speech spans.
impl Hash for Generation {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.seed.hash(state);
        self.audio_sha256.hash(state);
        self.duration_ms.hash(state);
        self.engine.hash(state);
        self.res_text_format.hash(state);
        self.options.hash(state);
    }
}

impl Generation {
    /// The generated transcript, filtered, with speakers, written as the provider does.
    pub fn render(&self) -> Rendered {
        let heard = transcript::generate(&GenerateInput {
            seed: self.seed,
            audio_sha256: self.audio_sha256,
            language: self.engine.language(),
            duration_ms: self.duration_ms,
            voiced: self.voiced.as_deref(),
        });
        shape(
            &heard,
            self.seed,
            &self.audio_sha256,
            self.engine,
            self.res_text_format,
            &self.options,
        )
    }
}

/// Turns what was heard into the result: Mandarin filters, then speakers (assigned to the
/// sentences that survive the filters), then the text and detail.
pub fn shape(
    heard: &Transcript,
    seed: u64,
    audio_sha256: &[u8; 32],
    engine: Engine,
    res_text_format: u8,
    options: &SubmitOptions,
) -> Rendered {
    let filtered;
    let heard = if engine.is_mandarin() {
        filtered = filters::apply(
            heard,
            &Filters {
                dirty: options.filter_dirty,
                modal: options.filter_modal,
                punc: options.filter_punc,
                convert_num: options.convert_num_mode,
            },
        );
        &filtered
    } else {
        heard
    };
    let speakers = speaker_mode(engine, options);
    let heard = result::assign_speakers(heard, speakers, seed, audio_sha256);
    result::render(
        &heard,
        RenderOptions {
            res_text_format,
            show_speaker: speakers.shows_speaker(),
        },
    )
}

/// Diarization when asked for (SpeakerNumber 0 = automatic), or the two channels of an 8k
/// stereo call as speakers 0 and 1.
pub fn speaker_mode(engine: Engine, options: &SubmitOptions) -> Speakers {
    if options.speaker_diarization {
        match options.speaker_number {
            0 => Speakers::Auto,
            n => Speakers::Fixed(n),
        }
    } else if engine == Engine::Zh8k && options.channel_num == 2 {
        Speakers::StereoChannels
    } else {
        Speakers::None
    }
}

/// Heap bytes of a rendered result, for the caches' byte bounds.
pub fn rendered_bytes(r: &Rendered) -> usize {
    let words = |d: &SentenceDetail| {
        d.words.capacity() * size_of::<SentenceWords>()
            + d.words.iter().map(|w| w.word.capacity()).sum::<usize>()
    };
    r.result.capacity()
        + r.detail.capacity() * size_of::<SentenceDetail>()
        + r.detail
            .iter()
            .map(|d| d.final_sentence.capacity() + d.slice_sentence.capacity() + words(d))
            .sum::<usize>()
}

/// Rendered results by generation, so repeated polls and callbacks of the same result do
/// not render it again.
#[derive(Debug)]
pub struct Renders {
    cache: Lru<Generation, Arc<Rendered>>,
}

impl Default for Renders {
    fn default() -> Self {
        Renders {
            cache: Lru::new(RENDER_ENTRIES, RENDER_BYTES),
        }
    }
}

impl Renders {
    /// The rendered result of `recipe`, from the cache when it has it.
    pub fn get(&self, recipe: &Recipe) -> Arc<Rendered> {
        let Recipe::Generated(g) = recipe else {
            return recipe.render();
        };
        if let Some(hit) = self.cache.get(g) {
            return hit;
        }
        let rendered = Arc::new(g.render());
        self.keep(g, rendered.clone());
        rendered
    }

    /// Keeps a result rendered elsewhere (by examination) for the polls to come.
    pub fn keep(&self, generation: &Generation, rendered: Arc<Rendered>) {
        let bytes = size_of::<Generation>()
            + Recipe::Generated(generation.clone()).heap_bytes()
            + size_of::<Rendered>()
            + rendered_bytes(&rendered)
            + rendered.keep_json();
        self.cache.insert(generation.clone(), rendered, bytes);
    }
}

/// A map bounded in entries and in bytes that forgets the least recently used entry first.
/// Eviction scans for the oldest entry: the maps are small, and an insert follows work
/// (an examination, a render) that costs far more than the scan.
#[derive(Debug)]
pub struct Lru<K, V> {
    slots: Mutex<Slots<K, V>>,
    max_entries: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Slots<K, V> {
    /// foldhash, not SipHash: every poll looks up its result here (keys are hashes of
    /// audio and options, and the hasher is still seeded per process).
    map: HashMap<K, Slot<V>, foldhash::fast::RandomState>,
    /// Sum of the entries' weights.
    bytes: usize,
    /// Bumped on every use: an entry's `used` is its last use.
    tick: u64,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    bytes: usize,
    used: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    /// At most `max_entries` entries weighing at most `max_bytes` together.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Lru {
            slots: Mutex::new(Slots {
                map: HashMap::default(),
                bytes: 0,
                tick: 0,
            }),
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// The value under `key`, marked as just used.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut slots = self.slots.lock();
        slots.tick += 1;
        let tick = slots.tick;
        let slot = slots.map.get_mut(key)?;
        slot.used = tick;
        Some(slot.value.clone())
    }

    /// Keeps `value` under `key`, weighing `bytes`, forgetting the least recently used
    /// entries to make room. A value heavier than the whole bound is not kept.
    pub fn insert(&self, key: K, value: V, bytes: usize) {
        if bytes > self.max_bytes {
            return;
        }
        let mut slots = self.slots.lock();
        slots.tick += 1;
        let used = slots.tick;
        if let Some(old) = slots.map.insert(key, Slot { value, bytes, used }) {
            slots.bytes -= old.bytes;
        }
        slots.bytes += bytes;
        while slots.map.len() > self.max_entries || slots.bytes > self.max_bytes {
            let Some(oldest) = slots
                .map
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = slots.map.remove(&oldest) {
                slots.bytes -= gone.bytes;
            }
        }
    }

    /// Number of entries kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().map.len()
    }

    /// Sum of the kept entries' weights.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.slots.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::audio::synth::wav_8bit;
    use crate::providers::icu::params::{Source, SubmitParams};
    use crate::providers::icu::recognize::{self, Examined, RecognizeSettings};
    use crate::transcript::{Fixture, FixtureStore};

    fn examine(fixtures: &FixtureStore, wav: &[u8], format: u8, diarize: bool) -> Examined {
        let params = SubmitParams {
            speaker_diarization: diarize,
            ..SubmitParams::defaults(Engine::Zh8k, Source::Data(Vec::new()), format)
        };
        let sha: [u8; 32] = Sha256::digest(wav).into();
        let settings = RecognizeSettings::default();
        recognize::examine(7, fixtures, &settings, &params, wav, &sha, None)
    }

    fn speech(seconds: u64) -> Vec<u8> {
        wav_8bit(8000, 1, 8000 * seconds, true)
    }

    #[test]
    fn a_generated_result_renders_again_byte_for_byte() {
        let wav = speech(20);
        for format in 0..=2 {
            for diarize in [false, true] {
                let found = examine(&FixtureStore::new(), &wav, format, diarize);
                let recipe = found.outcome.recipe().unwrap();
                assert!(matches!(**recipe, Recipe::Generated(_)));
                let seen = found.rendered.unwrap();
                assert!(!seen.result.is_empty());
                assert_eq!(format > 0, !seen.detail.is_empty());
                assert_eq!(recipe.render(), seen);
                let renders = Renders::default();
                let first = renders.get(recipe);
                assert_eq!(first, seen);
                assert!(Arc::ptr_eq(&first, &renders.get(recipe)), "rendered once");
                // As persistence saves and loads it.
                let saved = serde_json::to_string(&**recipe).unwrap();
                let loaded: Recipe = serde_json::from_str(&saved).unwrap();
                assert_eq!(&loaded, &**recipe);
                assert_eq!(loaded.render(), seen);
            }
        }
    }

    #[test]
    fn silence_shares_one_result_and_a_fixture_is_kept_as_given() {
        let silent = |seconds: u64| wav_8bit(8000, 1, 8000 * seconds, false);
        let a = examine(&FixtureStore::new(), &silent(2), 0, false);
        let b = examine(&FixtureStore::new(), &silent(3), 2, false);
        assert!(Arc::ptr_eq(
            a.outcome.recipe().unwrap(),
            b.outcome.recipe().unwrap()
        ));
        assert!(a.outcome.recipe().unwrap().render().result.is_empty());

        let wav = speech(5);
        let fixtures = FixtureStore::new();
        let fixture = Fixture {
            text: "喂，你好。".into(),
            sentences: None,
            icu: None,
        };
        fixtures
            .register(Sha256::digest(&wav).into(), fixture)
            .unwrap();
        let found = examine(&fixtures, &wav, 0, false);
        assert!(found.from_fixture);
        let recipe = found.outcome.recipe().unwrap();
        assert!(matches!(**recipe, Recipe::Rendered(_)));
        assert!(recipe.render().result.contains("喂，你好。"));
        assert!(!examine(&FixtureStore::new(), &wav, 0, false).from_fixture);
    }

    #[test]
    fn the_lru_is_bounded_in_entries_and_bytes() {
        let lru: Lru<u32, u32> = Lru::new(3, 100);
        for k in 0..3 {
            lru.insert(k, k * 10, 10);
        }
        assert_eq!(lru.get(&0), Some(0), "0 is now the most recently used");
        lru.insert(3, 30, 10);
        assert_eq!((lru.len(), lru.bytes()), (3, 30));
        assert_eq!(lru.get(&1), None, "the least recently used went");
        assert_eq!(lru.get(&0), Some(0));
        lru.insert(4, 40, 80);
        assert!(lru.bytes() <= 100 && lru.len() <= 3);
        assert_eq!(lru.get(&4), Some(40));
        assert_eq!(lru.get(&2), None);
        lru.insert(5, 50, 101);
        assert_eq!(lru.get(&5), None, "heavier than the whole bound");
        lru.insert(4, 41, 5);
        assert_eq!(lru.get(&4), Some(41));
        assert!(lru.bytes() <= 100);
    }
}
