//! Running repository work: diesel is synchronous, so every call runs on tokio's blocking
//! pool with a connection whose checkout waits at most the pool timeout.
//!
//! Checkouts are counted here, where the waiting happens, as plain atomic counters: how many
//! found no idle connection and had to wait, for how long in total, and how many gave up.
//! Whoever exports metrics reads them through [`crate::Database::pool_stats`]; this crate
//! knows nothing of the exporter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use taskapi_domain::StoreError;

use crate::backend::{ConnectionPool, DbConnection, PooledDbConnection};
use crate::errors::{DbError, checkout_failed};

/// The connection pool and its checkout counters. Cloning is cheap (shared handles).
#[derive(Debug, Clone)]
pub(crate) struct DbPool {
    connections: ConnectionPool,
    counters: Arc<CheckoutCounters>,
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

/// What the counters say, read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckoutTotals {
    pub(crate) checkouts: u64,
    pub(crate) waits: u64,
    pub(crate) wait_time: Duration,
    pub(crate) timeouts: u64,
}

impl DbPool {
    /// Wraps an r2d2 pool, with every counter at zero.
    pub(crate) fn new(connections: ConnectionPool) -> Self {
        Self {
            connections,
            counters: Arc::default(),
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

/// Checks a connection out of the pool, waiting at most the pool timeout. Blocking.
///
/// An idle connection is taken without waiting (`try_get`); only when there is none does the
/// checkout wait (`get`, which also opens a new connection while the pool is below its
/// size), and that wait is what the counters measure.
///
/// # Errors
/// `Unavailable` when no connection became free (or could be opened) in time.
pub(crate) fn checkout(pool: &DbPool) -> Result<PooledDbConnection, StoreError> {
    let counters = &pool.counters;
    counters.checkouts.fetch_add(1, Ordering::Relaxed);
    if let Some(conn) = pool.connections.try_get() {
        return Ok(conn);
    }
    // Counted as the wait begins, so that a scrape during an outage already shows it.
    counters.waits.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let outcome = pool.connections.get();
    let waited = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    counters.wait_nanos.fetch_add(waited, Ordering::Relaxed);
    outcome.map_err(|e| {
        counters.timeouts.fetch_add(1, Ordering::Relaxed);
        checkout_failed(&e)
    })
}

/// Runs `work` with a pooled connection on the blocking pool.
///
/// # Errors
/// What `work` returns; `Unavailable` when no connection could be had in time; `Internal`
/// when the blocking task died (a panic in `work`).
pub(crate) async fn with_connection<T, F>(pool: &DbPool, work: F) -> Result<T, DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = checkout(&pool)?;
        work(&mut conn)
    })
    .await
    .unwrap_or_else(|e| {
        Err(DbError::Store(StoreError::Internal(format!(
            "database task did not complete: {e}"
        ))))
    })
}
