//! Settings: `config/default.toml` (also compiled in) → `config/<TASKAPI_ENV>.toml` →
//! `TASKAPI__SECTION__KEY` environment variables (and `DATABASE_URL`). Every error names
//! the offending key.

use std::path::{Path, PathBuf};

use config::{Config, Environment as EnvSource, File, FileFormat};
use serde::{Deserialize, Serialize, Serializer};
pub use taskapi_auth::{AuthSettings, MIN_SECRET_BYTES, Secret};
pub use taskapi_http::{CorsSettings, MetricsSettings, ServerSettings, ThrottleConfig};
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
    /// `[cors]`.
    pub cors: CorsSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// The environment these settings were loaded for.
    #[serde(
        skip_deserializing,
        default = "default_environment",
        serialize_with = "serialize_env"
    )]
    pub environment: Environment,
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

    fn validate(&self) -> Result<(), ConfigError> {
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
        if self.database.pool_timeout.is_zero() {
            return Err(invalid("database.pool_timeout", "must be longer than zero"));
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err(invalid("auth.bcrypt_cost", "must be between 4 and 31"));
        }
        if self.auth.access_ttl.as_secs() < 1 {
            return Err(invalid("auth.access_ttl", "must be at least one second"));
        }
        if self.auth.issuer.trim().is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
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
        if self.throttle.failed_login_window.as_secs() < 1 {
            return Err(invalid(
                "throttle.failed_login_window",
                "must be at least one second",
            ));
        }
        match (&self.auth.jwt_secret, self.environment) {
            (Some(secret), _) if secret.expose().len() < MIN_SECRET_BYTES => Err(invalid(
                "auth.jwt_secret",
                format!("must be at least {MIN_SECRET_BYTES} bytes"),
            )),
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
mod tests {
    use std::time::Duration;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::load_from(Path::new("/nonexistent-config-dir"), &vars)
    }

    fn key_of(result: Result<Settings, ConfigError>) -> String {
        match result {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn compiled_in_defaults_match_the_spec() {
        let s = load(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.server.host.as_str(), s.server.port), ("127.0.0.1", 8000));
        assert_eq!(s.server.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(s.database.url, "sqlite://data/taskapi.db");
        assert_eq!(s.database.pool_timeout, Duration::from_secs(2));
        assert_eq!(s.database.startup_timeout, Duration::from_secs(30));
        assert_eq!(s.auth.issuer, "taskapi");
        assert_eq!(s.auth.access_ttl, Duration::from_secs(15 * 60));
        assert_eq!(s.auth.bcrypt_cost, 12);
        assert_eq!(s.auth.refresh_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(s.auth.revocation_cache_ttl, Duration::from_secs(2));
        assert!(s.throttle.enabled);
        assert_eq!(s.throttle.per_address_per_minute, 20);
        assert_eq!(s.throttle.failed_logins_per_email, 5);
        assert_eq!(s.throttle.failed_login_window, Duration::from_secs(15 * 60));
        assert!(s.cors.allowed_origins.is_empty());
        assert!(s.server.trusted_proxies.is_empty());
        assert!(s.metrics.enabled);
        assert_eq!(s.metrics.bind, None, "/metrics is on the API listener");
        assert!(s.auth.jwt_secret.is_none());
        assert_eq!(s.environment, Environment::Development);
        assert!(s.database.effective_pool_size() >= 4);
    }

    #[test]
    fn environment_variables_override_files() {
        let s = load(&[
            ("TASKAPI__SERVER__PORT", "9000"),
            ("TASKAPI__AUTH__ACCESS_TTL", "5m"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.auth.access_ttl, Duration::from_secs(300));
    }

    #[test]
    fn list_keys_are_comma_separated_and_other_keys_stay_scalars() {
        let s = load(&[
            (
                "TASKAPI__CORS__ALLOWED_ORIGINS",
                "https://app.example.com, http://localhost:3000",
            ),
            ("TASKAPI__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
            ("TASKAPI__AUTH__ISSUER", "a,b"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.cors.allowed_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(s.server.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(s.auth.issuer, "a,b");
        let s = load(&[("TASKAPI__CORS__ALLOWED_ORIGINS", "")]).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.cors.allowed_origins.is_empty());
    }

    #[test]
    fn taskapi_database_url_beats_database_url() {
        let s = load(&[("DATABASE_URL", "sqlite://a.db")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.database.url, "sqlite://a.db");
        let s = load(&[
            ("DATABASE_URL", "sqlite://a.db"),
            ("TASKAPI__DATABASE__URL", "sqlite://b.db"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.database.url, "sqlite://b.db");
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            key_of(load(&[("TASKAPI__SERVER__PORT", "eighty")])),
            "server.port"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__DATABASE__POOL_TIMEOUT", "soon")])),
            "database.pool_timeout"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__DATABASE__POOL_SISE", "3")])),
            "database.pool_sise"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__AUTH__BCRYPT_COST", "3")])),
            "auth.bcrypt_cost"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__DATABASE__URL", "mysql://x")])),
            "database.url"
        );
        assert_eq!(key_of(load(&[("TASKAPI_ENV", "staging")])), "TASKAPI_ENV");
        assert_eq!(
            key_of(load(&[(
                "TASKAPI__CORS__ALLOWED_ORIGINS",
                "https://x.example/"
            )])),
            "cors.allowed_origins"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__SERVER__TRUSTED_PROXIES", "proxy.local")])),
            "server.trusted_proxies"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "0")])),
            "throttle.per_address_per_minute"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__THROTTLE__ENABLED", "maybe")])),
            "throttle.enabled"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__AUTH__REFRESH_TTL", "1m")])),
            "auth.refresh_ttl"
        );
        assert_eq!(
            key_of(load(&[("TASKAPI__AUTH__JWT_SECRET", "short")])),
            "auth.jwt_secret"
        );
        for bad in [
            "9100",
            ":9100",
            "localhost",
            "127.0.0.1:99999",
            "127.0.0.1:8000",
        ] {
            assert_eq!(
                key_of(load(&[("TASKAPI__METRICS__BIND", bad)])),
                "metrics.bind",
                "{bad}"
            );
        }
        assert_eq!(
            key_of(load(&[("TASKAPI__METRICS__ENABLED", "sometimes")])),
            "metrics.enabled"
        );
    }

    #[test]
    fn metrics_can_be_turned_off_or_bound_elsewhere() {
        let s = load(&[("TASKAPI__METRICS__ENABLED", "false")]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.metrics.enabled);
        let s =
            load(&[("TASKAPI__METRICS__BIND", " 0.0.0.0:9100 ")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.metrics.bind.as_deref(), Some("0.0.0.0:9100"));
        let s = load(&[("TASKAPI__METRICS__BIND", "[::1]:9100")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.metrics.bind.as_deref(), Some("[::1]:9100"));
        let s = load(&[("TASKAPI__METRICS__BIND", "")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.metrics.bind, None, "empty means the API listener");
    }

    #[test]
    fn production_requires_a_long_secret() {
        assert_eq!(
            key_of(load(&[("TASKAPI_ENV", "production")])),
            "auth.jwt_secret"
        );
        let secret = "x".repeat(32);
        let s = load(&[
            ("TASKAPI_ENV", "production"),
            ("TASKAPI__AUTH__JWT_SECRET", &secret),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.environment, Environment::Production);
    }

    #[test]
    fn secrets_and_urls_from_the_environment_are_kept_verbatim() {
        // Digits only, or a word like "true": environment parsing must not turn them into
        // numbers or booleans and back into a different string.
        for secret in [
            "123456789012345678901234567890123456",
            "000000000000000000000000000000000001",
        ] {
            let s =
                load(&[("TASKAPI__AUTH__JWT_SECRET", secret)]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.auth.jwt_secret.as_ref().map(Secret::expose), Some(secret));
        }
    }

    #[test]
    fn config_check_output_redacts_secrets() {
        let secret = "s".repeat(40);
        let s = load(&[
            ("TASKAPI__AUTH__JWT_SECRET", &secret),
            (
                "TASKAPI__DATABASE__URL",
                "postgres://app:hunter2@db:5432/tasks",
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = s.redacted_toml();
        assert!(
            !shown.contains(&secret) && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("postgres://app:***@db:5432/tasks"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn config_check_output_and_debug_redact_a_password_given_as_a_query_parameter() {
        for (url, redacted) in [
            (
                "postgres://app@db:5432/tasks?password=hunter2",
                "postgres://app@db:5432/tasks?password=***",
            ),
            (
                "postgres://app@db/tasks?sslmode=disable&Password=hunter2",
                "postgres://app@db/tasks?sslmode=disable&Password=***",
            ),
        ] {
            let s = load(&[("TASKAPI__DATABASE__URL", url)]).unwrap_or_else(|e| panic!("{e}"));
            let shown = s.redacted_toml();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains(redacted), "{shown}");
            let debug = format!("{s:?}");
            assert!(!debug.contains("hunter2"), "{debug}");
        }
    }
}
