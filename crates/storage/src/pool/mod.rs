//! Running repository work: diesel is synchronous, so every call runs on tokio's blocking
//! pool, and waits — for a thread, a connection and, on SQLite, a writer's turn — at most
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
//! up on, or for a writer's turn), for how long in total, and how many gave up.
//! Whoever exports metrics reads them through [`crate::Database::pool_stats`]; this crate
//! knows nothing of the exporter.

mod checkout;
#[cfg(test)]
mod tests;
mod waits;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use taskapi_domain::StoreError;

#[cfg(feature = "test-support")]
pub(crate) use checkout::Checkout;
use waits::{CheckoutCounters, WriterTurn};

use crate::backend::{ConnectionPool, DbConnection, read_transaction, write_transaction};
use crate::errors::DbError;

/// The connection pool and its checkout counters. Cloning is cheap (shared handles).
#[derive(Debug, Clone)]
pub(crate) struct DbPool {
    connections: ConnectionPool,
    counters: Arc<CheckoutCounters>,
    /// Connections idle longer than this are tested before use; `None`: never.
    validate_after_idle: Option<Duration>,
    /// Taken around every write transaction when the database has one writer at a time
    /// (SQLite): see [`DbPool::write`]. `None`: writers do not queue here.
    writer_turn: Option<Arc<WriterTurn>>,
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
            writer_turn: (writers == Writers::OneAtATime).then(Arc::default),
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
    /// Where the database has one writer at a time (SQLite), writers of this process first
    /// take their turn, and only then ask the database for its write lock. Without
    /// it they would all ask the database, and a writer that finds the lock taken sleeps in
    /// SQLite's busy handler for 1, 2, 5, 10 … 100 ms before looking again, however soon the
    /// lock came free: under a steady stream of writes a few unlucky writers lost again and
    /// again, for a p99 of 300–600 ms on `POST /tasks`. The next writer is woken as the turn is
    /// given back. A writer waits for its turn at most until the call's pool timeout is over
    /// (then `Unavailable`, counted as a pool timeout), as it waited at most the busy timeout
    /// before; the busy timeout still guards against writers of other processes (the admin
    /// command, a second server on the same file).
    ///
    /// # Errors
    /// As [`DbPool::run`]; `Unavailable` when the turn did not come in time; the
    /// transaction's own.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let deadline = Instant::now() + self.connections.connection_timeout();
        let turns = self.writer_turn.clone();
        let counters = Arc::clone(&self.counters);
        self.run(move |conn| {
            let _turn = match turns
                .as_deref()
                .map(|turns| turns.take_by(deadline, &counters))
            {
                Some(None) => {
                    return Err(DbError::Store(StoreError::unavailable(
                        "other writes held the database for longer than the pool timeout",
                    )));
                }
                Some(Some(turn)) => Some(turn),
                None => None,
            };
            write_transaction(conn, work)
        })
        .await
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
