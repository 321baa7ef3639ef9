//! What can go wrong with accounts and sessions.

use thiserror::Error;

use crate::StoreError;

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
    /// The request's access token was not accepted.
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing or token signing failed (never the client's fault).
    #[error("internal error: {0}")]
    Internal(String),
}
