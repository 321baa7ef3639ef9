//! The in-process cache of live sessions.

use crate::{Principal, SessionId, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

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
