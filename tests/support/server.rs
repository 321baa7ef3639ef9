//! The in-process server: [`TestApp`] runs the real application on a random port of this
//! process with a database of its own — an SQLite file in a temporary folder, or a fresh
//! PostgreSQL database when the test selected that backend (see [`Backend::select`]) — and
//! is a [`Client`] of it.

use std::ops::Deref;
use std::path::Path;

use taskapi::{Application, Settings};
use tempfile::TempDir;

use super::client::{Client, TestUser};
use super::db::{Backend, PostgresTestDatabase, postgres_database};
use super::fixtures::{JWT_SECRET, PASSWORD, string};

/// A running application and a client for it (its methods are the [`Client`]'s).
pub struct TestApp {
    /// The client of the API listener.
    pub client: Client,
    /// `http://127.0.0.1:<port>` of the metrics listener, when `metrics.bind` gave it one of
    /// its own.
    pub metrics_address: Option<String>,
    /// The settings the application runs with.
    pub settings: Settings,
    /// The configuration variables it was started with (to start another instance).
    pub vars: Vec<(String, String)>,
    /// The database folder; deleted when the test ends.
    data: TempDir,
    /// The PostgreSQL database, when on that backend; dropped when the test ends.
    _postgres: Option<PostgresTestDatabase>,
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// Starts the application on a random port with a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts another instance of `self`'s application on the same database, with extra
    /// configuration variables.
    pub async fn spawn_sibling(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        let data = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        Self::start(vars, data, None).await
    }

    /// Starts the application with extra configuration variables (`TASKAPI__…`).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let data = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        let postgres = match Backend::current() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(postgres_database().unwrap_or_else(|| {
                panic!(
                    "a PostgreSQL test ran without TASKAPI_TEST_DATABASE_URL (see Backend::select)"
                )
            })),
        };
        let database_url = match &postgres {
            Some(db) => db.url().to_owned(),
            None => format!("sqlite://{}", data.path().join("taskapi.db").display()),
        };
        let mut vars: Vec<(String, String)> = [
            ("TASKAPI_ENV", "test".to_owned()),
            ("TASKAPI__DATABASE__URL", database_url),
            ("TASKAPI__SERVER__HOST", "127.0.0.1".to_owned()),
            ("TASKAPI__SERVER__PORT", "0".to_owned()),
            ("TASKAPI__SERVER__WORKERS", "2".to_owned()),
            ("TASKAPI__SERVER__SHUTDOWN_TIMEOUT", "1s".to_owned()),
            ("TASKAPI__AUTH__BCRYPT_COST", "4".to_owned()),
            ("TASKAPI__AUTH__JWT_SECRET", JWT_SECRET.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).to_owned(), (*value).to_owned()));
        }
        Self::start(vars, data, postgres).await
    }

    async fn start(
        vars: Vec<(String, String)>,
        data: TempDir,
        postgres: Option<PostgresTestDatabase>,
    ) -> TestApp {
        let settings = Settings::load_from(Path::new("config"), &vars)
            .unwrap_or_else(|e| panic!("the test configuration does not load: {e}"));
        let app = Application::build(settings.clone())
            .await
            .unwrap_or_else(|e| panic!("the application does not start: {e}"));
        let port = app.port();
        let metrics_port = app.metrics_port();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            client: Client::new(format!("http://127.0.0.1:{port}")),
            metrics_address: metrics_port.map(|port| format!("http://127.0.0.1:{port}")),
            settings,
            vars,
            data,
            _postgres: postgres,
        }
    }

    /// A client of another server (e.g. the binary run as a child process), sharing this
    /// application's connection pool.
    pub fn client_of(&self, address: String) -> Client {
        Client {
            address,
            http: self.client.http.clone(),
        }
    }

    /// The application's own temporary folder (a working directory for the binary).
    pub fn data_path(&self) -> &Path {
        self.data.path()
    }

    /// Registers `email`, makes it an administrator (as `taskapi admin promote` does) and
    /// logs in.
    pub async fn signed_up_admin(&self, email: &str) -> TestUser {
        let user = self.register(email, PASSWORD).await.json_with_status(201);
        taskapi::promote_admin(&self.settings, email)
            .await
            .unwrap_or_else(|e| panic!("cannot promote {email}: {e}"));
        self.logged_in(&string(&user["id"]), email, PASSWORD).await
    }
}
