//! `GET /__admin/metrics`: the server's metrics in the Prometheus text format (0.0.4), for a
//! Prometheus scrape or a test. It sits behind the control API's checks like every other
//! route, so with `--admin-token` a scraper sends the token (Prometheus' `authorization`).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::metrics::CONTENT_TYPE;
use crate::routes;
use crate::state::AppState;

/// The metrics route.
pub fn router() -> Router<AppState> {
    Router::new().route(routes::admin::METRICS, get(metrics))
}

/// Reads the gauges of the stores (tasks by status) and encodes every family.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let tasks = state
        .icu
        .tasks
        .status_counts()
        .map(|(status, count)| (status.as_str(), count));
    let text = state.metrics.encode(&tasks);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}
