//! The control API under `/__admin/`: health, reset, the request journal, transcript
//! fixtures, the clock, icu tasks and callbacks, and hosted audio. JSON in and out; every
//! error is `{"error": "…"}` with a 4xx.

mod access;
pub mod audio;
mod events;
mod find;
mod metrics;
pub mod openapi;
mod scenarios;
pub mod sink;
mod tasks;
mod ui;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::bus::Topic;
use crate::clock::to_utc;
use crate::control::types::{
    Advance, ClockChange, ClockChangeBody, ClockView, ErrorBody, FixtureAdded, FixtureInfo,
    Fixtures, Health, NewFixture, Requests, RequestsQuery, ResetDone, Saved,
};
use crate::routes;
use crate::state::AppState;
use crate::transcript::Fixture;

/// Largest control-API body: a fixture may carry a 10 MB upload in base64.
const MAX_ADMIN_BODY: usize = 20 * 1024 * 1024;

/// The control API's routes (mounted at the root; every path starts with `/__admin/`).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(routes::admin::HEALTH, get(health))
        .route(routes::admin::OPENAPI, get(openapi::serve))
        .route(routes::admin::RESET, post(reset))
        .route(
            routes::admin::REQUESTS,
            get(requests).delete(clear_requests),
        )
        .route(
            routes::admin::FIXTURES,
            get(list_fixtures).post(add_fixture),
        )
        .route(routes::admin::CLOCK, get(clock).post(set_clock))
        .route(routes::admin::CLOCK_ADVANCE, post(advance_clock))
        .route(routes::admin::STATE_SAVE, post(save_state))
        .merge(find::router())
        .merge(tasks::router())
        .merge(sink::router())
        .merge(scenarios::router())
        .merge(events::router())
        .merge(ui::router())
        .merge(metrics::router())
        .route(&routes::catch_all("/__admin/"), axum::routing::any(unknown))
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY))
        .merge(audio::router())
        .method_not_allowed_fallback(wrong_method)
        .route_layer(axum::middleware::from_fn_with_state(state, access::check))
}

/// A known path with a method it does not take: 405 in the control API's JSON, not axum's
/// empty body.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> AdminError {
    AdminError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

/// A control-API error: status and message.
#[derive(Debug)]
pub struct AdminError(StatusCode, String);

impl AdminError {
    fn bad(msg: impl Into<String>) -> Self {
        AdminError(StatusCode::BAD_REQUEST, msg.into())
    }

    fn not_found(msg: impl Into<String>) -> Self {
        AdminError(StatusCode::NOT_FOUND, msg.into())
    }

    fn conflict(msg: impl Into<String>) -> Self {
        AdminError(StatusCode::CONFLICT, msg.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<JsonRejection> for AdminError {
    /// A body of the wrong shape (a negative `ms`, a number past `i64`) is a bad request like
    /// any other: 400, not axum's 422.
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
            _ => rejection.status(),
        };
        AdminError(status, rejection.body_text())
    }
}

/// `Json` whose rejections come back in the control API's own error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AdminError))]
pub struct AdminJson<T>(pub T);

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        seed: state.seed,
        now_ms: state.clock.now_ms(),
        fixtures: state.fixtures.len(),
        icu_tasks: state.icu.tasks.len(),
        callbacks_pending: state.icu.tasks.callbacks().pending(),
    })
}

/// Saves the state file now (tests, operators before a planned restart).
async fn save_state(State(state): State<AppState>) -> Result<Json<Saved>, AdminError> {
    match crate::persist::save(&state).await {
        Ok(report) => Ok(Json(Saved {
            saved: true,
            report: report.into(),
        })),
        Err(e @ crate::persist::SaveError::NotConfigured) => {
            Err(AdminError::not_found(e.to_string()))
        }
        Err(e) => Err(AdminError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn reset(State(state): State<AppState>) -> Json<ResetDone> {
    state.reset();
    Json(ResetDone { reset: true })
}

async fn requests(
    State(state): State<AppState>,
    query: Result<Query<RequestsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Requests>, AdminError> {
    let Query(query) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    Ok(Json(Requests {
        requests: state.journal.recent(query.limit.unwrap_or(100)),
    }))
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.journal.clear();
    StatusCode::NO_CONTENT
}

async fn list_fixtures(State(state): State<AppState>) -> Json<Fixtures> {
    let fixtures = state
        .fixtures
        .list()
        .into_iter()
        .map(|(sha256, fixture, source)| FixtureInfo {
            sha256,
            source: source.to_string(),
            fixture,
        })
        .collect();
    Json(Fixtures { fixtures })
}

async fn add_fixture(
    State(state): State<AppState>,
    AdminJson(new): AdminJson<NewFixture>,
) -> Result<(StatusCode, Json<FixtureAdded>), AdminError> {
    let sha: [u8; 32] = match (&new.sha256, &new.audio_base64) {
        (Some(hex_sha), None) => {
            let bytes = hex::decode(hex_sha.trim())
                .map_err(|e| AdminError::bad(format!("sha256 is not hex: {e}")))?;
            bytes
                .try_into()
                .map_err(|_| AdminError::bad("sha256 must be 64 hex digits (32 bytes)"))?
        }
        (None, Some(b64)) => {
            let audio = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| AdminError::bad(format!("audio_base64 is not valid base64: {e}")))?;
            Sha256::digest(&audio).into()
        }
        _ => {
            return Err(AdminError::bad(
                "give exactly one of sha256 and audio_base64",
            ))
        }
    };
    let fixture = Fixture {
        text: new.text,
        sentences: new.sentences,
        icu: new.icu,
    };
    state
        .fixtures
        .register(sha, fixture)
        .map_err(|e| AdminError::bad(e.to_string()))?;
    let sha256 = hex::encode(sha);
    state
        .bus
        .publish_with(Topic::Fixture, || serde_json::json!({ "sha256": sha256 }));
    Ok((StatusCode::CREATED, Json(FixtureAdded { sha256 })))
}

/// Tells the dashboard the clock was set, switched or advanced.
fn announce_clock(state: &AppState, view: &ClockView) {
    state.bus.publish_with(Topic::Clock, || {
        serde_json::to_value(view).unwrap_or_default()
    });
}

fn clock_view(state: &AppState) -> ClockView {
    let now_ms = state.clock.now_ms();
    ClockView {
        now_ms,
        now: to_utc(now_ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        mode: state.clock.mode(),
    }
}

async fn clock(State(state): State<AppState>) -> Json<ClockView> {
    Json(clock_view(&state))
}

/// Checks the whole change before applying any of it (the mode's factor in `try_from`).
async fn set_clock(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<ClockChangeBody>,
) -> Result<Json<ClockView>, AdminError> {
    let change = ClockChange::try_from(body).map_err(AdminError::bad)?;
    if let Some(ms) = change.now_ms {
        state
            .clock
            .set(ms)
            .map_err(|e| AdminError::bad(e.to_string()))?;
    }
    if let Some(mode) = change.mode {
        state
            .clock
            .set_mode(mode)
            .map_err(|e| AdminError::bad(e.to_string()))?;
    }
    let view = clock_view(&state);
    announce_clock(&state, &view);
    Ok(Json(view))
}

async fn advance_clock(
    State(state): State<AppState>,
    AdminJson(by): AdminJson<Advance>,
) -> Result<Json<ClockView>, AdminError> {
    let duration = by.duration().map_err(AdminError::bad)?;
    state
        .clock
        .try_advance(duration)
        .map_err(|e| AdminError::bad(e.to_string()))?;
    let view = clock_view(&state);
    announce_clock(&state, &view);
    Ok(Json(view))
}

async fn unknown(uri: axum::http::Uri) -> AdminError {
    AdminError::not_found(format!("no control endpoint at {}", uri.path()))
}
