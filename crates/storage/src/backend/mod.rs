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
/// no such care.
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
