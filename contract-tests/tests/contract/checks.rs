//! Every check against the in-process simulator, and the real-time path (no control API)
//! against a simulator posing as a real provider.

use std::collections::BTreeSet;

use asr_contract::checks;
use asr_contract::outcome::Outcome;
use asr_contract::target::{
    strict_mock_config, Settings, Target, MOCK_SECRET_ID, MOCK_SECRET_KEY, MOCK_TOKEN,
};
use asr_mock::config::ClockKind;
use asr_mock::MockServer;

/// The checks the suite must keep: removing or renaming one is a deliberate change here.
const EXPECTED: [&str; 23] = [
    "coze.success.speech",
    "coze.success.silence",
    "coze.logid",
    "coze.error.4100",
    "coze.error.4000",
    "coze.error.4300",
    "coze.error.4303",
    "icu.submit",
    "icu.query.lifecycle",
    "icu.query.detail",
    "icu.query.post",
    "icu.wait",
    "icu.url_source",
    "icu.failed.not_audio",
    "icu.failed.forced",
    "icu.error.no_such_task",
    "icu.error.missing_parameter",
    "icu.error.invalid_value",
    "icu.validation.local",
    "icu.callback.success",
    "icu.callback.failed",
    "icu.signature",
    "icu.rate_limit",
];

/// The checks that cannot be made without a simulator's control API.
const NEED_CONTROL: [&str; 3] = ["icu.url_source", "icu.failed.forced", "icu.rate_limit"];

async fn run_all(target: &Target) -> Vec<(&'static str, Outcome)> {
    let mut outcomes = Vec::new();
    for check in checks::all() {
        outcomes.push((check.name, check.run(target).await));
    }
    outcomes
}

#[test]
fn the_list_covers_every_endpoint_status_and_error() {
    let names: Vec<&str> = checks::all().iter().map(|c| c.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "duplicate check names: {names:?}"
    );
    assert_eq!(names, EXPECTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_in_process_simulator() {
    let target = Target::in_process().await.expect("simulator starts");
    let outcomes = run_all(&target).await;
    let names: Vec<&str> = outcomes.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, EXPECTED);
    let not_passed: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| *o != Outcome::Pass)
        .map(|(n, o)| format!("{n}: {} {}", o.label(), o.detail()))
        .collect();
    assert!(
        not_passed.is_empty(),
        "every check must pass (none skipped) in-process:\n{}",
        not_passed.join("\n")
    );
}

/// A strict simulator on a fast scaled clock, reached as a real provider would be: by URL,
/// with credentials, a public callback route, and no control API. The checks then wait in
/// real time, and the ones that need control are skipped, not passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_control_api_checks_wait_in_real_time_and_skip_what_needs_it() {
    let files = tempfile::tempdir().expect("temporary folder");
    let mut config = strict_mock_config(files.path()).expect("config");
    config.clock = ClockKind::Scaled;
    config.time_scale = 200.0;
    // The checks sign with the wall clock, which a 200× clock leaves behind within seconds:
    // no freshness window can hold, so this stand-in for a real provider checks none.
    config.icu_signature_window_secs = 0;
    let server = MockServer::builder()
        .config(config)
        .start()
        .await
        .expect("simulator starts");
    // A free port for the callback receiver, named the way a tunnel would be.
    let callback_listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let settings = Settings {
        coze_url: Some(server.base_url()),
        coze_token: Some(MOCK_TOKEN.to_owned()),
        icu_url: Some(server.base_url()),
        icu_secret_id: Some(MOCK_SECRET_ID.to_owned()),
        icu_secret_key: Some(MOCK_SECRET_KEY.to_owned()),
        callback_url: Some(format!("http://{callback_listen}/")),
        callback_listen: Some(callback_listen),
        wait_secs: Some(30),
        poll_ms: Some(20),
        no_control: true,
    };
    let target = Target::from_settings(settings).await.expect("target");
    assert!(target.control().is_none());
    let outcomes = run_all(&target).await;
    let mut wrong = Vec::new();
    for (name, outcome) in &outcomes {
        let expected = if NEED_CONTROL.contains(name) {
            "SKIP"
        } else {
            "PASS"
        };
        if outcome.label() != expected {
            wrong.push(format!(
                "{name}: expected {expected}, got {} {}",
                outcome.label(),
                outcome.detail()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A target naming only one provider skips the other's checks, and a half-given pair of
/// icu credentials is refused.
#[tokio::test]
async fn one_provider_only_skips_the_other() {
    let server = MockServer::builder()
        .manual_clock(None)
        .start()
        .await
        .expect("simulator starts");
    let target = Target::from_settings(Settings {
        coze_url: Some(server.base_url()),
        ..Settings::default()
    })
    .await
    .expect("target");
    let check = checks::all()
        .into_iter()
        .find(|c| c.name == "icu.error.no_such_task")
        .expect("check exists");
    match check.run(&target).await {
        Outcome::Skip(why) => assert!(why.contains("ASR_CONTRACT_ICU_URL"), "{why}"),
        other => panic!("expected a skip, got {other:?}"),
    }
    let half = Target::from_settings(Settings {
        icu_url: Some(server.base_url()),
        icu_secret_id: Some("id".into()),
        ..Settings::default()
    })
    .await;
    assert!(half.is_err());
}
