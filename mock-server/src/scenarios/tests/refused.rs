//! Every file the parser refuses, with the line and reason it gives.

use super::{err, fault, ok, parse_file, rejects, HEAD};
use crate::scenarios::model::{
    CallbackBehaviour, Latency, ScriptOutcome, StepEnd, MAX_FAULTS, MAX_STEPS,
};

#[test]
fn unknown_keys_are_refused_everywhere() {
    rejects("colour = 1\n", 3, "unknown key `colour`");
    rejects("[match]\nprovidr = \"icu\"\n", 4, "unknown key `providr`");
    rejects(
        "[[fault]]\naction = \"reset\"\nlatencyms = 5\n",
        5,
        "unknown key `latencyms`",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { nth = 1, evry = 2 }\n",
        5,
        "`evry`",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\nlatency = { uniform = [1, 2], fixed = 3 }\n",
        5,
        "`fixed`",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\nlatency = { lognormal = { median_ms = 1, sigma = 1, mu = 0 } }\n",
        5,
        "`mu`",
    );
    rejects("[task]\noutcom = \"success\"\n", 4, "`outcom`");
    rejects(
        "[task]\nsteps = [{ status = \"doing\", ms = 1, s = 2 }]\n",
        4,
        "`s`",
    );
    rejects(
        "[task]\noutcome = { code = 10001, msg = \"x\" }\n",
        4,
        "unknown key `msg`",
    );
    rejects("[callback]\nretries = 3\n", 4, "`retries`");
    rejects(
        "[[rate_limit]]\nendpoint = \"query\"\nlimit = 1\nwindow_ms = 1\nburst = 2\n",
        7,
        "`burst`",
    );
    rejects("[identity]\ntaskids = \"above-2^53\"\n", 4, "`taskids`");
    rejects(
        "[[fault]]\nendpoint = \"poll\"\naction = \"reset\"\n",
        4,
        "unknown variant `poll`",
    );
    rejects(
        "[[fault]]\naction = \"explode\"\n",
        4,
        "unknown variant `explode`",
    );
    rejects("[match]\nprovider = \"aws\"\n", 4, "unknown variant `aws`");
    rejects(
        "[task]\nsteps = [{ status = \"done\", ms = 1 }]\n",
        4,
        "unknown variant `done`",
    );
}

#[test]
fn toml_and_type_errors_have_lines() {
    rejects("[[fault]]\naction = \"reset\n", 4, "");
    rejects(
        "[[fault]]\naction = \"reset\"\non = 5\n",
        5,
        "such as { every = 5 }",
    );
    rejects(
        "[[fault]]\naction = \"truncate\"\nkeep = \"half\"\n",
        5,
        "expected f64",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { nth = 1.5 }\n",
        5,
        "expected i64",
    );
    rejects("[fault]\naction = \"reset\"\n", 3, "double brackets");
    rejects("[callback]\ndrop = \"yes\"\n", 4, "expected a boolean");
    let e = parse_file("name = \"t\"\n[identity]\ntask_ids = \"above-2^53\"\n").unwrap_err();
    assert_eq!(e.reason, "missing key `description`");
    let e = parse_file("").unwrap_err();
    assert_eq!(e.line, None, "{e}");
}

#[test]
fn names_and_descriptions_are_checked() {
    let file = |name: &str, desc: &str| {
        parse_file(&format!(
            "name = {name:?}\ndescription = {desc:?}\n[identity]\ntask_ids = \"above-2^53\"\n"
        ))
    };
    assert!(file("a", "d").is_ok());
    assert!(file("fail-10001", "d").is_ok());
    assert!(file(&"a".repeat(64), "d").is_ok());
    for bad in [
        "",
        "Flaky",
        "flaky_gateway",
        "flaky gateway",
        "é",
        &"a".repeat(65),
    ] {
        let e = file(bad, "d").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.reason.contains("lowercase letters, digits or '-'"), "{e}");
    }
    let e = file("a", "  ").unwrap_err();
    assert_eq!(
        (e.line, e.reason.as_str()),
        (Some(2), "description must not be empty")
    );
}

#[test]
fn a_scenario_must_do_something() {
    let e = parse_file(HEAD).unwrap_err();
    assert_eq!(e.line, None);
    assert!(e.reason.contains("does nothing"), "{e}");
    let e = err("[match]\nprovider = \"icu\"\n");
    assert!(e.reason.contains("does nothing"), "{e}");
    rejects("[task]\n", 3, "[task] is empty");
    rejects("[callback]\n", 3, "[callback] is empty");
    rejects("[identity]\n", 3, "[identity] is empty");
    // Each part alone is enough.
    ok("[task]\noutcome = \"success\"\n");
    ok("[callback]\ndrop = false\n");
    ok("[[rate_limit]]\nendpoint = \"submit\"\nlimit = 1\nwindow_ms = 1\n");
}

#[test]
fn triggers_are_checked() {
    rejects(
        "[[fault]]\naction = \"reset\"\non = { nth = 0 }\n",
        5,
        "nth must be ≥ 1, got 0",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { every = 0 }\n",
        5,
        "every must be ≥ 1",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { first = -1 }\n",
        5,
        "first must be ≥ 1",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { after = -1 }\n",
        5,
        "after must be ≥ 0",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { fraction = 0 }\n",
        5,
        "fraction must be in (0, 1]",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { fraction = 1.5 }\n",
        5,
        "got 1.5",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { fraction = nan }\n",
        5,
        "fraction",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = {}\n",
        5,
        "exactly one of nth, every, first, after, fraction (got 0)",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\non = { nth = 1, every = 2 }\n",
        5,
        "(got 2)",
    );
}

#[test]
fn action_parameters_go_with_their_action() {
    rejects(
        "[[fault]]\nendpoint = \"query\"\n",
        3,
        "missing key `action`",
    );
    rejects(
        "[[fault]]\naction = \"status\"\nkeep = 0.5\n",
        5,
        "`keep` goes with action = \"truncate\", not action = \"status\"",
    );
    rejects(
        "[[fault]]\naction = \"reset\"\nstatus = 500\n",
        5,
        "`status` goes with action = \"status\"",
    );
    rejects(
        "[[fault]]\naction = \"garbage\"\nchunk_bytes = 4\n",
        5,
        "`chunk_bytes` goes with action = \"drip\"",
    );
    rejects(
        "[[fault]]\naction = \"drip\"\nbytes = 4\n",
        5,
        "`bytes` goes with action = \"garbage\"",
    );
    rejects(
        "[[fault]]\naction = \"truncate\"\nmessage = \"x\"\n",
        5,
        "`message` goes with",
    );
    rejects(
        "[[fault]]\naction = \"empty\"\ninterval_ms = 1\n",
        5,
        "`interval_ms` goes with",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\n",
        4,
        "needs `latency_ms = N` or `latency",
    );
    // Latency goes with every action.
    for action in [
        "status", "latency", "reset", "empty", "garbage", "truncate", "drip",
    ] {
        let f = fault(&format!("action = \"{action}\"\nlatency_ms = 10"));
        assert_eq!(f.latency, Some(Latency::Fixed(10)));
        assert_eq!(f.action.kind(), action);
    }
}

#[test]
fn action_values_are_checked() {
    rejects(
        "[[fault]]\naction = \"status\"\nstatus = 99\n",
        5,
        "status must be 100–599, got 99",
    );
    rejects(
        "[[fault]]\naction = \"status\"\nstatus = 600\n",
        5,
        "got 600",
    );
    rejects(
        "[[fault]]\naction = \"status\"\ncode = 0\n",
        5,
        "non-zero code",
    );
    rejects(
        "[[fault]]\naction = \"status\"\nerror = \"Boom\"\n",
        5,
        "error must be one of InvalidParameter",
    );
    rejects(
        "[[fault]]\naction = \"status\"\nerror = \"InvalidParameterValue.ErrorNope\"\n",
        5,
        "error must be one of",
    );
    rejects(
        "[[fault]]\nendpoint = \"transcribe\"\naction = \"status\"\nerror = \"InternalError\"\n",
        6,
        "give Coze's `code`",
    );
    rejects(
        "[match]\nprovider = \"coze\"\n[[fault]]\naction = \"status\"\nerror = \"InternalError\"\n",
        7,
        "icu error class",
    );
    rejects(
        "[[fault]]\naction = \"garbage\"\nbytes = 0\n",
        5,
        "bytes must be 1–1048576, got 0",
    );
    rejects(
        "[[fault]]\naction = \"garbage\"\nbytes = 1048577\n",
        5,
        "got 1048577",
    );
    fault("action = \"garbage\"\nbytes = 1048576");
    rejects(
        "[[fault]]\naction = \"truncate\"\nkeep = 0\n",
        5,
        "strictly between 0 and 1",
    );
    rejects(
        "[[fault]]\naction = \"truncate\"\nkeep = 1\n",
        5,
        "strictly between 0 and 1",
    );
    rejects(
        "[[fault]]\naction = \"drip\"\nchunk_bytes = 0\n",
        5,
        "chunk_bytes must be 1–",
    );
    rejects(
        "[[fault]]\naction = \"drip\"\ninterval_ms = -1\n",
        5,
        "interval_ms must be 0–600000 ms",
    );
}

#[test]
fn latency_bounds_are_checked() {
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency_ms = 600001\n",
        5,
        "latency_ms must be 0–600000 ms (10min), got 600001",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency_ms = -5\n",
        5,
        "got -5",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency_ms = 5\nlatency = { uniform = [1, 2] }\n",
        6,
        "either latency_ms or latency",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = { uniform = [9, 1] }\n",
        5,
        "MIN (9) must not exceed its MAX (1)",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = { uniform = [1, 600001] }\n",
        5,
        "uniform's MAX must be 0–600000",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = { uniform = [1] }\n",
        5,
        "two bounds",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = {}\n",
        5,
        "exactly one of uniform",
    );
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 0, sigma = 1 } }\n",
        5,
        "median_ms must be above 0",
    );
    rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 700000, sigma = 1 } }\n", 5, "median_ms");
    rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10, sigma = -0.1 } }\n", 5, "sigma must be a finite number ≥ 0");
    rejects("[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10, sigma = inf } }\n", 5, "sigma");
    rejects(
        "[[fault]]\naction = \"latency\"\nlatency = { lognormal = { median_ms = 10 } }\n",
        5,
        "missing key `sigma`",
    );
}

#[test]
fn match_keys_are_checked() {
    rejects(
        "[match]\npath = \"openapi/asr/searchResult\"\n",
        4,
        "starting with '/'",
    );
    rejects("[match]\npath = \"/x?a=1\"\n", 4, "without a query");
    rejects("[match]\ntoken = \"\"\n", 4, "token must not be empty");
    rejects(
        "[match]\nurl_contains = \"\"\n",
        4,
        "url_contains must not be empty",
    );
    rejects("[match]\nfilename = \"/Users/u/a.mp3\"\n", 4, "basename");
    rejects("[match]\nfilename = \"\"\n", 4, "basename");
    rejects("[match]\naudio_sha256 = \"9f86d0…\"\n", 4, "64 hex digits");
    rejects(
        &format!("[match]\naudio_sha256 = \"{}\"\n", "g".repeat(64)),
        4,
        "64 hex digits",
    );
    rejects("[match]\nengine = \"16k_zh_typo\"\n", 4, "EngineModelType");
    // Keys that can never hold together.
    rejects(
        "[match]\nprovider = \"coze\"\npath = \"/openapi/asr/voiceToText\"\n",
        5,
        "can never hold",
    );
    rejects(
        "[match]\nprovider = \"coze\"\nurl_contains = \"x\"\n",
        5,
        "url_contains only matches icu requests, but provider only matches coze",
    );
    rejects(
        "[match]\nurl_contains = \"x\"\nfilename = \"a.wav\"\n",
        5,
        "can never hold",
    );
    rejects(
        "[match]\nprovider = \"icu\"\nfilename = \"a.wav\"\n",
        5,
        "can never hold",
    );
    rejects(
        "[match]\nprovider = \"icu\"\nengine = \"16k_zh\"\npath = \"/v1/audio/transcriptions\"\n",
        6,
        "can never hold",
    );
    // An unknown path is allowed (it matches nothing the providers serve, but is not
    // contradictory); a known one pins the endpoint.
    ok("[match]\npath = \"/custom\"\n[[fault]]\naction = \"reset\"\n");
}

#[test]
fn endpoints_must_agree_with_the_match() {
    rejects(
        "[match]\nprovider = \"coze\"\n[[fault]]\nendpoint = \"query\"\naction = \"reset\"\n",
        6,
        "endpoint \"query\" is icu's, but [match] provider only lets coze requests through",
    );
    rejects(
        "[match]\nprovider = \"icu\"\n[[fault]]\nendpoint = \"transcribe\"\naction = \"reset\"\n",
        6,
        "would never act",
    );
    rejects(
        "[match]\nfilename = \"a.wav\"\n[[fault]]\nendpoint = \"submit\"\naction = \"reset\"\n",
        6,
        "[match] filename",
    );
    rejects("[match]\npath = \"/openapi/asr/searchResult\"\n[[fault]]\nendpoint = \"submit\"\naction = \"reset\"\n", 6, "only lets \"query\" requests");
    rejects("[match]\nprovider = \"coze\"\n[[rate_limit]]\nendpoint = \"query\"\nlimit = 1\nwindow_ms = 1\n", 6, "this rate limit would never act");
    ok("[match]\nprovider = \"coze\"\n[[fault]]\nendpoint = \"transcribe\"\naction = \"reset\"\n[[fault]]\naction = \"empty\"\n");
    ok("[match]\npath = \"/openapi/asr/searchResult\"\n[[fault]]\nendpoint = \"query\"\naction = \"reset\"\n");
}

#[test]
fn icu_parts_refuse_a_coze_match() {
    rejects(
        "[match]\nprovider = \"coze\"\n[task]\noutcome = \"stuck\"\n",
        5,
        "[task] concerns icu tasks",
    );
    rejects(
        "[match]\nprovider = \"coze\"\n[callback]\ndrop = true\n",
        5,
        "[callback] concerns icu tasks",
    );
    rejects(
        "[match]\nfilename = \"a.wav\"\n[identity]\ntask_ids = \"above-2^53\"\n",
        6,
        "task_ids concerns icu tasks",
    );
    rejects(
        "[match]\nengine = \"8k_zh\"\n[identity]\ncoze_no_speech = \"5000\"\n",
        6,
        "coze_no_speech concerns Coze",
    );
    let s = ok("[match]\nprovider = \"coze\"\n[identity]\ncoze_no_speech = \"5000\"\n");
    assert!(s.identity.coze_no_speech_5000 && !s.identity.big_task_ids);
}

#[test]
fn task_scripts_are_checked() {
    rejects("[task]\nsteps = []\n", 4, "steps must not be empty");
    rejects(
        "[task]\nsteps = [{ status = \"doing\", ms = 1, polls = 2 }]\n",
        4,
        "give exactly one",
    );
    rejects(
        "[task]\nsteps = [{ status = \"doing\" }]\n",
        4,
        "give exactly one",
    );
    rejects("[task]\nsteps = [\n  { status = \"doing\", polls = 1 },\n  { status = \"waiting\", polls = 0 },\n]\n", 6, "polls must be 1–");
    rejects("[task]\nsteps = [\n  { status = \"doing\", polls = 1 },\n  { status = \"waiting\", polls = 1 },\n]\n", 6, "only moves forward");
    rejects(
        "[task]\nsteps = [{ status = \"doing\", ms = -1 }]\n",
        4,
        "ms must be 0–",
    );
    rejects(
        "[task]\nsteps = [{ status = \"doing\", ms = 604800001 }]\n",
        4,
        "(7d), got 604800001",
    );
    rejects(
        "[task]\noutcome = \"done\"\n",
        4,
        "outcome must be \"success\", \"stuck\" or",
    );
    rejects("[task]\noutcome = 10001\n", 4, "outcome must be");
    rejects(
        "[task]\noutcome = { code = 9999 }\n",
        4,
        "10000–10007, got 9999",
    );
    rejects("[task]\noutcome = { code = 10008 }\n", 4, "got 10008");
    rejects(
        "[task]\noutcome = { message = \"x\" }\n",
        4,
        "missing key `code`",
    );
    rejects(
        "[task]\noutcome = { code = \"10001\" }\n",
        4,
        "must be an integer",
    );
    rejects(
        "[task]\noutcome = { code = 10001, message = 1 }\n",
        4,
        "must be a string",
    );
    rejects(
        "[task]\ncallback_early_ms = -1\n",
        4,
        "callback_early_ms must be 0–",
    );
    rejects(
        "[task]\noutcome = \"stuck\"\ncallback_early_ms = 5\n",
        5,
        "no effect on a stuck task",
    );
    let t = ok("[task]\nsteps = [{ status = \"waiting\", ms = 0 }]\noutcome = \"stuck\"\n")
        .task
        .unwrap();
    assert_eq!(t.outcome, ScriptOutcome::Stuck);
    assert_eq!(t.steps[0].end, StepEnd::Ms(0));
    let t = ok("[task]\ncallback_early_ms = 3000\n").task.unwrap();
    assert_eq!(
        (t.steps.len(), t.outcome, t.callback_early_ms),
        (0, ScriptOutcome::Success, 3000)
    );
    for code in 10000..=10007 {
        let t = ok(&format!("[task]\noutcome = {{ code = {code} }}\n"))
            .task
            .unwrap();
        assert_eq!(
            t.outcome,
            ScriptOutcome::Fail {
                code: crate::failure::FailureCode::try_from(code).unwrap(),
                message: None
            }
        );
    }
}

#[test]
fn callbacks_are_checked() {
    rejects(
        "[callback]\nattempts = 0\n",
        4,
        "attempts must be 1–100, got 0",
    );
    rejects(
        "[callback]\nduplicates = 101\n",
        4,
        "duplicates must be 0–100",
    );
    rejects(
        "[callback]\nfail_attempts = -1\n",
        4,
        "fail_attempts must be 0–100",
    );
    rejects("[callback]\ntimeout_ms = 0\n", 4, "timeout_ms must be 1–");
    rejects("[callback]\ndelay_ms = -1\n", 4, "delay_ms must be 0–");
    rejects(
        "[callback]\njitter_ms = 604800001\n",
        4,
        "jitter_ms must be 0–604800000",
    );
    rejects(
        "[callback]\ndrop = true\nduplicates = 1\n",
        5,
        "`duplicates` has no effect with drop = true",
    );
    let c = ok("[callback]\ndrop = true\n").callback.unwrap();
    assert_eq!(
        c,
        CallbackBehaviour {
            drop: true,
            ..CallbackBehaviour::default()
        }
    );
}

#[test]
fn rate_limits_are_checked() {
    let rl = |body: &str| format!("[[rate_limit]]\n{body}\n");
    rejects(
        &rl("endpoint = \"any\"\nlimit = 1\nwindow_ms = 1"),
        4,
        "not \"any\"",
    );
    rejects(
        &rl("endpoint = \"query\"\nlimit = 0\nwindow_ms = 1"),
        5,
        "limit must be 1–",
    );
    rejects(
        &rl("endpoint = \"query\"\nlimit = 1\nwindow_ms = 0"),
        6,
        "window_ms must be 1–",
    );
    rejects(
        &rl("endpoint = \"query\"\nlimit = 1\nwindow_ms = 1\ncode = 4020"),
        7,
        "`code` is for Coze",
    );
    rejects(
        &rl("endpoint = \"transcribe\"\nlimit = 1\nwindow_ms = 1\ncode = 4000"),
        7,
        "4020 (RPM exceeded) or 4009",
    );
    rejects(
        &rl("endpoint = \"query\"\nwindow_ms = 1"),
        3,
        "missing key `limit`",
    );
    let r = ok(&rl(
        "endpoint = \"transcribe\"\nlimit = 3\nwindow_ms = 60000\ncode = 4009",
    ));
    assert_eq!(r.rate_limits[0].code, Some(4009));
    let r = ok(&format!(
        "{}{}",
        rl("endpoint = \"submit\"\nlimit = 3\nwindow_ms = 1000"),
        rl("endpoint = \"submit\"\nlimit = 100\nwindow_ms = 60000")
    ));
    assert_eq!(r.rate_limits.len(), 2);
    assert_eq!(r.rate_limits[0].code, None);
}

#[test]
fn identity_values_are_exact() {
    rejects(
        "[identity]\ntask_ids = \"big\"\n",
        4,
        "task_ids must be \"above-2^53\"",
    );
    rejects(
        "[identity]\ncoze_no_speech = \"500\"\n",
        4,
        "coze_no_speech must be \"5000\"",
    );
    rejects(
        "[identity]\ncoze_no_speech = 5000\n",
        4,
        "expected a string",
    );
}

#[test]
fn files_are_bounded() {
    let many: String = (0..=MAX_FAULTS)
        .map(|_| "[[fault]]\naction = \"reset\"\n")
        .collect();
    let e = err(&many);
    assert!(e.reason.contains("at most 64 [[fault]]"), "{e}");
    assert_eq!(e.line, Some(3 + 2 * MAX_FAULTS));
    let steps: String = (0..=MAX_STEPS)
        .map(|_| "{ status = \"doing\", polls = 1 },")
        .collect();
    rejects(
        &format!("[task]\nsteps = [{steps}]\n"),
        4,
        "at most 64 steps",
    );
}
