//! A hand-built client for asr-mock's control API (`/__admin/`): the checks use it to move
//! the simulator's clock, force task transitions, host audio and read its journals. It is
//! apart from the target because it is one thing a target may or may not have, and it needs
//! nothing of the target's but an HTTP client (the target holds it; it never looks back).

use std::time::Duration;

use serde_json::{json, Value};

use crate::wire::{Answer, CALL_TIMEOUT};

/// How long a remote control API may take to answer its health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A simulator's control API (`/__admin/`), the same for the in-process and a remote one.
#[derive(Debug, Clone)]
pub struct Control {
    /// The simulator's base URL; the control paths hang off it.
    base_url: String,
    /// The target's HTTP client, so control calls bypass proxies exactly as checks do.
    http: reqwest::Client,
}

impl Control {
    /// The control API of a simulator known to be at `base_url` (the in-process one).
    pub(crate) fn new(base_url: String, http: reqwest::Client) -> Control {
        Control { base_url, http }
    }

    /// `Some` when `base_url` answers `GET /__admin/health` like asr-mock.
    pub(crate) async fn probe(http: &reqwest::Client, base_url: &str) -> Option<Control> {
        let answer = Answer::fetch(
            http.get(format!("{base_url}/__admin/health"))
                .timeout(PROBE_TIMEOUT),
        )
        .await
        .ok()?;
        let health = answer.json().ok()?;
        (answer.status == 200 && health["status"] == "ok").then(|| Control {
            base_url: base_url.to_owned(),
            http: http.clone(),
        })
    }

    /// The simulator's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET` a control path; the JSON answer of a 2xx.
    pub async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(self.http.get(format!("{}{path}", self.base_url)), path)
            .await
    }

    /// `POST` JSON to a control path; the JSON answer of a 2xx.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(
            self.http
                .post(format!("{}{path}", self.base_url))
                .json(&body),
            path,
        )
        .await
    }

    async fn call(&self, request: reqwest::RequestBuilder, path: &str) -> Result<Value, String> {
        let answer = Answer::fetch(request.timeout(CALL_TIMEOUT)).await?;
        if !(200..300).contains(&answer.status) {
            return Err(format!(
                "control API {path}: HTTP {}: {}",
                answer.status,
                answer.body_preview()
            ));
        }
        answer.json()
    }

    /// Whether the simulator's clock is manual (moves only when told): only then is what a
    /// poll shows right after a submit certain.
    pub async fn manual_clock(&self) -> Result<bool, String> {
        let v = self.get("/__admin/clock").await?;
        Ok(v["mode"]["mode"] == "manual" || v["mode"] == "manual")
    }

    /// Moves the simulator's clock forward (tasks, callbacks and rate windows follow).
    pub async fn advance(&self, ms: u64) -> Result<(), String> {
        self.post("/__admin/clock/advance", json!({ "ms": ms }))
            .await
            .map(drop)
    }

    /// Changes how icu tasks progress and the rate limits (`/__admin/icu/settings`).
    pub async fn icu_settings(&self, change: Value) -> Result<Value, String> {
        self.post("/__admin/icu/settings", change).await
    }

    /// Forces a task forward (`/__admin/tasks/{id}/transition`).
    pub async fn transition(&self, task_id: u64, change: Value) -> Result<Value, String> {
        self.post(&format!("/__admin/tasks/{task_id}/transition"), change)
            .await
    }

    /// Every callback attempt for a task (`/__admin/callbacks?task_id=`).
    pub async fn callback_attempts(&self, task_id: u64) -> Result<Vec<Value>, String> {
        let v = self
            .get(&format!("/__admin/callbacks?task_id={task_id}"))
            .await?;
        Ok(v["attempts"].as_array().cloned().unwrap_or_default())
    }

    /// The sequence number of the newest provider request the simulator journaled (0 when
    /// none): unchanged across a block of code proves it sent nothing.
    pub async fn last_request_seq(&self) -> Result<u64, String> {
        let v = self.get("/__admin/requests?limit=1").await?;
        Ok(v["requests"][0]["seq"].as_u64().unwrap_or(0))
    }

    /// Hosts `bytes` at `/__admin/audio/{name}` and returns its full URL, for Url tasks.
    pub async fn host_audio(&self, name: &str, bytes: &[u8]) -> Result<String, String> {
        let url = format!("{}/__admin/audio/{name}", self.base_url);
        let answer = Answer::fetch(self.http.put(&url).body(bytes.to_vec())).await?;
        if !(200..300).contains(&answer.status) {
            return Err(format!(
                "hosting {name}: HTTP {}: {}",
                answer.status,
                answer.body_preview()
            ));
        }
        Ok(url)
    }
}
