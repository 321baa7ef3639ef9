//! Listing tasks: filters, sort orders, page sizes and keyset cursors.
//!
//! A page is fetched "after" a cursor that holds the sort key and id of the last item of
//! the previous page, never by offset: its cost does not grow with its depth, and items
//! inserted or deleted meanwhile neither shift nor repeat the items that follow.

use chrono::{DateTime, Utc};

use crate::{PageSize, Priority, Tag, TaskId};

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
}

impl TaskSortField {
    /// The field's name in the API (`created_at`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::DueAt => "due_at",
            Self::Priority => "priority",
            Self::Title => "title",
        }
    }
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

impl TaskSort {
    /// Parses `created_at`, `-due_at`, … (a leading `-` means descending).
    ///
    /// # Errors
    /// A message listing the valid values.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        let field = match name {
            "created_at" => TaskSortField::CreatedAt,
            "updated_at" => TaskSortField::UpdatedAt,
            "due_at" => TaskSortField::DueAt,
            "priority" => TaskSortField::Priority,
            "title" => TaskSortField::Title,
            _ => {
                return Err(
                    "must be one of created_at, updated_at, due_at, priority, title, \
                            optionally prefixed by - for descending"
                        .into(),
                );
            }
        };
        Ok(Self { field, descending })
    }

    /// The API form (`-due_at`).
    pub fn to_param(self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.field.as_str()
        )
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
    /// A message naming the violated rule.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        match raw.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > Self::MAX_CHARS => {
                Err(format!("must be at most {} characters", Self::MAX_CHARS))
            }
            _ => Ok(Self(raw.to_lowercase())),
        }
    }

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which of the owner's tasks to list. Every condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only done (or only open) tasks.
    pub is_done: Option<bool>,
    /// Only tasks of this priority.
    pub priority: Option<Priority>,
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
    pub fn after(task: &crate::tasks::Task, sort: TaskSort) -> Self {
        let key = match sort.field {
            TaskSortField::CreatedAt => SortKey::Instant(task.created_at),
            TaskSortField::UpdatedAt => SortKey::Instant(task.updated_at),
            TaskSortField::DueAt => task.due_at.map_or(SortKey::NoDueDate, SortKey::Instant),
            TaskSortField::Priority => SortKey::Priority(task.priority.rank()),
            TaskSortField::Title => SortKey::Title(task.title.sort_key()),
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
        )
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
