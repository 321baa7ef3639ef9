//! The list model, and the rules of who may do what with a list and its tasks.

use chrono::{DateTime, Utc};

use crate::{ListId, ListName, ListRole, UserId, VersionCondition};

/// A list, as one member sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// Its id (an inbox's is its account's id).
    pub id: ListId,
    /// Its name.
    pub name: ListName,
    /// Whether it is an account's inbox.
    pub is_inbox: bool,
    /// Archived lists refuse task writes and are left out of task listings unless named.
    pub archived: bool,
    /// The role of the member it is shown to.
    pub role: ListRole,
    /// How many members it has.
    pub member_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1, grows by one on every change.
    pub version: i64,
}

/// A list about to be stored: its creator becomes its only member, as owner.
#[derive(Debug, Clone, PartialEq)]
pub struct NewList {
    /// Its id.
    pub id: ListId,
    /// Its name.
    pub name: ListName,
    /// Who creates it (its owner).
    pub owner: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl NewList {
    /// The list as its owner sees it once stored.
    pub fn as_created(&self) -> List {
        List {
            id: self.id,
            name: self.name.clone(),
            is_inbox: false,
            archived: false,
            role: ListRole::Owner,
            member_count: 1,
            created_at: self.created_at,
            updated_at: self.created_at,
            version: 1,
        }
    }
}

/// A validated partial update of a list: `None` leaves a field unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPatch {
    /// New name (editors and owners).
    pub name: Option<ListName>,
    /// Archive or restore (owners).
    pub archived: Option<bool>,
}

/// The writable state of a list after an update, handed to storage.
#[derive(Debug, Clone, PartialEq)]
pub struct ListChanges {
    /// Name.
    pub name: ListName,
    /// Archived?
    pub archived: bool,
}

/// Why a change to a list is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRefusal {
    /// The caller's role does not allow it; this role would.
    Forbidden(ListRole),
    /// It would rename, archive or delete an inbox.
    Inbox,
    /// The list is not at a version the condition admits.
    VersionMismatch,
    /// Every seat of the list is taken: its members and pending invitations already number
    /// the most it may have.
    Full {
        /// The most members (with pending invitations) a list may have.
        limit: u64,
    },
}

/// What an update does to a list, decided on its current state while storage holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum ListUpdateDecision {
    /// Write these changes, stamping `updated_at`; storage bumps `version`.
    Write(ListChanges, DateTime<Utc>),
    /// Leave the list as it is (the update changes nothing).
    Keep,
    /// Refuse; nothing changes.
    Refuse(ListRefusal),
}

/// Whether a deletion goes ahead, decided on the list's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListDeleteDecision {
    /// Delete the list and its tasks.
    Delete,
    /// Refuse; nothing changes.
    Refuse(ListRefusal),
}

impl List {
    /// The decision for `patch` under `condition` at `now`. A role that does not allow a
    /// change is refused first (renaming needs an editor, archiving an owner), then a change
    /// to an inbox, then a stale version; a patch that changes nothing is kept.
    pub fn decide_update(
        &self,
        patch: &ListPatch,
        condition: Option<&VersionCondition>,
        now: DateTime<Utc>,
    ) -> ListUpdateDecision {
        if patch.name.is_some() && !self.role.may_rename() {
            return ListUpdateDecision::Refuse(ListRefusal::Forbidden(ListRole::Editor));
        }
        if patch.archived.is_some() && !self.role.may_manage() {
            return ListUpdateDecision::Refuse(ListRefusal::Forbidden(ListRole::Owner));
        }
        if self.is_inbox && (patch.name.is_some() || patch.archived.is_some()) {
            return ListUpdateDecision::Refuse(ListRefusal::Inbox);
        }
        if condition.is_some_and(|c| !c.admits(self.version)) {
            return ListUpdateDecision::Refuse(ListRefusal::VersionMismatch);
        }
        let changes = ListChanges {
            name: patch.name.clone().unwrap_or_else(|| self.name.clone()),
            archived: patch.archived.unwrap_or(self.archived),
        };
        if changes.name == self.name && changes.archived == self.archived {
            return ListUpdateDecision::Keep;
        }
        // updated_at never goes backwards, even if instances' clocks disagree.
        ListUpdateDecision::Write(changes, now.max(self.updated_at))
    }

    /// The decision for deleting the list under `condition`: owners only, never an inbox,
    /// only at an admitted version.
    pub fn decide_delete(&self, condition: Option<&VersionCondition>) -> ListDeleteDecision {
        if !self.role.may_manage() {
            return ListDeleteDecision::Refuse(ListRefusal::Forbidden(ListRole::Owner));
        }
        if self.is_inbox {
            return ListDeleteDecision::Refuse(ListRefusal::Inbox);
        }
        if condition.is_some_and(|c| !c.admits(self.version)) {
            return ListDeleteDecision::Refuse(ListRefusal::VersionMismatch);
        }
        ListDeleteDecision::Delete
    }
}

/// What a member may do with the tasks of one list: their role there, and whether the list
/// is archived. Storage reads it in the same transaction as the task write it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskAccess {
    /// The member's role in the task's list.
    pub role: ListRole,
    /// Whether that list is archived.
    pub archived: bool,
}

/// Why a task write is refused to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRefusal {
    /// The member is a viewer.
    ReadOnly,
    /// The list is archived.
    Archived,
}

impl TaskAccess {
    /// Whether the member may create, change, move or delete a task of the list: editors and
    /// owners may, unless the list is archived (a viewer learns first that they may not).
    ///
    /// # Errors
    /// The [`AccessRefusal`].
    pub fn check_write(self) -> Result<(), AccessRefusal> {
        if !self.role.may_write_tasks() {
            Err(AccessRefusal::ReadOnly)
        } else if self.archived {
            Err(AccessRefusal::Archived)
        } else {
            Ok(())
        }
    }
}
