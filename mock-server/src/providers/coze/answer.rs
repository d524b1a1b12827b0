//! A Coze answer renders itself: JSON in Coze's envelope, the logid in the `X-Tt-Logid`
//! header and in `detail.logid`, the HTTP status of the error, and a note for the journal.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::CozeError;
use super::wire::{AudioTranscriptionsData, ErrorResponse, ResponseDetail, TranscriptionResponse};
use crate::stores::journal::{JournalNote, Provider};

/// The header both carrying and echoing the logid.
pub const LOGID_HEADER: &str = "x-tt-logid";

/// A transcript or an error, with the logid of the request it answers.
#[derive(Debug)]
pub struct CozeAnswer {
    /// The request's logid.
    pub logid: String,
    /// The text, or the error.
    pub result: Result<String, CozeError>,
}

impl CozeError {
    /// This error as the answer to the request with `logid`.
    pub fn answer(self, logid: String) -> CozeAnswer {
        CozeAnswer {
            logid,
            result: Err(self),
        }
    }
}

impl IntoResponse for CozeAnswer {
    fn into_response(self) -> Response {
        let logid = self.logid;
        let detail = ResponseDetail {
            logid: logid.clone(),
        };
        let (mut response, code, msg) = match self.result {
            Ok(text) => (
                Json(TranscriptionResponse {
                    code: 0,
                    msg: String::new(),
                    data: AudioTranscriptionsData { text },
                    detail,
                })
                .into_response(),
                0,
                None,
            ),
            Err(err) => {
                let msg = err.msg.clone();
                let body = ErrorResponse {
                    code: err.code,
                    msg: err.msg,
                    detail,
                };
                (
                    (err.status, Json(body)).into_response(),
                    err.code,
                    Some(msg),
                )
            }
        };
        if let Ok(value) = HeaderValue::from_str(&logid) {
            response.headers_mut().insert(LOGID_HEADER, value);
        }
        response.extensions_mut().insert(JournalNote {
            provider: Some(Provider::Coze),
            code: Some(code),
            msg,
            id: Some(logid),
        });
        response
    }
}
