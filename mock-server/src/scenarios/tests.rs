//! What scenario files become: the README's examples, defaults, summaries. The files the
//! parser refuses, with their lines and reasons, are in [`refused`].

mod refused;

use std::path::PathBuf;

use super::describe::describe_action;
use super::model::{
    CallbackBehaviour, Endpoint, Fault, FaultAction, Identity, Latency, Match, Provider,
    RateLimitRule, Scenario, ScenarioSource, ScriptOutcome, Step, StepEnd, StepStatus, TaskScript,
    Trigger, ICU_ERROR_CLASSES,
};
use super::parse::{parse, ScenarioError};

const HEAD: &str = "name = \"t\"\ndescription = \"d\"\n";

fn parse_file(text: &str) -> Result<Scenario, ScenarioError> {
    parse(text, ScenarioSource::File(PathBuf::from("t.toml")))
}

fn ok(body: &str) -> Scenario {
    let text = format!("{HEAD}{body}");
    parse_file(&text).unwrap_or_else(|e| panic!("{e}\n--- file:\n{text}"))
}

/// The error for `HEAD + body`; its line counts `HEAD`'s two lines.
fn err(body: &str) -> ScenarioError {
    let text = format!("{HEAD}{body}");
    match parse_file(&text) {
        Ok(s) => panic!("accepted:\n{text}\n{s:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's line and that its reason contains `needle`.
fn rejects(body: &str, line: usize, needle: &str) {
    let e = err(body);
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.reason.contains(needle), "{e:?} lacks {needle:?}");
}

fn fault(body: &str) -> Fault {
    ok(&format!("[[fault]]\n{body}")).faults.remove(0)
}

#[test]
fn error_display_is_path_line_reason() {
    let e = err("[[fault]]\naction = \"reset\"\non = { nth = 0 }\n");
    assert_eq!(e.to_string(), "t.toml:5: nth must be ≥ 1, got 0");
    let e = parse_file("description = \"d\"\n[identity]\ntask_ids = \"above-2^53\"\n").unwrap_err();
    assert_eq!(e.to_string(), "t.toml: missing key `name`");
    let builtin = parse("name = \"x\"\n", ScenarioSource::Builtin("x.toml".into())).unwrap_err();
    assert!(
        builtin.to_string().starts_with("scenarios/x.toml"),
        "{builtin}"
    );
}

#[test]
fn the_readme_examples_parse() {
    let s = ok("[[fault]]\nendpoint = \"query\"\non = { every = 5 }\naction = \"status\"\n\n\
                [task]\nsteps = [\n  { status = \"waiting\", ms = 600000 },\n  \
                { status = \"doing\", polls = 3 },\n]\n\
                outcome = { code = 10001, message = \"Recognition failed\" }\n\
                callback_early_ms = 0\n\n\
                [callback]\ndelay_ms = 1\njitter_ms = 2\nfail_attempts = 1\nattempts = 3\n\
                interval_ms = 100\ntimeout_ms = 200\nduplicates = 1\n\n\
                [[rate_limit]]\nendpoint = \"transcribe\"\nlimit = 5\nwindow_ms = 1000\ncode = 4020\n\n\
                [identity]\ntask_ids = \"above-2^53\"\ncoze_no_speech = \"5000\"\n");
    assert_eq!(
        s.faults,
        vec![Fault {
            index: 1,
            endpoint: Endpoint::Query,
            on: Trigger::Every(5),
            action: FaultAction::Status {
                status: 500,
                code: None,
                error: None,
                message: None
            },
            latency: None,
        }]
    );
    assert_eq!(
        s.task,
        Some(TaskScript {
            steps: vec![
                Step {
                    status: StepStatus::Waiting,
                    end: StepEnd::Ms(600_000)
                },
                Step {
                    status: StepStatus::Doing,
                    end: StepEnd::Polls(3)
                },
            ],
            outcome: ScriptOutcome::Fail {
                code: crate::failure::FailureCode::RecognitionFailed,
                message: Some("Recognition failed".into())
            },
            callback_early_ms: 0,
        })
    );
    assert_eq!(
        s.callback,
        Some(CallbackBehaviour {
            delay_ms: 1,
            jitter_ms: 2,
            fail_attempts: 1,
            attempts: Some(3),
            interval_ms: Some(100),
            timeout_ms: Some(200),
            duplicates: 1,
            drop: false,
        })
    );
    assert_eq!(
        s.rate_limits,
        vec![RateLimitRule {
            endpoint: Endpoint::Transcribe,
            limit: 5,
            window_ms: 1000,
            code: Some(4020)
        }]
    );
    assert_eq!(
        s.identity,
        Identity {
            big_task_ids: true,
            coze_no_speech_5000: true
        }
    );
    assert_eq!(s.matcher, None);
    assert_eq!(s.name, "t");
    assert_eq!(s.description, "d");

    let m = ok(
        "[match]\nprovider = \"icu\"\npath = \"/openapi/asr/searchResult\"\n\
                token = \"pat_ci\"\nurl_contains = \"flaky\"\naudio_sha256 = \"\
                9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"\n\
                engine = \"16k_zh\"\n[[fault]]\naction = \"reset\"\n",
    )
    .matcher
    .unwrap();
    assert!(m.needs_body());
    assert_eq!(m.implied_provider(), Some(Provider::Icu));
    assert_eq!(m.audio_sha256.unwrap()[0], 0x9f);
    let coze = ok("[match]\nfilename = \"silence.wav\"\n[[fault]]\naction = \"reset\"\n");
    assert_eq!(coze.provider(), Some(Provider::Coze));
    let body_free = ok("[match]\ntoken = \"pat_x\"\n[[fault]]\naction = \"reset\"\n");
    assert!(!body_free.matcher.unwrap().needs_body());
    // An empty [match] is "every key given holds": it applies to every request.
    assert_eq!(
        ok("[match]\n[[fault]]\naction = \"reset\"\n").matcher,
        Some(Match::default())
    );
}

#[test]
fn actions_take_their_defaults() {
    assert_eq!(fault("action = \"reset\"").endpoint, Endpoint::Any);
    assert_eq!(fault("action = \"reset\"").on, Trigger::Always);
    assert_eq!(fault("action = \"reset\"").action, FaultAction::Reset);
    assert_eq!(fault("action = \"empty\"").action, FaultAction::Empty);
    assert_eq!(
        fault("action = \"garbage\"").action,
        FaultAction::Garbage { bytes: 64 }
    );
    assert_eq!(
        fault("action = \"truncate\"").action,
        FaultAction::Truncate { keep: 0.5 }
    );
    assert_eq!(
        fault("action = \"drip\"").action,
        FaultAction::Drip {
            chunk_bytes: 16,
            interval_ms: 1000
        }
    );
    assert_eq!(
        fault("action = \"status\"\nendpoint = \"submit\"\nstatus = 429\nerror = \"RequestLimitExceeded\"\nmessage = \"slow down\"\ncode = 4029").action,
        FaultAction::Status {
            status: 429,
            code: Some(4029),
            error: Some("RequestLimitExceeded".into()),
            message: Some("slow down".into())
        }
    );
    for class in ICU_ERROR_CLASSES {
        fault(&format!("action = \"status\"\nerror = \"{class}\""));
    }
}

#[test]
fn latencies_parse_in_three_forms() {
    let f = fault("action = \"latency\"\nlatency_ms = 250");
    assert_eq!(
        (f.action, f.latency),
        (FaultAction::Latency, Some(Latency::Fixed(250)))
    );
    let f = fault("action = \"reset\"\nlatency = { uniform = [100, 900] }");
    assert_eq!(f.latency, Some(Latency::Uniform(100, 900)));
    let f =
        fault("action = \"status\"\nlatency = { lognormal = { median_ms = 300, sigma = 0.5 } }");
    assert_eq!(
        f.latency,
        Some(Latency::LogNormal {
            median_ms: 300.0,
            sigma: 0.5
        })
    );
    assert_eq!(
        fault("action = \"latency\"\nlatency = { uniform = [0, 600000] }").latency,
        Some(Latency::Uniform(0, 600_000))
    );
}

#[test]
fn triggers_parse() {
    for (on, want) in [
        ("{ nth = 3 }", Trigger::Nth(3)),
        ("{ every = 5 }", Trigger::Every(5)),
        ("{ first = 2 }", Trigger::First(2)),
        ("{ after = 2 }", Trigger::After(2)),
        ("{ after = 0 }", Trigger::After(0)),
        ("{ fraction = 0.2 }", Trigger::Fraction(0.2)),
        ("{ fraction = 1 }", Trigger::Fraction(1.0)),
    ] {
        assert_eq!(
            fault(&format!("action = \"reset\"\non = {on}")).on,
            want,
            "{on}"
        );
    }
    // A sub-table is the same TOML as an inline table.
    assert_eq!(
        fault("action = \"reset\"\n[fault.on]\nevery = 2").on,
        Trigger::Every(2)
    );
}

#[test]
fn faults_are_numbered_labelled_and_summarised() {
    let s = ok("[[fault]]\nendpoint = \"query\"\non = { fraction = 0.2 }\naction = \"status\"\nstatus = 502\n\
                [[fault]]\nendpoint = \"submit\"\non = { first = 1 }\naction = \"reset\"\nlatency_ms = 1500\n");
    assert_eq!(s.faults[0].index, 1);
    assert_eq!(s.faults[1].index, 2);
    assert_eq!(s.faults[0].label("flaky"), "flaky#1 status 502");
    assert_eq!(describe_action(&s.faults[1].action), "reset");
    assert_eq!(
        s.summary(),
        "query 20% → status 502; submit first 1 → 1500ms then reset"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["faults"][0]["action"], "status");
    assert_eq!(json["faults"][0]["on"]["fraction"], 0.2);
    assert_eq!(json["source"]["file"], "t.toml");
    let m = ok(&format!(
        "[match]\naudio_sha256 = \"{}\"\n[task]\nsteps = [{{ status = \"waiting\", ms = 600000 }}, {{ status = \"doing\", polls = 3 }}]\noutcome = {{ code = 10001 }}\ncallback_early_ms = 2000\n",
        "ab".repeat(32)
    ));
    assert_eq!(
        serde_json::to_value(&m).unwrap()["match"]["audio_sha256"],
        "ab".repeat(32)
    );
    assert_eq!(
        m.summary(),
        "task waiting 10min → doing 3 polls → fail 10001 → callback 2s before polls show the end; \
         auto: audio_sha256=abababab…"
    );
}

#[test]
fn no_input_panics() {
    // Odd and hostile inputs must come back as errors, never as panics.
    for text in [
        "\u{feff}name = \"a\"",
        "name = \"é\"\n\u{0}",
        "[[fault]]\n[[fault]]\n[[fault]]",
        "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"status\"\nstatus = 9223372036854775807\n",
        "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"garbage\"\nbytes = -9223372036854775808\n",
        "name = \"a\"\ndescription = \"d\"\n[task]\nsteps = [{ status = \"doing\", polls = 4294967296 }]\n",
        "name = \"a\"\ndescription = \"d\"\n[[rate_limit]]\nendpoint = \"query\"\nlimit = 4294967296\nwindow_ms = 1\n",
        "name = \"a\"\ndescription = \"d\"\n[[fault]]\naction = \"reset\"\non = { fraction = -inf }\n",
        "name = \"语音\"\n",
        "a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ] {
        assert!(parse_file(text).is_err(), "{text:?}");
    }
}

#[test]
fn stream_tables_parse_and_refuse_what_cannot_work() {
    let s = ok("[stream]\ndrop_after_updates = 2\nupdate_delay_ms = 1500\n");
    let stream = s.stream.expect("a [stream]");
    assert_eq!(stream.drop_after_updates, Some(2));
    assert_eq!(stream.update_delay_ms, 1500);
    assert_eq!((stream.completed_delay_ms, stream.error_code), (0, None));
    let s = ok("[stream]\nerror_code = 4100\nerror_message = \"no\"\n");
    let stream = s.stream.unwrap();
    assert_eq!(
        (stream.error_code, stream.error_message.as_deref()),
        (Some(4100), Some("no"))
    );
    rejects("[stream]\n", 3, "[stream] is empty");
    rejects("[stream]\nerror_message = \"x\"\n", 4, "needs error_code");
    rejects(
        "[stream]\ncompleted_delay_ms = -1\n",
        4,
        "completed_delay_ms must be",
    );
    rejects(
        "[stream]\nupdate_delay_ms = 600001\n",
        4,
        "update_delay_ms must be",
    );
    rejects("[stream]\nerror_code = 0\n", 4, "error_code must be");
    rejects("[stream]\nslow = 1\n", 4, "slow");
    rejects(
        "[match]\nprovider = \"icu\"\n[stream]\nupdate_delay_ms = 1\n",
        5,
        "only lets icu requests through",
    );
}
