//! Error answers as scenario files: each distinct answer (provider, endpoint, status, code,
//! message) once, named `<provider>-<endpoint>-<code>-<hash>` so a test selects it with
//! `X-Mock-Scenario: <name>`.
//!
//! What a scenario can say is what is recorded: Coze's status, code and message; icu's
//! status, error class (the `msg` before `: `) and reason; an icu task's failure code and
//! `ErrorMsg`; a streaming session refused with an `error` event before
//! `transcriptions.created`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::files::Files;
use super::Secrets;
use crate::failure::FailureCode;
use crate::routes::Endpoint;

/// One error answer, as a scenario can reproduce it.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A Coze HTTP error answer.
    Coze {
        /// HTTP status.
        status: u16,
        /// Body `code`.
        code: i64,
        /// Body `msg`.
        msg: String,
    },
    /// An icu error envelope on `endpoint` (`submit` or `query`).
    Icu {
        /// [`Endpoint::Submit`] or [`Endpoint::Query`].
        endpoint: Endpoint,
        /// HTTP status (icu answers its errors with 200).
        status: u16,
        /// The class named before `: ` in `msg`, when it is one the simulator knows.
        class: Option<String>,
        /// The rest of `msg` (all of it without a known class).
        reason: String,
    },
    /// An icu task that ended failed.
    IcuTask {
        /// The failure code (from the message when the poll does not say it).
        code: FailureCode,
        /// `ErrorMsg`.
        message: String,
    },
    /// A streaming session answered with `error` instead of `transcriptions.created`.
    Stream {
        /// `data.code`.
        code: i64,
        /// `data.msg`.
        msg: String,
    },
}

#[derive(Serialize)]
struct ScenarioFile {
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fault: Vec<Fault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<Stream>,
}

#[derive(Serialize)]
struct Fault {
    endpoint: &'static str,
    action: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    message: String,
}

/// `[task]` with its outcome as the inline table the scenario files use.
struct Task {
    code: i64,
    message: String,
}

impl Task {
    fn toml(&self) -> String {
        let message = toml::Value::String(self.message.clone());
        format!(
            "\n[task]\noutcome = {{ code = {}, message = {message} }}\n",
            self.code
        )
    }
}

#[derive(Serialize)]
struct Stream {
    error_code: i64,
    error_message: String,
}

impl Recorded {
    /// An icu error envelope's `msg`, split into the class the simulator knows and the reason.
    pub fn icu(endpoint: Endpoint, status: u16, msg: &str) -> Recorded {
        let known = |name: &str| {
            crate::providers::icu::error::IcuErrorKind::ALL
                .iter()
                .any(|k| k.name() == name)
        };
        match msg.split_once(": ") {
            Some((class, reason)) if known(class) => Recorded::Icu {
                endpoint,
                status,
                class: Some(class.to_owned()),
                reason: reason.to_owned(),
            },
            _ => Recorded::Icu {
                endpoint,
                status,
                class: None,
                reason: msg.to_owned(),
            },
        }
    }

    /// The scenario's name: what it is, then a short hash of the whole answer.
    fn name(&self) -> String {
        let (what, code, key) = match self {
            Recorded::Coze { status, code, msg } => (
                "coze-transcribe",
                code.to_string(),
                format!("{status}|{code}|{msg}"),
            ),
            Recorded::Icu {
                endpoint,
                status,
                class,
                reason,
            } => (
                match endpoint {
                    Endpoint::Submit => "icu-submit",
                    _ => "icu-query",
                },
                class
                    .as_deref()
                    .unwrap_or("error")
                    .to_ascii_lowercase()
                    .replace('.', "-"),
                format!("{status}|{class:?}|{reason}"),
            ),
            Recorded::IcuTask { code, message } => (
                "icu-task",
                code.code().to_string(),
                format!("{}|{message}", code.code()),
            ),
            Recorded::Stream { code, msg } => {
                ("coze-stream", code.to_string(), format!("{code}|{msg}"))
            }
        };
        let hash = Sha256::digest(key.as_bytes());
        let mut name = format!("{what}-{code}-{}", hex::encode(&hash[..4]));
        name.retain(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        name
    }

    /// The scenario file's text, credentials scrubbed from every string.
    fn file(&self, secrets: &Secrets) -> (String, String) {
        let name = self.name();
        let (description, fault, task, stream) = match self {
            Recorded::Coze { status, code, msg } => (
                format!("Recorded: Coze answered {status} / {code} to a transcription."),
                vec![Fault {
                    endpoint: "transcribe",
                    action: "status",
                    status: *status,
                    code: Some(*code),
                    error: None,
                    message: secrets.scrub(msg),
                }],
                None,
                None,
            ),
            Recorded::Icu {
                endpoint,
                status,
                class,
                reason,
            } => (
                format!(
                    "Recorded: icu answered {} to a {endpoint}.",
                    class.as_deref().unwrap_or("an error")
                ),
                vec![Fault {
                    endpoint: endpoint.as_str(),
                    action: "status",
                    status: *status,
                    code: None,
                    error: class.clone(),
                    message: secrets.scrub(reason),
                }],
                None,
                None,
            ),
            Recorded::IcuTask { code, message } => (
                format!("Recorded: an icu task failed with {}.", code.code()),
                Vec::new(),
                Some(Task {
                    code: code.code(),
                    message: secrets.scrub(message),
                }),
                None,
            ),
            Recorded::Stream { code, msg } => (
                format!("Recorded: a Coze streaming session was refused with error {code}."),
                Vec::new(),
                None,
                Some(Stream {
                    error_code: *code,
                    error_message: secrets.scrub(msg),
                }),
            ),
        };
        let body = ScenarioFile {
            name: name.clone(),
            description,
            fault,
            stream,
        };
        let mut toml = toml::to_string(&body).unwrap_or_default();
        if let Some(task) = task {
            toml.push_str(&task.toml());
        }
        let text = format!(
            "# Recorded through the proxy by `asr-mock --record`. Replay it with\n\
             #   asr-mock --scenarios <DIR>/scenarios   and   X-Mock-Scenario: {name}\n\n{toml}"
        );
        (name, text)
    }
}

/// Writes the scenario for `recorded`; a failure is logged, never passed on.
pub async fn record(files: &Files, secrets: &Secrets, recorded: &Recorded) {
    let (name, text) = recorded.file(secrets);
    match files.write_scenario(&name, text).await {
        Ok(path) => tracing::info!(scenario = %name, path = %path.display(), "recorded an error"),
        Err(e) => tracing::warn!(scenario = %name, error = %e, "record: error not written"),
    }
}

/// The failure code an icu `ErrorMsg` stands for: the one whose message (the simulator's or
/// the seed's wording) it starts with, else 10001 (recognition failed) [inferred: a poll does not carry the code].
pub fn failure_of(message: &str) -> FailureCode {
    FailureCode::ALL
        .into_iter()
        .find(|c| {
            [c.default_message(), c.seed_message()]
                .iter()
                .any(|known| message.starts_with(known))
        })
        .or_else(|| FailureCode::from_code(10001))
        .unwrap_or(FailureCode::ALL[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::ScenarioSource;

    #[test]
    fn every_kind_of_error_writes_a_scenario_that_loads() {
        let secrets = Secrets(vec!["pat_secret_token".into()]);
        let all = [
            Recorded::Coze {
                status: 401,
                code: 4100,
                msg: "authentication is invalid: \"pat_secret_token\"\nline".into(),
            },
            Recorded::icu(
                Endpoint::Submit,
                200,
                "InvalidParameterValue: EngineModelType bad",
            ),
            Recorded::icu(
                Endpoint::Query,
                200,
                "something the simulator does not know",
            ),
            Recorded::IcuTask {
                code: failure_of("whatever \"quoted\"\nand a line"),
                message: "whatever \"quoted\"\nand a line".into(),
            },
            Recorded::Stream {
                code: 5000,
                msg: "internal error".into(),
            },
        ];
        let mut names = Vec::new();
        for r in &all {
            let (name, text) = r.file(&secrets);
            assert!(!text.contains("pat_secret_token"), "{text}");
            let (scenario, _) = crate::scenarios::parse::parse_with_name_line(
                &text,
                ScenarioSource::File(format!("{name}.toml").into()),
            )
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(scenario.name, name);
            names.push(name);
        }
        assert!(names[0].starts_with("coze-transcribe-4100-"), "{names:?}");
        assert!(
            names[1].starts_with("icu-submit-invalidparametervalue-"),
            "{names:?}"
        );
        assert!(names[2].starts_with("icu-query-error-"), "{names:?}");
        assert!(names[3].starts_with("icu-task-10001-"), "{names:?}");
        assert_eq!(failure_of("语音时长太长").code(), 10003);
        assert_eq!(
            failure_of("Audio is too short: 300 ms, at least …").code(),
            10002
        );
        // Distinct answers, distinct names; the same answer, the same name.
        let again = all[0].file(&secrets).0;
        assert_eq!(again, names[0]);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
