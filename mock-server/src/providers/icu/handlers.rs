//! Submit (`POST /openapi/asr/voiceToText`) and query (`/openapi/asr/searchResult`, GET or
//! POST). Every answer is HTTP 200 JSON in icu's envelope, errors included.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::auth;
use super::engine::Engine;
use super::error::{IcuError, IcuErrorKind};
use super::limits::MAX_SUBMIT_BODY;
use super::params::{self, RawParams, Source, SubmitParams};
use super::recognize;
use super::wire::{QueryResponse, SubmitData, SubmitResponse, TaskData, MSG_OK};
use crate::body::DrainableBody;
use crate::journal::JournalNote;
use crate::scenarios::format::Provider;
use crate::scenarios::{middleware, Facts, Selected};
use crate::state::AppState;
use crate::tasks::{Outcome, Scripted, SubmitOptions, Task, TaskSpec};

/// Provider B's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi/asr/voiceToText",
            post(submit).fallback(wrong_method),
        )
        .route(
            "/openapi/asr/searchResult",
            get(query_get).post(query_post).fallback(wrong_method),
        )
        .route("/openapi/{*rest}", any(unknown_api))
}

async fn submit(
    State(state): State<AppState>,
    selected: Option<Extension<Selected>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = DrainableBody::new(body);
    let mut facts = None;
    let selected = selected.map(|Extension(s)| s);
    let result = submit_inner(&state, selected.as_ref(), &headers, &body, &mut facts).await;
    if result.is_err() {
        body.drain(MAX_SUBMIT_BODY as u64).await;
    }
    let mut response = match result {
        Ok(task_id) => with_note(
            Json(SubmitResponse {
                msg: MSG_OK,
                code: 0,
                data: SubmitData { task_id },
            })
            .into_response(),
            0,
            None,
            Some(task_id),
        ),
        Err(err) => error_response(err),
    };
    if let Some(facts) = facts {
        // For scenarios that match on the task (Url, engine, audio hash).
        response.extensions_mut().insert(facts);
    }
    response
}

async fn submit_inner(
    state: &AppState,
    selected: Option<&Selected>,
    headers: &HeaderMap,
    body: &DrainableBody,
    facts: &mut Option<Facts>,
) -> Result<u64, IcuError> {
    let icu = &state.icu;
    if !icu.submit_limit.try_acquire(state.clock.now_ms()) {
        return Err(IcuError::new(
            IcuErrorKind::RequestLimitExceeded,
            format!(
                "too many submit requests: the limit is {} per second",
                icu.submit_limit.limit()
            ),
        ));
    }
    let bytes = read_limited(headers, body).await?;
    let raw = RawParams::from_body(content_type(headers), &bytes);
    drop(bytes);
    check_signature(state, headers, raw.as_ref().ok())?;
    let params = params::parse_submit(&raw?)?;
    let known = facts.insert(Facts {
        provider: Some(Provider::Icu),
        path: "/openapi/asr/voiceToText".into(),
        url: match &params.source {
            Source::Url(url) => Some(url.clone()),
            Source::Data(_) => None,
        },
        audio_sha256: match &params.source {
            Source::Data(bytes) => Some(Sha256::digest(bytes).into()),
            Source::Url(_) => None,
        },
        engine: Some(params.engine.code().to_owned()),
        ..Facts::default()
    });
    let scenarios = middleware::for_handler(state, selected, known);
    let now = state.clock.now_ms();
    let big_ids = scenarios.iter().any(|s| s.identity.big_task_ids);
    let task_id = next_task_id(state, big_ids);
    let queue_until = now + recognize::queue_delay_ms(state.seed, task_id, &icu.recognize);
    let audio_url = match &params.source {
        Source::Url(url) => Some(url.clone()),
        Source::Data(_) => None,
    };
    let spec = TaskSpec {
        engine: params.engine.code(),
        res_text_format: params.res_text_format,
        audio_url: audio_url.clone(),
        callback_url: params.callback_url.clone(),
        options: SubmitOptions {
            channel_num: params.channel_num,
            speaker_diarization: params.speaker_diarization,
            speaker_number: params.speaker_number,
            filter_dirty: params.filter_dirty,
            filter_modal: params.filter_modal,
            convert_num_mode: params.convert_num_mode,
            filter_punc: params.filter_punc,
        },
    };
    let mut task = Task::new(task_id, now, spec, queue_until);
    // The first scenario that scripts a path (or callbacks) decides it for this task.
    task.script = scenarios.iter().find_map(|s| {
        let path = s.task.clone()?;
        Some(Box::new(Scripted::new(s.name.clone(), Arc::new(path), now)))
    });
    task.callback_behaviour = scenarios.iter().find_map(|s| {
        let behaviour = s.callback.clone()?;
        Some(Box::new((s.name.clone(), Arc::new(behaviour))))
    });
    icu.engine.insert(task);
    match audio_url {
        // Inline audio is examined before answering, so what a poll sees is repeatable.
        None => {
            let outcome = examine_blocking(state, params, None).await;
            let plan = recognize::plan(
                state.seed,
                task_id,
                outcome,
                queue_until,
                now,
                false,
                &icu.recognize,
            );
            icu.engine.set_plan(task_id, plan);
        }
        // A Url is downloaded in the background, like the provider does.
        Some(url) => {
            let state = state.clone();
            tokio::spawn(async move {
                fetch_and_examine(state, task_id, queue_until, url, params).await
            });
        }
    }
    Ok(task_id)
}

/// Restarts the download of a restored Url task whose fetch a restart interrupted, with the
/// options it was submitted with. Returns false when the task cannot be resumed (no Url,
/// an engine this build does not know).
pub(crate) fn resume_download(state: &AppState, task: &Task) -> bool {
    let (Some(url), Some(engine)) = (
        task.spec.audio_url.clone(),
        Engine::from_code(task.spec.engine),
    ) else {
        return false;
    };
    let o = task.spec.options;
    let params = SubmitParams {
        engine,
        channel_num: o.channel_num,
        res_text_format: task.spec.res_text_format,
        source: Source::Url(url.clone()),
        speaker_diarization: o.speaker_diarization,
        speaker_number: o.speaker_number,
        callback_url: task.spec.callback_url.clone(),
        filter_dirty: o.filter_dirty,
        filter_modal: o.filter_modal,
        convert_num_mode: o.convert_num_mode,
        filter_punc: o.filter_punc,
    };
    let (state, id, queue_until) = (state.clone(), task.id, task.queue_until_ms);
    tokio::spawn(async move { fetch_and_examine(state, id, queue_until, url, params).await });
    true
}

async fn fetch_and_examine(
    state: AppState,
    task_id: u64,
    queue_until: i64,
    url: String,
    params: SubmitParams,
) {
    let icu = &state.icu;
    let fetched = icu.downloader.fetch(&url).await;
    let ready = state.clock.now_ms();
    let (outcome, download_failed) = match fetched {
        Ok(bytes) => {
            let filename = url_filename(&url);
            let params = SubmitParams {
                source: Source::Data(bytes),
                ..params
            };
            (examine_blocking(&state, params, filename).await, false)
        }
        Err(err) => (
            Outcome::Failed {
                code: recognize::DOWNLOAD_FAILED,
                message: err.to_string(),
                duration_ms: None,
            },
            true,
        ),
    };
    let plan = recognize::plan(
        state.seed,
        task_id,
        outcome,
        queue_until,
        ready,
        download_failed,
        &icu.recognize,
    );
    icu.engine.set_plan(task_id, plan);
}

/// Runs the CPU-heavy examination off the async workers.
async fn examine_blocking(
    state: &AppState,
    params: SubmitParams,
    filename: Option<String>,
) -> Outcome {
    let seed = state.seed;
    let fixtures = state.fixtures.clone();
    let settings = state.icu.recognize.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = match &params.source {
            Source::Data(bytes) => bytes.as_slice(),
            Source::Url(_) => &[],
        };
        recognize::examine(
            seed,
            &fixtures,
            &settings,
            &params,
            bytes,
            filename.as_deref(),
        )
    })
    .await
    .unwrap_or_else(|_| Outcome::Failed {
        code: recognize::OTHER_FAILURE,
        message: "Recognition failed: internal error while examining the audio".into(),
        duration_ms: None,
    })
}

/// The last path segment of a Url, for headerless `.pcm`/`.raw` audio named by extension.
fn url_filename(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed
        .path_segments()?
        .next_back()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A uint64 TaskId of realistic size (10–11 digits, like `4000048858` and `14149671390`),
/// or above 2^53 under a `huge-task-ids` scenario; drawn from (seed, submit ordinal),
/// redrawn in the rare case it is taken.
fn next_task_id(state: &AppState, big: bool) -> u64 {
    let icu = &state.icu;
    let range = if big {
        (1u64 << 53) + 1..1u64 << 63
    } else {
        1_000_000_000u64..20_000_000_000u64
    };
    loop {
        let ordinal = icu.next_ordinal();
        let mut rng = crate::rng::derive(state.seed, "icu-task-id", &ordinal.to_le_bytes());
        let id = rng.gen_range(range.clone());
        if !icu.engine.contains(id) {
            return id;
        }
    }
}

/// Reads the submit body under [`MAX_SUBMIT_BODY`]; a bigger one can only be oversized Data.
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
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_SUBMIT_BODY as u64) {
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

async fn query_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let raw = RawParams::from_query(query.as_deref());
    let parsed = check_signature(&state, &headers, raw.as_ref().ok())
        .and_then(|()| params::parse_task_id(&raw?));
    answer_query(&state, parsed)
}

/// In strict mode, refuses a request whose signature does not verify. `parts` are the
/// request's decoded parameters, query string first. A part that could not be decoded signs
/// nothing; its decoding error is answered only once the signature passes, like any other
/// parameter error.
fn check_signature<'a>(
    state: &AppState,
    headers: &HeaderMap,
    parts: impl IntoIterator<Item = &'a RawParams>,
) -> Result<(), IcuError> {
    let Some(secrets) = &state.icu.secrets else {
        return Ok(());
    };
    auth::verify(secrets, headers, &auth::request_params(parts))
}

async fn query_post(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = DrainableBody::new(body);
    // The id may come in the body (JSON or form) or, as with GET, in the query string.
    let has_query = query.is_some();
    let query = RawParams::from_query(query.as_deref());
    let parsed = match read_limited(&headers, &body).await {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) && has_query => {
            check_signature(&state, &headers, query.as_ref().ok())
                .and_then(|()| params::parse_task_id(&query?))
        }
        Ok(bytes) => {
            let raw = RawParams::from_body(content_type(&headers), &bytes);
            let parts = query.as_ref().ok().into_iter().chain(raw.as_ref().ok());
            check_signature(&state, &headers, parts).and_then(|()| params::parse_task_id(&raw?))
        }
        Err(err) => {
            body.drain(MAX_SUBMIT_BODY as u64).await;
            Err(err)
        }
    };
    answer_query(&state, parsed)
}

fn answer_query(state: &AppState, task_id: Result<u64, IcuError>) -> Response {
    let icu = &state.icu;
    if !icu.query_limit.try_acquire(state.clock.now_ms()) {
        return error_response(IcuError::new(
            IcuErrorKind::RequestLimitExceeded,
            format!(
                "too many query requests: the limit is {} per second",
                icu.query_limit.limit()
            ),
        ));
    }
    let task_id = match task_id {
        Ok(id) => id,
        Err(err) => return error_response(err),
    };
    let Some(view) = icu.engine.poll(task_id) else {
        return error_response(IcuError::no_such_task(Some(&task_id.to_string())));
    };
    let (error_msg, result, result_detail): (&str, &str, &[_]) = match &view.outcome {
        Some(Outcome::Success { result: r, .. }) => ("", &r.result, &r.detail),
        Some(Outcome::Failed { message, .. }) => (message, "", &[]),
        None => ("", "", &[]),
    };
    let data = TaskData {
        task_id,
        status: view.status.code(),
        status_str: view.status.as_str(),
        error_msg,
        result,
        result_detail,
    };
    with_note(
        Json(QueryResponse {
            code: 0,
            success: true,
            msg: MSG_OK,
            data,
        })
        .into_response(),
        0,
        None,
        Some(task_id),
    )
}

async fn wrong_method(method: axum::http::Method, uri: Uri) -> Response {
    error_response(IcuError::new(
        IcuErrorKind::InvalidParameter,
        format!("{} does not take {method}", uri.path()),
    ))
}

async fn unknown_api(uri: Uri) -> Response {
    let mut response = error_response(IcuError::new(
        IcuErrorKind::InvalidParameter,
        format!("no such API: {}", uri.path()),
    ));
    *response.status_mut() = axum::http::StatusCode::NOT_FOUND;
    response
}

/// icu answers errors with HTTP 200 and its envelope.
pub fn error_response(err: IcuError) -> Response {
    let envelope = err.envelope();
    let code = envelope.code;
    let msg = envelope.msg.clone();
    with_note(Json(envelope).into_response(), code, Some(msg), None)
}

fn with_note(
    mut response: Response,
    code: i64,
    msg: Option<String>,
    task_id: Option<u64>,
) -> Response {
    response.extensions_mut().insert(JournalNote {
        provider: Some("icu"),
        code: Some(code),
        msg,
        id: task_id.map(|id| id.to_string()),
    });
    response
}
