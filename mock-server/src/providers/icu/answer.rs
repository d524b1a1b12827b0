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
use super::wire::{SubmitData, SubmitResponse, MSG_OK};
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
    let body = query_body(view);
    let response = (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Bytes::from(body),
    )
        .into_response();
    noted(response, 0, None, Some(view.id))
}

/// The body of a poll's answer, [`QueryResponse`] to the byte, written straight into one
/// buffer: the envelope's keys never change, and escaping them through serde on every poll
/// cost more than the rest of the answer (a test holds the two writings equal).
fn query_body(view: &TaskView) -> Vec<u8> {
    static NONE: LazyLock<Rendered> = LazyLock::new(Rendered::default);
    let (error_msg, shown): (&str, &Rendered) = match (&view.outcome, &view.result) {
        (Some(Outcome::Failed { message, .. }), _) => (message, &NONE),
        (_, Some(r)) => ("", r),
        _ => ("", &NONE),
    };
    let json = shown.json();
    let (result, detail) = (json.result.get(), json.detail.get());
    let mut buf = Vec::with_capacity(160 + error_msg.len() + result.len() + detail.len());
    buf.extend_from_slice(br#"{"code":0,"success":true,"msg":""#);
    buf.extend_from_slice(MSG_OK.as_bytes());
    buf.extend_from_slice(br#"","data":{"TaskId":"#);
    buf.extend_from_slice(itoa::Buffer::new().format(view.id).as_bytes());
    buf.extend_from_slice(br#","Status":"#);
    buf.extend_from_slice(itoa::Buffer::new().format(view.status.code()).as_bytes());
    // Status names are fixed ASCII words: nothing to escape.
    buf.extend_from_slice(br#","StatusStr":""#);
    buf.extend_from_slice(view.status.as_str().as_bytes());
    buf.extend_from_slice(br#"","ErrorMsg":"#);
    if serde_json::to_writer(&mut buf, error_msg).is_err() {
        // A str always serialises; never leave the body malformed all the same.
        buf.extend_from_slice(br#""""#);
    }
    buf.extend_from_slice(br#","Result":"#);
    buf.extend_from_slice(result.as_bytes());
    buf.extend_from_slice(br#","ResultDetail":"#);
    buf.extend_from_slice(detail.as_bytes());
    buf.extend_from_slice(b"}}");
    buf
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::providers::icu::tasks::Status;
    use crate::providers::icu::wire::{QueryResponse, TaskData};

    fn serde_body(view: &TaskView) -> Vec<u8> {
        let (error_msg, shown) = match (&view.outcome, &view.result) {
            (Some(Outcome::Failed { message, .. }), _) => (message.as_str(), Rendered::default()),
            (_, Some(r)) => ("", (**r).clone()),
            _ => ("", Rendered::default()),
        };
        let json = shown.json();
        serde_json::to_vec(&QueryResponse {
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
        })
        .unwrap()
    }

    #[test]
    fn the_written_poll_answer_is_the_wire_types_serialisation() {
        let rendered = Arc::new(Rendered::new(
            "[0:0.240,0:2.600]  \"你好\"\n".to_owned(),
            Vec::new(),
        ));
        rendered.keep_json();
        let views = [
            TaskView {
                id: 9_899_375_578,
                status: Status::Waiting,
                outcome: None,
                result: None,
            },
            TaskView {
                id: u64::MAX,
                status: Status::Success,
                outcome: None,
                result: Some(rendered.clone()),
            },
            TaskView {
                id: 1,
                status: Status::Failed,
                outcome: Some(Outcome::Failed {
                    code: crate::failure::FailureCode::TooShort,
                    message: "a \"quoted\" reason\twith a tab".to_owned(),
                    duration_ms: None,
                }),
                result: None,
            },
        ];
        for view in &views {
            let written = query_body(view);
            assert_eq!(
                String::from_utf8(written.clone()).unwrap(),
                String::from_utf8(serde_body(view)).unwrap()
            );
            let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
            assert_eq!(parsed["data"]["TaskId"], view.id);
        }
    }
}
