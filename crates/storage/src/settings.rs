//! The `[database]` configuration section, as the binary reads it from its files and
//! environment.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::PoolSettings;
use crate::url::redact;

/// `[database]`: which database to open and how to pool its connections. `Debug` and
/// serialisation show the URL with its password redacted.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`.
    #[serde(serialize_with = "serialize_redacted")]
    pub url: String,
    /// Pool size; 0 = by core count.
    pub pool_size: u32,
    /// Longest wait for a pooled connection.
    #[serde(with = "duration")]
    pub pool_timeout: Duration,
    /// How long start-up retries an unreachable database (and waits for other instances'
    /// migrations).
    #[serde(with = "duration")]
    pub startup_timeout: Duration,
    /// Longest a statement runs before the database cancels it (503).
    #[serde(with = "duration")]
    pub statement_timeout: Duration,
}

impl DatabaseSettings {
    /// The pool size to use: the configured one, or 2 per core (at least 4).
    pub fn effective_pool_size(&self) -> u32 {
        if self.pool_size > 0 {
            return self.pool_size;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
    }

    /// The pool [`crate::Database::connect`] opens: the effective size and the timeout.
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            size: self.effective_pool_size(),
            timeout: self.pool_timeout,
        }
    }

    /// The URL with any password redacted, fit for messages and logs.
    pub fn shown_url(&self) -> String {
        redact(&self.url)
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.shown_url())
            .field("pool_size", &self.pool_size)
            .field("pool_timeout", &self.pool_timeout)
            .field("startup_timeout", &self.startup_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

fn serialize_redacted<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact(url))
}

/// Durations as humane strings ("2s", "15m", "30d").
mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw = String::deserialize(d)?;
        humantime::parse_duration(raw.trim()).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{raw}` is not a duration like \"2s\" or \"15m\" ({e})"
            ))
        })
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*value).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> DatabaseSettings {
        DatabaseSettings {
            url: url.to_owned(),
            pool_size: 3,
            pool_timeout: Duration::from_secs(2),
            startup_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn debug_never_shows_a_password_in_either_form() {
        for url in [
            "postgres://app:s3cret@db:5432/tasks",
            "postgres://app@db:5432/tasks?password=s3cret",
            "postgres://app@db/tasks?sslmode=disable&PASSWORD=s3cret",
        ] {
            let shown = format!("{:?}", with_url(url));
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn the_pool_is_the_effective_size_and_the_timeout() {
        let settings = with_url("sqlite://x.db");
        assert_eq!(
            settings.pool(),
            PoolSettings {
                size: 3,
                timeout: Duration::from_secs(2)
            }
        );
        let by_cores = DatabaseSettings {
            pool_size: 0,
            ..settings
        };
        assert!(by_cores.pool().size >= 4);
    }
}
