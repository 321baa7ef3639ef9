//! The counters of every wait of a database call: for a connection, a thread, or on SQLite
//! a batch of writes to join.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
    /// Counts a call that has to wait — for a connection, or on SQLite for a batch of writes to take it —
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
