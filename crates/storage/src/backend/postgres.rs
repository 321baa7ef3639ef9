//! PostgreSQL: the pool, embedded migrations, and which errors mean "the server is away".

use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{ConnectionPool, Engine, Manager};
use crate::PoolSettings;
use crate::errors::StorageError;

/// The PostgreSQL migrations, compiled into the binary.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the advisory lock that serialises migrations between instances starting together.
const MIGRATION_LOCK: i64 = 0x0074_6173_6b61_7069; // "taskapi" in ASCII

/// Opens a pool of connections to the server at `url`. `shown_url` is the URL for messages.
///
/// Unlike SQLite's, these connections are sockets that a server restart breaks, so each is
/// checked (`SELECT 1`) when it is checked out: a request after an outage gets a fresh
/// connection instead of a dead one.
///
/// # Errors
/// [`StorageError::Connect`] when no connection could be opened within the pool timeout.
pub(crate) fn open_pool(
    url: &str,
    shown_url: &str,
    settings: &PoolSettings,
) -> Result<ConnectionPool, StorageError> {
    r2d2::Pool::builder()
        .max_size(settings.size)
        .connection_timeout(settings.timeout)
        .test_on_check_out(true)
        .build(Manager::new(Engine::Postgres, url.to_owned()))
        .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))
}

/// Applies the pending migrations, returning their versions. An advisory lock makes
/// instances that start together take turns: the first migrates, the others find nothing
/// pending.
pub(crate) fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>, String> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(|e| e.to_string())?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| e.to_string());
    let unlocked = conn
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .map_err(|e| e.to_string());
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

/// Messages libpq and the server give when the server is going away, restarting or
/// unreachable.
pub(crate) fn is_transient(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "server closed the connection",
        "terminating connection",
        "could not connect to server",
        "connection to server",
        "Connection refused",
        "no connection to the server",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "canceling statement due to lock timeout",
        "could not serialize access",
        "deadlock detected",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}
