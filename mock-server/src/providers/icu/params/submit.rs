//! The `voiceToText` parameters: the seed's table of rules, in its order, then the
//! cross-field rules.

use super::coerce::{
    int_literal, missing, optional_flag, optional_int, optional_str, present, required_int,
    show_str, IntLiteral,
};
use super::decode::RawParams;
use super::name;
use super::source::{callback_url_value, data_value, url_value, Source};
use crate::engine::Engine;
use crate::providers::icu::error::IcuError;

/// A valid submit request; defaults filled in for the optional parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitParams {
    /// `EngineModelType`: language and band of the recogniser.
    pub engine: Engine,
    /// `ChannelNum`: 1, or 2 with `8k_zh` only.
    pub channel_num: u8,
    /// `ResTextFormat`: 0 text only, 1 word detail without punctuation, 2 with punctuation.
    pub res_text_format: u8,
    /// `SourceType` with its `Url` or `Data`.
    pub source: Source,
    /// `SpeakerDiarization` = 1 (default 0).
    pub speaker_diarization: bool,
    /// `SpeakerNumber`: 0 automatic, 1–10 fixed (default 0; only used with diarization).
    pub speaker_number: u8,
    /// `CallbackUrl`, where the result is POSTed.
    pub callback_url: Option<String>,
    /// `FilterDirty` 0/1/2 (default 0); only Mandarin engines act on it, the caller decides.
    pub filter_dirty: u8,
    /// `FilterModal` 0/1/2 (default 0); Mandarin only.
    pub filter_modal: u8,
    /// `ConvertNumMode` 0, 1 or 3 (default 1); Mandarin only.
    pub convert_num_mode: u8,
    /// `FilterPunc` 0/1/2 (default 0); Mandarin only.
    pub filter_punc: u8,
}

/// Validates the parameters of a `voiceToText` body (order of checks in the [module docs](super)).
pub fn parse_submit(raw: &RawParams) -> Result<SubmitParams, IcuError> {
    // 1. the body parsed into `raw`; its form values must be UTF-8.
    raw.require_utf8(&name::SUBMIT)?;

    // 2. presence.
    for field in [
        name::ENGINE_MODEL_TYPE,
        name::CHANNEL_NUM,
        name::RES_TEXT_FORMAT,
        name::SOURCE_TYPE,
    ] {
        if present(raw, field).is_none() {
            return Err(missing(raw, field, None));
        }
    }
    let source_field = match present(raw, name::SOURCE_TYPE).map(int_literal) {
        Some(Ok(IntLiteral { value: Some(0), .. })) => Some((name::URL, "SourceType is 0")),
        Some(Ok(IntLiteral { value: Some(1), .. })) => Some((name::DATA, "SourceType is 1")),
        _ => None,
    };
    if let Some((field, condition)) = source_field {
        if present(raw, field).is_none() {
            return Err(missing(raw, field, Some(condition)));
        }
    }

    // 3. values, in table order.
    let engine = engine_value(raw)?;
    let channel_num = required_int(raw, name::CHANNEL_NUM, "1 or 2", &[1, 2])?;
    let res_text_format = required_int(raw, name::RES_TEXT_FORMAT, "0, 1 or 2", &[0, 1, 2])?;
    let source_type = required_int(raw, name::SOURCE_TYPE, "0 (Url) or 1 (Data)", &[0, 1])?;
    let speaker_diarization = optional_flag(raw, name::SPEAKER_DIARIZATION)?.unwrap_or(false);
    let speaker_number = optional_int(
        raw,
        name::SPEAKER_NUMBER,
        "between 0 and 10",
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )?
    .unwrap_or(0);
    let callback_url = callback_url_value(raw)?;
    let source = if source_type == 0 {
        Source::Url(url_value(raw)?)
    } else {
        Source::Data(data_value(raw)?)
    };
    let filter_dirty = optional_int(raw, name::FILTER_DIRTY, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);
    let filter_modal = optional_int(raw, name::FILTER_MODAL, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);
    let convert_num_mode = optional_int(
        raw,
        name::CONVERT_NUM_MODE,
        "0, 1 or 3 (there is no 2)",
        &[0, 1, 3],
    )?
    .unwrap_or(1);
    let filter_punc = optional_int(raw, name::FILTER_PUNC, "0, 1 or 2", &[0, 1, 2])?.unwrap_or(0);

    // 4. cross-field rules.
    if channel_num == 2 && !engine.supports_stereo() {
        return Err(IcuError::invalid_value(
            name::CHANNEL_NUM,
            format!("2 (two channels) is only supported by EngineModelType 8k_zh, got {engine}"),
        ));
    }
    if speaker_diarization && !engine.supports_diarization() {
        return Err(IcuError::invalid_value(
            name::SPEAKER_DIARIZATION,
            format!(
                "1 is only supported by EngineModelType 8k_zh, 16k_zh and 16k_zh_video, \
                 got {engine}"
            ),
        ));
    }
    if speaker_diarization && channel_num != 1 {
        return Err(IcuError::invalid_value(
            name::SPEAKER_DIARIZATION,
            format!("1 requires ChannelNum 1 (mono audio), got ChannelNum {channel_num}"),
        ));
    }

    Ok(SubmitParams {
        engine,
        channel_num,
        res_text_format,
        source,
        speaker_diarization,
        speaker_number,
        callback_url,
        filter_dirty,
        filter_modal,
        convert_num_mode,
        filter_punc,
    })
}

/// `EngineModelType`, with a hint when only the letter case is wrong.
fn engine_value(raw: &RawParams) -> Result<Engine, IcuError> {
    let field = name::ENGINE_MODEL_TYPE;
    let code = optional_str(raw, field, "must be a string", |detail| {
        IcuError::invalid_value(field, detail)
    })?
    .ok_or_else(|| missing(raw, field, None))?;
    if let Some(engine) = Engine::from_code(code) {
        return Ok(engine);
    }
    let all: Vec<&str> = Engine::ALL.iter().map(|e| e.code()).collect();
    let mut detail = format!("must be one of {}, got {}", all.join(", "), show_str(code));
    if let Some(near) = Engine::ALL
        .iter()
        .find(|e| e.code().eq_ignore_ascii_case(code))
    {
        detail.push_str(&format!(" (engine names are case-sensitive: {near})"));
    }
    Err(IcuError::invalid_value(field, detail))
}

#[cfg(test)]
impl SubmitParams {
    /// The provider's defaults for everything but the engine, the audio and ResTextFormat:
    /// what the tests of examination, recipes and the service start from.
    pub(crate) fn defaults(engine: Engine, source: Source, res_text_format: u8) -> Self {
        SubmitParams {
            engine,
            channel_num: 1,
            res_text_format,
            source,
            speaker_diarization: false,
            speaker_number: 0,
            callback_url: None,
            filter_dirty: 0,
            filter_modal: 0,
            convert_num_mode: 1,
            filter_punc: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::icu::params::testing::*;

    #[test]
    fn minimal_request_gets_the_defaults() {
        let p = ok(&base());
        assert_eq!(
            p,
            SubmitParams::defaults(
                Engine::Zh16k,
                Source::Url("https://example.com/a.wav".into()),
                0
            )
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let m = with(&[
            ("Extra", json!({"nested": [1, 2]})),
            ("ProjectId", json!(0)),
            ("UsrAudioKey", json!("abc")),
            ("Data", json!("not base64 but ignored with SourceType 0")),
        ]);
        assert_eq!(ok(&m), ok(&base()));
    }

    // --- presence and order ---

    #[test]
    fn required_fields_are_reported_in_table_order() {
        let all = [
            "EngineModelType",
            "ChannelNum",
            "ResTextFormat",
            "SourceType",
        ];
        for (i, field) in all.iter().enumerate() {
            let e = err(&without(base(), &all[i..]));
            assert_err(&e, IcuErrorKind::MissingParameter, field);
            assert_eq!(
                e.reason,
                format!("the required parameter {field} is missing")
            );
        }
    }

    #[test]
    fn missing_comes_before_bad_values() {
        let m = without(with(&[("ChannelNum", json!(9))]), &["SourceType"]);
        assert_err(&err(&m), IcuErrorKind::MissingParameter, "SourceType");
        // The selected source is checked for presence before other values.
        let m = without(with(&[("ChannelNum", json!(9))]), &["Url"]);
        assert_err(&err(&m), IcuErrorKind::MissingParameter, "Url");
        // Values before cross-field rules.
        let m = with(&[("ChannelNum", json!(2)), ("FilterPunc", json!(9))]);
        assert_err(&err(&m), IcuErrorKind::InvalidParameterValue, "FilterPunc");
    }

    #[test]
    fn url_and_data_are_conditionally_required() {
        let e = err(&without(base(), &["Url"]));
        assert_err(&e, IcuErrorKind::MissingParameter, "Url");
        assert!(e.reason.contains("SourceType is 0"));
        let e = err(&with(&[("SourceType", json!("1"))]));
        assert_err(&e, IcuErrorKind::MissingParameter, "Data");
        assert!(e.reason.contains("SourceType is 1"));
        // With SourceType=1 a bad Url is ignored.
        let audio = b"RIFF0000WAVE";
        let m = with(&[
            ("SourceType", json!(1)),
            ("Url", json!("ftp://nope")),
            ("Data", json!(b64(audio))),
        ]);
        assert_eq!(ok(&m).source, Source::Data(audio.to_vec()));
    }

    // --- each value ---

    #[test]
    fn engines() {
        for engine in Engine::ALL {
            let m = with(&[("EngineModelType", json!(engine.code()))]);
            assert_eq!(ok(&m).engine, engine);
        }
        let e = err(&with(&[("EngineModelType", json!("16k_fr"))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "EngineModelType must be one of",
        );
        assert!(e.reason.contains("16k_wuu-SH") && e.reason.contains("\"16k_fr\""));
        let e = err(&with(&[("EngineModelType", json!("16K_ZH"))]));
        assert!(e.reason.contains("case-sensitive: 16k_zh"), "{e}");
        let e = submit_json(&with(&[("EngineModelType", json!(16))])).unwrap_err();
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "must be a string, got 16",
        );
    }

    #[test]
    fn channel_num() {
        assert_eq!(ok(&with(&[("ChannelNum", json!(1))])).channel_num, 1);
        let stereo = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!("2")),
        ]);
        assert_eq!(ok(&stereo).channel_num, 2);
        for bad in [json!(0), json!(3), json!("-1"), json!(256)] {
            let e = err(&with(&[("ChannelNum", bad.clone())]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "ChannelNum must be 1 or 2",
            );
        }
        let e = err(&with(&[("ChannelNum", json!(3))]));
        assert_eq!(
            e.to_string(),
            "InvalidParameterValue: ChannelNum must be 1 or 2, got 3"
        );
    }

    #[test]
    fn res_text_format_and_source_type() {
        for f in 0..=2 {
            assert_eq!(ok(&with(&[("ResTextFormat", json!(f))])).res_text_format, f);
        }
        let e = err(&with(&[("ResTextFormat", json!(3))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "ResTextFormat must be 0, 1 or 2, got 3",
        );
        let e = err(&with(&[("SourceType", json!("2"))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "SourceType must be 0 (Url) or 1 (Data), got 2",
        );
    }

    #[test]
    fn speaker_diarization_and_number() {
        let m = with(&[
            ("SpeakerDiarization", json!("1")),
            ("SpeakerNumber", json!("10")),
        ]);
        let p = ok(&m);
        assert!(p.speaker_diarization);
        assert_eq!(p.speaker_number, 10);
        assert!(!ok(&with(&[("SpeakerDiarization", json!(0))])).speaker_diarization);
        let e = err(&with(&[("SpeakerDiarization", json!(2))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "SpeakerDiarization must be 0 or 1",
        );
        for bad in [json!(11), json!(-1)] {
            let e = err(&with(&[("SpeakerNumber", bad)]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                "SpeakerNumber must be between 0 and 10",
            );
        }
        // SpeakerNumber without diarization is accepted (it is just unused).
        assert_eq!(ok(&with(&[("SpeakerNumber", json!(3))])).speaker_number, 3);
    }

    #[test]
    fn filters_and_number_conversion() {
        for engine in Engine::ALL {
            for v in 0..=2u8 {
                let m = with(&[
                    ("EngineModelType", json!(engine.code())),
                    ("FilterDirty", json!(v)),
                    ("FilterModal", json!(v.to_string())),
                    ("FilterPunc", json!(v)),
                ]);
                let p = ok(&m);
                assert_eq!((p.filter_dirty, p.filter_modal, p.filter_punc), (v, v, v));
            }
            for v in [0u8, 1, 3] {
                let m = with(&[
                    ("EngineModelType", json!(engine.code())),
                    ("ConvertNumMode", json!(v)),
                ]);
                assert_eq!(ok(&m).convert_num_mode, v);
            }
        }
        for field in ["FilterDirty", "FilterModal", "FilterPunc"] {
            let e = err(&with(&[(field, json!(3))]));
            assert_err(
                &e,
                IcuErrorKind::InvalidParameterValue,
                &format!("{field} must be 0, 1 or 2, got 3"),
            );
        }
        let e = err(&with(&[("ConvertNumMode", json!(2))]));
        assert_err(
            &e,
            IcuErrorKind::InvalidParameterValue,
            "ConvertNumMode must be 0, 1 or 3 (there is no 2), got 2",
        );
    }

    // --- cross-field rules ---

    #[test]
    fn stereo_only_with_8k_zh() {
        for engine in Engine::ALL {
            let m = with(&[
                ("EngineModelType", json!(engine.code())),
                ("ChannelNum", json!(2)),
            ]);
            match submit_both(&m) {
                Ok(_) => assert_eq!(engine, Engine::Zh8k),
                Err(e) => {
                    assert_ne!(engine, Engine::Zh8k);
                    assert_err(&e, IcuErrorKind::InvalidParameterValue, "ChannelNum 2");
                    assert!(e.reason.contains(engine.code()));
                }
            }
        }
    }

    #[test]
    fn diarization_only_with_three_engines_and_mono() {
        for engine in Engine::ALL {
            let m = with(&[
                ("EngineModelType", json!(engine.code())),
                ("SpeakerDiarization", json!(1)),
            ]);
            let allowed = matches!(engine, Engine::Zh8k | Engine::Zh16k | Engine::ZhVideo16k);
            match submit_both(&m) {
                Ok(p) => assert!(allowed && p.speaker_diarization),
                Err(e) => {
                    assert!(!allowed);
                    assert_err(
                        &e,
                        IcuErrorKind::InvalidParameterValue,
                        "SpeakerDiarization 1",
                    );
                }
            }
        }
        let m = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!(2)),
            ("SpeakerDiarization", json!(1)),
        ]);
        assert_err(
            &err(&m),
            IcuErrorKind::InvalidParameterValue,
            "requires ChannelNum 1",
        );
        let m = with(&[
            ("EngineModelType", json!("8k_zh")),
            ("ChannelNum", json!(2)),
        ]);
        assert!(!ok(&m).speaker_diarization);
    }
}
