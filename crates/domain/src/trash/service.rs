//! The trash's use cases: list it, restore a task from it, purge a task from it.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    Clock, DecidePurge, DecideRestore, ListId, Page, PageSize, Position, PositionError, Principal,
    PurgeDecision, PurgeOutcome, RestoreDecision, RestoreOutcome, RestoreSite, Scope, StoreError,
    Task, TaskError, TaskId, TrashRepository, UserId, VersionCondition, check_depth,
};

/// A task in the trash, with when and by whom it was deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct TrashedTask {
    /// The task as it went to the trash.
    pub task: Task,
    /// When it went to the trash (with the subtasks deleted with it).
    pub trashed_at: DateTime<Utc>,
    /// Who deleted it; `None` once that account is gone.
    pub trashed_by: Option<UserId>,
}

/// Where the next page of the trash starts: just after this deletion instant and id (the
/// trash is sorted newest deletion first, ties by id descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrashCursor {
    /// The last item's `trashed_at`.
    pub trashed_at: DateTime<Utc>,
    /// The last item's id.
    pub id: TaskId,
}

impl TrashCursor {
    /// The cursor pointing just after `last`.
    pub fn after(last: &TrashedTask) -> Self {
        Self {
            trashed_at: last.trashed_at,
            id: last.task.id,
        }
    }
}

/// One request for a page of the trash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrashQuery {
    /// Only the trash of this list.
    pub list_id: Option<ListId>,
    /// How many items the page holds.
    pub size: PageSize,
    /// Where the page starts (the first page without).
    pub after: Option<TrashCursor>,
}

/// One page of the trash.
pub type TrashPage = Page<TrashedTask, TrashCursor>;

/// Where a restored task goes: back under its parent, keeping its position, when its old
/// parent is still where it was (a live task of its list, or the top level for a top-level
/// task) and its subtree still fits under it ([`check_depth`]); right after the live sibling
/// that took its position meanwhile, if one did; otherwise at the top level, last among the
/// live top-level tasks.
///
/// # Errors
/// [`PositionError`] when a stored position is not one, or (in theory only) no key is left
/// where it goes.
pub fn place_restored(site: &RestoreSite) -> Result<(Option<TaskId>, Position), PositionError> {
    let fits = site
        .parent_depth
        .is_some_and(|depth| check_depth(depth, site.subtree_height).is_ok());
    if fits {
        let position = match &site.clash {
            None => Position::parse(&site.task.position)?,
            Some(clash) => Position::between(Some(&clash.holder), clash.next.as_ref())?,
        };
        return Ok((site.task.parent_id, position));
    }
    let position = match &site.last_top_level {
        Some(last) => Position::after_last(last)?,
        None => Position::first(),
    };
    Ok((None, position))
}

/// The trash use cases. Every method is scoped to the caller: a trashed task of a list they
/// are not a member of behaves exactly like a missing one. Reading the trash needs
/// `tasks:read`, restoring and purging `tasks:write` (a session has both); the trash is for
/// editors and owners: viewers' lists never appear in it, and viewers may not restore or
/// purge.
#[derive(Clone)]
pub struct TrashService {
    trash: Arc<dyn TrashRepository>,
    clock: Arc<dyn Clock>,
    /// How long a trashed task is kept (`trash.retention`): past it, it is no longer
    /// restorable.
    retention: chrono::TimeDelta,
}

impl fmt::Debug for TrashService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrashService").finish_non_exhaustive()
    }
}

impl TrashService {
    /// Builds the service from its ports.
    pub fn new(trash: Arc<dyn TrashRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            trash,
            clock,
            retention: chrono::TimeDelta::days(30),
        }
    }

    /// The same service for a trash kept `retention` long (`trash.retention`): a task
    /// trashed longer ago is not found by a restore, even before housekeeping purged it, so
    /// that a restore never races the purge of the same task.
    #[must_use]
    pub fn with_retention(mut self, retention: std::time::Duration) -> Self {
        self.retention = chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        self
    }

    /// One page of the trashed tasks of the lists where the caller is an editor or owner,
    /// newest deletion first.
    ///
    /// # Errors
    /// `Credential` without `tasks:read`; `Store`.
    pub async fn list(
        &self,
        caller: &Principal,
        query: TrashQuery,
    ) -> Result<TrashPage, TaskError> {
        caller.require(Scope::TasksRead)?;
        let size = query.size;
        let fetched = self
            .trash
            .list_for_member(caller.user_id, query, size.fetch_limit())
            .await?;
        Ok(Page::from_fetched(fetched, size, TrashCursor::after))
    }

    /// Restores a trashed task of one of the caller's lists, with the subtasks deleted with
    /// it, where [`place_restored`] says; with `condition`, only at an admitted version.
    /// The restored task's `version` grows by one and its `updated_at` becomes now (never
    /// earlier than it was); its subtasks keep theirs (only the task itself moved). Trashed
    /// tasks still count toward the task quota, so a restore never exceeds it.
    ///
    /// # Errors
    /// `NotFound` when no list of the caller holds a trashed task with this id, or when it
    /// was trashed longer than the retention ago; `Forbidden` for a viewer; `ListArchived`;
    /// `VersionMismatch`; `Store`.
    pub async fn restore(
        &self,
        caller: &Principal,
        id: TaskId,
        condition: Option<VersionCondition>,
    ) -> Result<Task, TaskError> {
        caller.require(Scope::TasksWrite)?;
        let now = self.clock.now();
        // Housekeeping purges what was trashed before its own `now - retention`, taken
        // earlier than this one: anything it may be purging is older than this cutoff.
        let expired_before = now
            .checked_sub_signed(self.retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let decide: DecideRestore = Box::new(move |site: &RestoreSite| {
            if site.trashed_at < expired_before {
                return RestoreDecision::Expired;
            }
            if let Err(refusal) = site.access.check_write() {
                return RestoreDecision::Deny(refusal);
            }
            if condition.is_some_and(|c| !c.admits(site.task.version)) {
                return RestoreDecision::Refuse;
            }
            match place_restored(site) {
                Ok((parent, position)) => RestoreDecision::Restore {
                    parent,
                    position,
                    at: now.max(site.task.updated_at),
                },
                Err(_) => RestoreDecision::NoRoom,
            }
        });
        match self.trash.restore_with(caller.user_id, id, decide).await? {
            RestoreOutcome::Restored(task) => Ok(task),
            RestoreOutcome::Refused => Err(TaskError::VersionMismatch),
            RestoreOutcome::Denied(refusal) => Err(refusal.into()),
            RestoreOutcome::NotFound => Err(TaskError::NotFound),
            RestoreOutcome::NoRoom => Err(StoreError::internal(format!(
                "no sibling position is left where trashed task {id} would go back"
            ))
            .into()),
        }
    }

    /// Purges a trashed task of one of the caller's lists for good, with its tags and its
    /// trashed subtasks; with `condition`, only at an admitted version.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden` for a viewer; `ListArchived`; `VersionMismatch`; `Store`.
    pub async fn purge(
        &self,
        caller: &Principal,
        id: TaskId,
        condition: Option<VersionCondition>,
    ) -> Result<(), TaskError> {
        caller.require(Scope::TasksWrite)?;
        let decide: DecidePurge = Box::new(move |task: &Task, access| {
            if let Err(refusal) = access.check_write() {
                return PurgeDecision::Deny(refusal);
            }
            if condition.is_some_and(|c| !c.admits(task.version)) {
                return PurgeDecision::Refuse;
            }
            PurgeDecision::Purge
        });
        match self.trash.purge_with(caller.user_id, id, decide).await? {
            PurgeOutcome::Purged => Ok(()),
            PurgeOutcome::Refused => Err(TaskError::VersionMismatch),
            PurgeOutcome::Denied(refusal) => Err(refusal.into()),
            PurgeOutcome::NotFound => Err(TaskError::NotFound),
        }
    }
}
