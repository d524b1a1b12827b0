//! Scenarios on the HTTP path. Before a provider handler runs: choose the scenarios
//! (header, activation, body-free match keys), apply their rate limits and the first fault
//! that fires. After it runs: the handler has completed the choice with the body's facts
//! and left the scenarios that added on its answer; their faults act on the answer. Errors
//! are the providers' own, rendered by their types.
//!
//! A scripted answer given instead of the handler's first reads and discards the upload
//! (bounded, as the handlers' own errors do), so the connection stays usable: a client that
//! reuses it must see only the scripted fault, never an unscripted broken connection. An
//! upload too large to wait for is left unread, and the connection layer then answers with
//! `Connection: close`.

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::body::DrainableBody;
use crate::http::control::ConnectionControl;
use crate::http::faults;
use crate::providers::coze::error::{CozeError, MAX_BODY_BYTES};
use crate::providers::icu::error::{IcuError, IcuErrorKind};
use crate::providers::icu::limits::MAX_SUBMIT_BODY;
use crate::routes::{self, Endpoint, Provider};
use crate::scenarios::chosen::BodyMatched;
use crate::scenarios::FaultAction;
use crate::scenarios::{Facts, Firing, Limited, HEADER};
use crate::state::AppState;

/// What the journal records of scenarios for one request.
#[derive(Debug, Clone, Default)]
pub struct ScenarioNote {
    /// Names of the scenarios that applied.
    pub scenarios: Vec<String>,
    /// The fault that acted, described.
    pub fault: Option<String>,
    /// Whether the connection was dropped instead of answered.
    pub dropped: bool,
}

/// The caller's identity for per-token activation: Coze's bearer token, icu's `C-Secret`.
fn token_of(provider: Provider, req: &Request) -> Option<String> {
    let headers = req.headers();
    match provider {
        Provider::Coze => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned()),
        Provider::Icu => headers
            .get("c-secret")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned()),
    }
}

/// The middleware, mounted on the provider routes only.
pub async fn apply(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some((provider, endpoint)) = routes::classify(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let header_value = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let control = req.extensions().get::<ConnectionControl>().cloned();
    // The common case: no header, nothing activated, no match rule that could apply before
    // the body is read. Nothing to choose or fire before the handler: run it at once.
    if header_value.is_none() && state.scenarios.is_quiet() {
        let response = next.run(req).await;
        let note = ScenarioNote::default();
        return body_matched(&state, provider, endpoint, control, response, note).await;
    }
    let selected = {
        let facts = Facts {
            provider: Some(provider),
            path: req.uri().path().to_owned(),
            token: token_of(provider, &req),
            ..Facts::default()
        };
        match state.scenarios.select(header_value.as_deref(), &facts) {
            Ok(selected) => selected,
            Err(unknown) => {
                discard_body(provider, req).await;
                let response = bad_request(&state, provider, unknown.to_string());
                return noted(response, ScenarioNote::default());
            }
        }
    };
    let mut note = ScenarioNote {
        scenarios: selected.names(),
        ..ScenarioNote::default()
    };
    if let Some(limited) =
        state
            .scenarios
            .rate_limited(&selected.scenarios, endpoint, state.clock.now_ms())
    {
        note.fault = Some(format!(
            "{} rate limit {}/{} ms",
            limited.scenario, limited.rule.limit, limited.rule.window_ms
        ));
        state.metrics.fault(&limited.scenario, "rate_limit");
        discard_body(provider, req).await;
        return noted(rate_limited(&state, provider, &limited), note);
    }
    let before = state.scenarios.fire(&selected.scenarios, endpoint);
    req.extensions_mut().insert(selected.clone());
    let response = match before {
        None => next.run(req).await,
        Some(firing) => {
            note.fault = Some(firing.describe());
            act(
                &state,
                provider,
                &firing,
                control.as_ref(),
                Stage::Before(req, next),
                &mut note,
            )
            .await
        }
    };
    body_matched(&state, provider, endpoint, control, response, note).await
}

/// After the handler: the scenarios the body matched (the handler completed the choice and
/// left them on its answer) may still fire a fault on the answer.
async fn body_matched(
    state: &AppState,
    provider: Provider,
    endpoint: Endpoint,
    control: Option<ConnectionControl>,
    mut response: Response,
    mut note: ScenarioNote,
) -> Response {
    if let Some(BodyMatched(added)) = response.extensions_mut().remove::<BodyMatched>() {
        if !added.is_empty() {
            note.scenarios.extend(added.iter().map(|s| s.name.clone()));
            if note.fault.is_none() {
                if let Some(firing) = state.scenarios.fire(&added, endpoint) {
                    note.fault = Some(firing.describe());
                    response = act(
                        state,
                        provider,
                        &firing,
                        control.as_ref(),
                        Stage::After(response),
                        &mut note,
                    )
                    .await;
                }
            }
        }
    }
    noted(response, note)
}

/// Where a fault acts: before the handler (it may not run at all) or on its answer.
enum Stage {
    Before(Request, Next),
    After(Response),
}

impl Stage {
    /// The real answer: run the handler, or take the one it gave.
    async fn answer(self) -> Response {
        match self {
            Stage::Before(req, next) => next.run(req).await,
            Stage::After(response) => response,
        }
    }

    /// No real answer: before the handler, the upload is read and discarded.
    async fn skip(self, provider: Provider) {
        if let Stage::Before(req, _) = self {
            discard_body(provider, req).await;
        }
    }
}

/// Reads and discards a request's body up to the provider's body limit, so that a scripted
/// answer leaves the connection ready for the next request. A body declared larger is not
/// waited for (the connection layer then closes the connection, saying so).
async fn discard_body(provider: Provider, req: Request) {
    if req.body().is_end_stream() {
        return;
    }
    let limit = match provider {
        Provider::Coze => MAX_BODY_BYTES,
        Provider::Icu => MAX_SUBMIT_BODY as u64,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return;
    }
    DrainableBody::new(req.into_body()).drain(limit).await;
}

async fn act(
    state: &AppState,
    provider: Provider,
    firing: &Firing,
    control: Option<&ConnectionControl>,
    stage: Stage,
    note: &mut ScenarioNote,
) -> Response {
    let (scenario, action) = (&firing.scenario.name, firing.fault.action.kind());
    state.metrics.fault(scenario, action);
    if firing.latency_ms > 0 {
        faults::delay(&state.clock, firing.latency_ms).await;
    }
    match &firing.fault.action {
        FaultAction::Latency => stage.answer().await,
        FaultAction::Status {
            status,
            code,
            error,
            message,
        } => {
            stage.skip(provider).await;
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            scripted_error(
                state,
                provider,
                status,
                *code,
                error.as_deref(),
                message.clone(),
            )
        }
        FaultAction::Reset | FaultAction::Empty => {
            let reset = matches!(firing.fault.action, FaultAction::Reset);
            note.dropped = true;
            match control {
                Some(control) if reset => control.reset(),
                Some(control) => control.close(),
                None => {}
            }
            // Never sent when the connection is dropped; a fallback for in-process callers.
            (StatusCode::BAD_GATEWAY, "connection dropped by scenario").into_response()
        }
        FaultAction::Garbage { bytes } => {
            stage.skip(provider).await;
            let key = format!(
                "{}#{}#{}",
                firing.scenario.name, firing.fault.index, firing.count
            );
            let mut rng =
                crate::rng::derive(state.scenarios.seed(), "fault-garbage", key.as_bytes());
            faults::garbage(&mut rng, *bytes)
        }
        FaultAction::Truncate { keep } => faults::truncate(stage.answer().await, *keep).await,
        FaultAction::Drip {
            chunk_bytes,
            interval_ms,
        } => faults::drip(
            stage.answer().await,
            *chunk_bytes,
            std::time::Duration::from_millis(*interval_ms),
            state.clock.clone(),
        ),
    }
}

/// A `status` fault's answer in the provider's own envelope.
fn scripted_error(
    state: &AppState,
    provider: Provider,
    status: StatusCode,
    code: Option<i64>,
    error: Option<&str>,
    message: Option<String>,
) -> Response {
    match provider {
        Provider::Coze => CozeError::scripted(status, code, message)
            .answer(state.coze.logids.next())
            .into_response(),
        Provider::Icu => {
            let kind = error
                .and_then(|name| IcuErrorKind::ALL.into_iter().find(|k| k.name() == name))
                .unwrap_or(IcuErrorKind::InternalError);
            let reason = message
                .unwrap_or_else(|| "the service is temporarily unavailable, please retry".into());
            (status, IcuError::new(kind, reason)).into_response()
        }
    }
}

/// A scenario rate limit's answer: Coze 429 with 4020/4009, icu `RequestLimitExceeded`.
fn rate_limited(state: &AppState, provider: Provider, limited: &Limited) -> Response {
    let rule = &limited.rule;
    match provider {
        Provider::Coze => CozeError::rate_limited(rule.code)
            .answer(state.coze.logids.next())
            .into_response(),
        Provider::Icu => IcuError::new(
            IcuErrorKind::RequestLimitExceeded,
            format!("at most {} requests per {} ms", rule.limit, rule.window_ms),
        )
        .into_response(),
    }
}

/// An unknown scenario in the header: the provider's bad-request answer.
fn bad_request(state: &AppState, provider: Provider, msg: String) -> Response {
    match provider {
        Provider::Coze => CozeError::bad_request(msg)
            .answer(state.coze.logids.next())
            .into_response(),
        Provider::Icu => IcuError::new(IcuErrorKind::InvalidParameter, msg).into_response(),
    }
}

/// Leaves the note for the journal (nothing when no scenario applied: the journal reads
/// a missing note as an empty one).
fn noted(mut response: Response, note: ScenarioNote) -> Response {
    if !note.scenarios.is_empty() || note.fault.is_some() || note.dropped {
        response.extensions_mut().insert(note);
    }
    response
}
