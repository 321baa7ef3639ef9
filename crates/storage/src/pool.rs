//! Running repository work: diesel is synchronous, so every call runs on tokio's blocking
//! pool with a connection whose checkout waits at most the pool timeout.

use taskapi_domain::StoreError;

use crate::backend::{DbConnection, DbPool, PooledDbConnection};
use crate::errors::{DbError, checkout_failed};

/// Checks a connection out of the pool, waiting at most the pool timeout. Blocking.
///
/// # Errors
/// `Unavailable` when no connection became free (or could be opened) in time.
pub(crate) fn checkout(pool: &DbPool) -> Result<PooledDbConnection, StoreError> {
    pool.get().map_err(|e| checkout_failed(&e))
}

/// Runs `work` with a pooled connection on the blocking pool.
///
/// # Errors
/// What `work` returns; `Unavailable` when no connection could be had in time; `Internal`
/// when the blocking task died (a panic in `work`).
pub(crate) async fn with_connection<T, F>(pool: &DbPool, work: F) -> Result<T, DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = checkout(&pool)?;
        work(&mut conn)
    })
    .await
    .unwrap_or_else(|e| {
        Err(DbError::Store(StoreError::Internal(format!(
            "database task did not complete: {e}"
        ))))
    })
}
