//! A spoken language: what transcripts are written in and what an icu engine transcribes
//! into. A leaf below both `engine` and `transcript`, so each can name it without the other.

/// A spoken language, as the providers' engines name them (`16k_zh`, `16k_en`, `16k_ca`,
/// `16k_ja`, `16k_th`, `16k_wuu-SH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Language {
    /// Putonghua, simplified characters.
    Mandarin,
    /// English.
    English,
    /// Cantonese, traditional characters and Cantonese wording (佢哋、咗、喺).
    Cantonese,
    /// Japanese, kanji and kana.
    Japanese,
    /// Thai script.
    Thai,
    /// Shanghainese (Wu), written in simplified characters with Wu wording (侬、阿拉、伐).
    Shanghainese,
}

impl Language {
    /// Every language, for tests and listings.
    pub const ALL: [Language; 6] = [
        Language::Mandarin,
        Language::English,
        Language::Cantonese,
        Language::Japanese,
        Language::Thai,
        Language::Shanghainese,
    ];

    /// What goes between two words of a sentence: a space for English, nothing for the
    /// languages written without spaces (Chinese, Japanese, Thai).
    pub fn separator(self) -> &'static str {
        match self {
            Language::English => " ",
            _ => "",
        }
    }

    /// What goes between two sentences in the whole text: a space for English and for Thai
    /// (Thai marks the end of a sentence with a space, not a stop), nothing for the others,
    /// whose sentences already end in `。？！`.
    pub fn sentence_separator(self) -> &'static str {
        match self {
            Language::English | Language::Thai => " ",
            _ => "",
        }
    }

    /// A short stable code, used to key the rng: renaming a variant must not change transcripts.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Language::Mandarin => "zh",
            Language::English => "en",
            Language::Cantonese => "yue",
            Language::Japanese => "ja",
            Language::Thai => "th",
            Language::Shanghainese => "wuu",
        }
    }
}
