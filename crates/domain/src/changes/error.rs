//! What can go wrong reading changes.

use thiserror::Error;

use crate::{CredentialError, StoreError};

/// Failures of the change use cases.
#[derive(Debug, Error)]
pub enum ChangeError {
    /// The cursor is older than the retention: changes after it may have been forgotten, so
    /// the reader must read everything again and follow the changes from the new present.
    #[error("the cursor is older than the change log keeps changes; read everything again")]
    Gone,
    /// The caller's credential does not allow reading changes (an API token without
    /// `changes:read`).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
