//! Part 5, memory: RSS growth of a fresh child process (this executable again) for N finished
//! tasks inserted the way the submit handler does.

use std::collections::HashMap;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use asr_mock::config::ClockKind;
use asr_mock::testing::{parse_submit, RawParams, SubmitParams};
use asr_mock::testing::{Plan, Scripted, Task, TaskSpec};
use asr_mock::{AppState, Config};

use crate::bodies::{silence_8k_1s, submit_body};
use crate::report::Report;
use crate::startup::Reaper;
use crate::CHILD_ENV;

/// Which audio the memory child's tasks come from (`silence1s` or `speech60s`).
const AUDIO_ENV: &str = "SIDE_BY_SIDE_AUDIO";
/// How many tasks the memory child inserts.
const TASKS_ENV: &str = "SIDE_BY_SIDE_TASKS";
const MEMORY_TASKS: usize = 100_000;
/// Measured too, since a hash table grows by doubling and 10 × 100 000 is only a projection.
const MEMORY_TASKS_FULL: usize = 1_000_000;
const GOAL_MB_PER_MILLION: f64 = 300.0;

pub(crate) fn memory(report: &mut Report) {
    report.section(
        5,
        "5. memory: RSS growth of a fresh process for N finished tasks (inserted as submit does, clock moved, run_due)".into(),
    );
    let mut projected = None;
    let mut measured = None;
    for (variant, tasks, label) in [
        ("silence1s", MEMORY_TASKS, "1 s silence tasks (as in 3.)"),
        ("speech60s", MEMORY_TASKS, "60 s speech-like tasks"),
        (
            "silence1s",
            MEMORY_TASKS_FULL,
            "1 s silence tasks, capacity 1 000 000",
        ),
    ] {
        let m = match memory_run(variant, tasks) {
            Ok(m) => m,
            Err(e) => {
                report.note(format!("memory {variant} × {tasks}: {e}"));
                continue;
            }
        };
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        let grown = get("rss_after") - get("rss_before");
        let kept = get("kept").max(1.0);
        let complete = get("finished") >= tasks as f64;
        let per_task = grown / kept;
        if tasks == MEMORY_TASKS {
            let per_100k = grown / 1e6 * (100_000.0 / kept);
            report.row(
                &format!("{label}: MB per 100 000 → ×10 for 1 000 000"),
                format!("{per_100k:.1} MB → {:.0} MB", per_100k * 10.0),
                "",
                "",
            );
            if variant == "silence1s" && complete {
                projected = Some(per_100k * 10.0);
            }
        } else {
            report.row(
                &format!("{label}: measured for {tasks}"),
                format!("{:.0} MB", grown / 1e6),
                "",
                "",
            );
            if complete {
                measured = Some(grown / 1e6);
            }
        }
        report.row(
            "   per task; transcript; finished/kept; insert+finish",
            format!(
                "{per_task:.0} B; {:.0} B; {:.0}/{:.0}; {:.0} ms",
                get("result_bytes"),
                get("finished"),
                kept,
                get("ms")
            ),
            "",
            "",
        );
        if variant == "silence1s" && tasks == MEMORY_TASKS {
            report.row(
                "   size_of: Task (TaskSpec, Option<Plan>, Option<Scripted>)",
                format!(
                    "{:.0} B ({:.0}, {:.0}, {:.0})",
                    get("size_task"),
                    get("size_spec"),
                    get("size_plan"),
                    get("size_script")
                ),
                "",
                "",
            );
        }
    }
    let shown = match (projected, measured) {
        (Some(p), Some(m)) => format!("{p:.0} MB projected, {m:.0} MB measured"),
        (Some(p), None) => format!("{p:.0} MB projected"),
        _ => "—".into(),
    };
    report.goal(
        "1 000 000 finished tasks < 300 MB (1 s tasks)",
        shown,
        projected.is_some_and(|p| p < GOAL_MB_PER_MILLION)
            && measured.is_none_or(|m| m < GOAL_MB_PER_MILLION),
    );
}

/// Runs the memory child and reads its `key=value` line.
fn memory_run(variant: &str, tasks: usize) -> Result<HashMap<String, f64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .env(CHILD_ENV, "memory")
        .env(AUDIO_ENV, variant)
        .env(TASKS_ENV, tasks.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut child = Reaper(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => return Err(format!("child exited with {status}")),
            Ok(None) if Instant::now() > deadline => return Err("child ran over 60 s".into()),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.0.stdout.take() {
        stdout.read_to_string(&mut out).map_err(|e| e.to_string())?;
    }
    let values: HashMap<String, f64> = out
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    if values.contains_key("rss_after") {
        Ok(values)
    } else {
        Err(format!("unexpected child output {out:?}"))
    }
}

/// In a fresh process: the state alone, then 100 000 finished tasks.
pub(crate) fn memory_child() -> Result<(), String> {
    let variant = std::env::var(AUDIO_ENV).unwrap_or_default();
    let tasks: usize = std::env::var(TASKS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MEMORY_TASKS);
    let wav = match variant.as_str() {
        "speech60s" => asr_mock::testing::wav_8bit(8000, 1, 8000 * 60, true),
        _ => silence_8k_1s(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let defaults = Config::default();
        let config = Config {
            clock: ClockKind::Manual,
            icu_task_capacity: defaults.icu_task_capacity.max(tasks),
            ..defaults
        };
        let state = asr_mock::build_state(&config).map_err(|e| e.to_string())?;
        let body = submit_body("8k_zh", &wav, None);
        let params = RawParams::from_body(Some("application/json"), body.as_bytes())
            .and_then(|raw| parse_submit(&raw))
            .map_err(|e| e.to_string())?;
        // The first examination's one-off costs (lexicons, decoder buffers) stay out of the
        // measure; every task below is submitted in full and finds the examination done.
        let sha = audio_sha256(&wav);
        state.icu.examine(params.clone(), sha, None).await;
        let rss_before = rss_bytes();
        let t0 = Instant::now();
        let mut last = None;
        for _ in 0..tasks {
            last = Some(insert_task(&state, &params, sha, None).await);
        }
        state.clock.advance(Duration::from_secs(3600));
        state.icu.tasks.run_due();
        let ms = t0.elapsed().as_millis();
        let rss_after = rss_bytes();
        let kept = state.icu.tasks.len();
        let finished = state
            .icu.tasks
            .list(None, usize::MAX)
            .iter()
            .filter(|t| t.status.is_final())
            .count();
        let result_bytes = match last.map(|id| state.icu.query(id)) {
            Some(Ok(view)) => view.result.map_or(0, |r| r.result.len()),
            _ => 0,
        };
        let (size_task, size_spec, size_plan, size_script) = (
            std::mem::size_of::<Task>(),
            std::mem::size_of::<TaskSpec>(),
            std::mem::size_of::<Option<Plan>>(),
            std::mem::size_of::<Option<Scripted>>(),
        );
        println!(
            "kept={kept} finished={finished} rss_before={rss_before} rss_after={rss_after} result_bytes={result_bytes} ms={ms} size_task={size_task} size_spec={size_spec} size_plan={size_plan} size_script={size_script}"
        );
        Ok(())
    })
}

/// Submits a task through the real operation, as the submit handler does (inline audio is
/// examined before it returns; `sha` is its hash, which the handler takes for the scenario
/// facts); `callback_url` replaces the parameters' own.
pub(crate) async fn insert_task(
    state: &AppState,
    params: &SubmitParams,
    sha: [u8; 32],
    callback_url: Option<String>,
) -> u64 {
    let params = SubmitParams {
        callback_url,
        ..params.clone()
    };
    state
        .icu
        .submit(params, Some(sha), &[])
        .await
        .expect("the task is accepted")
}

/// The SHA-256 of an upload, once per phase rather than once per task.
pub(crate) fn audio_sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    Command::new("getconf")
        .arg("PAGESIZE")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}
