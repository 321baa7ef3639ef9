//! Running repository work: diesel is synchronous, so every call runs on tokio's blocking
//! pool, and waits — for a thread, a connection and, on SQLite, a writer's turn — at most
//! the pool timeout from when the call was made.
//!
//! Connections are given out as [`Checkout`]s, which tell the pool on their return when
//! they were last used and whether a call found the server gone: a lost connection is
//! closed rather than reused, and a PostgreSQL connection idle for a while is tested
//! before it is handed out (see [`checkout`]).
//!
//! Calls are counted here, where the waiting happens, as plain atomic counters: how many
//! there were, how many had to wait (for a connection, for a thread until they were given
//! up on, or for a writer's turn), for how long in total, and how many gave up.
//! Whoever exports metrics reads them through [`crate::Database::pool_stats`]; this crate
//! knows nothing of the exporter.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use diesel::r2d2::R2D2Connection;
use taskapi_domain::StoreError;

use crate::backend::{ConnectionPool, DbConnection, PooledConnection, write_transaction};
use crate::errors::{DbError, checkout_failed, unavailable};

/// The connection pool and its checkout counters. Cloning is cheap (shared handles).
#[derive(Debug, Clone)]
pub(crate) struct DbPool {
    connections: ConnectionPool,
    counters: Arc<CheckoutCounters>,
    /// Connections idle longer than this are tested before use; `None`: never.
    validate_after_idle: Option<Duration>,
    /// Taken around every write transaction when the database has one writer at a time
    /// (SQLite): see [`in_write_transaction`]. `None`: writers do not queue here.
    writer_turn: Option<Arc<WriterTurn>>,
}

/// One writer of this process at a time, each waiting for its turn at most until a deadline.
#[derive(Debug, Default)]
struct WriterTurn {
    /// Whether a writer has the turn.
    taken: Mutex<bool>,
    /// Signalled when the turn is given back.
    given_back: Condvar,
}

impl WriterTurn {
    /// Waits for the turn until `deadline`, counting the wait if there is one; `None` if
    /// the turn did not come by then.
    fn take_by(&self, deadline: Instant, counters: &CheckoutCounters) -> Option<Turn<'_>> {
        let mut taken = self.lock();
        if *taken {
            let began = counters.wait_begins();
            taken = self
                .given_back
                .wait_timeout_while(taken, deadline.saturating_duration_since(began), |taken| {
                    *taken
                })
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            counters.wait_ends(began, *taken);
            if *taken {
                return None;
            }
        }
        *taken = true;
        Some(Turn(self))
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // The flag is all the mutex guards, and a panic cannot leave it half-written.
        self.taken.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A writer's turn, given back (and the next writer woken) when dropped.
struct Turn<'a>(&'a WriterTurn);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.lock() = false;
        self.0.given_back.notify_one();
    }
}

/// Whether the database lets one writer in at a time, so that writers should queue in the
/// process rather than in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writers {
    /// One at a time (SQLite's database-wide write lock).
    OneAtATime,
    /// Concurrent (PostgreSQL's row locks).
    Concurrent,
}

/// Counters of checkouts since the pool opened. Relaxed ordering: each counter is read on
/// its own, and a scrape that sees one a moment ahead of another is harmless.
#[derive(Debug, Default)]
struct CheckoutCounters {
    checkouts: AtomicU64,
    waits: AtomicU64,
    wait_nanos: AtomicU64,
    timeouts: AtomicU64,
}

impl CheckoutCounters {
    /// Counts a call that has to wait — for a connection, or on SQLite for a writer's turn —
    /// as the wait begins, so that a scrape during an outage already shows it. Returns when.
    fn wait_begins(&self) -> Instant {
        self.waits.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    /// Adds a finished wait's time, and counts it as a timeout (a `503`) if it gave up.
    fn wait_ends(&self, began: Instant, gave_up: bool) {
        let waited = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(waited, Ordering::Relaxed);
        if gave_up {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
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
    ) -> Self {
        Self {
            connections,
            counters: Arc::default(),
            validate_after_idle,
            writer_turn: (writers == Writers::OneAtATime).then(Arc::default),
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

/// A connection checked out of the pool, until it is dropped.
pub(crate) struct Checkout(PooledConnection);

impl Checkout {
    /// Notes how a call on this connection went: one that found the server gone makes the
    /// pool close the connection when it comes back, instead of handing it out again.
    pub(crate) fn note<T>(&mut self, outcome: &Result<T, DbError>) {
        if outcome.as_ref().is_err_and(DbError::lost_connection) {
            self.0.lost = true;
        }
    }
}

impl Deref for Checkout {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl DerefMut for Checkout {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        self.0.returned_at = Instant::now();
    }
}

impl fmt::Debug for Checkout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkout")
            .field("lost", &self.0.lost)
            .finish_non_exhaustive()
    }
}

/// Checks a connection out of the pool, waiting at most the pool timeout. Blocking.
///
/// An idle connection is taken without waiting (`try_get`); only when there is none does the
/// checkout wait (`get`, which also opens a new connection while the pool is below its
/// size), and that wait is what the counters measure.
///
/// A connection that sat idle for longer than the pool's `validate_after_idle` is tested
/// first; a dead one is closed and the checkout takes another, within the same deadline.
/// Connections in steady use are not tested: a request that finds one dead fails (as it
/// would have a moment later anyway) and the connection is closed.
///
/// # Errors
/// `Unavailable` when no live connection became free (or could be opened) in time.
pub(crate) fn checkout(pool: &DbPool) -> Result<Checkout, StoreError> {
    checkout_by(pool, Instant::now() + pool.connections.connection_timeout())
}

/// [`checkout`] with a deadline of the caller's: the pool timeout counted from when the
/// work was asked for, not from when a thread took it up.
fn checkout_by(pool: &DbPool, deadline: Instant) -> Result<Checkout, StoreError> {
    let counters = &pool.counters;
    counters.checkouts.fetch_add(1, Ordering::Relaxed);
    loop {
        let mut conn = match pool.connections.try_get() {
            Some(conn) => conn,
            None => wait_for_connection(pool, deadline)?,
        };
        let Some(idle_limit) = pool.validate_after_idle else {
            return Ok(Checkout(conn));
        };
        if conn.returned_at.elapsed() <= idle_limit {
            return Ok(Checkout(conn));
        }
        match conn.conn.ping() {
            Ok(_) => return Ok(Checkout(conn)),
            Err(e) => {
                log::debug!("closing a pooled connection that went dead while idle: {e}");
                conn.lost = true;
                drop(conn);
                if Instant::now() >= deadline {
                    counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(unavailable(&e));
                }
            }
        }
    }
}

/// Waits for a connection until `deadline`, counting the wait.
fn wait_for_connection(pool: &DbPool, deadline: Instant) -> Result<PooledConnection, StoreError> {
    let began = pool.counters.wait_begins();
    let outcome = pool
        .connections
        .get_timeout(deadline.saturating_duration_since(began));
    pool.counters.wait_ends(began, outcome.is_err());
    outcome.map_err(|e| checkout_failed(&e))
}

/// Runs `work` with a pooled connection on the blocking pool.
///
/// The server gives tokio's blocking pool about one thread per pooled connection (see
/// `taskapi serve`), so that database work queues for a thread instead of piling up threads
/// that wait on the pool; each thread then takes queued calls one after another without
/// going to sleep between them, which is most of what a call costs on a busy machine. With
/// few threads, though, a queued call could wait behind slow ones far longer than the pool
/// timeout, so the timeout counts from when the call is made: a call that has not started by
/// then answers `Unavailable` at once and never runs, and one that starts checks a
/// connection out by the same deadline. A call that started is always awaited to its end
/// (its writes may have happened).
///
/// # Errors
/// What `work` returns; `Unavailable` when no thread and connection could be had in time;
/// `Internal` when the blocking task died (a panic in `work`).
pub(crate) async fn with_connection<T, F>(pool: &DbPool, work: F) -> Result<T, DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
{
    let asked = Instant::now();
    let deadline = asked + pool.connections.connection_timeout();
    let claim = Arc::new(AtomicU8::new(QUEUED));
    let task = {
        let (pool, claim) = (pool.clone(), Arc::clone(&claim));
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
            let mut conn = checkout_by(&pool, deadline)?;
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
            let counters = &pool.counters;
            counters.checkouts.fetch_add(1, Ordering::Relaxed);
            counters.waits.fetch_add(1, Ordering::Relaxed);
            counters.wait_ends(asked, true);
            return Err(DbError::Store(StoreError::unavailable(
                "no database thread became free within the pool timeout",
            )));
        }
        Err(_) => task.await,
    };
    finished.unwrap_or_else(|e| {
        Err(DbError::Store(StoreError::internal(format!(
            "database task did not complete: {e}"
        ))))
    })
}

/// Runs `work` in a write transaction ([`write_transaction`]) with a pooled connection on
/// the blocking pool, like [`with_connection`].
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
/// As [`with_connection`]; `Unavailable` when the turn did not come in time; the
/// transaction's own.
pub(crate) async fn in_write_transaction<T, F>(pool: &DbPool, work: F) -> Result<T, DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
{
    let deadline = Instant::now() + pool.connections.connection_timeout();
    let turns = pool.writer_turn.clone();
    let counters = Arc::clone(&pool.counters);
    with_connection(pool, move |conn| {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;

    use tokio::sync::oneshot;

    use super::*;
    use crate::{Database, PoolSettings};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A pool of two connections to a new SQLite file, with a pool timeout of 200 ms (the
    /// folder must outlive it).
    fn short_timeout_pool(dir: &tempfile::TempDir) -> Result<DbPool, Box<dyn std::error::Error>> {
        let db = Database::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            PoolSettings {
                size: 2,
                timeout: Duration::from_millis(200),
            },
        )?;
        Ok(db.inner.pool.clone())
    }

    /// Work that says when it has started, then holds its thread (and connection, and
    /// writer's turn) until released — or for 10 s, should a test wrongly wait for it.
    /// Its result says whether it was released.
    fn holding() -> (
        impl FnOnce(&mut DbConnection) -> Result<bool, DbError> + Send + 'static,
        oneshot::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let (started_tx, started_rx) = oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let work = move |_: &mut DbConnection| {
            let _ = started_tx.send(());
            Ok(release_rx.recv_timeout(Duration::from_secs(10)).is_ok())
        };
        (work, started_rx, release_tx)
    }

    /// Work that only records that it ran.
    fn recording(
        ran: Arc<AtomicBool>,
    ) -> impl FnOnce(&mut DbConnection) -> Result<(), DbError> + Send + 'static {
        move |_: &mut DbConnection| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        }
    }

    /// With one blocking thread, held by a call that outlasts the pool timeout: a call queued
    /// behind it answers `Unavailable` without waiting for it and never runs, while the
    /// holder's own call, already started, is awaited to its result.
    #[test]
    fn a_call_that_cannot_start_in_time_is_unavailable_and_never_runs() -> TestResult {
        let dir = tempfile::tempdir()?;
        let pool = short_timeout_pool(&dir)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .max_blocking_threads(1)
            .build()?;
        let (hold, started, release) = holding();
        let queued_ran = Arc::new(AtomicBool::new(false));
        let (holder, queued) = runtime.block_on(async {
            let holder = tokio::spawn({
                let pool = pool.clone();
                async move { with_connection(&pool, hold).await }
            });
            let _ = started.await;
            let queued = with_connection(&pool, recording(Arc::clone(&queued_ran))).await;
            let _ = release.send(());
            (holder.await, queued)
        });
        assert!(
            matches!(queued, Err(DbError::Store(StoreError::Unavailable(_)))),
            "{queued:?}"
        );
        assert!(matches!(holder, Ok(Ok(true))), "{holder:?}");
        // The thread is free again: had the queued call not been abandoned, it would run now.
        let after = runtime.block_on(with_connection(&pool, |_| Ok(())));
        assert!(after.is_ok(), "{after:?}");
        assert!(!queued_ran.load(Ordering::SeqCst), "the abandoned call ran");
        // Three calls; the abandoned one waited and timed out.
        let totals = pool.checkout_totals();
        assert_eq!((totals.checkouts, totals.waits, totals.timeouts), (3, 1, 1));
        Ok(())
    }

    /// A writer that does not get its turn within the pool timeout answers `Unavailable` and
    /// writes nothing, while the writer that has the turn finishes.
    #[test]
    fn a_writer_whose_turn_does_not_come_in_time_is_unavailable_and_never_runs() -> TestResult {
        let dir = tempfile::tempdir()?;
        let pool = short_timeout_pool(&dir)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let (hold, started, release) = holding();
        let second_ran = Arc::new(AtomicBool::new(false));
        let (holder, second) = runtime.block_on(async {
            let holder = tokio::spawn({
                let pool = pool.clone();
                async move { in_write_transaction(&pool, hold).await }
            });
            let _ = started.await;
            let second = in_write_transaction(&pool, recording(Arc::clone(&second_ran))).await;
            let _ = release.send(());
            (holder.await, second)
        });
        assert!(
            matches!(second, Err(DbError::Store(StoreError::Unavailable(_)))),
            "{second:?}"
        );
        assert!(matches!(holder, Ok(Ok(true))), "{holder:?}");
        assert!(!second_ran.load(Ordering::SeqCst), "the second writer ran");
        // The turn was given back: the next writer gets it.
        let next = runtime.block_on(in_write_transaction(&pool, |_| Ok(())));
        assert!(next.is_ok(), "{next:?}");
        // Three calls; the second waited for its turn and timed out.
        let totals = pool.checkout_totals();
        assert_eq!((totals.checkouts, totals.waits, totals.timeouts), (3, 1, 1));
        Ok(())
    }
}
