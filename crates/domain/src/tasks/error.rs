//! What can go wrong with tasks.

use thiserror::Error;

use crate::StoreError;

/// Failures of the task use cases.
#[derive(Debug, Error)]
pub enum TaskError {
    /// No such task for this owner: missing, someone else's, or an invalid id.
    #[error("task not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The version condition names a version the task no longer has.
    #[error("the task has changed since the version the request was based on")]
    VersionMismatch,
    /// An idempotency key was reused with a different request.
    #[error("this idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyKeyInProgress,
}
