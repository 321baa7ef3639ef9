//! The taskapi application: builds the adapters from [`Settings`], wires them into the
//! domain services, and runs the HTTP server. No business logic lives here.

pub mod config;
mod open_files;
pub mod web;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::web::{Bytes, Data};
use async_trait::async_trait;
use taskapi_auth::{BcryptHasher, JwtTokenService};
use taskapi_domain::{
    AccountPorts, AccountService, AdminService, ChangeService, DeliveryPolicy, Email,
    EmailVerification, EventAccessService, IssuedAccountToken, ListService, MailOutbox, MailSignal,
    Mailer, Password, RecoveryError, RecoveryPorts, RecoveryService, RecoverySettings,
    SessionCache, SessionSettings, StoreError, TaskService, TrashService, User,
};
use taskapi_domain::{SystemClock, UuidV7Generator};
use taskapi_http::{
    ApiMetrics, AppState, CachedReadiness, EventHub, Metrics, OpenApiJson, PoolSnapshot,
    PoolStatsSource, ReadinessCheck, SearchGate, Throttle, WebClient,
};
use taskapi_storage::{Database, redact_url};

pub use crate::config::{Environment, Settings};
use crate::config::{MIN_SECRET_BYTES, MailTls, MailTransport, Secret};

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
    /// The password hasher could not start.
    #[error(transparent)]
    Hasher(#[from] taskapi_auth::HasherStartError),
    /// A throttle setting cannot make a limit.
    #[error(transparent)]
    Throttle(#[from] taskapi_http::InvalidLimit),
    /// A trusted proxy is neither an address nor a network.
    #[error(transparent)]
    TrustedProxy(#[from] taskapi_http::InvalidProxy),
    /// The web client cannot be served as configured.
    #[error(transparent)]
    Web(#[from] taskapi_http::InvalidWebClient),
    /// Anything else at start-up.
    #[error("{0}")]
    Other(String),
}

/// Connects to the database, retrying with backoff for up to `database.startup_timeout`,
/// and applies pending migrations, waiting for other instances' turns at most until the
/// same deadline.
///
/// # Errors
/// [`StartupError::Database`] naming the URL (password redacted) once time runs out.
pub async fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    let url = settings.database.url.clone();
    let pool = settings.database.pool();
    let deadline = Instant::now() + settings.database.startup_timeout;
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt_url = url.clone();
        let statement_timeout = settings.database.statement_timeout;
        let attempt = tokio::task::spawn_blocking(move || {
            let db = Database::connect_with(&attempt_url, pool, statement_timeout)?;
            // Waiting for other instances' migrations counts against the same deadline.
            let applied =
                db.run_migrations_within(deadline.saturating_duration_since(Instant::now()))?;
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
/// The file is written whole or not at all (a temporary file renamed over it), readable by
/// the service's user only (0600, in a folder created 0700). A kept file that other users
/// could read is not trusted: it is replaced by a new secret, with a warning.
///
/// # Errors
/// When the generated secret cannot be read or written.
pub fn jwt_secret(settings: &Settings, data_dir: &Path) -> Result<Secret, StartupError> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.clone());
    }
    let path = config::generated_secret_path(data_dir);
    match read_private(&path) {
        Ok(existing) => {
            let existing = existing.trim().to_owned();
            if existing.len() >= MIN_SECRET_BYTES {
                return Ok(Secret::new(existing));
            }
        }
        Err(KeptSecret::Exposed(mode)) => log::warn!(
            "{} could be read by other users (mode {mode:o}): replacing it with a new secret \
             (tokens signed with the old one are no longer accepted)",
            path.display()
        ),
        Err(KeptSecret::Unreadable) => {}
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    create_private_dir(data_dir)
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

/// Why a kept secret is not used.
enum KeptSecret {
    /// Missing or unreadable.
    Unreadable,
    /// Group or other users may read it (its mode bits).
    Exposed(u32),
}

/// The contents of `path`, if only its owner may read it. The mode is read from the opened
/// file, so it is the mode of what is read.
fn read_private(path: &Path) -> Result<String, KeptSecret> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|_| KeptSecret::Unreadable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|_| KeptSecret::Unreadable)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeptSecret::Exposed(mode & 0o777));
        }
    }
    let mut contents = String::new();
    file.read_to_string(&mut contents)
        .map_err(|_| KeptSecret::Unreadable)?;
    Ok(contents)
}

/// Creates `dir` and its missing parents, private to the service's user (0700 on Unix).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `contents` to `path` atomically: into a new temporary file next to it, created
/// 0600 (on Unix), flushed to disk, then renamed over `path`. A crash leaves either the old
/// file or the new one, never a half-written or briefly world-readable one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce: u64 = rand::random();
    let temporary = path.with_file_name(format!(".{name}.{nonce:016x}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

/// Most sessions an instance remembers as valid (see `auth.revocation_cache_ttl`).
const SESSION_CACHE_CAPACITY: usize = 100_000;

/// How often expired sessions and refresh tokens are deleted and idle throttling state is
/// dropped.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// How long an SMTP delivery may wait for the server at each step.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How often each instance looks for mail due (queued by another instance, or due for a
/// retry); mail queued by this instance wakes its sender at once.
const MAIL_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Wakes this instance's mail sender.
struct NotifySignal(Arc<tokio::sync::Notify>);

impl MailSignal for NotifySignal {
    fn queued(&self) {
        self.0.notify_one();
    }
}

/// The mailer `mail.transport` names, if any.
fn mailer(settings: &Settings) -> Result<Option<Arc<dyn Mailer>>, StartupError> {
    let transport = settings
        .mail
        .transport(settings.environment)
        .map_err(StartupError::Other)?;
    Ok(match transport {
        MailTransport::None => None,
        MailTransport::Log => {
            log::warn!(
                "mail.transport is `log`: mail, one-time tokens included, is written to the log \
                 (development only)"
            );
            Some(Arc::new(taskapi_mail::LogMailer))
        }
        MailTransport::Smtp { host, port } => {
            let tls = match settings.mail.tls().map_err(StartupError::Other)? {
                MailTls::None => taskapi_mail::SmtpTls::None,
                MailTls::StartTls => taskapi_mail::SmtpTls::StartTls,
                MailTls::Tls => taskapi_mail::SmtpTls::Tls,
            };
            let credentials = settings.mail.username.clone().map(|user| {
                let password = settings
                    .mail
                    .password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default();
                (user, password)
            });
            let extra_roots_pem = match &settings.mail.ca_file {
                Some(path) => std::fs::read_to_string(path).map_err(|e| {
                    StartupError::Other(format!("mail.ca_file: cannot read {path}: {e}"))
                })?,
                None => String::new(),
            };
            let smtp = taskapi_mail::SmtpMailer::new(&taskapi_mail::SmtpSettings {
                host,
                port,
                tls,
                extra_roots_pem,
                credentials,
                from: settings.mail.from.clone(),
                timeout: SMTP_TIMEOUT,
            })
            .map_err(|e| StartupError::Other(format!("mail: {e}")))?;
            Some(Arc::new(smtp))
        }
    })
}

/// The domain services over one database, as configured.
struct Services {
    accounts: AccountService,
    admin: AdminService,
    event_access: EventAccessService,
    tasks: TaskService,
    trash: TrashService,
    changes: ChangeService,
    recovery: RecoveryService,
    /// The sender of queued mail and what wakes it, when a transport is configured.
    outbox: Option<(MailOutbox, Arc<tokio::sync::Notify>)>,
    lists: ListService,
}

async fn services(settings: &Settings, database: &Database) -> Result<Services, StartupError> {
    let secret = jwt_secret(settings, Path::new("data"))?;
    let (cost, queue) = (settings.auth.bcrypt_cost, settings.auth.hash_queue);
    let hasher = tokio::task::spawn_blocking(move || BcryptHasher::new(cost, queue))
        .await
        .map_err(|e| StartupError::Other(e.to_string()))??;
    let tokens = JwtTokenService::new(settings.auth.jwt(&secret));
    let clock = Arc::new(SystemClock);
    let ids = Arc::new(UuidV7Generator);
    let cache = Arc::new(SessionCache::new(
        settings.auth.revocation_cache_ttl,
        SESSION_CACHE_CAPACITY,
    ));
    let hasher: Arc<dyn taskapi_domain::PasswordHasher> = Arc::new(hasher);
    let tokens: Arc<dyn taskapi_domain::TokenService> = Arc::new(tokens);
    let tokens_for_events = tokens.clone();
    let verification = settings.auth.email_verification;
    let accounts = AccountService::new(
        AccountPorts {
            users: database.users(),
            sessions: database.sessions(),
            api_tokens: database.api_tokens(),
            hasher: hasher.clone(),
            tokens: tokens.clone(),
            clock: clock.clone(),
            ids: ids.clone(),
        },
        SessionSettings {
            refresh_ttl: settings.auth.refresh_ttl,
            reauth_window: settings.auth.reauth_window,
            session_max_age: settings.auth.session_max_age,
            max_sessions: settings.auth.max_sessions,
            refresh_grace: settings.auth.refresh_grace,
            max_api_tokens: settings.auth.max_api_tokens,
        },
        cache.clone(),
    )
    .requiring_verified_email(verification == EmailVerification::Required);
    let mailer = mailer(settings)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let recovery = RecoveryService::new(
        RecoveryPorts {
            users: database.users(),
            account_tokens: database.account_tokens(),
            hasher,
            tokens,
            clock: clock.clone(),
            signal: Arc::new(NotifySignal(wake.clone())),
        },
        accounts.clone(),
        cache.clone(),
        RecoverySettings {
            reset_ttl: settings.auth.reset_ttl,
            verify_ttl: settings.auth.verify_ttl,
            verification,
            mail_enabled: mailer.is_some(),
        },
    );
    let outbox = mailer.map(|mailer| {
        let outbox = MailOutbox::new(
            database.mail_queue(),
            mailer,
            clock.clone(),
            ids.clone(),
            DeliveryPolicy::default(),
        );
        (outbox, wake)
    });
    let admin = AdminService::new(database.users(), database.tasks(), cache, clock.clone());
    let event_access = EventAccessService::new(
        database.event_tickets(),
        database.sessions(),
        database.users(),
        database.api_tokens(),
        tokens_for_events,
        clock.clone(),
        u32::try_from(settings.auth.max_api_tokens).unwrap_or(u32::MAX),
    );
    Ok(Services {
        accounts,
        admin,
        event_access,
        changes: ChangeService::new(database.changes(), clock.clone(), settings.sync.retention),
        tasks: TaskService::new(
            database.tasks(),
            database.idempotency_keys(),
            clock.clone(),
            ids.clone(),
        )
        .with_task_quota(settings.quota.tasks_per_user)
        .with_trash_retention(settings.trash.retention),
        trash: TrashService::new(database.trash(), clock.clone())
            .with_retention(settings.trash.retention),
        lists: ListService::new(database.lists(), clock, ids)
            .with_list_quota(settings.quota.lists_per_user)
            .with_invitation_ttl(settings.lists.invitation_ttl)
            .with_member_cap(settings.lists.max_members),
        recovery,
        outbox,
    })
}

/// Creates an administrator account (`taskapi admin create`) in the configured database.
///
/// # Errors
/// A message for an invalid email or password, a taken email, or a database failure.
pub async fn create_admin(
    settings: &Settings,
    email: &str,
    password: String,
) -> Result<User, String> {
    let email = Email::parse(email).map_err(|e| format!("--email {e}"))?;
    let password = Password::parse(password).map_err(|e| format!("the password {e}"))?;
    let database = open_database(settings).await.map_err(|e| e.to_string())?;
    let services = services(settings, &database)
        .await
        .map_err(|e| e.to_string())?;
    services
        .accounts
        .register_admin(email, password)
        .await
        .map_err(|e| e.to_string())
}

/// Makes an existing account an administrator (`taskapi admin promote`).
///
/// # Errors
/// A message when no account has this email, or the database fails.
pub async fn promote_admin(settings: &Settings, email: &str) -> Result<User, String> {
    let email = Email::parse(email).map_err(|e| format!("--email {e}"))?;
    let database = open_database(settings).await.map_err(|e| e.to_string())?;
    let services = services(settings, &database)
        .await
        .map_err(|e| e.to_string())?;
    services.admin.promote(&email).await.map_err(|e| match e {
        taskapi_domain::AdminError::NotFound => format!("no account has the email {email}"),
        other => other.to_string(),
    })
}

/// Prints a one-time password-reset token for the account with `email`
/// (`taskapi admin reset-link`), for servers without mail.
///
/// # Errors
/// A message when no account has this email, or the database fails.
pub async fn reset_link(settings: &Settings, email: &str) -> Result<IssuedAccountToken, String> {
    let email = Email::parse(email).map_err(|e| format!("--email {e}"))?;
    let database = open_database(settings).await.map_err(|e| e.to_string())?;
    let services = services(settings, &database)
        .await
        .map_err(|e| e.to_string())?;
    services
        .recovery
        .reset_token_for_email(&email)
        .await
        .map_err(|e| match e {
            RecoveryError::NotFound => format!("no account has the email {email}"),
            other => other.to_string(),
        })
}

/// Sends queued mail: whenever this instance queues some, and every
/// [`MAIL_POLL_INTERVAL`] for mail queued elsewhere or due for a retry. A failed delivery
/// is logged by the message's id, never with its content.
async fn deliver_mail(outbox: MailOutbox, wake: Arc<tokio::sync::Notify>) {
    loop {
        let more = match outbox.deliver_due().await {
            Ok((round, more)) => {
                for (id, why) in &round.failures {
                    log::warn!("delivering mail {id} failed: {why}");
                }
                if round.sent > 0 {
                    log::debug!("delivered {} queued mail", round.sent);
                }
                more
            }
            Err(e) => {
                log::warn!("reading the mail queue failed: {e}");
                false
            }
        };
        if !more {
            let _ = tokio::time::timeout(MAIL_POLL_INTERVAL, wake.notified()).await;
        }
    }
}

/// Deletes what can never be used again (expired sessions, refresh tokens, API tokens,
/// idempotency keys and one-time tokens; delivered or given-up mail; changes past
/// `sync.retention`; tasks trashed longer than `trash.retention` ago) and drops idle throttling state,
/// now and then, off the request path. Reads already ignore what is expired, so this only
/// bounds the tables' size.
async fn housekeeping(
    event_access: EventAccessService,
    accounts: AccountService,
    tasks: TaskService,
    changes: ChangeService,
    recovery: RecoveryService,
    outbox: Option<MailOutbox>,
    throttle: Arc<Throttle>,
) {
    let mut ticks = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match accounts.purge_expired_sessions().await {
            Ok(purged) => log::debug!("purged {purged} expired sessions and refresh tokens"),
            Err(e) => log::warn!("purging expired sessions failed: {e}"),
        }
        match tasks.purge_expired_idempotency_keys().await {
            Ok(purged) => log::debug!("purged {purged} expired idempotency keys"),
            Err(e) => log::warn!("purging expired idempotency keys failed: {e}"),
        }
        match tasks.purge_expired_trash().await {
            Ok(purged) => log::debug!("purged {purged} tasks past trash.retention"),
            Err(e) => log::warn!("purging the trash failed: {e}"),
        }
        match changes.purge_expired().await {
            Ok(purged) => log::debug!("purged {purged} changes past sync.retention"),
            Err(e) => log::warn!("purging old changes failed: {e}"),
        }
        match event_access.purge_expired().await {
            Ok(purged) => log::debug!("purged {purged} expired event tickets"),
            Err(e) => log::warn!("purging expired event tickets failed: {e}"),
        }
        match recovery.purge_expired_tokens().await {
            Ok(purged) => log::debug!("purged {purged} expired one-time tokens"),
            Err(e) => log::warn!("purging expired one-time tokens failed: {e}"),
        }
        if let Some(outbox) = &outbox {
            match outbox.purge_finished().await {
                Ok(purged) => log::debug!("purged {purged} delivered or given-up mail"),
                Err(e) => log::warn!("purging finished mail failed: {e}"),
            }
        }
        throttle.forget_idle();
    }
}

/// Closes the hub of live events on the first SIGTERM or SIGINT.
async fn close_on_stop_signal(events: Arc<EventHub>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            log::warn!("cannot watch for stop signals: open event streams delay shutdown");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    log::info!(
        "stop signal: closing {} event streams",
        events.open_streams()
    );
    events.close();
}

struct DatabaseReadiness(Database);

#[async_trait]
impl ReadinessCheck for DatabaseReadiness {
    async fn check(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// The pool's numbers for the metrics, read from storage at each scrape.
struct DatabasePoolStats(Database);

impl PoolStatsSource for DatabasePoolStats {
    fn snapshot(&self) -> PoolSnapshot {
        let stats = self.0.pool_stats();
        PoolSnapshot {
            max_connections: stats.max_size,
            connections: stats.connections,
            idle_connections: stats.idle_connections,
            checkouts: stats.checkouts,
            waits: stats.waits,
            wait_time: stats.wait_time,
            timeouts: stats.timeouts,
        }
    }
}

/// Binds `address`, returning the listener and the port it got.
fn bind(address: &str) -> Result<(TcpListener, u16), StartupError> {
    let failed = |source| StartupError::Bind {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    Ok((listener, port))
}

/// Raises the open-file limit to hold `max_connections` (`0`: no limit) besides the pool's
/// connections and a reserve, and returns the connection limit that fits: when the hard
/// limit is too low, lower than asked, with a warning saying so.
fn connection_limit(max_connections: usize, pool_size: usize) -> usize {
    let others = u64::try_from(pool_size)
        .unwrap_or(u64::MAX)
        .saturating_add(open_files::RESERVE);
    let wanted = (max_connections > 0).then(|| {
        u64::try_from(max_connections)
            .unwrap_or(u64::MAX)
            .saturating_add(others)
    });
    let Some(soft) = open_files::raise_soft_limit(wanted) else {
        return max_connections;
    };
    if wanted.is_some_and(|wanted| soft >= wanted) {
        return max_connections;
    }
    let fits = usize::try_from(soft.saturating_sub(others).max(1)).unwrap_or(usize::MAX);
    if max_connections == 0 {
        log::info!(
            "server.max_connections is 0: at most {fits} connections fit the open-file limit ({soft})"
        );
        return fits;
    }
    log::warn!(
        "server.max_connections ({max_connections}) needs more open files than the hard limit allows \
         ({soft}, of which {others} are kept for the database pool and the process): \
         at most {fits} connections at once (raise the hard limit, e.g. `ulimit -Hn`, to lift this)"
    );
    fits
}

/// The listener of its own for `/metrics` (`metrics.bind`), bound and not yet running.
struct MetricsServer {
    server: Server,
    port: u16,
}

impl MetricsServer {
    fn build(
        address: &str,
        metrics: Data<Metrics>,
        settings: &Settings,
    ) -> Result<Self, StartupError> {
        let (listener, port) = bind(address)?;
        let server = actix_web::HttpServer::new(move || taskapi_http::metrics_app(metrics.clone()))
            // A scrape every few seconds needs no more.
            .workers(1)
            .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
            .listen(listener)
            .map_err(|e| StartupError::Other(e.to_string()))?
            .run();
        Ok(Self { server, port })
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    metrics: Option<MetricsServer>,
    housekeeping: actix_web::rt::task::JoinHandle<()>,
    mail: Option<actix_web::rt::task::JoinHandle<()>>,
    /// The hub of live events, its loop, and what closes it on a stop signal.
    events: Arc<EventHub>,
    event_tasks: [actix_web::rt::task::JoinHandle<()>; 2],
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("metrics_port", &self.metrics_port())
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
        let Services {
            accounts,
            admin,
            event_access,
            tasks,
            trash,
            changes,
            recovery,
            outbox,
            lists,
        } = services(&settings, &database).await?;
        let throttle = Arc::new(Throttle::new(
            settings
                .throttle
                .throttle_settings(&settings.quota, &settings.server.trusted_proxies)?,
        )?);
        let events = EventHub::new(changes.clone(), settings.events);
        let event_tasks = [
            actix_web::rt::spawn(events.clone().run()),
            // Streams never end by themselves: on SIGTERM or SIGINT they end at once, so that
            // the graceful shutdown actix starts on the same signal is not held up by them.
            actix_web::rt::spawn(close_on_stop_signal(events.clone())),
        ];
        let housekeeping = actix_web::rt::spawn(housekeeping(
            event_access.clone(),
            accounts.clone(),
            tasks.clone(),
            changes.clone(),
            recovery.clone(),
            outbox.as_ref().map(|(outbox, _)| outbox.clone()),
            throttle.clone(),
        ));
        let mail = outbox.map(|(outbox, wake)| actix_web::rt::spawn(deliver_mail(outbox, wake)));
        let state = Data::new(AppState {
            accounts,
            admin,
            recovery,
            tasks,
            trash,
            changes,
            events: events.clone(),
            event_access,
            lists,
            readiness: Arc::new(CachedReadiness::new(
                Arc::new(DatabaseReadiness(database.clone())),
                CachedReadiness::MAX_AGE,
            )),
            throttle,
            cors_origins: Arc::new(settings.cors.allowed_origins.clone()),
            // A search waits at most as long as the one ahead of it may run: the statement
            // time budget, plus the wait for a connection.
            search_gate: Arc::new(SearchGate::new(
                settings.quota.concurrent_searches_per_user,
                settings.database.statement_timeout + settings.database.pool_timeout,
            )),
        });
        let openapi = serde_json::to_vec(&taskapi_http::openapi_document())
            .map_err(|e| StartupError::Other(format!("cannot render the OpenAPI document: {e}")))?;
        let openapi = Data::new(OpenApiJson(Bytes::from(openapi)));

        let (api_metrics, metrics) = if settings.metrics.enabled {
            let metrics = Metrics::new(Arc::new(DatabasePoolStats(database.clone())))
                .map_err(|e| StartupError::Other(format!("cannot set up the metrics: {e}")))?;
            let metrics = Data::new(metrics);
            match &settings.metrics.bind {
                Some(address) => (
                    ApiMetrics::ServedElsewhere(metrics.clone()),
                    Some(MetricsServer::build(address, metrics, &settings)?),
                ),
                None => (ApiMetrics::Served(metrics), None),
            }
        } else {
            (ApiMetrics::Off, None)
        };

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let (listener, port) = bind(&address)?;
        let docs = settings.docs;
        let web = if settings.web.enabled {
            Some(Data::new(WebClient::new(
                web::ASSETS,
                &settings.web.api_origin,
            )?))
        } else {
            None
        };
        let workers = if settings.server.workers > 0 {
            settings.server.workers
        } else {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        };
        // Database calls run on each worker's blocking pool: about one thread per pooled
        // connection between them, so calls queue for a thread rather than pile up threads
        // that wait on the pool (see `taskapi_storage`'s pool module for the measurements'
        // reason and how a queued call keeps to the pool timeout).
        let pool_size = usize::try_from(settings.database.effective_pool_size()).unwrap_or(1);
        let options = taskapi_http::ServerOptions {
            workers,
            max_blocking_threads: pool_size.div_ceil(workers).max(1),
            shutdown_timeout: settings.server.shutdown_timeout,
            max_connections: connection_limit(settings.server.max_connections, pool_size),
            limits: settings.server.connection_limits(),
        };
        let server = taskapi_http::serve(listener, &options, move || {
            taskapi_http::app(
                state.clone(),
                openapi.clone(),
                api_metrics.clone(),
                docs,
                web.clone(),
            )
        })
        .map_err(|e| StartupError::Other(e.to_string()))?;
        log::info!(
            "taskapi {} listening on http://{}:{port} ({} environment, database {}){}",
            env!("CARGO_PKG_VERSION"),
            settings.server.host,
            settings.environment.as_str(),
            settings.database.shown_url(),
            match (docs.enabled, settings.web.enabled) {
                (true, true) => "; API docs at /docs, web client at /app/",
                (true, false) => "; API docs at /docs",
                (false, true) => "; web client at /app/",
                (false, false) => "",
            },
        );
        match (&metrics, &settings.metrics.bind) {
            (Some(own), Some(address)) => {
                let host = address
                    .rsplit_once(':')
                    .map_or(address.as_str(), |(h, _)| h);
                log::info!("metrics at http://{host}:{}/metrics", own.port);
            }
            _ if settings.metrics.enabled => log::info!("metrics at /metrics"),
            _ => log::info!("metrics are disabled"),
        }
        Ok(Self {
            server,
            port,
            metrics,
            housekeeping,
            mail,
            events,
            event_tasks,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `metrics.bind` gave it one of its own (port 0
    /// picks a free one); `None` when `/metrics` is on the API listener or disabled.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|m| m.port)
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish (bounded by
    /// `server.shutdown_timeout`).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = match self.metrics {
            None => self.server.await,
            Some(MetricsServer {
                server: metrics, ..
            }) => {
                let handle = metrics.handle();
                let metrics = actix_web::rt::spawn(metrics);
                let outcome = self.server.await;
                // A signal stops both listeners; should the API stop for another reason,
                // the metrics listener must not outlive it.
                handle.stop(true).await;
                let _ = metrics.await;
                outcome
            }
        };
        self.housekeeping.abort();
        if let Some(mail) = self.mail {
            mail.abort();
        }
        self.events.close();
        for task in self.event_tasks {
            task.abort();
        }
        outcome
    }
}
