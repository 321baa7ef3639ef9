//! Personal API tokens: long-lived bearer credentials limited to scopes, for scripts and
//! integrations, and the sessions view of an account.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{ApiTokenId, Scopes, TextError, UserId};

/// A token's name, given by its owner: 1–100 characters after trimming, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenName(String);

impl ApiTokenName {
    /// Most characters (Unicode code points) a name may have.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a name.
    ///
    /// # Errors
    /// [`TextError`] when nothing is left, it is too long, or it holds a control character.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(TextError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TextError::ControlCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A name read back from storage (validated when it was stored).
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored personal API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// Whose it is.
    pub user_id: UserId,
    /// Its owner's name for it.
    pub name: ApiTokenName,
    /// What it allows.
    pub scopes: Scopes,
    /// The token's non-secret beginning (`tka_` and 16 hex digits), shown so that its owner
    /// can recognise it; unique, the key it is looked up by.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute (none if never).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What the owner asks for when creating a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenDraft {
    /// Its name.
    pub name: ApiTokenName,
    /// Its scopes (at least one).
    pub scopes: Scopes,
    /// When it stops working, if ever (must be in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A personal API token in clear: `tka_`, 16 hex digits of lookup prefix, `_`, then 64 hex
/// digits (256 random bits). Shown to its owner once, never stored. Its `Debug` never shows
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenSecret(String);

impl ApiTokenSecret {
    /// What every API token starts with, and what tells it from an access token.
    pub const MARKER: &'static str = "tka_";
    /// Length of the lookup prefix (the marker and 16 hex digits).
    pub const PREFIX_LEN: usize = 20;
    /// Length of a whole token.
    pub const LEN: usize = Self::PREFIX_LEN + 1 + 64;

    /// Wraps a freshly generated token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, for its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a presented bearer token claims to be an API token (rather than an access
    /// token).
    pub fn is_api_token(presented: &str) -> bool {
        presented.starts_with(Self::MARKER)
    }

    /// The lookup prefix of a presented API token, if it has the shape of one.
    pub fn lookup_prefix(presented: &str) -> Option<&str> {
        let bytes = presented.as_bytes();
        let well_formed = bytes.len() == Self::LEN
            && presented.starts_with(Self::MARKER)
            && bytes[Self::PREFIX_LEN] == b'_'
            && bytes[Self::MARKER.len()..Self::PREFIX_LEN]
                .iter()
                .chain(&bytes[Self::PREFIX_LEN + 1..])
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| &presented[..Self::PREFIX_LEN])
    }
}

impl fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiTokenSecret(<redacted>)")
    }
}

/// The stored form of an API token: a one-way hash of the whole token. Its `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenHash(String);

impl ApiTokenHash {
    /// Wraps a hash computed by the token service or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiTokenHash(<redacted>)")
    }
}

/// A token just created: what is stored, and the secret shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedApiToken {
    /// The token as stored.
    pub token: ApiToken,
    /// The token in clear.
    pub secret: ApiTokenSecret,
}

/// Outcome of [`ApiTokenRepository::insert`](crate::ApiTokenRepository::insert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokenInsert {
    /// Stored.
    Inserted,
    /// The account already has the most tokens it may have; nothing was stored.
    CapReached,
}

/// The client a session was started from, as the server saw it at login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionClient {
    /// The `User-Agent` header, truncated to [`SessionClient::MAX_USER_AGENT_CHARS`],
    /// control characters dropped.
    pub user_agent: Option<String>,
    /// The client's address as the throttle sees it (behind trusted proxies, the
    /// forwarded one).
    pub address: Option<String>,
}

impl SessionClient {
    /// Most characters of a user agent kept.
    pub const MAX_USER_AGENT_CHARS: usize = 256;

    /// The client of a login: `user_agent` bounded and cleaned, `address` as given.
    pub fn new(user_agent: Option<&str>, address: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_USER_AGENT_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|ua| !ua.is_empty());
        Self {
            user_agent,
            address,
        }
    }
}

/// One of the caller's running sessions, as `GET /me/sessions` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session.
    pub session: crate::Session,
    /// Whether the request came with this session's access token.
    pub current: bool,
}
