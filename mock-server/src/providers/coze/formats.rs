//! Which audio formats each Coze model takes (the seed's two lists), and how a probe failure
//! maps to Coze's codes.

use super::error::CozeError;
use crate::audio::{Format, ProbeError};
use crate::config::CozeModel;

/// Maps a probe failure to Coze's code: a name that promises a format the model takes but
/// bytes that are not that format is "undecodable" (4304); anything else is an unsupported
/// format (4303).
pub fn probe_failure(model: CozeModel, filename: &str, err: &ProbeError) -> CozeError {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match err {
        ProbeError::Empty => CozeError::file_empty(),
        ProbeError::Corrupt { format, reason } => {
            if supported_formats(model).iter().any(|f| f.name() == *format) {
                CozeError::undecodable(&format!(
                    "the {format} data is corrupt or truncated ({reason})"
                ))
            } else {
                CozeError::unsupported_format(format, model_name(model), supported_list(model))
            }
        }
        ProbeError::Unrecognized => match ext {
            Some(ext) if extension_supported(model, &ext) => CozeError::undecodable(&format!(
                "the file is named .{ext} but its bytes are not {ext} audio"
            )),
            Some(ext) => {
                CozeError::unsupported_format(&ext, model_name(model), supported_list(model))
            }
            None => {
                CozeError::unsupported_format("unknown", model_name(model), supported_list(model))
            }
        },
    }
}

/// Refuses audio of a format `model` does not take (4303).
pub fn check(model: CozeModel, format: Format) -> Result<(), CozeError> {
    if supports(model, format) {
        Ok(())
    } else {
        Err(CozeError::unsupported_format(
            format.name(),
            model_name(model),
            supported_list(model),
        ))
    }
}

/// Whether `model` accepts audio of `format` (seed's two lists; 3gp, flac, wma and flv are in
/// neither).
pub fn supports(model: CozeModel, format: Format) -> bool {
    supported_formats(model).contains(&format)
}

fn supported_formats(model: CozeModel) -> &'static [Format] {
    use Format::*;
    match model {
        CozeModel::Large => &[
            Wav, Mp3, OggVorbis, OggOpus, OggSpeex, M4a, Mp4, Pcm, Aac, Amr, AmrWb,
        ],
        CozeModel::Small => &[Wav, Mp3, OggVorbis, OggOpus, M4a, Mp4],
    }
}

fn extension_supported(model: CozeModel, ext: &str) -> bool {
    supported_list(model).split(", ").any(|e| e == ext)
}

fn model_name(model: CozeModel) -> &'static str {
    match model {
        CozeModel::Large => "large",
        CozeModel::Small => "small",
    }
}

fn supported_list(model: CozeModel) -> &'static str {
    match model {
        CozeModel::Large => "opus, ogg, mp3, wav, m4a, mp4, pcm, raw, spx, aac, amr",
        CozeModel::Small => "ogg, mp3, wav, mp4, m4a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_follow_the_seed() {
        assert!(supports(CozeModel::Large, Format::Amr));
        assert!(!supports(CozeModel::Small, Format::Amr));
        assert!(!supports(CozeModel::Small, Format::Pcm));
        for f in [Format::Flac, Format::Wma, Format::Flv, Format::ThreeGp] {
            assert!(!supports(CozeModel::Large, f));
        }
    }
}
