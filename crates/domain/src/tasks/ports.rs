//! Ports: what the domain needs from the outside world. Adapters implement these traits;
//! services hold them as `Arc<dyn Port>` because the backend is chosen at run time.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AccessRefusal, HeldKey, IdempotencyKey, MoveDecision, MoveFacts, PlacementError, Reservation,
    StoreError, Task, TaskAccess, TaskChanges, TaskId, TaskListQuery, TaskMove, UserId,
};

/// What an update does to a task, decided by the domain on its current state while storage
/// holds the task locked.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateDecision {
    /// Write these changes, stamping `updated_at` with the instant given; storage bumps
    /// `version` in the same statement.
    Write(TaskChanges, DateTime<Utc>),
    /// Leave the task as it is (the update changes nothing).
    Keep,
    /// Refuse the update (its precondition does not hold).
    Refuse,
    /// Refuse the update: the caller may not write the task's list.
    Deny(AccessRefusal),
}

/// The domain's decision function for one update, given the task and what the caller may
/// do in its list.
pub type DecideUpdate = Box<dyn FnOnce(&Task, TaskAccess) -> UpdateDecision + Send>;

/// Whether a deletion goes ahead, decided on the task's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteDecision {
    /// Delete it.
    Delete,
    /// Refuse (its version precondition does not hold).
    Refuse,
    /// Refuse: the caller may not write the task's list.
    Deny(AccessRefusal),
}

/// The domain's decision function for one deletion.
pub type DecideDelete = Box<dyn FnOnce(&Task, TaskAccess) -> DeleteDecision + Send>;

/// Outcome of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// The task was changed and now holds the returned state.
    Updated(Task),
    /// The decision was to keep the task; it is returned as it is.
    Unchanged(Task),
    /// The decision was to refuse; nothing changed.
    Refused,
    /// The caller may not write the task's list; nothing changed.
    Denied(AccessRefusal),
    /// The new assignee is not a member of the task's list; nothing changed.
    UnknownAssignee,
    /// The caller is not a member of the list of a task with this id (or there is none).
    NotFound,
}

/// The domain's decision function for one move, given what storage found under its locks.
pub type DecideMove = Box<dyn FnOnce(&MoveFacts<'_>) -> MoveDecision + Send>;

/// Outcome of a move.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveOutcome {
    /// The task was moved and now holds the returned state.
    Moved(Task),
    /// The task already was where the move asks; it is returned as it is.
    Unchanged(Task),
    /// The version condition did not hold; nothing changed.
    Refused,
    /// The caller may not write the task's list or the target list; nothing changed.
    Denied(AccessRefusal),
    /// The target is not a place the task can go; nothing changed.
    Invalid(PlacementError),
    /// The caller is not a member of the target list (or there is no such list); nothing
    /// changed.
    UnknownList,
    /// The caller is not a member of the list of a task with this id (or there is none).
    NotFound,
}

/// Outcome of storing a new task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskInsert {
    /// Stored, at this position (last among its siblings when it was stored).
    Inserted {
        /// The task's position, decided in the transaction that stored it.
        position: String,
    },
    /// The parent named is not a live task of the list, or is at the deepest level; nothing
    /// was written.
    Misplaced(PlacementError),
    /// The creator already has the most tasks allowed; nothing was written.
    QuotaExceeded,
    /// The creator is not a member of the task's list (or there is no such list); nothing
    /// was written.
    NoSuchList,
    /// The creator may not write the task's list; nothing was written.
    Denied(AccessRefusal),
    /// The assignee is not a member of the task's list; nothing was written.
    UnknownAssignee,
    /// (Under an idempotency key only.) The reservation is no longer the caller's; nothing
    /// was written.
    ReservationLost,
}

/// Persistence of tasks. Every method is scoped by member: an adapter MUST NOT return, change
/// or delete a task of a list the given user is not a member of, and MUST check the
/// membership in the same statement as the read, or in the same transaction as the write
/// with the membership locked (so that a member removed meanwhile can no longer write once
/// the removal has answered), applying [`TaskAccess::check_write`] or the domain's
/// decision to what it read there.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// Stores a new task with its tags, atomically, provided its creator is a member of its
    /// list (else [`TaskInsert::NoSuchList`]) allowed to write there
    /// ([`TaskAccess::check_write`], else [`TaskInsert::Denied`]), its assignee, if any, is
    /// a member there too (else [`TaskInsert::UnknownAssignee`]), its parent, if any, is a
    /// live task of the list with room below it ([`crate::place_new_task`] on the parent's
    /// depth, else [`TaskInsert::Misplaced`]), and it has created fewer than
    /// `max_tasks` tasks (`None`: no limit). The task's `position` is ignored: adapters
    /// place it last among its live siblings with [`crate::place_new_task`], reading the
    /// greatest sibling position; a subtask while holding the list's sibling order (so that
    /// its parent stays where it was read), a top-level task without it (its position is
    /// its own, so concurrent creations never share one); the position stored is returned. Adapters MUST count the creator's tasks in the
    /// same transaction as the insert, serialised with the creator's other inserts (a lock
    /// on the account, or the database's single writer), so that concurrent inserts cannot
    /// pass the limit together; past it [`TaskInsert::QuotaExceeded`], nothing written.
    async fn insert(&self, task: Task, max_tasks: Option<u64>) -> Result<TaskInsert, StoreError>;

    /// Inserts a new task created under an idempotency key and, in the same transaction,
    /// records it, as it is now, as what the key yields (later reservations of the key MUST
    /// get this very task back, unchanged by what happens to the task since), provided the
    /// reservation is still `held` (uncompleted, and not taken over since; else
    /// [`TaskInsert::ReservationLost`]) and the list and quota allow it as for
    /// [`TaskRepository::insert`]. Nothing is written
    /// unless it returns [`TaskInsert::Inserted`].
    async fn insert_for_key(
        &self,
        task: Task,
        held: HeldKey,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError>;

    /// The task with this id, if `member` is a member of its list.
    async fn find_for_member(&self, member: UserId, id: TaskId)
    -> Result<Option<Task>, StoreError>;

    /// Up to `limit` of the tasks of `member`'s lists that match `query.filter` (with
    /// `filter.list_id`, of that list only, archived or not; without, of every list they
    /// belong to that is not archived), in `query.sort` order
    /// (ties broken by id in the same direction; tasks without `due_at` last when sorting by
    /// it, in either direction), starting just after `query.after` when given. Adapters
    /// MUST seek to the cursor (keyset pagination), never skip rows by offset.
    async fn list_for_member(
        &self,
        member: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError>;

    /// Reads the task and `member`'s access to its list, asks `decide` what to do with it,
    /// and does it, atomically: no other write to the task, its list or the membership can
    /// come between the read and the write (adapters lock the rows, or the database). A new
    /// assignee MUST be a member of the task's list, checked (and locked) in the same
    /// transaction, else [`UpdateOutcome::UnknownAssignee`] and nothing changes. A write replaces the writable fields and tags, sets
    /// `updated_at`, and bumps `version` in the UPDATE statement itself.
    async fn update_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecideUpdate,
    ) -> Result<UpdateOutcome, StoreError>;

    /// Reads the task and `member`'s access to its list, asks `decide`, and deletes the task
    /// if it says so, atomically, as for [`TaskRepository::update_with`]. A delete moves the
    /// task and its live subtasks at every depth to the trash (stamped with the instant and
    /// `member`), recording a `delete` change of each: from then on every other method
    /// MUST treat them as missing, until [`TaskRepository::purge_trashed`] removes them.
    async fn delete_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecideDelete,
    ) -> Result<DeleteOutcome, StoreError>;

    /// Moves the task (with its subtasks, when it changes list) as `request` asks, if
    /// `member` is a member of its list, atomically: adapters lock the caller's access to
    /// the task's list and to the target list (in a fixed order), the sibling order of both
    /// lists, then the task; gather [`MoveFacts`] for [`TaskMove::target`] under those
    /// locks; and do what `decide` says. A write sets the task's list, parent, position and
    /// `updated_at`, bumps its `version` in the UPDATE statement, and clears its assignee if
    /// told to; moving to another list takes every subtask along (its `list_id`, its
    /// `version` bumped, its assignee cleared unless a member of the target list). Only the
    /// moved rows are written: siblings keep their positions. The change is recorded as an
    /// `upsert` of each moved task for the target list's members and, when the list
    /// changes, a `delete` of each for the source list's members first.
    async fn move_with(
        &self,
        member: UserId,
        id: TaskId,
        request: TaskMove,
        decide: DecideMove,
    ) -> Result<MoveOutcome, StoreError>;

    /// Purges for good every task trashed before `before` (with its tags, and its subtasks
    /// trashed with it). Returns how many rows went. Adapters MUST delete in bounded
    /// batches, each in a short transaction of its own, found through an index over trashed
    /// tasks only, so that a backlog never holds the database's writers up for long.
    async fn purge_trashed(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Outcome of a (conditional) delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The task (with its subtasks) is in the trash.
    Deleted,
    /// The task exists but not at the expected version; nothing was deleted.
    VersionMismatch,
    /// The caller may not write the task's list; nothing was deleted.
    Denied(AccessRefusal),
    /// The caller is not a member of the list of a task with this id (or there is none).
    NotFound,
}

/// Idempotency keys of task creation, per owner.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for a request with `fingerprint` at `now`. A key last used before
    /// `expired_before` counts as unused; a reservation made before `abandoned_before` that
    /// never completed may be taken over. Adapters MUST arbitrate concurrent reservations of
    /// one key with a unique constraint, so that exactly one gets `Reserved`.
    #[allow(clippy::too_many_arguments)]
    async fn reserve(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Reservation, StoreError>;

    /// Gives up a reservation whose request failed, so that a retry may proceed. Does
    /// nothing if the reservation is no longer `held` (taken over, or completed).
    async fn release(&self, held: HeldKey) -> Result<(), StoreError>;

    /// Forgets every key used before `before`. Returns how many were removed. Adapters MUST
    /// delete in bounded batches, each in a short transaction of its own, found through an
    /// index, so that a backlog never holds the database's writers up for long.
    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
