//! `EngineModelType`: which recogniser a task asks for, and what that implies (language,
//! telephone or wide-band audio, which options it honours). A leaf, so tasks, scenario
//! files and the journal all carry this one type (one byte) rather than its name.

use serde::{Deserialize, Serialize};

use crate::language::Language;

/// The engines of the seed's parameter table; serialised as its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Engine {
    /// `8k_en`: telephone English.
    En8k,
    /// `8k_zh`: telephone Mandarin (the only engine that takes ChannelNum 2).
    Zh8k,
    /// `16k_zh`: Mandarin.
    Zh16k,
    /// `16k_zh_video`: Mandarin, audio/video domain.
    ZhVideo16k,
    /// `16k_en`: English.
    En16k,
    /// `16k_ca`: Cantonese.
    Ca16k,
    /// `16k_ja`: Japanese.
    Ja16k,
    /// `16k_zh_edu`: Mandarin, education.
    ZhEdu16k,
    /// `16k_en_edu`: English, education.
    EnEdu16k,
    /// `16k_zh_medical`: Mandarin, medical.
    ZhMedical16k,
    /// `16k_th`: Thai.
    Th16k,
    /// `16k_wuu-SH`: Shanghainese.
    WuuSh16k,
}

impl From<Engine> for &'static str {
    fn from(engine: Engine) -> Self {
        engine.code()
    }
}

impl TryFrom<String> for Engine {
    type Error = String;
    fn try_from(code: String) -> Result<Self, String> {
        Engine::from_code(&code).ok_or_else(|| format!("unknown EngineModelType {code:?}"))
    }
}

impl Engine {
    /// Every engine, in the seed's order.
    pub const ALL: [Engine; 12] = [
        Engine::En8k,
        Engine::Zh8k,
        Engine::Zh16k,
        Engine::ZhVideo16k,
        Engine::En16k,
        Engine::Ca16k,
        Engine::Ja16k,
        Engine::ZhEdu16k,
        Engine::EnEdu16k,
        Engine::ZhMedical16k,
        Engine::Th16k,
        Engine::WuuSh16k,
    ];

    /// The wire name, e.g. `16k_zh`.
    pub fn code(self) -> &'static str {
        match self {
            Engine::En8k => "8k_en",
            Engine::Zh8k => "8k_zh",
            Engine::Zh16k => "16k_zh",
            Engine::ZhVideo16k => "16k_zh_video",
            Engine::En16k => "16k_en",
            Engine::Ca16k => "16k_ca",
            Engine::Ja16k => "16k_ja",
            Engine::ZhEdu16k => "16k_zh_edu",
            Engine::EnEdu16k => "16k_en_edu",
            Engine::ZhMedical16k => "16k_zh_medical",
            Engine::Th16k => "16k_th",
            Engine::WuuSh16k => "16k_wuu-SH",
        }
    }

    /// Parses a wire name exactly (the provider's names are case-sensitive).
    pub fn from_code(code: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The language the engine transcribes into.
    pub fn language(self) -> Language {
        match self {
            Engine::En8k | Engine::En16k | Engine::EnEdu16k => Language::English,
            Engine::Zh8k
            | Engine::Zh16k
            | Engine::ZhVideo16k
            | Engine::ZhEdu16k
            | Engine::ZhMedical16k => Language::Mandarin,
            Engine::Ca16k => Language::Cantonese,
            Engine::Ja16k => Language::Japanese,
            Engine::Th16k => Language::Thai,
            Engine::WuuSh16k => Language::Shanghainese,
        }
    }

    /// Telephone (8 kHz) engine.
    pub fn is_8k(self) -> bool {
        matches!(self, Engine::En8k | Engine::Zh8k)
    }

    /// Mandarin engines: the only ones FilterDirty, FilterModal, FilterPunc and
    /// ConvertNumMode act on (seed: "目前支持中文普通话引擎").
    pub fn is_mandarin(self) -> bool {
        self.language() == Language::Mandarin
    }

    /// Engines that take SpeakerDiarization=1 (seed).
    pub fn supports_diarization(self) -> bool {
        matches!(self, Engine::Zh8k | Engine::Zh16k | Engine::ZhVideo16k)
    }

    /// Engines that take ChannelNum=2 (seed).
    pub fn supports_stereo(self) -> bool {
        self == Engine::Zh8k
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// For the OpenAPI document: the names, as the wire and the journal write them.
impl utoipa::PartialSchema for Engine {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(Engine::ALL.map(<&'static str>::from)))
            .description(Some("An EngineModelType"))
            .into()
    }
}

impl utoipa::ToSchema for Engine {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_case_sensitive() {
        for e in Engine::ALL {
            assert_eq!(Engine::from_code(e.code()), Some(e));
        }
        assert_eq!(Engine::from_code("16K_ZH"), None);
        assert_eq!(Engine::from_code("16k_wuu-sh"), None);
    }
}
