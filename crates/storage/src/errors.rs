//! Errors: `StorageError` for setting the database up, and the mapping of diesel's and
//! r2d2's failures into the domain's [`StoreError`] at the repository boundary.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use taskapi_domain::StoreError;

use crate::backend;

/// Why the database could not be set up. Every message names the database URL with any
/// password replaced by `***`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no backend this build supports, or is malformed.
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// Applying the migrations failed.
    #[error("cannot migrate the database: {0}")]
    Migration(String),
}

/// What can go wrong inside a repository call, before it is mapped to the domain's words.
#[derive(Debug)]
pub(crate) enum DbError {
    /// A query failed.
    Query(DieselError),
    /// Already in the domain's words (no connection, corrupt data, …).
    Store(StoreError),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        DbError::Query(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Store(e) => e,
            DbError::Query(e) => classify(e),
        }
    }
}

impl DbError {
    /// Whether the call found its connection dead (the server went away, closed it, or
    /// restarted), so that the connection must not be used again.
    pub(crate) fn lost_connection(&self) -> bool {
        match self {
            // The connection died in a transaction and could not roll it back: diesel refuses
            // every further use of it.
            DbError::Query(DieselError::BrokenTransactionManager) => true,
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            DbError::Query(DieselError::DatabaseError(_, info)) => {
                backend::postgres::is_connection_gone(info.message())
            }
            _ => false,
        }
    }

    /// Whether this is a violation of a unique constraint on `column` (the backend's message
    /// or constraint name mentions the column).
    pub(crate) fn is_unique_violation_on(&self, column: &str) -> bool {
        match self {
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                info,
            )) => {
                info.message().contains(column)
                    || info.constraint_name().is_some_and(|c| c.contains(column))
                    || info.column_name().is_some_and(|c| c == column)
            }
            _ => false,
        }
    }
}

/// A lost connection or a database too busy to answer is `Unavailable` (retrying later may
/// work, and the client gets a 503); anything else is `Internal`.
fn classify(e: DieselError) -> StoreError {
    let unavailable = match &e {
        // A connection lost in the middle of a transaction (see `lost_connection`).
        DieselError::BrokenTransactionManager => true,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => backend::is_transient(info.message()),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::internal(e)
    }
}

/// A connection found dead when it was tested before use, with no time left for another.
pub(crate) fn unavailable(e: &DieselError) -> StoreError {
    StoreError::unavailable(format!("database connection lost: {e}"))
}

/// A pool checkout that failed: no connection became free, or none could be opened, within
/// the pool timeout.
pub(crate) fn checkout_failed(e: &r2d2::Error) -> StoreError {
    StoreError::unavailable(format!("no database connection available: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::DatabaseErrorInformation;

    #[derive(Debug)]
    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db_error(kind: DatabaseErrorKind, message: &'static str) -> DbError {
        DbError::Query(DieselError::DatabaseError(kind, Box::new(Info(message))))
    }

    #[test]
    fn unique_violations_are_recognised_by_column() {
        let e = db_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: users.email",
        );
        assert!(e.is_unique_violation_on("email"));
        assert!(!e.is_unique_violation_on("id"));
        let other = db_error(DatabaseErrorKind::ForeignKeyViolation, "email");
        assert!(!other.is_unique_violation_on("email"));
    }

    #[test]
    fn lost_connections_and_lock_timeouts_are_unavailable() {
        for e in [
            db_error(
                DatabaseErrorKind::ClosedConnection,
                "server closed the connection",
            ),
            db_error(DatabaseErrorKind::Unknown, "database is locked"),
            // Statements that ran out of database.statement_timeout.
            db_error(DatabaseErrorKind::Unknown, "interrupted"),
            db_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout",
            ),
        ] {
            assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
        }
    }

    #[test]
    fn a_connection_that_broke_inside_a_transaction_is_lost_and_unavailable() {
        let broken = || DbError::Query(DieselError::BrokenTransactionManager);
        assert!(broken().lost_connection());
        assert!(matches!(
            StoreError::from(broken()),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn other_failures_are_internal() {
        for e in [
            db_error(DatabaseErrorKind::CheckViolation, "CHECK constraint failed"),
            DbError::Query(DieselError::NotFound),
        ] {
            assert!(matches!(StoreError::from(e), StoreError::Internal(_)));
        }
    }
}
