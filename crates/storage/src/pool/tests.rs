//! The pool's own behaviour: deadlines counted from the call, abandoned calls, writers'
//! turns, and what the counters say of them.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use tokio::sync::oneshot;

use diesel::RunQueryDsl;

use super::group_commit::MAX_BATCH;
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
/// batch of writes) until released — or for 10 s, should a test wrongly wait for it.
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

/// A writer that no batch takes within the pool timeout answers `Unavailable` and writes
/// nothing, while the writer whose batch is running finishes.
#[test]
fn a_write_no_batch_takes_in_time_is_unavailable_and_never_runs() -> TestResult {
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
    // The queue goes on: the next writer is committed.
    let next = runtime.block_on(pool.write(|_| Ok(())));
    assert!(next.is_ok(), "{next:?}");
    // Three calls; the second waited and timed out. (The third may have queued while the
    // leader was still finishing the holder's batch, and then counts a wait of its own.)
    let totals = pool.checkout_totals();
    assert_eq!((totals.checkouts, totals.timeouts), (3, 1));
    assert!((1..=2).contains(&totals.waits), "{totals:?}");
    Ok(())
}

/// A runtime with threads enough for writers to queue while others run.
fn threaded_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
}

/// A table `t (n INTEGER PRIMARY KEY)` in the pool's database.
fn with_table(runtime: &tokio::runtime::Runtime, pool: &DbPool) -> TestResult {
    runtime
        .block_on(pool.run(|conn| {
            diesel::sql_query("CREATE TABLE t (n INTEGER PRIMARY KEY)").execute(conn)?;
            Ok(())
        }))
        .map_err(|e| StoreError::from(e).to_string())?;
    Ok(())
}

/// The numbers in `t`, in order.
fn numbers(runtime: &tokio::runtime::Runtime, pool: &DbPool) -> Result<Vec<i64>, String> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    runtime
        .block_on(pool.run(|conn| {
            let rows: Vec<N> = diesel::sql_query("SELECT n FROM t ORDER BY n").load(conn)?;
            Ok(rows.into_iter().map(|r| r.n).collect())
        }))
        .map_err(|e| StoreError::from(e).to_string())
}

/// Work inserting `n` into `t`.
fn insert(n: i64) -> impl FnOnce(&mut DbConnection) -> Result<i64, DbError> + Send + 'static {
    move |conn: &mut DbConnection| {
        diesel::sql_query(format!("INSERT INTO t (n) VALUES ({n})")).execute(conn)?;
        Ok(n)
    }
}

/// Writes that queue while another runs share transactions: 199 writers waiting behind one
/// are committed in batches of at most `MAX_BATCH`, each answered its own result, and
/// every acknowledged row is there.
#[test]
fn writes_that_wait_together_share_a_transaction() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = {
        let db = Database::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            PoolSettings {
                size: 2,
                timeout: Duration::from_secs(30),
            },
        )?;
        db.inner.pool.clone()
    };
    let runtime = threaded_runtime()?;
    with_table(&runtime, &pool)?;
    let group = pool.group_commit.clone().ok_or("SQLite has group commit")?;
    let before = group.batches.load(Ordering::Relaxed);
    let (hold, started, release) = holding();
    let answers = runtime.block_on(async {
        let holder = tokio::spawn({
            let pool = pool.clone();
            async move { pool.write(hold).await }
        });
        let _ = started.await;
        let waits_before = pool.checkout_totals().waits;
        let writers: Vec<_> = (1..200)
            .map(|n| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.write(insert(n)).await })
            })
            .collect();
        // Every writer has queued once the counters show it waiting.
        while pool.checkout_totals().waits < waits_before + 199 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = release.send(());
        let mut answers = Vec::new();
        for writer in writers {
            answers.push(writer.await.map_err(|e| e.to_string()));
        }
        (holder.await.map_err(|e| e.to_string()), answers)
    });
    assert!(matches!(answers.0, Ok(Ok(true))), "{:?}", answers.0);
    let got: Vec<i64> = answers
        .1
        .into_iter()
        .map(|a| match a {
            Ok(Ok(n)) => n,
            other => panic!("a write failed: {other:?}"),
        })
        .collect();
    assert_eq!(got, (1..200).collect::<Vec<_>>());
    assert_eq!(numbers(&runtime, &pool)?, (1..200).collect::<Vec<_>>());
    // The holder's batch, then 199 writes in batches of at most 64: 4 more.
    let batches = group.batches.load(Ordering::Relaxed) - before;
    assert_eq!(
        batches,
        1 + 199_u64.div_ceil(MAX_BATCH as u64),
        "{batches} batches"
    );
    Ok(())
}

/// A write's work, boxed so that different closures can queue alike.
type BoxedWrite = Box<dyn FnOnce(&mut DbConnection) -> Result<i64, DbError> + Send>;

/// In one batch, a write that fails or panics is rolled back alone and answered its own
/// error; the writes before and after it are committed, and each sees those before it.
#[test]
fn a_failing_write_in_a_batch_is_rolled_back_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = short_timeout_pool(&dir)?;
    let runtime = threaded_runtime()?;
    with_table(&runtime, &pool)?;
    let (hold, started, release) = holding();
    let (first, failing, panicking, last) = runtime.block_on(async {
        let holder = tokio::spawn({
            let pool = pool.clone();
            async move { pool.write(hold).await }
        });
        let _ = started.await;
        let queued = |work: BoxedWrite| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.write(work).await })
        };
        let waits = pool.checkout_totals().waits;
        let first = queued(Box::new(insert(1)));
        while pool.checkout_totals().waits < waits + 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Writes 2 then fails: its row must go.
        let failing = queued(Box::new(|conn: &mut DbConnection| {
            insert(2)(conn)?;
            Err(DbError::Store(StoreError::internal(
                "refused after writing",
            )))
        }));
        while pool.checkout_totals().waits < waits + 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let panicking = queued(Box::new(|conn: &mut DbConnection| {
            insert(3)(conn)?;
            panic!("a bug in a write");
        }));
        while pool.checkout_totals().waits < waits + 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Sees the first write (1) and neither of the rolled-back ones.
        let last = queued(Box::new(|conn: &mut DbConnection| {
            #[derive(diesel::QueryableByName)]
            struct C {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                c: i64,
            }
            let seen: C = diesel::sql_query("SELECT count(*) AS c FROM t").get_result(conn)?;
            insert(10 + seen.c)(conn)
        }));
        while pool.checkout_totals().waits < waits + 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = release.send(());
        let _ = holder.await;
        (first.await, failing.await, panicking.await, last.await)
    });
    assert!(matches!(first, Ok(Ok(1))), "{first:?}");
    assert!(
        matches!(&failing, Ok(Err(DbError::Store(StoreError::Internal(e)))) if e.to_string() == "refused after writing"),
        "{failing:?}"
    );
    assert!(
        matches!(&panicking, Ok(Err(DbError::Store(StoreError::Internal(e)))) if e.to_string().contains("a bug in a write")),
        "{panicking:?}"
    );
    assert!(matches!(last, Ok(Ok(11))), "{last:?}");
    assert_eq!(numbers(&runtime, &pool)?, vec![1, 11]);
    Ok(())
}
