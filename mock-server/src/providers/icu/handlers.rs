//! Submit (`POST /openapi/asr/voiceToText`) and query (`/openapi/asr/searchResult`, GET or
//! POST) over HTTP: read the body under its limit, check the signature in strict mode, parse
//! the parameters, complete the scenario choice with the task's facts, and call the service.
//! Every answer is HTTP 200 JSON in icu's envelope, errors included.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, RawQuery, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::answer;
use super::auth;
use super::error::{IcuError, IcuErrorKind};
use super::limits::MAX_SUBMIT_BODY;
use super::params::{self, RawParams, Source};
use super::service::IcuService;
use crate::http::body::DrainableBody;
use crate::routes::{self, Provider};
use crate::scenarios::chosen::{self, BodyMatched};
use crate::scenarios::{Facts, Scenarios, Selected};
use crate::stores::request_body::{BodyNote, BodySummary};

/// Provider B's routes, for any state that can lend the service and the scenarios.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<IcuService>: FromRef<S>,
    Arc<Scenarios>: FromRef<S>,
{
    Router::new()
        .route(routes::ICU_SUBMIT, post(submit).fallback(wrong_method))
        .route(
            routes::ICU_QUERY,
            get(query_get).post(query_post).fallback(wrong_method),
        )
        .route(&routes::catch_all(routes::ICU_PREFIX), any(unknown_api))
}

async fn submit(
    State(icu): State<Arc<IcuService>>,
    State(scenarios): State<Arc<Scenarios>>,
    selected: Option<Extension<Selected>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = DrainableBody::new(body);
    let selected = selected.map(|Extension(s)| s);
    let mut matched = BodyMatched::default();
    let mut summary = None;
    let result = submit_inner(
        &icu,
        &scenarios,
        selected.as_ref(),
        (&headers, &body, &mut summary),
        &mut matched,
    )
    .await;
    if result.is_err() && !declared_too_long(&headers) {
        body.drain(MAX_SUBMIT_BODY as u64).await;
    }
    let mut response = match result {
        Ok(task_id) => answer::submitted(task_id),
        Err(err) => err.into_response(),
    };
    // For the scenario layer: faults of the scenarios the task matched (Url, engine, hash).
    response.extensions_mut().insert(matched);
    note_body(&mut response, summary, &body);
    response
}

/// Leaves the body's summary for the journal: the parameters when they decoded, else the
/// start of what was read.
fn note_body(response: &mut Response, summary: Option<BodySummary>, body: &DrainableBody) {
    let summary = summary
        .or_else(|| (body.seen() > 0).then(|| BodySummary::text(&body.prefix(), body.seen())));
    if let Some(summary) = summary {
        response.extensions_mut().insert(BodyNote(summary));
    }
}

/// The journal's summary of decoded parameters.
fn params_summary(raw: &RawParams) -> BodySummary {
    BodySummary::params(raw.iter())
}

async fn submit_inner(
    icu: &Arc<IcuService>,
    scenarios: &Scenarios,
    selected: Option<&Selected>,
    (headers, body, summary): (&HeaderMap, &DrainableBody, &mut Option<BodySummary>),
    matched: &mut BodyMatched,
) -> Result<u64, IcuError> {
    icu.admit_submit()?;
    let bytes = read_limited(headers, body).await?;
    let raw = RawParams::from_body(content_type(headers), &bytes);
    *summary = raw.as_ref().ok().map(params_summary);
    drop(bytes);
    check_signature(icu, headers, raw.as_ref().ok())?;
    let params = params::parse_submit(&raw?)?;
    let audio_sha256 = match &params.source {
        Source::Data(bytes) => {
            let sha = <[u8; 32]>::from(Sha256::digest(bytes));
            if let Some(summary) = summary {
                summary.set_data(bytes.len(), &sha);
            }
            Some(sha)
        }
        Source::Url(_) => None,
    };
    let facts = Facts {
        provider: Some(Provider::Icu),
        path: routes::ICU_SUBMIT.into(),
        url: match &params.source {
            Source::Url(url) => Some(url.clone()),
            Source::Data(_) => None,
        },
        audio_sha256,
        engine: Some(params.engine),
        ..Facts::default()
    };
    let chosen = chosen::complete(scenarios, selected, &facts);
    *matched = chosen.added_by_body;
    icu.submit(params, audio_sha256, &chosen.scenarios).await
}

/// Reads the submit body under [`MAX_SUBMIT_BODY`]; a bigger one can only be oversized Data.
/// The declared `Content-Length`, if it is a number.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// A body declared over the limit is answered at once and left unread (the answer then says
/// `Connection: close`): draining it would wait on a client that may never send it.
fn declared_too_long(headers: &HeaderMap) -> bool {
    declared_length(headers).is_some_and(|len| len > MAX_SUBMIT_BODY as u64)
}

async fn read_limited(headers: &HeaderMap, body: &DrainableBody) -> Result<Vec<u8>, IcuError> {
    let too_long = || {
        IcuError::new(
            IcuErrorKind::VoiceDataTooLong,
            format!(
                "the request body is over {} MB: Data must decode to under 5 MB",
                MAX_SUBMIT_BODY / 1024 / 1024
            ),
        )
    };
    let declared = declared_length(headers);
    if declared_too_long(headers) {
        return Err(too_long());
    }
    let mut out = Vec::with_capacity(declared.unwrap_or(0).min(MAX_SUBMIT_BODY as u64) as usize);
    let mut stream = Box::pin(body.stream());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            IcuError::new(
                IcuErrorKind::InvalidParameter,
                format!("the request body could not be read: {e}"),
            )
        })?;
        if out.len() + chunk.len() > MAX_SUBMIT_BODY {
            return Err(too_long());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// In strict mode, refuses a request whose signature does not verify. `parts` are the
/// request's decoded parameters, query string first. A part that could not be decoded signs
/// nothing; its decoding error is answered only once the signature passes, like any other
/// parameter error.
fn check_signature<'a>(
    icu: &IcuService,
    headers: &HeaderMap,
    parts: impl IntoIterator<Item = &'a RawParams>,
) -> Result<(), IcuError> {
    let Some(secrets) = &icu.secrets else {
        return Ok(());
    };
    auth::verify(
        secrets,
        headers,
        &auth::request_params(parts),
        icu.clock.now_ms(),
    )
}

/// Takes the request whole: its headers are only read, and a poll is the hottest path.
async fn query_get(State(icu): State<Arc<IcuService>>, req: Request) -> Response {
    let raw = RawParams::from_query(req.uri().query());
    let parsed = check_signature(&icu, req.headers(), raw.as_ref().ok())
        .and_then(|()| params::parse_task_id(&raw?));
    answer_query(&icu, parsed)
}

async fn query_post(
    State(icu): State<Arc<IcuService>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = DrainableBody::new(body);
    // The id may come in the body (JSON or form) or, as with GET, in the query string.
    let has_query = query.is_some();
    let query = RawParams::from_query(query.as_deref());
    let mut summary = None;
    let parsed = match read_limited(&headers, &body).await {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) && has_query => {
            check_signature(&icu, &headers, query.as_ref().ok())
                .and_then(|()| params::parse_task_id(&query?))
        }
        Ok(bytes) => {
            let raw = RawParams::from_body(content_type(&headers), &bytes);
            summary = raw.as_ref().ok().map(params_summary);
            let parts = query.as_ref().ok().into_iter().chain(raw.as_ref().ok());
            check_signature(&icu, &headers, parts).and_then(|()| params::parse_task_id(&raw?))
        }
        Err(err) => {
            if !declared_too_long(&headers) {
                body.drain(MAX_SUBMIT_BODY as u64).await;
            }
            Err(err)
        }
    };
    let mut response = answer_query(&icu, parsed);
    note_body(&mut response, summary, &body);
    response
}

fn answer_query(icu: &IcuService, task_id: Result<u64, IcuError>) -> Response {
    let view = icu.admit_query().and(task_id).and_then(|id| icu.query(id));
    match view {
        Ok(view) => answer::queried(&view),
        Err(err) => err.into_response(),
    }
}

async fn wrong_method(method: axum::http::Method, uri: Uri) -> Response {
    IcuError::new(
        IcuErrorKind::InvalidParameter,
        format!("{} does not take {method}", uri.path()),
    )
    .into_response()
}

async fn unknown_api(uri: Uri) -> Response {
    let err = IcuError::new(
        IcuErrorKind::InvalidParameter,
        format!("no such API: {}", uri.path()),
    );
    (StatusCode::NOT_FOUND, err).into_response()
}
