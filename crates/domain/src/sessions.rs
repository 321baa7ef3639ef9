//! Sessions: one login and the family of refresh tokens it started, and the in-process cache
//! that keeps the per-request session check cheap.
//!
//! An access token names its session (`sid`); the session is live while it is neither
//! revoked nor expired, its account is enabled, and the account's `session_epoch` is still
//! the one the session was started at. Ending one session sets `revoked_at`; ending every
//! session of an account bumps the account's epoch, in the same statement as the change that
//! requires it (a password change, a role change, disabling).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::accounts::{Principal, User};
use crate::ids::{SessionId, UserId};

/// One login: the refresh-token family it started and the access tokens issued with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id (the access tokens' `sid`).
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The account's `session_epoch` when the session started.
    pub epoch: i64,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When its newest refresh token expires; after that the session is over.
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout, reuse of a rotated refresh token), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether access tokens of this session, presented for `subject`, are still good at
    /// `now`, given the session's account as it is now.
    pub fn is_live_for(&self, subject: UserId, account: &User, now: DateTime<Utc>) -> bool {
        self.user_id == subject
            && account.id == subject
            && self.revoked_at.is_none()
            && self.expires_at > now
            && !account.disabled
            && self.epoch == account.session_epoch
    }
}

/// A refresh token in clear: 256 random bits, shown to its client once and never stored.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret(String);

impl RefreshSecret {
    /// Wraps a freshly generated token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, for the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

/// The stored form of a refresh token: a one-way hash of it. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    /// Wraps a hash computed by the token service or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenHash(<redacted>)")
    }
}

/// A refresh token about to be stored (its session is implied by where it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// The token's hash.
    pub hash: RefreshTokenHash,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was live and unused: it is now used, its successor is stored in the same
    /// session, and the session (as it now is) is returned.
    Rotated(Session),
    /// The token had already been rotated: someone is replaying it. Its session must end.
    Reused(SessionId),
    /// Unknown, expired, or of a session that already ended.
    Invalid,
}

/// A bounded, short-lived cache of live sessions, so that most requests skip the database
/// lookup of their session. Entries live at most `ttl` (`auth.revocation_cache_ttl`), which
/// bounds how long another instance may keep accepting a token after its session ended;
/// this instance drops the entries of every session it ends, at once.
pub struct SessionCache {
    ttl: chrono::Duration,
    capacity: usize,
    inner: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<SessionId, CachedSession>,
    /// Grows on every invalidation: a lookup that started before one must not store what it
    /// read, since it may be stale already.
    generation: u64,
}

#[derive(Clone, Copy)]
struct CachedSession {
    principal: Principal,
    fetched_at: DateTime<Utc>,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl SessionCache {
    /// A cache keeping entries for `ttl` (zero disables it), holding at most `capacity`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX),
            capacity,
            inner: Mutex::new(CacheState::default()),
        }
    }

    /// A cache that never keeps anything: every request checks its session in storage.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO, 0)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is
        // a single insert or remove), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The caller of a live session of `subject`, if it was checked less than `ttl` ago.
    pub fn get(
        &self,
        session: SessionId,
        subject: UserId,
        now: DateTime<Utc>,
    ) -> Option<Principal> {
        if self.capacity == 0 {
            return None;
        }
        let state = self.state();
        let entry = state.entries.get(&session)?;
        (entry.principal.user_id == subject && now - entry.fetched_at < self.ttl)
            .then_some(entry.principal)
    }

    /// The current generation; pass it back to [`SessionCache::put`].
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Remembers a session found live at `now`, unless something was invalidated since
    /// `generation` was read.
    pub fn put(
        &self,
        session: SessionId,
        principal: Principal,
        now: DateTime<Utc>,
        generation: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= self.capacity && !state.entries.contains_key(&session) {
            let ttl = self.ttl;
            state.entries.retain(|_, e| now - e.fetched_at < ttl);
            if state.entries.len() >= self.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(
            session,
            CachedSession {
                principal,
                fetched_at: now,
            },
        );
    }

    /// Forgets one session (it was just ended here).
    pub fn invalidate_session(&self, session: SessionId) {
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        state.entries.remove(&session);
    }

    /// Forgets every session of one account (they were just ended, or its role changed).
    pub fn invalidate_user(&self, user: UserId) {
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        state.entries.retain(|_, e| e.principal.user_id != user);
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{Email, PasswordHash, Role};
    use uuid::Uuid;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn sid(n: u128) -> SessionId {
        SessionId::from_uuid(Uuid::from_u128(n))
    }

    fn uid(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    fn principal(n: u128) -> Principal {
        Principal {
            user_id: uid(n),
            role: Role::User,
        }
    }

    fn account(epoch: i64, disabled: bool) -> User {
        User {
            id: uid(1),
            email: Email::from_trusted("a@example.com".into()),
            password_hash: PasswordHash::new("h".into()),
            role: Role::User,
            disabled,
            created_at: at(0),
            session_epoch: epoch,
        }
    }

    fn session() -> Session {
        Session {
            id: sid(9),
            user_id: uid(1),
            epoch: 3,
            created_at: at(0),
            expires_at: at(1000),
            revoked_at: None,
        }
    }

    #[test]
    fn a_session_is_live_only_while_nothing_ended_it() {
        let s = session();
        assert!(s.is_live_for(uid(1), &account(3, false), at(10)));
        assert!(
            !s.is_live_for(uid(2), &account(3, false), at(10)),
            "other subject"
        );
        assert!(
            !s.is_live_for(uid(1), &account(4, false), at(10)),
            "epoch moved on"
        );
        assert!(
            !s.is_live_for(uid(1), &account(3, true), at(10)),
            "disabled"
        );
        assert!(
            !s.is_live_for(uid(1), &account(3, false), at(1000)),
            "expired"
        );
        let revoked = Session {
            revoked_at: Some(at(5)),
            ..session()
        };
        assert!(!revoked.is_live_for(uid(1), &account(3, false), at(10)));
    }

    #[test]
    fn cached_sessions_expire_after_the_ttl_and_only_serve_their_subject() {
        let cache = SessionCache::new(Duration::from_secs(2), 10);
        cache.put(sid(1), principal(1), at(100), cache.generation());
        assert_eq!(cache.get(sid(1), uid(1), at(101)), Some(principal(1)));
        assert_eq!(cache.get(sid(1), uid(2), at(101)), None);
        assert_eq!(cache.get(sid(1), uid(1), at(102)), None);
    }

    #[test]
    fn invalidation_forgets_at_once_and_refuses_lookups_that_started_before_it() {
        let cache = SessionCache::new(Duration::from_secs(60), 10);
        cache.put(sid(1), principal(1), at(0), cache.generation());
        cache.put(sid(2), principal(1), at(0), cache.generation());
        cache.put(sid(3), principal(2), at(0), cache.generation());
        cache.invalidate_session(sid(3));
        assert_eq!(cache.get(sid(3), uid(2), at(1)), None);
        let before = cache.generation();
        cache.invalidate_user(uid(1));
        assert!(cache.is_empty());
        cache.put(sid(1), principal(1), at(1), before);
        assert_eq!(
            cache.get(sid(1), uid(1), at(1)),
            None,
            "stale read not stored"
        );
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = SessionCache::new(Duration::from_secs(60), 3);
        for n in 0..10 {
            cache.put(sid(n), principal(n), at(0), cache.generation());
            assert!(cache.len() <= 3);
        }
        let off = SessionCache::disabled();
        off.put(sid(1), principal(1), at(0), off.generation());
        assert_eq!(off.get(sid(1), uid(1), at(0)), None);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let shown = format!(
            "{:?} {:?}",
            RefreshSecret::new("s3cret-token".into()),
            RefreshTokenHash::new("h4sh".into())
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("h4sh"),
            "{shown}"
        );
    }
}
