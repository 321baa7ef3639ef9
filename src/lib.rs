//! The taskapi application: builds the adapters from [`Settings`], wires them into the
//! domain services, and runs the HTTP server. No business logic lives here.

pub mod config;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::web::{Bytes, Data};
use async_trait::async_trait;
use taskapi_auth::{BcryptHasher, JwtSettings, JwtTokenService};
use taskapi_domain::ports::{SystemClock, UuidV7Generator};
use taskapi_domain::{AccountService, StoreError, TaskService};
use taskapi_http::{AppState, OpenApiJson, ReadinessCheck};
use taskapi_storage::{Database, PoolSettings};

pub use crate::config::{Environment, Settings};
use crate::config::{MIN_SECRET_BYTES, Secret, redact_url};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The database could not be reached or migrated.
    #[error("database {url}: {message}")]
    Database {
        /// The URL, password redacted.
        url: String,
        /// What failed.
        message: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// host:port.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Anything else at start-up.
    #[error("{0}")]
    Other(String),
}

/// Connects to the database, retrying with backoff for up to `database.startup_timeout`,
/// and applies pending migrations.
///
/// # Errors
/// [`StartupError::Database`] naming the URL (password redacted) once time runs out.
pub async fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    let url = settings.database.url.expose().to_owned();
    let pool = PoolSettings {
        size: settings.database.effective_pool_size(),
        timeout: settings.database.pool_timeout,
    };
    let deadline = Instant::now() + settings.database.startup_timeout;
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt_url = url.clone();
        let attempt = tokio::task::spawn_blocking(move || {
            let db = Database::connect(&attempt_url, pool)?;
            let applied = db.run_migrations()?;
            Ok::<_, taskapi_storage::StorageError>((db, applied))
        })
        .await
        .map_err(|e| StartupError::Other(format!("start-up task failed: {e}")))?;
        match attempt {
            Ok((db, applied)) => {
                for version in applied {
                    log::info!("applied migration {version}");
                }
                return Ok(db);
            }
            Err(e) if Instant::now() + backoff < deadline => {
                log::warn!(
                    "database {} not ready ({e}); retrying in {backoff:?}",
                    redact_url(&url)
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return Err(StartupError::Database {
                    url: redact_url(&url),
                    message: e.to_string(),
                });
            }
        }
    }
}

/// The JWT secret: the configured one, or in development/test a generated one kept in
/// `data/jwt-secret` so tokens survive restarts (production refuses to start without one,
/// which `Settings` already enforces).
///
/// # Errors
/// When the generated secret cannot be read or written.
pub fn jwt_secret(settings: &Settings, data_dir: &Path) -> Result<Secret, StartupError> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.clone());
    }
    let path = config::generated_secret_path(data_dir);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_BYTES {
            return Ok(Secret::new(existing));
        }
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(data_dir)
        .and_then(|()| write_private(&path, &secret))
        .map_err(|e| {
            StartupError::Other(format!(
                "cannot keep a generated secret in {}: {e}",
                path.display()
            ))
        })?;
    log::warn!(
        "auth.jwt_secret is not set: generated one and kept it in {} (set TASKAPI__AUTH__JWT_SECRET in production)",
        path.display()
    );
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// How often expired idempotency keys are purged.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Purges expired idempotency keys in the background, off the request path: reads already
/// ignore expired keys, so this only bounds the table's size. Failures are logged and retried
/// at the next tick.
fn spawn_maintenance(tasks: TaskService) {
    actix_web::rt::spawn(async move {
        let mut ticks = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            ticks.tick().await;
            match tasks.purge_expired_idempotency_keys().await {
                Ok(0) => {}
                Ok(n) => log::info!("purged {n} expired idempotency keys"),
                Err(e) => log::warn!("purging expired idempotency keys failed: {e}"),
            }
        }
    });
}

struct DatabaseReadiness(Database);

#[async_trait]
impl ReadinessCheck for DatabaseReadiness {
    async fn check(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the database (migrating it), builds every adapter and service, and binds the
    /// listener (port 0 picks a free port; see [`Application::port`]).
    ///
    /// # Errors
    /// A [`StartupError`] saying what could not be set up.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let database = open_database(&settings).await?;
        let data_dir = Path::new("data");
        let secret = jwt_secret(&settings, data_dir)?;
        let cost = settings.auth.bcrypt_cost;
        let hasher = tokio::task::spawn_blocking(move || BcryptHasher::new(cost))
            .await
            .map_err(|e| StartupError::Other(e.to_string()))?
            .map_err(StartupError::Other)?;
        let tokens = JwtTokenService::new(JwtSettings {
            secret: secret.expose().as_bytes().to_vec(),
            issuer: settings.auth.issuer.clone(),
            access_ttl: settings.auth.access_ttl,
        });
        let clock = Arc::new(SystemClock);
        let ids = Arc::new(UuidV7Generator);
        let tasks = TaskService::new(database.tasks(), database.idempotency_keys(), clock.clone(), ids.clone());
        spawn_maintenance(tasks.clone());
        let state = Data::new(AppState {
            accounts: AccountService::new(
                database.users(),
                Arc::new(hasher),
                Arc::new(tokens),
                clock.clone(),
                ids.clone(),
            ),
            tasks: tasks.clone(),
            readiness: Arc::new(DatabaseReadiness(database.clone())),
        });
        let openapi = serde_json::to_vec(&taskapi_http::openapi_document())
            .map_err(|e| StartupError::Other(format!("cannot render the OpenAPI document: {e}")))?;
        let openapi = Data::new(OpenApiJson(Bytes::from(openapi)));

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let mut server =
            actix_web::HttpServer::new(move || taskapi_http::app(state.clone(), openapi.clone()))
                .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
                .listen(listener)
                .map_err(|e| StartupError::Other(e.to_string()))?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        log::info!(
            "taskapi {} listening on http://{}:{port} ({} environment, database {}); API docs at /docs",
            env!("CARGO_PKG_VERSION"),
            settings.server.host,
            settings.environment.as_str(),
            redact_url(settings.database.url.expose()),
        );
        Ok(Self {
            server: server.run(),
            port,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish (bounded by
    /// `server.shutdown_timeout`).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
