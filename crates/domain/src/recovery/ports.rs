//! The repository of one-time account tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AccountTokenHash, Email, NewAccountToken, OutgoingMail, PasswordHash, StoreError, TokenPurpose,
    User, UserId,
};

/// Outcome of [`AccountTokenRepository::issue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Stored (and its mail queued).
    Issued,
    /// No such account; nothing was stored.
    NoAccount,
    /// A verification of an address another account has; nothing was stored.
    EmailTaken,
}

/// Outcome of [`AccountTokenRepository::verify_email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The token was good: the account now has its address, verified.
    Verified(User),
    /// Unknown, used, voided or expired.
    Invalid,
    /// The address was taken by another account since the token was issued; nothing
    /// changed (the token stays unused).
    EmailTaken,
}

/// One-time tokens (password reset, e-mail verification), stored only as hashes, and the
/// mail that carries them, queued in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountTokenRepository: Send + Sync {
    /// In one transaction: deletes the account's unused tokens of the same purpose (a newer
    /// token voids the older), stores `token`, and queues `mail` if given. A verification
    /// of an address that another account has is [`IssueOutcome::EmailTaken`] (decided in
    /// the same transaction); a missing account is [`IssueOutcome::NoAccount`].
    async fn issue(
        &self,
        token: NewAccountToken,
        mail: Option<OutgoingMail>,
    ) -> Result<IssueOutcome, StoreError>;

    /// A password reset by address: in one transaction, finds the enabled account with
    /// `email`; if there is one, voids its unused reset tokens, stores a reset token with
    /// `hash` valid from `now` until `expires_at`, and queues `mail`. Returns whether it
    /// did. The work is the same statements either way but the inserts, so that timing
    /// tells little.
    async fn issue_reset_for_email(
        &self,
        email: &Email,
        hash: AccountTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mail: OutgoingMail,
    ) -> Result<bool, StoreError>;

    /// The account an unused, unexpired token of `purpose` with `hash` belongs to, if any
    /// (a read: the token stays usable).
    async fn find_live(
        &self,
        hash: &AccountTokenHash,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Uses a reset token: in one transaction, marks the token with `hash` used if, and
    /// only if, it is an unused, unexpired reset token (one conditional `UPDATE`, so that
    /// of concurrent uses exactly one wins), sets the account's password hash to
    /// `password`, and bumps its `session_epoch` so that every session ends. Returns the
    /// account, or `None` when the token was not good.
    async fn reset_password(
        &self,
        hash: &AccountTokenHash,
        password: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Uses a verification token: in one transaction, marks it used if it is an unused,
    /// unexpired verification token, and gives its account the token's address, verified;
    /// when that changes the address, deletes the account's other unused tokens (mailed to
    /// the old one).
    /// When another account has that address by then, nothing changes
    /// ([`VerifyOutcome::EmailTaken`], detected by the unique constraint).
    async fn verify_email(
        &self,
        hash: &AccountTokenHash,
        now: DateTime<Utc>,
    ) -> Result<VerifyOutcome, StoreError>;

    /// Deletes tokens expired at `now`, in bounded batches. Returns how many went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
