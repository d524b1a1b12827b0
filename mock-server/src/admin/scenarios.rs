//! Control API for scenarios: list them with what is active, activate one for every request
//! or for one token, deactivate.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AdminError, AdminJson};
use crate::scenarios::ScenarioView;
use crate::state::AppState;

/// Routes under `/__admin/scenarios`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/__admin/scenarios", get(list))
        .route("/__admin/scenarios/activate", post(activate))
        .route("/__admin/scenarios/deactivate", post(deactivate))
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let scenarios: Vec<ScenarioView> = state
        .scenarios
        .library()
        .list()
        .iter()
        .map(|s| ScenarioView::from(s.as_ref()))
        .collect();
    let (global, by_token) = state.scenarios.active();
    Json(json!({
        "scenarios": scenarios,
        "active": { "global": global, "by_token": by_token },
    }))
}

/// `{"name": "flaky-gateway"}` or `{"name": "…", "token": "pat_x"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Activation {
    name: String,
    #[serde(default)]
    token: Option<String>,
}

async fn activate(
    State(state): State<AppState>,
    AdminJson(a): AdminJson<Activation>,
) -> Result<Json<Value>, AdminError> {
    state
        .scenarios
        .activate(&a.name, a.token.as_deref())
        .map_err(|e| AdminError::not_found(e.to_string()))?;
    let (global, by_token) = state.scenarios.active();
    Ok(Json(json!({ "global": global, "by_token": by_token })))
}

async fn deactivate(
    State(state): State<AppState>,
    AdminJson(a): AdminJson<Activation>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    if !state.scenarios.deactivate(&a.name, a.token.as_deref()) {
        return Err(AdminError::not_found(format!(
            "scenario {:?} is not active{}",
            a.name,
            a.token
                .map(|t| format!(" for token {t:?}"))
                .unwrap_or_default()
        )));
    }
    let (global, by_token) = state.scenarios.active();
    Ok((
        StatusCode::OK,
        Json(json!({ "global": global, "by_token": by_token })),
    ))
}
