//! Listing lists: the archived filter, sort orders and keyset cursors.

use chrono::{DateTime, Utc};

use crate::{List, ListId, Page, PageSize};

/// What lists can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListSortField {
    /// Creation time (the default).
    CreatedAt,
    /// Name, case-insensitively (by Unicode lower case).
    Name,
}

/// A sort order: a field and a direction. Ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListSort {
    /// What to sort by.
    pub field: ListSortField,
    /// Largest first?
    pub descending: bool,
}

impl Default for ListSort {
    fn default() -> Self {
        Self {
            field: ListSortField::CreatedAt,
            descending: false,
        }
    }
}

/// Which of the caller's lists to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only archived (or only active) lists; both when `None`.
    pub archived: Option<bool>,
}

/// The sort key of one list under one sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSortKey {
    /// `created_at`.
    Instant(DateTime<Utc>),
    /// The Unicode lower case of the name.
    Name(String),
}

/// Where a page starts: just after the list with this sort key and id, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    /// The order the cursor belongs to.
    pub sort: ListSort,
    /// The sort key of the last list seen.
    pub key: ListSortKey,
    /// The id of the last list seen.
    pub id: ListId,
}

impl ListCursor {
    /// The cursor just after `list` under `sort`.
    pub fn after(list: &List, sort: ListSort) -> Self {
        let key = match sort.field {
            ListSortField::CreatedAt => ListSortKey::Instant(list.created_at),
            ListSortField::Name => ListSortKey::Name(list.name.sort_key()),
        };
        Self {
            sort,
            key,
            id: list.id,
        }
    }

    /// Whether the key has the shape the cursor's sort field needs (a decoded cursor could be
    /// forged).
    pub fn is_consistent(&self) -> bool {
        matches!(
            (self.sort.field, &self.key),
            (ListSortField::CreatedAt, ListSortKey::Instant(_))
                | (ListSortField::Name, ListSortKey::Name(_))
        )
    }
}

/// One page of lists.
pub type ListPage = Page<List, ListCursor>;

/// A request for one page of the caller's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListListQuery {
    /// Which lists.
    pub filter: ListFilter,
    /// In which order.
    pub sort: ListSort,
    /// How many at most.
    pub size: PageSize,
    /// After which list; `None` for the first page.
    pub after: Option<ListCursor>,
}
