//! What a database call can wait for besides a connection — on SQLite, a writer's turn —
//! and the counters of every wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// One writer of this process at a time, each waiting for its turn at most until a deadline.
#[derive(Debug, Default)]
pub(super) struct WriterTurn {
    /// Whether a writer has the turn.
    taken: Mutex<bool>,
    /// Signalled when the turn is given back.
    given_back: Condvar,
}

impl WriterTurn {
    /// Waits for the turn until `deadline`, counting the wait if there is one; `None` if
    /// the turn did not come by then.
    pub(super) fn take_by(
        &self,
        deadline: Instant,
        counters: &CheckoutCounters,
    ) -> Option<Turn<'_>> {
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
pub(super) struct Turn<'a>(&'a WriterTurn);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.lock() = false;
        self.0.given_back.notify_one();
    }
}

/// Counters of checkouts since the pool opened. Relaxed ordering: each counter is read on
/// its own, and a scrape that sees one a moment ahead of another is harmless.
#[derive(Debug, Default)]
pub(super) struct CheckoutCounters {
    pub(super) checkouts: AtomicU64,
    pub(super) waits: AtomicU64,
    pub(super) wait_nanos: AtomicU64,
    pub(super) timeouts: AtomicU64,
}

impl CheckoutCounters {
    /// Counts a call that has to wait — for a connection, or on SQLite for a writer's turn —
    /// as the wait begins, so that a scrape during an outage already shows it. Returns when.
    pub(super) fn wait_begins(&self) -> Instant {
        self.waits.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    /// Adds a finished wait's time, and counts it as a timeout (a `503`) if it gave up.
    pub(super) fn wait_ends(&self, began: Instant, gave_up: bool) {
        let waited = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(waited, Ordering::Relaxed);
        if gave_up {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
}
