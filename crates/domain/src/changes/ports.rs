//! The change log's port. Changes are recorded by the repositories that make them, in the
//! same transaction as the change (see [`crate::TaskRepository`],
//! [`crate::ListRepository`] and [`crate::UserRepository::delete`]); this port reads them
//! back and forgets old ones.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ChangePosition, ChangeRecord, List, StoreError, Task, UserId};

/// What one read of the change log returns, all from one snapshot of the database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeBatch {
    /// The changes after the position asked for, in log order.
    pub records: Vec<ChangeRecord>,
    /// The tasks the records name that the reader can see now, as they are now; a task
    /// named but missing here is gone (for the reader).
    pub tasks: Vec<Task>,
    /// The lists the records name that the reader is a member of now, as the reader sees
    /// them now (their role, the member count); a list named but missing here is gone (for
    /// the reader).
    pub lists: Vec<List>,
    /// The present: every change that can still appear in the log will be after it; when
    /// fewer than `limit` records came back, every change the reader may see before it is
    /// among `records` or at or before the position asked for.
    pub present: ChangePosition,
}

/// Who has new changes: what the live-event hub asks the log on each wake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeReaders {
    /// Readers with at least one final change after the position asked for (each once).
    pub users: Vec<UserId>,
    /// Whether `users` is all of them (`false`: the limit was reached; there may be more).
    pub complete: bool,
    /// The present, as [`ChangeBatch::present`]: the next question starts here.
    pub present: ChangePosition,
}

/// Reading the change log.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// Up to `limit` changes that `reader` may see, after `after`, in log order, with the
    /// current state of the tasks and lists they name and the present, in one snapshot.
    ///
    /// Adapters MUST return only changes that are final: no change may ever be recorded,
    /// by any transaction on any instance, at or before a position returned (so a reader
    /// that goes on from the last one neither skips nor repeats a change). The read MUST be
    /// one range scan of an index, whatever the log's size.
    ///
    /// # Errors
    /// `StoreError` when storage fails.
    async fn read(
        &self,
        reader: UserId,
        after: ChangePosition,
        limit: u32,
    ) -> Result<ChangeBatch, StoreError>;

    /// The readers who have changes after `after` up to the present (at most `limit` of
    /// them), and the present, in one snapshot: the final changes only, as for
    /// [`ChangeLog::read`]. One range scan of an index over the log's positions, whatever
    /// the number of readers.
    ///
    /// # Errors
    /// `StoreError` when storage fails.
    async fn readers_after(
        &self,
        after: ChangePosition,
        limit: u32,
    ) -> Result<ChangeReaders, StoreError>;

    /// The present: a position such that every change not yet committed now will be
    /// recorded after it.
    ///
    /// # Errors
    /// `StoreError` when storage fails.
    async fn present(&self) -> Result<ChangePosition, StoreError>;

    /// Forgets every change made before `before`; returns how many went. Adapters MUST
    /// delete in bounded batches, each in a short transaction of its own, found through an
    /// index.
    ///
    /// # Errors
    /// `StoreError` when storage fails (the batches before stay deleted).
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
