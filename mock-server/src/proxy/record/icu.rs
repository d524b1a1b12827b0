//! icu through the proxy: a submit's audio (`Data`) and settings are kept by the upstream's
//! TaskId until a poll shows the task ended; a success becomes the `[icu]` table of the
//! audio's fixture, a failure and every error envelope a scenario.
//!
//! A task submitted by `Url` has its audio fetched by the proxy too (the simulator's own
//! downloader: its size cap, timeout, concurrency and guard), in the background, so the
//! fixture is keyed by the same hash the replay's download will have; a poll showing the
//! result waits for that fetch at most [`FETCH_WAIT`].

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::coze::log_fixture;
use super::errors::{self, failure_of, Recorded};
use super::files::Files;
use super::{Exchange, Secrets};
use crate::outbound::download::Downloader;
use crate::providers::icu::params::{parse_submit, parse_task_id, RawParams, Source};
use crate::providers::icu::replay::{recording_from_answer, renders_back, settings_of};
use crate::providers::icu::wire::SentenceDetail;
use crate::routes::Endpoint;
use crate::transcript::{Fixture, IcuSettings};

/// Most submitted tasks waiting for their result; the oldest is forgotten beyond it.
const MAX_PENDING: usize = 10_000;

/// The longest a poll's recording waits for a Url task's audio still being fetched.
const FETCH_WAIT: Duration = Duration::from_secs(60);

/// A submitted task's audio hash (or the fetch that will give it) and settings.
#[derive(Debug, Clone)]
struct Task {
    audio: Audio,
    settings: IcuSettings,
}

/// Where a task's audio hash comes from.
#[derive(Debug, Clone)]
enum Audio {
    /// `Data`: hashed at submit.
    Known([u8; 32]),
    /// `Url`: fetched by the proxy; the hash or why not, once done.
    Fetching(watch::Receiver<Option<Result<[u8; 32], String>>>),
}

impl Audio {
    /// The hash, once known; why not otherwise.
    async fn sha256(self) -> Result<[u8; 32], String> {
        match self {
            Audio::Known(sha) => Ok(sha),
            Audio::Fetching(mut rx) => {
                let done = tokio::time::timeout(FETCH_WAIT, rx.wait_for(Option::is_some)).await;
                match done {
                    Ok(Ok(value)) => value
                        .clone()
                        .unwrap_or_else(|| Err("the fetch ended without a result".into())),
                    Ok(Err(_)) => Err("the fetch was dropped".into()),
                    Err(_) => Err(format!(
                        "the audio was still being fetched after {} s",
                        FETCH_WAIT.as_secs()
                    )),
                }
            }
        }
    }
}

/// Fetches a Url task's audio in the background for its hash.
fn fetch(downloader: &Downloader, url: String) -> Audio {
    let (tx, rx) = watch::channel(None);
    let downloader = downloader.clone();
    tokio::spawn(async move {
        let sha = downloader
            .fetch(&url)
            .await
            .map(|d| d.sha256())
            .map_err(|e| format!("the audio could not be fetched: {e}"));
        let _ = tx.send(Some(sha));
    });
    Audio::Fetching(rx)
}

/// Tasks submitted through the proxy, by the upstream's TaskId; bounded.
#[derive(Debug, Default)]
pub struct Pending(Mutex<(HashMap<u64, Task>, VecDeque<u64>)>);

impl Pending {
    fn insert(&self, task_id: u64, task: Task) {
        let mut guard = self.0.lock();
        let (map, order) = &mut *guard;
        if map.insert(task_id, task).is_none() {
            order.push_back(task_id);
        }
        while order.len() > MAX_PENDING {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    fn take(&self, task_id: u64) -> Option<Task> {
        let mut guard = self.0.lock();
        let (map, order) = &mut *guard;
        let task = map.remove(&task_id)?;
        order.retain(|id| *id != task_id);
        Some(task)
    }
}

fn content_type<'a>(ex: &'a Exchange<'_>) -> Option<&'a str> {
    ex.request_headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The answer's envelope: `code`, `msg` and `data`.
fn envelope(ex: &Exchange<'_>) -> Option<(i64, String, Value)> {
    let answer = ex.answer?;
    let code = answer.get("code")?.as_i64()?;
    let msg = answer
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let data = answer.get("data").cloned().unwrap_or(Value::Null);
    Some((code, msg, data))
}

/// The `data` of a success answer; an error envelope is recorded as a scenario instead.
async fn success_data(
    files: &Files,
    secrets: &Secrets,
    ex: &Exchange<'_>,
    endpoint: Endpoint,
) -> Option<Value> {
    let Some((code, msg, data)) = envelope(ex) else {
        tracing::info!(
            status = ex.status,
            "record: icu answer is not its envelope, not recorded"
        );
        return None;
    };
    if code != 0 {
        errors::record(files, secrets, &Recorded::icu(endpoint, ex.status, &msg)).await;
        return None;
    }
    Some(data)
}

/// A submit: keeps the task's audio hash and settings, or records the error.
pub async fn submitted(
    files: &Files,
    pending: &Pending,
    downloader: Option<&Downloader>,
    secrets: &Secrets,
    ex: &Exchange<'_>,
) {
    let Some(data) = success_data(files, secrets, ex, Endpoint::Submit).await else {
        return;
    };
    let Some(task_id) = data.get("TaskId").and_then(Value::as_u64) else {
        return;
    };
    let params = RawParams::from_body(content_type(ex), ex.body)
        .ok()
        .and_then(|raw| parse_submit(&raw).ok());
    match params {
        Some(p) => {
            let audio = match (&p.source, downloader) {
                (Source::Data(audio), _) => Audio::Known(Sha256::digest(audio).into()),
                (Source::Url(url), Some(downloader)) => fetch(downloader, url.clone()),
                (Source::Url(_), None) => return,
            };
            pending.insert(
                task_id,
                Task {
                    audio,
                    settings: settings_of(&p),
                },
            );
        }
        None => tracing::info!(
            task_id,
            "record: the upstream took a submit the simulator would refuse; not recorded"
        ),
    }
}

/// A poll: an ended task's result or failure is recorded, as is an error envelope.
pub async fn queried(files: &Files, pending: &Pending, secrets: &Secrets, ex: &Exchange<'_>) {
    let Some(data) = success_data(files, secrets, ex, Endpoint::Query).await else {
        return;
    };
    let task_id = data.get("TaskId").and_then(Value::as_u64).or_else(|| {
        RawParams::from_query(ex.query)
            .ok()
            .and_then(|raw| parse_task_id(&raw).ok())
            .or_else(|| {
                RawParams::from_body(content_type(ex), ex.body)
                    .ok()
                    .and_then(|raw| parse_task_id(&raw).ok())
            })
    });
    let Some(task_id) = task_id else {
        return;
    };
    match data.get("Status").and_then(Value::as_u64) {
        Some(2) => {
            let Some(task) = pending.take(task_id) else {
                tracing::debug!(
                    task_id,
                    "record: a result already recorded, or not submitted here"
                );
                return;
            };
            let result = data.get("Result").and_then(Value::as_str).unwrap_or("");
            let detail: Vec<SentenceDetail> = data
                .get("ResultDetail")
                .cloned()
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default();
            record_result(files, secrets, task, result, &detail).await;
        }
        Some(3) => {
            pending.take(task_id);
            let message = data
                .get("ErrorMsg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let recorded = Recorded::IcuTask {
                code: failure_of(&message),
                message,
            };
            errors::record(files, secrets, &recorded).await;
        }
        _ => {}
    }
}

/// Writes a success into the `[icu]` table of the audio's fixture.
async fn record_result(
    files: &Files,
    secrets: &Secrets,
    task: Task,
    result: &str,
    detail: &[SentenceDetail],
) {
    let sha256 = match task.audio.sha256().await {
        Ok(sha) => sha,
        Err(reason) => {
            tracing::warn!(%reason, "record: icu result not recorded");
            return;
        }
    };
    let result = secrets.scrub(result);
    let mut recording = match recording_from_answer(task.settings, &result, detail) {
        Ok(recording) => recording,
        Err(reason) => {
            tracing::warn!(sha256 = %hex::encode(sha256), %reason, "record: icu result not recorded");
            return;
        }
    };
    if let Err(reason) = renders_back(&recording, &result, detail) {
        // Kept anyway: the words and timings are right, a derived field differs.
        tracing::warn!(sha256 = %hex::encode(sha256), %reason, "record: the replay will differ from this icu answer");
    }
    for s in &mut recording.sentences {
        s.text = secrets.scrub(&s.text);
    }
    let separator = task.settings.engine.language().sentence_separator();
    let written = files
        .update_fixture(sha256, move |current| {
            let text = || {
                recording
                    .sentences
                    .iter()
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join(separator)
            };
            match current {
                Some(mut fixture) => {
                    fixture.icu = Some(recording);
                    fixture
                }
                None => Fixture {
                    text: text(),
                    sentences: None,
                    icu: Some(recording),
                },
            }
        })
        .await;
    log_fixture("icu", &sha256, written);
}
