//! A mail message, as queued and as delivered.

use std::fmt;

use thiserror::Error;
use uuid::Uuid;

use crate::{BoxError, Email};

/// A message to one recipient. Its body carries a one-time token, so its `Debug` shows
/// neither the body nor the subject.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// The id of a queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailId(Uuid);

impl MailId {
    /// Wraps a UUID.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID.
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A queued message claimed for delivery by one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Its id.
    pub id: MailId,
    /// The claim that holds it: only the holder of this claim may mark it sent or failed.
    pub claim: Uuid,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
    /// The message.
    pub mail: OutgoingMail,
}

/// Why a message could not be delivered. Messages name no part of the mail's body.
#[derive(Debug, Error)]
pub enum MailError {
    /// The mail server is unreachable, busy or refused for now: retry later.
    #[error("mail delivery failed for now: {0}")]
    Transient(#[source] BoxError),
    /// The mail server refused the message for good (a bad recipient…): do not retry.
    #[error("mail delivery failed permanently: {0}")]
    Permanent(#[source] BoxError),
}
