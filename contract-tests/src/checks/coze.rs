//! The Coze checks: success (speech, silence) and its logid rule, and each error a client can
//! provoke (4100, 4000, 4300, 4303), in Coze's envelope.

use serde_json::Value;

use super::support::{ensure, expect_api, fail, Context};
use crate::fixtures;
use crate::outcome::{Checked, Outcome};
use crate::shape;
use crate::target::Target;
use crate::wire::{self, Answer};

pub(super) async fn success_speech(t: &Target) -> Checked {
    let client = t.coze_client()?;
    let from_bytes = client
        .transcribe_bytes(fixtures::SPEECH.to_vec(), fixtures::SPEECH_NAME)
        .await
        .context("transcribe_bytes")?;
    ensure!(!from_bytes.text.is_empty(), "speech gave empty text");
    let logid = from_bytes.logid.as_deref().unwrap_or_default();
    shape::logid(logid).map_err(fail)?;

    let dir = tempfile::tempdir().context("temporary folder")?;
    let path = dir.path().join(fixtures::SPEECH_NAME);
    std::fs::write(&path, fixtures::SPEECH).context("writing the fixture")?;
    let from_file = client
        .transcribe_path(&path)
        .await
        .context("transcribe_path")?;
    ensure!(
        from_file.text == from_bytes.text,
        "the same audio streamed from a file gave {:?}, from bytes {:?}",
        from_file.text,
        from_bytes.text
    );
    ensure!(
        from_file.logid.is_some() && from_file.logid != from_bytes.logid,
        "every request gets its own logid: {:?} then {:?}",
        from_bytes.logid,
        from_file.logid
    );
    Ok(())
}

pub(super) async fn success_silence(t: &Target) -> Checked {
    let got = t
        .coze_client()?
        .transcribe_bytes(fixtures::SILENCE.to_vec(), fixtures::SILENCE_NAME)
        .await
        .context("transcribe silence")?;
    ensure!(got.text.is_empty(), "silence gave text {:?}", got.text);
    shape::logid(got.logid.as_deref().unwrap_or_default()).map_err(fail)
}

pub(super) async fn logid(t: &Target) -> Checked {
    let coze = t.coze()?;
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        Some(&format!("Bearer {}", coze.token)),
        wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME),
    )
    .await
    .map_err(fail)?;
    let body = answer.json().context("Coze success")?;
    ensure!(
        answer.status == 200 && body["code"] == 0 && body["msg"] == "",
        "expected HTTP 200 {{code:0, msg:\"\"}}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["data"]["text"].is_string(),
        "data.text must be a string: {body}"
    );
    coze_logids(&answer, &body)
}

pub(super) async fn error_4100(t: &Target) -> Checked {
    let unknown = t
        .coze_client_with_token("pat_contract_not_a_real_token")?
        .transcribe_bytes(fixtures::SPEECH.to_vec(), fixtures::SPEECH_NAME)
        .await;
    // A simulator started without a tokens file takes any token; the missing-token half
    // below still holds there.
    let open_simulator = unknown.is_ok() && t.control().is_some();
    if !open_simulator {
        let e = expect_api(unknown, "an unknown token")?;
        ensure!(
            (e.status, e.code, e.msg.as_str()) == (401, 4100, "authentication is invalid"),
            "an unknown token: expected HTTP 401, 4100 \"authentication is invalid\", got HTTP {} {} {:?}",
            e.status,
            e.code,
            e.msg
        );
        shape::logid(e.logid.as_deref().unwrap_or_default()).map_err(fail)?;
    }
    let coze = t.coze()?;
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        None,
        wire::file_form(fixtures::SPEECH, fixtures::SPEECH_NAME),
    )
    .await
    .map_err(fail)?;
    let body = coze_error_envelope(&answer, 401, 4100)?;
    ensure!(
        body["msg"] == "authentication is invalid",
        "no token: msg {}",
        body["msg"]
    );
    Ok(())
}

/// The provider's observed wording for a request without a usable `file` part.
const COZE_MSG_FILE_INVALID: &str =
    "The parameter file is invalid. It should follow the format: file. Please review your input.";

pub(super) async fn error_4000(t: &Target) -> Checked {
    let coze = t.coze()?;
    let form = reqwest::multipart::Form::new().part(
        "audio",
        reqwest::multipart::Part::bytes(fixtures::SPEECH.to_vec()).file_name(fixtures::SPEECH_NAME),
    );
    let answer = wire::coze_post(
        t.http(),
        &coze.base_url,
        Some(&format!("Bearer {}", coze.token)),
        form,
    )
    .await
    .map_err(fail)?;
    let body = coze_error_envelope(&answer, 400, 4000)?;
    ensure!(
        body["msg"] == COZE_MSG_FILE_INVALID,
        "msg {} is not the provider's wording",
        body["msg"]
    );
    Ok(())
}

pub(super) async fn error_4300(t: &Target) -> Checked {
    coze_upload_refused(t, Vec::new(), "empty.wav", "an empty file", 4300).await
}

pub(super) async fn error_4303(t: &Target) -> Checked {
    let bytes = fixtures::NOT_AUDIO.to_vec();
    coze_upload_refused(t, bytes, fixtures::NOT_AUDIO_NAME, "a text file", 4303).await
}

/// An upload Coze must refuse with HTTP 400, `code`, a message and a well-formed logid.
async fn coze_upload_refused(
    t: &Target,
    bytes: Vec<u8>,
    filename: &str,
    what: &str,
    code: i64,
) -> Checked {
    let got = t.coze_client()?.transcribe_bytes(bytes, filename).await;
    let e = expect_api(got, what)?;
    ensure!(
        (e.status, e.code) == (400, code) && !e.msg.is_empty(),
        "{what}: expected HTTP 400 code {code}, got HTTP {} {} {:?}",
        e.status,
        e.code,
        e.msg
    );
    shape::logid(e.logid.as_deref().unwrap_or_default()).map_err(fail)
}

/// A Coze error answer in full: status, code, JSON type, and the same well-formed logid in
/// the header and the body.
fn coze_error_envelope(answer: &Answer, status: u16, code: i64) -> Result<Value, Outcome> {
    let body = answer.json().context("Coze error")?;
    ensure!(
        answer.status == status && body["code"] == code,
        "expected HTTP {status} with code {code}, got HTTP {}: {}",
        answer.status,
        answer.body_preview()
    );
    ensure!(
        body["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "an error needs a non-empty msg (cozepy raises otherwise): {}",
        answer.body_preview()
    );
    ensure!(
        body.get("data").is_none(),
        "an error carries no data: {body}"
    );
    coze_logids(answer, &body)?;
    Ok(body)
}

/// Coze's JSON content type and logid rule: header `X-Tt-Logid` = `detail.logid`, 34 chars.
fn coze_logids(answer: &Answer, body: &Value) -> Checked {
    let content_type = answer.header("content-type").unwrap_or_default();
    ensure!(
        content_type.starts_with("application/json"),
        "Content-Type must be application/json, got {content_type:?}"
    );
    let header = answer.header("x-tt-logid");
    let detail = body["detail"]["logid"].as_str();
    ensure!(
        header.is_some() && header == detail,
        "X-Tt-Logid {header:?} and detail.logid {detail:?} must be the same"
    );
    shape::logid(detail.unwrap_or_default()).map_err(fail)
}
