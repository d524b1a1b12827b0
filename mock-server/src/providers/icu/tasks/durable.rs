//! Where an accepted task goes before its submit is answered, when the simulator keeps state
//! across restarts. Persistence implements [`Durable`]; the service only awaits it, so a
//! TaskId a client has seen always names a task that survives a crash.

use futures_util::future::BoxFuture;

use super::Task;

/// Makes accepted tasks durable: records the task and the TaskId draw ordinal to continue
/// from, then puts the task into the engine, and only then reports back.
pub trait Durable: Send + Sync + std::fmt::Debug {
    /// Records `task` (and `ordinal`, the next TaskId draw) durably and inserts it into the
    /// task engine; resolves once both are done, or says why the task could not be recorded
    /// (then it was not inserted either).
    fn accept(&self, task: Task, ordinal: u64) -> BoxFuture<'static, Result<(), String>>;
}
