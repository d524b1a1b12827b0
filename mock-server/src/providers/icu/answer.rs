//! icu answers render themselves: HTTP 200 JSON in icu's envelope, errors included (a
//! scenario that scripts another status wraps the error as `(status, err)`), each with a
//! note for the journal.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::IcuError;
use super::result::Rendered;
use super::tasks::{Outcome, TaskView};
use super::wire::{QueryResponse, SubmitData, SubmitResponse, TaskData, MSG_OK};
use crate::stores::journal::{JournalNote, Provider};

impl IntoResponse for IcuError {
    fn into_response(self) -> Response {
        let envelope = self.envelope();
        let (code, msg) = (envelope.code, envelope.msg.clone());
        noted(Json(envelope).into_response(), code, Some(msg), None)
    }
}

/// A submit's answer: the new TaskId.
pub fn submitted(task_id: u64) -> Response {
    let body = SubmitResponse {
        msg: MSG_OK,
        code: 0,
        data: SubmitData { task_id },
    };
    noted(Json(body).into_response(), 0, None, Some(task_id))
}

/// A poll's answer: the task as it stands, its result embedded as JSON written once (see
/// [`Rendered::json`]).
pub fn queried(view: &TaskView) -> Response {
    static NONE: LazyLock<Rendered> = LazyLock::new(Rendered::default);
    let (error_msg, shown): (&str, &Rendered) = match (&view.outcome, &view.result) {
        (Some(Outcome::Failed { message, .. }), _) => (message, &NONE),
        (_, Some(r)) => ("", r),
        _ => ("", &NONE),
    };
    let json = shown.json();
    let body = QueryResponse {
        code: 0,
        success: true,
        msg: MSG_OK,
        data: TaskData {
            task_id: view.id,
            status: view.status.code(),
            status_str: view.status.as_str(),
            error_msg,
            result: &json.result,
            result_detail: &json.detail,
        },
    };
    let size = 160 + error_msg.len() + json.result.get().len() + json.detail.get().len();
    let mut buf = Vec::with_capacity(size);
    let response = match serde_json::to_writer(&mut buf, &body) {
        Ok(()) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            Bytes::from(buf),
        )
            .into_response(),
        Err(_) => Json(body).into_response(),
    };
    noted(response, 0, None, Some(view.id))
}

fn noted(mut response: Response, code: i64, msg: Option<String>, task_id: Option<u64>) -> Response {
    response.extensions_mut().insert(JournalNote {
        provider: Some(Provider::Icu),
        code: Some(code),
        msg,
        id: task_id.map(|id| id.to_string()),
    });
    response
}
