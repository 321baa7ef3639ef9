//! What can go wrong with accounts and sessions.

use thiserror::Error;

use crate::{BoxError, CredentialError, StoreError};

/// Why a presented access token was not accepted.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("missing bearer token")]
    Missing,
    /// The token is malformed, badly signed, of the wrong algorithm or issuer.
    #[error("invalid token")]
    Invalid,
    /// The token's lifetime is over.
    #[error("token expired")]
    Expired,
    /// The token was valid but its user is gone, disabled, or has revoked it.
    #[error("token revoked")]
    Revoked,
}

/// Failures of the account use cases (register, login, who-am-I).
#[derive(Debug, Error)]
pub enum AccountError {
    /// Registration with an email that already has an account (compared case-insensitively).
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Unknown email or wrong password: deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The right password for a disabled account.
    #[error("this account is disabled")]
    AccountDisabled,
    /// A refresh token that is unknown, expired, already rotated or of an ended session.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The change would leave no active administrator.
    #[error("the last active administrator cannot do this to themself")]
    LastAdmin,
    /// The change needs a session whose password login is recent (within
    /// `auth.reauth_window`), and this one's is older: log in again first.
    #[error("this needs a recent login; log in again")]
    ReauthenticationRequired,
    /// The right password of an account whose address is not verified, while verification
    /// is required (`auth.email_verification = required`).
    #[error("this account's email address is not verified")]
    EmailNotVerified(crate::UserId),
    /// The request's access token was not accepted.
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// The request's credential does not allow this (an API token on an account route).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The account already has the most API tokens it may have (the limit).
    #[error("an account may have at most {limit} API tokens")]
    TooManyApiTokens {
        /// The most API tokens an account may have.
        limit: u64,
    },
    /// A new API token's expiry is not in the future.
    #[error("must be in the future")]
    ExpiryInPast,
    /// No API token with this id among the caller's.
    #[error("API token not found")]
    ApiTokenNotFound,
    /// No running session with this id among the caller's.
    #[error("session not found")]
    SessionNotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing a password failed (never the client's fault).
    #[error("internal error: {0}")]
    Hashing(#[from] HashError),
    /// Signing an access token failed (never the client's fault).
    #[error("internal error: {0}")]
    Signing(#[from] SigningError),
}

/// Why an email address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailError {
    /// Nothing is left after trimming.
    #[error("must not be empty")]
    Empty,
    /// Longer than SMTP can carry.
    #[error("must be at most {max} bytes")]
    TooLong {
        /// The most allowed.
        max: usize,
    },
    /// Not of the form `local@domain.tld`.
    #[error("must be an email address")]
    Malformed,
    /// A bidirectional control or a zero-width character.
    #[error("must not contain bidirectional controls or zero-width characters")]
    InvisibleCharacters,
}

/// Why a password is refused by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordError {
    /// Fewer bytes than required.
    #[error("must be at least {min} bytes")]
    TooShort {
        /// The fewest allowed.
        min: usize,
    },
    /// More bytes than the hash can take into account.
    #[error("must be at most {max} bytes")]
    TooLong {
        /// The most allowed.
        max: usize,
    },
}

/// A role name that is neither `user` nor `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be one of: user, admin")]
pub struct RoleError;

/// Hashing or verifying a password could not be done.
#[derive(Debug, Error)]
pub enum HashError {
    /// Every hashing thread is busy and the bounded queue in front of them is full: the
    /// check was not attempted (retry shortly).
    #[error("password hashing is at capacity")]
    Busy,
    /// Hashing failed (never the client's fault); the hasher's error is the source.
    #[error("password hashing failed: {0}")]
    Failed(#[source] BoxError),
}

impl HashError {
    /// A hashing failure caused by `cause` (an error, or a message saying what happened).
    pub fn new(cause: impl Into<BoxError>) -> Self {
        Self::Failed(cause.into())
    }
}

/// Signing an access token failed (never the client's fault); the signer's error is the
/// source.
#[derive(Debug, Error)]
#[error("signing an access token failed: {0}")]
pub struct SigningError(#[source] pub BoxError);

impl SigningError {
    /// A signing failure caused by `cause` (an error, or a message saying what happened).
    pub fn new(cause: impl Into<BoxError>) -> Self {
        Self(cause.into())
    }
}
