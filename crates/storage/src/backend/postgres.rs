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

/// How long a connection may sit idle in the pool before it is checked (`SELECT 1`) on its
/// next checkout. Connections in steady use skip the check (a round trip per request);
/// one idle across a server restart, a failover or a proxy's idle timeout is found dead
/// before a request is given it. A connection that fails mid-request is closed at once
/// (see [`crate::pool`]).
pub(crate) const VALIDATE_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens a pool of connections to the server at `url`. `shown_url` is the URL for messages.
///
/// Unlike SQLite's, these connections are sockets that a server restart breaks. r2d2 does
/// not test them on checkout (that would cost a round trip per request); the pool's own
/// checkout tests those idle for longer than [`VALIDATE_AFTER_IDLE`], and closes any that
/// a request found dead.
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
        .test_on_check_out(false)
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

/// Messages that say this connection is over (the server ended it or went away), whatever
/// libpq's status says.
pub(crate) fn is_connection_gone(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "connection to server",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
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
