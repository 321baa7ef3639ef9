//! Listing tasks: filters, sort orders and keyset cursors (pages and their sizes are the
//! shared ones of `paging`).

use chrono::{DateTime, Utc};

use crate::{ListId, Page, PageSize, Priority, Tag, Task, TaskId, TextError, UserId};

/// What tasks can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskSortField {
    /// Creation time (the default).
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Due date; tasks without one come last in either direction.
    DueAt,
    /// Priority, `low < medium < high`.
    Priority,
    /// Title, case-insensitively (by Unicode lower case).
    Title,
    /// Position among siblings (the order a user gave them); only for the children of one
    /// parent (or the top level) of one list, see [`TaskListQuery::sorts_siblings`].
    Position,
}

/// A sort order: a field and a direction. Ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskSort {
    /// What to sort by.
    pub field: TaskSortField,
    /// Largest first?
    pub descending: bool,
}

impl Default for TaskSort {
    fn default() -> Self {
        Self {
            field: TaskSortField::CreatedAt,
            descending: false,
        }
    }
}

/// A case-insensitive substring to look for in titles and descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// Longest accepted search text, in code points.
    pub const MAX_CHARS: usize = 200;

    /// Lower-cases (Unicode) and checks the text: 1–200 code points, no control characters.
    ///
    /// # Errors
    /// [`TextError`] naming the violated rule.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        if raw.chars().any(char::is_control) {
            return Err(TextError::ControlCharacters);
        }
        match raw.chars().count() {
            0 => Err(TextError::Empty),
            n if n > Self::MAX_CHARS => Err(TextError::TooLong {
                max: Self::MAX_CHARS,
            }),
            _ => Ok(Self(raw.to_lowercase())),
        }
    }

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which of the member's tasks to list. Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only the tasks of this list (archived or not); without it, the tasks of every list
    /// the member belongs to that is not archived.
    pub list_id: Option<ListId>,
    /// Only done (or only open) tasks.
    pub is_done: Option<bool>,
    /// Only tasks of this priority.
    pub priority: Option<Priority>,
    /// Only tasks assigned to this member (`Some(Some(_))`) or to nobody (`Some(None)`).
    pub assignee: Option<Option<UserId>>,
    /// Only subtasks of this task (`Some(Some(_))`) or top-level tasks (`Some(None)`).
    pub parent: Option<Option<TaskId>>,
    /// Only tasks carrying this tag.
    pub tag: Option<Tag>,
    /// Only tasks whose title or description contains this text (case-insensitively).
    pub q: Option<SearchText>,
    /// Only tasks due strictly before this instant (tasks without a due date never match).
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks due strictly after this instant (tasks without a due date never match).
    pub due_after: Option<DateTime<Utc>>,
}

/// The sort key of one task under one sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// `created_at`, `updated_at`, or a `due_at` that is set.
    Instant(DateTime<Utc>),
    /// A `due_at` that is not set (sorted after every date).
    NoDueDate,
    /// `Priority::rank`.
    Priority(i16),
    /// The Unicode lower case of the title.
    Title(String),
    /// A position among siblings.
    Position(String),
}

/// Where a page starts: just after the item with this sort key and id, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCursor {
    /// The order the cursor belongs to.
    pub sort: TaskSort,
    /// The sort key of the last item seen.
    pub key: SortKey,
    /// The id of the last item seen.
    pub id: TaskId,
}

impl TaskCursor {
    /// The cursor just after `task` under `sort`.
    pub fn after(task: &Task, sort: TaskSort) -> Self {
        let key = match sort.field {
            TaskSortField::CreatedAt => SortKey::Instant(task.created_at),
            TaskSortField::UpdatedAt => SortKey::Instant(task.updated_at),
            TaskSortField::DueAt => task.due_at.map_or(SortKey::NoDueDate, SortKey::Instant),
            TaskSortField::Priority => SortKey::Priority(task.priority.rank()),
            TaskSortField::Title => SortKey::Title(task.title.sort_key()),
            TaskSortField::Position => SortKey::Position(task.position.clone()),
        };
        Self {
            sort,
            key,
            id: task.id,
        }
    }

    /// Whether the key has the shape the cursor's sort field needs (a decoded cursor could be
    /// forged).
    pub fn is_consistent(&self) -> bool {
        matches!(
            (self.sort.field, &self.key),
            (
                TaskSortField::CreatedAt | TaskSortField::UpdatedAt,
                SortKey::Instant(_)
            ) | (
                TaskSortField::DueAt,
                SortKey::Instant(_) | SortKey::NoDueDate
            ) | (TaskSortField::Priority, SortKey::Priority(0..=2))
                | (TaskSortField::Title, SortKey::Title(_))
                | (TaskSortField::Position, SortKey::Position(_))
        )
    }
}

/// One page of tasks.
pub type TaskPage = Page<Task, TaskCursor>;

impl TaskListQuery {
    /// Whether the query may sort as it asks: positions order siblings only, so
    /// [`TaskSortField::Position`] needs one list and one parent (or the top level) named.
    pub fn sorts_siblings(&self) -> bool {
        self.sort.field != TaskSortField::Position
            || (self.filter.list_id.is_some() && self.filter.parent.is_some())
    }
}

/// A request for one page of the owner's tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskListQuery {
    /// Which tasks.
    pub filter: TaskFilter,
    /// In which order.
    pub sort: TaskSort,
    /// How many at most.
    pub size: PageSize,
    /// After which task; `None` for the first page.
    pub after: Option<TaskCursor>,
}
