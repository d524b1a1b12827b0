//! Control API for provider B: list, inspect and force tasks; read callback attempts; change
//! how tasks progress and the rate limits.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{AdminError, AdminJson};
use crate::control::types::{
    CallbackLog, CallbacksQuery, IcuSettings, SettingsChange, SettingsChangeBody, TaskDetail,
    Tasks, TasksQuery, TasksQueryBody, Transition, TransitionBody, Transitioned,
};
use crate::failure::FailureCode;
use crate::providers::icu::tasks::{ForceError, Status};
use crate::routes;
use crate::state::AppState;

/// Routes under `/__admin/tasks`, `/__admin/callbacks` and `/__admin/icu`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::TASKS, get(list))
        .route(routes::admin::TASK, get(inspect))
        .route(routes::admin::TASK_TRANSITION, post(transition))
        .route(routes::admin::CALLBACKS, get(callbacks))
        .route(
            routes::admin::ICU_SETTINGS,
            get(settings).post(set_settings),
        )
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

async fn list(
    State(state): State<AppState>,
    query: QueryResult<TasksQueryBody>,
) -> Result<Json<Tasks>, AdminError> {
    let Query(body) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    let q = TasksQuery::try_from(body).map_err(AdminError::bad)?;
    let tasks = state.icu.tasks.list(q.status, q.limit.unwrap_or(100));
    Ok(Json(Tasks {
        tasks: tasks.into_iter().map(Into::into).collect(),
    }))
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
) -> Result<Json<TaskDetail>, AdminError> {
    let id = parse_id(&id)?;
    let (task, status) = state
        .icu
        .tasks
        .inspect(id)
        .ok_or_else(|| AdminError::not_found(format!("no task {id}")))?;
    let attempts = state.icu.tasks.callbacks().attempts_for(id);
    Ok(Json(TaskDetail {
        task_id: id,
        status,
        task: task.into(),
        callbacks: attempts,
    }))
}

async fn transition(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<TransitionBody>,
) -> Result<Json<Transitioned>, AdminError> {
    let id = parse_id(&id)?;
    let t = Transition::try_from(body).map_err(AdminError::bad)?;
    let target = t.status;
    let failure = match (target, t.code) {
        (Status::Failed, code) => {
            let code = match code {
                Some(code) => FailureCode::try_from(code).map_err(AdminError::bad)?,
                None => FailureCode::RecognitionFailed,
            };
            let message = t
                .message
                .unwrap_or_else(|| code.default_message().to_owned());
            Some((code, message))
        }
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
    Ok(Json(Transitioned {
        task_id: id,
        status,
    }))
}

async fn callbacks(
    State(state): State<AppState>,
    query: QueryResult<CallbacksQuery>,
) -> Result<Json<CallbackLog>, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::bad(e.body_text()))?;
    let callbacks = state.icu.tasks.callbacks();
    let attempts = match q.task_id {
        Some(id) => callbacks.attempts_for(id),
        None => callbacks.attempts(),
    };
    Ok(Json(CallbackLog {
        attempts,
        pending: callbacks.pending(),
    }))
}

fn settings_view(state: &AppState) -> IcuSettings {
    let engine = state.icu.tasks.settings();
    IcuSettings {
        progress: engine.progress,
        submit_rate: state.icu.submit_limit.limit(),
        query_rate: state.icu.query_limit.limit(),
        retention_ms: engine.retention_ms,
        capacity: engine.capacity,
    }
}

async fn settings(State(state): State<AppState>) -> Json<IcuSettings> {
    Json(settings_view(&state))
}

async fn set_settings(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<SettingsChangeBody>,
) -> Result<Json<IcuSettings>, AdminError> {
    let change = SettingsChange::try_from(body).map_err(AdminError::bad)?;
    if let Some(progress) = change.progress {
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
