//! The hub of live events: which streams (`GET /events`) are open on this instance, and
//! the one loop that wakes them when their account has new changes.
//!
//! No thread and no query per stream while nothing happens: each stream is a task that
//! waits on a [`Notify`] of its own. The hub's loop, while any stream is open, asks the
//! change log every `events.poll_interval` which accounts have final changes after the
//! position it last asked from (one indexed query, whatever the number of streams, and the
//! only way changes committed through other instances are seen), and notifies the streams
//! of those accounts, each of which then reads its own changes from its own cursor. A
//! notification is a permit, so a stream busy writing when it comes reads again right after:
//! nothing is missed, and bursts of changes cost a stream one read, not one per change.
//!
//! The hub's position only ever decides whom to wake, never what a stream sends: a stream
//! reads from its cursor after it registered, so a change committed between its first read
//! and the hub's next question is after the hub's position and wakes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use taskapi_domain::{ChangePosition, ChangeService, UserId};
use tokio::sync::{Notify, watch};

use crate::settings::EventsSettings;

/// Most accounts one question of the hub names; with more, every stream is woken.
const READERS_PER_POLL: u32 = 10_000;

/// Why a stream cannot be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyStreams {
    /// The most streams an account may hold open here.
    pub limit: u32,
}

/// The streams open on this instance, by account.
#[derive(Debug, Default)]
struct Registry {
    streams: HashMap<UserId, Vec<(u64, Arc<Notify>)>>,
    next_id: u64,
}

/// See the module docs. One per process, shared by every worker.
pub struct EventHub {
    changes: ChangeService,
    settings: EventsSettings,
    registry: Mutex<Registry>,
    /// Wakes the loop when the first stream opens.
    opened: Notify,
    /// `true` once the hub is closed: every stream ends.
    closed: watch::Sender<bool>,
    running: AtomicBool,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An open stream's place in the hub; leaves it when dropped (the client went away, or the
/// stream ended).
pub struct StreamSlot {
    hub: Arc<EventHub>,
    user: UserId,
    id: u64,
    /// Notified when the account has new changes.
    pub wake: Arc<Notify>,
    /// Changes to `true` when the hub closes.
    pub closed: watch::Receiver<bool>,
}

impl std::fmt::Debug for StreamSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSlot")
            .field("user", &self.user)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut registry = self.hub.lock();
        if let Some(streams) = registry.streams.get_mut(&self.user) {
            streams.retain(|(id, _)| *id != self.id);
            if streams.is_empty() {
                registry.streams.remove(&self.user);
            }
        }
    }
}

impl EventHub {
    /// A hub reading `changes` with `settings`; start its loop with [`EventHub::run`].
    pub fn new(changes: ChangeService, settings: EventsSettings) -> Arc<Self> {
        Arc::new(Self {
            changes,
            settings,
            registry: Mutex::new(Registry::default()),
            opened: Notify::new(),
            closed: watch::channel(false).0,
            running: AtomicBool::new(false),
        })
    }

    /// The settings streams follow.
    pub fn settings(&self) -> EventsSettings {
        self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The registry stays consistent whatever panicked while holding it.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a stream for `user`, unless they already hold `events.max_streams_per_user`.
    ///
    /// # Errors
    /// [`TooManyStreams`].
    pub fn register(self: &Arc<Self>, user: UserId) -> Result<StreamSlot, TooManyStreams> {
        let limit = self.settings.max_streams_per_user;
        let wake = Arc::new(Notify::new());
        let id = {
            let mut registry = self.lock();
            let id = registry.next_id;
            let streams = registry.streams.entry(user).or_default();
            if streams.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                return Err(TooManyStreams { limit });
            }
            streams.push((id, wake.clone()));
            registry.next_id += 1;
            id
        };
        self.opened.notify_one();
        Ok(StreamSlot {
            hub: self.clone(),
            user,
            id,
            wake,
            closed: self.closed.subscribe(),
        })
    }

    /// How many streams are open here.
    pub fn open_streams(&self) -> usize {
        self.lock().streams.values().map(Vec::len).sum()
    }

    /// Ends every stream (at shutdown); streams opened afterwards end at once too.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Whether [`EventHub::close`] was called.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Wakes the streams of `users` (every stream when `None`).
    fn wake(&self, users: Option<&[UserId]>) {
        let registry = self.lock();
        match users {
            Some(users) => {
                for user in users {
                    for (_, wake) in registry.streams.get(user).into_iter().flatten() {
                        wake.notify_one();
                    }
                }
            }
            None => {
                for (_, wake) in registry.streams.values().flatten() {
                    wake.notify_one();
                }
            }
        }
    }

    /// The loop (see the module docs), until the hub closes. Run it once per process.
    pub async fn run(self: Arc<Self>) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut closed = self.closed.subscribe();
        let mut position: Option<ChangePosition> = None;
        loop {
            if *closed.borrow() {
                return;
            }
            if self.open_streams() == 0 {
                // Idle: nothing to ask until a stream opens. The next question starts from
                // the present then (the new streams read their own backlog).
                position = None;
                tokio::select! {
                    () = self.opened.notified() => {}
                    _ = closed.changed() => return,
                }
                continue;
            }
            let Some(after) = position else {
                match self.changes.present().await {
                    Ok(present) => position = Some(present.position),
                    Err(e) => {
                        log::warn!("live events: cannot read the change log's present: {e}");
                        self.pause(&mut closed).await;
                    }
                }
                // Streams that opened before the hub's first position read once more, so
                // that nothing between their first read and it goes unnoticed.
                self.wake(None);
                continue;
            };
            if !self.pause(&mut closed).await {
                return;
            }
            match self.changes.readers_after(after, READERS_PER_POLL).await {
                Ok(readers) => {
                    position = Some(readers.present.max(after));
                    if readers.complete {
                        self.wake(Some(&readers.users));
                    } else {
                        self.wake(None);
                    }
                }
                Err(e) => log::warn!("live events: cannot ask the change log: {e}"),
            }
        }
    }

    /// Waits one poll interval; `false` when the hub closed meanwhile.
    async fn pause(&self, closed: &mut watch::Receiver<bool>) -> bool {
        let interval: Duration = self.settings.poll_interval;
        tokio::select! {
            () = tokio::time::sleep(interval) => true,
            _ = closed.changed() => false,
        }
    }
}
