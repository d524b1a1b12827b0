//! `asr-mock scenarios list|check` and `asr-mock fixtures check`: work on scenario and
//! fixture files without starting the server.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{FixturesCommand, ScenariosCommand};
use crate::scenarios::library::{self, Library};
use crate::transcript::{check_fixtures_dir, render_fixtures_check};

/// `asr-mock scenarios list|check`. Exit codes: 0 all good, 1 a file is invalid (check),
/// 2 a folder cannot be read or `--scenarios DIR` is broken (list).
pub fn scenarios_command(command: &ScenariosCommand, user_dir: Option<&Path>) -> ExitCode {
    match command {
        ScenariosCommand::List => {
            let loaded = Library::builtin().and_then(|mut lib| {
                if let Some(dir) = user_dir {
                    lib.load_dir(dir)?;
                }
                Ok(lib)
            });
            match loaded {
                Ok(lib) => {
                    stdout(&lib.render_list());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("asr-mock: {err}");
                    ExitCode::from(2)
                }
            }
        }
        ScenariosCommand::Check { dir } => {
            if let Err(err) = std::fs::read_dir(dir) {
                eprintln!("asr-mock: cannot read {}: {err}", dir.display());
                return ExitCode::from(2);
            }
            let results = library::check_dir(dir);
            stdout(&library::render_check(&results));
            let errors = results.iter().filter(|r| r.is_err()).count();
            summary(dir, "scenario", results.len(), errors)
        }
    }
}

/// `asr-mock fixtures check DIR`, with the exit codes of `scenarios check`: 0 all good, 1 a
/// file is invalid, 2 DIR cannot be read.
pub fn fixtures_command(command: &FixturesCommand) -> ExitCode {
    let FixturesCommand::Check { dir } = command;
    if let Err(err) = std::fs::read_dir(dir) {
        eprintln!("asr-mock: cannot read {}: {err}", dir.display());
        return ExitCode::from(2);
    }
    let results = check_fixtures_dir(dir);
    stdout(&render_fixtures_check(&results));
    let errors = results.iter().filter(|r| r.is_err()).count();
    summary(dir, "fixture", results.len(), errors)
}

/// The closing line of a check on stderr, and its exit code: 0 when no file is invalid.
fn summary(dir: &Path, kind: &str, checked: usize, errors: usize) -> ExitCode {
    if checked == 0 {
        eprintln!("asr-mock: no {kind} files (*.toml) in {}", dir.display());
    } else {
        eprintln!("{checked} file(s) checked, {errors} invalid");
    }
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes to stdout, ignoring a closed pipe (`asr-mock scenarios list | head` must not panic
/// as `print!` would).
fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
