//! `asr-contract`: runs every contract check against the in-process simulator, or against
//! the servers named by flags or `ASR_CONTRACT_*` variables, and prints a table. Exit code 0
//! only when no check failed (skips are not failures).

use std::net::SocketAddr;
use std::process::ExitCode;

use asr_contract::checks;
use asr_contract::outcome::Outcome;
use asr_contract::target::{self, Settings, Target};
use clap::Parser;

/// Contract checks for the Coze transcription API and the icu recording-file ASR API.
///
/// With no URL the checks run against an in-process asr-mock (manual clock, fixed seed,
/// strict tokens and signatures). With a URL they run against that server: a simulator
/// (found by its control API, GET /__admin/health) has its clock moved; a real provider is
/// waited for in real time, and the checks that need the control API, or a callback route
/// back to this machine, are reported as skipped.
#[derive(Debug, Parser)]
#[command(name = "asr-contract", version)]
struct Args {
    /// Base URL of the Coze API (e.g. https://api.coze.cn); unset with --icu-url set skips
    /// the Coze checks.
    #[arg(long, env = target::ENV_COZE_URL)]
    coze_url: Option<String>,

    /// Bearer token for the Coze API, with createTranscription (default: pat_contract, which
    /// only a simulator accepts).
    #[arg(long, env = target::ENV_COZE_TOKEN, hide_env_values = true)]
    coze_token: Option<String>,

    /// Base URL of the icu API (e.g. http://api.icuapi.com); unset with --coze-url set skips
    /// the icu checks.
    #[arg(long, env = target::ENV_ICU_URL)]
    icu_url: Option<String>,

    /// icu secret id (C-Secret header); with --icu-secret-key every icu call is signed.
    #[arg(long, env = target::ENV_ICU_SECRET_ID)]
    icu_secret_id: Option<String>,

    /// icu secret key (the HMAC key, never sent); without credentials icu.signature is
    /// skipped.
    #[arg(long, env = target::ENV_ICU_SECRET_KEY, hide_env_values = true)]
    icu_secret_key: Option<String>,

    /// Public URL the icu provider can POST callbacks to, forwarded to --callback-listen;
    /// unset, the callback checks are skipped against a remote target.
    #[arg(long, env = target::ENV_CALLBACK_URL)]
    callback_url: Option<String>,

    /// Local address the callback receiver listens on [default: 127.0.0.1:8787].
    #[arg(long, env = target::ENV_CALLBACK_LISTEN)]
    callback_listen: Option<SocketAddr>,

    /// Seconds to wait in real time for an icu task to end (remote targets without a control
    /// API) [default: 300].
    #[arg(long, env = target::ENV_WAIT_SECS)]
    wait_secs: Option<u64>,

    /// First pause between real-time polls, in milliseconds; pauses grow 1.5× up to 10 s
    /// [default: 1000].
    #[arg(long, env = target::ENV_POLL_MS)]
    poll_ms: Option<u64>,

    /// Never use a simulator's control API: treat it as a real provider (real-time waits,
    /// control-only checks skipped).
    #[arg(long)]
    no_control: bool,

    /// Run only the checks whose name starts with one of these (e.g. --only coze --only
    /// icu.callback).
    #[arg(long, value_name = "PREFIX")]
    only: Vec<String>,

    /// List the checks and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let checks: Vec<_> = checks::all()
        .into_iter()
        .filter(|c| {
            args.only.is_empty() || args.only.iter().any(|p| c.name.starts_with(p.as_str()))
        })
        .collect();
    if args.list {
        for c in &checks {
            println!("{:<28} {}", c.name, c.about);
        }
        return ExitCode::SUCCESS;
    }
    let settings = Settings {
        coze_url: args.coze_url.filter(|v| !v.is_empty()),
        coze_token: args.coze_token.filter(|v| !v.is_empty()),
        icu_url: args.icu_url.filter(|v| !v.is_empty()),
        icu_secret_id: args.icu_secret_id.filter(|v| !v.is_empty()),
        icu_secret_key: args.icu_secret_key.filter(|v| !v.is_empty()),
        callback_url: args.callback_url.filter(|v| !v.is_empty()),
        callback_listen: args.callback_listen,
        wait_secs: args.wait_secs,
        poll_ms: args.poll_ms,
        no_control: args.no_control,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("asr-contract: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(settings, checks))
}

async fn run(settings: Settings, checks: Vec<checks::Check>) -> ExitCode {
    let target = match Target::from_settings(settings).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("asr-contract: {e}");
            return ExitCode::from(2);
        }
    };
    println!("target: {}", target.describe());
    println!();
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  {:<6}  DETAIL", "CHECK", "RESULT");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for check in &checks {
        let outcome = check.run(&target).await;
        match outcome {
            Outcome::Pass => passed += 1,
            Outcome::Fail(_) => failed += 1,
            Outcome::Skip(_) => skipped += 1,
        }
        // One line per check: a multi-line detail is folded.
        let detail = outcome.detail().replace('\n', " ⏎ ");
        println!("{:<width$}  {:<6}  {detail}", check.name, outcome.label());
    }
    println!();
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
