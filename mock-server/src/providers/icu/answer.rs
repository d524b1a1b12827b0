//! icu answers render themselves: HTTP 200 JSON in icu's envelope, errors included (a
//! scenario that scripts another status wraps the error as `(status, err)`), each with a
//! note for the journal.

use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::IcuError;
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

/// A poll's answer: the task as it stands, its rendered result borrowed, not copied.
pub fn queried(view: &TaskView) -> Response {
    let (error_msg, result, result_detail): (&str, &str, &[_]) = match (&view.outcome, &view.result)
    {
        (Some(Outcome::Failed { message, .. }), _) => (message, "", &[]),
        (_, Some(r)) => ("", &r.result, &r.detail),
        _ => ("", "", &[]),
    };
    let body = QueryResponse {
        code: 0,
        success: true,
        msg: MSG_OK,
        data: TaskData {
            task_id: view.id,
            status: view.status.code(),
            status_str: view.status.as_str(),
            error_msg,
            result,
            result_detail,
        },
    };
    noted(Json(body).into_response(), 0, None, Some(view.id))
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
