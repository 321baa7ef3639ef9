//! PostgreSQL: the pool, embedded migrations, its [`Engine`] statements, and which errors
//! mean "the server is away".

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use taskapi_domain::Role;

use super::{ConnectionPool, Engine, EngineKind, Manager};
use crate::PoolSettings;
use crate::errors::StorageError;
use crate::listing::{ListParams, Phase, list_query};
use crate::rows::TaskRow;
use crate::schema::{tasks, users};
use crate::sql_types::SqlUuid;

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
        .build(Manager::new(EngineKind::Postgres, url.to_owned()))
        .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))
}

/// Planner settings that make PostgreSQL show whether an index *can* serve a query: on the
/// tiny tables of tests it would otherwise read the whole table (or sort) because that is
/// cheaper there. A plan that still scans or sorts has no index to use instead.
#[cfg(feature = "test-support")]
const PLAN_SETTINGS: &str = "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off";

impl Engine for PgConnection {
    /// A plain `BEGIN`: row locks (`FOR UPDATE`) and constraints arbitrate between writers.
    fn begin_write(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::begin_transaction(self)
    }

    /// `REPEATABLE READ`, since the default `READ COMMITTED` gives every statement a
    /// snapshot of its own; `READ ONLY` makes a stray write an error.
    fn begin_read(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::begin_transaction_sql(
            self,
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        )
    }

    /// An advisory lock makes instances that start together take turns: the first
    /// migrates, the others find nothing pending.
    fn run_migrations(&mut self) -> Result<Vec<String>, String> {
        self.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .map_err(|e| e.to_string())?;
        let applied = self
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| e.to_string());
        let unlocked = self
            .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .map_err(|e| e.to_string());
        let applied = applied?;
        unlocked?;
        Ok(applied)
    }

    /// `SELECT … FOR UPDATE`: concurrent updates of the task queue here instead of racing.
    fn lock_task_for_update(
        &mut self,
        owner: SqlUuid,
        id: SqlUuid,
    ) -> QueryResult<Option<TaskRow>> {
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::owner_id.eq(owner))
            .select(TaskRow::as_select())
            .for_update()
            .first(self)
            .optional()
    }

    /// `SELECT … FOR UPDATE` of the account: its concurrent task inserts queue here.
    fn lock_owner(&mut self, owner: SqlUuid) -> QueryResult<()> {
        users::table
            .filter(users::id.eq(owner))
            .select(users::id)
            .for_update()
            .load::<SqlUuid>(self)?;
        Ok(())
    }

    fn lock_active_admins(&mut self) -> QueryResult<()> {
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::disabled.eq(false))
            .select(users::id)
            .for_update()
            .load::<SqlUuid>(self)?;
        Ok(())
    }

    fn list_tasks(&mut self, params: &ListParams, phase: Phase) -> QueryResult<Vec<TaskRow>> {
        list_query!(Pg, params, phase).load(self)
    }

    /// `EXPLAIN`'s lines, with sequential scans, sorts and bitmap scans disabled for the
    /// statement's transaction (see [`PLAN_SETTINGS`]).
    #[cfg(feature = "test-support")]
    fn explain_list_tasks(
        &mut self,
        params: &ListParams,
        phase: Phase,
    ) -> QueryResult<Vec<String>> {
        self.transaction(|conn| {
            conn.batch_execute(PLAN_SETTINGS)?;
            super::Explain::<_, diesel::sql_types::Text>::new(
                "EXPLAIN ",
                list_query!(Pg, params, phase),
            )
            .load(conn)
        })
    }

    /// `EXPLAIN`'s lines, planned as [`Engine::explain_list_tasks`] plans its.
    #[cfg(feature = "test-support")]
    fn explain_purge(
        &mut self,
        purge: crate::purge::Purge,
        at: crate::sql_types::SqlTimestamp,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        self.transaction(|conn| {
            conn.batch_execute(PLAN_SETTINGS)?;
            crate::purge::purge_batch!(purge, at, limit, |statement| {
                super::Explain::<_, diesel::sql_types::Text>::new("EXPLAIN ", statement).load(conn)
            })
        })
    }
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
