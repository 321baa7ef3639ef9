//! What only SQLite has: files, folders, pragmas, build options, writers taking turns.

use std::path::PathBuf;

use taskapi_storage::{Database, PoolSettings, StorageError};

use super::{Backend, BoxError, Databases, TestResult};

/// A temporary folder for this test's database files.
fn folder() -> Result<Databases, BoxError> {
    Backend::Sqlite
        .databases()?
        .ok_or_else(|| "SQLite is always available".into())
}

/// The folder's path.
fn dir(backend: &Databases) -> Result<PathBuf, BoxError> {
    let file = backend.next_path()?;
    // `next_path` is `<folder>/db-N/taskapi.db`.
    Ok(file
        .parent()
        .and_then(|db| db.parent())
        .ok_or("a database path has a folder")?
        .to_owned())
}

#[test]
fn connecting_creates_the_files_folder_and_names_the_backend() -> TestResult {
    let backend = folder()?;
    let path = dir(&backend)?.join("nested/deeper/taskapi.db");
    let db = Database::connect(&format!("sqlite://{}", path.display()), super::settings())?;
    assert_eq!(db.backend_name(), "sqlite");
    db.run_migrations()?;
    assert!(path.is_file(), "{} should exist", path.display());
    Ok(())
}

#[test]
fn a_folder_that_cannot_be_created_is_a_connect_error_naming_the_url() -> TestResult {
    let backend = folder()?;
    let blocker = dir(&backend)?.join("a-file");
    std::fs::write(&blocker, b"not a folder")?;
    let url = format!("sqlite://{}/sub/taskapi.db", blocker.display());
    match Database::connect(&url, super::settings()) {
        Err(StorageError::Connect(message)) => {
            assert!(message.contains(&url), "{message:?} should name {url}");
            Ok(())
        }
        other => Err(format!("expected a Connect error, got {other:?}").into()),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() -> TestResult {
    let backend = folder()?;
    let path = dir(&backend)?.join("garbage.db");
    std::fs::write(&path, vec![0x5a; 4096])?;
    let settings = PoolSettings {
        size: 1,
        timeout: std::time::Duration::from_millis(500),
    };
    let outcome = Database::connect(&format!("sqlite://{}", path.display()), settings)
        .map_err(BoxError::from)
        .and_then(|db| db.run_migrations().map_err(BoxError::from));
    assert!(outcome.is_err(), "{outcome:?}");
    Ok(())
}

#[test]
fn every_pooled_connection_has_the_settings() -> TestResult {
    let backend = folder()?;
    let path = backend.next_path()?;
    let db = Database::connect(&format!("sqlite://{}", path.display()), super::settings())?;
    db.run_migrations()?;
    // Hold every connection of the pool at once, so each one is checked.
    let mut held = (0..super::settings().size)
        .map(|_| db.hold_connection())
        .collect::<Result<Vec<_>, _>>()?;
    for conn in &mut held {
        let mode = conn.query_i64(
            "SELECT COUNT(*) AS value FROM pragma_journal_mode WHERE journal_mode = 'wal'",
        )?;
        assert_eq!(mode, 1, "journal_mode should be WAL");
        assert_eq!(
            conn.query_i64("SELECT foreign_keys AS value FROM pragma_foreign_keys")?,
            1
        );
        assert_eq!(
            conn.query_i64("SELECT timeout AS value FROM pragma_busy_timeout")?,
            5_000
        );
        // 2 = FULL: every commit is synced before it is acknowledged.
        assert_eq!(
            conn.query_i64("SELECT synchronous AS value FROM pragma_synchronous")?,
            2
        );
    }
    Ok(())
}

/// `.cargo/config.toml` builds the bundled SQLite with query-planner stability (without it,
/// every statement with a bound LIMIT is re-compiled on each run) and without the global
/// memory-statistics mutex. A build that lost those flags (say, a Docker stage without the
/// config) would still work, only slower: this catches it.
#[test]
fn the_bundled_sqlite_has_the_build_options_of_cargo_config() -> TestResult {
    let backend = folder()?;
    let db = Database::connect(
        &format!("sqlite://{}", backend.next_path()?.display()),
        super::settings(),
    )?;
    let mut conn = db.hold_connection()?;
    for option in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
        let found = conn.query_i64(&format!(
            "SELECT COUNT(*) AS value FROM pragma_compile_options WHERE compile_options = '{option}'"
        ))?;
        assert_eq!(found, 1, "SQLite should be built with SQLITE_{option}");
    }
    Ok(())
}

/// Writers of one process take turns among themselves before they ask SQLite for its write
/// lock, so none of them ever waits in SQLite's busy handler (which sleeps up to 100 ms at a
/// time, however soon the lock comes free). With the busy timeout at zero on every
/// connection, a writer that found the lock taken would fail at once with "database is
/// locked": many concurrent writes must all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_process_queue_in_it_not_in_sqlite() -> TestResult {
    let backend = folder()?;
    let db = super::migrated(&backend, super::settings()).await?;
    let owner = super::registered(&db, 1).await?;
    let mut held = (0..super::settings().size)
        .map(|_| db.hold_connection())
        .collect::<Result<Vec<_>, _>>()?;
    for conn in &mut held {
        conn.execute_sql("PRAGMA busy_timeout = 0")?;
    }
    drop(held);
    let tasks = db.tasks();
    let mut writes = Vec::new();
    for n in 0..200u128 {
        let tasks = std::sync::Arc::clone(&tasks);
        let task = super::new_task(owner, 100 + n, super::t(i64::try_from(n)?)?, &["x"])?;
        writes.push(tokio::spawn(async move { tasks.insert(task, None).await }));
    }
    for write in writes {
        write.await??;
    }
    let mut conn = db.hold_connection()?;
    assert_eq!(conn.query_i64("SELECT COUNT(*) AS value FROM tasks")?, 200);
    Ok(())
}
