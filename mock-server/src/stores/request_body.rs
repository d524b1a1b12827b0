//! What a journal entry keeps of a request's body: never the body itself (an upload may be
//! 10 MB) but a summary a test can assert on, bounded like the rest of the entry. A multipart
//! upload becomes its parts (name, filename, content type, size, SHA-256); icu's parameters
//! are kept with `Data` replaced by its decoded size and SHA-256; any other body is its first
//! [`MAX_BODY_TEXT`] bytes. The provider handlers build it from what they already parsed and
//! leave it on their answer as a [`BodyNote`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most of an unparsed body an entry keeps.
pub const MAX_BODY_TEXT: usize = 1024;
/// The most parts of a multipart body an entry describes.
pub const MAX_PARTS: usize = 16;
/// The most parameters an entry keeps.
pub const MAX_PARAMS: usize = 32;
/// The most of one parameter value, part name, filename or content type an entry keeps.
pub const MAX_FIELD: usize = 256;

/// A request body, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BodySummary {
    /// `multipart/form-data`: each part, in order.
    Multipart {
        /// The parts (at most [`MAX_PARTS`]).
        parts: Vec<PartSummary>,
        /// Parts past the bound, not described.
        #[serde(default, skip_serializing_if = "is_zero")]
        omitted: usize,
    },
    /// icu's parameters (JSON or form), as decoded; `Data` is `{"size", "sha256"}` when it
    /// was decoded, `{"chars"}` (its base64 length) when it was refused.
    Params {
        /// The parameters by name: scalars as sent (strings cut to [`MAX_FIELD`]), arrays
        /// and objects as their JSON text, cut likewise.
        #[schema(value_type = Object)]
        params: Map<String, Value>,
        /// Parameters past [`MAX_PARAMS`], not kept.
        #[serde(default, skip_serializing_if = "is_zero")]
        omitted: usize,
    },
    /// Any other body: its start, as UTF-8 (invalid bytes shown as U+FFFD).
    Text {
        /// The first [`MAX_BODY_TEXT`] bytes at most.
        text: String,
        /// Bytes the simulator read of the body.
        size: u64,
        /// Whether `text` is shorter than the body.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        truncated: bool,
    },
}

/// One part of a multipart body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartSummary {
    /// The part's `name`.
    pub name: Option<String>,
    /// The part's `filename`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The part's `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Bytes of the part the simulator read.
    pub size: u64,
    /// SHA-256 of the part (hex); absent when the part was not read to its end (the upload
    /// was refused while it was being read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl PartSummary {
    /// A part with its header fields cut to [`MAX_FIELD`].
    pub fn new(name: Option<&str>, filename: Option<&str>, content_type: Option<&str>) -> Self {
        PartSummary {
            name: name.map(cut),
            filename: filename.map(cut),
            content_type: content_type.map(cut),
            ..PartSummary::default()
        }
    }

    fn cost(&self) -> usize {
        [&self.name, &self.filename, &self.content_type, &self.sha256]
            .into_iter()
            .flatten()
            .map(String::len)
            .sum::<usize>()
            + 48
    }
}

/// The parts of a multipart body described so far, while it is read.
#[derive(Debug, Default)]
pub struct PartsSeen {
    /// The first [`MAX_PARTS`] parts.
    pub parts: Vec<PartSummary>,
    /// Parts past the bound.
    pub omitted: usize,
}

impl PartsSeen {
    /// Describes a new part; its index in `parts`, if it has room.
    pub fn start(&mut self, part: PartSummary) -> Option<usize> {
        if self.parts.len() >= MAX_PARTS {
            self.omitted += 1;
            return None;
        }
        self.parts.push(part);
        Some(self.parts.len() - 1)
    }

    /// The summary, if any part was seen.
    pub fn summary(self) -> Option<BodySummary> {
        (!self.parts.is_empty()).then_some(BodySummary::Multipart {
            parts: self.parts,
            omitted: self.omitted,
        })
    }
}

/// The summary a provider handler leaves on its answer (via response extensions) for the
/// journal.
#[derive(Debug, Clone)]
pub struct BodyNote(pub BodySummary);

impl BodySummary {
    /// The start of a body the handler did not parse: `prefix` (its first bytes) of `size`.
    pub fn text(prefix: &[u8], size: u64) -> Self {
        let prefix = &prefix[..prefix.len().min(MAX_BODY_TEXT)];
        let mut text = String::from_utf8_lossy(prefix).into_owned();
        // A lossy decoding may grow (U+FFFD is 3 bytes); keep the bound.
        if text.len() > MAX_BODY_TEXT {
            let mut end = MAX_BODY_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        BodySummary::Text {
            truncated: (prefix.len() as u64) < size,
            text,
            size,
        }
    }

    /// icu parameters by name, bounded; `Data` is kept as its base64 length until
    /// [`set_data`](Self::set_data) says what it decoded to.
    pub fn params<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> Self {
        let mut params = Map::new();
        let mut omitted = 0;
        for (name, value) in fields {
            if params.len() >= MAX_PARAMS {
                omitted += 1;
                continue;
            }
            let kept = match (name, value) {
                ("Data", Value::String(b64)) => serde_json::json!({ "chars": b64.len() }),
                (_, Value::String(s)) => Value::String(cut(s)),
                (_, Value::Array(_) | Value::Object(_)) => Value::String(cut(&value.to_string())),
                (_, scalar) => scalar.clone(),
            };
            params.insert(cut(name), kept);
        }
        BodySummary::Params { params, omitted }
    }

    /// Records what icu's `Data` decoded to.
    pub fn set_data(&mut self, size: usize, sha256: &[u8; 32]) {
        if let BodySummary::Params { params, .. } = self {
            if let Some(data) = params.get_mut("Data") {
                *data = serde_json::json!({ "size": size, "sha256": hex::encode(sha256) });
            }
        }
    }

    /// Bytes this summary counts against the journal's budget.
    pub fn cost(&self) -> usize {
        match self {
            BodySummary::Multipart { parts, .. } => {
                parts.iter().map(PartSummary::cost).sum::<usize>() + 32
            }
            BodySummary::Params { params, .. } => {
                params
                    .iter()
                    .map(|(k, v)| k.len() + value_cost(v) + 32)
                    .sum::<usize>()
                    + 32
            }
            BodySummary::Text { text, .. } => text.len() + 32,
        }
    }
}

/// A kept value's bytes: strings by length, `Data`'s object by its few fields.
fn value_cost(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + value_cost(v) + 8).sum(),
        _ => 16,
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `text` cut to [`MAX_FIELD`] bytes at a character boundary, with `…` when cut.
pub fn cut(text: &str) -> String {
    if text.len() <= MAX_FIELD {
        return text.to_owned();
    }
    let mut end = MAX_FIELD - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_keep_data_as_its_size_and_hash_and_cut_long_values() {
        let long = "x".repeat(10_000);
        let fields = json!({"Data": "AAAA", "EngineModelType": "16k_zh", "Long": long, "N": 1});
        let Value::Object(map) = fields else {
            unreachable!()
        };
        let mut summary = BodySummary::params(map.iter().map(|(k, v)| (k.as_str(), v)));
        let BodySummary::Params { params, .. } = &summary else {
            panic!("{summary:?}")
        };
        assert_eq!(params["Data"], json!({"chars": 4}));
        assert_eq!(params["N"], json!(1));
        assert!(params["Long"].as_str().unwrap().len() <= MAX_FIELD);
        summary.set_data(3, &[0; 32]);
        let BodySummary::Params { params, .. } = &summary else {
            panic!("{summary:?}")
        };
        assert_eq!(params["Data"]["size"], json!(3));
        assert_eq!(params["Data"]["sha256"], json!("00".repeat(32)));
        assert!(summary.cost() < 1024);
    }

    #[test]
    fn params_past_the_bound_are_counted_not_kept() {
        let map: Map<String, Value> = (0..100).map(|i| (format!("p{i:03}"), json!(i))).collect();
        let summary = BodySummary::params(map.iter().map(|(k, v)| (k.as_str(), v)));
        let BodySummary::Params { params, omitted } = summary else {
            panic!()
        };
        assert_eq!((params.len(), omitted), (MAX_PARAMS, 100 - MAX_PARAMS));
    }

    #[test]
    fn text_keeps_the_start_within_the_bound() {
        let body = vec![0xffu8; 5000];
        let BodySummary::Text {
            text,
            size,
            truncated,
        } = BodySummary::text(&body, 5000)
        else {
            panic!()
        };
        assert!(text.len() <= MAX_BODY_TEXT && text.starts_with('\u{FFFD}'));
        assert_eq!((size, truncated), (5000, true));
        assert_eq!(
            BodySummary::text(b"{}", 2),
            BodySummary::Text {
                text: "{}".into(),
                size: 2,
                truncated: false
            }
        );
    }
}
