//! Sessions: one login and the family of refresh tokens it started, and the in-process cache
//! that keeps the per-request session check cheap.
//!
//! An access token names its session (`sid`); the session is live while it is neither
//! revoked nor expired, its account is enabled, and the account's `session_epoch` is still
//! the one the session was started at. Ending one session sets `revoked_at`; ending every
//! session of an account bumps the account's epoch, in the same statement as the change that
//! requires it (a password change, a role change, disabling).

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{SessionId, User, UserId};

/// One login: the refresh-token family it started and the access tokens issued with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id (the access tokens' `sid`).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The account's `session_epoch` when the session started.
    pub epoch: i64,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When its newest refresh token expires; after that the session is over.
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout, reuse of a rotated refresh token), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When its password login happened; refreshing does not change it. `None` for
    /// sessions stored before it was recorded: they count as logged in long ago.
    pub password_login_at: Option<DateTime<Utc>>,
    /// When it was last used: its login or its latest refresh (an access token's use is not
    /// recorded; it lives `auth.access_ttl` at most).
    pub last_used_at: Option<DateTime<Utc>>,
    /// The `User-Agent` of its login, bounded (see [`SessionClient`](crate::SessionClient)).
    pub user_agent: Option<String>,
    /// The client address of its login, as the throttle saw it.
    pub address: Option<String>,
}

impl Session {
    /// Whether access tokens of this session, presented for `subject`, are still good at
    /// `now`, given the session's account as it is now.
    pub fn is_live_for(&self, subject: UserId, account: &User, now: DateTime<Utc>) -> bool {
        self.user_id == subject
            && account.id == subject
            && self.revoked_at.is_none()
            && self.expires_at > now
            && !account.disabled
            && self.epoch == account.session_epoch
    }
}

/// A refresh token in clear: 256 random bits, shown to its client once and never stored.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret(String);

impl RefreshSecret {
    /// Wraps a freshly generated token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, for the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

/// The stored form of a refresh token: a one-way hash of it. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    /// Wraps a hash computed by the token service or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenHash(<redacted>)")
    }
}

/// A refresh token about to be stored (its session is implied by where it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// The token's hash.
    pub hash: RefreshTokenHash,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A rotated refresh token's successor, encrypted with a key derived from the rotated token
/// itself: only whoever presents the rotated token again can read it, so what is stored is
/// no usable secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRefreshToken(String);

impl SealedRefreshToken {
    /// Wraps a sealed token made by the token service or read from storage.
    pub fn new(sealed: String) -> Self {
        Self(sealed)
    }

    /// The encoded sealed token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedRefreshToken(<redacted>)")
    }
}

/// The rules a rotation follows besides the token's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// A session ends this long after its login, whatever its refreshes: a token of an older
    /// session is invalid, and the successor expires at that point at the latest.
    pub max_age: chrono::Duration,
    /// Zero, or how long after its rotation a token presented again gets its successor back
    /// (as [`RotateOutcome::Replayed`]) instead of counting as reuse.
    pub grace: chrono::Duration,
    /// With a grace period, the successor sealed with the presented token, to store beside
    /// it; `None` without one.
    pub sealed_successor: Option<SealedRefreshToken>,
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was live and unused: it is now used, its successor is stored in the same
    /// session, and the session (as it now is) is returned.
    Rotated(Session),
    /// The token was rotated less than the grace period ago and its successor is still
    /// unused: the session and the sealed successor, for the same answer again.
    Replayed {
        /// The session (still running).
        session: Session,
        /// The successor, sealed with the presented token.
        sealed: SealedRefreshToken,
    },
    /// The token had already been rotated: someone is replaying it. Its session must end.
    Reused(SessionId),
    /// Unknown, expired, or of a session that already ended.
    Invalid,
}
