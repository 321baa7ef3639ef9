//! Opening fresh SQLite files. A test binary of its own, because it installs a logger for
//! the whole process to see what r2d2 reports.

use std::sync::Mutex;
use std::time::Duration;

use taskapi_storage::{Database, PoolSettings};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Keeps every warning and error logged in this process.
struct Recorder(Mutex<Vec<String>>);

impl log::Log for Recorder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    }

    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

/// r2d2 opens a pool's connections on several threads at once, and each switches the file
/// to WAL. On a new file those switches raced: one could get "database is locked" without
/// SQLite's busy handler ever waiting, which r2d2 logs as an ERROR before it retries — the
/// first thing a newcomer saw on a first start, now and then. Every connection of many fresh
/// pools must open at the first try.
#[test]
fn every_connection_of_a_fresh_file_opens_at_the_first_try() -> TestResult {
    log::set_logger(&RECORDER).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Warn);
    let dir = tempfile::tempdir()?;
    for n in 0..20 {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("db-{n}/t.db")).display()
        );
        let db = Database::connect(
            &url,
            PoolSettings {
                size: 16,
                timeout: Duration::from_secs(10),
            },
        )?;
        db.run_migrations()?;
    }
    let seen = RECORDER
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(seen.is_empty(), "{seen:#?}");
    Ok(())
}

/// A new database and the folders made for it are private to the service's user: the
/// folders 0700, the file and SQLite's `-wal` and `-shm` files 0600.
#[cfg(unix)]
#[test]
fn a_new_database_and_its_folders_are_private_to_the_user() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| -> std::io::Result<u32> {
        Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
    };
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("made/for/it/t.db");
    let db = Database::connect(
        &format!("sqlite://{}", file.display()),
        PoolSettings {
            size: 2,
            timeout: Duration::from_secs(10),
        },
    )?;
    db.run_migrations()?;
    for folder in ["made", "made/for", "made/for/it"] {
        assert_eq!(mode(&dir.path().join(folder))?, 0o700, "{folder}");
    }
    for name in ["t.db", "t.db-wal", "t.db-shm"] {
        assert_eq!(mode(&file.with_file_name(name))?, 0o600, "{name}");
    }
    Ok(())
}
