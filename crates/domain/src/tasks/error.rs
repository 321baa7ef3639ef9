//! What can go wrong with tasks.

use thiserror::Error;

use crate::{AccessRefusal, CredentialError, ListRole, PlacementError, StoreError};

/// Failures of the task use cases.
#[derive(Debug, Error)]
pub enum TaskError {
    /// No such task for this caller: missing, of a list they are not a member of, or an
    /// invalid id.
    #[error("task not found")]
    NotFound,
    /// The list named for a new task does not exist for this caller (missing, or one they
    /// are not a member of).
    #[error("no such list")]
    UnknownList,
    /// The caller may read the task's list but not write it.
    #[error("this needs the {} role in the list", needs.as_str())]
    Forbidden {
        /// The least role that would allow it.
        needs: ListRole,
    },
    /// The task cannot go where it was asked to (an unknown parent or sibling, too deep,
    /// a cycle, or no room between the neighbours).
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// The assignee named is not a member of the task's list.
    #[error("the assignee is not a member of the list")]
    UnknownAssignee,
    /// The task's list is archived: its tasks cannot be written.
    #[error("the list is archived")]
    ListArchived,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request's API token lacks the scope this needs.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The version condition names a version the task no longer has.
    #[error("the task has changed since the version the request was based on")]
    VersionMismatch,
    /// An idempotency key was reused with a different request.
    #[error("this idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyKeyInProgress,
    /// The owner already has as many tasks as an account may have; nothing was stored.
    #[error("an account may have at most {limit} tasks")]
    QuotaExceeded {
        /// The most tasks an account may have.
        limit: u64,
    },
}

impl From<AccessRefusal> for TaskError {
    /// What a storage refusal of a task write (create, update, move, delete, restore,
    /// purge) means to the caller.
    fn from(refusal: AccessRefusal) -> Self {
        match refusal {
            AccessRefusal::ReadOnly => TaskError::Forbidden {
                needs: ListRole::Editor,
            },
            AccessRefusal::Archived => TaskError::ListArchived,
        }
    }
}

/// Why a text (a title, a tag, a search text) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TextError {
    /// Nothing is left (after trimming, where the text is trimmed).
    #[error("must not be empty")]
    Empty,
    /// More code points than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The most allowed.
        max: usize,
    },
    /// A control character (a line break included).
    #[error("must not contain control characters")]
    ControlCharacters,
    /// A bidirectional control or a zero-width character.
    #[error("must not contain bidirectional controls or zero-width characters")]
    InvisibleCharacters,
}

/// Why a description is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DescriptionError {
    /// More code points than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The most allowed.
        max: usize,
    },
    /// A control character other than a tab or a line break.
    #[error("must not contain control characters other than tabs and line breaks")]
    ControlCharacters,
}

/// A priority name or rank that is none of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PriorityError {
    /// Not `low`, `medium` or `high`.
    #[error("must be one of: low, medium, high")]
    UnknownName,
    /// Not 0, 1 or 2 (corrupt data, never a default).
    #[error("{0} is not a priority rank (0, 1 or 2)")]
    UnknownRank(i16),
}

/// One thing wrong with a list of tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TagProblem {
    /// The tag at this position (from 0, in the list as given) is invalid.
    #[error("{error}")]
    Invalid {
        /// Its position.
        index: usize,
        /// What is wrong with it.
        error: TextError,
    },
    /// More distinct tags than allowed.
    #[error("must hold at most {max} distinct tags")]
    TooMany {
        /// The most allowed.
        max: usize,
    },
    /// More entries than could ever fold down to the allowed number: refused before any
    /// entry is looked at.
    #[error("must hold at most {max_entries} entries (at most {max} distinct tags)")]
    TooManyEntries {
        /// The most entries accepted.
        max_entries: usize,
        /// The most distinct tags allowed.
        max: usize,
    },
}

/// Why a list of tags is refused: every invalid tag, in order, then the count if exceeded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagsError(pub Vec<TagProblem>);

impl std::fmt::Display for TagsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, problem) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            match problem {
                TagProblem::Invalid { index, error } => write!(f, "tag {index}: {error}")?,
                TagProblem::TooMany { .. } | TagProblem::TooManyEntries { .. } => {
                    write!(f, "tags: {problem}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for TagsError {}

/// An idempotency key that is not 1–255 visible ASCII characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be 1–{max} visible ASCII characters")]
pub struct IdempotencyKeyError {
    /// The longest key.
    pub max: usize,
}
