//! Ports: what the domain needs from the outside world. Adapters implement these traits;
//! services hold them as `Arc<dyn Port>` because the backend is chosen at run time.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AccessClaims, ApiToken, ApiTokenHash, ApiTokenId, ApiTokenInsert, ApiTokenSecret, AuthError,
    HashError, IssuedToken, NewRefreshToken, NewUser, Password, PasswordHash, RefreshSecret,
    RefreshTokenHash, Role, RotateOutcome, Rotation, SealedRefreshToken, Session, SessionId,
    SigningError, StoreError, User, UserId, UserListQuery,
};

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

    /// Replaces the password hash by a new hash of the same password (made at another cost),
    /// provided it is still `replacing`, in one conditional statement, without ending any
    /// session. Returns whether it was replaced: `false` when the account is gone or its
    /// password changed meanwhile (a newer hash is never overwritten).
    async fn rehash_password(
        &self,
        id: UserId,
        replacing: PasswordHash,
        hash: PasswordHash,
    ) -> Result<bool, StoreError>;

    /// Bumps `session_epoch`: every session of the account ends. Returns whether the account
    /// exists.
    async fn end_all_sessions(&self, id: UserId, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Applies an administrator's change and bumps `session_epoch`, atomically; disabling
    /// also deletes the account's API tokens in the same transaction.
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

    /// Deletes the account with its inbox (and its tasks), its memberships, sessions and API tokens,
    /// under the same last-admin guard as [`UserRepository::update_account`], in one
    /// transaction that also, in each list where the account was the only owner, makes the
    /// longest-standing remaining member an owner (editors before viewers), and deletes,
    /// with its tasks, each list the account was the only member of. Tasks it created in
    /// lists that remain stay there.
    async fn delete(&self, id: UserId) -> Result<AccountDeletion, StoreError>;

    /// One page of accounts: those matching the query's filters that come after its cursor
    /// in its order (ties broken by id in the same direction), at most
    /// `query.size.fetch_limit()` of them (one more than the page holds, so that the caller
    /// can tell whether another page follows).
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
    /// Stores a new session with its first refresh token, atomically. With `max_sessions`,
    /// in the same transaction and under a lock of the account (so that concurrent logins
    /// cannot both find room), first ends the account's least recently used running
    /// sessions until, with the new one, it has at most that many; returns the ids of the
    /// sessions it ended.
    async fn create(
        &self,
        session: Session,
        first: NewRefreshToken,
        max_sessions: Option<u64>,
    ) -> Result<Vec<SessionId>, StoreError>;

    /// Rotates a refresh token. In one transaction: marks the token with hash `presented`
    /// used if, and only if, it is unused, unexpired at `now` and its session is neither
    /// revoked nor expired (a single conditional `UPDATE`, so that of concurrent rotations
    /// of one token exactly one wins) and its session started less than `rules.max_age`
    /// before `now`; stores `next` in the same session, expiring at `next.expires_at` or at
    /// the session's `created_at + max_age`, whichever comes first; extends the session to
    /// that instant and sets its `last_used_at` to `now`; and keeps `rules.sealed_successor`
    /// and the successor's hash beside the presented token.
    ///
    /// A token that exists but was already used is [`RotateOutcome::Replayed`] when it was
    /// rotated less than `rules.grace` before `now`, a sealed successor was kept, that
    /// successor is still unused and the session still runs; otherwise it is
    /// [`RotateOutcome::Reused`] (the adapter does not end the session itself). Anything
    /// else that fails is [`RotateOutcome::Invalid`].
    async fn rotate(
        &self,
        presented: RefreshTokenHash,
        next: NewRefreshToken,
        now: DateTime<Utc>,
        rules: Rotation,
    ) -> Result<RotateOutcome, StoreError>;

    /// `owner`'s running sessions at `now` (not ended, not expired, of the account's current
    /// epoch), the most recently used first, at most `limit` of them.
    async fn list_running(
        &self,
        owner: UserId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError>;

    /// Ends session `id` if it is `owner`'s and still running, in one conditional statement;
    /// returns whether it did.
    async fn revoke_for_owner(
        &self,
        id: SessionId,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

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
    /// `now`, refresh tokens that expired, and personal API tokens that expired. Returns how many rows went. Adapters MUST
    /// delete in bounded batches, each in a short transaction of its own, found through an
    /// index, so that a backlog never holds the database's writers up for long.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Persistence of personal API tokens (stored only as hashes, found by their non-secret
/// prefix).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiTokenRepository: Send + Sync {
    /// Stores a new token with the hash of its secret. With `max_tokens`, in one transaction
    /// under a lock of the account: deletes the account's tokens expired at `now`, then
    /// stores the new one only if fewer than `max_tokens` remain, so that concurrent
    /// creations never exceed the cap.
    ///
    /// # Errors
    /// `Store` when storage fails (a prefix collision included: 64 random bits make it
    /// practically impossible).
    async fn insert(
        &self,
        token: ApiToken,
        hash: ApiTokenHash,
        max_tokens: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<ApiTokenInsert, StoreError>;

    /// The token with this prefix, the stored hash of its secret, and its account, read
    /// from storage on every call (never cached: a deleted token must stop working at once,
    /// on every instance).
    async fn find_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<(ApiToken, ApiTokenHash, User)>, StoreError>;

    /// Sets `last_used_at` to `now` if it is unset or before `before`, in one conditional
    /// statement (so that a busy token is written at most once per interval).
    async fn touch(
        &self,
        id: ApiTokenId,
        now: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// `owner`'s tokens, newest first, at most `limit` of them.
    async fn list_for_user(&self, owner: UserId, limit: u32) -> Result<Vec<ApiToken>, StoreError>;

    /// Deletes token `id` if it is `owner`'s; returns whether it did.
    async fn delete(&self, owner: UserId, id: ApiTokenId) -> Result<bool, StoreError>;

    /// Deletes every token of `owner` (a password reset ends them); returns how many went.
    async fn revoke_all_for_user(&self, owner: UserId) -> Result<u64, StoreError>;
}

/// Password hashing. Implementations MUST NOT run the hash on an async worker thread.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// [`HashError`] when hashing failed (never the client's fault).
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`. A malformed hash is `Ok(false)`.
    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, HashError>;

    /// A valid hash of a random password at the configured cost, used to make logins with an
    /// unknown email take as long as logins with a known one.
    fn dummy_hash(&self) -> PasswordHash;

    /// Whether `hash` was made with other parameters (a cost) than this hasher's, so that a
    /// login that verified it should store a new hash of the password. A malformed hash is
    /// `false`.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;

    /// Whether a check submitted now would be refused with [`HashError::Busy`] (every
    /// hashing thread busy and the queue full). Only a hint — the check itself still decides
    /// — so that a login can be refused before it costs a database lookup.
    fn is_at_capacity(&self) -> bool;
}

/// Access-token issuing and verification, and refresh-token generation and hashing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Issues a signed access token for `user` in `session`, at `now`.
    ///
    /// # Errors
    /// [`SigningError`] when signing failed (never the client's fault).
    fn issue(
        &self,
        user: &User,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, SigningError>;

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

    /// Seals `successor` with a key derived from `presented` (the refresh token it
    /// replaces), so that only whoever presents that token again can unseal it.
    fn seal_successor(&self, presented: &str, successor: &RefreshSecret) -> SealedRefreshToken;

    /// Unseals what [`TokenService::seal_successor`] sealed with `presented`; `None` when it
    /// was sealed with another token or is malformed.
    fn unseal_successor(
        &self,
        presented: &str,
        sealed: &SealedRefreshToken,
    ) -> Option<RefreshSecret>;

    /// A new personal API token (`tka_`, a 64-bit random lookup prefix, `_`, 256 random
    /// bits), from a cryptographically secure source.
    fn new_api_token(&self) -> ApiTokenSecret;

    /// The stored form of an API token: a one-way hash of the whole token.
    fn hash_api_token(&self, token: &str) -> ApiTokenHash;

    /// Whether `token` hashes to `stored`, compared in constant time.
    fn api_token_matches(&self, token: &str, stored: &ApiTokenHash) -> bool;
}
