//! What can go wrong reading changes.

use thiserror::Error;

use crate::StoreError;

/// Failures of the change use cases.
#[derive(Debug, Error)]
pub enum ChangeError {
    /// The cursor is older than the retention: changes after it may have been forgotten, so
    /// the reader must read everything again and follow the changes from the new present.
    #[error("the cursor is older than the change log keeps changes; read everything again")]
    Gone,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
