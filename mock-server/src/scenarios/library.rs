//! The scenario library: the files built into the binary (the repository's `scenarios/`
//! folder, embedded by `build.rs`) plus the user's `--scenarios DIR`, by name. A user file
//! with a built-in's name replaces it, so a team can tune a built-in without forking.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parse::parse_with_name_line;
use super::{Scenario, ScenarioError, ScenarioSource};

include!(concat!(env!("OUT_DIR"), "/builtin_scenarios.rs"));

/// Largest scenario file read (1 MiB): a real one is a few hundred bytes, and a stray huge
/// file must not be read whole into memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Scenarios by name, ordered by name.
#[derive(Debug, Clone, Default)]
pub struct Library {
    scenarios: BTreeMap<String, Arc<Scenario>>,
}

impl Library {
    /// Every embedded file. An error here is a bug in the repository's `scenarios/` folder
    /// (a test proves they all parse).
    pub fn builtin() -> Result<Library, ScenarioError> {
        let mut scenarios: BTreeMap<String, Arc<Scenario>> = BTreeMap::new();
        for (file, text) in BUILTIN {
            let source = ScenarioSource::Builtin((*file).to_owned());
            let (scenario, line) = parse_with_name_line(text, source)?;
            if let Some(first) = scenarios.get(&scenario.name) {
                return Err(duplicate(&scenario, line, &first.source.path_label()));
            }
            scenarios.insert(scenario.name.clone(), Arc::new(scenario));
        }
        Ok(Library { scenarios })
    }

    /// Adds every `*.toml` directly in `dir` (in file-name order; hidden files skipped) and
    /// returns how many. A name already in the library is replaced (a user file overrides a
    /// built-in); two files of `dir` with one name are an error naming both. Nothing is added
    /// unless every file is valid, so a failed load leaves the library as it was.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, ScenarioError> {
        let mut loaded: BTreeMap<String, Arc<Scenario>> = BTreeMap::new();
        for path in scenario_files(dir)? {
            let (scenario, line) = load_file(&path)?;
            if let Some(first) = loaded.get(&scenario.name) {
                return Err(duplicate(&scenario, line, &first.source.path_label()));
            }
            loaded.insert(scenario.name.clone(), Arc::new(scenario));
        }
        let count = loaded.len();
        self.scenarios.extend(loaded);
        Ok(count)
    }

    /// The scenario called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Scenario>> {
        self.scenarios.get(name).cloned()
    }

    /// Every scenario, ordered by name.
    pub fn list(&self) -> Vec<Arc<Scenario>> {
        self.scenarios.values().cloned().collect()
    }

    /// How many scenarios there are.
    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    /// The table `asr-mock scenarios list` prints: name, source, what it does, description.
    pub fn render_list(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .scenarios
            .values()
            .map(|s| {
                [
                    s.name.clone(),
                    s.source.to_string(),
                    shorten(&s.summary(), MAX_DOES_CHARS),
                    s.description.clone(),
                ]
            })
            .collect();
        let header = [
            "NAME".to_owned(),
            "SOURCE".to_owned(),
            "DOES".to_owned(),
            "DESCRIPTION".to_owned(),
        ];
        let mut widths = [0usize; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter().zip(row) {
                let pad = w.saturating_sub(cell.chars().count());
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            }
            let _ = writeln!(out, "{}", row[3]);
        }
        out
    }
}

/// Widest "what it does" cell in `scenarios list`; the full text is in the file and in
/// `GET /__admin/scenarios`.
const MAX_DOES_CHARS: usize = 60;

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Every file's outcome in `dir` (file-name order), for `asr-mock scenarios check`: unlike
/// [`Library::load_dir`] it goes on past the first broken file, so one run reports them all.
/// A second file with an already seen name is an error naming both. An unreadable `dir` is a
/// single error.
pub fn check_dir(dir: &Path) -> Vec<Result<Arc<Scenario>, ScenarioError>> {
    let files = match scenario_files(dir) {
        Ok(files) => files,
        Err(e) => return vec![Err(e)],
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    files
        .iter()
        .map(|path| {
            let (scenario, line) = load_file(path)?;
            if let Some(first) = seen.get(&scenario.name) {
                return Err(duplicate(&scenario, line, first));
            }
            seen.insert(scenario.name.clone(), scenario.source.path_label());
            Ok(Arc::new(scenario))
        })
        .collect()
}

/// The report `asr-mock scenarios check` prints, one line per file: `ok  name  path` or
/// `error path:line: reason`.
pub fn render_check(results: &[Result<Arc<Scenario>, ScenarioError>]) -> String {
    let mut out = String::new();
    for result in results {
        let _ = match result {
            Ok(s) => writeln!(out, "ok  {}  {}", s.name, s.source.path_label()),
            Err(e) => writeln!(out, "error {e}"),
        };
    }
    out
}

fn duplicate(scenario: &Scenario, line: usize, first: &str) -> ScenarioError {
    ScenarioError {
        path: scenario.source.path_label(),
        line: Some(line),
        reason: format!(
            "name {:?} is also the name of {first}: names must be unique",
            scenario.name
        ),
    }
}

/// The `*.toml` files directly in `dir`, sorted by file name. Hidden files (editor leftovers
/// such as `.#x.toml`) and folders are skipped.
fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let unreadable = |e: std::io::Error| ScenarioError {
        path: dir.display().to_string(),
        line: None,
        reason: format!("cannot read the scenarios folder: {e}"),
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".toml") && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Reads and parses one user file, with the line of its `name`.
fn load_file(path: &Path) -> Result<(Scenario, usize), ScenarioError> {
    let fail = |reason: String| ScenarioError {
        path: path.display().to_string(),
        line: None,
        reason,
    };
    let file = fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(format!(
            "larger than {} KiB: not a scenario file",
            MAX_FILE_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".to_owned()))?;
    parse_with_name_line(&text, ScenarioSource::File(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureCode;
    use crate::scenarios::model::{
        Endpoint, FaultAction, Provider, ScriptOutcome, StepEnd, StepStatus, Trigger,
    };
    use crate::scenarios::parse::parse;

    fn builtin(name: &str) -> Arc<Scenario> {
        Library::builtin()
            .unwrap()
            .get(name)
            .unwrap_or_else(|| panic!("no built-in {name}"))
    }

    fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
        let path = dir.join(file);
        fs::write(&path, text).unwrap();
        path
    }

    fn scenario(name: &str, description: &str) -> String {
        format!("# a comment\nname = \"{name}\"\ndescription = \"{description}\"\n[identity]\ntask_ids = \"above-2^53\"\n")
    }

    #[test]
    fn every_builtin_parses_and_is_named_after_its_file() {
        assert!(BUILTIN.len() >= 30, "{} built-ins", BUILTIN.len());
        for (file, text) in BUILTIN {
            let s = parse(text, ScenarioSource::Builtin((*file).to_owned()))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(format!("{}.toml", s.name), *file);
            assert!(
                text.trim_start().starts_with('#'),
                "{file} explains itself first"
            );
            assert!(
                text.contains(&format!("X-Mock-Scenario: {}", s.name)) || s.matcher.is_some(),
                "{file} shows how to select it"
            );
            // Only a scenario whose name says so applies by itself.
            if s.matcher.is_some() {
                assert!(s.name.starts_with("match-"), "{file} has a [match]");
            }
        }
        let lib = Library::builtin().unwrap();
        assert_eq!(lib.len(), BUILTIN.len());
        assert!(!lib.is_empty());
        let names: Vec<String> = lib.list().iter().map(|s| s.name.clone()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "listed by name");
        for name in [
            "happy-path",
            "slow-queue",
            "callback-retry",
            "callback-duplicate",
            "callback-never",
            "callback-early",
            "callback-reorder",
            "rate-limited-polling",
            "flaky-gateway",
            "connection-reset-on-submit",
            "truncated-json",
            "slow-drip",
            "huge-task-ids",
            "stuck-task",
            "coze-invalid-token",
            "coze-missing-permission",
            "coze-file-too-large",
            "coze-legacy-no-speech",
            "coze-rpm-exceeded",
            "fail-then-recover",
        ] {
            assert!(lib.get(name).is_some(), "missing built-in {name}");
        }
        assert!(lib.get("nope").is_none());
    }

    #[test]
    fn builtin_task_paths_have_the_expected_shapes() {
        let happy = builtin("happy-path");
        assert_eq!(
            happy.source,
            ScenarioSource::Builtin("happy-path.toml".into())
        );
        let task = happy.task.clone().unwrap();
        assert_eq!(task.outcome, ScriptOutcome::Success);
        assert_eq!(task.steps.len(), 2);
        assert!(task
            .steps
            .iter()
            .all(|s| matches!(s.end, StepEnd::Ms(ms) if ms <= 2000)));
        assert!(happy.faults.is_empty() && happy.callback.is_none() && happy.matcher.is_none());

        let slow = builtin("slow-queue").task.clone().unwrap();
        assert_eq!(slow.steps[0].status, StepStatus::Waiting);
        assert_eq!(slow.steps[0].end, StepEnd::Ms(600_000));

        let messages = [
            "转码失败",
            "识别失败",
            "语音时长太短",
            "语音时长太长",
            "无效的语音文件",
            "其他失败",
            "音轨个数不匹配",
            "音频下载失败",
        ];
        for (code, message) in (10000..=10007).zip(messages) {
            let t = builtin(&format!("fail-{code}")).task.clone().unwrap();
            assert_eq!(
                t.outcome,
                ScriptOutcome::Fail {
                    code: FailureCode::try_from(code).unwrap(),
                    message: Some(message.into())
                }
            );
        }
        // A download failure ends straight from waiting, as real ones do.
        let dl = builtin("fail-10007").task.clone().unwrap();
        assert!(dl.steps.iter().all(|s| s.status == StepStatus::Waiting));

        assert_eq!(
            builtin("stuck-task").task.clone().unwrap().outcome,
            ScriptOutcome::Stuck
        );
        assert_eq!(
            builtin("callback-early")
                .task
                .clone()
                .unwrap()
                .callback_early_ms,
            3000
        );
        let polls = builtin("poll-driven").task.clone().unwrap();
        assert!(polls
            .steps
            .iter()
            .all(|s| matches!(s.end, StepEnd::Polls(_))));
    }

    #[test]
    fn builtin_callbacks_limits_and_identities() {
        let cb = |name: &str| builtin(name).callback.clone().unwrap();
        assert_eq!(cb("callback-retry").fail_attempts, 1);
        assert_eq!(cb("callback-duplicate").duplicates, 1);
        assert!(cb("callback-never").drop);
        assert!(cb("callback-reorder").jitter_ms > 0);

        let polling = builtin("rate-limited-polling");
        assert_eq!(polling.rate_limits[0].endpoint, Endpoint::Query);
        assert_eq!(
            (
                polling.rate_limits[0].limit,
                polling.rate_limits[0].window_ms
            ),
            (2, 1000)
        );
        let rpm = builtin("coze-rpm-exceeded");
        assert_eq!(rpm.rate_limits[0].endpoint, Endpoint::Transcribe);
        assert_eq!(rpm.rate_limits[0].code, Some(4020));

        assert!(builtin("huge-task-ids").identity.big_task_ids);
        assert!(
            builtin("coze-legacy-no-speech")
                .identity
                .coze_no_speech_5000
        );

        let m = builtin("match-url-download-failure");
        let matcher = m.matcher.clone().unwrap();
        assert!(matcher.needs_body());
        assert_eq!(matcher.provider, Some(Provider::Icu));
    }

    #[test]
    fn builtin_faults_have_the_expected_shapes() {
        let fault = |name: &str| builtin(name).faults[0].clone();
        let flaky = fault("flaky-gateway");
        assert_eq!(
            (flaky.endpoint, flaky.on),
            (Endpoint::Query, Trigger::Fraction(0.2))
        );
        assert!(matches!(
            flaky.action,
            FaultAction::Status { status: 502, .. }
        ));
        let reset = fault("connection-reset-on-submit");
        assert_eq!(
            (reset.endpoint, reset.on, reset.action),
            (Endpoint::Submit, Trigger::First(1), FaultAction::Reset)
        );
        assert!(matches!(
            fault("truncated-json").action,
            FaultAction::Truncate { .. }
        ));
        assert!(matches!(
            fault("slow-drip").action,
            FaultAction::Drip { .. }
        ));
        assert_eq!(fault("fail-then-recover").on, Trigger::First(2));
        assert_eq!(fault("fail-then-recover").endpoint, Endpoint::Any);
        assert_eq!(fault("succeed-then-fail").on, Trigger::After(2));
        for (name, status, code) in [
            ("coze-invalid-token", 401, 4100),
            ("coze-missing-permission", 403, 4101),
            ("coze-file-too-large", 400, 4302),
        ] {
            let f = fault(name);
            assert_eq!(f.endpoint, Endpoint::Transcribe, "{name}");
            match f.action {
                FaultAction::Status {
                    status: s,
                    code: c,
                    message: Some(_),
                    ..
                } => {
                    assert_eq!((s, c), (status, Some(code)), "{name}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let FaultAction::Status { message, .. } = fault("coze-invalid-token").action else {
            panic!("not a status fault");
        };
        assert_eq!(message.as_deref(), Some("authentication is invalid"));
        assert!(fault("coze-slow-answer").latency.is_some());
    }

    #[test]
    fn a_user_folder_adds_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "happy-path.toml",
            &scenario("happy-path", "mine"),
        );
        write(dir.path(), "extra.toml", &scenario("extra", "new"));
        write(dir.path(), "notes.md", "not a scenario");
        write(dir.path(), ".#extra.toml", "editor lock file, not TOML");
        fs::create_dir(dir.path().join("sub.toml")).unwrap();
        fs::create_dir(dir.path().join("nested")).unwrap();
        write(
            &dir.path().join("nested"),
            "deep.toml",
            &scenario("deep", "not read"),
        );

        let mut lib = Library::builtin().unwrap();
        let before = lib.len();
        assert_eq!(lib.load_dir(dir.path()).unwrap(), 2);
        assert_eq!(lib.len(), before + 1);
        let happy = lib.get("happy-path").unwrap();
        assert_eq!(happy.description, "mine");
        assert_eq!(
            happy.source,
            ScenarioSource::File(dir.path().join("happy-path.toml"))
        );
        assert!(lib.get("extra").is_some());
        assert!(
            lib.get("deep").is_none(),
            "only files directly in the folder"
        );
    }

    #[test]
    fn one_name_twice_in_a_folder_is_an_error_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.toml", &scenario("same", "first"));
        let b = write(dir.path(), "b.toml", &scenario("same", "second"));
        let mut lib = Library::builtin().unwrap();
        let before = lib.len();
        let e = lib.load_dir(dir.path()).unwrap_err();
        assert_eq!(e.path, b.display().to_string());
        assert_eq!(e.line, Some(2), "the line of `name`");
        assert!(e.reason.contains(&a.display().to_string()), "{e}");
        assert!(e.reason.contains("\"same\""), "{e}");
        assert_eq!(lib.len(), before, "nothing loaded");
    }

    #[test]
    fn a_broken_file_stops_the_load_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.toml", &scenario("happy-path", "mine"));
        let broken = write(
            dir.path(),
            "b.toml",
            "name = \"b\"\ndescription = \"d\"\n[[fault]]\naction = \"reset\"\non = { nth = 0 }\n",
        );
        let mut lib = Library::builtin().unwrap();
        let e = lib.load_dir(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:5: nth must be ≥ 1, got 0", broken.display())
        );
        assert_eq!(
            lib.get("happy-path").unwrap().description,
            builtin("happy-path").description
        );

        let missing = dir.path().join("missing");
        let e = Library::default().load_dir(&missing).unwrap_err();
        assert_eq!(e.path, missing.display().to_string());
        assert!(
            e.reason.starts_with("cannot read the scenarios folder"),
            "{e}"
        );

        let big = tempfile::tempdir().unwrap();
        write(
            big.path(),
            "big.toml",
            &format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize)),
        );
        let e = Library::default().load_dir(big.path()).unwrap_err();
        assert!(e.reason.contains("larger than 1024 KiB"), "{e}");
        let bin = tempfile::tempdir().unwrap();
        fs::write(bin.path().join("bin.toml"), [0xff, 0xfe, 0x00]).unwrap();
        let e = Library::default().load_dir(bin.path()).unwrap_err();
        assert_eq!(e.reason, "not UTF-8 text");
    }

    #[test]
    fn check_dir_reports_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "a-good.toml", &scenario("good", "fine"));
        let bad = write(
            dir.path(),
            "b-bad.toml",
            "name = \"bad\"\ndescription = \"d\"\n[[fault]]\naction = \"status\"\nkeep = 0.5\n",
        );
        let dup = write(dir.path(), "c-dup.toml", &scenario("good", "again"));
        let other = write(dir.path(), "d-other.toml", &scenario("other", "fine"));
        let results = check_dir(dir.path());
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].as_ref().unwrap().name, "good");
        assert_eq!(results[3].as_ref().unwrap().name, "other");
        let e = results[1].as_ref().unwrap_err();
        assert_eq!(
            (e.path.clone(), e.line),
            (bad.display().to_string(), Some(5))
        );
        let e = results[2].as_ref().unwrap_err();
        assert!(e.reason.contains(&good.display().to_string()), "{e}");
        assert_eq!(
            render_check(&results),
            format!(
                "ok  good  {}\n\
                 error {}:5: `keep` goes with action = \"truncate\", not action = \"status\"\n\
                 error {}:2: name \"good\" is also the name of {}: names must be unique\n\
                 ok  other  {}\n",
                good.display(),
                bad.display(),
                dup.display(),
                good.display(),
                other.display()
            )
        );
        let missing = check_dir(&dir.path().join("missing"));
        assert_eq!(missing.len(), 1);
        assert!(missing[0].is_err());
        assert!(check_dir(tempfile::tempdir().unwrap().path()).is_empty());
    }

    #[test]
    fn the_list_is_a_table_in_name_order() {
        let table = Library::builtin().unwrap().render_list();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME "), "{}", lines[0]);
        assert!(lines[0].contains("SOURCE") && lines[0].contains("DESCRIPTION"));
        assert_eq!(lines.len(), BUILTIN.len() + 1);
        assert!(lines[1].starts_with("callback-duplicate "), "{}", lines[1]);
        let flaky = lines
            .iter()
            .find(|l| l.starts_with("flaky-gateway "))
            .unwrap();
        assert!(
            flaky.contains("builtin") && flaky.contains("query 20% → status 502"),
            "{flaky}"
        );
        // Columns line up: every row's SOURCE starts where the header's does.
        let col = lines[0].find("SOURCE").unwrap();
        assert!(lines[1..]
            .iter()
            .all(|l| l.chars().nth(col - 1) == Some(' ')));
    }
}
