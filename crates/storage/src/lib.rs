//! taskapi's storage adapter: the domain's repository ports over diesel, an r2d2 connection
//! pool and embedded migrations.
//!
//! [`Database::connect`] opens the database a URL names; [`Database::users`],
//! [`Database::sessions`], [`Database::tasks`] and [`Database::changes`] hand out the repositories the domain
//! services need. Every database call runs on tokio's blocking pool, and waits at most the
//! pool timeout (counted from the call) for a thread, a connection and, on SQLite, a
//! batch of writes to join; so repository calls need a Tokio runtime with its time driver enabled.
//!
//! Layout: `backend` holds everything engine-specific (SQLite and PostgreSQL); `pool` runs
//! calls on the blocking pool with their deadline; `schema`, `rows` and
//! `codec` describe the tables and convert rows to and from domain types; `users`,
//! `sessions` and `tasks` are the repositories, written once for every backend.

mod access;
mod account_tokens;
mod api_tokens;
mod backend;
mod changes;
mod codec;
mod errors;
mod event_tickets;
mod idempotency;
mod listing;
mod lists;
mod mail_queue;
mod pool;
mod purge;
mod rows;
mod schema;
mod sessions;
mod settings;
mod sql_types;
mod task_snapshot;
mod tasks;
#[cfg(feature = "test-support")]
mod test_support;
mod trash;
mod tree;
mod url;
mod users;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use taskapi_domain::StoreError;
use taskapi_domain::{
    AccountTokenRepository, ApiTokenRepository, ChangeLog, EventTicketRepository, IdempotencyStore,
    ListRepository, MailQueue, SessionRepository, TaskRepository, TrashRepository, UserRepository,
};

pub use errors::StorageError;
pub use settings::DatabaseSettings;
#[cfg(feature = "test-support")]
pub use test_support::{HeldConnection, PurgePlan};

use backend::{EngineKind, Manager};
use pool::{DbPool, Writers};
use url::DatabaseUrl;

/// `url` with any password (in its user info or a `password` parameter) replaced by `***`,
/// fit for logs and messages.
pub fn redact_url(url: &str) -> String {
    url::redact(url)
}

/// Connection-pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once (at least 1).
    pub size: u32,
    /// Longest wait for a free connection before a call fails as unavailable (at least 1 ms).
    pub timeout: Duration,
}

/// A snapshot of the pool, for metrics: its connections now, and its checkouts since it
/// opened (monotonic counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Most connections the pool opens.
    pub max_size: u32,
    /// Connections currently open.
    pub connections: u32,
    /// Open connections not in use.
    pub idle_connections: u32,
    /// Repository calls (each takes one connection).
    pub checkouts: u64,
    /// Calls that had to wait — for a connection to be returned or opened, for a writer's
    /// turn on SQLite, or for a blocking thread until given up on — whether or not the wait
    /// ended in time; counted as the wait begins.
    pub waits: u64,
    /// Time spent in finished waits, in total.
    pub wait_time: Duration,
    /// Calls that gave up after the pool timeout (every connection or thread busy, the
    /// database unreachable, or other writers holding SQLite); the caller got `Unavailable`.
    pub timeouts: u64,
}

/// An open database: a connection pool and the repositories over it. Cloning is cheap.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    /// Opens the connection migrations run on: outside the pool, without a statement
    /// timeout.
    migrator: Manager,
    backend: &'static str,
    /// The URL with any password redacted, for messages.
    shown_url: String,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.inner.backend)
            .field("url", &self.inner.shown_url)
            .field("pool", &self.pool_stats())
            .finish()
    }
}

/// `database.statement_timeout`'s default.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Database::run_migrations`] waits for other instances' migrations.
const DEFAULT_MIGRATION_LOCK_WAIT: Duration = Duration::from_secs(30);

impl Database {
    /// [`Database::connect_with`] with [`DEFAULT_STATEMENT_TIMEOUT`].
    ///
    /// # Errors
    /// As [`Database::connect_with`].
    pub fn connect(url: &str, settings: PoolSettings) -> Result<Database, StorageError> {
        Database::connect_with(url, settings, DEFAULT_STATEMENT_TIMEOUT)
    }

    /// Opens the database `url` names (`sqlite://PATH`; a relative path is relative to the
    /// working directory, and the file's folder is created if missing) with a pool of
    /// `settings.size` connections, on which every statement that runs for longer than
    /// `statement_timeout` is cancelled (PostgreSQL) or interrupted (SQLite) and its call
    /// answers `Unavailable`. A PostgreSQL URL gains the client timeouts it does not set
    /// (see `backend::postgres::conninfo`). Blocking: waits until a first connection is
    /// open, at most `settings.timeout`.
    ///
    /// # Errors
    /// [`StorageError::UnsupportedUrl`] for a URL of another kind;
    /// [`StorageError::Connect`] when the database cannot be opened. Messages name the URL,
    /// its password redacted.
    pub fn connect_with(
        url: &str,
        settings: PoolSettings,
        statement_timeout: Duration,
    ) -> Result<Database, StorageError> {
        let shown_url = url::redact(url);
        // r2d2 panics on a zero size or timeout; configuration should prevent them, but a
        // panic is never the answer.
        let settings = PoolSettings {
            size: settings.size.max(1),
            timeout: settings.timeout.max(Duration::from_millis(1)),
        };
        let statement_timeout = statement_timeout.max(Duration::from_millis(1));
        let (pool, backend, migrator) = match url::parse(url)? {
            // A file cannot go stale between uses: never tested.
            DatabaseUrl::Sqlite { path } => (
                DbPool::new(
                    backend::sqlite::open_pool(&path, &shown_url, &settings, statement_timeout)?,
                    None,
                    Writers::OneAtATime,
                    statement_timeout,
                ),
                "sqlite",
                Manager::new(EngineKind::Sqlite, path, statement_timeout).unlimited(),
            ),
            DatabaseUrl::Postgres { url } => {
                let conninfo = backend::postgres::conninfo(&url, statement_timeout);
                (
                    DbPool::new(
                        backend::postgres::open_pool(
                            &conninfo,
                            &shown_url,
                            &settings,
                            statement_timeout,
                        )?,
                        Some(backend::postgres::VALIDATE_AFTER_IDLE),
                        Writers::Concurrent,
                        statement_timeout,
                    ),
                    "postgres",
                    Manager::new(EngineKind::Postgres, conninfo, statement_timeout).unlimited(),
                )
            }
        };
        log::debug!(
            "opened {shown_url} with a pool of {} connections",
            settings.size
        );
        Ok(Database {
            inner: Arc::new(Inner {
                pool,
                migrator,
                backend,
                shown_url,
            }),
        })
    }

    /// [`Database::run_migrations_within`] waiting up to 30 s for other instances.
    ///
    /// # Errors
    /// As [`Database::run_migrations_within`].
    pub fn run_migrations(&self) -> Result<Vec<String>, StorageError> {
        self.run_migrations_within(DEFAULT_MIGRATION_LOCK_WAIT)
    }

    /// Applies the pending embedded migrations and returns the versions it applied (none
    /// when the schema is up to date), on a connection of their own without a statement
    /// timeout. Instances that start together take turns (a PostgreSQL advisory lock, the
    /// SQLite write lock); one that waits longer than `lock_wait` for its turn gives up.
    /// Blocking: call it from sync code or `spawn_blocking`.
    ///
    /// # Errors
    /// [`StorageError::Connect`] when no connection could be opened;
    /// [`StorageError::Migration`] when a migration failed (nothing of it is kept) or the
    /// turn did not come within `lock_wait` (the message says so).
    pub fn run_migrations_within(&self, lock_wait: Duration) -> Result<Vec<String>, StorageError> {
        let shown_url = &self.inner.shown_url;
        let mut conn = self
            .inner
            .migrator
            .open()
            .map_err(|e| StorageError::Connect(format!("{shown_url}: {e}")))?;
        let applied = conn
            .conn
            .engine()
            .run_migrations(lock_wait)
            .map_err(|e| StorageError::Migration(format!("{shown_url}: {e}")))?;
        if !applied.is_empty() {
            log::info!("applied migrations {applied:?} to {shown_url}");
        }
        Ok(applied)
    }

    /// Checks that the database answers (`SELECT 1`), waiting at most the pool timeout for
    /// a connection.
    ///
    /// # Errors
    /// `Unavailable` when it does not answer in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner
            .pool
            .run(|conn| {
                diesel::sql_query("SELECT 1").execute(conn)?;
                Ok(())
            })
            .await
            .map_err(StoreError::from)
    }

    /// The account repository.
    pub fn users(&self) -> Arc<dyn UserRepository> {
        Arc::new(users::DieselUserRepository::new(self.inner.pool.clone()))
    }

    /// The personal API token repository.
    pub fn api_tokens(&self) -> Arc<dyn ApiTokenRepository> {
        Arc::new(api_tokens::DieselApiTokenRepository::new(
            self.inner.pool.clone(),
        ))
    }

    /// The session (and refresh-token) repository.
    pub fn sessions(&self) -> Arc<dyn SessionRepository> {
        Arc::new(sessions::DieselSessionRepository::new(
            self.inner.pool.clone(),
        ))
    }

    /// The one-time account tokens (password reset, e-mail verification), which queue
    /// their mail in the same transaction.
    pub fn account_tokens(&self) -> Arc<dyn AccountTokenRepository> {
        Arc::new(account_tokens::DieselAccountTokenRepository::new(
            self.inner.pool.clone(),
        ))
    }

    /// The queue of outgoing mail.
    pub fn mail_queue(&self) -> Arc<dyn MailQueue> {
        Arc::new(mail_queue::DieselMailQueue::new(self.inner.pool.clone()))
    }

    /// The idempotency-key store of task creation.
    pub fn idempotency_keys(&self) -> Arc<dyn IdempotencyStore> {
        Arc::new(idempotency::DieselIdempotencyStore::new(
            self.inner.pool.clone(),
        ))
    }

    /// The list repository.
    pub fn lists(&self) -> Arc<dyn ListRepository> {
        Arc::new(lists::DieselListRepository::new(self.inner.pool.clone()))
    }

    /// The task repository.
    pub fn tasks(&self) -> Arc<dyn TaskRepository> {
        Arc::new(tasks::DieselTaskRepository::new(self.inner.pool.clone()))
    }

    /// The tickets that open `GET /events` for a session.
    pub fn event_tickets(&self) -> Arc<dyn EventTicketRepository> {
        Arc::new(event_tickets::DieselEventTicketRepository::new(
            self.inner.pool.clone(),
        ))
    }

    /// The trash: trashed tasks, restored or purged by their lists' editors.
    pub fn trash(&self) -> Arc<dyn TrashRepository> {
        Arc::new(trash::DieselTrashRepository::new(self.inner.pool.clone()))
    }

    /// The change log (changes are recorded by the repositories that make them).
    pub fn changes(&self) -> Arc<dyn ChangeLog> {
        Arc::new(changes::DieselChangeLog::new(self.inner.pool.clone()))
    }

    /// The backend's name: `"sqlite"`.
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend
    }

    /// The database URL with any password redacted, fit for logs.
    pub fn display_url(&self) -> &str {
        &self.inner.shown_url
    }

    /// How many connections are open and idle, and how checkouts went so far, for metrics.
    /// Cheap: a brief lock of the pool's state and a few atomic loads.
    pub fn pool_stats(&self) -> PoolStats {
        let pool = &self.inner.pool;
        let state = pool.connections().state();
        let totals = pool.checkout_totals();
        PoolStats {
            max_size: pool.connections().max_size(),
            connections: state.connections,
            idle_connections: state.idle_connections,
            checkouts: totals.checkouts,
            waits: totals.waits,
            wait_time: totals.wait_time,
            timeouts: totals.timeouts,
        }
    }
}
