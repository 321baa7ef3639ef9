//! bcrypt password hashing, off the async workers, on threads of its own that yield to the
//! rest of the service.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use taskapi_domain::PasswordHasher;
use taskapi_domain::{HashError, Password, PasswordHash};
use tokio::sync::oneshot;

/// How much lower the hashing threads' scheduling priority is than the rest of the process
/// (a Linux "nice" increment). bcrypt is pure CPU work that no one waits on interactively
/// but the one client logging in; at a lower priority it still gets the machine when
/// nothing else runs (logins at full speed), and yields part of it to requests that need
/// little CPU each when both want it (a login storm must not starve reads). Each step of
/// nice is about 1.25× less weight for the scheduler; 2 leaves hashing somewhat under half
/// of a 2-core machine that reads saturate (see bench/README.md for the measurements).
const HASHING_NICENESS: i32 = 2;

/// Hashes and verifies passwords with bcrypt at a configured cost.
///
/// Hashes run on a fixed pool of threads, one per core, never on an async worker nor on
/// tokio's blocking pool (where they could take every thread that database calls need). The
/// pool's threads run at a lower priority ([`HASHING_NICENESS`]); hashes beyond the pool's
/// size wait in its queue, which holds at most `auth.hash_queue` of them: past that a check
/// is refused at once with [`HashError::Busy`] instead of waiting behind minutes of work.
#[derive(Clone)]
pub struct BcryptHasher {
    cost: u32,
    pool: HashingPool,
    dummy: PasswordHash,
}

impl fmt::Debug for BcryptHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BcryptHasher")
            .field("cost", &self.cost)
            .field("threads", &self.pool.threads)
            .field("queue", &self.pool.queue)
            .finish_non_exhaustive()
    }
}

/// Why the hasher could not start.
#[derive(Debug, thiserror::Error)]
pub enum HasherStartError {
    /// The configured cost is outside what bcrypt accepts.
    #[error("bcrypt cost must be between {min} and {max}", min = BcryptHasher::MIN_COST, max = BcryptHasher::MAX_COST)]
    CostOutOfRange,
    /// The dummy hash could not be computed.
    #[error("cannot compute the dummy hash: {0}")]
    DummyHash(#[source] bcrypt::BcryptError),
    /// A hashing thread could not be started.
    #[error("cannot start a hashing thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl BcryptHasher {
    /// Lowest cost bcrypt accepts.
    pub const MIN_COST: u32 = 4;
    /// Highest cost bcrypt accepts.
    pub const MAX_COST: u32 = 31;

    /// Builds a hasher and starts its threads (one per core), with room for `queue` checks
    /// waiting for a thread (`0`: no bound). Computes one dummy hash at this cost up front
    /// (blocking, once at start-up) for constant-time logins with unknown emails: the dummy
    /// always has the configured cost, like every hash this hasher writes.
    ///
    /// # Errors
    /// When the cost is outside bcrypt's 4–31, or a thread cannot be started.
    pub fn new(cost: u32, queue: usize) -> Result<Self, HasherStartError> {
        if !(Self::MIN_COST..=Self::MAX_COST).contains(&cost) {
            return Err(HasherStartError::CostOutOfRange);
        }
        let random: [u8; 16] = std::array::from_fn(|i| {
            // Not a secret: the dummy only needs to be a well-formed hash nobody knows the
            // password of. uuid v7 carries 74 random bits.
            uuid::Uuid::now_v7().as_bytes()[i]
        });
        let dummy = bcrypt::hash(random, cost).map_err(HasherStartError::DummyHash)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            cost,
            pool: HashingPool::start(cores, queue)?,
            dummy: PasswordHash::new(dummy),
        })
    }

    async fn run<T, F>(&self, job: F) -> Result<T, HashError>
    where
        F: FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.pool.submit(Box::new(move || {
            // A caller that has gone (its client disconnected while the job queued) wants
            // no answer: spend no hash on it.
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(job().map_err(HashError::new));
        }))?;
        rx.await
            .map_err(|_| HashError::new("hashing task failed: its thread ended"))?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue. The threads end when the last clone is dropped.
#[derive(Clone)]
struct HashingPool {
    jobs: Jobs,
    threads: usize,
    /// Most jobs waiting for a thread; 0 for no bound.
    queue: usize,
    /// Jobs submitted and not yet taken by a thread.
    waiting: Arc<AtomicUsize>,
}

/// The sending end of the queue: bounded unless configured off.
#[derive(Clone)]
enum Jobs {
    Bounded(SyncSender<Job>),
    Unbounded(Sender<Job>),
}

impl HashingPool {
    fn start(threads: usize, queue: usize) -> Result<Self, HasherStartError> {
        // A job leaves the channel's buffer as soon as a thread takes it: the buffer holds
        // exactly the jobs waiting for a thread.
        let (jobs, queue_end) = if queue == 0 {
            let (tx, rx) = mpsc::channel::<Job>();
            (Jobs::Unbounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::sync_channel::<Job>(queue);
            (Jobs::Bounded(tx), rx)
        };
        let queue_end = Arc::new(Mutex::new(queue_end));
        let waiting = Arc::new(AtomicUsize::new(0));
        for n in 0..threads {
            let (queue_end, waiting) = (Arc::clone(&queue_end), Arc::clone(&waiting));
            std::thread::Builder::new()
                .name(format!("taskapi-bcrypt-{n}"))
                .spawn(move || hashing_thread(&queue_end, &waiting))
                .map_err(HasherStartError::Thread)?;
        }
        Ok(Self {
            jobs,
            threads,
            queue,
            waiting,
        })
    }

    /// Whether the queue is full now (never, without a bound).
    fn is_full(&self) -> bool {
        self.queue != 0 && self.waiting.load(Ordering::Relaxed) >= self.queue
    }

    /// Queues a job, never waiting: [`HashError::Busy`] when the queue is full.
    fn submit(&self, job: Job) -> Result<(), HashError> {
        let stopped = || HashError::new("the hashing threads have stopped");
        // Counted before it is sent, so that the thread taking it never counts it off
        // first.
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let sent = match &self.jobs {
            Jobs::Unbounded(tx) => tx.send(job).map_err(|_| stopped()),
            Jobs::Bounded(tx) => tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => HashError::Busy,
                TrySendError::Disconnected(_) => stopped(),
            }),
        };
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }
}

fn hashing_thread(queue: &Mutex<Receiver<Job>>, waiting: &AtomicUsize) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                waiting.fetch_sub(1, Ordering::Relaxed);
                job();
            }
            Err(_) => return, // every sender is gone: the hasher was dropped
        }
    }
}

/// Lowers this thread's priority by [`HASHING_NICENESS`] (Linux: a thread's own nice value).
/// Raising one's nice value needs no privilege; should it fail anyway, hashing runs at normal
/// priority and says so once.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let tid = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(Some(tid), current + HASHING_NICENESS) {
        log::warn!("hashing thread keeps normal priority: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        let cost = self.cost;
        self.run(move || bcrypt::hash(password.expose(), cost))
            .await
            .map(PasswordHash::new)
    }

    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, HashError> {
        // A malformed stored hash is "no match", not an error the client could trigger.
        self.run(move || Ok(bcrypt::verify(password.expose(), hash.as_str()).unwrap_or(false)))
            .await
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }

    fn is_at_capacity(&self) -> bool {
        self.pool.is_full()
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        // A hash bcrypt cannot read is left alone: it matches nothing anyway.
        hash.as_str()
            .parse::<bcrypt::HashParts>()
            .is_ok_and(|parts| parts.get_cost() != self.cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_cost() {
        let h = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        let hash = h
            .hash(pw("correct horse"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert_eq!(
            h.verify(pw("correct horse"), hash.clone()).await.ok(),
            Some(true)
        );
        assert_eq!(h.verify(pw("wrong horse"), hash).await.ok(), Some(false));
    }

    #[tokio::test]
    async fn malformed_hash_is_no_match() {
        let h = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            h.verify(pw("whatever1"), PasswordHash::new("garbage".into()))
                .await
                .ok(),
            Some(false)
        );
    }

    #[tokio::test]
    async fn dummy_hash_is_a_real_hash_at_the_same_cost() {
        let h = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        assert!(h.dummy_hash().as_str().starts_with("$2b$04$"));
        assert_eq!(
            h.verify(pw("anything1"), h.dummy_hash()).await.ok(),
            Some(false)
        );
    }

    #[tokio::test]
    async fn many_hashes_at_once_all_finish_on_the_bounded_pool() {
        let h = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        let hash = h
            .hash(pw("correct horse"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let checks = (0..16).map(|i| {
            let (h, hash) = (h.clone(), hash.clone());
            let guess = if i % 2 == 0 {
                "correct horse"
            } else {
                "wrong horse"
            };
            async move { h.verify(pw(guess), hash).await }
        });
        let results = futures_util::future::join_all(checks).await;
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result.ok(), Some(i % 2 == 0), "check {i}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_run_at_a_lower_priority() {
        let (tx, rx) = mpsc::channel();
        let h = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        let ours = rustix::process::getpriority_process(None).unwrap_or_else(|e| panic!("{e}"));
        h.pool
            .submit(Box::new(move || {
                let tid = rustix::thread::gettid();
                let _ = tx.send(rustix::process::getpriority_process(Some(tid)));
            }))
            .unwrap_or_else(|e| panic!("{e}"));
        let theirs = rx
            .recv()
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(theirs, (ours + HASHING_NICENESS).min(19));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_frees_up_when_threads_do() {
        let h = BcryptHasher::new(4, 2).unwrap_or_else(|e| panic!("{e}"));
        // Hold every thread on a job that waits for the test's word.
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let (started_tx, started) = mpsc::channel::<()>();
        for _ in 0..h.pool.threads {
            let (held, started_tx) = (Arc::clone(&held), started_tx.clone());
            h.pool
                .submit(Box::new(move || {
                    let _ = started_tx.send(());
                    if let Ok(held) = held.lock() {
                        let _ = held.recv();
                    }
                }))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        for _ in 0..h.pool.threads {
            started.recv().unwrap_or_else(|e| panic!("{e}"));
        }
        // Two jobs may wait; the third check is refused without waiting.
        let (ran_tx, ran) = mpsc::channel::<()>();
        for _ in 0..2 {
            let ran_tx = ran_tx.clone();
            h.pool
                .submit(Box::new(move || {
                    let _ = ran_tx.send(());
                }))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(h.is_at_capacity());
        assert!(matches!(
            h.verify(pw("whatever1"), h.dummy_hash()).await,
            Err(HashError::Busy)
        ));
        assert!(matches!(
            h.hash(pw("whatever1")).await,
            Err(HashError::Busy)
        ));
        // Released, the threads take the waiting jobs, and there is room again.
        for _ in 0..h.pool.threads {
            let _ = release.send(());
        }
        for _ in 0..2 {
            ran.recv().unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(!h.is_at_capacity());
        assert_eq!(
            h.verify(pw("whatever1"), h.dummy_hash()).await.ok(),
            Some(false)
        );
    }

    #[test]
    fn hashes_of_another_cost_need_rehashing() {
        let h4 = BcryptHasher::new(4, 32).unwrap_or_else(|e| panic!("{e}"));
        let h5 = BcryptHasher::new(5, 32).unwrap_or_else(|e| panic!("{e}"));
        assert!(h5.dummy_hash().as_str().starts_with("$2b$05$"));
        assert!(!h4.needs_rehash(&h4.dummy_hash()));
        assert!(h4.needs_rehash(&h5.dummy_hash()));
        assert!(h5.needs_rehash(&h4.dummy_hash()));
        assert!(!h4.needs_rehash(&PasswordHash::new("garbage".into())));
    }

    #[test]
    fn cost_out_of_range_is_refused() {
        assert!(BcryptHasher::new(3, 32).is_err());
        assert!(BcryptHasher::new(32, 32).is_err());
    }
}
