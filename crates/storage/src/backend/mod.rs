//! The seam between the repositories and the database engines.
//!
//! Repositories are written once against [`DbConnection`], a `#[derive(MultiConnection)]`
//! enum over SQLite and PostgreSQL connections, and the helpers here. Everything that differs
//! per engine (opening, per-connection settings, migrations, how a write transaction starts,
//! which errors are transient) lives in one module per backend.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::time::Instant;

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::result::Error as DieselError;
use diesel::{PgConnection, SqliteConnection};

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConnection {
    /// An SQLite database file.
    Sqlite(SqliteConnection),
    /// A PostgreSQL server.
    Postgres(PgConnection),
}

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// `sqlite://PATH`.
    Sqlite,
    /// `postgres://…`.
    Postgres,
}

/// Opens connections of one engine for r2d2 (the derived `establish` would guess the engine
/// from whichever connection type accepts the URL first).
#[derive(Debug, Clone)]
pub(crate) struct Manager {
    engine: Engine,
    target: String,
}

impl Manager {
    /// A manager opening `target` (a file path for SQLite, a URL for PostgreSQL).
    pub(crate) fn new(engine: Engine, target: String) -> Self {
        Self { engine, target }
    }
}

/// A connection as the pool keeps it: the connection itself, and what the pool needs to
/// know of its past.
pub(crate) struct ManagedConnection {
    /// The connection.
    pub(crate) conn: DbConnection,
    /// When it was last given back to the pool (or opened): a PostgreSQL connection idle for
    /// a while is checked before it is used again (see [`crate::pool::checkout`]).
    pub(crate) returned_at: Instant,
    /// A call on it found the server gone: the pool closes it instead of handing it out
    /// again.
    pub(crate) lost: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = ManagedConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<ManagedConnection, Self::Error> {
        match self.engine {
            Engine::Sqlite => SqliteConnection::establish(&self.target).map(DbConnection::Sqlite),
            Engine::Postgres => PgConnection::establish(&self.target).map(DbConnection::Postgres),
        }
        .map(|conn| ManagedConnection {
            conn,
            returned_at: Instant::now(),
            lost: false,
        })
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut ManagedConnection) -> Result<(), Self::Error> {
        use diesel::r2d2::R2D2Connection;
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut ManagedConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.lost || conn.conn.is_broken()
    }
}

/// r2d2's pool of connections (wrapped with checkout counters by [`crate::pool::DbPool`]).
pub(crate) type ConnectionPool = r2d2::Pool<Manager>;

/// A connection checked out of r2d2's pool.
pub(crate) type PooledConnection = r2d2::PooledConnection<Manager>;

/// Runs `f` in a write transaction. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so that concurrent writers queue (bounded by the busy timeout)
/// instead of failing when they upgrade from reading to writing; PostgreSQL's row locks need
/// no such care. Repositories call it through [`crate::pool::in_write_transaction`], which
/// also lets this process's SQLite writers take turns before they ask for the lock.
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Postgres(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?;
        }
    }
    finish_transaction(conn, f)
}

/// Runs `f` in a read-only transaction whose statements all see one snapshot of the
/// database. SQLite's (deferred) transaction reads one WAL snapshot from its first statement
/// on; PostgreSQL needs `REPEATABLE READ` for that, since its default `READ COMMITTED` gives
/// every statement a snapshot of its own. `READ ONLY` makes a stray write an error.
pub(crate) fn read_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN DEFERRED")?;
        }
        DbConnection::Postgres(inner) => {
            AnsiTransactionManager::begin_transaction_sql(
                inner,
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            )?;
        }
    }
    finish_transaction(conn, f)
}

/// Runs `f` in the transaction just begun: commits what it did, or rolls it back when it
/// fails.
fn finish_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Whether an error message reports a transient condition (lock contention that outlasted
/// the timeout, a server going away) rather than a bug.
pub(crate) fn is_transient(message: &str) -> bool {
    sqlite::is_transient(message) || postgres::is_transient(message)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::testing::PostgresTestDatabase;
    use crate::{Database, PoolSettings};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection) -> Result<i64, DieselError> {
        diesel::sql_query("SELECT COUNT(*) AS n FROM probe")
            .get_result::<Count>(conn)
            .map(|c| c.n)
    }

    /// A write committed by another connection between two reads of a read transaction is
    /// seen by neither.
    fn reads_of_a_read_transaction_share_one_snapshot(db: &Database) -> TestResult {
        let mut reader = crate::pool::checkout(&db.inner.pool)?;
        let mut writer = crate::pool::checkout(&db.inner.pool)?;
        writer.batch_execute("CREATE TABLE probe (n INTEGER); INSERT INTO probe VALUES (1)")?;
        let (before, after) = read_transaction(&mut reader, |conn| {
            let before = count(conn)?;
            writer.batch_execute("INSERT INTO probe VALUES (2)")?;
            let after = count(conn)?;
            Ok::<_, DieselError>((before, after))
        })?;
        assert_eq!(
            (before, after),
            (1, 1),
            "the second read saw a later commit"
        );
        assert_eq!(
            count(&mut reader)?,
            2,
            "the commit is seen after the transaction"
        );
        Ok(())
    }

    fn settings() -> PoolSettings {
        PoolSettings {
            size: 2,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn sqlite_read_transactions_read_one_snapshot() -> TestResult {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        reads_of_a_read_transaction_share_one_snapshot(&Database::connect(&url, settings())?)
    }

    #[test]
    fn postgres_read_transactions_read_one_snapshot_and_refuse_writes() -> TestResult {
        let Some(test_db) = PostgresTestDatabase::create()? else {
            return Ok(());
        };
        let db = Database::connect(test_db.url(), settings())?;
        reads_of_a_read_transaction_share_one_snapshot(&db)?;
        let mut conn = crate::pool::checkout(&db.inner.pool)?;
        let write = read_transaction(&mut conn, |conn| {
            conn.batch_execute("INSERT INTO probe VALUES (3)")
        });
        let message = write.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("read-only"), "{message}");
        Ok(())
    }
}
