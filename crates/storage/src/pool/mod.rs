//! Running repository work: diesel is synchronous, so every call runs on tokio's blocking
//! pool, and waits — for a thread, a connection and, on SQLite, a batch of writes to join — at most
//! the pool timeout from when the call was made.
//!
//! Work asks for what it needs with one of three symmetric entry points:
//! [`DbPool::read`] (a read transaction: its statements see one snapshot),
//! [`DbPool::write`] (a write transaction, writers taking turns where the engine has one
//! writer at a time), and [`DbPool::run`] (no transaction of its own: for one statement,
//! which is atomic and reads one snapshot by itself).
//!
//! Connections are given out as [`Checkout`]s, which tell the pool on their return when
//! they were last used and whether a call found the server gone: a lost connection is
//! closed rather than reused, and a PostgreSQL connection idle for a while is tested
//! before it is handed out (see [`DbPool::checkout`]).
//!
//! Calls are counted here, where the waiting happens, as plain atomic counters: how many
//! there were, how many had to wait (for a connection, for a thread until they were given
//! up on, or for a batch of writes to take them), for how long in total, and how many gave up.
//! Whoever exports metrics reads them through [`crate::Database::pool_stats`]; this crate
//! knows nothing of the exporter.

mod checkout;
mod group_commit;
#[cfg(test)]
mod tests;
mod waits;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use taskapi_domain::StoreError;

#[cfg(feature = "test-support")]
pub(crate) use checkout::Checkout;
use diesel::Connection;
use diesel::connection::TransactionManager;
use group_commit::{GroupCommit, QueuedWrite};
use tokio::sync::oneshot;
use waits::CheckoutCounters;

use crate::backend::{ConnectionPool, DbConnection, read_transaction, write_transaction};
use crate::errors::DbError;

/// The connection pool and its checkout counters. Cloning is cheap (shared handles).
#[derive(Debug, Clone)]
pub(crate) struct DbPool {
    connections: ConnectionPool,
    counters: Arc<CheckoutCounters>,
    /// Connections idle longer than this are tested before use; `None`: never.
    validate_after_idle: Option<Duration>,
    /// Where writes queue to share transactions when the database has one writer at a time
    /// (SQLite): see [`DbPool::write`]. `None`: each write has a transaction of its own.
    group_commit: Option<Arc<GroupCommit>>,
    /// `database.statement_timeout`: how long, past the pool timeout, a call that started
    /// is awaited before its caller is answered `Unavailable` (see [`DbPool::run`]).
    statement_timeout: Duration,
}

/// How long past the pool and statement timeouts a started call is still awaited: the
/// database's own cancellation (or SQLite's interrupt) normally ends it first.
const ANSWER_GRACE: Duration = Duration::from_millis(500);

/// Whether the database lets one writer in at a time, so that writers should queue in the
/// process rather than in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writers {
    /// One at a time (SQLite's database-wide write lock).
    OneAtATime,
    /// Concurrent (PostgreSQL's row locks).
    Concurrent,
}

/// What the counters say, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckoutTotals {
    pub(crate) checkouts: u64,
    pub(crate) waits: u64,
    pub(crate) wait_time: Duration,
    pub(crate) timeouts: u64,
}

impl DbPool {
    /// Wraps an r2d2 pool, with every counter at zero. Connections idle for longer than
    /// `validate_after_idle` are tested (`SELECT 1`) before they are handed out.
    pub(crate) fn new(
        connections: ConnectionPool,
        validate_after_idle: Option<Duration>,
        writers: Writers,
        statement_timeout: Duration,
    ) -> Self {
        Self {
            connections,
            counters: Arc::default(),
            validate_after_idle,
            group_commit: (writers == Writers::OneAtATime).then(Arc::default),
            statement_timeout,
        }
    }

    /// r2d2's pool itself (its size and state).
    pub(crate) fn connections(&self) -> &ConnectionPool {
        &self.connections
    }

    /// The checkout counters so far.
    pub(crate) fn checkout_totals(&self) -> CheckoutTotals {
        let c = &self.counters;
        CheckoutTotals {
            checkouts: c.checkouts.load(Ordering::Relaxed),
            waits: c.waits.load(Ordering::Relaxed),
            wait_time: Duration::from_nanos(c.wait_nanos.load(Ordering::Relaxed)),
            timeouts: c.timeouts.load(Ordering::Relaxed),
        }
    }
}

impl DbPool {
    /// Runs `work` with a pooled connection on the blocking pool.
    ///
    /// The server gives tokio's blocking pool about one thread per pooled connection (see
    /// `taskapi serve`), so that database work queues for a thread instead of piling up threads
    /// that wait on the pool; each thread then takes queued calls one after another without
    /// going to sleep between them, which is most of what a call costs on a busy machine. With
    /// few threads, though, a queued call could wait behind slow ones far longer than the pool
    /// timeout, so the timeout counts from when the call is made: a call that has not started by
    /// then answers `Unavailable` at once and never runs, and one that starts checks a
    /// connection out by the same deadline. A call that started is awaited until the
    /// statement timeout (and half a second) past that deadline: its statements are
    /// cancelled by the database (or interrupted, on SQLite) by then. Only a database that
    /// stopped answering without closing the connection (a network partition) keeps a call
    /// longer; its caller is then answered `Unavailable` while the call goes on in the
    /// background until the connection's TCP timeouts end it, and its outcome (its writes
    /// may have happened) is dropped.
    ///
    /// # Errors
    /// What `work` returns; `Unavailable` when no thread and connection could be had in time;
    /// `Internal` when the blocking task died (a panic in `work`).
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let asked = Instant::now();
        let deadline = asked + self.connections.connection_timeout();
        let claim = Arc::new(AtomicU8::new(QUEUED));
        let task = {
            let (pool, claim) = (self.clone(), Arc::clone(&claim));
            tokio::task::spawn_blocking(move || {
                if claim
                    .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // Given up on while queued: its caller has already answered.
                    return Err(DbError::Store(StoreError::unavailable(
                        "abandoned database call",
                    )));
                }
                let mut conn = pool.checkout_by(deadline)?;
                let outcome = work(&mut conn);
                conn.note(&outcome);
                outcome
            })
        };
        tokio::pin!(task);
        let finished = match tokio::time::timeout_at(deadline.into(), &mut task).await {
            Ok(finished) => finished,
            Err(_) if abandon(&claim) => {
                // A database call like any other, which waited (for a thread) from the start.
                let counters = &self.counters;
                counters.checkouts.fetch_add(1, Ordering::Relaxed);
                counters.waits.fetch_add(1, Ordering::Relaxed);
                counters.wait_ends(asked, true);
                return Err(DbError::Store(StoreError::unavailable(
                    "no database thread became free within the pool timeout",
                )));
            }
            Err(_) => {
                let patience = self.statement_timeout + ANSWER_GRACE;
                match tokio::time::timeout(patience, &mut task).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                        return Err(DbError::Store(StoreError::unavailable(
                            "the database did not answer within the statement timeout",
                        )));
                    }
                }
            }
        };
        finished.unwrap_or_else(|e| {
            Err(DbError::Store(StoreError::internal(format!(
                "database task did not complete: {e}"
            ))))
        })
    }

    /// Runs `work` in a read-only transaction whose statements all see one snapshot
    /// ([`read_transaction`]) with a pooled connection on the blocking pool, like
    /// [`DbPool::run`]. Readers never wait for writers' turns.
    ///
    /// # Errors
    /// As [`DbPool::run`]; the transaction's own (a write in it, on PostgreSQL).
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.run(move |conn| read_transaction(conn, work)).await
    }

    /// Runs `work` in a write transaction ([`write_transaction`]) with a pooled connection on
    /// the blocking pool, like [`DbPool::run`].
    ///
    /// Where the database has one writer at a time (SQLite), writes of this process queue
    /// and share transactions instead ([`group_commit`]): a leader runs what has queued in
    /// one transaction, each write in a savepoint of its own, and commits once, so that the
    /// writes waiting together share one sync to disk. Queueing in the process also keeps
    /// writers from asking SQLite for its write lock all at once: a writer that finds it
    /// taken sleeps in SQLite's busy handler for 1, 2, 5, 10 … 100 ms before looking again,
    /// however soon the lock came free (a p99 of 300–600 ms on `POST /tasks` under a
    /// steady stream of writes, when they did). A write waits to be taken into a batch at
    /// most until its pool timeout is over (then `Unavailable`, counted as a pool timeout,
    /// and it never runs); the busy timeout still guards against writers of other
    /// processes (the admin command, a second server on the same file).
    ///
    /// # Errors
    /// As [`DbPool::run`]; `Unavailable` when no batch took the write in time, or when the
    /// transaction holding it could not be committed; the write's own.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let Some(group) = &self.group_commit else {
            return self.run(move |conn| write_transaction(conn, work)).await;
        };
        let asked = Instant::now();
        let deadline = asked + self.connections.connection_timeout();
        let claim = Arc::new(AtomicU8::new(QUEUED));
        let (reply, answer) = oneshot::channel();
        // A database call like any other, though it may share its connection.
        self.counters.checkouts.fetch_add(1, Ordering::Relaxed);
        let joined = group.join(
            QueuedWrite::new(work, reply, Arc::clone(&claim), deadline),
            &self.counters,
        );
        if joined.lead {
            let (pool, group) = (self.clone(), Arc::clone(group));
            // Detached: it answers every write it takes through their own channels.
            drop(tokio::task::spawn_blocking(move || {
                pool.lead_writes(&group)
            }));
        }
        tokio::pin!(answer);
        let answered = match tokio::time::timeout_at(deadline.into(), &mut answer).await {
            Ok(answered) => answered,
            Err(_) if abandon(&claim) => {
                let counters = &self.counters;
                let since = joined.waiting_since.unwrap_or_else(|| {
                    // It waited for a thread to lead, from the start.
                    counters.waits.fetch_add(1, Ordering::Relaxed);
                    asked
                });
                counters.wait_ends(since, true);
                return Err(DbError::Store(StoreError::unavailable(
                    "other writes held the database for longer than the pool timeout",
                )));
            }
            Err(_) => {
                let patience = self.statement_timeout + ANSWER_GRACE;
                match tokio::time::timeout(patience, &mut answer).await {
                    Ok(answered) => answered,
                    Err(_) => {
                        self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                        return Err(DbError::Store(StoreError::unavailable(
                            "the database did not answer within the statement timeout",
                        )));
                    }
                }
            }
        };
        answered.unwrap_or_else(|_| {
            Err(DbError::Store(StoreError::internal(
                "the batch holding this write ended without answering it",
            )))
        })
    }

    /// The leader of the queued writes (see [`DbPool::write`]): runs batches on this
    /// (blocking) thread until no write is queued.
    fn lead_writes(&self, group: &GroupCommit) {
        /// Hands the lead back should the leader itself panic (each write's own panics
        /// are caught), so that the next write starts a new leader.
        struct Abdication<'a>(&'a GroupCommit);
        impl Drop for Abdication<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.abdicate();
                }
            }
        }
        let _abdication = Abdication(group);
        while let Some(deadline) = group.next_deadline() {
            let mut conn = match self.checkout_uncounted(deadline) {
                Ok(conn) => conn,
                Err(failure) => {
                    group.refuse_queued(&failure, &self.counters);
                    continue;
                }
            };
            let mut batch = group.take_batch(&self.counters);
            if batch.is_empty() {
                continue;
            }
            if let Err(e) = conn.engine().begin_write() {
                let e = DbError::from(e);
                if e.lost_connection() {
                    conn.discard();
                }
                batch.refuse(&StoreError::from(e));
                continue;
            }
            if batch.run(&mut conn) {
                conn.discard();
            }
            let committed =
                <DbConnection as Connection>::TransactionManager::commit_transaction(&mut conn)
                    .map_err(|e| StoreError::from(DbError::from(e)));
            if committed.is_err() {
                // Whether the transaction is still open is not known: the connection goes.
                conn.discard();
            }
            batch.answer(committed.as_ref().map(|_| ()));
        }
    }
}

/// A queued call that no thread has taken up yet.
const QUEUED: u8 = 0;
/// A call a thread has taken up: it runs to its end.
const STARTED: u8 = 1;
/// A call its caller gave up on before it started: it never runs.
const ABANDONED: u8 = 2;

/// Gives up on a call that has not started; `false` when it already has.
fn abandon(claim: &AtomicU8) -> bool {
    claim
        .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}
