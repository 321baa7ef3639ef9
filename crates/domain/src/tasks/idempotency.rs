//! Idempotent creation: a client-chosen key makes a retried creation return the task the
//! first attempt created, as it was then, instead of creating a second one.

use chrono::{DateTime, Utc};

use crate::{IdempotencyKeyError, Task, UserId};

/// A client-chosen key: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// How long a key is remembered, in hours.
    pub const LIFETIME_HOURS: i64 = 24;

    /// After how many seconds a reservation that never completed (its request crashed
    /// mid-way) may be taken over by a retry.
    pub const ABANDONED_AFTER_SECS: i64 = 60;

    /// Longest key.
    pub const MAX_LEN: usize = 255;

    /// Checks the key.
    ///
    /// # Errors
    /// [`IdempotencyKeyError`] saying what is allowed.
    pub fn parse(raw: &str) -> Result<Self, IdempotencyKeyError> {
        if (1..=Self::MAX_LEN).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdempotencyKeyError { max: Self::MAX_LEN })
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cut-off instants a reservation at `now` works with: keys used before the first are
    /// expired; reservations made before the second and never completed are abandoned.
    pub fn cutoffs(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            now - chrono::Duration::hours(Self::LIFETIME_HOURS),
            now - chrono::Duration::seconds(Self::ABANDONED_AFTER_SECS),
        )
    }
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
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one reservation per request, moved once: boxing the task would save nothing"
)]
pub enum Reservation {
    /// The key is now this request's: go ahead, then complete or release it.
    Reserved,
    /// The key was already used (within its lifetime).
    Taken {
        /// Fingerprint of the request that used it.
        fingerprint: String,
        /// The task it created, as it was created (whatever became of it since), or `None`
        /// while that request is still running.
        created: Option<Task>,
    },
}

/// A request that may be repeated: the key the client chose for it, and the fingerprint of
/// what it asks (equal requests have equal fingerprints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRequest {
    /// The client's key.
    pub key: IdempotencyKey,
    /// What the request asks, reduced to a comparable string.
    pub fingerprint: String,
}

/// What a creation made: the task, and whether it is the one an earlier request with the
/// same key created (a replay, which created nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The task as created (for a replay: as the first request created it).
    pub task: Task,
    /// Whether an earlier request created it.
    pub replayed: bool,
}
