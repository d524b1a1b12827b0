//! The control API's operations, one entry per route the admin routers register. A new
//! control route gets one `doc.add(ctl(Op::…(routes::admin::…, …)…))` line here; the
//! `openapi` integration test names any served route that has none.

use super::{Doc, Op};
use crate::control::types::{
    Activation, Active, Advance, AudioFile, AudioFiles, CallbackLog, CallbacksQuery,
    ClockChangeBody, ClockView, ErrorBody, FixtureAdded, Fixtures, GenerateQuery, Health,
    IcuSettings, NewFixture, RequestCount, RequestMatcher, Requests, RequestsQuery, ResetDone,
    Saved, ScenarioList, SettingsChangeBody, SinkLog, TaskDetail, Tasks, TasksQueryBody,
    TransitionBody, Transitioned,
};
use crate::routes::admin;

const TAG: &str = "control";

/// Every control route: its own answers, the shared error answer and the optional token.
pub(super) fn routes(doc: &mut Doc) {
    let add = |doc: &mut Doc, op: Op| doc.add(ctl(op));
    add(
        doc,
        Op::get(
            admin::HEALTH,
            TAG,
            "Liveness, version, seed, time and counters (open without the admin token)",
        )
        .answer::<Health>(200, "Running"),
    );
    add(
        doc,
        Op::get(admin::OPENAPI, TAG, "This document (OpenAPI 3.1)").answer_plain(
            "200",
            "The document",
            Some("application/json"),
        ),
    );
    add(doc, Op::post(admin::RESET, TAG, "Forget requests, tasks, callbacks, fixtures added by the API, hosted audio, activations; the logid ordinal restarts")
        .answer::<ResetDone>(200, "Reset"));
    add(
        doc,
        Op::post(admin::STATE_SAVE, TAG, "Write the --state-file now").answer::<Saved>(
            200,
            "Saved (404 without --state-file, 500 when writing fails)",
        ),
    );
    add(
        doc,
        Op::get(admin::REQUESTS, TAG, "The request journal, oldest first")
            .query::<RequestsQuery>()
            .answer::<Requests>(200, "The newest entries"),
    );
    add(
        doc,
        Op::delete(admin::REQUESTS, TAG, "Clear the request journal")
            .answer_plain("204", "Cleared", None),
    );
    add(
        doc,
        Op::post(
            admin::REQUESTS_FIND,
            TAG,
            "Journal entries matching every field given (newest last)",
        )
        .json_body::<RequestMatcher>()
        .answer::<Requests>(200, "The matching entries (at most `limit`)"),
    );
    add(
        doc,
        Op::post(
            admin::REQUESTS_COUNT,
            TAG,
            "How many journal entries match every field given",
        )
        .json_body::<RequestMatcher>()
        .answer::<RequestCount>(200, "The count"),
    );
    add(
        doc,
        Op::get(
            admin::METRICS,
            TAG,
            "This server's metrics in the Prometheus text format",
        )
        .answer_plain("200", "The metrics", Some("text/plain; version=0.0.4")),
    );
    add(
        doc,
        Op::get(
            admin::UI,
            TAG,
            "The dashboard (open without the admin token; it asks for it)",
        )
        .answer_plain("200", "The page", Some("text/html")),
    );
    add(
        doc,
        Op::get(
            admin::UI_ASSET,
            TAG,
            "The dashboard's script and style sheet",
        )
        .answer_plain("200", "The file", Some("text/javascript")),
    );
    add(
        doc,
        Op::get(admin::EVENTS, TAG, "Server-sent events: tasks, callbacks, requests, clock, scenarios, fixtures, streams (`?ticket=` when the admin token is set)")
            .answer_plain("200", "An event stream", Some("text/event-stream")),
    );
    add(
        doc,
        Op::get(
            admin::EVENTS_TICKET,
            TAG,
            "The ticket that opens the event stream (`{\"ticket\": null}` without an admin token)",
        )
        .answer_plain("200", "The ticket", Some("application/json")),
    );
    add(
        doc,
        Op::get(admin::FIXTURES, TAG, "Transcript fixtures by audio SHA-256")
            .answer::<Fixtures>(200, "Every fixture"),
    );
    add(
        doc,
        Op::post(
            admin::FIXTURES,
            TAG,
            "Register a transcript for an audio (by SHA-256 or the audio in base64)",
        )
        .json_body::<NewFixture>()
        .answer::<FixtureAdded>(201, "Registered"),
    );
    add(
        doc,
        Op::get(admin::CLOCK, TAG, "Simulated time and how it runs")
            .answer::<ClockView>(200, "The clock"),
    );
    add(
        doc,
        Op::post(
            admin::CLOCK,
            TAG,
            "Change the clock's mode and/or set the time (never backwards)",
        )
        .json_body::<ClockChangeBody>()
        .answer::<ClockView>(200, "The clock after the change"),
    );
    add(
        doc,
        Op::post(
            admin::CLOCK_ADVANCE,
            TAG,
            "Move simulated time forward (due tasks end, callbacks fire)",
        )
        .json_body::<Advance>()
        .answer::<ClockView>(200, "The clock after the move"),
    );
    add(
        doc,
        Op::get(admin::TASKS, TAG, "icu tasks, newest first")
            .query::<TasksQueryBody>()
            .answer::<Tasks>(200, "One line per task"),
    );
    add(
        doc,
        Op::get(
            admin::TASK,
            TAG,
            "One icu task, its status now and its callback attempts",
        )
        .answer::<TaskDetail>(200, "The task"),
    );
    add(
        doc,
        Op::post(
            admin::TASK_TRANSITION,
            TAG,
            "Force a task forward, optionally failing it with a code 10000–10007",
        )
        .json_body::<TransitionBody>()
        .answer::<Transitioned>(200, "Moved (409 when the move would go backwards)"),
    );
    add(
        doc,
        Op::get(admin::CALLBACKS, TAG, "Callback delivery attempts")
            .query::<CallbacksQuery>()
            .answer::<CallbackLog>(200, "The attempts, oldest first"),
    );
    add(
        doc,
        Op::get(
            admin::ICU_SETTINGS,
            TAG,
            "How icu tasks progress and the rate limits",
        )
        .answer::<IcuSettings>(200, "The settings"),
    );
    add(
        doc,
        Op::post(
            admin::ICU_SETTINGS,
            TAG,
            "Change progress or the rate limits",
        )
        .json_body::<SettingsChangeBody>()
        .answer::<IcuSettings>(200, "The settings after the change"),
    );
    add(
        doc,
        Op::get(
            admin::SCENARIOS,
            TAG,
            "The scenario library and what is active",
        )
        .answer::<ScenarioList>(200, "Scenarios"),
    );
    add(
        doc,
        Op::post(
            admin::SCENARIOS_ACTIVATE,
            TAG,
            "Activate a scenario for every request or for one bearer token",
        )
        .json_body::<Activation>()
        .answer::<Active>(200, "What is active now"),
    );
    add(
        doc,
        Op::post(admin::SCENARIOS_DEACTIVATE, TAG, "Deactivate a scenario")
            .json_body::<Activation>()
            .answer::<Active>(200, "What is active now"),
    );
    add(doc, Op::post(admin::SINK, TAG, "The built-in callback receiver: keeps the body, acknowledges as icu expects (open without the admin token)")
        .raw_body("application/x-www-form-urlencoded", super::binary(), "Any body (icu sends its callback form)")
        .answer_plain("200", "`{\"code\":0,\"message\":\"success\"}`", Some("application/json")));
    add(
        doc,
        Op::get(admin::SINK, TAG, "What the callback receiver got")
            .answer::<SinkLog>(200, "Kept callbacks, oldest first"),
    );
    add(
        doc,
        Op::delete(admin::SINK, TAG, "Clear the callback receiver's log")
            .answer_plain("204", "Cleared", None),
    );
    add(
        doc,
        Op::get(admin::AUDIO, TAG, "Hosted audio files").answer::<AudioFiles>(200, "Files by name"),
    );
    add(doc, Op::get(admin::AUDIO_GENERATED, TAG, "A generated WAV (`silence.wav`, `speechlike.wav`), streamed (open without the admin token)")
        .query::<GenerateQuery>()
        .answer_plain("200", "The WAV", Some("audio/wav")));
    add(
        doc,
        Op::get(
            admin::AUDIO_FILE,
            TAG,
            "Download a hosted file (open without the admin token)",
        )
        .answer_plain("200", "Its bytes", Some("application/octet-stream")),
    );
    add(
        doc,
        Op::put(
            admin::AUDIO_FILE,
            TAG,
            "Host a file under a name (POST does the same)",
        )
        .raw_body("application/octet-stream", super::binary(), "The audio")
        .answer::<AudioFile>(201, "Hosted"),
    );
    add(
        doc,
        Op::post(admin::AUDIO_FILE, TAG, "Host a file under a name (as PUT)")
            .raw_body("application/octet-stream", super::binary(), "The audio")
            .answer::<AudioFile>(201, "Hosted"),
    );
    add(
        doc,
        Op::delete(admin::AUDIO_FILE, TAG, "Remove a hosted file")
            .answer_plain("204", "Removed", None),
    );
}

/// What every control route shares: `{"error": …}` on refusal, and the admin token when the
/// server was started with one.
fn ctl(op: Op) -> Op {
    op.answer::<ErrorBody>(
        "4XX",
        "Refused: a bad body or query, an unknown item, a wrong Host or Origin, a body that \
         is not JSON, or a missing admin token",
    )
    .security("adminToken", true)
}
