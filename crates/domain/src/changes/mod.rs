//! Changes: the log of what happened to the entities a user can see, in commit order, and
//! the `ChangeService` that reads it a page at a time after a cursor (and forgets what is
//! older than the retention).

mod error;
mod ports;
mod service;
mod values;

#[cfg(test)]
mod tests;

pub use error::ChangeError;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockChangeLog;
pub use ports::{ChangeBatch, ChangeLog, ChangeReaders};
pub use service::{ChangeService, PURGE_MARGIN};
pub use values::{
    Change, ChangeCursor, ChangeLimit, ChangeLimitError, ChangeOp, ChangePage, ChangePosition,
    ChangeRecord, ChangedEntity, Entity,
};
