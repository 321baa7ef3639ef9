//! What can go wrong with administration.

use thiserror::Error;

use crate::{CredentialError, StoreError};

/// Failures of the administration use cases.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The caller is not an administrator.
    #[error("administrators only")]
    Forbidden,
    /// No account with this id.
    #[error("user not found")]
    NotFound,
    /// The change would leave no active administrator.
    #[error("the last active administrator cannot be demoted, disabled or deleted")]
    LastAdmin,
    /// The request came with an API token: administration needs a session.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
