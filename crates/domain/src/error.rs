//! Domain errors, one enum per concern, in the words of the spec. Adapters map their own
//! failures into these at the boundary; the HTTP layer maps these to statuses in one place.

use thiserror::Error;

/// A storage adapter could not do what was asked, for reasons that are not the caller's fault.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database is unreachable or no connection became free within the pool timeout.
    /// Retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug, corrupt data, a failed migration…). Details are for the logs.
    #[error("storage failure: {0}")]
    Internal(String),
}

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

/// Failures of the administration use cases.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The caller is not an administrator.
    #[error("administrators only")]
    Forbidden,
    /// No account with this id.
    #[error("user not found")]
    NotFound,
    /// The change would leave no active administrator.
    #[error("the last active administrator cannot be demoted, disabled or deleted")]
    LastAdmin,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Failures of the task use cases.
#[derive(Debug, Error)]
pub enum TaskError {
    /// No such task for this owner: missing, someone else's, or an invalid id.
    #[error("task not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client's precondition (`If-Match`) names a version the task no longer has.
    #[error("the task has changed since the version the request was based on")]
    PreconditionFailed,
    /// An idempotency key was reused with a different request.
    #[error("this idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The first request with this idempotency key is still running.
    #[error("a request with this idempotency key is still in progress")]
    IdempotencyKeyInProgress,
}
