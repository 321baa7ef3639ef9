//! SQLite: opening the file, per-connection settings, embedded migrations, and its
//! [`Engine`] statements.

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use diesel::{ConnectionError, ConnectionResult};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::sqlite_budget::{self, Budget};
use super::{ConnectionPool, Engine, EngineKind, Manager};
use taskapi_domain::ChangePosition;

use crate::PoolSettings;
use crate::changes::ChangeHorizon;
use crate::errors::StorageError;
use crate::listing::{ListParams, Phase, list_query};
use crate::rows::{ListRow, TaskRow};
use crate::schema::{changes, tasks};
use crate::sql_types::SqlUuid;

/// The SQLite migrations, compiled into the binary.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long a statement waits for another connection's write lock before giving up with
/// "database is locked". Writers hold the lock for a few milliseconds, so reaching this
/// means the database is badly overloaded.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Settings applied to every new connection. `busy_timeout` comes first so that switching
/// to WAL waits for other connections instead of failing. `synchronous = FULL`: in WAL mode
/// every commit syncs the log, so a write is acknowledged only once it survives a crash of
/// the machine, not only of the process (`NORMAL` may lose the last commits on power loss).
#[derive(Debug, Clone, Copy)]
struct ConnectionSettings;

impl ConnectionSettings {
    /// The statements that apply them.
    fn sql() -> String {
        format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;"
        )
    }
}

/// Opens the database file at `path` with the connection settings applied and every
/// statement limited to `statement_timeout` (`None`: unlimited, for migrations; see
/// [`super::sqlite_budget`]). The budget must be kept until the connection is closed.
pub(crate) fn establish(
    path: &str,
    statement_timeout: Option<Duration>,
) -> ConnectionResult<(SqliteConnection, Option<Box<Budget>>)> {
    let (mut conn, budget) = sqlite_budget::establish(path, statement_timeout)?;
    conn.batch_execute(&ConnectionSettings::sql())
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok((conn, budget))
}

/// Creates `folder` and any missing parents private to the service's user (mode 0700 on
/// Unix); folders that exist are left as they are.
fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder)
}

/// Creates the database file, if missing, private to the service's user (mode 0600 on
/// Unix) before SQLite opens it: SQLite gives its `-wal` and `-shm` files the database
/// file's permissions, so they are private too. An existing file is left as it is.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Opens a pool over the database file at `path`, creating it and its folder, private to
/// the service's user, if missing. `shown_url` is the URL for messages.
///
/// # Errors
/// [`StorageError::Connect`] when the folder or file cannot be created or no connection
/// could be opened within the pool timeout.
pub(crate) fn open_pool(
    path: &str,
    shown_url: &str,
    settings: &PoolSettings,
    statement_timeout: Duration,
) -> Result<ConnectionPool, StorageError> {
    if let Some(folder) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        create_private_dir(folder).map_err(|e| {
            StorageError::Connect(format!(
                "{shown_url}: cannot create the folder {}: {e}",
                folder.display()
            ))
        })?;
    }
    create_private_file(Path::new(path)).map_err(|e| {
        StorageError::Connect(format!("{shown_url}: cannot create the database file: {e}"))
    })?;
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
        .build(Manager::new(
            EngineKind::Sqlite,
            path.to_owned(),
            statement_timeout,
        ))
        .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))
}

impl Engine for SqliteConnection {
    /// `BEGIN IMMEDIATE`: the database's one write lock, taken up front, so that a writer
    /// never fails upgrading from reading to writing.
    fn begin_write(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::begin_transaction_sql(self, "BEGIN IMMEDIATE")
    }

    /// `BEGIN DEFERRED`: reads one WAL snapshot from its first statement on.
    fn begin_read(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::begin_transaction_sql(self, "BEGIN DEFERRED")
    }

    /// They run in one write transaction, so two processes starting together on the same
    /// file apply them once: the second waits for the first (its busy timeout set to
    /// `lock_wait` for the migrations), then finds nothing pending.
    fn run_migrations(&mut self, lock_wait: Duration) -> Result<Vec<String>, String> {
        let wait_ms = u32::try_from(lock_wait.as_millis()).unwrap_or(u32::MAX);
        self.batch_execute(&format!("PRAGMA busy_timeout = {wait_ms}"))
            .map_err(|e| e.to_string())?;
        self.immediate_transaction(|conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
        })
        .map_err(|e: Box<dyn std::error::Error + Send + Sync>| {
            let message = e.to_string();
            if is_transient(&message) {
                format!(
                    "another connection held the database's write lock for longer than {} \
                     (another instance migrating, or a long write): {message}",
                    humantime::format_duration(lock_wait)
                )
            } else {
                message
            }
        })
    }

    /// A plain read: the write transaction (`BEGIN IMMEDIATE`) already excludes every other
    /// writer, and SQLite has no row locks.
    fn lock_task_for_update(
        &mut self,
        member: SqlUuid,
        id: SqlUuid,
    ) -> QueryResult<Option<TaskRow>> {
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::trashed_at.is_null())
            .filter(crate::access::is_member_of_tasks_list(member))
            .select(TaskRow::as_select())
            .first(self)
            .optional()
    }

    /// A plain read: the write transaction excludes every other writer.
    fn lock_access(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>> {
        self.lock_membership(list, member)
    }

    /// A plain read: the write transaction excludes every other writer.
    fn lock_list_of_task(&mut self, member: SqlUuid, id: SqlUuid) -> QueryResult<Option<SqlUuid>> {
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::trashed_at.is_null())
            .filter(crate::access::is_member_of_tasks_list(member))
            .select(tasks::list_id)
            .first(self)
            .optional()
    }

    /// A plain read: the write transaction excludes every other writer.
    fn lock_membership(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>> {
        crate::access::access_query(list, member)
            .first(self)
            .optional()
    }

    /// Nothing to do: the write transaction already serialises every writer.
    fn lock_list(&mut self, _list: SqlUuid) -> QueryResult<()> {
        Ok(())
    }

    /// A plain read: the write transaction excludes every other writer.
    fn lock_list_for_update(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(ListRow, String)>> {
        crate::access::list_with_role(list, member)
            .first(self)
            .optional()
    }

    /// Nothing to do: the write transaction already serialises every writer.
    fn lock_sibling_order(&mut self, _list: SqlUuid) -> QueryResult<()> {
        Ok(())
    }

    /// Nothing to do: the write transaction already serialises every writer.
    fn lock_owner(&mut self, _owner: SqlUuid) -> QueryResult<()> {
        Ok(())
    }

    /// Nothing to do: the write transaction already serialises every writer.
    fn lock_active_admins(&mut self) -> QueryResult<()> {
        Ok(())
    }

    /// Every committed row is final (one writer at a time — the group commit's leader — so row numbers are in commit
    /// order); the present is the newest row's number.
    fn change_horizon(&mut self) -> QueryResult<ChangeHorizon> {
        let newest: Option<i64> = changes::table
            .select(diesel::dsl::max(changes::seq))
            .first(self)?;
        Ok(ChangeHorizon {
            before_txn: i64::MAX,
            present: ChangePosition {
                txn: 0,
                seq: newest.unwrap_or(0),
            },
        })
    }

    #[cfg(feature = "test-support")]
    fn run_migrations_before(&mut self, version: &str) -> Result<Vec<String>, String> {
        self.run_pending_migrations(super::MigrationsBefore {
            all: MIGRATIONS,
            version,
        })
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| e.to_string())
    }

    fn list_lists(
        &mut self,
        params: &crate::lists::ListListParams,
    ) -> QueryResult<Vec<(ListRow, String)>> {
        crate::lists::lists_query!(Sqlite, params).load(self)
    }

    fn list_tasks(&mut self, params: &ListParams, phase: Phase) -> QueryResult<Vec<TaskRow>> {
        list_query!(Sqlite, params, phase, true).load(self)
    }

    /// `EXPLAIN QUERY PLAN`'s details (SQLite's planner has no settings to force).
    #[cfg(feature = "test-support")]
    fn explain_list_tasks(
        &mut self,
        params: &ListParams,
        phase: Phase,
        _as_planned: bool,
    ) -> QueryResult<Vec<String>> {
        use diesel::sql_types::{Integer, Text};
        // id, parent, notused, detail.
        let plan: Vec<(i32, i32, i32, String)> =
            super::Explain::<_, (Integer, Integer, Integer, Text)>::new(
                "EXPLAIN QUERY PLAN ",
                list_query!(Sqlite, params, phase, true),
            )
            .load(self)?;
        Ok(plan.into_iter().map(|(_, _, _, detail)| detail).collect())
    }

    /// `EXPLAIN QUERY PLAN`'s details.
    #[cfg(feature = "test-support")]
    fn explain_change_feed(
        &mut self,
        reader: SqlUuid,
        after: (i64, i64),
        before_txn: i64,
    ) -> QueryResult<Vec<String>> {
        use diesel::sql_types::{Integer, Text};
        let plan: Vec<(i32, i32, i32, String)> =
            super::Explain::<_, (Integer, Integer, Integer, Text)>::new(
                "EXPLAIN QUERY PLAN ",
                crate::changes::feed(reader, after.0, after.1, before_txn, 101),
            )
            .load(self)?;
        Ok(plan.into_iter().map(|(_, _, _, detail)| detail).collect())
    }

    /// `EXPLAIN QUERY PLAN`'s details.
    #[cfg(feature = "test-support")]
    fn explain_trash_page(
        &mut self,
        member: SqlUuid,
        only: Option<SqlUuid>,
        seek: Option<SqlUuid>,
        after: Option<(crate::sql_types::SqlTimestamp, SqlUuid)>,
    ) -> QueryResult<Vec<String>> {
        use diesel::sql_types::{Integer, Text};
        let plan: Vec<(i32, i32, i32, String)> =
            crate::trash::trash_page!(member, only, seek, after, 51, |page| {
                super::Explain::<_, (Integer, Integer, Integer, Text)>::new(
                    "EXPLAIN QUERY PLAN ",
                    page,
                )
                .load(self)
            })?;
        Ok(plan.into_iter().map(|(_, _, _, detail)| detail).collect())
    }

    /// `EXPLAIN QUERY PLAN`'s details.
    #[cfg(feature = "test-support")]
    fn explain_purge(
        &mut self,
        purge: crate::purge::Purge,
        at: crate::sql_types::SqlTimestamp,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        use diesel::sql_types::{Integer, Text};
        let plan: Vec<(i32, i32, i32, String)> =
            crate::purge::purge_batch!(purge, at, limit, |statement| {
                super::Explain::<_, (Integer, Integer, Integer, Text)>::new(
                    "EXPLAIN QUERY PLAN ",
                    statement,
                )
                .load(self)
            })?;
        Ok(plan.into_iter().map(|(_, _, _, detail)| detail).collect())
    }
}

/// "database is locked" / "database is busy": the busy timeout ran out.
///
/// "interrupted": a statement ran out of `database.statement_timeout`.
pub(crate) fn is_transient(message: &str) -> bool {
    message.contains("interrupted")
        || message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("database table is locked")
}
