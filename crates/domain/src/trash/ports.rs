//! The trash's port: what the domain needs from storage to list, restore and purge trashed
//! tasks. Every method documents what an adapter MUST return.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AccessRefusal, Position, StoreError, Task, TaskAccess, TaskId, TrashQuery, TrashedTask, UserId,
};

/// A live sibling that already holds the position a restored task would keep, and the
/// next greater position among its live siblings (if any): the restored task goes between
/// the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiblingClash {
    /// The position the restored task and that sibling share.
    pub holder: Position,
    /// The least live sibling position greater than it, if there is one.
    pub next: Option<Position>,
}

/// What storage read, under the list's locks, for the domain to decide where a restored
/// task goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreSite {
    /// The trashed task, as it went to the trash.
    pub task: Task,
    /// When it went to the trash.
    pub trashed_at: DateTime<Utc>,
    /// What the caller may do in its list.
    pub access: TaskAccess,
    /// Levels the task and the subtasks trashed with it take (`1`: no subtask).
    pub subtree_height: u32,
    /// Where its old parent is: `Some(0)` when it was a top-level task, `Some(depth)` when
    /// its parent is a live task of its list at that depth (`1` = top level), `None` when
    /// the parent is trashed or no longer in the list.
    pub parent_depth: Option<u32>,
    /// When its parent is where it was (`parent_depth` is `Some`): the live sibling under
    /// that parent holding exactly the task's position, if one does.
    pub clash: Option<SiblingClash>,
    /// The greatest position among the live top-level tasks of its list, if there are any.
    pub last_top_level: Option<Position>,
}

/// Where a restored task goes, decided on its [`RestoreSite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreDecision {
    /// Restore it (and the subtasks trashed with it) under `parent` (`None`: the top
    /// level) at `position`, stamping its `updated_at` with `at` and bumping its version.
    Restore {
        /// Its parent after the restore.
        parent: Option<TaskId>,
        /// Its position among its siblings after the restore.
        position: Position,
        /// Its new `updated_at`.
        at: DateTime<Utc>,
    },
    /// Refuse: its version precondition does not hold.
    Refuse,
    /// Refuse: the caller may not write the task's list.
    Deny(AccessRefusal),
    /// Refuse: no position is left where it would go (in theory only).
    NoRoom,
    /// Refuse as if it were not there: its time in the trash has run out, and the retention
    /// purge may be taking it (a restore must never race it).
    Expired,
}

/// The domain's decision function for one restore.
pub type DecideRestore = Box<dyn FnOnce(&RestoreSite) -> RestoreDecision + Send>;

/// Outcome of a restore.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per restore and matched at once: boxing the task would save nothing"
)]
pub enum RestoreOutcome {
    /// The task (with the subtasks trashed with it) is live again, as returned.
    Restored(Task),
    /// The decision was to refuse; nothing changed.
    Refused,
    /// The caller may not write the task's list; nothing changed.
    Denied(AccessRefusal),
    /// No trashed task with this id is in a list the caller is a member of.
    NotFound,
    /// The decision found no position left; nothing changed.
    NoRoom,
}

/// Whether a purge goes ahead, decided on the trashed task and the caller's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeDecision {
    /// Purge it.
    Purge,
    /// Refuse: its version precondition does not hold.
    Refuse,
    /// Refuse: the caller may not write the task's list.
    Deny(AccessRefusal),
}

/// The domain's decision function for one purge.
pub type DecidePurge = Box<dyn FnOnce(&Task, TaskAccess) -> PurgeDecision + Send>;

/// Outcome of a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeOutcome {
    /// The task and its trashed subtasks are gone for good.
    Purged,
    /// The decision was to refuse; nothing changed.
    Refused,
    /// The caller may not write the task's list; nothing changed.
    Denied(AccessRefusal),
    /// No trashed task with this id is in a list the caller is a member of.
    NotFound,
}

/// Persistence of the trash. Every method is scoped by member as
/// [`crate::TaskRepository`]'s are: an adapter MUST NOT return, restore or purge a trashed
/// task of a list the given user is not a member of, and MUST check the membership in the
/// same statement as the read, or in the same transaction as the write with the membership
/// locked.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TrashRepository: Send + Sync {
    /// Up to `limit` trashed tasks of the lists where `member` is an editor or an owner
    /// (with `query.list_id`, of that list only), newest deletion first (`trashed_at`
    /// descending, ties by id descending), starting just after `query.after` when given.
    /// Adapters MUST seek to the cursor (keyset pagination) through an index over trashed
    /// tasks, never skip rows by offset.
    async fn list_for_member(
        &self,
        member: UserId,
        query: TrashQuery,
        limit: u32,
    ) -> Result<Vec<TrashedTask>, StoreError>;

    /// Reads the trashed task, `member`'s access to its list and its [`RestoreSite`], asks
    /// `decide`, and does what it says, atomically: in one write transaction that locks the
    /// list's access first, then the list's sibling order, then the rows it reads and writes
    /// (its live parent, when it goes back under it). A restore makes the task and its
    /// trashed subtasks with the same `trashed_at` live again, moves the task where the
    /// decision says, sets its `updated_at`, bumps its `version`, and records an `upsert`
    /// change of each restored task.
    async fn restore_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecideRestore,
    ) -> Result<RestoreOutcome, StoreError>;

    /// Reads the trashed task and `member`'s access to its list, asks `decide`, and if it
    /// says so deletes the task for good with its tags and its trashed subtasks, recording a
    /// `delete` change of each, atomically as for [`TrashRepository::restore_with`].
    async fn purge_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecidePurge,
    ) -> Result<PurgeOutcome, StoreError>;
}
