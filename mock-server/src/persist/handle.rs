//! The persistence handle the shared state holds: where the state file is, its store, what
//! was last saved, and what a restart must resume. Kept apart from the saving code so the
//! state can hold it without depending on that code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::store::{Loaded, Store};
use super::StateError;
use crate::providers::icu::tasks::{Durable, TaskEngine};

/// The change counters of everything saved: equal counters, nothing new to save.
pub(super) type Fingerprint = [u64; 6];

/// Where and how state is saved; lives in the shared state.
#[derive(Debug)]
pub struct Persist {
    pub(super) path: PathBuf,
    /// The open database and its writer.
    pub(super) store: Arc<Store>,
    /// What the file held at start, until `load` applies it.
    pub(super) loaded: Mutex<Loaded>,
    /// The counters as of the last save (or load).
    pub(super) saved: Mutex<Option<Fingerprint>>,
    /// One save at a time, so an older snapshot never replaces a newer one.
    pub(super) writing: tokio::sync::Mutex<()>,
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
    /// Opens (or creates) the state file at `path` and reads it; committed submits go into
    /// `tasks`. Fails when the file cannot be written or holds anything it should not.
    pub fn open(path: PathBuf, tasks: TaskEngine) -> Result<Self, StateError> {
        let (store, loaded) = Store::open(&path, tasks)?;
        Ok(Persist {
            path,
            store: Arc::new(store),
            loaded: Mutex::new(loaded),
            saved: Mutex::new(None),
            writing: tokio::sync::Mutex::new(()),
            resume: Mutex::new(Resume::default()),
        })
    }

    /// Where the icu service records accepted tasks before answering.
    pub fn durable(&self) -> Arc<dyn Durable> {
        self.store.clone()
    }

    /// Closes the file from outside the runtime (start-up failed after it was opened).
    pub fn close_now(&self) {
        self.store.close_now();
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
