//! `GET /__admin/ui`: the dashboard, three plain files built into the binary (no build step,
//! no CDN, works offline). The page reads the control API and listens to
//! `/__admin/events`; it is served without the admin token (a browser cannot send one on
//! navigation) and asks for the token itself. Every answer carries a strict
//! Content-Security-Policy: scripts, styles and connections only from this server, no inline
//! scripts, no framing.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AdminError;
use crate::routes;
use crate::state::AppState;

const INDEX_HTML: &str = include_str!("../../assets/ui/index.html");
const APP_JS: &str = include_str!("../../assets/ui/app.js");
const APP_CSS: &str = include_str!("../../assets/ui/app.css");

/// Everything from this origin only; no inline code, no plugins, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Routes under `/__admin/ui`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::admin::UI, get(index))
        .route(routes::admin::UI_ASSET, get(asset))
}

/// Whether `path` is the page or one of its files (served without the token).
pub(super) fn is_ui(path: &str) -> bool {
    path == routes::admin::UI
        || path
            .strip_prefix(routes::admin::UI)
            .is_some_and(|rest| rest.starts_with('/'))
}

async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX_HTML)
}

async fn asset(Path(file): Path<String>) -> Result<Response, AdminError> {
    match file.as_str() {
        "app.js" => Ok(page("text/javascript; charset=utf-8", APP_JS)),
        "app.css" => Ok(page("text/css; charset=utf-8", APP_CSS)),
        _ => Err(AdminError::not_found(format!(
            "the dashboard has no file {file:?} (it has app.js and app.css)"
        ))),
    }
}

/// One of the files with its type and the security headers; never cached, so a newer
/// binary's page is what a reload shows.
fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
