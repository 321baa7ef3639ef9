//! The task model: a task, a draft of a new one, a patch and the changes it makes.

use crate::{Description, ListId, Priority, Tags, TaskId, TaskTitle, UserId};
use chrono::{DateTime, Utc};

/// A task, as stored and shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// The list it lives in: its members see it, editors and owners change it.
    pub list_id: ListId,
    /// The task it is a subtask of; `None` at the top level.
    pub parent_id: Option<TaskId>,
    /// Orders it among its siblings (the tasks of its list with its parent): an opaque key,
    /// compared as a byte string.
    pub position: String,
    /// Who created it (kept after that account is deleted).
    pub created_by: UserId,
    /// The member it is assigned to, if any.
    pub assignee_id: Option<UserId>,
    /// Its title.
    pub title: TaskTitle,
    /// Its description (possibly empty).
    pub description: Description,
    /// Whether it is done.
    pub is_done: bool,
    /// When it was (last) marked done; `None` while not done.
    pub completed_at: Option<DateTime<Utc>>,
    /// Its priority.
    pub priority: Priority,
    /// When it is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// Its tags.
    pub tags: Tags,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1, grows by one on every change.
    pub version: i64,
}

/// The position a task gets from its id alone: `z`, the id's 32 hex digits, then `1`.
/// The migration that introduced positions gave existing tasks these (ids grow with time,
/// so they kept their creation order), and snapshots of created tasks stored before then
/// decode to them. The key has the fractional-index shape sibling order keys take
/// (`0-9A-Za-z` digits; head `z`: a 26-digit integer part; a fraction not ending in `0`),
/// so that keys between and around such keys can be made without rewriting them. New
/// tasks are placed by storage instead, last among their siblings
/// ([`crate::place_new_task`]).
pub fn position_from_id(id: TaskId) -> String {
    format!("z{}1", id.as_uuid().simple())
}

/// A validated new task, as a client describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    /// The list to put it in; the creator's inbox by default.
    pub list_id: Option<ListId>,
    /// The task of that list to make it a subtask of; top-level by default.
    pub parent_id: Option<TaskId>,
    /// The member to assign it to, if any (a member of its list).
    pub assignee_id: Option<UserId>,
    /// Required title.
    pub title: TaskTitle,
    /// Description; empty by default.
    pub description: Description,
    /// Done already? False by default.
    pub is_done: bool,
    /// Priority; medium by default.
    pub priority: Priority,
    /// Due date, if any.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags; none by default.
    pub tags: Tags,
}

impl TaskDraft {
    /// A draft with only a title and every default.
    pub fn titled(title: TaskTitle) -> Self {
        Self {
            list_id: None,
            parent_id: None,
            assignee_id: None,
            title,
            description: Description::empty(),
            is_done: false,
            priority: Priority::Medium,
            due_at: None,
            tags: Tags::default(),
        }
    }
}

/// A validated partial update: `None` leaves a field unchanged. For `due_at`,
/// `Some(None)` clears it; a cleared description is [`Description::empty`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<TaskTitle>,
    /// New description.
    pub description: Option<Description>,
    /// New done state.
    pub is_done: Option<bool>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New due date, or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New tags (replacing the old ones).
    pub tags: Option<Tags>,
    /// New assignee (a member of the task's list), or `Some(None)` to unassign it.
    pub assignee_id: Option<Option<UserId>>,
}

/// The complete writable state of a task after an update, handed to storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskChanges {
    /// Title.
    pub title: TaskTitle,
    /// Description.
    pub description: Description,
    /// Done state.
    pub is_done: bool,
    /// Completion time, consistent with `is_done`.
    pub completed_at: Option<DateTime<Utc>>,
    /// Priority.
    pub priority: Priority,
    /// Due date.
    pub due_at: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Tags,
    /// Assignee.
    pub assignee_id: Option<UserId>,
}

impl Task {
    /// Applies a patch at time `now`. Returns `None` when the patch changes nothing, so that
    /// neither `version` nor `updated_at` moves. Marking a task done sets `completed_at`
    /// (kept if it was already done); marking it not done clears it.
    pub fn apply(&self, patch: &TaskPatch, now: DateTime<Utc>) -> Option<TaskChanges> {
        let is_done = patch.is_done.unwrap_or(self.is_done);
        let completed_at = match (self.is_done, is_done) {
            (true, true) => self.completed_at,
            (false, true) => Some(now),
            (_, false) => None,
        };
        let changes = TaskChanges {
            title: patch.title.clone().unwrap_or_else(|| self.title.clone()),
            description: patch
                .description
                .clone()
                .unwrap_or_else(|| self.description.clone()),
            is_done,
            completed_at,
            priority: patch.priority.unwrap_or(self.priority),
            due_at: patch.due_at.unwrap_or(self.due_at),
            tags: patch.tags.clone().unwrap_or_else(|| self.tags.clone()),
            assignee_id: patch.assignee_id.unwrap_or(self.assignee_id),
        };
        let unchanged = changes.title == self.title
            && changes.description == self.description
            && changes.is_done == self.is_done
            && changes.completed_at == self.completed_at
            && changes.priority == self.priority
            && changes.due_at == self.due_at
            && changes.tags == self.tags
            && changes.assignee_id == self.assignee_id;
        (!unchanged).then_some(changes)
    }
}

/// A condition on a task's version that a change or a deletion requires: the change
/// applies only to the version the client based it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCondition {
    /// Any version: the task merely has to exist.
    Any,
    /// One of these versions.
    OneOf(Vec<i64>),
}

impl VersionCondition {
    /// Whether `version` satisfies the condition.
    pub fn admits(&self, version: i64) -> bool {
        match self {
            VersionCondition::Any => true,
            VersionCondition::OneOf(versions) => versions.contains(&version),
        }
    }
}
