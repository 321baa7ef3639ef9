//! Test support for taskapi's storage, shared by the storage crate's tests and the
//! end-to-end suite; a dev-dependency only, never part of a shipped build.
//!
//! - [`PostgresTestDatabase`]: a uniquely named PostgreSQL database created for one test
//!   and dropped after it, on the server `TASKAPI_TEST_DATABASE_URL` names.
//! - [`sqlite_schema_shape`] and [`postgres_schema_shape`]: what migrations produced
//!   (tables, columns, nullability, indexes), in a form comparable across backends.
//!
//! Depending on this crate also turns on the storage crate's `test-support` hooks
//! (`Database::hold_connection`, `Database::explain_task_listing`).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::Path;
use std::sync::Once;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

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
        let mut admin = PgConnection::establish(&server_url).map_err(|e| {
            format!(
                "{TEST_DATABASE_URL}={}: {e}",
                taskapi_storage::redact_url(&server_url)
            )
        })?;
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

// The engines' search indexes differ by design and are left out of the comparison (the
// listing tests' plans check them instead): SQLite's FTS5 virtual tables with their shadow
// tables (`<name>_data`, `_idx`, `_docsize`, `_config`), and PostgreSQL's indexes of other
// access methods than B-trees (the pg_trgm GIN index).
const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, \
     (p.\"notnull\" = 0) AS nullable \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND NOT EXISTS (\
     SELECT 1 FROM sqlite_master v WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
     AND (m.name = v.name OR m.name LIKE v.name || '\\_%' ESCAPE '\\'))";
const SQLITE_INDEXES: &str = "SELECT m.name AS table_name, il.name AS index_name, \
     (il.\"unique\" = 1) AS is_unique, ii.name AS column_name \
     FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND NOT EXISTS (\
     SELECT 1 FROM sqlite_master v WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
     AND (m.name = v.name OR m.name LIKE v.name || '\\_%' ESCAPE '\\')) \
     ORDER BY il.name, ii.seqno";
const POSTGRES_COLUMNS: &str = "SELECT table_name::text, column_name::text, \
     (is_nullable = 'YES') AS nullable \
     FROM information_schema.columns WHERE table_schema = 'public'";
const POSTGRES_INDEXES: &str = "SELECT t.relname::text AS table_name, c.relname::text AS index_name, \
     i.indisunique AS is_unique, a.attname::text AS column_name \
     FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indexrelid \
     JOIN pg_class t ON t.oid = i.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     JOIN pg_am am ON am.oid = c.relam \
     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     WHERE n.nspname = 'public' AND am.amname = 'btree' ORDER BY c.relname, k.ord";

/// Any error of reading a catalog, boxed.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// What the migrations produced in the SQLite database file at `path`.
///
/// # Errors
/// When the file cannot be opened or its catalog read.
pub fn sqlite_schema_shape(path: &Path) -> Result<SchemaShape, BoxError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
    let columns: Vec<ColumnRow> = diesel::sql_query(SQLITE_COLUMNS).load(&mut conn)?;
    let indexes: Vec<IndexRow> = diesel::sql_query(SQLITE_INDEXES).load(&mut conn)?;
    Ok(shape_of(columns, indexes))
}

/// What the migrations produced in the PostgreSQL database at `url`.
///
/// # Errors
/// When the database cannot be reached or its catalog read.
pub fn postgres_schema_shape(url: &str) -> Result<SchemaShape, BoxError> {
    let mut conn = PgConnection::establish(url)?;
    let columns: Vec<ColumnRow> = diesel::sql_query(POSTGRES_COLUMNS).load(&mut conn)?;
    let indexes: Vec<IndexRow> = diesel::sql_query(POSTGRES_INDEXES).load(&mut conn)?;
    Ok(shape_of(columns, indexes))
}

/// The shape of the catalog's rows, migration bookkeeping left out.
fn shape_of(columns: Vec<ColumnRow>, indexes: Vec<IndexRow>) -> SchemaShape {
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
    shape
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
