//! Ports of live events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{RefreshTokenHash, SessionId, StoreError, UserId};

/// A ticket to store: the hash of its secret, the session it stands for, and when it stops
/// working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEventTicket {
    /// SHA-256 of the secret (the secret itself is never stored).
    pub hash: RefreshTokenHash,
    /// The account.
    pub user_id: UserId,
    /// The session whose stream it opens.
    pub session_id: SessionId,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Persistence of event tickets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventTicketRepository: Send + Sync {
    /// Stores a new ticket.
    async fn insert(&self, ticket: NewEventTicket) -> Result<(), StoreError>;

    /// Takes the ticket with this hash if it has not expired at `now`: deletes it and
    /// returns its account and session, in one statement, so that of concurrent uses of a
    /// ticket exactly one gets it.
    async fn take(
        &self,
        hash: RefreshTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserId, SessionId)>, StoreError>;

    /// Deletes tickets that expired before `now`. Returns how many went. Adapters MUST
    /// delete in bounded batches, each in a short transaction of its own, found through an
    /// index.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
