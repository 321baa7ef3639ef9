//! One account's substring searches (`GET /tasks?q=`) take turns: at most
//! `quota.concurrent_searches_per_user` of them run at once, and the others wait for a turn.
//!
//! A search is the one read whose cost a client chooses: even through the trigram index, a
//! pattern whose trigrams every stored text holds (and the texts it finds) costs the
//! database far more than reading a task by id. An account that sends many such searches at
//! once would otherwise hold every pool connection and both cores, and every other account
//! would queue behind it. Taking turns bounds what one account's searches can occupy to a
//! few connections whatever the number of its connections, while a search-as-you-type
//! client, whose keystrokes overlap, only waits for its previous search.
//!
//! Per instance, in memory: an entry exists only while one of the account's searches runs or
//! waits, so the memory follows the searches in flight, never the number of accounts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use taskapi_domain::UserId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The turns of every account's searches.
#[derive(Debug)]
pub struct SearchGate {
    /// Searches one account may run at once; 0 for no limit.
    per_user: usize,
    /// How long a search waits for its turn before it is answered 429.
    wait: Duration,
    /// The accounts with a search running or waiting, each with its turns.
    running: Mutex<HashMap<UserId, Arc<Semaphore>>>,
}

/// A search's turn: held while it runs; dropping it lets the account's next search in.
#[derive(Debug)]
pub struct SearchTurn<'a> {
    gate: &'a SearchGate,
    user: UserId,
    turns: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl SearchGate {
    /// A gate letting `per_user` searches of one account run at once (0: no limit), each
    /// waiting at most `wait` for its turn.
    pub fn new(per_user: usize, wait: Duration) -> Self {
        Self {
            per_user,
            wait,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a turn of `user`'s searches: `None` when there is no limit.
    ///
    /// # Errors
    /// [`ApiError::TooManyRequests`] when no turn came within the wait (the account's own
    /// searches still occupy every turn).
    pub async fn enter(&self, user: UserId) -> Result<Option<SearchTurn<'_>>, ApiError> {
        if self.per_user == 0 {
            return Ok(None);
        }
        let turns = Arc::clone(
            self.lock()
                .entry(user)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_user))),
        );
        // Built before waiting, so that a search that gives up (or whose client leaves)
        // removes the account's entry as one that got its turn does.
        let mut turn = SearchTurn {
            gate: self,
            user,
            turns: Arc::clone(&turns),
            permit: None,
        };
        match tokio::time::timeout(self.wait, turns.acquire_owned()).await {
            Ok(Ok(permit)) => {
                turn.permit = Some(permit);
                Ok(Some(turn))
            }
            // The semaphore is never closed; were it, no turn would ever come.
            // Not held: it has waited already.
            Ok(Err(_)) | Err(_) => Err(ApiError::TooManyRequests {
                retry_after: self.wait.as_secs().max(1),
                hold: Duration::ZERO,
            }),
        }
    }

    /// Accounts with a search running or waiting (for tests).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Arc<Semaphore>>> {
        // The map stays consistent whatever a panicking holder did: each step is one insert
        // or one remove.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SearchTurn<'_> {
    fn drop(&mut self) {
        // The permit goes first: it holds a reference to the turns too.
        drop(self.permit.take());
        let mut running = self.gate.lock();
        // Every other reference (a waiting search's, a running one's) is taken under this
        // lock, so two (the map's and this one) means the account has no other search.
        if Arc::strong_count(&self.turns) == 2 {
            running.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::from_uuid(uuid::Uuid::now_v7())
    }

    #[tokio::test]
    async fn an_accounts_searches_beyond_its_turns_wait_for_one() {
        let gate = SearchGate::new(1, Duration::from_secs(5));
        let alice = user();
        let first = gate.enter(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(first.is_some());
        let waiting = gate.enter(alice);
        tokio::pin!(waiting);
        // The second search waits while the first runs…
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err()
        );
        // …and runs once it ends.
        drop(first);
        let second = waiting.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(second.is_some());
        drop(second);
        assert_eq!(gate.tracked(), 0);
    }

    #[tokio::test]
    async fn one_accounts_searches_never_take_another_accounts_turn() {
        let gate = SearchGate::new(1, Duration::from_millis(10));
        let alice = user();
        let _running = gate.enter(alice).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            gate.enter(user())
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        );
        assert_eq!(gate.tracked(), 1, "bob's entry went with his search");
    }

    #[tokio::test]
    async fn a_search_that_waits_too_long_is_told_to_retry() {
        let gate = SearchGate::new(2, Duration::from_millis(20));
        let alice = user();
        let _a = gate.enter(alice).await.unwrap_or_else(|e| panic!("{e}"));
        let _b = gate.enter(alice).await.unwrap_or_else(|e| panic!("{e}"));
        match gate.enter(alice).await {
            Err(ApiError::TooManyRequests { retry_after, hold }) => {
                assert_eq!((retry_after, hold), (1, Duration::ZERO));
            }
            other => panic!("expected 429, got {other:?}"),
        }
        drop((_a, _b));
        assert_eq!(gate.tracked(), 0, "the refused search left nothing behind");
    }

    #[tokio::test]
    async fn without_a_limit_nothing_is_tracked() {
        let gate = SearchGate::new(0, Duration::from_millis(10));
        let alice = user();
        let turns: Vec<_> = futures_util::future::join_all((0..100).map(|_| gate.enter(alice)))
            .await
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert!(turns.iter().all(Option::is_none));
        assert_eq!(gate.tracked(), 0);
    }
}
