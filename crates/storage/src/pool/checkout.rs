//! Taking a connection out of the pool, and giving it back with what the pool should know.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::time::Instant;

use diesel::r2d2::R2D2Connection;
use taskapi_domain::StoreError;

use super::DbPool;
use crate::backend::{DbConnection, PooledConnection};
use crate::errors::{DbError, checkout_failed, unavailable};

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

impl Checkout {
    /// Makes the pool close this connection when it comes back (its transaction state is
    /// no longer known).
    pub(crate) fn discard(&mut self) {
        self.0.lost = true;
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

impl DbPool {
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
    #[cfg(feature = "test-support")]
    pub(crate) fn checkout(&self) -> Result<Checkout, StoreError> {
        self.checkout_by(Instant::now() + self.connections.connection_timeout())
    }

    /// [`DbPool::checkout`] with a deadline of the caller's: the pool timeout counted from when the
    /// work was asked for, not from when a thread took it up.
    pub(super) fn checkout_by(&self, deadline: Instant) -> Result<Checkout, StoreError> {
        self.counters.checkouts.fetch_add(1, Ordering::Relaxed);
        self.checkout_uncounted(deadline)
    }

    /// [`DbPool::checkout_by`] without counting a database call: for a batch of writes,
    /// each of which was counted as it queued.
    pub(super) fn checkout_uncounted(&self, deadline: Instant) -> Result<Checkout, StoreError> {
        let counters = &self.counters;
        loop {
            let mut conn = match self.connections.try_get() {
                Some(conn) => conn,
                None => self.wait_for_connection(deadline)?,
            };
            let Some(idle_limit) = self.validate_after_idle else {
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
    fn wait_for_connection(&self, deadline: Instant) -> Result<PooledConnection, StoreError> {
        let began = self.counters.wait_begins();
        let outcome = self
            .connections
            .get_timeout(deadline.saturating_duration_since(began));
        self.counters.wait_ends(began, outcome.is_err());
        outcome.map_err(|e| checkout_failed(&e))
    }
}
