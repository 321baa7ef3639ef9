//! The trash: tasks deleted (with their subtasks) wait there until they are restored, purged
//! by hand, or purged by housekeeping after `trash.retention`. Its listing, its ports and
//! the `TrashService` use cases; the rules of a restore (where the task goes back) are
//! decided here on what storage read under its locks.

mod ports;
mod service;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockTrashRepository;
pub use ports::{
    DecidePurge, DecideRestore, PurgeDecision, PurgeOutcome, RestoreDecision, RestoreOutcome,
    RestoreSite, SiblingClash, TrashRepository,
};
pub use service::{TrashCursor, TrashPage, TrashQuery, TrashService, TrashedTask, place_restored};
