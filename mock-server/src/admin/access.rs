//! Who may use the control API. Every `/__admin/` route checks, in this order:
//! 1. `Host` names this server (`localhost`, `*.localhost`, an IP address, or a name given
//!    with `--allowed-host`), so a page that rebinds its DNS name to 127.0.0.1 is refused;
//! 2. a state-changing request (anything but GET, HEAD, OPTIONS) that carries an `Origin`
//!    comes from this server's own origin, so a page elsewhere cannot post to it (clients
//!    other than browsers send no `Origin` and pass);
//! 3. with `--admin-token`, the token, compared in constant time (health, hosted audio
//!    downloads and the callback sink stay open: the simulator's own traffic uses them; so
//!    do the dashboard's static files, which ask for the token themselves; the event stream
//!    also takes its read-only ticket as `?ticket=`);
//! 4. a state-changing request with a body sends it as JSON, so a cross-site `text/plain`
//!    form cannot drive it even without `Origin`; hosted audio uploads (audio bytes) and the
//!    sink (the provider's form callbacks) take other bodies.
//!
//! The providers' endpoints are not behind any of this: SDKs call them with any `Host`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AdminError;
use crate::routes;
use crate::state::AppState;

/// Runs the checks; a refused request never reaches its handler.
pub(super) async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match refusal(&state, &req) {
        Some(refused) => refused.into_response(),
        None => next.run(req).await,
    }
}

fn refusal(state: &AppState, req: &Request) -> Option<AdminError> {
    let headers = req.headers();
    let method = req.method();
    let path = req.uri().path();
    // An undecodable Host is kept as "", which no name matches.
    let host = match headers.get(header::HOST) {
        Some(value) => Some(value.to_str().unwrap_or_default()),
        None => req.uri().authority().map(|a| a.as_str()),
    };
    if let Some(host) = host.filter(|h| !state.control_hosts.allows(h)) {
        return Some(forbidden(format!(
            "the control API does not answer to Host {host:?} (a defence against DNS \
             rebinding): call it as localhost or by IP address, or start the simulator with \
             --allowed-host NAME"
        )));
    }
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(origin) = headers.get(header::ORIGIN).filter(|_| changes_state) {
        if !same_origin(origin, host) {
            return Some(forbidden(format!(
                "cross-site request refused: Origin {} is not this server ({}); the control \
                 API takes state-changing requests only from its own origin or from clients \
                 that send no Origin",
                String::from_utf8_lossy(origin.as_bytes()),
                host.unwrap_or("no Host"),
            )));
        }
    }
    if let Some(token) = state.admin_token.as_deref() {
        if !open_without_token(method, path)
            && !token_matches(given_token(headers), token)
            && !events_ticket_matches(method, req.uri(), token)
        {
            return Some(AdminError(
                StatusCode::UNAUTHORIZED,
                "the control API needs the admin token (Authorization: Bearer <token> or \
                 X-Admin-Token)"
                    .into(),
            ));
        }
    }
    if changes_state && has_body(headers) && !takes_raw_body(path) {
        let content_type = headers.get(header::CONTENT_TYPE);
        if !content_type.is_some_and(is_json) {
            let got = content_type.map_or("none".into(), |v| {
                format!("{:?}", String::from_utf8_lossy(v.as_bytes()))
            });
            return Some(AdminError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "the control API reads JSON: send the body with Content-Type: \
                     application/json (got {got})"
                ),
            ));
        }
    }
    None
}

fn forbidden(msg: String) -> AdminError {
    AdminError(StatusCode::FORBIDDEN, msg)
}

/// Whether `origin` is the origin the request was sent to: same host and port as `Host`
/// (a missing port is the scheme's default). `null` and anything unparsable are foreign.
fn same_origin(origin: &HeaderValue, host: Option<&str>) -> bool {
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(origin.scheme(), "http" | "https") || host.contains(['/', '@', '?', '#']) {
        return false;
    }
    let Ok(server) = url::Url::parse(&format!("{}://{host}/", origin.scheme())) else {
        return false;
    };
    origin.host() == server.host()
        && origin.port_or_known_default() == server.port_or_known_default()
}

/// What the simulator's own traffic needs without the token: health, hosted audio
/// downloads (a task's Url), and the callback sink (a task's CallbackUrl).
fn open_without_token(method: &Method, path: &str) -> bool {
    path == routes::admin::HEALTH
        || (method == Method::GET && (is_hosted_audio(path) || super::ui::is_ui(path)))
        || (method == Method::POST && path == routes::admin::SINK)
}

/// The event stream (only it, only GET) also opens with `?ticket=`, the token's derived
/// ticket: an `EventSource` cannot send headers, and the token stays out of URLs.
fn events_ticket_matches(method: &Method, uri: &axum::http::Uri, token: &str) -> bool {
    if method != Method::GET || uri.path() != routes::admin::EVENTS {
        return false;
    }
    let given = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "ticket")
            .map(|(_, v)| v.into_owned())
    });
    token_matches(given.as_deref(), &super::events::ticket(token))
}

/// The token a request carries: `X-Admin-Token`, else `Authorization: Bearer …`.
fn given_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
}

/// Compares SHA-256 digests in constant time, so neither the token's bytes nor its length
/// can be learnt from how long a refusal takes.
fn token_matches(given: Option<&str>, token: &str) -> bool {
    let Some(given) = given else {
        return false;
    };
    let given = Sha256::digest(given.as_bytes());
    let token = Sha256::digest(token.as_bytes());
    given.as_slice().ct_eq(token.as_slice()).into()
}

/// A body is present when it is announced: a non-zero `Content-Length` or any
/// `Transfer-Encoding`.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// `application/json` or `application/…+json`, with any parameters.
fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(value) = content_type.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Routes whose bodies are not JSON: hosted audio files and the callback sink.
fn takes_raw_body(path: &str) -> bool {
    path == routes::admin::SINK || is_hosted_audio(path)
}

/// `/__admin/audio/…`: a hosted or generated audio file.
fn is_hosted_audio(path: &str) -> bool {
    path.strip_prefix(routes::admin::AUDIO)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches(Some("s3cret"), "s3cret"));
        for wrong in ["s3cre", "s3cret!", "S3cret", "", "s3cret\0"] {
            assert!(!token_matches(Some(wrong), "s3cret"), "{wrong:?}");
        }
        assert!(!token_matches(None, "s3cret"));
    }

    #[test]
    fn origins_match_the_host_they_were_sent_to() {
        let origin = |o: &'static str| HeaderValue::from_static(o);
        let host = Some("127.0.0.1:8080");
        assert!(same_origin(&origin("http://127.0.0.1:8080"), host));
        assert!(!same_origin(&origin("http://127.0.0.1:8081"), host));
        assert!(!same_origin(&origin("http://localhost:8080"), host));
        assert!(!same_origin(&origin("http://evil.example"), host));
        assert!(!same_origin(&origin("null"), host));
        assert!(!same_origin(&origin("file://"), host));
        assert!(!same_origin(&origin("http://127.0.0.1:8080"), None));
        // Behind a TLS proxy: no port in Host means the Origin's scheme's default.
        assert!(same_origin(
            &origin("https://sim.example"),
            Some("sim.example")
        ));
        assert!(same_origin(
            &origin("http://[::1]:9"),
            Some("[0:0:0:0:0:0:0:1]:9")
        ));
    }

    #[test]
    fn json_is_recognised_with_parameters() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json(&HeaderValue::from_static(ok)), "{ok}");
        }
        for no in ["text/plain", "application/x-www-form-urlencoded", "json"] {
            assert!(!is_json(&HeaderValue::from_static(no)), "{no}");
        }
    }

    #[test]
    fn raw_bodies_only_where_the_route_takes_them() {
        assert!(takes_raw_body("/__admin/sink"));
        assert!(takes_raw_body("/__admin/audio/call.wav"));
        assert!(!takes_raw_body("/__admin/audio"));
        assert!(!takes_raw_body("/__admin/audiox/y"));
        assert!(!takes_raw_body("/__admin/reset"));
    }
}
