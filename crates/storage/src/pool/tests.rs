//! The pool's own behaviour: deadlines counted from the call, abandoned calls, writers'
//! turns, and what the counters say of them.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::*;
use crate::{Database, PoolSettings};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A pool of two connections to a new SQLite file, with a pool timeout of 200 ms (the
/// folder must outlive it).
fn short_timeout_pool(dir: &tempfile::TempDir) -> Result<DbPool, Box<dyn std::error::Error>> {
    let db = Database::connect(
        &format!("sqlite://{}", dir.path().join("t.db").display()),
        PoolSettings {
            size: 2,
            timeout: Duration::from_millis(200),
        },
    )?;
    Ok(db.inner.pool.clone())
}

/// Work that says when it has started, then holds its thread (and connection, and
/// writer's turn) until released — or for 10 s, should a test wrongly wait for it.
/// Its result says whether it was released.
fn holding() -> (
    impl FnOnce(&mut DbConnection) -> Result<bool, DbError> + Send + 'static,
    oneshot::Receiver<()>,
    mpsc::Sender<()>,
) {
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let work = move |_: &mut DbConnection| {
        let _ = started_tx.send(());
        Ok(release_rx.recv_timeout(Duration::from_secs(10)).is_ok())
    };
    (work, started_rx, release_tx)
}

/// Work that only records that it ran.
fn recording(
    ran: Arc<AtomicBool>,
) -> impl FnOnce(&mut DbConnection) -> Result<(), DbError> + Send + 'static {
    move |_: &mut DbConnection| {
        ran.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// With one blocking thread, held by a call that outlasts the pool timeout: a call queued
/// behind it answers `Unavailable` without waiting for it and never runs, while the
/// holder's own call, already started, is awaited to its result.
#[test]
fn a_call_that_cannot_start_in_time_is_unavailable_and_never_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = short_timeout_pool(&dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .max_blocking_threads(1)
        .build()?;
    let (hold, started, release) = holding();
    let queued_ran = Arc::new(AtomicBool::new(false));
    let (holder, queued) = runtime.block_on(async {
        let holder = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(hold).await }
        });
        let _ = started.await;
        let queued = pool.run(recording(Arc::clone(&queued_ran))).await;
        let _ = release.send(());
        (holder.await, queued)
    });
    assert!(
        matches!(queued, Err(DbError::Store(StoreError::Unavailable(_)))),
        "{queued:?}"
    );
    assert!(matches!(holder, Ok(Ok(true))), "{holder:?}");
    // The thread is free again: had the queued call not been abandoned, it would run now.
    let after = runtime.block_on(pool.run(|_| Ok(())));
    assert!(after.is_ok(), "{after:?}");
    assert!(!queued_ran.load(Ordering::SeqCst), "the abandoned call ran");
    // Three calls; the abandoned one waited and timed out.
    let totals = pool.checkout_totals();
    assert_eq!((totals.checkouts, totals.waits, totals.timeouts), (3, 1, 1));
    Ok(())
}

/// A writer that does not get its turn within the pool timeout answers `Unavailable` and
/// writes nothing, while the writer that has the turn finishes.
#[test]
fn a_writer_whose_turn_does_not_come_in_time_is_unavailable_and_never_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = short_timeout_pool(&dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let (hold, started, release) = holding();
    let second_ran = Arc::new(AtomicBool::new(false));
    let (holder, second) = runtime.block_on(async {
        let holder = tokio::spawn({
            let pool = pool.clone();
            async move { pool.write(hold).await }
        });
        let _ = started.await;
        let second = pool.write(recording(Arc::clone(&second_ran))).await;
        let _ = release.send(());
        (holder.await, second)
    });
    assert!(
        matches!(second, Err(DbError::Store(StoreError::Unavailable(_)))),
        "{second:?}"
    );
    assert!(matches!(holder, Ok(Ok(true))), "{holder:?}");
    assert!(!second_ran.load(Ordering::SeqCst), "the second writer ran");
    // The turn was given back: the next writer gets it.
    let next = runtime.block_on(pool.write(|_| Ok(())));
    assert!(next.is_ok(), "{next:?}");
    // Three calls; the second waited for its turn and timed out.
    let totals = pool.checkout_totals();
    assert_eq!((totals.checkouts, totals.waits, totals.timeouts), (3, 1, 1));
    Ok(())
}
