//! Control API for provider B: list, inspect and force tasks; read callback attempts; change
//! how tasks progress and the rate limits.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AdminError, AdminJson};
use crate::providers::icu::recognize;
use crate::providers::icu::tasks::model::default_message;
use crate::providers::icu::tasks::{ForceError, Progress, Status};
use crate::state::AppState;

/// Routes under `/__admin/tasks`, `/__admin/callbacks` and `/__admin/icu`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/__admin/tasks", get(list))
        .route("/__admin/tasks/{id}", get(inspect))
        .route("/__admin/tasks/{id}/transition", post(transition))
        .route("/__admin/callbacks", get(callbacks))
        .route("/__admin/icu/settings", get(settings).post(set_settings))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

async fn list(
    State(state): State<AppState>,
    query: QueryResult<ListQuery>,
) -> Result<Json<Value>, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            AdminError::bad(format!(
                "unknown status {s:?}: use waiting, doing, success or failed"
            ))
        })?),
    };
    let tasks = state.icu.tasks.list(status, q.limit.unwrap_or(100));
    Ok(Json(json!({ "tasks": tasks })))
}

fn parse_id(id: &str) -> Result<u64, AdminError> {
    id.parse().map_err(|_| {
        AdminError::bad(format!(
            "{id:?} is not a TaskId (an unsigned 64-bit integer)"
        ))
    })
}

async fn inspect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let id = parse_id(&id)?;
    let (task, status) = state
        .icu
        .tasks
        .inspect(id)
        .ok_or_else(|| AdminError::not_found(format!("no task {id}")))?;
    let attempts = state.icu.tasks.callbacks().attempts_for(id);
    Ok(Json(json!({
        "task_id": id,
        "status": status,
        "task": task,
        "callbacks": attempts,
    })))
}

/// `{"status": "doing" | "success" | "failed", "code": 10001, "message": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Transition {
    status: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

async fn transition(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(t): AdminJson<Transition>,
) -> Result<Json<Value>, AdminError> {
    let id = parse_id(&id)?;
    let target = Status::parse(&t.status).ok_or_else(|| {
        AdminError::bad(format!(
            "unknown status {:?}: use doing, success or failed",
            t.status
        ))
    })?;
    let failure = match (target, t.code) {
        (Status::Failed, Some(code)) if (10000..=10007).contains(&code) => Some((
            code,
            t.message
                .unwrap_or_else(|| default_message(code).to_owned()),
        )),
        (Status::Failed, Some(code)) => {
            return Err(AdminError::bad(format!(
                "failure codes are 10000–10007, got {code}"
            )))
        }
        (Status::Failed, None) => Some((
            recognize::RECOGNITION_FAILED,
            t.message
                .unwrap_or_else(|| default_message(10001).to_owned()),
        )),
        (_, Some(_)) => return Err(AdminError::bad("code goes only with status failed")),
        _ => None,
    };
    let status = state
        .icu
        .tasks
        .force(id, target, failure)
        .map_err(|e| match e {
            ForceError::NoSuchTask => AdminError::not_found(format!("no task {id}")),
            ForceError::Refused(why) => AdminError::conflict(why),
        })?;
    Ok(Json(json!({ "task_id": id, "status": status })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbacksQuery {
    task_id: Option<u64>,
}

async fn callbacks(
    State(state): State<AppState>,
    query: QueryResult<CallbacksQuery>,
) -> Result<Json<Value>, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    let callbacks = state.icu.tasks.callbacks();
    let attempts = match q.task_id {
        Some(id) => callbacks.attempts_for(id),
        None => callbacks.attempts(),
    };
    Ok(Json(
        json!({ "attempts": attempts, "pending": callbacks.pending() }),
    ))
}

fn settings_view(state: &AppState) -> Value {
    let engine = state.icu.tasks.settings();
    json!({
        "progress": engine.progress,
        "submit_rate": state.icu.submit_limit.limit(),
        "query_rate": state.icu.query_limit.limit(),
        "retention_ms": engine.retention_ms,
        "capacity": engine.capacity,
    })
}

async fn settings(State(state): State<AppState>) -> Json<Value> {
    Json(settings_view(&state))
}

/// `{"progress": "time"}`, `{"progress": "polls", "polls_per_status": 2}`,
/// `{"submit_rate": 0}` (0 switches a limit off), `{"query_rate": 50}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    #[serde(default)]
    progress: Option<String>,
    #[serde(default)]
    polls_per_status: Option<u32>,
    #[serde(default)]
    submit_rate: Option<u32>,
    #[serde(default)]
    query_rate: Option<u32>,
}

async fn set_settings(
    State(state): State<AppState>,
    AdminJson(change): AdminJson<SettingsChange>,
) -> Result<Json<Value>, AdminError> {
    let progress = match (change.progress.as_deref(), change.polls_per_status) {
        (None, None) => None,
        (Some("time"), None) => Some(Progress::Time),
        (Some("polls"), n) => Some(Progress::Polls {
            per_status: n.unwrap_or(1).max(1),
        }),
        (Some("time"), Some(_)) | (None, Some(_)) => {
            return Err(AdminError::bad(
                "polls_per_status goes only with progress polls",
            ))
        }
        (Some(other), _) => {
            return Err(AdminError::bad(format!(
                "unknown progress {other:?}: use time or polls"
            )))
        }
    };
    if let Some(progress) = progress {
        state.icu.tasks.set_progress(progress);
    }
    if let Some(rate) = change.submit_rate {
        state.icu.submit_limit.set_limit(rate);
    }
    if let Some(rate) = change.query_rate {
        state.icu.query_limit.set_limit(rate);
    }
    Ok(Json(settings_view(&state)))
}
