//! Test support, not a stable API, compiled only with the `test-support` feature (which
//! only the dev-only `taskapi-storage-testing` crate turns on, so the shipped library has
//! none of it): raw access to a pooled connection, and the plans of task listings.

use std::fmt;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use taskapi_domain::{StoreError, TaskListQuery, UserId};

use crate::backend::end_transaction;
use crate::errors::DbError;
use crate::listing::{self, ListParams};
use crate::pool::Checkout;
use crate::purge::{BATCH_ROWS, Purge};
use crate::sql_types::SqlTimestamp;
use crate::{Database, StorageError};

impl Database {
    /// Checks a connection out and keeps it until the returned value is dropped (to exhaust
    /// the pool, or to run raw SQL). Blocking.
    ///
    /// # Errors
    /// `Unavailable` when no connection became free within the pool timeout.
    pub fn hold_connection(&self) -> Result<HeldConnection, StoreError> {
        let conn = self.inner.pool.checkout()?;
        Ok(HeldConnection { conn })
    }

    /// The plan of the listing `list_for_member(member, query, limit)` runs, built by the same
    /// query builder for every phase it needs (a `due_at` listing has two), on one
    /// connection: SQLite's `EXPLAIN QUERY PLAN` details, or PostgreSQL's `EXPLAIN` lines
    /// (with sequential scans, sorts and bitmap scans disabled for the statement's
    /// transaction). The phases' plans follow one another. Blocking.
    ///
    /// # Errors
    /// When the plan cannot be had.
    pub fn explain_task_listing(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.explain(owner, query, limit, false)
    }

    /// [`Database::explain_task_listing`] with the planner's own choices on PostgreSQL (no
    /// access method disabled), as the service runs it: whether an index is *chosen*, given
    /// the tables' statistics. Blocking.
    ///
    /// # Errors
    /// When the plan cannot be had.
    pub fn explain_task_listing_as_planned(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.explain(owner, query, limit, true)
    }

    /// The plan of a read of `reader`'s change feed after the position `(txn, seq)`, as
    /// [`Database::explain_task_listing`] words plans. Blocking.
    ///
    /// # Errors
    /// When the plan cannot be had.
    pub fn explain_change_feed(
        &self,
        reader: UserId,
        after: (i64, i64),
    ) -> Result<Vec<String>, StoreError> {
        let mut held = self.hold_connection()?;
        held.conn
            .engine()
            .explain_change_feed(crate::sql_types::SqlUuid(reader.as_uuid()), after, i64::MAX)
            .map_err(|e| StoreError::from(DbError::from(e)))
    }

    fn explain(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
        as_planned: bool,
    ) -> Result<Vec<String>, StoreError> {
        let phases = listing::phases(&query);
        let mut params = ListParams::new(owner, query, limit);
        let mut held = self.hold_connection()?;
        listing::narrow_scope(&mut held.conn, &mut params)
            .map_err(|e| StoreError::from(DbError::from(e)))?;
        let mut lines = Vec::new();
        for &phase in phases {
            let plan = held
                .conn
                .engine()
                .explain_list_tasks(&params, phase, as_planned)
                .map_err(|e| StoreError::from(DbError::from(e)))?;
            lines.extend(plan);
        }
        Ok(lines)
    }
}

impl Database {
    /// Applies the migrations older than `version` (its digits, `20261204010000`) to a fresh
    /// database: the schema a database of the release before that migration has, to be
    /// populated and then migrated forward with [`Database::run_migrations`]. Blocking.
    ///
    /// # Errors
    /// When a migration fails.
    pub fn run_migrations_before(&self, version: &str) -> Result<Vec<String>, StorageError> {
        let mut conn = self
            .inner
            .migrator
            .open()
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        conn.conn
            .engine()
            .run_migrations_before(version)
            .map_err(StorageError::Migration)
    }

    /// For each housekeeping purge, the plan of one of its batches at `at`, as
    /// [`Database::explain_task_listing`] gives plans. Blocking.
    ///
    /// # Errors
    /// When a plan cannot be had.
    pub fn explain_purges(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PurgePlan>, StoreError> {
        let mut held = self.hold_connection()?;
        Purge::ALL
            .into_iter()
            .map(|purge| {
                let plan = held
                    .conn
                    .engine()
                    .explain_purge(purge, SqlTimestamp(at), BATCH_ROWS)
                    .map_err(|e| StoreError::from(DbError::from(e)))?;
                Ok(PurgePlan {
                    purge: format!("{purge:?}"),
                    index: purge.index(),
                    plan,
                })
            })
            .collect()
    }

    /// The plan of one page of `member`'s trash (`GET /trash`; with `only`, of that list;
    /// from just after `after`), narrowed as the listing narrows it, as
    /// [`Database::explain_task_listing`] gives plans. Blocking.
    ///
    /// # Errors
    /// When the plan cannot be had.
    pub fn explain_trash_page(
        &self,
        member: UserId,
        only: Option<taskapi_domain::ListId>,
        after: Option<(chrono::DateTime<chrono::Utc>, taskapi_domain::TaskId)>,
    ) -> Result<Vec<String>, StoreError> {
        let mut held = self.hold_connection()?;
        let (member, only) = (
            crate::rows::user_key(member),
            only.map(crate::rows::list_key),
        );
        let failed = |e: diesel::result::Error| StoreError::from(DbError::from(e));
        let seek = match only {
            Some(list) => Some(list),
            None => crate::trash::only_editable_list(&mut held.conn, member).map_err(failed)?,
        };
        held.conn
            .engine()
            .explain_trash_page(
                member,
                only,
                seek,
                after.map(|(at, id)| (SqlTimestamp(at), crate::rows::task_key(id))),
            )
            .map_err(failed)
    }

    /// Rows one batch of a purge deletes.
    pub const PURGE_BATCH_ROWS: i64 = BATCH_ROWS;
}

/// The plan of one batch of a housekeeping purge.
#[derive(Debug, Clone)]
pub struct PurgePlan {
    /// Which purge.
    pub purge: String,
    /// The index that must find its rows.
    pub index: &'static str,
    /// The plan's lines.
    pub plan: Vec<String>,
}

/// A pooled connection held by the caller.
pub struct HeldConnection {
    conn: Checkout,
}

impl fmt::Debug for HeldConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeldConnection")
    }
}

impl HeldConnection {
    /// Runs raw SQL statements (e.g. changes no port offers yet). Blocking.
    ///
    /// # Errors
    /// The database's error, mapped as the repositories map theirs.
    pub fn execute_sql(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .batch_execute(sql)
            .map_err(|e| StoreError::from(DbError::from(e)))
    }

    /// Runs a query that returns one integer column named `value` and returns it (e.g.
    /// `SELECT COUNT(*) AS value FROM task_tags`). Blocking.
    ///
    /// # Errors
    /// The database's error, mapped as the repositories map theirs.
    pub fn query_i64(&mut self, sql: &str) -> Result<i64, StoreError> {
        #[derive(diesel::QueryableByName)]
        struct Scalar {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            value: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Scalar>(&mut *self.conn)
            .map(|row| row.value)
            .map_err(|e| StoreError::from(DbError::from(e)))
    }

    /// Runs `f` in the read transaction that the repositories' snapshot reads use (one
    /// snapshot for all its statements; read-only on PostgreSQL), committing it when `f`
    /// succeeds and rolling it back otherwise. Blocking.
    ///
    /// # Errors
    /// What `f` returns; the database's error if the transaction cannot begin or end.
    pub fn in_read_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn
            .engine()
            .begin_read()
            .map_err(|e| StoreError::from(DbError::from(e)))?;
        let outcome = f(self).map_err(DbError::from);
        end_transaction(&mut self.conn, outcome).map_err(StoreError::from)
    }
}
