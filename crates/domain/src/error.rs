//! The storage failure every port reports in the same words. Each area's own errors live
//! in its `error` module; adapters map their failures into these at the boundary, and the
//! HTTP layer maps them to statuses in one place.

use thiserror::Error;

/// Any error an adapter hands on as the cause of a domain error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A storage adapter could not do what was asked, for reasons that are not the caller's fault.
/// Each variant keeps the adapter's error as its source, so that a log line can show the
/// whole chain.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database is unreachable or no connection became free within the pool timeout.
    /// Retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Anything else (a bug, corrupt data, a failed migration…). Details are for the logs.
    #[error("storage failure: {0}")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// `Unavailable`, caused by `cause` (an error, or a message saying what happened).
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }

    /// `Internal`, caused by `cause` (an error, or a message saying what happened).
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }
}
