//! The dependency rules of ARCHITECTURE.md, checked against the source: each top-level
//! module of `mock-server/src` may import (`crate::…`) only the modules its row allows, and
//! the two providers never import each other. A new import that breaks a rule fails here
//! with the file and the module it reached for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Modules any module may use: they import nothing above themselves.
const LEAVES: &[&str] = &[
    "audio",
    "bus",
    "clock",
    "config",
    "engine",
    "failure",
    "hosts",
    "language",
    "metrics",
    "ratelimit",
    "rng",
    "routes",
    "transcript",
];

/// What each module may import besides the leaves; `app` (the composition root) may import
/// anything and is not listed. The order is the layering, lowest first.
const RULES: &[(&str, &[&str])] = &[
    ("stores", &[]),
    ("http", &[]),
    ("outbound", &[]),
    ("scenarios", &[]),
    ("providers", &["stores", "http", "outbound", "scenarios"]),
    (
        "proxy",
        &["providers", "stores", "http", "outbound", "scenarios"],
    ),
    (
        "state",
        &["providers", "stores", "scenarios", "persist", "proxy"],
    ),
    (
        "persist",
        &["state", "providers", "stores", "outbound", "scenarios"],
    ),
    (
        "control",
        &["stores", "providers", "scenarios", "outbound", "persist"],
    ),
    (
        "admin",
        &[
            "state",
            "persist",
            "control",
            "providers",
            "stores",
            "scenarios",
            "outbound",
        ],
    ),
];

/// Leaves may use each other only downwards, in this order (a leaf may import the ones
/// before it).
const LEAF_ORDER: &[&str] = &[
    "bus",
    "clock",
    "rng",
    "hosts",
    "ratelimit",
    "audio",
    "language",
    "engine",
    "transcript",
    "failure",
    "config",
    "routes",
    "metrics",
];

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names through `crate::`, outside its tests.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // a longer name, or a path that only ends in `crate`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_import_follows_the_dependency_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut broken = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().expect("a path");
        let module = first.trim_end_matches(".rs").to_owned();
        if matches!(module.as_str(), "app" | "lib" | "main") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read source");
        for used in crate_imports(&text) {
            if used == module {
                continue;
            }
            let allowed = if let Some(rank) = LEAF_ORDER.iter().position(|l| *l == module) {
                LEAF_ORDER[..rank].contains(&used.as_str())
            } else {
                let row = RULES
                    .iter()
                    .find(|(m, _)| *m == module)
                    .unwrap_or_else(|| panic!("{module} has no row in the rules"));
                LEAVES.contains(&used.as_str()) || row.1.contains(&used.as_str())
            };
            if !allowed {
                broken.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
        // The two providers stay apart.
        if module == "providers" {
            let own = parts.next().unwrap_or_default();
            for other in ["coze", "icu"] {
                if own != other && text.contains(&format!("providers::{other}")) {
                    broken.push(format!("{} uses providers::{other}", relative.display()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against ARCHITECTURE.md's rules:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_import_reader_sees_paths_and_groups() {
    let found = crate_imports("use crate::clock::Clock;\nuse crate::{rng, audio::probe};\nx::crate::no;\n#[cfg(test)]\nuse crate::app;");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["audio", "clock", "rng"]
    );
}
