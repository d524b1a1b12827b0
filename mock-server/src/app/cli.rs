//! `asr-mock scenarios list|check`: work on scenario files without starting the server.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::config::ScenariosCommand;
use crate::scenarios::library::{self, Library};

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
            if results.is_empty() {
                eprintln!("asr-mock: no scenario files (*.toml) in {}", dir.display());
            } else {
                eprintln!("{} file(s) checked, {errors} invalid", results.len());
            }
            if errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`asr-mock scenarios list | head` must not panic
/// as `print!` would).
fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
