//! The in-process cache of live sessions.

use crate::{Principal, SessionId, UserId};
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

/// A bounded, short-lived cache of live sessions, so that most requests skip the database
/// lookup of their session. Entries live at most `ttl` (`auth.revocation_cache_ttl`), which
/// bounds how long another instance may keep accepting a token after its session ended;
/// this instance drops the entries of every session it ends, at once.
///
/// When full, one entry makes room for the next in constant time (quick_cache's S3-FIFO:
/// sessions seen once go before sessions in use); nothing ever empties the whole cache.
pub struct SessionCache {
    ttl: chrono::Duration,
    capacity: usize,
    /// `None` when the capacity is zero (the cache is off).
    entries: Option<quick_cache::sync::Cache<SessionId, CachedSession>>,
    /// Grows on every invalidation: a lookup that started before one must not store what it
    /// read, since it may be stale already. Stores hold it shared (many at once) and
    /// invalidations exclusively, so no store can slip in between an invalidation's bump and
    /// its removal.
    generation: RwLock<u64>,
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
        let entries =
            (capacity > 0 && !ttl.is_zero()).then(|| quick_cache::sync::Cache::new(capacity));
        Self {
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX),
            capacity,
            entries,
            generation: RwLock::new(0),
        }
    }

    /// A cache that never keeps anything: every request checks its session in storage.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO, 0)
    }

    /// The caller of a live session of `subject`, if it was checked less than `ttl` ago.
    pub fn get(
        &self,
        session: SessionId,
        subject: UserId,
        now: DateTime<Utc>,
    ) -> Option<Principal> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(&session)?;
        if now - entry.fetched_at >= self.ttl {
            // Expired: make room for live ones (unless it was refreshed meanwhile).
            entries.remove_if(&session, |e| e.fetched_at == entry.fetched_at);
            return None;
        }
        (entry.principal.user_id == subject).then_some(entry.principal)
    }

    /// The current generation; pass it back to [`SessionCache::put`].
    pub fn generation(&self) -> u64 {
        // A panic while holding the lock cannot leave a number inconsistent, so a poisoned
        // lock is still usable.
        *self
            .generation
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let Some(entries) = &self.entries else {
            return;
        };
        let current = self
            .generation
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current != generation {
            return;
        }
        entries.insert(
            session,
            CachedSession {
                principal,
                fetched_at: now,
            },
        );
    }

    /// Forgets one session (it was just ended here).
    pub fn invalidate_session(&self, session: SessionId) {
        let mut generation = self
            .generation
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        if let Some(entries) = &self.entries {
            entries.remove(&session);
        }
    }

    /// Forgets every session of one account (they were just ended, or its role changed).
    /// This visits every entry; it runs only when an account's sessions end all at once (a
    /// password change, `POST /logout/all`, a role change, disabling, deletion).
    pub fn invalidate_user(&self, user: UserId) {
        let mut generation = self
            .generation
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *generation = generation.wrapping_add(1);
        if let Some(entries) = &self.entries {
            entries.retain(|_, e| e.principal.user_id != user);
        }
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, quick_cache::sync::Cache::len)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
