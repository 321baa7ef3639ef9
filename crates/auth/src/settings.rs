//! The `[auth]` configuration section, as the binary reads it from its files and
//! environment: the token service's and the hasher's settings, and the session lifetimes
//! the binary hands to the domain's account service.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::JwtSettings;

/// Shortest accepted JWT secret (HS256 wants at least its output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret string: `Debug` and serialisation never show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret.
    pub jwt_secret: Option<Secret>,
    /// Earlier HS256 secrets, accepted for verification only (key rotation).
    #[serde(deserialize_with = "secrets::deserialize")]
    pub jwt_previous_secrets: Vec<Secret>,
    /// Token issuer.
    pub issuer: String,
    /// Token audience.
    pub audience: String,
    /// Access-token lifetime.
    #[serde(with = "duration")]
    pub access_ttl: Duration,
    /// bcrypt cost.
    pub bcrypt_cost: u32,
    /// Most password checks waiting for a hashing thread; 0 for no bound.
    pub hash_queue: usize,
    /// Refresh-token lifetime.
    #[serde(with = "duration")]
    pub refresh_ttl: Duration,
    /// How long another instance may keep accepting a token after its session ended.
    #[serde(with = "duration")]
    pub revocation_cache_ttl: Duration,
    /// How recent a session's password login must be to delete the account or create an
    /// API token.
    #[serde(with = "duration")]
    pub reauth_window: Duration,
    /// A session ends this long after its login, whatever its refreshes.
    #[serde(with = "duration")]
    pub session_max_age: Duration,
    /// Most running sessions per account (0: no limit); beyond it a login ends the least
    /// recently used.
    pub max_sessions: u64,
    /// How long after its rotation a refresh token presented again gets the same new pair
    /// (0s: never).
    #[serde(with = "duration")]
    pub refresh_grace: Duration,
    /// Most personal API tokens per account (0: no limit).
    pub max_api_tokens: u64,
    /// Lifetime of a password-reset token.
    #[serde(with = "duration")]
    pub reset_ttl: Duration,
    /// Lifetime of an e-mail verification token.
    #[serde(with = "duration")]
    pub verify_ttl: Duration,
    /// `off`, `optional` or `required`.
    #[serde(with = "verification")]
    pub email_verification: taskapi_domain::EmailVerification,
}

impl AuthSettings {
    /// What the token service needs, signing with `secret` (the configured one, or one the
    /// binary generated when none is configured).
    pub fn jwt(&self, secret: &Secret) -> JwtSettings {
        JwtSettings {
            secret: secret.expose().as_bytes().to_vec(),
            previous_secrets: self
                .jwt_previous_secrets
                .iter()
                .map(|s| s.expose().as_bytes().to_vec())
                .collect(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            access_ttl: self.access_ttl,
        }
    }
}

/// A list of secrets: a TOML array, or (from an environment variable) one comma-separated
/// string; items are trimmed and empty ones dropped.
mod secrets {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
        let items = match Raw::deserialize(d)? {
            Raw::List(items) => items,
            Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
        };
        Ok(items
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| Secret::new(s.to_owned()))
            .collect())
    }
}

/// `auth.email_verification` as its name.
mod verification {
    use super::*;
    use taskapi_domain::EmailVerification;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EmailVerification, D::Error> {
        let raw = String::deserialize(d)?;
        EmailVerification::parse(raw.trim()).map_err(serde::de::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &EmailVerification, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }
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
