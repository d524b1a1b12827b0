//! Embeds every scenario file of the repository's `scenarios/` folder into the crate, so the
//! built-in library ships inside the binary and needs no files at run time.
//!
//! Writes `$OUT_DIR/builtin_scenarios.rs` with
//! `pub const BUILTIN: &[(&str, &str)] = &[("happy-path.toml", include_str!("/abs/…")), …];`
//! sorted by file name; `scenarios/library.rs` includes it.

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dir = manifest.join("..").join("scenarios");
    // A directory here makes cargo rerun on any change inside it, including new files.
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut files = Vec::new();
    // No folder (the crate built outside its workspace) means an empty library, not a failure.
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // Hidden files are editor leftovers (`.#x.toml`), as `Library::load_dir` skips them.
            if name.ends_with(".toml") && !name.starts_with('.') && path.is_file() {
                files.push((name.to_owned(), fs::canonicalize(&path)?));
            }
        }
    }
    files.sort();

    let mut out = String::from(
        "/// Every scenario file shipped in `scenarios/`: (file name, text), sorted by file name.\n\
         pub const BUILTIN: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let path = path
            .to_str()
            .ok_or_else(|| format!("scenario path is not UTF-8: {}", path.display()))?;
        // `{:?}` writes a valid Rust string literal, escapes included.
        writeln!(out, "    ({name:?}, include_str!({path:?})),")?;
    }
    out.push_str("];\n");

    let target = PathBuf::from(std::env::var("OUT_DIR")?).join("builtin_scenarios.rs");
    // Rewriting identical content would only cost a rebuild of the crate.
    if fs::read_to_string(&target).ok().as_deref() != Some(out.as_str()) {
        fs::write(&target, out)?;
    }
    Ok(())
}
