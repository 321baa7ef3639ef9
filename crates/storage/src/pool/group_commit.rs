//! Group commit for a database with one writer at a time (SQLite): concurrent writes share
//! one transaction, and so one sync of the log to disk.
//!
//! With `synchronous=FULL` every commit waits for the disk, and SQLite lets one writer in at a
//! time: writes taking turns, each with its own commit, run no faster than the disk syncs
//! (here about 0.15 ms each), however many wait. So writers queue their work here instead.
//! The first to find no batch running becomes the leader: on a blocking thread, with one
//! pooled connection, it takes what has queued (up to [`MAX_BATCH`] writes), runs each in a
//! savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and answers each writer;
//! then it takes what queued meanwhile, until nothing waits.
//!
//! What each writer sees is what it saw when writes took turns, each in a transaction of
//! its own:
//! - writes run one after another, in the order they queued, each seeing those before it;
//! - a write that fails (or panics) is rolled back to its savepoint, alone, and answered its
//!   own error;
//! - a write is answered success only once the commit that holds it has succeeded, so an
//!   acknowledged write is on disk; when that commit fails, every write in it is answered
//!   the commit's error (and none of them is there);
//! - a write waits for a batch at most until its pool timeout is over, then answers
//!   `Unavailable` and never runs, as it waited at most that long for its turn before.
//!
//! One difference: when SQLite itself rolls the whole transaction back (it does so when a
//! write statement is interrupted past `database.statement_timeout`, or on a full disk),
//! the other writes of that batch are answered `Unavailable` too, though they did nothing
//! wrong: retrying them succeeds.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use diesel::Connection;
use diesel::connection::TransactionManager;
use taskapi_domain::StoreError;
use tokio::sync::oneshot;

use super::waits::CheckoutCounters;
use super::{QUEUED, STARTED};
use crate::backend::{DbConnection, end_transaction};
use crate::errors::DbError;

/// Most writes one transaction holds: enough to share a sync among every writer a busy
/// server has waiting, few enough that the first of them is not kept long for the last.
pub(super) const MAX_BATCH: usize = 64;

/// The queue of writes and whether a leader is running it.
#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<Queue>,
    /// Transactions begun for batches so far (for tests).
    #[cfg(test)]
    pub(super) batches: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Queue {
    writes: VecDeque<QueuedWrite>,
    /// Whether a leader is running batches: then a new write just queues.
    leading: bool,
}

/// A write in the queue.
pub(super) struct QueuedWrite {
    /// Shared with its caller, who may give up on it while it is queued.
    claim: Arc<AtomicU8>,
    /// When its caller stops waiting for a batch to take it.
    deadline: Instant,
    /// When it began to wait behind other writes (counted as a wait), if it did.
    waiting_since: Option<Instant>,
    work: Box<dyn BatchedWork>,
}

/// What joining the queue means for the caller.
pub(super) struct Joined {
    /// The caller must start the leader: no batch was running.
    pub(super) lead: bool,
    /// When the write began to wait behind others, if it does.
    pub(super) waiting_since: Option<Instant>,
}

/// One write's work and its answer, whatever its result type.
trait BatchedWork: Send {
    /// Runs the work in a savepoint of the batch's transaction and keeps its outcome.
    /// Returns whether the work found its connection dead.
    fn run(&mut self, conn: &mut DbConnection) -> bool;

    /// Answers the caller: its own failure if it failed, else success if the batch was
    /// committed, else the commit's failure.
    fn answer(self: Box<Self>, committed: Result<(), &StoreError>);
}

/// A write's work until it runs, then its outcome until the batch ends.
struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, DbError>>,
    reply: oneshot::Sender<Result<T, DbError>>,
}

impl<T, F> BatchedWork for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // Nested in the batch's transaction, diesel's transaction manager makes this a
        // savepoint, released on success and rolled back to on failure.
        let outcome =
            match <DbConnection as Connection>::TransactionManager::begin_transaction(conn) {
                Err(e) => Err(DbError::from(e)),
                Ok(()) => {
                    let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
                        .unwrap_or_else(|panic| Err(panicked(panic.as_ref())));
                    end_transaction(conn, outcome)
                }
            };
        let lost = outcome.as_ref().is_err_and(DbError::lost_connection);
        self.outcome = Some(outcome);
        lost
    }

    fn answer(self: Box<Self>, committed: Result<(), &StoreError>) {
        let outcome = match (self.outcome, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(failure)) => Err(DbError::Store(copy(failure))),
            (None, _) => Err(DbError::Store(StoreError::internal(
                "a batched write was answered without running",
            ))),
        };
        // Its caller may have stopped waiting: nothing is owed then.
        let _ = self.reply.send(outcome);
    }
}

/// The error of a write that panicked (a bug): its message, for the logs.
fn panicked(panic: &(dyn std::any::Any + Send)) -> DbError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    DbError::Store(StoreError::internal(format!(
        "a write panicked in its batch: {message}"
    )))
}

/// The same failure, for another write of the batch (store errors are not `Clone`).
fn copy(failure: &StoreError) -> StoreError {
    match failure {
        StoreError::Unavailable(cause) => StoreError::unavailable(format!(
            "the transaction holding this write was not committed: {cause}"
        )),
        StoreError::Internal(cause) => StoreError::internal(format!(
            "the transaction holding this write was not committed: {cause}"
        )),
    }
}

impl QueuedWrite {
    /// A write of `work`, whose outcome goes to `reply`.
    pub(super) fn new<T, F>(
        work: F,
        reply: oneshot::Sender<Result<T, DbError>>,
        claim: Arc<AtomicU8>,
        deadline: Instant,
    ) -> Self
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        Self {
            claim,
            deadline,
            waiting_since: None,
            work: Box::new(Pending {
                work: Some(work),
                outcome: None,
                reply,
            }),
        }
    }
}

/// A batch taken from the queue: the writes that were still awaited.
pub(super) struct Batch(Vec<Box<dyn BatchedWork>>);

impl Batch {
    /// Runs every write in the transaction begun on `conn`, in order. Returns whether one
    /// found the connection dead.
    pub(super) fn run(&mut self, conn: &mut DbConnection) -> bool {
        let mut lost = false;
        for work in &mut self.0 {
            lost |= work.run(conn);
        }
        lost
    }

    /// Answers every write, with the commit's outcome.
    pub(super) fn answer(self, committed: Result<(), &StoreError>) {
        for work in self.0 {
            work.answer(committed);
        }
    }

    /// Answers every write `failure` without running it (its transaction could not begin).
    pub(super) fn refuse(self, failure: &StoreError) {
        self.answer(Err(failure));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl GroupCommit {
    /// Queues `write`; says whether the caller must start a leader.
    pub(super) fn join(&self, mut write: QueuedWrite, counters: &CheckoutCounters) -> Joined {
        let mut queue = self.lock();
        let lead = !queue.leading;
        if queue.leading {
            write.waiting_since = Some(counters.wait_begins());
        }
        queue.leading = true;
        let waiting_since = write.waiting_since;
        queue.writes.push_back(write);
        Joined {
            lead,
            waiting_since,
        }
    }

    /// The deadline of the first write still queued, or `None` — and then the leader's
    /// work is over: it must stop, and the next write to come starts a new one.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let mut queue = self.lock();
        let deadline = queue.writes.front().map(|w| w.deadline);
        if deadline.is_none() {
            queue.leading = false;
        }
        deadline
    }

    /// Takes up to [`MAX_BATCH`] queued writes whose callers still wait for them, marking
    /// them started (their callers now wait for their answer); writes given up on are
    /// dropped.
    pub(super) fn take_batch(&self, counters: &CheckoutCounters) -> Batch {
        #[cfg(test)]
        self.batches.fetch_add(1, Ordering::Relaxed);
        let mut queue = self.lock();
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            let Some(write) = queue.writes.pop_front() else {
                break;
            };
            let started = write
                .claim
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if started {
                if let Some(since) = write.waiting_since {
                    counters.wait_ends(since, false);
                }
                batch.push(write.work);
            }
        }
        Batch(batch)
    }

    /// Answers `failure` to every queued write without running it: no connection came for
    /// the first of them in time, and the others would wait for the same database. Writes
    /// that queue from now on are tried again.
    pub(super) fn refuse_queued(&self, failure: &StoreError, counters: &CheckoutCounters) {
        let refused = std::mem::take(&mut self.lock().writes);
        for write in refused {
            let started = write
                .claim
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if started {
                if let Some(since) = write.waiting_since {
                    counters.wait_ends(since, true);
                }
                write.work.answer(Err(failure));
            }
        }
    }

    /// Ends the leader's work after a panic of its own: the next write starts a new one.
    pub(super) fn abdicate(&self) {
        self.lock().leading = false;
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Each change under the lock is one push, pop or flag: a panic cannot leave the
        // queue half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.lock();
        f.debug_struct("GroupCommit")
            .field("queued", &queue.writes.len())
            .field("leading", &queue.leading)
            .finish()
    }
}
