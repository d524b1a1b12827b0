//! The icu task checks: submit, the query life cycle and its result shapes (GET and POST),
//! `IcuClient::wait`, Url sources, and tasks that end failed.

use std::time::Duration;

use asr_client::icu::{parse_result, Engine, Segment, Source, Status, SubmitRequest, WaitOptions};
use asr_mock::control::types::{self, Transition};
use serde_json::{json, Value};

use super::support::{
    advance, control_call, ensure, fail, finish, icu_query_raw, icu_raw, manual_clock, params_json,
    real_time_wait, speech_request, Context, MAX_STEPS, STEP_MS,
};
use crate::fixtures;
use crate::outcome::{Checked, Outcome};
use crate::target::Target;
use crate::wire::{self, Answer};

pub(super) async fn submit(t: &Target) -> Checked {
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    ensure!(id > 0, "TaskId must be positive, got {id}");
    // The same request raw, to see the envelope itself.
    let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &params_json(&speech_request(0))).await?;
    let body = answer.json().context("submit")?;
    ensure!(
        answer.status == 200 && body["code"] == 0 && body["msg"] == "操作成功",
        "expected HTTP 200 {{msg:操作成功, code:0}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    let raw_id = body["data"]["TaskId"].as_u64().unwrap_or(0);
    ensure!(
        raw_id > 0 && raw_id != id,
        "data.TaskId must be a new positive uint64, got {} after {id}",
        body["data"]["TaskId"]
    );
    Ok(())
}

pub(super) async fn query_lifecycle(t: &Target) -> Checked {
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    let poll = || async {
        let answer = icu_query_raw(t, id).await?;
        let data = query_envelope(&answer, None)?;
        ensure!(
            data["TaskId"] == id,
            "asked for {id}, got {}",
            data["TaskId"]
        );
        Ok::<_, Outcome>(data)
    };
    // Only a manual clock makes the statuses seen certain.
    let frozen = match t.control() {
        Some(c) => manual_clock(c).await?,
        None => false,
    };
    let mut seen = vec![];
    let mut data = poll().await?;
    let first = data["Status"].as_i64().unwrap_or(-1);
    if frozen {
        ensure!(first == 0, "a new task is waiting, got {data}");
    }
    seen.push(first);
    let control = t.control();
    let mut pause = t.poll_interval();
    let mut waited = Duration::ZERO;
    while data["Status"] != 2 && data["Status"] != 3 {
        match control {
            Some(c) => advance(c, STEP_MS).await?,
            None => {
                ensure!(
                    waited < t.wait_deadline(),
                    "task {id} did not end within {:?}",
                    t.wait_deadline()
                );
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 3 / 2).min(Duration::from_secs(10));
            }
        }
        ensure!(
            seen.len() < MAX_STEPS,
            "task {id} did not end after {MAX_STEPS} polls"
        );
        data = poll().await?;
        let status = data["Status"].as_i64().unwrap_or(-1);
        ensure!(
            status >= *seen.last().unwrap_or(&0),
            "status went backwards: {seen:?} then {status}"
        );
        seen.push(status);
    }
    if frozen {
        ensure!(
            seen.contains(&1),
            "polls every {STEP_MS} simulated ms never saw doing: {seen:?}"
        );
    }
    let data = query_envelope(&icu_query_raw(t, id).await?, Some(Status::Success))?;
    let result = data["Result"].as_str().unwrap_or_default();
    ensure!(
        result.ends_with('\n'),
        "every Result line ends in \\n, the last one too: {result:?}"
    );
    let segments = parse_result(result).context("Result")?;
    check_segments(&segments, fixtures::SPEECH_DURATION_MS)?;
    ensure!(
        data["ResultDetail"].as_array().is_some_and(Vec::is_empty)
            || data["ResultDetail"].is_null(),
        "ResTextFormat 0 has no ResultDetail: {}",
        data["ResultDetail"]
    );
    // The typed client reads the same answer.
    let typed = t.icu_client()?.query(id).await.context("typed query")?;
    ensure!(
        typed.status == Status::Success && typed.result == result && typed.task_id == id,
        "the client read {typed:?}"
    );
    Ok(())
}

pub(super) async fn query_detail(t: &Target) -> Checked {
    let client = t.icu_client()?;
    for format in [1u8, 2] {
        let id = client
            .submit(&speech_request(format))
            .await
            .context("submit")?;
        let done = finish(t, id).await?;
        ensure!(
            done.status == Status::Success,
            "format {format}: task ended {}: {}",
            done.status,
            done.error_msg
        );
        let segments = done.segments().context("Result")?;
        check_segments(&segments, fixtures::SPEECH_DURATION_MS)?;
        let detail = &done.result_detail;
        ensure!(
            detail.len() == segments.len(),
            "format {format}: {} ResultDetail entries for {} Result lines",
            detail.len(),
            segments.len()
        );
        for (d, s) in detail.iter().zip(&segments) {
            ensure!(
                (d.start_ms, d.end_ms) == (s.start_ms, s.end_ms),
                "format {format}: sentence {}–{} ms, Result line {}–{} ms",
                d.start_ms,
                d.end_ms,
                s.start_ms,
                s.end_ms
            );
            ensure!(
                d.words_num as usize == d.words.len() && !d.words.is_empty(),
                "format {format}: WordsNum {} for {} words",
                d.words_num,
                d.words.len()
            );
            let joined: Vec<&str> = d.words.iter().map(|w| w.word.as_str()).collect();
            ensure!(
                d.slice_sentence == joined.join(" "),
                "format {format}: SliceSentence {:?} is not the words joined by spaces",
                d.slice_sentence
            );
            for w in &d.words {
                ensure!(
                    w.offset_start_ms <= w.offset_end_ms
                        && w.offset_end_ms <= d.end_ms - d.start_ms,
                    "format {format}: word {w:?} is not inside its {}–{} ms sentence \
                     (offsets are relative to the sentence)",
                    d.start_ms,
                    d.end_ms
                );
            }
            ensure!(
                d.speech_speed > 0.0,
                "format {format}: SpeechSpeed {}",
                d.speech_speed
            );
            ensure!(
                d.speaker_id.is_none(),
                "format {format}: SpeakerId without diarization: {:?}",
                d.speaker_id
            );
            let punctuated = |s: &str| s.chars().any(|c| "，。？！、；：,.?!;:".contains(c));
            if format == 1 {
                ensure!(
                    !punctuated(&d.final_sentence) && !d.words.iter().any(|w| punctuated(&w.word)),
                    "format 1 has no punctuation: {:?}",
                    d.final_sentence
                );
            }
        }
        if format == 2 {
            ensure!(
                detail
                    .iter()
                    .any(|d| d.final_sentence.chars().any(|c| "，。？！".contains(c))),
                "format 2 keeps punctuation: {:?}",
                detail.iter().map(|d| &d.final_sentence).collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

pub(super) async fn query_post(t: &Target) -> Checked {
    let icu = t.icu()?;
    let id = t
        .icu_client()?
        .submit(&speech_request(0))
        .await
        .context("submit")?;
    finish(t, id).await?;
    let get = query_envelope(&icu_query_raw(t, id).await?, Some(Status::Success))?;
    for body in [json!({ "TaskId": id }), json!({ "TaskId": id.to_string() })] {
        let post = query_envelope(&icu_raw(t, wire::ICU_QUERY_PATH, &body).await?, None)?;
        ensure!(
            post == get,
            "POST {body} answered {post}, GET answered {get}"
        );
    }
    let form_params = std::collections::BTreeMap::from([("TaskId".to_owned(), id.to_string())]);
    let form = wire::icu_signed(
        t.http()
            .post(format!("{}{}", icu.base_url, wire::ICU_QUERY_PATH))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("TaskId={id}")),
        icu.signer(),
        &form_params,
    );
    let post = query_envelope(&Answer::fetch(form).await.map_err(fail)?, None)?;
    ensure!(post == get, "POST form answered {post}, GET answered {get}");
    Ok(())
}

pub(super) async fn wait(t: &Target) -> Checked {
    let client = t.icu_client()?;
    let id = client.submit(&speech_request(0)).await.context("submit")?;
    let done = match t.control() {
        None => client.wait(id, real_time_wait(t)).await.context("wait")?,
        Some(control) => {
            // Time moves on the simulator while `wait` polls in real time.
            let control = control.clone();
            let clock = tokio::spawn(async move {
                for _ in 0..2000 {
                    if advance(&control, STEP_MS).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            let opts = WaitOptions {
                initial: Duration::from_millis(5),
                factor: 2.0,
                max_interval: Duration::from_millis(40),
                deadline: Duration::from_secs(20),
                max_rate: 0,
            };
            let done = client.wait(id, opts).await;
            clock.abort();
            done.context("wait")?
        }
    };
    ensure!(
        done.task_id == id && done.status == Status::Success && !done.result.is_empty(),
        "wait returned {done:?}"
    );
    Ok(())
}

pub(super) async fn url_source(t: &Target) -> Checked {
    let control = t.require_control("the simulator hosts the audio the task downloads")?;
    let client = t.icu_client()?;
    let hosted = "contract-speech.wav";
    control_call(
        "audio upload",
        control.upload_audio(hosted, fixtures::SPEECH),
    )
    .await?;
    let by_url = SubmitRequest::new(Engine::Zh16k, Source::Url(control.audio_url(hosted)));
    let url_done = finish(t, client.submit(&by_url).await.context("submit Url")?).await?;
    let data_done = finish(
        t,
        client
            .submit(&speech_request(0))
            .await
            .context("submit Data")?,
    )
    .await?;
    ensure!(
        url_done.status == Status::Success && url_done.result == data_done.result,
        "the same audio by Url gave {:?} ({}), inline {:?}",
        url_done.result,
        url_done.status,
        data_done.result
    );
    // An unreachable Url fails the task with 10007's message.
    let unreachable = SubmitRequest::new(
        Engine::Zh16k,
        Source::Url(control.audio_url("contract-missing.wav")),
    );
    let failed = finish(t, client.submit(&unreachable).await.context("submit")?).await?;
    ensure!(
        failed.status == Status::Failed
            && failed
                .error_msg
                .starts_with("Failed to download audio file!"),
        "a Url that answers 404 ends failed with \"Failed to download audio file!\", got {} {:?}",
        failed.status,
        failed.error_msg
    );
    Ok(())
}

pub(super) async fn failed_not_audio(t: &Target) -> Checked {
    let req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::NOT_AUDIO.to_vec()));
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(
        done.status == Status::Failed && done.status_str == "failed" && !done.error_msg.is_empty(),
        "a text file as audio must fail with an ErrorMsg, got {done:?}"
    );
    ensure!(
        done.result.is_empty() && done.result_detail.is_empty(),
        "a failed task has no result: {done:?}"
    );
    query_envelope(&icu_query_raw(t, id).await?, Some(Status::Failed))?;
    Ok(())
}

pub(super) async fn failed_forced(t: &Target) -> Checked {
    let control = t.require_control("forcing a failure")?;
    let client = t.icu_client()?;
    let id = client.submit(&speech_request(0)).await.context("submit")?;
    let to_10001 = Transition {
        status: types::Status::Failed,
        code: Some(10001),
        message: None,
    };
    control_call("transition", control.transition(id, to_10001)).await?;
    let done = client.query(id).await.context("query")?;
    ensure!(
        done.status == Status::Failed && done.error_msg == "Recognition failed",
        "a forced 10001 shows failed with \"Recognition failed\", got {done:?}"
    );
    // Forward only: an ended task cannot be moved again.
    let again = control_call(
        "transition",
        control.transition(id, Transition::to(types::Status::Success)),
    )
    .await;
    ensure!(again.is_err(), "an ended task was moved again: {again:?}");
    Ok(())
}

/// Checks a searchResult answer's envelope and its data for `status` (when given); returns
/// the data.
fn query_envelope(answer: &Answer, status: Option<Status>) -> Result<Value, Outcome> {
    let body = answer.json().context("searchResult")?;
    ensure!(
        answer.status == 200
            && body["code"] == 0
            && body["success"] == true
            && body["msg"] == "操作成功",
        "expected HTTP 200 {{code:0, success:true, msg:操作成功}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    let data = &body["data"];
    for key in [
        "TaskId",
        "Status",
        "StatusStr",
        "ErrorMsg",
        "Result",
        "ResultDetail",
    ] {
        ensure!(data.get(key).is_some(), "data has no {key}: {data}");
    }
    ensure!(
        data["TaskId"].as_u64().is_some_and(|id| id > 0),
        "data.TaskId must be a positive uint64: {}",
        data["TaskId"]
    );
    let code = data["Status"]
        .as_i64()
        .and_then(Status::from_code)
        .ok_or_else(|| fail(format!("data.Status must be 0–3: {}", data["Status"])))?;
    ensure!(
        data["StatusStr"] == code.as_str(),
        "StatusStr {} does not match Status {}",
        data["StatusStr"],
        data["Status"]
    );
    if let Some(expected) = status {
        ensure!(code == expected, "expected {expected}, got {code}: {data}");
    }
    let error_msg = data["ErrorMsg"].as_str().unwrap_or("?");
    let result = data["Result"].as_str().unwrap_or("?");
    let detail_empty = data["ResultDetail"].is_null()
        || data["ResultDetail"].as_array().is_some_and(Vec::is_empty);
    match code {
        Status::Waiting | Status::Doing => ensure!(
            error_msg.is_empty() && result.is_empty() && detail_empty,
            "a {code} task has Result \"\", ErrorMsg \"\" and an empty ResultDetail: {data}"
        ),
        Status::Success => ensure!(
            error_msg.is_empty() && data["Result"].is_string(),
            "a successful task has ErrorMsg \"\" and a string Result: {data}"
        ),
        Status::Failed => ensure!(
            !error_msg.is_empty() && result.is_empty() && detail_empty,
            "a failed task has an ErrorMsg, Result \"\" and no ResultDetail: {data}"
        ),
    }
    Ok(data.clone())
}

/// Segments must be in order, inside the audio, with text.
fn check_segments(segments: &[Segment], duration_ms: u64) -> Checked {
    ensure!(!segments.is_empty(), "speech gave no Result lines");
    let mut last_end = 0;
    for s in segments {
        ensure!(
            s.start_ms <= s.end_ms && s.start_ms >= last_end && s.end_ms <= duration_ms + 50,
            "segment {s:?} is out of order or past the audio's {duration_ms} ms"
        );
        ensure!(!s.text.is_empty(), "segment {s:?} has no text");
        last_end = s.end_ms;
    }
    Ok(())
}
