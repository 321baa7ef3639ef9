//! Test support shared by this crate's tests and the end-to-end suite; not a stable API.
//!
//! - [`PostgresTestDatabase`]: a uniquely named PostgreSQL database created for one test
//!   and dropped after it, on the server `TASKAPI_TEST_DATABASE_URL` names.
//! - [`Database::schema_shape`]: what migrations produced (tables, columns, nullability,
//!   indexes), in a form comparable across backends.
//! - [`Database::explain_task_listing`]: the plan of a task listing, exactly as
//!   `list_for_owner` builds it.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Once;

use diesel::backend::Backend;
use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Integer, SqlType, Text};
use diesel::sqlite::Sqlite;
use diesel::{Connection, PgConnection, QueryResult, QueryableByName, RunQueryDsl};
use taskapi_domain::{StoreError, TaskListQuery, UserId};

use crate::backend::DbConnection;
use crate::errors::DbError;
use crate::listing::{self, ListParams, list_query};
use crate::{Database, url};

/// The variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_URL: &str = "TASKAPI_TEST_DATABASE_URL";

/// The server URL from `TASKAPI_TEST_DATABASE_URL`, or `None` after printing (once per
/// process) that PostgreSQL tests are skipped and why.
pub fn postgres_server_url() -> Option<String> {
    static SKIP_NOTICE: Once = Once::new();
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => Some(without_tls_by_default(&url)),
        _ => {
            SKIP_NOTICE.call_once(|| {
                // Written to the real stderr, past the test harness's output capture, so
                // that the skip is visible in every run.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL tests: {TEST_DATABASE_URL} is not set \
                     (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
                );
            });
            None
        }
    }
}

/// A fresh database on the test server, dropped (with its connections) when this is.
#[derive(Debug)]
pub struct PostgresTestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl PostgresTestDatabase {
    /// Creates a uniquely named database on the server of `TASKAPI_TEST_DATABASE_URL`.
    /// `Ok(None)` when the variable is unset (the skip is announced once).
    ///
    /// # Errors
    /// When the variable is set but the server cannot be reached or refuses: tests must
    /// fail then, not skip.
    pub fn create() -> Result<Option<Self>, String> {
        let Some(server_url) = postgres_server_url() else {
            return Ok(None);
        };
        let name = format!("taskapi_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&server_url)
            .map_err(|e| format!("{TEST_DATABASE_URL}={}: {e}", url::redact(&server_url)))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| format!("creating test database {name}: {e}"))?;
        let url = with_database(&server_url, &name);
        Ok(Some(Self {
            server_url,
            name,
            url,
        }))
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for PostgresTestDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.server_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `url` with `sslmode=disable` unless it names an `sslmode` itself. Test servers are local,
/// and TLS would bring OpenSSL into every test connection: pools that are still
/// reconnecting in background threads when the test process exits then race OpenSSL's
/// exit-time clean-up, which can crash the process after every test passed.
fn without_tls_by_default(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

/// One table as migrations left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableShape {
    /// Column name → nullable.
    pub columns: BTreeMap<String, bool>,
    /// Indexes as (unique, columns in order), including those behind primary keys and
    /// unique constraints; names differ per backend and are left out.
    pub indexes: BTreeSet<(bool, Vec<String>)>,
}

/// Every application table (migration bookkeeping excluded) by name.
pub type SchemaShape = BTreeMap<String, TableShape>;

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Text)]
    column_name: String,
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, \
     (p.\"notnull\" = 0) AS nullable \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";
const SQLITE_INDEXES: &str = "SELECT m.name AS table_name, il.name AS index_name, \
     (il.\"unique\" = 1) AS is_unique, ii.name AS column_name \
     FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY il.name, ii.seqno";
const POSTGRES_COLUMNS: &str = "SELECT table_name::text, column_name::text, \
     (is_nullable = 'YES') AS nullable \
     FROM information_schema.columns WHERE table_schema = 'public'";
const POSTGRES_INDEXES: &str = "SELECT t.relname::text AS table_name, c.relname::text AS index_name, \
     i.indisunique AS is_unique, a.attname::text AS column_name \
     FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_class t ON t.oid = i.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     WHERE n.nspname = 'public' ORDER BY c.relname, k.ord";

impl Database {
    /// What the migrations produced, comparable across backends. Blocking.
    ///
    /// # Errors
    /// When the catalog cannot be read.
    #[doc(hidden)]
    pub fn schema_shape(&self) -> Result<SchemaShape, StoreError> {
        let mut held = self.hold_connection()?;
        let conn: &mut DbConnection = &mut held.conn;
        let (columns_sql, indexes_sql) = match conn {
            DbConnection::Sqlite(_) => (SQLITE_COLUMNS, SQLITE_INDEXES),
            DbConnection::Postgres(_) => (POSTGRES_COLUMNS, POSTGRES_INDEXES),
        };
        let fail = |e: diesel::result::Error| StoreError::from(DbError::from(e));
        let columns: Vec<ColumnRow> = diesel::sql_query(columns_sql).load(conn).map_err(fail)?;
        let indexes: Vec<IndexRow> = diesel::sql_query(indexes_sql).load(conn).map_err(fail)?;

        let mut shape = SchemaShape::new();
        for c in columns
            .into_iter()
            .filter(|c| !c.table_name.starts_with("__diesel"))
        {
            shape
                .entry(c.table_name)
                .or_default()
                .columns
                .insert(c.column_name, c.nullable);
        }
        let mut by_index: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
        for i in indexes
            .into_iter()
            .filter(|i| !i.table_name.starts_with("__diesel"))
        {
            by_index
                .entry((i.table_name, i.index_name))
                .or_insert_with(|| (i.is_unique, Vec::new()))
                .1
                .push(i.column_name);
        }
        for ((table, _), index) in by_index {
            shape.entry(table).or_default().indexes.insert(index);
        }
        Ok(shape)
    }
}

/// `query` preceded by `prefix` (`EXPLAIN …`), returning rows of `ST`: the plan of exactly
/// the statement `query` is, binds included.
struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    rows: PhantomData<ST>,
}

impl<Q, ST> Explain<Q, ST> {
    fn new(prefix: &'static str, query: Q) -> Self {
        Self {
            prefix,
            query,
            rows: PhantomData,
        }
    }
}

impl<Q, ST, DB> QueryFragment<DB> for Explain<Q, ST>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST> Query for Explain<Q, ST>
where
    ST: SqlType,
{
    type SqlType = ST;
}

impl<Q, ST, Conn> RunQueryDsl<Conn> for Explain<Q, ST> {}

/// SQLite's `EXPLAIN QUERY PLAN` rows: id, parent, notused, detail.
type SqlitePlanRow = (Integer, Integer, Integer, Text);

/// Planner settings that make PostgreSQL show whether an index *can* serve a query: on the
/// tiny tables of tests it would otherwise read the whole table (or sort) because that is
/// cheaper there. A plan that still scans or sorts has no index to use instead.
const POSTGRES_PLAN_SETTINGS: &str = "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off";

impl Database {
    /// The plan of the listing `list_for_owner(owner, query, limit)` runs, built by the same
    /// `list_query!` for every phase it needs (a `due_at` listing has two), on one connection:
    /// SQLite's `EXPLAIN QUERY PLAN` details, or PostgreSQL's `EXPLAIN` lines (with sequential
    /// scans, sorts and bitmap scans disabled for the statement's transaction). The phases'
    /// plans follow one another. Blocking.
    ///
    /// # Errors
    /// When the plan cannot be had.
    #[doc(hidden)]
    pub fn explain_task_listing(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let phases = listing::phases(&query);
        let params = ListParams::new(owner, query, limit);
        let mut held = self.hold_connection()?;
        let conn: &mut DbConnection = &mut held.conn;
        let fail = |e: diesel::result::Error| StoreError::from(DbError::from(e));
        let mut lines = Vec::new();
        for &phase in phases {
            match conn {
                DbConnection::Sqlite(c) => {
                    let plan: Vec<(i32, i32, i32, String)> = Explain::<_, SqlitePlanRow>::new(
                        "EXPLAIN QUERY PLAN ",
                        list_query!(Sqlite, &params, phase),
                    )
                    .load(c)
                    .map_err(fail)?;
                    lines.extend(plan.into_iter().map(|(_, _, _, detail)| detail));
                }
                DbConnection::Postgres(c) => {
                    let plan: Vec<String> = c
                        .transaction(|c| {
                            c.batch_execute(POSTGRES_PLAN_SETTINGS)?;
                            Explain::<_, Text>::new("EXPLAIN ", list_query!(Pg, &params, phase))
                                .load(c)
                        })
                        .map_err(fail)?;
                    lines.extend(plan);
                }
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_urls_default_to_no_tls_but_keep_an_explicit_mode() {
        assert_eq!(
            without_tls_by_default("postgres://h/db"),
            "postgres://h/db?sslmode=disable"
        );
        assert_eq!(
            without_tls_by_default("postgres://h/db?a=1"),
            "postgres://h/db?a=1&sslmode=disable"
        );
        assert_eq!(
            without_tls_by_default("postgres://h/db?sslmode=require"),
            "postgres://h/db?sslmode=require"
        );
    }

    #[test]
    fn database_names_are_swapped_keeping_credentials_and_parameters() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@db/x?sslmode=disable", "t2"),
            "postgres://u:p@db/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db", "t3"), "postgres://db/t3");
    }
}
