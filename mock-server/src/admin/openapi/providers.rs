//! The providers' operations. Examples are rendered from the providers' own types and error
//! constructors, so a changed code or message changes the document with it.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Schema, Type};
use utoipa::PartialSchema;

use super::{Doc, Op};
use crate::engine::Engine;
use crate::failure::FailureCode;
use crate::providers::coze::error::CozeError;
use crate::providers::coze::stream::events;
use crate::providers::coze::wire::{
    AudioTranscriptionsData, ErrorResponse, ResponseDetail, TranscriptionResponse,
};
use crate::providers::icu::callback::{CallbackForm, ACKNOWLEDGEMENT, FORM_CONTENT_TYPE};
use crate::providers::icu::error::{ErrorEnvelope, IcuError, IcuErrorKind};
use crate::providers::icu::tasks::Status;
use crate::providers::icu::wire::{QueryResponse, SubmitData, SubmitResponse, TaskData, MSG_OK};
use crate::routes;

/// A logid of the provider's shape, for examples.
const LOGID: &str = "20250101000000A1B2C3D4E5F6A7B8C9D0";

fn value(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

fn coze_error(err: CozeError) -> (u16, String, Value) {
    let name = format!("{} {}", err.code, err.status.as_u16());
    let body = ErrorResponse {
        code: err.code,
        msg: err.msg,
        detail: ResponseDetail {
            logid: LOGID.into(),
        },
    };
    (err.status.as_u16(), name, value(&body))
}

/// Coze: the upload and the WebSocket upgrade on the same path.
pub(super) fn coze(doc: &mut Doc) {
    let ok = TranscriptionResponse {
        code: 0,
        msg: String::new(),
        data: AudioTranscriptionsData {
            text: "Hello, this is a test recording.".into(),
        },
        detail: ResponseDetail {
            logid: LOGID.into(),
        },
    };
    let errors = [
        CozeError::auth_invalid(),
        CozeError::permission_denied("createTranscription"),
        CozeError::file_invalid(),
        CozeError::body_too_large(),
        CozeError::file_empty(),
        CozeError::too_many_files(),
        CozeError::file_too_large(),
        CozeError::unsupported_format("aac", "small", "wav, mp3, ogg, m4a"),
        CozeError::undecodable("no audio track"),
        CozeError::too_long(31 * 60 * 1000),
        CozeError::rate_limited(None),
        CozeError::rate_limited(Some(4009)),
        CozeError::internal(),
    ];
    let mut op = Op::post(routes::COZE_TRANSCRIBE, "coze", "Transcribe an audio file")
        .describe(
            "Multipart upload with one `file` part (10 MB at most, body 15 MB, 30 minutes). \
             Every answer is JSON `{code, msg, data?, detail: {logid}}` with the logid also in \
             the `X-Tt-Logid` header; `code` 0 is success.",
        )
        .security("cozeToken", false)
        .raw_body(
            "multipart/form-data",
            ObjectBuilder::new()
                .property("file", super::binary())
                .required("file")
                .build()
                .into(),
            "The audio as the `file` part, with a filename",
        )
        .answer_with::<TranscriptionResponse>(
            200,
            "Recognised",
            vec![("success".into(), value(&ok))],
        );
    let mut statuses: Vec<u16> = errors.iter().map(|e| e.status.as_u16()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let rendered: Vec<_> = errors.into_iter().map(coze_error).collect();
    for status in statuses {
        let examples = rendered
            .iter()
            .filter(|(s, _, _)| *s == status)
            .map(|(_, name, body)| (name.clone(), body.clone()))
            .collect();
        op = op.answer_with::<ErrorResponse>(status, "An error in Coze's envelope", examples);
    }
    doc.add(op);

    let client = [
        events::UPDATE,
        events::APPEND,
        events::COMPLETE,
        events::CLEAR,
    ];
    let server = [
        events::CREATED,
        events::UPDATED,
        events::COMPLETED,
        events::CLEARED,
        events::MESSAGE_UPDATE,
        events::MESSAGE_COMPLETED,
        events::ERROR,
    ];
    let ws = Op::get(
        routes::COZE_TRANSCRIBE,
        "coze",
        "Streaming recognition over WebSocket",
    )
    .describe(&format!(
        "A WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`) with the bearer \
             token. Frames are JSON `{{event_type, id, data, detail}}`. The client sends {}; \
             audio goes base64 in `data.delta` of `{}`. The server answers {}; \
             `{}` carries `data.code` and `data.msg` (a bad token, a frame over the limit, \
             audio past 30 minutes, an idle connection) and the server then closes. A GET \
             without the upgrade headers is answered 405 in Coze's envelope.",
        list(&client),
        events::APPEND,
        list(&server),
        events::ERROR,
    ))
    .security("cozeToken", false)
    .answer_plain(
        "101",
        "Switching Protocols: the session runs as described",
        None,
    )
    .answer::<ErrorResponse>(
        "4XX",
        "Refused at the handshake (a bad token with --ws-auth-handshake, no upgrade)",
    );
    doc.add(ws);
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn icu_error(kind: IcuErrorKind, reason: &str) -> (String, Value) {
    let err = IcuError::new(kind, reason);
    (kind.name().to_owned(), value(&err.envelope()))
}

/// The examples of every icu error kind.
fn icu_errors() -> Vec<(String, Value)> {
    IcuErrorKind::ALL
        .into_iter()
        .map(|kind| icu_error(kind, "what exactly was wrong, naming the parameter"))
        .collect()
}

/// A submit's or a query's parameters, each an integer or a string of digits where the
/// provider takes numbers.
fn params_schema(fields: &[(&str, bool, &str)], required: &[&str]) -> Schema {
    let mut object = ObjectBuilder::new();
    for (name, numeric, description) in fields {
        let schema: Schema = if *numeric {
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::Integer,
                    Type::String,
                ]))
                .description(Some(*description))
                .build()
                .into()
        } else {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(*description))
                .build()
                .into()
        };
        object = object.property(*name, schema);
    }
    for name in required {
        object = object.required(*name);
    }
    object.build().into()
}

fn engines() -> String {
    Engine::ALL
        .into_iter()
        .map(<&'static str>::from)
        .collect::<Vec<_>>()
        .join(", ")
}

/// icu: submit and query, with the callback a task's end sends.
pub(super) fn icu(doc: &mut Doc) {
    let submit_fields = [
        ("EngineModelType", false, &*format!("One of {}", engines())),
        ("ChannelNum", true, "1, or 2 with 8k_zh"),
        (
            "ResTextFormat",
            true,
            "0 text, 1 word detail, 2 with punctuation",
        ),
        ("SourceType", true, "0: Url, 1: Data"),
        ("Url", false, "The audio's URL (SourceType 0)"),
        ("Data", false, "The audio in base64 (SourceType 1)"),
        ("CallbackUrl", false, "Where the result is POSTed as a form"),
        ("SpeakerDiarization", true, "0 or 1"),
        ("SpeakerNumber", true, "0 automatic, 1–10"),
        ("FilterDirty", true, "0, 1 or 2"),
        ("FilterModal", true, "0, 1 or 2"),
        ("ConvertNumMode", true, "0, 1 or 3"),
        ("FilterPunc", true, "0, 1 or 2"),
    ];
    let submit_schema = params_schema(
        &submit_fields,
        &[
            "EngineModelType",
            "ChannelNum",
            "ResTextFormat",
            "SourceType",
        ],
    );
    let ok = SubmitResponse {
        msg: MSG_OK,
        code: 0,
        data: SubmitData {
            task_id: 1_234_567_890,
        },
    };
    let mut answers = vec![("success".to_owned(), value(&ok))];
    answers.extend(icu_errors());
    let mut submit = Op::post(routes::ICU_SUBMIT, "icu", "Submit a recording-file task")
        .describe(
            "Parameters as JSON or a form (integers also as strings of digits). Every answer \
             is HTTP 200 (a refused connection aside) in icu's envelope: `code` 0 with \
             `data.TaskId`, or a non-zero `code` with `msg` `<Name>: <reason>` and \
             `success: false`. With --icu-secrets the request is signed (`C-Date`, \
             `C-Secret`, `Sign` headers). When the task ends and it had a CallbackUrl, the \
             result is POSTed there as a form (see callbacks).",
        )
        .raw_body_in(
            &["application/json", FORM_CONTENT_TYPE],
            submit_schema,
            "The task",
        )
        .answer_with::<SubmitResponse>(200, "Accepted, or an error envelope", answers);
    let _ = submit.schema::<ErrorEnvelope>();
    let form_ref = submit.schema::<CallbackForm>();
    doc.add(submit);
    doc.callbacks
        .push((routes::ICU_SUBMIT, "post", callbacks(form_ref)));

    let query_examples = query_examples();
    let task_id = || {
        ParameterBuilder::new()
            .name("TaskId")
            .parameter_in(ParameterIn::Query)
            .required(Required::True)
            .schema(Some(u64::schema()))
            .build()
    };
    doc.add(
        Op::get(routes::ICU_QUERY, "icu", "A task's status and result")
            .describe("Polls count towards a task's progress with --icu-progress polls.")
            .param(task_id())
            .answer_with::<QueryResponse>(
                200,
                "The task, or an error envelope",
                query_examples.clone(),
            ),
    );
    let query_schema = params_schema(&[("TaskId", true, "The TaskId")], &["TaskId"]);
    let post = Op::post(
        routes::ICU_QUERY,
        "icu",
        "A task's status and result (parameters in the body)",
    )
    .raw_body_in(
        &["application/json", FORM_CONTENT_TYPE],
        query_schema,
        "The TaskId",
    )
    .answer_with::<QueryResponse>(200, "The task, or an error envelope", query_examples);
    doc.add(post);
}

/// A poll's answer in each status, failures with each code 10000–10007, and the errors.
fn query_examples() -> Vec<(String, Value)> {
    let raw =
        |v: &str| RawValue::from_string(v.to_owned()).unwrap_or_else(|_| RawValue::NULL.to_owned());
    let empty = raw("\"\"");
    let none = raw("[]");
    let text = raw("\"[0:0.000,0:2.340]  Hello, this is a test recording.\\n\"");
    let answer = |status: Status, error: &str, result: &RawValue| {
        value(&QueryResponse {
            code: 0,
            success: true,
            msg: MSG_OK,
            data: TaskData {
                task_id: 1_234_567_890,
                status: status.code(),
                status_str: status.as_str(),
                error_msg: error,
                result,
                result_detail: &none,
            },
        })
    };
    let mut out = vec![
        ("waiting".to_owned(), answer(Status::Waiting, "", &empty)),
        ("doing".to_owned(), answer(Status::Doing, "", &empty)),
        ("success".to_owned(), answer(Status::Success, "", &text)),
    ];
    for code in FailureCode::ALL {
        out.push((
            format!("failed {}", code.code()),
            answer(Status::Failed, code.default_message(), &empty),
        ));
    }
    out.push(icu_error(IcuErrorKind::NoSuchTask, "错误的TaskId"));
    out.push(icu_error(
        IcuErrorKind::MissingParameter,
        "TaskId is required",
    ));
    out.push(icu_error(
        IcuErrorKind::RequestLimitExceeded,
        "over 20 queries a second",
    ));
    out
}

/// The callback a task's end POSTs to its CallbackUrl, as an OpenAPI callbacks object.
fn callbacks(form: utoipa::openapi::RefOr<Schema>) -> Value {
    let success = CallbackForm {
        code: 0,
        request_id: 1_234_567_890,
        appid: 1_300_000_000,
        projectid: 0,
        audio_url: Some("http://127.0.0.1:8080/__admin/audio/call.wav".into()),
        text: "[0:0.000,0:2.340]  Hello, this is a test recording.\n".into(),
        audio_time: "2.340000".into(),
        message: String::new(),
        result_detail: None,
    };
    let failed = CallbackForm {
        code: FailureCode::TooShort.code(),
        text: String::new(),
        message: FailureCode::TooShort.default_message().into(),
        ..success.clone()
    };
    let codes = FailureCode::ALL
        .into_iter()
        .map(|c| format!("{} {}", c.code(), c.default_message()))
        .collect::<Vec<_>>()
        .join("; ");
    json!({
        "taskEnded": {
            "{$request.body#/CallbackUrl}": {
                "post": {
                    "summary": "The task's result, once, when it ends",
                    "description": format!(
                        "A form (`{FORM_CONTENT_TYPE}`), fields in this order: code, requestId, \
                         appid, projectid, audioUrl (SourceType 0 only), text, audioTime, \
                         message, resultDetail. `code` is 0 or a failure code: {codes}. The \
                         receiver must answer `{ACKNOWLEDGEMENT}` (only `code` 0 counts); other \
                         answers are retried per --callback-attempts and --callback-interval-ms."
                    ),
                    "requestBody": {
                        "required": true,
                        "content": {
                            FORM_CONTENT_TYPE: {
                                "schema": form,
                                "examples": {
                                    "success": {"value": success.encode()},
                                    "failed": {"value": failed.encode()},
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "Acknowledged",
                            "content": {"application/json": {"example": serde_json::from_str::<Value>(ACKNOWLEDGEMENT).unwrap_or(Value::Null)}}
                        }
                    }
                }
            }
        }
    })
}
