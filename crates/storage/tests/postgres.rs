//! The storage suite on PostgreSQL (when `TASKAPI_TEST_DATABASE_URL` names a server; each
//! test creates and drops its own database), plus the check that both migration trees
//! produce the same schema.

mod suite;

use std::sync::Mutex;

use suite::{Backend, BoxError, TestResult};
use taskapi_storage::testing::PostgresTestDatabase;
use taskapi_storage::{Database, PoolSettings};

/// Fresh databases on the test server, dropped when the backend is.
struct Postgres {
    databases: Mutex<Vec<PostgresTestDatabase>>,
}

impl Postgres {
    fn available() -> Result<Option<Self>, BoxError> {
        if taskapi_storage::testing::postgres_server_url().is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            databases: Mutex::new(Vec::new()),
        }))
    }
}

impl Backend for Postgres {
    fn fresh(&self, settings: PoolSettings) -> Result<Database, BoxError> {
        let database =
            PostgresTestDatabase::create()?.ok_or("TASKAPI_TEST_DATABASE_URL vanished")?;
        let db = Database::connect(database.url(), settings)?;
        self.databases
            .lock()
            .map_err(|_| "test database list poisoned")?
            .push(database);
        Ok(db)
    }
}

storage_suite!(Postgres::available);

#[tokio::test]
async fn both_migration_trees_produce_the_same_schema() -> TestResult {
    let Some(postgres) = PostgresTestDatabase::create()? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let sqlite = Database::connect(
        &format!("sqlite://{}", dir.path().join("taskapi.db").display()),
        suite::settings(),
    )?;
    let pg = Database::connect(postgres.url(), suite::settings())?;
    sqlite.run_migrations()?;
    pg.run_migrations()?;
    assert_eq!(pg.backend_name(), "postgres");
    let (sqlite_shape, pg_shape) = (sqlite.schema_shape()?, pg.schema_shape()?);
    assert!(
        sqlite_shape.contains_key("tasks") && sqlite_shape["tasks"].indexes.len() >= 2,
        "introspection found too little: {sqlite_shape:#?}"
    );
    assert_eq!(
        sqlite_shape, pg_shape,
        "migrations/sqlite and migrations/postgres have drifted apart"
    );
    Ok(())
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error_naming_the_url_without_its_password() -> TestResult
{
    if taskapi_storage::testing::postgres_server_url().is_none() {
        return Ok(());
    }
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let url = "postgres://app:s3cret@127.0.0.1:1/taskapi";
    let settings = PoolSettings {
        size: 1,
        timeout: std::time::Duration::from_millis(500),
    };
    let message = match Database::connect(url, settings) {
        Err(e) => e.to_string(),
        Ok(_) => return Err("connecting to a closed port succeeded".into()),
    };
    assert!(
        message.contains("postgres://app:***@127.0.0.1:1/taskapi"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    Ok(())
}
