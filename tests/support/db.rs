//! The databases tests run on: which backend a test uses, and the PostgreSQL test
//! databases. Every use of the storage crate's test support goes through this module.

use std::cell::Cell;

pub use taskapi_storage_testing::PostgresTestDatabase;

/// The storage backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the server `TASKAPI_TEST_DATABASE_URL` names.
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

impl Backend {
    /// Makes every in-process server this test spawns use this backend, and says whether
    /// the test can run here: `false` for PostgreSQL when `TASKAPI_TEST_DATABASE_URL` is
    /// unset (one line says so, once per test binary), and the test then returns at once.
    /// Each test runs on a thread of its own, so the choice is the test's own.
    #[must_use]
    pub fn select(self) -> bool {
        BACKEND.with(|b| b.set(self));
        self == Backend::Sqlite || taskapi_storage_testing::postgres_server_url().is_some()
    }

    /// The backend the running test selected.
    pub fn current() -> Backend {
        BACKEND.with(Cell::get)
    }
}

/// A fresh PostgreSQL database for one test; `None` (the skip announced once) when
/// `TASKAPI_TEST_DATABASE_URL` is unset. Panics when the variable is set but the server
/// cannot be used: such a run must fail, not skip.
pub fn postgres_database() -> Option<PostgresTestDatabase> {
    PostgresTestDatabase::create()
        .unwrap_or_else(|e| panic!("TASKAPI_TEST_DATABASE_URL is set but unusable: {e}"))
}
