//! Listing accounts: filters, sort orders and keyset cursors.

use crate::{Page, PageSize, Role, User, UserId};
use chrono::{DateTime, Utc};

/// What an account list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSortField {
    /// Registration time (the default).
    #[default]
    CreatedAt,
    /// Email address.
    Email,
}

/// An account list's order: a field and a direction; ties are broken by id, same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserSort {
    /// The field.
    pub field: UserSortField,
    /// Largest first?
    pub descending: bool,
}

/// The sort-field value of the last account of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSortKey {
    /// Its `created_at`.
    CreatedAt(DateTime<Utc>),
    /// Its email.
    Email(String),
}

/// Where the next page starts: just after this (key, id) in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCursor {
    /// The last account's sort key.
    pub key: UserSortKey,
    /// The last account's id.
    pub id: UserId,
}

impl UserCursor {
    /// The cursor pointing just after `user` in a list sorted by `field`.
    pub fn after(user: &User, field: UserSortField) -> Self {
        let key = match field {
            UserSortField::CreatedAt => UserSortKey::CreatedAt(user.created_at),
            UserSortField::Email => UserSortKey::Email(user.email.as_str().to_owned()),
        };
        Self { key, id: user.id }
    }
}

/// A validated request for one page of accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListQuery {
    /// Only emails containing this (lower-case) text.
    pub email_contains: Option<String>,
    /// Only accounts with this role.
    pub role: Option<Role>,
    /// Only disabled (true) or enabled (false) accounts.
    pub disabled: Option<bool>,
    /// The order.
    pub sort: UserSort,
    /// How many at most.
    pub size: PageSize,
    /// Start after this position; the first page when `None`. Its key matches `sort.field`.
    pub after: Option<UserCursor>,
}

impl Default for UserListQuery {
    fn default() -> Self {
        Self {
            email_contains: None,
            role: None,
            disabled: None,
            sort: UserSort::default(),
            size: PageSize::DEFAULT,
            after: None,
        }
    }
}

/// One page of accounts.
pub type UserPage = Page<User, UserCursor>;
