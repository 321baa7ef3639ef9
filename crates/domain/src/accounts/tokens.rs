//! Access tokens and the token pair a login hands out.

use crate::{RefreshSecret, Role, SessionId, UserId};

use std::fmt;

use chrono::{DateTime, Utc};

/// A freshly signed access token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The encoded token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What a login or a refresh hands the client: an access token and the refresh token that
/// replaces it when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access: IssuedToken,
    /// The refresh token (one use).
    pub refresh_token: RefreshSecret,
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user it was issued to (`sub`).
    pub user_id: UserId,
    /// The session it belongs to (`sid`).
    pub session_id: SessionId,
    /// The role the user had when it was issued.
    pub role: Role,
    /// When it was issued (`iat`).
    pub issued_at: DateTime<Utc>,
    /// When it expires (`exp`).
    pub expires_at: DateTime<Utc>,
}
