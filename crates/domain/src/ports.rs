//! Ports: what the domain needs from the outside world. Adapters implement these traits;
//! services hold them as `Arc<dyn Port>` because the backend is chosen at run time.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::accounts::{AccessClaims, IssuedToken, NewUser, Password, PasswordHash, Role, User};
use crate::admin::UserListQuery;
use crate::error::{AuthError, StoreError};
use crate::idempotency::{HeldKey, IdempotencyKey, Reservation, StoredResponse};
use crate::ids::{SessionId, TaskId, UserId};
use crate::listing::TaskListQuery;
use crate::sessions::{NewRefreshToken, RefreshSecret, RefreshTokenHash, RotateOutcome, Session};
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

    /// Replaces the password hash, provided it is still `replacing` (the hash the caller
    /// checked the current password against), and in the same statement bumps
    /// `session_epoch` so that every session of the account ends. Returns whether it was
    /// replaced: `false` when the account is gone or its password changed meanwhile.
    async fn set_password(
        &self,
        id: UserId,
        replacing: PasswordHash,
        hash: PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Bumps `session_epoch`: every session of the account ends. Returns whether the account
    /// exists.
    async fn end_all_sessions(&self, id: UserId, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Applies an administrator's change and bumps `session_epoch`, atomically.
    ///
    /// # Errors
    /// None of its own: when the change would take away the last enabled admin (demote or
    /// disable the only one), adapters MUST return [`AccountUpdate::LastAdmin`] and change
    /// nothing, deciding it in the database under a lock or an equivalent guard, never by a
    /// read followed by a write.
    async fn update_account(
        &self,
        id: UserId,
        change: AccountChange,
        now: DateTime<Utc>,
    ) -> Result<AccountUpdate, StoreError>;

    /// Deletes the account with its tasks and sessions, under the same last-admin guard as
    /// [`UserRepository::update_account`].
    async fn delete(&self, id: UserId) -> Result<AccountDeletion, StoreError>;

    /// One page of accounts: those matching the query's filters that come after its cursor
    /// in its order (ties broken by id in the same direction), at most `limit + 1` of them
    /// so that the caller can tell whether another page follows.
    async fn list(&self, query: UserListQuery) -> Result<Vec<User>, StoreError>;
}

/// An administrator's change of an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// The new role.
    pub role: Option<Role>,
    /// Disable (true) or enable (false) the account.
    pub disabled: Option<bool>,
}

impl AccountChange {
    /// Whether the change changes nothing.
    pub fn is_empty(&self) -> bool {
        self.role.is_none() && self.disabled.is_none()
    }
}

/// Outcome of [`UserRepository::update_account`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountUpdate {
    /// Done; the account as it now is.
    Updated(User),
    /// No such account.
    NotFound,
    /// Refused: it would leave no enabled administrator.
    LastAdmin,
}

/// Outcome of [`UserRepository::delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountDeletion {
    /// Deleted, with everything it owned.
    Deleted,
    /// No such account.
    NotFound,
    /// Refused: it would leave no enabled administrator.
    LastAdmin,
}

/// Persistence of sessions and their refresh tokens (stored only as hashes).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session with its first refresh token, atomically.
    async fn create(&self, session: Session, first: NewRefreshToken) -> Result<(), StoreError>;

    /// Rotates a refresh token. In one transaction: marks the token with hash `presented`
    /// used if, and only if, it is unused, unexpired at `now` and its session is neither
    /// revoked nor expired (a single conditional `UPDATE`, so that of concurrent rotations
    /// of one token exactly one wins); stores `next` in the same session; and extends the
    /// session to `next.expires_at`.
    ///
    /// A token that exists but was already used is [`RotateOutcome::Reused`] (the adapter
    /// does not end the session itself); anything else that fails is
    /// [`RotateOutcome::Invalid`].
    async fn rotate(
        &self,
        presented: RefreshTokenHash,
        next: NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, StoreError>;

    /// The session with this id and its account, if both exist (whatever their state).
    async fn find_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, StoreError>;

    /// Ends a session (idempotent: an ended one keeps its first `revoked_at`).
    async fn revoke(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends the session holding the refresh token with hash `token` (used or not, but not
    /// expired) if that session is `owner`'s and still running; returns its id, or `None`
    /// when there is no such session.
    async fn revoke_by_token(
        &self,
        token: RefreshTokenHash,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionId>, StoreError>;

    /// Deletes what can never be used again: sessions that expired or were revoked before
    /// `now`, and refresh tokens that expired. Returns how many rows went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What an update does to a task, decided by the domain on its current state while storage
/// holds the task locked.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateDecision {
    /// Write these changes, stamping `updated_at` with the instant given; storage bumps
    /// `version` in the same statement.
    Write(TaskChanges, DateTime<Utc>),
    /// Leave the task as it is (the update changes nothing).
    Keep,
    /// Refuse the update (its precondition does not hold).
    Refuse,
}

/// The domain's decision function for one update.
pub type DecideUpdate = Box<dyn FnOnce(&Task) -> UpdateDecision + Send>;

/// Outcome of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// The task was changed and now holds the returned state.
    Updated(Task),
    /// The decision was to keep the task; it is returned as it is.
    Unchanged(Task),
    /// The decision was to refuse; nothing changed.
    Refused,
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

    /// Inserts a new task created under an idempotency key and, in the same transaction,
    /// records `response` as what the key yields, provided the reservation is still `held`
    /// (uncompleted, and not taken over since). Returns `false`, having written nothing, when
    /// it is not.
    async fn insert_for_key(
        &self,
        task: Task,
        held: HeldKey,
        response: StoredResponse,
    ) -> Result<bool, StoreError>;

    /// The owner's task with this id, if any.
    async fn find_for_owner(&self, owner: UserId, id: TaskId) -> Result<Option<Task>, StoreError>;

    /// Up to `limit` of the owner's tasks that match `query.filter`, in `query.sort` order
    /// (ties broken by id in the same direction; tasks without `due_at` last when sorting by
    /// it, in either direction), starting just after `query.after` when given. Adapters
    /// MUST seek to the cursor (keyset pagination), never skip rows by offset.
    async fn list_for_owner(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError>;

    /// Reads the owner's task, asks `decide` what to do with it, and does it, atomically:
    /// no other write to the task can come between the read and the write (adapters lock
    /// the row, or the database). A write replaces the writable fields and tags, sets
    /// `updated_at`, and bumps `version` in the UPDATE statement itself.
    async fn update_with(
        &self,
        owner: UserId,
        id: TaskId,
        decide: DecideUpdate,
    ) -> Result<UpdateOutcome, StoreError>;

    /// Deletes the owner's task, only if its version is `expected_version` when one is given
    /// (checked in the same statement).
    async fn delete_for_owner(
        &self,
        owner: UserId,
        id: TaskId,
        expected_version: Option<i64>,
    ) -> Result<DeleteOutcome, StoreError>;
}

/// Outcome of a (conditional) delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The task is gone.
    Deleted,
    /// The task exists but not at the expected version; nothing was deleted.
    VersionMismatch,
    /// No task with this id belongs to this owner.
    NotFound,
}

/// Idempotency keys of task creation, per owner.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for a request with `fingerprint` at `now`. A key last used before
    /// `expired_before` counts as unused; a reservation made before `abandoned_before` that
    /// never completed may be taken over. Adapters MUST arbitrate concurrent reservations of
    /// one key with a unique constraint, so that exactly one gets `Reserved`.
    #[allow(clippy::too_many_arguments)]
    async fn reserve(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Reservation, StoreError>;

    /// Gives up a reservation whose request failed, so that a retry may proceed. Does
    /// nothing if the reservation is no longer `held` (taken over, or completed).
    async fn release(&self, held: HeldKey) -> Result<(), StoreError>;

    /// Forgets every key used before `before`. Returns how many were removed.
    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
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

/// Access-token issuing and verification, and refresh-token generation and hashing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Issues a signed access token for `user` in `session`, at `now`.
    ///
    /// # Errors
    /// A message when signing failed (never the client's fault).
    fn issue(
        &self,
        user: &User,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, String>;

    /// Checks signature, algorithm, expiry and issuer, and returns the claims.
    ///
    /// # Errors
    /// [`AuthError::Expired`] for an expired but otherwise valid token;
    /// [`AuthError::Invalid`] for anything else wrong with it (a missing `sid` included).
    fn verify(&self, token: &str) -> Result<AccessClaims, AuthError>;

    /// A new refresh token: at least 256 bits from a cryptographically secure source.
    fn new_refresh_token(&self) -> RefreshSecret;

    /// The stored form of a refresh token: a one-way hash, the same for the same token.
    fn hash_refresh_token(&self, token: &str) -> RefreshTokenHash;
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
