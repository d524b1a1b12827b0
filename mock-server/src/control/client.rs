//! [`Control`]: a typed client for the control API, one method per route, for tests and
//! tools that drive a simulator (in process or the binary).

use bytes::Bytes;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::types::*;
use crate::routes::admin;

/// Why a control-API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The simulator answered with an error (or with another status than the route's).
    #[error("{status}: {message}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The server's `error` message (the raw body if it had none).
        message: String,
    },
    /// The request did not get an answer.
    #[error("control API unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    /// The answer was not the JSON this route gives.
    #[error("control API answer not understood: {0}")]
    Decode(#[source] serde_json::Error),
}

impl ControlError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ControlError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's message, when it answered with an error.
    pub fn message(&self) -> Option<&str> {
        match self {
            ControlError::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A simulator's control API (`/__admin/`). Cheap to clone: clones share one connection
/// pool.
#[derive(Debug, Clone)]
pub struct Control {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

impl Control {
    /// The control API of the simulator at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Control {
            http: reqwest::Client::new(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// Sends requests through `http` instead of a default client: its proxy settings,
    /// timeouts and TLS roots (a default client honours `HTTP_PROXY`, which a simulator on
    /// loopback rarely wants).
    pub fn with_http(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Sends `token` as a bearer token, for a simulator started with `--admin-token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The simulator's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full URL of hosted audio `name`, for a task's `Url`.
    pub fn audio_url(&self, name: &str) -> String {
        format!("{}{}", self.base_url, admin::fill(admin::AUDIO_FILE, name))
    }

    /// `GET /__admin/health` (open even with an admin token).
    pub async fn health(&self) -> Result<Health, ControlError> {
        self.json(self.request(Method::GET, admin::HEALTH), StatusCode::OK)
            .await
    }

    /// `POST /__admin/reset`: forgets tasks, journals, API fixtures, activations, hosted
    /// audio and the sink.
    pub async fn reset(&self) -> Result<ResetDone, ControlError> {
        self.json(self.request(Method::POST, admin::RESET), StatusCode::OK)
            .await
    }

    /// `POST /__admin/state/save`: writes the state file now.
    pub async fn save_state(&self) -> Result<Saved, ControlError> {
        self.json(
            self.request(Method::POST, admin::STATE_SAVE),
            StatusCode::OK,
        )
        .await
    }

    /// `GET /__admin/requests`: the newest journal entries.
    pub async fn requests(&self, query: RequestsQuery) -> Result<Requests, ControlError> {
        let req = self.request(Method::GET, admin::REQUESTS).query(&query);
        self.json(req, StatusCode::OK).await
    }

    /// `POST /__admin/requests/find`: the newest entries `matcher` accepts (at most its
    /// `limit`, default 100), oldest first.
    pub async fn find(&self, matcher: &RequestMatcher) -> Result<Requests, ControlError> {
        self.send_json(Method::POST, admin::REQUESTS_FIND, matcher, StatusCode::OK)
            .await
    }

    /// `POST /__admin/requests/count`: how many entries `matcher` accepts.
    pub async fn count(&self, matcher: &RequestMatcher) -> Result<usize, ControlError> {
        let answer: RequestCount = self
            .send_json(Method::POST, admin::REQUESTS_COUNT, matcher, StatusCode::OK)
            .await?;
        Ok(answer.count)
    }

    /// `DELETE /__admin/requests`: empties the journal.
    pub async fn clear_requests(&self) -> Result<(), ControlError> {
        self.empty(self.request(Method::DELETE, admin::REQUESTS))
            .await
    }

    /// `GET /__admin/fixtures`.
    pub async fn fixtures(&self) -> Result<Fixtures, ControlError> {
        self.json(self.request(Method::GET, admin::FIXTURES), StatusCode::OK)
            .await
    }

    /// `POST /__admin/fixtures`: registers a transcript for an audio file.
    pub async fn add_fixture(&self, fixture: &NewFixture) -> Result<FixtureAdded, ControlError> {
        let req = self.request(Method::POST, admin::FIXTURES).json(fixture);
        self.json(req, StatusCode::CREATED).await
    }

    /// `GET /__admin/clock`.
    pub async fn clock(&self) -> Result<ClockView, ControlError> {
        self.json(self.request(Method::GET, admin::CLOCK), StatusCode::OK)
            .await
    }

    /// `POST /__admin/clock`: a new mode and/or time.
    pub async fn set_clock(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        self.send_json(Method::POST, admin::CLOCK, &change, StatusCode::OK)
            .await
    }

    /// `POST /__admin/clock/advance`.
    pub async fn advance_clock(&self, by: Advance) -> Result<ClockView, ControlError> {
        self.send_json(Method::POST, admin::CLOCK_ADVANCE, &by, StatusCode::OK)
            .await
    }

    /// `GET /__admin/tasks`: icu tasks, newest first.
    pub async fn tasks(&self, query: TasksQuery) -> Result<Tasks, ControlError> {
        let req = self.request(Method::GET, admin::TASKS).query(&query);
        self.json(req, StatusCode::OK).await
    }

    /// `GET /__admin/tasks/{id}`: one task, without counting a poll.
    pub async fn task(&self, task_id: u64) -> Result<TaskDetail, ControlError> {
        let path = admin::fill(admin::TASK, task_id);
        self.json(self.request(Method::GET, &path), StatusCode::OK)
            .await
    }

    /// `POST /__admin/tasks/{id}/transition`: forces a task forward.
    pub async fn transition(
        &self,
        task_id: u64,
        transition: Transition,
    ) -> Result<Transitioned, ControlError> {
        let path = admin::fill(admin::TASK_TRANSITION, task_id);
        self.send_json(Method::POST, &path, &transition, StatusCode::OK)
            .await
    }

    /// `GET /__admin/callbacks`: callback attempts, all or one task's.
    pub async fn callbacks(&self, query: CallbacksQuery) -> Result<CallbackLog, ControlError> {
        let req = self.request(Method::GET, admin::CALLBACKS).query(&query);
        self.json(req, StatusCode::OK).await
    }

    /// `GET /__admin/icu/settings`.
    pub async fn icu_settings(&self) -> Result<IcuSettings, ControlError> {
        self.json(
            self.request(Method::GET, admin::ICU_SETTINGS),
            StatusCode::OK,
        )
        .await
    }

    /// `POST /__admin/icu/settings`: progress and rate limits.
    pub async fn set_icu_settings(
        &self,
        change: SettingsChange,
    ) -> Result<IcuSettings, ControlError> {
        self.send_json(Method::POST, admin::ICU_SETTINGS, &change, StatusCode::OK)
            .await
    }

    /// `GET /__admin/scenarios`.
    pub async fn scenarios(&self) -> Result<ScenarioList, ControlError> {
        self.json(self.request(Method::GET, admin::SCENARIOS), StatusCode::OK)
            .await
    }

    /// `POST /__admin/scenarios/activate`.
    pub async fn activate(&self, activation: &Activation) -> Result<Active, ControlError> {
        let path = admin::SCENARIOS_ACTIVATE;
        self.send_json(Method::POST, path, activation, StatusCode::OK)
            .await
    }

    /// `POST /__admin/scenarios/deactivate`.
    pub async fn deactivate(&self, activation: &Activation) -> Result<Active, ControlError> {
        let path = admin::SCENARIOS_DEACTIVATE;
        self.send_json(Method::POST, path, activation, StatusCode::OK)
            .await
    }

    /// `PUT /__admin/audio/{name}`: hosts `bytes` (see [`audio_url`](Self::audio_url)).
    pub async fn upload_audio(
        &self,
        name: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<AudioFile, ControlError> {
        let path = admin::fill(admin::AUDIO_FILE, name);
        let req = self.request(Method::PUT, &path).body(bytes.into());
        self.json(req, StatusCode::CREATED).await
    }

    /// `GET /__admin/audio`: hosted files.
    pub async fn audio_files(&self) -> Result<AudioFiles, ControlError> {
        self.json(self.request(Method::GET, admin::AUDIO), StatusCode::OK)
            .await
    }

    /// `DELETE /__admin/audio/{name}`.
    pub async fn remove_audio(&self, name: &str) -> Result<(), ControlError> {
        let path = admin::fill(admin::AUDIO_FILE, name);
        self.empty(self.request(Method::DELETE, &path)).await
    }

    /// `GET /__admin/audio/generated/{kind}`: a generated WAV file.
    pub async fn generated_audio(
        &self,
        kind: Generated,
        query: GenerateQuery,
    ) -> Result<Bytes, ControlError> {
        let path = admin::fill(admin::AUDIO_GENERATED, kind.file_name());
        let req = self.request(Method::GET, &path).query(&query);
        self.answer(req, StatusCode::OK).await
    }

    /// `GET /__admin/sink`: callbacks the built-in receiver got.
    pub async fn sink(&self) -> Result<SinkLog, ControlError> {
        self.json(self.request(Method::GET, admin::SINK), StatusCode::OK)
            .await
    }

    /// `DELETE /__admin/sink`.
    pub async fn clear_sink(&self) -> Result<(), ControlError> {
        self.empty(self.request(Method::DELETE, admin::SINK)).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        expected: StatusCode,
    ) -> Result<T, ControlError> {
        self.json(self.request(method, path).json(body), expected)
            .await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        expected: StatusCode,
    ) -> Result<T, ControlError> {
        let body = self.answer(req, expected).await?;
        serde_json::from_slice(&body).map_err(ControlError::Decode)
    }

    async fn empty(&self, req: RequestBuilder) -> Result<(), ControlError> {
        self.answer(req, StatusCode::NO_CONTENT).await.map(drop)
    }

    /// Sends `req` and returns its body when the status is the route's; the server and this
    /// client ship together, so any other status is an error worth seeing.
    async fn answer(
        &self,
        req: RequestBuilder,
        expected: StatusCode,
    ) -> Result<Bytes, ControlError> {
        let res = req.send().await.map_err(ControlError::Transport)?;
        let status = res.status();
        let body = res.bytes().await.map_err(ControlError::Transport)?;
        if status == expected {
            return Ok(body);
        }
        let message = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => e.error,
            Err(_) if status.is_success() => format!("expected {expected}"),
            Err(_) => String::from_utf8_lossy(&body).into_owned(),
        };
        Err(ControlError::Status { status, message })
    }
}
