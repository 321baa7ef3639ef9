//! SQLite: opening the file, per-connection settings, embedded migrations, write
//! transactions.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{ConnectionPool, Engine, ManagedConnection, Manager};
use crate::PoolSettings;
use crate::errors::StorageError;

/// The SQLite migrations, compiled into the binary.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long a statement waits for another connection's write lock before giving up with
/// "database is locked". Writers hold the lock for a few milliseconds, so reaching this
/// means the database is badly overloaded.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Settings applied to every new connection. `busy_timeout` comes first so that switching
/// to WAL waits for other connections instead of failing.
#[derive(Debug, Clone, Copy)]
struct ConnectionSettings;

impl ConnectionSettings {
    /// The statements that apply them.
    fn sql() -> String {
        format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;"
        )
    }
}

impl r2d2::CustomizeConnection<ManagedConnection, diesel::r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut ManagedConnection) -> Result<(), diesel::r2d2::Error> {
        conn.conn
            .batch_execute(&ConnectionSettings::sql())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens a pool over the database file at `path`, creating its folder if missing.
/// `shown_url` is the URL for messages.
///
/// # Errors
/// [`StorageError::Connect`] when the folder cannot be created or no connection could be
/// opened within the pool timeout.
pub(crate) fn open_pool(
    path: &str,
    shown_url: &str,
    settings: &PoolSettings,
) -> Result<ConnectionPool, StorageError> {
    if let Some(folder) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|e| {
            StorageError::Connect(format!(
                "{shown_url}: cannot create the folder {}: {e}",
                folder.display()
            ))
        })?;
    }
    // The file becomes a WAL database here, on one connection, before r2d2 opens the pool's
    // connections on several threads at once: switching a new file to WAL from several
    // connections together can fail one of them with "database is locked" without the busy
    // handler ever waiting (r2d2 logs an error and retries). Once the file is in WAL mode,
    // the switch in every connection's settings changes nothing and takes no lock.
    SqliteConnection::establish(path)
        .map_err(|e| e.to_string())
        .and_then(|mut first| {
            first
                .batch_execute(&ConnectionSettings::sql())
                .map_err(|e| e.to_string())
        })
        .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))?;
    r2d2::Pool::builder()
        .max_size(settings.size)
        .connection_timeout(settings.timeout)
        // A SQLite connection is an open file, not a socket: nothing can go stale between
        // uses, so skip the validation query r2d2 would run on every checkout.
        .test_on_check_out(false)
        .connection_customizer(Box::new(ConnectionSettings))
        .build(Manager::new(Engine::Sqlite, path.to_owned()))
        .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))
}

/// Applies the pending migrations, returning their versions.
///
/// They run in one write transaction, so two processes starting together on the same file
/// apply them once: the second waits for the first, then finds nothing pending.
pub(crate) fn run_migrations(conn: &mut SqliteConnection) -> Result<Vec<String>, String> {
    conn.immediate_transaction(|conn| {
        conn.run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
    })
    .map_err(|e: Box<dyn std::error::Error + Send + Sync>| e.to_string())
}

/// "database is locked" / "database is busy": the busy timeout ran out.
pub(crate) fn is_transient(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("database table is locked")
}
