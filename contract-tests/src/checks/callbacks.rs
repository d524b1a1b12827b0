//! The icu callback checks: a receiver of ours gets the callback of a successful and of a
//! failed task, and what it carries agrees with the poll. Skipped when the provider cannot
//! reach this machine.

use std::time::Duration;

use asr_client::icu::{Callback, Engine, Source, Status, SubmitRequest};
use asr_mock::control::types::CallbacksQuery;

use super::support::{control_call, ensure, fail, finish, speech_request, Context};
use crate::fixtures;
use crate::outcome::{Checked, Outcome};
use crate::target::{CallbackReceiver, Target};

/// How long a callback may take to arrive once a simulator has ended the task (real time).
const CALLBACK_GRACE: Duration = Duration::from_secs(10);

pub(super) async fn success(t: &Target) -> Checked {
    let mut receiver = t.callback_receiver().await?;
    let mut req = speech_request(2);
    req.callback_url = Some(receiver.url.clone());
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(done.status == Status::Success, "task ended {done:?}");
    let cb = next_callback(t, &mut receiver).await?;
    ensure!(
        cb.request_id == id && cb.code == 0 && cb.message.is_empty(),
        "expected requestId {id}, code 0, message \"\", got {cb:?}"
    );
    ensure!(
        cb.text == done.result,
        "callback text {:?} differs from the poll's Result {:?}",
        cb.text,
        done.result
    );
    ensure!(
        cb.result_detail.as_ref() == Some(&done.result_detail),
        "callback resultDetail differs from the poll's ResultDetail"
    );
    let expected_s = fixtures::SPEECH_DURATION_MS as f64 / 1000.0;
    ensure!(
        (cb.audio_time - expected_s).abs() < 0.1,
        "audioTime {} for {expected_s} s of audio",
        cb.audio_time
    );
    ensure!(
        cb.audio_url.is_none() && cb.appid > 0,
        "an inline task has no audioUrl and the account's appid: {cb:?}"
    );
    if let Some(control) = t.control() {
        // The simulator journals an attempt once the receiver's answer is in, which can be
        // a moment after the receiver handed the callback over.
        let mut attempts = Vec::new();
        for _ in 0..250 {
            let query = CallbacksQuery { task_id: Some(id) };
            attempts = control_call("callbacks", control.callbacks(query))
                .await?
                .attempts;
            if !attempts.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ensure!(
            attempts.len() == 1 && attempts[0].acknowledged,
            "one acknowledged attempt expected, the simulator journaled {attempts:?}"
        );
    }
    Ok(())
}

pub(super) async fn failed(t: &Target) -> Checked {
    let mut receiver = t.callback_receiver().await?;
    let mut req = SubmitRequest::new(Engine::Zh16k, Source::Data(fixtures::NOT_AUDIO.to_vec()));
    req.callback_url = Some(receiver.url.clone());
    let id = t.icu_client()?.submit(&req).await.context("submit")?;
    let done = finish(t, id).await?;
    ensure!(done.status == Status::Failed, "task ended {done:?}");
    let cb = next_callback(t, &mut receiver).await?;
    ensure!(
        cb.request_id == id && cb.code == 10000,
        "expected requestId {id} with code 10000 (transcoding failed), got {cb:?}"
    );
    ensure!(
        cb.message == done.error_msg && cb.text.is_empty() && cb.result_detail.is_none(),
        "callback message {:?} must be the poll's ErrorMsg {:?}, with no text",
        cb.message,
        done.error_msg
    );
    Ok(())
}

/// The next callback the receiver hands over: within [`CALLBACK_GRACE`] once a simulator
/// has ended the task, within the target's deadline at a real provider.
async fn next_callback(t: &Target, receiver: &mut CallbackReceiver) -> Result<Callback, Outcome> {
    let grace = if t.control().is_some() {
        CALLBACK_GRACE
    } else {
        t.wait_deadline()
    };
    tokio::time::timeout(grace, receiver.callbacks.recv())
        .await
        .map_err(|_| fail(format!("no callback within {grace:?}")))?
        .ok_or_else(|| fail("the receiver stopped"))
}
