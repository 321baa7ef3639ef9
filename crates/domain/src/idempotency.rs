//! Idempotent creation: a client's `Idempotency-Key` makes a retried `POST /tasks` replay the
//! first response instead of creating a second task.

use chrono::{DateTime, Utc};

use crate::UserId;

/// How long a key is remembered.
pub const KEY_LIFETIME_HOURS: i64 = 24;

/// After how long a reservation that never completed (its request crashed mid-way) may be
/// taken over by a retry.
pub const ABANDONED_AFTER_SECS: i64 = 60;

/// A client-chosen key: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key.
    pub const MAX_LEN: usize = 255;

    /// Checks the key.
    ///
    /// # Errors
    /// A message saying what is allowed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if (1..=Self::MAX_LEN).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "must be 1–{} visible ASCII characters",
                Self::MAX_LEN
            ))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A response as it was first given, to be replayed verbatim. The domain does not look
/// inside: the HTTP layer renders it and reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
}

/// A reservation this request holds: the key, and when it was reserved (a reservation taken
/// over by a retry carries the retry's instant, so the slow original no longer matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldKey {
    /// Whose key.
    pub owner: UserId,
    /// The key.
    pub key: IdempotencyKey,
    /// The `now` this request reserved it at.
    pub reserved_at: DateTime<Utc>,
}

/// What a reservation of a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key is now this request's: go ahead, then complete or release it.
    Reserved,
    /// The key was already used (within its lifetime).
    Taken {
        /// Fingerprint of the request that used it.
        fingerprint: String,
        /// Its response, or `None` while that request is still running.
        response: Option<StoredResponse>,
    },
}

/// The outcome of an idempotent creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentOutcome {
    /// The response to give.
    pub response: StoredResponse,
    /// Whether it is a replay of an earlier request's response.
    pub replayed: bool,
}

/// The cut-off instants a reservation at `now` works with: keys used before the first are
/// expired; reservations made before the second and never completed are abandoned.
pub fn cutoffs(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        now - chrono::Duration::hours(KEY_LIFETIME_HOURS),
        now - chrono::Duration::seconds(ABANDONED_AFTER_SECS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("order-42_retry.1~!").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
