//! What can go wrong with recovery and verification.

use thiserror::Error;

use crate::{AccountError, CredentialError, HashError, StoreError};

/// Failures of the recovery and verification use cases.
#[derive(Debug, Error)]
pub enum RecoveryError {
    /// The request needs to send mail and no mail transport is configured.
    #[error("mail is not configured on this server")]
    MailNotConfigured,
    /// A token that is unknown, already used, voided by a newer one, or expired.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The address belongs to another account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// The current password given is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The account's address is verified already: there is nothing to verify.
    #[error("the email address is already verified")]
    AlreadyVerified,
    /// No such account (administrators and the command line only).
    #[error("user not found")]
    NotFound,
    /// The caller is not an administrator.
    #[error("administrators only")]
    Forbidden,
    /// The caller came with an API token, which account routes never accept.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The caller's session or login is not good enough (see [`AccountError`]).
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing a password failed, or is at capacity.
    #[error(transparent)]
    Hashing(#[from] HashError),
}
