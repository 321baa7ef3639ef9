//! Tasks: the task model, its value objects, and the `TaskService` use cases.

use std::fmt;
use std::sync::Arc;

use crate::{
    Clock, Created, DecideDelete, DecideMove, DecideUpdate, DeleteDecision, DeleteOutcome, HeldKey,
    IdGenerator, IdempotencyKey, IdempotencyStore, IdempotentRequest, ListId, MoveOutcome, Page,
    Principal, Reservation, Scope, StoreError, Task, TaskCursor, TaskDraft, TaskError, TaskId,
    TaskInsert, TaskListQuery, TaskMove, TaskPage, TaskPatch, TaskRepository, UpdateDecision,
    UpdateOutcome, UserId, VersionCondition, decide_move,
};

/// What `trash.retention` defaults to: 30 days.
const DEFAULT_TRASH_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// The task use cases. Every method is scoped to the caller: a task of a list they are not a
/// member of behaves exactly like a missing one. Every method first checks the caller's
/// credential: reads need `tasks:read`, writes `tasks:write` (a session has both).
#[derive(Clone)]
pub struct TaskService {
    tasks: Arc<dyn TaskRepository>,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    max_tasks: Option<u64>,
    /// How long a trashed task is kept before it is purged.
    trash_retention: chrono::TimeDelta,
}

impl fmt::Debug for TaskService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskService").finish_non_exhaustive()
    }
}

/// One page of the tasks of `member`'s lists, pointing the next cursor after the last item
/// shown. The one implementation behind every task listing (the member's and the
/// administrators').
///
/// # Errors
/// What storage reports.
pub(crate) async fn page_of(
    tasks: &dyn TaskRepository,
    member: UserId,
    query: TaskListQuery,
) -> Result<TaskPage, StoreError> {
    let (size, sort) = (query.size, query.sort);
    let fetched = tasks
        .list_for_member(member, query, size.fetch_limit())
        .await?;
    Ok(Page::from_fetched(fetched, size, |last| {
        TaskCursor::after(last, sort)
    }))
}

impl TaskService {
    /// Builds the service from its ports.
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        idempotency: Arc<dyn IdempotencyStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            tasks,
            idempotency,
            clock,
            ids,
            max_tasks: None,
            trash_retention: DEFAULT_TRASH_RETENTION,
        }
    }

    /// The same service, purging trashed tasks once they have been in the trash for
    /// `retention` (zero: at the next purge).
    #[must_use]
    pub fn with_trash_retention(mut self, retention: std::time::Duration) -> Self {
        self.trash_retention =
            chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        self
    }

    /// Purges for good the tasks trashed longer than the trash retention ago, returning how
    /// many rows went. Nothing is recorded in the change log: every member was told of the
    /// task's `delete` when it went to the trash.
    ///
    /// # Errors
    /// What storage reports.
    pub async fn purge_expired_trash(&self) -> Result<u64, TaskError> {
        let before = self
            .clock
            .now()
            .checked_sub_signed(self.trash_retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        Ok(self.tasks.purge_trashed(before).await?)
    }

    /// The same service, allowing each account at most `max_tasks` tasks (`0`: no limit).
    #[must_use]
    pub fn with_task_quota(mut self, max_tasks: u64) -> Self {
        self.max_tasks = (max_tasks > 0).then_some(max_tasks);
        self
    }

    fn quota_exceeded(&self) -> TaskError {
        TaskError::QuotaExceeded {
            limit: self.max_tasks.unwrap_or(u64::MAX),
        }
    }

    /// Creates a task in the list the draft names (the caller's inbox by default), at
    /// version 1, created by the caller, last among its siblings. With a `repeatable`
    /// request, at most once per key: see [`TaskService::create_once`].
    ///
    /// # Errors
    /// `UnknownList` when the caller is not a member of that list; `Forbidden` for a viewer;
    /// `ListArchived`; `Placement` for a parent that is not a task of the list, or one at
    /// the deepest level; `QuotaExceeded`; `Store` when storage fails; those of
    /// [`TaskService::create_once`].
    pub async fn create(
        &self,
        caller: &Principal,
        draft: TaskDraft,
        repeatable: Option<IdempotentRequest>,
    ) -> Result<Created, TaskError> {
        caller.require(Scope::TasksWrite)?;
        if let Some(request) = repeatable {
            return self.create_once(caller, draft, request).await;
        }
        let mut task = self.new_task(caller, draft);
        match self.tasks.insert(task.clone(), self.max_tasks).await? {
            TaskInsert::Inserted { position } => {
                task.position = position;
                Ok(Created {
                    task,
                    replayed: false,
                })
            }
            TaskInsert::Misplaced(placement) => Err(placement.into()),
            TaskInsert::QuotaExceeded => Err(self.quota_exceeded()),
            TaskInsert::NoSuchList => Err(TaskError::UnknownList),
            TaskInsert::UnknownAssignee => Err(TaskError::UnknownAssignee),
            TaskInsert::Denied(refusal) => Err(refusal.into()),
            TaskInsert::ReservationLost => Err(StoreError::internal(
                "a task without an idempotency key lost a reservation",
            )
            .into()),
        }
    }

    /// The task a draft makes for the caller, now, at version 1 (not stored yet; storage
    /// gives it its position, last among its siblings).
    fn new_task(&self, caller: &Principal, draft: TaskDraft) -> Task {
        let now = self.clock.now();
        let id = self.ids.new_id();
        Task {
            id: TaskId::from_uuid(id),
            list_id: draft
                .list_id
                .unwrap_or_else(|| ListId::inbox_of(caller.user_id)),
            parent_id: draft.parent_id,
            position: String::new(),
            created_by: caller.user_id,
            assignee_id: draft.assignee_id,
            title: draft.title,
            description: draft.description,
            is_done: draft.is_done,
            completed_at: draft.is_done.then_some(now),
            priority: draft.priority,
            due_at: draft.due_at,
            tags: draft.tags,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Creates a task at most once per idempotency key: the first request with the key
    /// creates it, and the key keeps that task, as created, for 24 hours; a later request
    /// with the same key and the same fingerprint gets that task again (whatever became of
    /// it since) and creates nothing. Concurrent duplicates are arbitrated by the store's
    /// unique constraint.
    ///
    /// The task is stored, and recorded as what the key yields, in one transaction, and only
    /// while the reservation is still this request's: a request so slow that a retry took
    /// its reservation over as abandoned stores nothing, so a key never yields two tasks.
    ///
    /// # Errors
    /// `IdempotencyKeyReused` for the same key with another fingerprint;
    /// `IdempotencyKeyInProgress` while the first request is still running (or when this
    /// request's reservation was taken over); `Store`.
    async fn create_once(
        &self,
        caller: &Principal,
        draft: TaskDraft,
        request: IdempotentRequest,
    ) -> Result<Created, TaskError> {
        let IdempotentRequest { key, fingerprint } = request;
        let now = self.clock.now();
        let (expired_before, abandoned_before) = IdempotencyKey::cutoffs(now);
        let owner = caller.user_id;
        let reservation = self
            .idempotency
            .reserve(
                owner,
                key.clone(),
                fingerprint.clone(),
                now,
                expired_before,
                abandoned_before,
            )
            .await?;
        match reservation {
            Reservation::Taken {
                fingerprint: first, ..
            } if first != fingerprint => Err(TaskError::IdempotencyKeyReused),
            Reservation::Taken {
                created: Some(task),
                ..
            } => Ok(Created {
                task,
                replayed: true,
            }),
            Reservation::Taken { created: None, .. } => Err(TaskError::IdempotencyKeyInProgress),
            Reservation::Reserved => {
                let held = HeldKey {
                    owner,
                    key,
                    reserved_at: now,
                };
                let mut task = self.new_task(caller, draft);
                let stored = self
                    .tasks
                    .insert_for_key(task.clone(), held.clone(), self.max_tasks)
                    .await;
                match stored {
                    Ok(TaskInsert::Inserted { position }) => {
                        task.position = position;
                        Ok(Created {
                            task,
                            replayed: false,
                        })
                    }
                    // A retry took the reservation over: it decides what the key yields.
                    Ok(TaskInsert::ReservationLost) => Err(TaskError::IdempotencyKeyInProgress),
                    // Nothing was stored: the key is free again for a retry once there is
                    // room, or access.
                    Ok(TaskInsert::QuotaExceeded) => {
                        self.idempotency.release(held).await?;
                        Err(self.quota_exceeded())
                    }
                    Ok(TaskInsert::NoSuchList) => {
                        self.idempotency.release(held).await?;
                        Err(TaskError::UnknownList)
                    }
                    Ok(TaskInsert::Denied(refusal)) => {
                        self.idempotency.release(held).await?;
                        Err(refusal.into())
                    }
                    Ok(TaskInsert::UnknownAssignee) => {
                        self.idempotency.release(held).await?;
                        Err(TaskError::UnknownAssignee)
                    }
                    Ok(TaskInsert::Misplaced(placement)) => {
                        self.idempotency.release(held).await?;
                        Err(placement.into())
                    }
                    Err(e) => {
                        // Let a retry proceed; if even this fails, the reservation is taken
                        // over once it counts as abandoned.
                        if let Err(release) = self.idempotency.release(held).await {
                            return Err(release.into());
                        }
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Forgets idempotency keys older than their lifetime; run periodically.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn purge_expired_idempotency_keys(&self) -> Result<u64, TaskError> {
        let (expired_before, _) = IdempotencyKey::cutoffs(self.clock.now());
        Ok(self.idempotency.purge_expired(expired_before).await?)
    }

    /// A task of one of the caller's lists.
    ///
    /// # Errors
    /// `NotFound` when no list of the caller holds a task with this id.
    pub async fn get(&self, caller: &Principal, id: TaskId) -> Result<Task, TaskError> {
        caller.require(Scope::TasksRead)?;
        self.tasks
            .find_for_member(caller.user_id, id)
            .await?
            .ok_or(TaskError::NotFound)
    }

    /// One page of the tasks of the caller's lists.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn list(
        &self,
        caller: &Principal,
        query: TaskListQuery,
    ) -> Result<TaskPage, TaskError> {
        caller.require(Scope::TasksRead)?;
        self.list_of(caller.user_id, query).await
    }

    /// One page of the tasks of `member`'s lists; whoever calls it has decided the caller
    /// may see them.
    ///
    /// # Errors
    /// `Store` when storage fails.
    async fn list_of(&self, member: UserId, query: TaskListQuery) -> Result<TaskPage, TaskError> {
        Ok(page_of(&*self.tasks, member, query).await?)
    }

    /// Applies a partial update (PATCH and the original service's PUT).
    ///
    /// The patch is applied to the task's current state while storage holds it locked, so
    /// concurrent updates queue instead of failing, and none is lost. A patch that changes
    /// nothing returns the task as it is, leaving `version` and `updated_at` alone.
    ///
    /// With `condition`, the task must be at an admitted version when the lock is taken: of
    /// concurrent writers carrying the same version, exactly one succeeds. Viewers may not
    /// update (checked before the version), nor anyone a task of an archived list.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `ListArchived`; `VersionMismatch`.
    pub async fn update(
        &self,
        caller: &Principal,
        id: TaskId,
        patch: TaskPatch,
        condition: Option<VersionCondition>,
    ) -> Result<Task, TaskError> {
        caller.require(Scope::TasksWrite)?;
        let now = self.clock.now();
        let decide: DecideUpdate = Box::new(move |current: &Task, access| {
            if let Err(refusal) = access.check_write() {
                return UpdateDecision::Deny(refusal);
            }
            if condition.is_some_and(|condition| !condition.admits(current.version)) {
                return UpdateDecision::Refuse;
            }
            match current.apply(&patch, now) {
                // updated_at never goes backwards, even if instances' clocks disagree.
                Some(changes) => UpdateDecision::Write(changes, now.max(current.updated_at)),
                None => UpdateDecision::Keep,
            }
        });
        match self.tasks.update_with(caller.user_id, id, decide).await? {
            UpdateOutcome::Updated(task) | UpdateOutcome::Unchanged(task) => Ok(task),
            UpdateOutcome::Refused => Err(TaskError::VersionMismatch),
            UpdateOutcome::Denied(refusal) => Err(refusal.into()),
            UpdateOutcome::UnknownAssignee => Err(TaskError::UnknownAssignee),
            UpdateOutcome::NotFound => Err(TaskError::NotFound),
        }
    }

    /// Moves a task of one of the caller's lists: to another list (with its subtasks), under
    /// another parent, and/or right after a sibling (see [`TaskMove`]; [`crate::decide_move`]
    /// decides on what storage holds locked). Only the moved rows change: siblings keep
    /// their positions. A move to where the task already is changes nothing.
    ///
    /// # Errors
    /// `NotFound`; `UnknownList` for a target list the caller is not a member of;
    /// `Forbidden` unless an editor of both lists; `ListArchived`; `VersionMismatch`;
    /// `Placement` (an unknown parent or sibling, too deep, a cycle, no room).
    pub async fn move_task(
        &self,
        caller: &Principal,
        id: TaskId,
        request: TaskMove,
        condition: Option<VersionCondition>,
    ) -> Result<Task, TaskError> {
        caller.require(Scope::TasksWrite)?;
        let now = self.clock.now();
        let decide: DecideMove = Box::new(move |facts| decide_move(facts, condition, now));
        match self
            .tasks
            .move_with(caller.user_id, id, request, decide)
            .await?
        {
            MoveOutcome::Moved(task) | MoveOutcome::Unchanged(task) => Ok(task),
            MoveOutcome::Refused => Err(TaskError::VersionMismatch),
            MoveOutcome::Denied(refusal) => Err(refusal.into()),
            MoveOutcome::Invalid(placement) => Err(placement.into()),
            MoveOutcome::UnknownList => Err(TaskError::UnknownList),
            MoveOutcome::NotFound => Err(TaskError::NotFound),
        }
    }

    /// Deletes a task of one of the caller's lists; with `condition`, only at an admitted
    /// version. Viewers may not delete, nor anyone a task of an archived list; both are
    /// decided on the state storage holds locked for the deletion.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `ListArchived`; `VersionMismatch`.
    pub async fn delete(
        &self,
        caller: &Principal,
        id: TaskId,
        condition: Option<VersionCondition>,
    ) -> Result<(), TaskError> {
        caller.require(Scope::TasksWrite)?;
        let decide: DecideDelete = Box::new(move |current: &Task, access| {
            if let Err(refusal) = access.check_write() {
                return DeleteDecision::Deny(refusal);
            }
            if condition.is_some_and(|c| !c.admits(current.version)) {
                return DeleteDecision::Refuse;
            }
            DeleteDecision::Delete
        });
        match self.tasks.delete_with(caller.user_id, id, decide).await? {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(TaskError::NotFound),
            DeleteOutcome::VersionMismatch => Err(TaskError::VersionMismatch),
            DeleteOutcome::Denied(refusal) => Err(refusal.into()),
        }
    }
}
