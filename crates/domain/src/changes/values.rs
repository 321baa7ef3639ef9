//! The change log's values: positions and cursors in it, the recorded changes, and the
//! changes as a reader gets them.

use chrono::{DateTime, Utc};
use thiserror::Error;
use uuid::Uuid;

use crate::{List, Task};

/// A place in the change log, in the order readers get changes: by `txn`, then `seq`.
///
/// What the two numbers are is the storage engine's business: the writing transaction's
/// id and a sequence number on PostgreSQL (where a sequence alone hands numbers out of
/// commit order), `0` and the row's number on SQLite (one writer at a time, so row numbers
/// are in commit order). Adapters MUST only ever hand out positions such that no change
/// can later be recorded at or before a position a reader was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChangePosition {
    /// The major part of the order.
    pub txn: i64,
    /// The minor part of the order.
    pub seq: i64,
}

/// Where a reader stands in the change log: the position after which its next changes
/// are, and the instant up to which it has seen every change (what the retention is
/// measured against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCursor {
    /// Changes after this position come next.
    pub position: ChangePosition,
    /// The reader has seen every change recorded before about this instant.
    pub seen_at: DateTime<Utc>,
}

/// What kind of entity a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A task.
    Task,
    /// A list: created, renamed, archived or unarchived, deleted, its members changed, or
    /// the reader gaining or losing it.
    List,
}

impl Entity {
    /// The name storage and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Task => "task",
            Entity::List => "list",
        }
    }

    /// The entity kind of a name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "task" => Some(Entity::Task),
            "list" => Some(Entity::List),
            _ => None,
        }
    }
}

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    /// Created or changed: it exists.
    Upsert,
    /// Gone (deleted, or no longer visible to the reader).
    Delete,
}

impl ChangeOp {
    /// The name storage and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Delete => "delete",
        }
    }

    /// The operation of a name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "upsert" => Some(ChangeOp::Upsert),
            "delete" => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

/// One change as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Its place in the log.
    pub position: ChangePosition,
    /// The kind of entity.
    pub entity: Entity,
    /// What happened.
    pub op: ChangeOp,
    /// The entity's id.
    pub id: Uuid,
    /// The list the entity is in (a list's own id for a list).
    pub list_id: Option<Uuid>,
    /// When the change was made.
    pub at: DateTime<Utc>,
}

/// An entity as it is now.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangedEntity {
    /// A task.
    Task(Task),
    /// A list, as the reader sees it (their role, its member count).
    List(List),
}

/// One change as a reader gets it: the entity's latest change in the page, with the
/// entity as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The cursor just after this change (to resume from it).
    pub cursor: ChangeCursor,
    /// The kind of entity.
    pub entity: Entity,
    /// `Upsert` when the entity exists now, `Delete` when it is gone (for a list, also when
    /// the reader lost it: they drop the list and its tasks).
    pub op: ChangeOp,
    /// The entity's id.
    pub id: Uuid,
    /// The list the entity is in (a list's own id for a list).
    pub list_id: Option<Uuid>,
    /// When the (latest) change was made.
    pub at: DateTime<Utc>,
    /// The entity as it is now; `None` for a delete.
    pub data: Option<ChangedEntity>,
}

/// One page of changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    /// The changes, in log order, each entity at most once.
    pub changes: Vec<Change>,
    /// Where the next page starts.
    pub next: ChangeCursor,
    /// Whether more changes already follow `next`.
    pub has_more: bool,
}

/// How many changes a page reads: 1–1 000, 100 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimit(u16);

/// A limit outside 1–[`ChangeLimit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be between 1 and {max}")]
pub struct ChangeLimitError {
    /// The largest page.
    pub max: u16,
}

impl ChangeLimit {
    /// Largest page.
    pub const MAX: u16 = 1000;

    /// The limit when none is asked for.
    pub const DEFAULT: Self = Self(100);

    /// Checks the bounds.
    ///
    /// # Errors
    /// [`ChangeLimitError`] outside 1–[`ChangeLimit::MAX`].
    pub fn new(size: i64) -> Result<Self, ChangeLimitError> {
        u16::try_from(size)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Self)
            .ok_or(ChangeLimitError { max: Self::MAX })
    }

    /// The limit.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for ChangeLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}
