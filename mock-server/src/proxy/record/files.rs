//! The record folder's files: fixtures merged by audio hash, scenarios by name. One write at
//! a time; each file is checked with the loader that will read it, written whole to a
//! temporary name and renamed, so a reader (or a kill) never sees half a file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::scenarios::{self, ScenarioSource};
use crate::transcript::{self, Fixture};

/// The two folders and the lock that serialises writes.
#[derive(Debug)]
pub struct Files {
    fixtures: PathBuf,
    scenarios: PathBuf,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Files {
    /// Creates `dir/fixtures` and `dir/scenarios`.
    pub fn open(dir: &Path) -> io::Result<Files> {
        let fixtures = dir.join("fixtures");
        let scenarios = dir.join("scenarios");
        fs::create_dir_all(&fixtures)?;
        fs::create_dir_all(&scenarios)?;
        Ok(Files {
            fixtures,
            scenarios,
            lock: Arc::default(),
        })
    }

    /// Updates the fixture of `sha256` (`merge` gets the file's current fixture, if any, and
    /// returns the new one). Returns the file written, or why not.
    pub async fn update_fixture(
        &self,
        sha256: [u8; 32],
        merge: impl FnOnce(Option<Fixture>) -> Fixture + Send + 'static,
    ) -> Result<PathBuf, String> {
        let _held = self.lock.lock().await;
        let path = self.fixtures.join(format!("{}.toml", hex::encode(sha256)));
        blocking(move || {
            let current = match path.exists() {
                true => match transcript::read_file(&path) {
                    Ok((_, fixture)) => Some(fixture),
                    Err(e) => {
                        // A file edited into something broken is replaced, not merged.
                        tracing::warn!(error = %e, "record: replacing an unreadable fixture");
                        None
                    }
                },
                false => None,
            };
            let text = transcript::write_toml(&sha256, &merge(current));
            write_checked(&path, &text, |tmp| {
                transcript::read_file(tmp)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })?;
            Ok(path)
        })
        .await
    }

    /// Writes the scenario `name` (its file's text); an identical file is left alone.
    pub async fn write_scenario(&self, name: &str, text: String) -> Result<PathBuf, String> {
        let _held = self.lock.lock().await;
        let path = self.scenarios.join(format!("{name}.toml"));
        blocking(move || {
            if fs::read_to_string(&path).is_ok_and(|old| old == text) {
                return Ok(path);
            }
            write_checked(&path, &text, |tmp| {
                scenarios::parse::parse_with_name_line(
                    &text,
                    ScenarioSource::File(tmp.to_path_buf()),
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
            })?;
            Ok(path)
        })
        .await
    }
}

/// Runs file work off the async threads; a task that did not finish is an error like any.
async fn blocking(
    work: impl FnOnce() -> Result<PathBuf, String> + Send + 'static,
) -> Result<PathBuf, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("record: the write was cut short: {e}"))?
}

/// Writes `text` to a temporary file next to `path`, checks it, then renames it over `path`.
fn write_checked(
    path: &Path,
    text: &str,
    check: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let tmp = path.with_extension("toml.tmp");
    let result = fs::write(&tmp, text)
        .map_err(|e| format!("{}: {e}", tmp.display()))
        .and_then(|()| check(&tmp).map_err(|e| format!("the recording does not load: {e}")))
        .and_then(|()| {
            fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .and_then(|()| fs::rename(&tmp, path))
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Fixture {
        Fixture {
            text: text.into(),
            sentences: None,
            icu: None,
        }
    }

    #[tokio::test]
    async fn recording_the_same_audio_again_updates_its_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::open(dir.path()).unwrap();
        let sha = [7u8; 32];
        let first = files.update_fixture(sha, |old| {
            assert!(old.is_none());
            fixture("第一次。")
        });
        let path = first.await.unwrap();
        let second = files.update_fixture(sha, |old| {
            assert_eq!(old.unwrap().text, "第一次。", "the merge sees the file");
            fixture("第二次 \"quoted\"\n。")
        });
        assert_eq!(second.await.unwrap(), path);
        let (read_sha, read) = transcript::read_file(&path).unwrap();
        assert_eq!(
            (read_sha, read.text.as_str()),
            (sha, "第二次 \"quoted\"\n。")
        );
        let names: Vec<_> = fs::read_dir(dir.path().join("fixtures")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
        // A scenario that would not load is not written.
        let bad = files.write_scenario("broken", "name = 1\n".into()).await;
        assert!(bad.unwrap_err().contains("does not load"));
        assert_eq!(
            fs::read_dir(dir.path().join("scenarios")).unwrap().count(),
            0
        );
    }
}
