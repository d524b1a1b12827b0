//! The persistence handle the shared state holds: where the state file is, what was last
//! saved, and what a restart must resume. Kept apart from the saving code so the state can
//! hold it without depending on that code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

/// The change counters of everything saved: equal counters, nothing new to save.
pub(super) type Fingerprint = [u64; 6];

/// Where and how state is saved; lives in the shared state.
#[derive(Debug)]
pub struct Persist {
    pub(super) path: PathBuf,
    /// The counters as of the last save (or load).
    pub(super) saved: Mutex<Option<Fingerprint>>,
    /// One write at a time (held by the blocking writer), so an older snapshot never
    /// replaces a newer one and two writers never share `PATH.tmp`.
    pub(super) writing: Arc<tokio::sync::Mutex<()>>,
    /// What the first `run` after a load must restart: Url downloads and callbacks.
    pub(super) resume: Mutex<Resume>,
}

/// Work a restart interrupted, found while loading.
#[derive(Debug, Default)]
pub(super) struct Resume {
    pub(super) downloads: Vec<u64>,
    pub(super) callbacks: Vec<u64>,
}

impl Persist {
    /// Persistence to `path` (nothing is read or written yet).
    pub fn new(path: PathBuf) -> Self {
        Persist {
            path,
            saved: Mutex::new(None),
            writing: Arc::new(tokio::sync::Mutex::new(())),
            resume: Mutex::new(Resume::default()),
        }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
