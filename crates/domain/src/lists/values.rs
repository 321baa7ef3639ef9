//! The values a list is made of: its name, and the roles of its members.

use crate::validation::is_invisible_control;
use crate::{ListNameError, TextError};

/// A list's name: trimmed, 1–100 Unicode code points, without control characters,
/// bidirectional controls or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    /// Longest name, in code points.
    pub const MAX_CHARS: usize = 100;

    /// The name every inbox has.
    pub const INBOX: &'static str = "Inbox";

    /// Trims and checks the name.
    ///
    /// # Errors
    /// [`ListNameError`] naming the violated rule.
    pub fn parse(raw: &str) -> Result<Self, ListNameError> {
        let name = raw.trim();
        if name.chars().any(char::is_control) {
            return Err(ListNameError(TextError::ControlCharacters));
        }
        if name.chars().any(is_invisible_control) {
            return Err(ListNameError(TextError::InvisibleCharacters));
        }
        match name.chars().count() {
            0 => Err(ListNameError(TextError::Empty)),
            n if n > Self::MAX_CHARS => Err(ListNameError(TextError::TooLong {
                max: Self::MAX_CHARS,
            })),
            _ => Ok(Self(name.to_owned())),
        }
    }

    /// The inbox's name.
    pub fn inbox() -> Self {
        Self(Self::INBOX.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What names sort by: the Unicode lower case, computed once here so that every backend
    /// orders names identically.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A member's role in a list. Orders `Viewer < Editor < Owner`: each role may do what the
/// roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListRole {
    /// Reads the list and its tasks.
    Viewer,
    /// Also creates, updates, moves and deletes its tasks, and renames the list.
    Editor,
    /// Also manages members and invitations, archives and deletes the list.
    Owner,
}

/// A role name that is none of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: viewer, editor, owner")]
pub struct ListRoleError;

impl ListRole {
    /// The role's name (`viewer`, `editor`, `owner`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListRole::Viewer => "viewer",
            ListRole::Editor => "editor",
            ListRole::Owner => "owner",
        }
    }

    /// Parses a role name (exact, lower-case).
    ///
    /// # Errors
    /// [`ListRoleError`] for any other name.
    pub fn parse(raw: &str) -> Result<Self, ListRoleError> {
        match raw {
            "viewer" => Ok(ListRole::Viewer),
            "editor" => Ok(ListRole::Editor),
            "owner" => Ok(ListRole::Owner),
            _ => Err(ListRoleError),
        }
    }

    /// Whether this role may create, change, move and delete the list's tasks.
    pub fn may_write_tasks(self) -> bool {
        self >= ListRole::Editor
    }

    /// Whether this role may rename the list.
    pub fn may_rename(self) -> bool {
        self >= ListRole::Editor
    }

    /// Whether this role may archive or delete the list and manage its members and
    /// invitations.
    pub fn may_manage(self) -> bool {
        self == ListRole::Owner
    }
}
