//! Settings: `config/default.toml` (also compiled in) → `config/<TASKAPI_ENV>.toml` →
//! `TASKAPI__SECTION__KEY` environment variables (and `DATABASE_URL`). Every error names
//! the offending key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment as EnvSource, File, FileFormat};
use serde::{Deserialize, Serialize, Serializer};
pub use taskapi_auth::{AuthSettings, MIN_SECRET_BYTES, Secret};
pub use taskapi_http::{
    CorsSettings, DocsSettings, EventsSettings, ListsSettings, MetricsSettings, QuotaSettings,
    ServerSettings, SyncSettings, ThrottleConfig, TrashSettings, WebSettings,
};
pub use taskapi_storage::DatabaseSettings;

/// The compiled-in defaults: the same file as `config/default.toml`.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// Which environment the process runs in (`TASKAPI_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local development: convenient defaults, a generated secret.
    Development,
    /// Production: secrets must be configured.
    Production,
    /// Automated tests.
    Test,
}

impl Environment {
    fn parse(raw: &str) -> Result<Self, ConfigError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            "test" => Ok(Self::Test),
            other => Err(ConfigError::Invalid {
                key: "TASKAPI_ENV".into(),
                message: format!("`{other}` is not one of development, production, test"),
            }),
        }
    }

    /// The name used for `config/<name>.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Test => "test",
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has an invalid value, or is unknown.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// The key, e.g. `database.pool_timeout`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The files or environment could not be read or parsed.
    #[error("configuration: {0}")]
    Load(String),
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Most `server.max_connections` may ask for.
const MAX_CONNECTIONS: usize = 1_000_000;

/// A bound written as the config files write it: in its largest whole unit (`365d`, `5m`),
/// not in humantime's calendar months.
fn whole_units(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let (n, unit) = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ]
    .into_iter()
    .find(|(size, _)| ms >= *size && ms.is_multiple_of(*size))
    .map_or((ms, "ms"), |(size, unit)| (ms / size, unit));
    format!("{n}{unit}")
}

/// The JWT secrets the repository itself shows (`docker/.env.example`, `config/test.toml`,
/// the end-to-end tests): public, so production refuses them.
pub const DOCUMENTED_PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me-to-at-least-32-random-bytes-0123456789abcdef",
    "test-secret-test-secret-test-secret!",
    "end-to-end-tests-secret-with-more-than-32-bytes",
];

/// Fewest distinct characters a production JWT secret may be made of.
pub const MIN_SECRET_DISTINCT_CHARS: usize = 8;

/// Why production refuses `secret` (already known to be long enough), if it does: a
/// placeholder the project documents, anything that says to change it, or too little variety
/// to be random.
fn production_secret(secret: &str) -> Result<(), String> {
    let lower = secret.trim().to_ascii_lowercase();
    if DOCUMENTED_PLACEHOLDER_SECRETS.contains(&secret.trim())
        || [
            "change-me",
            "changeme",
            "change_me",
            "replace-me",
            "placeholder",
        ]
        .iter()
        .any(|marker| lower.contains(marker))
    {
        return Err(
            "is a placeholder, not a secret: generate one, e.g. `openssl rand -hex 32`".into(),
        );
    }
    let distinct = secret
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if distinct < MIN_SECRET_DISTINCT_CHARS {
        return Err(format!(
            "is made of {distinct} distinct characters; production needs at least \
             {MIN_SECRET_DISTINCT_CHARS} (a random secret: e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(())
}

/// All settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[auth]`.
    pub auth: AuthSettings,
    /// `[throttle]`.
    pub throttle: ThrottleConfig,
    /// `[quota]`.
    pub quota: QuotaSettings,
    /// `[sync]`.
    pub sync: SyncSettings,
    /// `[trash]`.
    pub trash: TrashSettings,
    /// `[events]`.
    pub events: EventsSettings,
    /// `[lists]`.
    pub lists: ListsSettings,
    /// `[cors]`.
    pub cors: CorsSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// `[docs]`.
    pub docs: DocsSettings,
    /// `[web]`.
    pub web: WebSettings,
    /// `[mail]`.
    pub mail: MailSettings,
    /// The environment these settings were loaded for.
    #[serde(
        skip_deserializing,
        default = "default_environment",
        serialize_with = "serialize_env"
    )]
    pub environment: Environment,
}

/// `[mail]`: how mail leaves (password resets, e-mail verification).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `log`, `smtp://host:port` or `none`; unset: `log` in development, `none` in
    /// production and test (see [`MailSettings::transport`]).
    pub transport: Option<String>,
    /// The `From` of every message.
    pub from: String,
    /// The SMTP user name, if the server wants a login.
    pub username: Option<String>,
    /// The SMTP password (never shown).
    pub password: Option<Secret>,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
    /// A PEM file of certificate authorities to trust for the SMTP server's certificate,
    /// besides the system's (a private CA, or a relay's self-signed certificate).
    pub ca_file: Option<String>,
}

/// Where mail goes (`mail.transport`, resolved for the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Written to the log (development only).
    Log,
    /// Delivered through this SMTP server.
    Smtp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// No mail: the routes that would send some answer 503.
    None,
}

/// `mail.tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTls {
    /// Plain SMTP.
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

impl MailSettings {
    /// The transport: as configured, or the environment's default when unset.
    ///
    /// # Errors
    /// A message for a value that is none of `log`, `none`, `smtp://host:port`.
    pub fn transport(&self, environment: Environment) -> Result<MailTransport, String> {
        let Some(raw) = self.transport.as_deref().map(str::trim) else {
            return Ok(match environment {
                Environment::Development => MailTransport::Log,
                Environment::Production | Environment::Test => MailTransport::None,
            });
        };
        match raw {
            "log" => return Ok(MailTransport::Log),
            "none" => return Ok(MailTransport::None),
            _ => {}
        }
        let malformed = || format!("`{raw}` is not one of log, none, smtp://HOST:PORT");
        let address = raw.strip_prefix("smtp://").ok_or_else(malformed)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(malformed)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse::<u16>().ok().filter(|p| *p > 0);
        match port {
            Some(port) if !host.is_empty() && !host.contains(['/', '@', ' ']) => {
                Ok(MailTransport::Smtp {
                    host: host.to_owned(),
                    port,
                })
            }
            _ => Err(malformed()),
        }
    }

    /// `mail.tls`.
    ///
    /// # Errors
    /// A message for anything but `none`, `starttls`, `tls`.
    pub fn tls(&self) -> Result<MailTls, String> {
        match self.tls.trim() {
            "none" => Ok(MailTls::None),
            "starttls" => Ok(MailTls::StartTls),
            "tls" => Ok(MailTls::Tls),
            other => Err(format!("`{other}` is not one of none, starttls, tls")),
        }
    }
}

fn default_environment() -> Environment {
    Environment::Development
}

fn serialize_env<S: Serializer>(env: &Environment, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(env.as_str())
}

impl Settings {
    /// Loads settings for the environment named by `TASKAPI_ENV` from `config_dir` and the
    /// process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key at fault.
    pub fn load(config_dir: &Path) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_dir, &vars)
    }

    /// Like [`Settings::load`], with the environment variables given explicitly (for tests).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key at fault.
    pub fn load_from(config_dir: &Path, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let environment = match var("TASKAPI_ENV") {
            Some(raw) => Environment::parse(&raw)?,
            None => Environment::Development,
        };
        let env_source = EnvSource::with_prefix("TASKAPI")
            .prefix_separator("__")
            .separator("__")
            // Values stay strings (no `try_parsing`): typed keys are converted when
            // deserialised, list keys split their commas themselves (see `list`), and a
            // secret or URL made of digits never round-trips through a float and comes
            // back altered.
            .source(Some(vars.iter().cloned().collect()));
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(config_dir.join("default.toml")).required(false))
            .add_source(
                File::from(config_dir.join(format!("{}.toml", environment.as_str())))
                    .required(false),
            );
        if let Some(url) = var("DATABASE_URL") {
            builder = builder
                .set_override("database.url", url)
                .map_err(|e| ConfigError::Load(e.to_string()))?;
        }
        let mut builder = builder.add_source(env_source);
        // TASKAPI__DATABASE__URL must beat DATABASE_URL, and overrides beat every source.
        if let Some(url) = var("TASKAPI__DATABASE__URL") {
            builder = builder
                .set_override("database.url", url)
                .map_err(|e| ConfigError::Load(e.to_string()))?;
        }
        let config = builder.build().map_err(describe)?;
        let mut settings: Settings = config.try_deserialize().map_err(describe)?;
        settings.environment = environment;
        // An empty variable (`TASKAPI__CORS__ALLOWED_ORIGINS=`) means an empty list.
        for list in [
            &mut settings.cors.allowed_origins,
            &mut settings.server.trusted_proxies,
        ] {
            list.iter_mut().for_each(|s| *s = s.trim().to_owned());
            list.retain(|s| !s.is_empty());
        }
        settings.web.api_origin = settings.web.api_origin.trim().to_owned();
        // And an empty optional mail key is unset.
        for key in [&mut settings.mail.transport, &mut settings.mail.username] {
            *key = key.take().filter(|v| !v.trim().is_empty());
        }
        settings.mail.password = settings
            .mail
            .password
            .take()
            .filter(|p| !p.expose().is_empty());
        // So is an empty `metrics.bind`: the API listener serves /metrics.
        settings.metrics.bind = settings
            .metrics
            .bind
            .take()
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        settings.validate()?;
        Ok(settings)
    }

    /// Every duration key with the range it must fall in. Bounds keep each value far from
    /// what the clock arithmetic behind it can hold (a `refresh_ttl` of centuries would
    /// overflow the session's expiry at the first login) and from values that make no sense
    /// for the key; start-up refuses a value outside them, naming the key.
    fn duration_bounds(&self) -> [(&'static str, Duration, Duration, Duration); 23] {
        const SECOND: Duration = Duration::from_secs(1);
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3600);
        const DAY: Duration = Duration::from_secs(86_400);
        [
            (
                "lists.invitation_ttl",
                self.lists.invitation_ttl,
                MINUTE,
                365 * DAY,
            ),
            (
                "server.shutdown_timeout",
                self.server.shutdown_timeout,
                Duration::ZERO,
                HOUR,
            ),
            (
                "server.request_head_timeout",
                self.server.request_head_timeout,
                Duration::from_millis(100),
                5 * MINUTE,
            ),
            (
                "server.request_body_timeout",
                self.server.request_body_timeout,
                Duration::from_millis(100),
                HOUR,
            ),
            (
                "server.keep_alive",
                self.server.keep_alive,
                Duration::ZERO,
                HOUR,
            ),
            (
                "server.request_timeout",
                self.server.request_timeout,
                Duration::from_millis(10),
                HOUR,
            ),
            (
                "database.pool_timeout",
                self.database.pool_timeout,
                Duration::from_millis(1),
                5 * MINUTE,
            ),
            (
                "database.startup_timeout",
                self.database.startup_timeout,
                Duration::ZERO,
                HOUR,
            ),
            (
                "database.statement_timeout",
                self.database.statement_timeout,
                Duration::from_millis(100),
                HOUR,
            ),
            ("auth.access_ttl", self.auth.access_ttl, SECOND, DAY),
            ("auth.refresh_ttl", self.auth.refresh_ttl, SECOND, 365 * DAY),
            (
                "auth.revocation_cache_ttl",
                self.auth.revocation_cache_ttl,
                Duration::ZERO,
                5 * MINUTE,
            ),
            ("auth.reauth_window", self.auth.reauth_window, SECOND, DAY),
            ("auth.reset_ttl", self.auth.reset_ttl, MINUTE, DAY),
            ("auth.verify_ttl", self.auth.verify_ttl, MINUTE, 30 * DAY),
            (
                "auth.session_max_age",
                self.auth.session_max_age,
                SECOND,
                3650 * DAY,
            ),
            (
                "auth.refresh_grace",
                self.auth.refresh_grace,
                Duration::ZERO,
                5 * MINUTE,
            ),
            (
                "throttle.failed_login_window",
                self.throttle.failed_login_window,
                SECOND,
                DAY,
            ),
            (
                "throttle.refusal_delay",
                self.throttle.refusal_delay,
                Duration::ZERO,
                10 * SECOND,
            ),
            // A cursor is refused once older than this; changes are kept an hour longer.
            ("sync.retention", self.sync.retention, SECOND, 3650 * DAY),
            // Zero purges a trashed task at the next housekeeping round.
            (
                "trash.retention",
                self.trash.retention,
                Duration::ZERO,
                3650 * DAY,
            ),
            // Proxies close connections idle for a minute or so: a heartbeat keeps streams
            // open through them.
            (
                "events.heartbeat",
                self.events.heartbeat,
                SECOND,
                10 * MINUTE,
            ),
            (
                "events.poll_interval",
                self.events.poll_interval,
                Duration::from_millis(50),
                MINUTE,
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value, min, max) in self.duration_bounds() {
            if !(min..=max).contains(&value) {
                return Err(invalid(
                    key,
                    format!(
                        "`{}` is out of range: must be between {} and {}",
                        humantime::format_duration(value),
                        whole_units(min),
                        whole_units(max)
                    ),
                ));
            }
        }
        // A held refusal that reached the request deadline would be a 503 instead.
        if self.throttle.refusal_delay >= self.server.request_timeout {
            return Err(invalid(
                "throttle.refusal_delay",
                "must be shorter than server.request_timeout",
            ));
        }
        if self.server.max_connections > MAX_CONNECTIONS {
            return Err(invalid(
                "server.max_connections",
                format!("must be between 0 and {MAX_CONNECTIONS} (0: no limit)"),
            ));
        }
        if self.server.host.trim().is_empty() {
            return Err(invalid("server.host", "must not be empty"));
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err(invalid("auth.bcrypt_cost", "must be between 4 and 31"));
        }
        if self.auth.hash_queue > 100_000 {
            return Err(invalid("auth.hash_queue", "must be between 0 and 100000"));
        }
        if self.auth.issuer.trim().is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
        }
        if self.auth.audience.trim().is_empty() {
            return Err(invalid("auth.audience", "must not be empty"));
        }
        if self
            .auth
            .jwt_previous_secrets
            .iter()
            .any(|s| s.expose().len() < MIN_SECRET_BYTES)
        {
            return Err(invalid(
                "auth.jwt_previous_secrets",
                format!("every secret must be at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        if self.auth.max_sessions > 100_000 {
            return Err(invalid("auth.max_sessions", "must be between 0 and 100000"));
        }
        if self.auth.max_api_tokens > 10_000 {
            return Err(invalid(
                "auth.max_api_tokens",
                "must be between 0 and 10000",
            ));
        }
        if !(1..=10_000).contains(&self.lists.max_members) {
            return Err(invalid("lists.max_members", "must be between 1 and 10000"));
        }
        if !(1..=1_000).contains(&self.events.max_streams_per_user) {
            return Err(invalid(
                "events.max_streams_per_user",
                "must be between 1 and 1000",
            ));
        }
        if self.auth.refresh_ttl <= self.auth.access_ttl {
            return Err(invalid(
                "auth.refresh_ttl",
                "must be longer than auth.access_ttl",
            ));
        }
        for proxy in &self.server.trusted_proxies {
            proxy
                .parse::<taskapi_http::TrustedProxy>()
                .map_err(|e| invalid("server.trusted_proxies", e.to_string()))?;
        }
        for origin in &self.cors.allowed_origins {
            taskapi_http::validate_origin(origin)
                .map_err(|e| invalid("cors.allowed_origins", e.to_string()))?;
        }
        if !self.web.api_origin.is_empty() {
            taskapi_http::validate_origin(&self.web.api_origin)
                .map_err(|e| invalid("web.api_origin", e.to_string()))?;
        }
        if let Some(bind) = &self.metrics.bind {
            let port = bind
                .rsplit_once(':')
                .filter(|(host, _)| !host.is_empty())
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .ok_or_else(|| {
                    invalid(
                        "metrics.bind",
                        format!("`{bind}` is not a host:port like \"127.0.0.1:9100\""),
                    )
                })?;
            if self.metrics.enabled
                && port != 0
                && *bind == format!("{}:{}", self.server.host, self.server.port)
            {
                return Err(invalid(
                    "metrics.bind",
                    "is the API's own address; leave it unset to serve /metrics there",
                ));
            }
        }
        if self.throttle.per_address_per_minute == 0 {
            return Err(invalid(
                "throttle.per_address_per_minute",
                "must be at least 1 (set throttle.enabled = false to turn throttling off)",
            ));
        }
        if self.throttle.failed_logins_per_email == 0 {
            return Err(invalid(
                "throttle.failed_logins_per_email",
                "must be at least 1 (set throttle.enabled = false to turn throttling off)",
            ));
        }
        if !(1..=10_000_000).contains(&self.throttle.max_tracked_keys) {
            return Err(invalid(
                "throttle.max_tracked_keys",
                "must be between 1 and 10000000",
            ));
        }
        if self.quota.concurrent_searches_per_user > 1_000 {
            return Err(invalid(
                "quota.concurrent_searches_per_user",
                "must be between 0 and 1000",
            ));
        }
        let transport = self
            .mail
            .transport(self.environment)
            .map_err(|why| invalid("mail.transport", why))?;
        self.mail.tls().map_err(|why| invalid("mail.tls", why))?;
        if self.mail.from.trim().is_empty() || !self.mail.from.contains('@') {
            return Err(invalid("mail.from", "must be a mail address"));
        }
        if self.mail.password.is_some() && self.mail.username.is_none() {
            return Err(invalid("mail.password", "needs mail.username"));
        }
        if self.mail.ca_file.is_some() && self.mail.tls() == Ok(MailTls::None) {
            return Err(invalid(
                "mail.ca_file",
                "is only used with mail.tls = \"starttls\" or \"tls\"",
            ));
        }
        if transport == MailTransport::Log && self.environment == Environment::Production {
            return Err(invalid(
                "mail.transport",
                "`log` writes one-time tokens to the log: production refuses it (use \
                 smtp://HOST:PORT, or none)",
            ));
        }
        if transport == MailTransport::None
            && self.auth.email_verification == taskapi_domain::EmailVerification::Required
        {
            return Err(invalid(
                "auth.email_verification",
                "`required` needs mail (mail.transport is none): nobody could verify an address",
            ));
        }
        match (&self.auth.jwt_secret, self.environment) {
            (Some(secret), _) if secret.expose().len() < MIN_SECRET_BYTES => Err(invalid(
                "auth.jwt_secret",
                format!("must be at least {MIN_SECRET_BYTES} bytes"),
            )),
            (Some(secret), Environment::Production) => {
                production_secret(secret.expose()).map_err(|why| invalid("auth.jwt_secret", why))
            }
            (None, Environment::Production) => Err(invalid(
                "auth.jwt_secret",
                format!(
                    "is required in production (at least {MIN_SECRET_BYTES} bytes; set TASKAPI__AUTH__JWT_SECRET)"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The settings as TOML with secrets redacted, for `taskapi config check`.
    pub fn redacted_toml(&self) -> String {
        // The database URL serialises with its password redacted already.
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(n) = value.pointer_mut("/database/pool_size") {
            *n = serde_json::Value::from(self.database.effective_pool_size());
        }
        render_toml(&value)
    }
}

fn render_toml(value: &serde_json::Value) -> String {
    let mut out = String::new();
    let Some(root) = value.as_object() else {
        return out;
    };
    for (key, v) in root.iter().filter(|(_, v)| !v.is_object()) {
        out.push_str(&format!("{key} = {v}\n"));
    }
    for (section, table) in root
        .iter()
        .filter_map(|(k, v)| v.as_object().map(|t| (k, t)))
    {
        out.push_str(&format!("\n[{section}]\n"));
        for (key, v) in table {
            if !v.is_null() {
                out.push_str(&format!("{key} = {v}\n"));
            }
        }
    }
    out
}

/// Rewrites the `config` crate's messages so that they lead with the key.
fn describe(e: config::ConfigError) -> ConfigError {
    let text = e.to_string();
    // config says "… for key `database.pool_timeout` in …" or "unknown field `x`, … for key `server`".
    if let Some(start) = text.find("for key `") {
        let rest = &text[start + 9..];
        let key = rest.split('`').next().unwrap_or_default().to_owned();
        let message = text[..start].trim().to_owned();
        if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next())
        {
            let full = if key.is_empty() {
                field.to_owned()
            } else {
                format!("{key}.{field}")
            };
            return invalid(&full, "is not a known key");
        }
        return invalid(&key, message);
    }
    if let Some(field) = text
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        return invalid(field, "is not a known key");
    }
    ConfigError::Load(text)
}

/// Where a development secret is kept between runs.
pub fn generated_secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt-secret")
}

#[cfg(test)]
mod tests;
