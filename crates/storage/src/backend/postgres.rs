//! PostgreSQL: the pool, embedded migrations, its [`Engine`] statements, and which errors
//! mean "the server is away".

use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use taskapi_domain::Role;

use super::{ConnectionPool, Engine, EngineKind, Manager};
use taskapi_domain::ChangePosition;

use crate::PoolSettings;
use crate::changes::ChangeHorizon;
use crate::errors::StorageError;
use crate::listing::{ListParams, Phase, list_query};
use crate::rows::{ListRow, TaskRow};
use crate::schema::{tasks, users};
use crate::sql_types::SqlUuid;

/// The PostgreSQL migrations, compiled into the binary.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the advisory lock that serialises migrations between instances starting together.
const MIGRATION_LOCK: i64 = 0x0074_6173_6b61_7069; // "taskapi" in ASCII

/// The first key of the advisory locks that order a list's siblings ("task" in ASCII); the
/// second is the list's (see [`Engine::lock_sibling_order`]).
const SIBLING_ORDER_LOCK: i32 = 0x7461_736b;

/// How long a connection may sit idle in the pool before it is checked (`SELECT 1`) on its
/// next checkout. Connections in steady use skip the check (a round trip per request);
/// one idle across a server restart, a failover or a proxy's idle timeout is found dead
/// before a request is given it. A connection that fails mid-request is closed at once
/// (see [`crate::pool`]).
pub(crate) const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The libpq URL taskapi connects with: `url` plus the client timeouts the operator did not
/// set, each derived from `statement_timeout` (whole seconds, rounded up, where libpq wants
/// seconds), so that a server that stops answering without closing the connection (a
/// partition, a dropped route) is noticed within about that time:
///
/// - `connect_timeout` — opening a connection (libpq's minimum is 2 s);
/// - `keepalives=1`, `keepalives_idle=1`, `keepalives_interval=1`, `keepalives_count` — an
///   idle connection whose peer stops answering probes is closed after that many seconds;
/// - `tcp_user_timeout` — sent data that stays unacknowledged that long closes the
///   connection (milliseconds).
pub(crate) fn conninfo(url: &str, statement_timeout: Duration) -> String {
    let seconds = statement_timeout.as_secs() + u64::from(statement_timeout.subsec_nanos() > 0);
    let millis = u64::try_from(statement_timeout.as_millis()).unwrap_or(u64::MAX);
    let defaults = [
        ("connect_timeout", seconds.max(2)),
        ("keepalives", 1),
        ("keepalives_idle", 1),
        ("keepalives_interval", 1),
        ("keepalives_count", seconds.saturating_sub(1).max(1)),
        ("tcp_user_timeout", millis.max(1)),
    ];
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let given: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut conninfo = url.to_owned();
    for (key, value) in defaults {
        if given.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        conninfo.push(if conninfo.contains('?') { '&' } else { '?' });
        conninfo.push_str(&format!("{key}={value}"));
    }
    conninfo
}

/// Opens a connection to `url` (a [`conninfo`]) whose statements the server cancels after
/// `statement_timeout` (`None`: no limit, for migrations).
///
/// # Errors
/// libpq's when the connection cannot be opened; the server's when the setting is refused.
pub(crate) fn establish(
    url: &str,
    statement_timeout: Option<Duration>,
) -> Result<PgConnection, diesel::r2d2::Error> {
    let mut conn = PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
    let millis = statement_timeout.map_or(0, |limit| limit.as_millis().max(1));
    conn.batch_execute(&format!("SET statement_timeout = {millis}"))
        .map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

/// Opens a pool of connections to the server at `url` (a [`conninfo`]). `shown_url` is the
/// URL for messages.
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
    statement_timeout: Duration,
) -> Result<ConnectionPool, StorageError> {
    r2d2::Pool::builder()
        .max_size(settings.size)
        .connection_timeout(settings.timeout)
        .test_on_check_out(false)
        .build(Manager::new(
            EngineKind::Postgres,
            url.to_owned(),
            statement_timeout,
        ))
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
    /// migrates, the others find nothing pending. The lock is tried (`pg_try_advisory_lock`)
    /// again and again until `lock_wait` has passed, so that an instance never waits
    /// unboundedly behind one that is stuck holding it.
    fn run_migrations(&mut self, lock_wait: Duration) -> Result<Vec<String>, String> {
        #[derive(diesel::QueryableByName)]
        struct Locked {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            locked: bool,
        }
        let deadline = Instant::now() + lock_wait;
        let mut pause = Duration::from_millis(20);
        loop {
            let attempt = diesel::sql_query(format!(
                "SELECT pg_try_advisory_lock({MIGRATION_LOCK}) AS locked"
            ))
            .get_result::<Locked>(self)
            .map_err(|e| e.to_string())?;
            if attempt.locked {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "another session has held the migration lock (PostgreSQL advisory lock \
                     {MIGRATION_LOCK}) for longer than {}: another instance is migrating or \
                     stuck doing so",
                    humantime::format_duration(lock_wait)
                ));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(250));
        }
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
        member: SqlUuid,
        id: SqlUuid,
    ) -> QueryResult<Option<TaskRow>> {
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::trashed_at.is_null())
            .filter(crate::access::is_member_of_tasks_list(member))
            .select(TaskRow::as_select())
            .for_update()
            .first(self)
            .optional()
    }

    /// `SELECT … FOR SHARE` of the membership and the list: a removal, a role change or
    /// archiving waits for the write this allows to commit, and answers only after it.
    ///
    /// The list's row is locked first and alone: every writer takes the list before any
    /// membership (and before any task), so that no two writers wait for each other.
    fn lock_access(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>> {
        crate::schema::lists::table
            .filter(crate::schema::lists::id.eq(list))
            .select(crate::schema::lists::id)
            .for_share()
            .load::<SqlUuid>(self)?;
        self.lock_membership(list, member)
    }

    /// `SELECT … FOR SHARE` of the list whose id a subquery finds. The subquery reads the
    /// statement's snapshot, so a task moved meanwhile is found in the list it left (its
    /// writer, which holds that list too, reads the task again under its own lock and
    /// sees the move); the membership is read by a later statement, which sees every
    /// change that committed before the lock was granted.
    fn lock_list_of_task(&mut self, member: SqlUuid, id: SqlUuid) -> QueryResult<Option<SqlUuid>> {
        use crate::schema::lists;
        let list_of_task = tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::trashed_at.is_null())
            .filter(crate::access::is_member_of_tasks_list(member))
            .select(tasks::list_id)
            .single_value();
        lists::table
            .filter(lists::id.nullable().eq(list_of_task))
            .select(lists::id)
            .for_share()
            .first(self)
            .optional()
    }

    /// `SELECT … FOR SHARE` of the membership (joined with the list, for `archived`).
    fn lock_membership(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>> {
        crate::access::access_query(list, member)
            .for_share()
            .first(self)
            .optional()
    }

    fn lock_list(&mut self, list: SqlUuid) -> QueryResult<()> {
        crate::schema::lists::table
            .filter(crate::schema::lists::id.eq(list))
            .select(crate::schema::lists::id)
            .for_update()
            .load::<SqlUuid>(self)?;
        Ok(())
    }

    /// The list's row first and alone, as [`Engine::lock_access`] takes it.
    fn lock_list_for_update(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(ListRow, String)>> {
        self.lock_list(list)?;
        crate::access::list_with_role(list, member)
            .for_update()
            .first(self)
            .optional()
    }

    /// A transaction-scoped advisory lock on the list (`pg_advisory_xact_lock` with the
    /// two-key form: [`SIBLING_ORDER_LOCK`] and the list id folded to 32 bits; lists whose
    /// ids fold alike merely take turns). Unlike a row lock on the list, it leaves updates of
    /// the list's other tasks, which hold the list `FOR SHARE`, free to run alongside. Writes
    /// run at `READ COMMITTED`, so the statements after it see what the previous holder
    /// committed.
    fn lock_sibling_order(&mut self, list: SqlUuid) -> QueryResult<()> {
        let bytes = list.0.as_bytes();
        let folded = bytes.chunks_exact(4).fold(0_u32, |acc, chunk| {
            acc ^ u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])
        });
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<diesel::sql_types::Integer, _>(SIBLING_ORDER_LOCK)
            .bind::<diesel::sql_types::Integer, _>(i32::from_ne_bytes(folded.to_ne_bytes()))
            .execute(self)
            .map(drop)
    }

    /// `SELECT … FOR NO KEY UPDATE` of the account: its concurrent task inserts queue here.
    /// Not `FOR UPDATE`, which would also make it wait for (and be waited for by) the key
    /// share that every foreign key check on the account takes: a task write records its
    /// change for each member of the list, checking each member's account, so two members
    /// creating tasks in a list they share would each hold their own account and wait for
    /// the other's — a deadlock.
    fn lock_owner(&mut self, owner: SqlUuid) -> QueryResult<()> {
        users::table
            .filter(users::id.eq(owner))
            .select(users::id)
            .for_no_key_update()
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

    /// `pg_snapshot_xmin` of the snapshot: every transaction with a lower id has ended, so
    /// its rows are all visible and no row with a lower `txn` can ever be committed; every
    /// transaction still running or yet to come has that id or a higher one. The present
    /// is just before that id's first row.
    fn change_horizon(&mut self) -> QueryResult<ChangeHorizon> {
        #[derive(diesel::QueryableByName)]
        struct Xmin {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            xmin: i64,
        }
        let Xmin { xmin } = diesel::sql_query(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin",
        )
        .get_result(self)?;
        Ok(ChangeHorizon {
            before_txn: xmin,
            present: ChangePosition { txn: xmin, seq: 0 },
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
        crate::lists::lists_query!(Pg, params).load(self)
    }

    fn list_tasks(&mut self, params: &ListParams, phase: Phase) -> QueryResult<Vec<TaskRow>> {
        list_query!(Pg, params, phase, false).load(self)
    }

    /// `EXPLAIN`'s lines, with sequential scans, sorts and bitmap scans disabled for the
    /// statement's transaction (see [`PLAN_SETTINGS`]) unless `as_planned`.
    #[cfg(feature = "test-support")]
    fn explain_list_tasks(
        &mut self,
        params: &ListParams,
        phase: Phase,
        as_planned: bool,
    ) -> QueryResult<Vec<String>> {
        self.transaction(|conn| {
            if !as_planned {
                conn.batch_execute(PLAN_SETTINGS)?;
            }
            super::Explain::<_, diesel::sql_types::Text>::new(
                "EXPLAIN ",
                list_query!(Pg, params, phase, false),
            )
            .load(conn)
        })
    }

    /// `EXPLAIN`'s lines, planned as [`Engine::explain_list_tasks`] plans its.
    #[cfg(feature = "test-support")]
    fn explain_change_feed(
        &mut self,
        reader: SqlUuid,
        after: (i64, i64),
        before_txn: i64,
    ) -> QueryResult<Vec<String>> {
        self.transaction(|conn| {
            conn.batch_execute(PLAN_SETTINGS)?;
            super::Explain::<_, diesel::sql_types::Text>::new(
                "EXPLAIN ",
                crate::changes::feed(reader, after.0, after.1, before_txn, 101),
            )
            .load(conn)
        })
    }

    /// `EXPLAIN`'s lines, planned as [`Engine::explain_list_tasks`] plans its.
    #[cfg(feature = "test-support")]
    fn explain_trash_page(
        &mut self,
        member: SqlUuid,
        only: Option<SqlUuid>,
        seek: Option<SqlUuid>,
        after: Option<(crate::sql_types::SqlTimestamp, SqlUuid)>,
    ) -> QueryResult<Vec<String>> {
        self.transaction(|conn| {
            conn.batch_execute(PLAN_SETTINGS)?;
            crate::trash::trash_page!(member, only, seek, after, 51, |page| {
                super::Explain::<_, diesel::sql_types::Text>::new("EXPLAIN ", page).load(conn)
            })
        })
    }

    /// `EXPLAIN`'s lines, planned with [`PLAN_SETTINGS`].
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
        "canceling statement due to statement timeout",
        "could not serialize access",
        "deadlock detected",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_timeouts_follow_the_statement_timeout_unless_the_url_sets_them() {
        assert_eq!(
            conninfo("postgres://app@db/tasks", Duration::from_millis(4_500)),
            "postgres://app@db/tasks?connect_timeout=5&keepalives=1&keepalives_idle=1\
             &keepalives_interval=1&keepalives_count=4&tcp_user_timeout=4500"
        );
        // What the operator wrote stays; the rest is added after it.
        assert_eq!(
            conninfo(
                "postgres://app@db/tasks?sslmode=require&Connect_Timeout=30&keepalives=0",
                Duration::from_secs(1),
            ),
            "postgres://app@db/tasks?sslmode=require&Connect_Timeout=30&keepalives=0\
             &keepalives_idle=1&keepalives_interval=1&keepalives_count=1&tcp_user_timeout=1000"
        );
    }
}
