//! The icu checks that end in icu's error envelope: unknown tasks, missing and invalid
//! parameters (and the client refusing the same ones locally), signatures, rate limits.

use asr_client::icu::{Engine, IcuClient, Source, SubmitRequest};
use asr_client::Error;
use asr_mock::control::types::RequestsQuery;
use asr_mock::control::Control;
use serde_json::Value;

use super::support::{
    advance, control_call, ensure, expect_api, fail, icu_query_raw, icu_raw, manual_clock,
    params_json, speech_request, Context,
};
use crate::outcome::{Checked, Outcome};
use crate::shape;
use crate::target::{self, Target};
use crate::wire::{self, Answer};

/// A TaskId no account has: near the top of the uint64 range.
const UNKNOWN_TASK_ID: u64 = 18_446_744_073_709_551_000;

pub(super) async fn no_such_task(t: &Target) -> Checked {
    let e = expect_api(
        t.icu_client()?.query(UNKNOWN_TASK_ID).await,
        "an unknown TaskId",
    )?;
    ensure!(
        e.status == 200 && e.code != 0 && e.logid.is_none(),
        "icu errors come with HTTP 200 and no logid, got HTTP {} code {} logid {:?}",
        e.status,
        e.code,
        e.logid
    );
    let name = shape::icu_error_msg(&e.msg).map_err(fail)?;
    ensure!(
        name == "FailedOperation.NoSuchTask",
        "expected FailedOperation.NoSuchTask, got {:?}",
        e.msg
    );
    let answer = icu_query_raw(t, UNKNOWN_TASK_ID).await?;
    let (name, _) = icu_error(&answer)?;
    ensure!(name == "FailedOperation.NoSuchTask", "raw GET: {name}");
    Ok(())
}

pub(super) async fn missing_parameter(t: &Target) -> Checked {
    let mut body = params_json(&speech_request(0));
    if let Value::Object(map) = &mut body {
        map.remove("EngineModelType");
    }
    let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &body).await?;
    let (name, msg) = icu_error(&answer)?;
    ensure!(
        name == "MissingParameter" && msg.contains("EngineModelType"),
        "expected MissingParameter naming EngineModelType, got {msg:?}"
    );
    Ok(())
}

pub(super) async fn invalid_value(t: &Target) -> Checked {
    for (field, value) in [
        ("ChannelNum", "3"),
        ("ConvertNumMode", "2"),
        ("ResTextFormat", "x"),
    ] {
        let mut body = params_json(&speech_request(0));
        body[field] = Value::String(value.to_owned());
        let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &body).await?;
        let (name, msg) = icu_error(&answer)?;
        ensure!(
            name == "InvalidParameterValue" && msg.contains(field),
            "{field}={value:?}: expected InvalidParameterValue naming {field}, got {msg:?}"
        );
    }
    Ok(())
}

/// Requests with exactly one problem each, and the field both sides must name.
fn invalid_requests() -> Vec<(SubmitRequest, &'static str)> {
    let base = || speech_request(0);
    let with = |f: fn(&mut SubmitRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    vec![
        (with(|r| r.channel_num = 3), "ChannelNum"),
        (with(|r| r.res_text_format = 3), "ResTextFormat"),
        (with(|r| r.speaker_number = 11), "SpeakerNumber"),
        (
            with(|r| r.callback_url = Some("ftp://example.com/cb".into())),
            "CallbackUrl",
        ),
        (
            with(|r| r.source = Source::Url("example.com/a.wav".into())),
            "Url",
        ),
        (with(|r| r.source = Source::Data(Vec::new())), "Data"),
        (with(|r| r.filter_dirty = 3), "FilterDirty"),
        (with(|r| r.filter_modal = 3), "FilterModal"),
        (with(|r| r.convert_num_mode = 2), "ConvertNumMode"),
        (with(|r| r.filter_punc = 3), "FilterPunc"),
        (with(|r| r.channel_num = 2), "ChannelNum"),
        (
            with(|r| {
                r.engine = Engine::En16k;
                r.speaker_diarization = true;
            }),
            "SpeakerDiarization",
        ),
        (
            with(|r| {
                r.engine = Engine::Zh8k;
                r.channel_num = 2;
                r.speaker_diarization = true;
            }),
            "SpeakerDiarization",
        ),
    ]
}

pub(super) async fn validation_local(t: &Target) -> Checked {
    let client = t.icu_client()?;
    let before = match t.control() {
        Some(c) => Some(last_request_seq(c).await?),
        None => None,
    };
    let cases = invalid_requests();
    for (req, field) in &cases {
        match client.submit(req).await {
            Err(Error::Invalid(e)) if e.field == *field => {}
            other => {
                return Err(fail(format!(
                    "{req:?}: expected a local refusal naming {field}, got {other:?}"
                )))
            }
        }
    }
    if let (Some(c), Some(before)) = (t.control(), before) {
        let after = last_request_seq(c).await?;
        ensure!(
            after == before,
            "local refusals sent {} requests",
            after - before
        );
    }
    // The server refuses the same parameters, naming the same field.
    for (req, field) in &cases {
        let answer = icu_raw(t, wire::ICU_SUBMIT_PATH, &params_json(req)).await?;
        let (_, msg) = icu_error(&answer)?;
        ensure!(
            msg.contains(field),
            "the client names {field} for {req:?}, the server says {msg:?}"
        );
    }
    Ok(())
}

pub(super) async fn signature(t: &Target) -> Checked {
    let icu = t.icu()?;
    let Some(credentials) = icu.credentials.clone() else {
        return Err(Outcome::Skip(format!(
            "no credentials to sign with ({} and {} unset)",
            target::ENV_ICU_SECRET_ID,
            target::ENV_ICU_SECRET_KEY
        )));
    };
    let signed = t.icu_client()?;
    signed
        .submit(&speech_request(0))
        .await
        .context("a signed submit")?;
    // A signed query of an unknown task gets past authentication to NoSuchTask.
    let e = expect_api(signed.query(UNKNOWN_TASK_ID).await, "a signed query")?;
    ensure!(
        e.msg.starts_with("FailedOperation.NoSuchTask"),
        "a signed query must pass authentication, got {:?}",
        e.msg
    );
    let wrong = IcuClient::new(&icu.base_url)
        .with_http(t.http().clone())
        .with_date_source(icu.date.clone())
        .with_credentials(asr_client::icu::Credentials {
            secret_key: format!("{}-wrong", credentials.secret_key),
            ..credentials
        });
    let unsigned = IcuClient::new(&icu.base_url).with_http(t.http().clone());
    for (who, client) in [("a wrong key", &wrong), ("no signature", &unsigned)] {
        let submit = expect_api(client.submit(&speech_request(0)).await, who)?;
        let query = expect_api(client.query(UNKNOWN_TASK_ID).await, who)?;
        for e in [submit, query] {
            ensure!(
                e.status == 200
                    && e.code != 0
                    && e.msg.starts_with("AuthFailure.InvalidAuthorization"),
                "{who}: expected AuthFailure.InvalidAuthorization, got HTTP {} {} {:?}",
                e.status,
                e.code,
                e.msg
            );
        }
    }
    Ok(())
}

pub(super) async fn rate_limit(t: &Target) -> Checked {
    let control = t.require_control("bursting past the limits at a real provider spends quota")?;
    if !manual_clock(control).await? {
        return Err(Outcome::Skip(
            "the simulator's clock runs: a burst cannot be held inside one simulated second".into(),
        ));
    }
    let limits = control_call("icu/settings", control.icu_settings()).await?;
    let (submit_rate, query_rate) = (limits.submit_rate, limits.query_rate);
    // Shown as the control API answers them.
    let settings = serde_json::to_value(limits).unwrap_or_default();
    if submit_rate == 0 || query_rate == 0 {
        return Err(Outcome::Skip(format!(
            "the simulator's rate limits are off: {settings}"
        )));
    }
    ensure!(
        (submit_rate, query_rate) == (20, 50),
        "the provider allows 20 submits and 50 queries per second, the simulator {settings}"
    );
    let client = t.icu_client()?;
    // The clock stands still, so every call lands in the same second.
    let mut last = None;
    for _ in 0..=submit_rate {
        last = Some(client.submit(&speech_request(0)).await);
    }
    let e = expect_api(last.unwrap_or(Ok(0)), "one submit over the limit")?;
    ensure!(
        e.msg.starts_with("RequestLimitExceeded"),
        "submit {}: expected RequestLimitExceeded, got {:?}",
        submit_rate + 1,
        e.msg
    );
    let mut last = None;
    for _ in 0..=query_rate {
        last = Some(client.query(UNKNOWN_TASK_ID).await);
    }
    let e = expect_api(
        last.unwrap_or(Err(Error::Timeout)),
        "one query over the limit",
    )?;
    ensure!(
        e.msg.starts_with("RequestLimitExceeded"),
        "query {}: expected RequestLimitExceeded, got {:?}",
        query_rate + 1,
        e.msg
    );
    // A second later the window is free again.
    advance(control, 1000).await?;
    client
        .submit(&speech_request(0))
        .await
        .context("a submit after the window")?;
    Ok(())
}

/// The sequence number of the newest provider request the simulator journaled (0 when
/// none): unchanged across a block of code proves it sent nothing.
async fn last_request_seq(control: &Control) -> Result<u64, Outcome> {
    let newest = RequestsQuery { limit: Some(1) };
    let journal = control_call("requests", control.requests(newest)).await?;
    Ok(journal.requests.first().map_or(0, |r| r.seq))
}

/// An icu error answer: HTTP 200, `{code≠0, msg:"Name: reason", success:false, data:null}`.
/// Returns the Tencent name and the whole msg.
fn icu_error(answer: &Answer) -> Result<(String, String), Outcome> {
    let body = answer.json().context("icu error")?;
    ensure!(
        answer.status == 200,
        "icu answers errors with HTTP 200, got {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["code"].as_i64().is_some_and(|c| c != 0)
            && body["success"] == false
            && body["data"].is_null(),
        "expected {{code≠0, success:false, data:null}}, got {body}"
    );
    let msg = body["msg"].as_str().unwrap_or_default();
    let name = shape::icu_error_msg(msg).map_err(fail)?;
    Ok((name.to_owned(), msg.to_owned()))
}
