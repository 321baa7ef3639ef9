//! The seam between the repositories and the database engines.
//!
//! Repositories are written once against [`DbConnection`], a `#[derive(MultiConnection)]`
//! enum over SQLite and PostgreSQL connections, and the helpers here; they never look at
//! which engine they run on. Everything that differs per engine (opening, per-connection
//! settings, migrations, how transactions start, row locks, which errors are transient)
//! lives in one module per backend: [`sqlite`] and [`postgres`] implement [`Engine`], and
//! [`DbConnection::engine`] is the one dispatch point.

#[cfg(feature = "test-support")]
mod explain;
pub(crate) mod postgres;
pub(crate) mod sqlite;
mod sqlite_budget;

#[cfg(feature = "test-support")]
use explain::Explain;

use std::time::{Duration, Instant};

use diesel::connection::{Connection, TransactionManager};
use diesel::query_dsl::methods::{ExecuteDsl, LoadQuery};
use diesel::result::Error as DieselError;
use diesel::{PgConnection, QueryResult, SqliteConnection};

use crate::listing::{ListParams, Phase};
use crate::rows::{ListRow, TaskRow};
use crate::sql_types::SqlUuid;

/// The embedded migrations older than `version` (its digits), for tests of a migration on
/// data of the schema before it.
#[cfg(feature = "test-support")]
pub(crate) struct MigrationsBefore<'a> {
    pub(crate) all: diesel_migrations::EmbeddedMigrations,
    pub(crate) version: &'a str,
}

#[cfg(feature = "test-support")]
impl<DB: diesel::backend::Backend> diesel::migration::MigrationSource<DB> for MigrationsBefore<'_>
where
    diesel_migrations::EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>> {
        let all = diesel::migration::MigrationSource::<DB>::migrations(&self.all)?;
        Ok(all
            .into_iter()
            .filter(|m| m.name().version().to_string().as_str() < self.version)
            .collect())
    }
}

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
pub(crate) enum EngineKind {
    /// `sqlite://PATH`.
    Sqlite,
    /// `postgres://…`.
    Postgres,
}

/// Opens connections of one engine for r2d2 (the derived `establish` would guess the engine
/// from whichever connection type accepts the URL first), each with the engine's settings
/// and its statement time budget.
#[derive(Debug, Clone)]
pub(crate) struct Manager {
    engine: EngineKind,
    target: String,
    /// `database.statement_timeout`; `None` for connections that run migrations.
    statement_timeout: Option<Duration>,
}

impl Manager {
    /// A manager opening `target` (a file path for SQLite, a libpq URL for PostgreSQL) with
    /// every statement limited to `statement_timeout`.
    pub(crate) fn new(engine: EngineKind, target: String, statement_timeout: Duration) -> Self {
        Self {
            engine,
            target,
            statement_timeout: Some(statement_timeout),
        }
    }

    /// The same manager, opening connections whose statements have no time limit (for
    /// migrations, which may rebuild an index of every row).
    pub(crate) fn unlimited(&self) -> Self {
        Self {
            statement_timeout: None,
            ..self.clone()
        }
    }

    /// Opens one connection, with the engine's settings applied.
    pub(crate) fn open(&self) -> Result<ManagedConnection, diesel::r2d2::Error> {
        let (conn, budget) = match self.engine {
            EngineKind::Sqlite => sqlite::establish(&self.target, self.statement_timeout)
                .map_err(diesel::r2d2::Error::ConnectionError)
                .map(|(conn, budget)| (DbConnection::Sqlite(conn), budget))?,
            EngineKind::Postgres => (
                DbConnection::Postgres(postgres::establish(&self.target, self.statement_timeout)?),
                None,
            ),
        };
        Ok(ManagedConnection {
            conn,
            returned_at: Instant::now(),
            lost: false,
            _budget: budget,
        })
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
    /// SQLite's statement budget, which its callbacks point to: declared after `conn` so
    /// that it is dropped after the connection is closed.
    _budget: Option<Box<sqlite_budget::Budget>>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = ManagedConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<ManagedConnection, Self::Error> {
        self.open()
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

/// What differs per engine: every statement that is not the same on SQLite and
/// PostgreSQL, implemented by `SqliteConnection` in [`sqlite`] and `PgConnection` in
/// [`postgres`], and reached through [`DbConnection::engine`].
///
/// A trait rather than one dispatching function per operation: the compiler then checks
/// that every engine has every statement, and [`DbConnection::engine`] is the one place
/// that looks at which engine a connection is to. Its methods take no type parameters, so
/// that it can be used as `dyn Engine`.
pub(crate) trait Engine {
    /// Begins a write transaction (see [`write_transaction`]).
    fn begin_write(&mut self) -> QueryResult<()>;

    /// Begins a read-only transaction whose statements all see one snapshot (see
    /// [`read_transaction`]).
    fn begin_read(&mut self) -> QueryResult<()>;

    /// Applies the pending embedded migrations, returning their versions. Instances that
    /// start together take turns; one that waits for its turn longer than `lock_wait` gives
    /// up with a message that says so.
    fn run_migrations(&mut self, lock_wait: Duration) -> Result<Vec<String>, String>;

    /// The task, if `member` is a member of its list, locked against other writers until
    /// the write transaction ends.
    fn lock_task_for_update(
        &mut self,
        member: SqlUuid,
        id: SqlUuid,
    ) -> QueryResult<Option<TaskRow>>;

    /// The list of the live task `id`, if `member` is a member of it, with the list locked
    /// as [`Engine::lock_access`] locks it, in one statement (the list found and locked
    /// together: the round trip a task write would otherwise spend finding it first). The
    /// membership is read afterwards, under that lock, with [`Engine::lock_membership`].
    fn lock_list_of_task(&mut self, member: SqlUuid, id: SqlUuid) -> QueryResult<Option<SqlUuid>>;

    /// `member`'s role in `list` and whether it is archived, if they are a member, with the
    /// membership locked as [`Engine::lock_access`] locks it; for a list this transaction
    /// already holds ([`Engine::lock_list_of_task`]).
    fn lock_membership(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>>;

    /// `member`'s role in the list and whether it is archived, if they are a member; the
    /// membership and the list locked against changes (removal, role change, archiving)
    /// until the write transaction ends, so that what they allow stays true until it
    /// commits.
    fn lock_access(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(String, bool)>>;

    /// Locks the list's row until the write transaction ends: every change of its
    /// memberships takes it first, so they take turns.
    fn lock_list(&mut self, list: SqlUuid) -> QueryResult<()>;

    /// The list and `member`'s role in it, if they are a member, both locked against other
    /// writers until the write transaction ends.
    fn lock_list_for_update(
        &mut self,
        list: SqlUuid,
        member: SqlUuid,
    ) -> QueryResult<Option<(ListRow, String)>>;

    /// Makes writers that place tasks among the siblings of `list` (a new subtask going last,
    /// a move, a restore from the trash) take turns until the write transaction ends, so that
    /// each reads the neighbours' positions after the previous one committed and no two
    /// get the same position. Taken after the list's access ([`Engine::lock_access`]) and
    /// before any task row; other writers of the list's tasks do not wait for it.
    fn lock_sibling_order(&mut self, list: SqlUuid) -> QueryResult<()>;

    /// Locks the account's row until the write transaction ends, so that two inserts that
    /// each count the account's tasks against its quota take turns.
    fn lock_owner(&mut self, owner: SqlUuid) -> QueryResult<()>;

    /// Locks every enabled administrator's row until the write transaction ends, so that
    /// two changes that each take an administrator away cannot both see the other one
    /// still there.
    fn lock_active_admins(&mut self) -> QueryResult<()>;

    /// How far a read of the change log may go in this transaction's snapshot (see
    /// [`crate::changes`]). Called first in a read transaction, so that it is the
    /// snapshot's own, or alone (for the present).
    fn change_horizon(&mut self) -> QueryResult<crate::changes::ChangeHorizon>;
    /// Applies, on a fresh database, the embedded migrations older than `version` (as
    /// digits, `20261204010000`), for tests of a migration on data of the schema before it.
    #[cfg(feature = "test-support")]
    fn run_migrations_before(&mut self, version: &str) -> Result<Vec<String>, String>;

    /// One page of a member's lists, each with their role in it.
    fn list_lists(
        &mut self,
        params: &crate::lists::ListListParams,
    ) -> QueryResult<Vec<(ListRow, String)>>;

    /// One phase of a task listing (see [`crate::listing`]).
    fn list_tasks(&mut self, params: &ListParams, phase: Phase) -> QueryResult<Vec<TaskRow>>;

    /// The plan of one phase of a task listing, as the engine's `EXPLAIN` words it; with
    /// `as_planned`, with the planner's own choices (no plan settings forced).
    #[cfg(feature = "test-support")]
    fn explain_list_tasks(
        &mut self,
        params: &ListParams,
        phase: Phase,
        as_planned: bool,
    ) -> QueryResult<Vec<String>>;

    /// The plan of the change feed's read (see [`crate::changes::feed`]), as `EXPLAIN`
    /// words it.
    #[cfg(feature = "test-support")]
    fn explain_change_feed(
        &mut self,
        reader: SqlUuid,
        after: (i64, i64),
        before_txn: i64,
    ) -> QueryResult<Vec<String>>;

    /// The plan of one page of a member's trash (see [`crate::trash`]), as `EXPLAIN` words
    /// it.
    #[cfg(feature = "test-support")]
    fn explain_trash_page(
        &mut self,
        member: SqlUuid,
        only: Option<SqlUuid>,
        seek: Option<SqlUuid>,
        after: Option<(crate::sql_types::SqlTimestamp, SqlUuid)>,
    ) -> QueryResult<Vec<String>>;

    /// The plan of one batch of a purge (see [`crate::purge`]), as `EXPLAIN` words it.
    #[cfg(feature = "test-support")]
    fn explain_purge(
        &mut self,
        purge: crate::purge::Purge,
        at: crate::sql_types::SqlTimestamp,
        limit: i64,
    ) -> QueryResult<Vec<String>>;
}

impl DbConnection {
    /// The connection's engine: the one place that matches on it.
    pub(crate) fn engine(&mut self) -> &mut dyn Engine {
        match self {
            DbConnection::Sqlite(conn) => conn,
            DbConnection::Postgres(conn) => conn,
        }
    }
}

/// `UPDATE table SET … WHERE … RETURNING …`, written so that the connection's
/// prepared-statement cache keeps it (keyed by its text): diesel leaves every `UPDATE` of
/// its own out of the cache, since a changeset that skips `None` fields makes a new text
/// each time. Build it only from a changeset whose text cannot vary (`treat_none_as_null`,
/// every column always set) and a filter without `IN` lists. Without it SQLite compiled the
/// statement — and the search index's trigger coded into it — for every task update, a
/// quarter of a `PATCH`'s instructions; PostgreSQL parsed and planned it again each time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachedUpdate<S, W, R> {
    table: &'static str,
    set: S,
    filter: W,
    returning: R,
}

impl<S, W, R> CachedUpdate<S, W, R> {
    /// The statement updating `table` (its SQL name) with the changeset `set` where
    /// `filter` holds, returning `returning`.
    pub(crate) fn new<C>(table: &'static str, set: C, filter: W, returning: R) -> Self
    where
        C: diesel::AsChangeset<Changeset = S>,
    {
        Self {
            table,
            set: set.as_changeset(),
            filter,
            returning,
        }
    }
}

impl<S, W, R> CachedUpdate<S, W, R> {
    /// Runs it on the engine's own connection and returns the one row it updated;
    /// `NotFound` when the filter matched none.
    ///
    /// # Errors
    /// The database's, or `NotFound`.
    pub(crate) fn get_one<U>(self, conn: &mut DbConnection) -> QueryResult<U>
    where
        Self: for<'q> LoadQuery<'q, SqliteConnection, U> + for<'q> LoadQuery<'q, PgConnection, U>,
    {
        load_natively(conn, self)?
            .into_iter()
            .next()
            .ok_or(DieselError::NotFound)
    }
}

impl<S, W, R, DB> diesel::query_builder::QueryFragment<DB> for CachedUpdate<S, W, R>
where
    DB: diesel::backend::Backend,
    S: diesel::query_builder::QueryFragment<DB>,
    W: diesel::query_builder::QueryFragment<DB>,
    R: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        out.push_identifier(self.table)?;
        out.push_sql(" SET ");
        self.set.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())
    }
}

impl<S, W, R> diesel::query_builder::QueryId for CachedUpdate<S, W, R> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, W, R: diesel::Expression> diesel::query_builder::Query for CachedUpdate<S, W, R> {
    type SqlType = R::SqlType;
}

impl<S, W, R, Conn> diesel::query_dsl::RunQueryDsl<Conn> for CachedUpdate<S, W, R> {}

/// Loads `query`'s rows on the engine's own connection. For statements that are written
/// the same for both engines but that diesel's multi-backend connection cannot run (a list
/// of binds for `IN`) or would serialise a second time to find its cached statement.
pub(crate) fn load_natively<Q, U>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<U>>
where
    Q: for<'q> LoadQuery<'q, SqliteConnection, U> + for<'q> LoadQuery<'q, PgConnection, U>,
{
    match conn {
        DbConnection::Sqlite(conn) => query.load(conn),
        DbConnection::Postgres(conn) => query.load(conn),
    }
}

/// Executes `statement` on the engine's own connection, returning the rows it affected: for
/// statements written the same for both engines that diesel's multi-backend connection
/// cannot express (multi-row `INSERT`, `ON CONFLICT DO NOTHING`).
pub(crate) fn execute_natively<S>(conn: &mut DbConnection, statement: S) -> QueryResult<usize>
where
    S: ExecuteDsl<SqliteConnection> + ExecuteDsl<PgConnection>,
{
    match conn {
        DbConnection::Sqlite(conn) => ExecuteDsl::execute(statement, conn),
        DbConnection::Postgres(conn) => ExecuteDsl::execute(statement, conn),
    }
}

/// Runs `f` in a write transaction. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so that concurrent writers queue (bounded by the busy timeout)
/// instead of failing when they upgrade from reading to writing; PostgreSQL's row locks need
/// no such care. Repositories call it through [`crate::pool::DbPool::write`]; on SQLite that
/// batches the writes of this process instead (group commit: one `begin_write` for a batch,
/// a savepoint for each write).
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    conn.engine().begin_write()?;
    let outcome = f(conn);
    end_transaction(conn, outcome)
}

/// Runs `f` in a read-only transaction whose statements all see one snapshot of the
/// database. SQLite's (deferred) transaction reads one WAL snapshot from its first statement
/// on; PostgreSQL needs `REPEATABLE READ` for that, since its default `READ COMMITTED` gives
/// every statement a snapshot of its own. `READ ONLY` makes a stray write an error.
/// Repositories call it through [`crate::pool::DbPool::read`].
pub(crate) fn read_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    conn.engine().begin_read()?;
    let outcome = f(conn);
    end_transaction(conn, outcome)
}

/// Ends the transaction begun on `conn` with what was done in it: commits it after
/// success, rolls it back after a failure.
pub(crate) fn end_transaction<T, E>(conn: &mut DbConnection, outcome: Result<T, E>) -> Result<T, E>
where
    E: From<DieselError>,
{
    match outcome {
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
mod cached_update_tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;

    use super::CachedUpdate;

    diesel::table! {
        notes (id) {
            id -> Integer,
            body -> Text,
            version -> Integer,
        }
    }

    /// A `notes` row.
    type Note = (i32, String, i32);

    /// What three runs of `update` return, and the statements the connection put into its
    /// cache meanwhile (by their text).
    fn run_thrice(
        update: impl Fn(&mut SqliteConnection) -> QueryResult<Vec<Note>>,
    ) -> (Vec<Vec<Note>>, Vec<String>) {
        let mut conn = SqliteConnection::establish(":memory:").unwrap_or_else(|e| panic!("{e}"));
        conn.batch_execute(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL);
             INSERT INTO notes VALUES (1, 'a', 1), (2, 'z', 1);",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let cached = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&cached);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event
                && let Ok(mut seen) = seen.lock()
            {
                seen.push(sql.to_owned());
            }
        });
        let returned = (0..3)
            .map(|_| update(&mut conn).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        (
            returned,
            cached.lock().map(|c| c.clone()).unwrap_or_default(),
        )
    }

    #[test]
    fn an_update_is_prepared_once_and_does_what_diesels_own_does() {
        let (theirs, plain) = run_thrice(|conn| {
            diesel::update(notes::table.filter(notes::id.eq(1)))
                .set((notes::body.eq("b"), notes::version.eq(notes::version + 1)))
                .returning(notes::all_columns)
                .load(conn)
        });
        assert!(
            plain.iter().all(|sql| !sql.starts_with("UPDATE")),
            "diesel caches its updates by itself now: CachedUpdate may go ({plain:?})"
        );
        let (ours, cached) = run_thrice(|conn| {
            CachedUpdate::new(
                "notes",
                (notes::body.eq("b"), notes::version.eq(notes::version + 1)),
                notes::id.eq(1),
                notes::all_columns,
            )
            .load(conn)
        });
        assert_eq!(ours, theirs);
        assert_eq!(ours[2], vec![(1, "b".to_owned(), 4)]);
        let updates: Vec<&String> = cached.iter().filter(|s| s.starts_with("UPDATE")).collect();
        assert_eq!(
            updates.len(),
            1,
            "prepared once, then taken from the cache: {cached:?}"
        );
    }
}
