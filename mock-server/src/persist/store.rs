//! The state store: one redb database at `--state-file PATH`, written by one thread.
//!
//! Two kinds of writes go through it, in the order they were asked for:
//! - **submits**: an accepted task's record, committed with `Durability::Immediate` (fsync)
//!   before the task enters the engine and before its submit is answered. Submits that
//!   arrive while a commit is running wait in the queue and share the next commit (group
//!   commit), so concurrent clients pay for one fsync between them, not one each.
//! - **saves**: the whole-state snapshot (clock, journals, every task's latest state), which
//!   in the same transaction deletes the submit records it covers. The store thus holds one
//!   snapshot plus the submits since it, bounded by what the task store itself keeps.
//!
//! Tables: `meta` (the format version), `snapshot` (one JSON blob), `submits` (JSON records
//! by sequence number).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use redb::{Database, DatabaseError, Durability, ReadableTable, TableDefinition, TableError};
use tokio::sync::{mpsc, oneshot};

use super::records::{Header, StateFile, SubmitRecord};
use super::{StateError, FORMAT_VERSION};
use crate::providers::icu::tasks::{Durable, Task, TaskEngine};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");
const SUBMITS: TableDefinition<u64, &[u8]> = TableDefinition::new("submits");
const VERSION_KEY: &str = "format_version";
const STATE_KEY: &str = "state";

/// Requests waiting for the writer; a full queue makes submits wait (backpressure).
const QUEUE: usize = 4096;
/// Most submits committed together.
const MAX_BATCH: usize = 1024;

/// What the file held when it was opened, checked but not yet applied to the state.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    /// The last snapshot, if one was ever saved.
    pub(super) snapshot: Option<StateFile>,
    /// Submit records the snapshot does not cover, oldest first.
    pub(super) submits: Vec<SubmitRecord>,
}

/// The writer thread's handle: submits and saves go to it through a bounded queue.
#[derive(Debug)]
pub struct Store {
    sender: mpsc::Sender<Message>,
    /// Every submit record up to this sequence number has been committed and its task put
    /// into the engine: a snapshot taken after reading it covers them.
    applied: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

enum Message {
    Submit {
        task: Task,
        ordinal: u64,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Save {
        covered: u64,
        blob: Vec<u8>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Close,
}

impl Store {
    /// Opens (or creates) the database at `path`, checks its format and every record in
    /// it, and starts the writer, which inserts committed tasks into `tasks`. A file that is
    /// not a state database of this format, cannot be written, or holds an impossible value
    /// is refused and left untouched.
    pub(super) fn open(path: &Path, tasks: TaskEngine) -> Result<(Store, Loaded), StateError> {
        refuse_json(path)?;
        let db = Database::builder().create(path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StateError::InUse {
                path: path.to_owned(),
            },
            DatabaseError::Storage(redb::StorageError::Io(source))
                if source.kind() == std::io::ErrorKind::InvalidData =>
            {
                StateError::Unreadable {
                    path: path.to_owned(),
                    reason: format!("not a state database ({source})"),
                }
            }
            DatabaseError::Storage(redb::StorageError::Io(source)) => StateError::Open {
                path: path.to_owned(),
                source,
            },
            other => StateError::Unreadable {
                path: path.to_owned(),
                reason: other.to_string(),
            },
        })?;
        let store_error = |e: Box<redb::Error>| StateError::Store {
            path: path.to_owned(),
            source: e,
        };
        let (loaded, last_seq) = read(path, &db).map_err(|e| match e {
            Read::State(e) => *e,
            Read::Store(e) => store_error(e),
        })?;
        // Marks a new file as ours, and proves on every start that the file can be written.
        let mark = || -> Result<(), Box<redb::Error>> {
            let mut txn = db.begin_write().map_err(boxed)?;
            txn.set_durability(Durability::Immediate);
            {
                let mut meta = txn.open_table(META).map_err(boxed)?;
                meta.insert(VERSION_KEY, u64::from(FORMAT_VERSION))
                    .map_err(boxed)?;
            }
            txn.commit().map_err(boxed)
        };
        mark().map_err(store_error)?;

        let covered = loaded.snapshot.as_ref().map_or(0, |s| s.covered_seq);
        let next_seq = last_seq.max(covered) + 1;
        let applied = Arc::new(AtomicU64::new(next_seq - 1));
        let (sender, receiver) = mpsc::channel(QUEUE);
        let writer = Writer {
            db,
            tasks,
            applied: Arc::clone(&applied),
            next_seq,
            path: path.to_owned(),
        };
        let thread = std::thread::Builder::new()
            .name("asr-mock-store".into())
            .spawn(move || writer.run(receiver))
            .map_err(|source| StateError::Open {
                path: path.to_owned(),
                source,
            })?;
        let store = Store {
            sender,
            applied,
            thread: Mutex::new(Some(thread)),
        };
        Ok((store, loaded))
    }

    /// The sequence number a snapshot taken now covers.
    pub(super) fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Writes a snapshot blob that covers the submits up to `covered`, and forgets them.
    pub(super) async fn save(&self, covered: u64, blob: Vec<u8>) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let message = Message::Save {
            covered,
            blob,
            reply,
        };
        self.sender.send(message).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the writer after what is queued, and waits until the file is closed (so the
    /// same file can be opened again at once, in this process or another).
    pub(super) async fn close(&self) {
        let _ = self.sender.send(Message::Close).await;
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// [`close`](Self::close) for callers outside the runtime, when nothing else writes.
    pub(super) fn close_now(&self) {
        let _ = self.sender.try_send(Message::Close);
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Durable for Store {
    fn accept(&self, task: Task, ordinal: u64) -> BoxFuture<'static, Result<(), String>> {
        let sender = self.sender.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let message = Message::Submit {
                task,
                ordinal,
                reply,
            };
            sender.send(message).await.map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        })
    }
}

fn stopped() -> String {
    "the state store has stopped (the simulator is shutting down)".to_owned()
}

/// The single writer: owns the database, so closing it is dropping it here.
struct Writer {
    db: Database,
    tasks: TaskEngine,
    applied: Arc<AtomicU64>,
    next_seq: u64,
    path: PathBuf,
}

/// A submit waiting for the next commit.
struct Pending {
    task: Task,
    record: Result<Vec<u8>, String>,
    reply: oneshot::Sender<Result<(), String>>,
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Message>) {
        let mut batch: Vec<Message> = Vec::new();
        let mut submits: Vec<Pending> = Vec::new();
        while let Some(first) = receiver.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(message) => batch.push(message),
                    Err(_) => break,
                }
            }
            // In arrival order: submits before a save commit before it.
            for message in batch.drain(..) {
                match message {
                    Message::Submit {
                        task,
                        ordinal,
                        reply,
                    } => {
                        let record = serde_json::to_vec(&SubmitRecord::new(task.clone(), ordinal))
                            .map_err(|e| format!("cannot encode the task: {e}"));
                        submits.push(Pending {
                            task,
                            record,
                            reply,
                        });
                    }
                    Message::Save {
                        covered,
                        blob,
                        reply,
                    } => {
                        self.commit_submits(&mut submits);
                        let _ = reply.send(self.save(covered, &blob));
                    }
                    Message::Close => {
                        self.commit_submits(&mut submits);
                        return;
                    }
                }
            }
            self.commit_submits(&mut submits);
        }
    }

    /// Commits the waiting submits in one transaction, then puts their tasks into the
    /// engine and answers them; on failure none is accepted.
    fn commit_submits(&mut self, submits: &mut Vec<Pending>) {
        if submits.is_empty() {
            return;
        }
        let mut batch: Vec<Pending> = Vec::with_capacity(submits.len());
        for pending in submits.drain(..) {
            match &pending.record {
                Ok(_) => batch.push(pending),
                Err(e) => {
                    let _ = pending.reply.send(Err(e.clone()));
                }
            }
        }
        let first = self.next_seq;
        let committed = self.insert_submits(first, &batch);
        match committed {
            Ok(()) => {
                let count = batch.len() as u64;
                self.next_seq = first + count;
                let mut replies = Vec::with_capacity(batch.len());
                for pending in batch {
                    self.tasks.insert(pending.task);
                    replies.push(pending.reply);
                }
                // Every task is in the engine before a snapshot may count it as covered, and
                // that is so before any submit hears back.
                self.applied.store(first + count - 1, Ordering::Release);
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                let reason = format!("cannot write {}: {e}", self.path.display());
                tracing::error!(%reason, tasks = batch.len(), "submits not recorded");
                for pending in batch {
                    let _ = pending.reply.send(Err(reason.clone()));
                }
            }
        }
    }

    /// Writes the records of `batch` from sequence number `first` on, in one durable commit.
    fn insert_submits(&self, first: u64, batch: &[Pending]) -> Result<(), Box<redb::Error>> {
        let mut txn = self.db.begin_write().map_err(boxed)?;
        txn.set_durability(Durability::Immediate);
        {
            let mut table = txn.open_table(SUBMITS).map_err(boxed)?;
            for (seq, pending) in (first..).zip(batch) {
                if let Ok(record) = &pending.record {
                    table.insert(seq, record.as_slice()).map_err(boxed)?;
                }
            }
        }
        txn.commit().map_err(boxed)
    }

    /// Replaces the snapshot and deletes the submit records it covers, in one transaction.
    fn save(&self, covered: u64, blob: &[u8]) -> Result<(), String> {
        let saved = || -> Result<(), Box<redb::Error>> {
            let mut txn = self.db.begin_write().map_err(boxed)?;
            txn.set_durability(Durability::Immediate);
            {
                let mut snapshot = txn.open_table(SNAPSHOT).map_err(boxed)?;
                snapshot.insert(STATE_KEY, blob).map_err(boxed)?;
                let mut submits = txn.open_table(SUBMITS).map_err(boxed)?;
                submits.retain_in(..=covered, |_, _| false).map_err(boxed)?;
            }
            txn.commit().map_err(boxed)
        };
        saved().map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// Rewrites the snapshot of a closed state file with `edit`, for the workspace's tests of
/// what loading refuses. Not for use on a file a simulator has open (it is locked then).
pub fn edit_snapshot(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
    let db = Database::open(path).map_err(|e| e.to_string())?;
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        let mut table = txn.open_table(SNAPSHOT).map_err(|e| e.to_string())?;
        let blob = table
            .get(STATE_KEY)
            .map_err(|e| e.to_string())?
            .ok_or("the file holds no snapshot yet")?
            .value()
            .to_vec();
        let mut json: serde_json::Value =
            serde_json::from_slice(&blob).map_err(|e| e.to_string())?;
        edit(&mut json);
        let blob = serde_json::to_vec(&json).map_err(|e| e.to_string())?;
        table
            .insert(STATE_KEY, blob.as_slice())
            .map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())
}

/// A database error, boxed (it is large) for the error paths.
fn boxed(e: impl Into<redb::Error>) -> Box<redb::Error> {
    Box::new(e.into())
}

/// Why reading the file failed.
enum Read {
    State(Box<StateError>),
    Store(Box<redb::Error>),
}

impl<E: Into<redb::Error>> From<E> for Read {
    fn from(e: E) -> Self {
        Read::Store(boxed(e))
    }
}

/// Reads and checks everything the file holds; also returns the last submit sequence number.
fn read(path: &Path, db: &Database) -> Result<(Loaded, u64), Read> {
    let invalid = |reason: String| {
        Read::State(Box::new(StateError::Invalid {
            path: path.to_owned(),
            reason,
        }))
    };
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(meta) => Some(meta),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let version = match &meta {
        Some(meta) => meta.get(VERSION_KEY)?.map(|v| v.value()),
        None => None,
    };
    match version {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(Read::State(Box::new(StateError::Version {
                path: path.to_owned(),
                found: v,
            })))
        }
        // A database with tables but no version is someone else's.
        None if txn.list_tables()?.next().is_some() => {
            return Err(Read::State(Box::new(StateError::NotOurs {
                path: path.to_owned(),
            })))
        }
        None => return Ok((Loaded::default(), 0)),
    }
    let snapshot = match txn.open_table(SNAPSHOT) {
        Ok(table) => match table.get(STATE_KEY)? {
            Some(blob) => {
                let file: StateFile = serde_json::from_slice(blob.value())
                    .map_err(|e| invalid(format!("the snapshot is not readable: {e}")))?;
                file.check_times().map_err(invalid)?;
                Some(file)
            }
            None => None,
        },
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let covered = snapshot.as_ref().map_or(0, |s| s.covered_seq);
    let mut submits = Vec::new();
    let mut last_seq = 0;
    match txn.open_table(SUBMITS) {
        Ok(table) => {
            for entry in table.iter()? {
                let (seq, bytes) = entry?;
                let seq = seq.value();
                last_seq = seq;
                if seq <= covered {
                    continue;
                }
                let record: SubmitRecord = serde_json::from_slice(bytes.value())
                    .map_err(|e| invalid(format!("submit record {seq} is not readable: {e}")))?;
                record.task.check_times().map_err(invalid)?;
                submits.push(record);
            }
        }
        Err(TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok((Loaded { snapshot, submits }, last_seq))
}

/// A JSON file (the format before the state database, or any JSON) is refused with its
/// version rather than handed to the database, which would call it corrupt.
fn refuse_json(path: &Path) -> Result<(), StateError> {
    use std::io::Read as _;
    let mut head = [0u8; 64];
    let read = match std::fs::File::open(path) {
        Ok(mut file) => file.read(&mut head),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StateError::Open {
                path: path.to_owned(),
                source,
            })
        }
    };
    let read = read.map_err(|source| StateError::Open {
        path: path.to_owned(),
        source,
    })?;
    let starts_json = head[..read]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !starts_json {
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(|source| StateError::Open {
        path: path.to_owned(),
        source,
    })?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| StateError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Err(StateError::Json {
        path: path.to_owned(),
        found: header.version,
    })
}
