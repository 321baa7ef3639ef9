//! Ports of mail: delivering one message, the durable queue in front of delivery, and the
//! signal that wakes the sender.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{MailError, MailId, OutgoingMail, QueuedMail, StoreError};

/// Delivers one message to a mail server (or, in development, to the log).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`, returning once the server accepted it.
    ///
    /// # Errors
    /// [`MailError::Transient`] when a later attempt may succeed (the server is unreachable,
    /// times out or answers 4xx); [`MailError::Permanent`] when it refused the message for
    /// good (5xx). Adapters MUST NOT put the mail's subject or body in the error, nor in any
    /// log line (except a transport meant to log mail, for development).
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// The durable queue of outgoing mail, shared by every instance on one database. Messages
/// are put in it by the repositories that create what they announce, in the same
/// transaction (see `AccountTokenRepository`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MailQueue: Send + Sync {
    /// Claims at most `limit` messages due at `now` (neither delivered nor given up, next
    /// attempt at or before `now`), oldest due first: each gets `claim`, one more attempt,
    /// and its next attempt moved to `lease_until`, so that another sender takes it over only
    /// if this one never reports back. Adapters MUST claim in one statement that re-checks
    /// due-ness on each row it updates, so that two concurrent claims never both get a
    /// message.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: Uuid,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;

    /// Marks the message delivered, if `claim` still holds it, and forgets its body.
    async fn mark_sent(
        &self,
        id: MailId,
        claim: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt, if `claim` still holds it: the next attempt is at
    /// `retry_at`, or, when `None`, the message is given up (and its body forgotten).
    async fn mark_failed(
        &self,
        id: MailId,
        claim: Uuid,
        now: DateTime<Utc>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Deletes messages delivered or given up at or before `before`, in bounded batches.
    /// Returns how many went.
    async fn purge_finished(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Tells this instance's sender that a message was just queued, so that it need not wait
/// for its next poll. Best effort: the sender also polls.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MailSignal: Send + Sync {
    /// A message was queued.
    fn queued(&self);
}
