//! Control API for scenarios: list them with what is active, activate one for every request
//! or for one token, deactivate.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{AdminError, AdminJson};
use crate::bus::Topic;
use crate::control::types::{Activation, Active, ScenarioList};
use crate::routes;
use crate::scenarios::ScenarioView;
use crate::state::AppState;

/// Routes under `/__admin/scenarios`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::SCENARIOS, get(list))
        .route(routes::admin::SCENARIOS_ACTIVATE, post(activate))
        .route(routes::admin::SCENARIOS_DEACTIVATE, post(deactivate))
}

async fn list(State(state): State<AppState>) -> Json<ScenarioList> {
    let scenarios = state
        .scenarios
        .library()
        .list()
        .iter()
        .map(|s| ScenarioView::from(s.as_ref()).into())
        .collect();
    Json(ScenarioList {
        scenarios,
        active: active(&state),
    })
}

/// What is activated now.
fn active(state: &AppState) -> Active {
    let (global, by_token) = state.scenarios.active();
    Active { global, by_token }
}

async fn activate(
    State(state): State<AppState>,
    AdminJson(a): AdminJson<Activation>,
) -> Result<Json<Active>, AdminError> {
    state
        .scenarios
        .activate(&a.name, a.token.as_deref())
        .map_err(|e| AdminError::not_found(e.to_string()))?;
    announce(&state, &a, "activated");
    Ok(Json(active(&state)))
}

async fn deactivate(
    State(state): State<AppState>,
    AdminJson(a): AdminJson<Activation>,
) -> Result<(StatusCode, Json<Active>), AdminError> {
    if !state.scenarios.deactivate(&a.name, a.token.as_deref()) {
        return Err(AdminError::not_found(format!(
            "scenario {:?} is not active{}",
            a.name,
            a.token
                .map(|t| format!(" for token {t:?}"))
                .unwrap_or_default()
        )));
    }
    announce(&state, &a, "deactivated");
    Ok((StatusCode::OK, Json(active(&state))))
}

/// Tells the dashboard a scenario was switched.
fn announce(state: &AppState, a: &Activation, change: &'static str) {
    state.bus.publish_with(
        Topic::Scenario,
        || serde_json::json!({ "name": a.name, "token": a.token.is_some(), "change": change }),
    );
}
