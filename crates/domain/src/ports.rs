//! Ports: what the domain needs from the outside world. Adapters implement these traits;
//! services hold them as `Arc<dyn Port>` because the backend is chosen at run time.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::accounts::{AccessClaims, IssuedToken, NewUser, Password, PasswordHash, User};
use crate::error::{AuthError, StoreError};
use crate::ids::{TaskId, UserId};
use crate::tasks::{Task, TaskChanges};

/// Outcome of inserting a user.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another account already has this email (emails are stored normalised, so this is a
    /// case-insensitive comparison). Adapters MUST detect this with a unique constraint, not
    /// a prior lookup, so that concurrent registrations cannot both succeed.
    #[error("email already registered")]
    EmailTaken,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Persistence of user accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new account.
    ///
    /// # Errors
    /// [`InsertUserError::EmailTaken`] when the email is already used; `Store` otherwise.
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError>;

    /// The account with this (normalised) email, if any.
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// The account with this id, if any.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
}

/// Outcome of a compare-and-swap update of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// The row matched the expected version and now holds the returned state.
    Updated(Task),
    /// The task exists for this owner but its version is no longer the expected one.
    VersionMismatch,
    /// No task with this id belongs to this owner.
    NotFound,
}

/// Persistence of tasks. Every method is scoped by owner: an adapter MUST NOT return, change
/// or delete a task whose owner differs from the one given.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// Stores a new task with its tags, atomically.
    async fn insert(&self, task: Task) -> Result<(), StoreError>;

    /// The owner's task with this id, if any.
    async fn find_for_owner(&self, owner: UserId, id: TaskId) -> Result<Option<Task>, StoreError>;

    /// All of the owner's tasks, oldest first (ties broken by id).
    async fn list_for_owner(&self, owner: UserId) -> Result<Vec<Task>, StoreError>;

    /// Replaces the task's writable fields with `changes` if, and only if, its version is
    /// still `expected_version`, setting `version = version + 1` and `updated_at = now` in
    /// the same statement (never read-then-write).
    async fn update_if_version(
        &self,
        owner: UserId,
        id: TaskId,
        expected_version: i64,
        changes: TaskChanges,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, StoreError>;

    /// Deletes the owner's task. Returns whether a task was deleted.
    async fn delete_for_owner(&self, owner: UserId, id: TaskId) -> Result<bool, StoreError>;
}

/// Password hashing. Implementations MUST NOT run the hash on an async worker thread.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// A message when hashing failed (never the client's fault).
    async fn hash(&self, password: Password) -> Result<PasswordHash, String>;

    /// Whether `password` matches `hash`. A malformed hash is `Ok(false)`.
    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, String>;

    /// A valid hash of a random password at the configured cost, used to make logins with an
    /// unknown email take as long as logins with a known one.
    fn dummy_hash(&self) -> PasswordHash;
}

/// Access-token issuing and verification.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Issues a signed access token for `user`, at `now`.
    ///
    /// # Errors
    /// A message when signing failed (never the client's fault).
    fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<IssuedToken, String>;

    /// Checks signature, algorithm, expiry and issuer, and returns the claims.
    ///
    /// # Errors
    /// [`AuthError::Expired`] for an expired but otherwise valid token;
    /// [`AuthError::Invalid`] for anything else wrong with it.
    fn verify(&self, token: &str) -> Result<AccessClaims, AuthError>;
}

/// The current time. Implementations return UTC truncated to whole microseconds, the
/// precision every storage backend keeps, so that what is stored reads back equal.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New ids. Production uses UUID v7 so ids sort by creation time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A fresh, unique id.
    fn new_id(&self) -> Uuid;
}

/// The system clock, truncated to microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        let micros = now.timestamp_micros();
        DateTime::from_timestamp_micros(micros).unwrap_or(now)
    }
}

/// UUID v7 ids.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Generator;

impl IdGenerator for UuidV7Generator {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}
