//! The seam between the repositories and the database engines.
//!
//! Repositories are written once against [`DbConnection`] and the helpers here; everything
//! that differs per engine (opening, per-connection settings, migrations, how a write
//! transaction starts, which errors are transient) lives in one module per backend. Adding
//! PostgreSQL means turning [`DbConnection`] into a `#[derive(diesel::MultiConnection)]` enum
//! over both connection types and dispatching the helpers below on its variant.

pub(crate) mod sqlite;

use diesel::r2d2::ConnectionManager;
use diesel::result::Error as DieselError;

/// The connection type every repository query runs on.
pub(crate) type DbConnection = diesel::SqliteConnection;

/// The connection pool.
pub(crate) type DbPool = r2d2::Pool<ConnectionManager<DbConnection>>;

/// A connection checked out of the pool.
pub(crate) type PooledDbConnection = r2d2::PooledConnection<ConnectionManager<DbConnection>>;

/// Runs `f` in a transaction that takes the write lock up front, so that concurrent writers
/// queue (bounded by the backend's lock timeout) instead of failing when they upgrade from
/// reading to writing.
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    sqlite::write_transaction(conn, f)
}

/// Whether an error message reports a transient condition (lock contention that outlasted
/// the busy timeout) rather than a bug.
pub(crate) fn is_transient(message: &str) -> bool {
    sqlite::is_transient(message)
}
