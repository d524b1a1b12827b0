//! `POST /v1/audio/transcriptions` over HTTP: authenticate, stream the multipart body under
//! the size limits, complete the scenario choice with the upload's facts, and answer in
//! Coze's envelope.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Extension, Router};

use super::answer::CozeAnswer;
use super::error::{CozeError, MAX_BODY_BYTES};
use super::service::CozeService;
use super::upload::{declared_too_large, describe_unread, read_upload};
use crate::http::body::DrainableBody;
use crate::routes::{self, Provider};
use crate::scenarios::chosen::{self, BodyMatched};
use crate::scenarios::{Facts, Scenarios, Selected};
use crate::stores::request_body::{BodyNote, BodySummary, PartsSeen};

/// Provider A's routes, for any state that can lend the service and the scenarios.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<CozeService>: axum::extract::FromRef<S>,
    Arc<Scenarios>: axum::extract::FromRef<S>,
{
    Router::new()
        .route(
            routes::COZE_TRANSCRIBE,
            post(transcribe)
                .get(super::stream::handler::upgrade)
                .fallback(method_not_allowed),
        )
        .route(&routes::catch_all(routes::COZE_PREFIX), any(not_found))
}

async fn transcribe(
    State(coze): State<Arc<CozeService>>,
    State(scenarios): State<Arc<Scenarios>>,
    selected: Option<Extension<Selected>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let logid = coze.logids.next();
    let body = DrainableBody::new(body);
    let selected = selected.map(|Extension(s)| s);
    let mut matched = BodyMatched::default();
    let mut parts = PartsSeen::default();
    let result = handle(
        &coze,
        &scenarios,
        selected.as_ref(),
        (&headers, &body, &mut parts),
        &mut matched,
    )
    .await;
    if result.is_err() && !declared_too_large(&headers) {
        // Let a client that is still uploading finish, so it reads the answer; an upload
        // refused unread is read through the parser, to journal its parts.
        describe_unread(&headers, &body, &mut parts).await;
        body.drain(MAX_BODY_BYTES).await;
    }
    let mut response = CozeAnswer { logid, result }.into_response();
    // For the scenario layer: faults of the scenarios the upload matched.
    response.extensions_mut().insert(matched);
    // For the journal: the parts, or the start of a body that was not multipart.
    let summary = parts
        .summary()
        .or_else(|| (body.seen() > 0).then(|| BodySummary::text(&body.prefix(), body.seen())));
    if let Some(summary) = summary {
        response.extensions_mut().insert(BodyNote(summary));
    }
    response
}

async fn handle(
    coze: &CozeService,
    scenarios: &Scenarios,
    selected: Option<&Selected>,
    (headers, body, parts): (&HeaderMap, &DrainableBody, &mut PartsSeen),
    matched: &mut BodyMatched,
) -> Result<String, CozeError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    coze.authorize(authorization)?;
    let upload = read_upload(headers, body, parts).await?;
    let sha = upload.sha256;
    let facts = Facts {
        provider: Some(Provider::Coze),
        path: routes::COZE_TRANSCRIBE.into(),
        filename: Some(upload.filename.clone()),
        audio_sha256: Some(sha),
        ..Facts::default()
    };
    let chosen = chosen::complete(scenarios, selected, &facts);
    *matched = chosen.added_by_body;
    coze.transcribe(upload.filename, upload.bytes, sha, &chosen.scenarios)
        .await
}

async fn method_not_allowed(State(coze): State<Arc<CozeService>>, method: Method) -> Response {
    CozeError::method_not_allowed(method.as_str())
        .answer(coze.logids.next())
        .into_response()
}

async fn not_found(State(coze): State<Arc<CozeService>>, uri: Uri) -> Response {
    CozeError::not_found(uri.path())
        .answer(coze.logids.next())
        .into_response()
}
