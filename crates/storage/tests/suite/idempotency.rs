//! Idempotency keys of task creation: reservation, replay, expiry, take-over of abandoned
//! reservations, release, purge, and concurrent duplicates.

use std::sync::atomic::{AtomicU64, Ordering};
use taskapi_domain::IdempotencyStore;

use taskapi_domain::{HeldKey, IdempotencyKey, Reservation, TaskInsert};

use super::*;

const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;
const LIFETIME: i64 = IdempotencyKey::LIFETIME_HOURS * HOUR;
const ABANDONED_AFTER: i64 = IdempotencyKey::ABANDONED_AFTER_SECS * SECOND;

fn key(raw: &str) -> Result<IdempotencyKey, BoxError> {
    Ok(IdempotencyKey::parse(raw)?)
}

/// A reservation at `now`, with the cut-offs the domain uses at that instant.
async fn reserve(
    keys: &dyn IdempotencyStore,
    owner: UserId,
    key: &IdempotencyKey,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Reservation, StoreError> {
    let (expired_before, abandoned_before) = IdempotencyKey::cutoffs(now);
    keys.reserve(
        owner,
        key.clone(),
        fingerprint.to_owned(),
        now,
        expired_before,
        abandoned_before,
    )
    .await
}

fn held(owner: UserId, key: &IdempotencyKey, reserved_at: DateTime<Utc>) -> HeldKey {
    HeldKey {
        owner,
        key: key.clone(),
        reserved_at,
    }
}

/// A new task of `owner`'s, created at `at`, with a fresh id and `tags`.
fn fresh_task(owner: UserId, at: DateTime<Utc>, tags: &[&str]) -> Result<Task, BoxError> {
    static NEXT_TASK: AtomicU64 = AtomicU64::new(1_000_000);
    let n = u128::from(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
    new_task(owner, n, at, tags)
}

/// Completes `owner`'s reservation of `key` made at `reserved_at` as task creation does: a
/// new task, stored and recorded as what the key yields in one transaction. Returns the
/// task if the reservation was still held (and the task therefore stored).
async fn try_complete(
    db: &Database,
    owner: UserId,
    key: &IdempotencyKey,
    reserved_at: DateTime<Utc>,
) -> Result<Option<Task>, BoxError> {
    let mut task = fresh_task(owner, reserved_at, &["keyed", "ärger über 100% _x_ \\"])?;
    let stored = db
        .tasks()
        .insert_for_key_placed(&mut task, held(owner, key, reserved_at), None)
        .await?;
    Ok(matches!(stored, TaskInsert::Inserted { .. }).then_some(task))
}

/// [`try_complete`] of a reservation the test knows is held.
async fn complete(
    db: &Database,
    owner: UserId,
    key: &IdempotencyKey,
    reserved_at: DateTime<Utc>,
) -> Result<Task, BoxError> {
    try_complete(db, owner, key, reserved_at)
        .await?
        .ok_or_else(|| {
            format!("the reservation of {key:?} at {reserved_at} should still be held").into()
        })
}

fn in_progress(fingerprint: &str) -> Reservation {
    Reservation::Taken {
        fingerprint: fingerprint.to_owned(),
        created: None,
    }
}

fn completed(fingerprint: &str, task: &Task) -> Reservation {
    Reservation::Taken {
        fingerprint: fingerprint.to_owned(),
        created: Some(task.clone()),
    }
}

/// The first reservation of a key gets it; later ones find it in progress (with the first
/// request's fingerprint, whatever theirs), then, once completed, its task as created. A
/// completed key is never taken over, however old, within its lifetime.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_are_reserved_once_then_replayed(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let keys = db.idempotency_keys();
    let k = key("order-42_retry.1~!")?;
    let now = t(0)?;

    assert_eq!(
        reserve(&*keys, owner, &k, "fp-1", now).await?,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-1", t(SECOND)?).await?,
        in_progress("fp-1")
    );
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-2", t(2 * SECOND)?).await?,
        in_progress("fp-1"),
        "a different body must see the first request's fingerprint"
    );

    let first = complete(&db, owner, &k, now).await?;
    // What becomes of the task since does not change what the key yields.
    db.tasks().delete_if_version(owner, first.id, None).await?;
    for (fingerprint, at) in [
        ("fp-1", 3 * SECOND),
        ("fp-2", 4 * SECOND),
        // Long past the abandonment delay: a completed key is not abandoned.
        ("fp-3", 2 * ABANDONED_AFTER),
        // The last instant of its lifetime (keys used *before* the cut-off expire).
        ("fp-1", LIFETIME),
    ] {
        assert_eq!(
            reserve(&*keys, owner, &k, fingerprint, t(at)?).await?,
            completed("fp-1", &first),
            "{fingerprint} at +{at} µs"
        );
    }

    // Another key of the same owner is independent; a task without tags, description or
    // due date replays as stored.
    let other = key("k")?;
    assert_eq!(
        reserve(&*keys, owner, &other, "fp-9", now).await?,
        Reservation::Reserved
    );
    let mut bare = fresh_task(owner, now, &[])?;
    assert!(matches!(
        db.tasks()
            .insert_for_key_placed(&mut bare, held(owner, &other, now), None)
            .await?,
        TaskInsert::Inserted { .. }
    ));
    assert_eq!(
        reserve(&*keys, owner, &other, "fp-9", t(SECOND)?).await?,
        completed("fp-9", &bare)
    );
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-1", t(5 * SECOND)?).await?,
        completed("fp-1", &first)
    );
    Ok(())
}

/// The same key from two owners is two keys: each reserves, completes and replays its own.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_of_different_owners_never_collide(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let keys = db.idempotency_keys();
    let k = key("same-key")?;
    let now = t(0)?;

    assert_eq!(
        reserve(&*keys, alice, &k, "fp-alice", now).await?,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(&*keys, bob, &k, "fp-bob", now).await?,
        Reservation::Reserved
    );
    let for_alice = complete(&db, alice, &k, now).await?;
    assert_eq!(
        reserve(&*keys, bob, &k, "fp-bob", t(1)?).await?,
        in_progress("fp-bob")
    );
    // Bob's release frees only Bob's reservation.
    keys.release(held(bob, &k, now)).await?;
    assert_eq!(
        reserve(&*keys, alice, &k, "fp-alice", t(2)?).await?,
        completed("fp-alice", &for_alice)
    );
    assert_eq!(
        reserve(&*keys, bob, &k, "fp-bob-2", t(3)?).await?,
        Reservation::Reserved
    );
    let for_bob = complete(&db, bob, &k, t(3)?).await?;
    assert_eq!(
        reserve(&*keys, alice, &k, "fp-alice", t(4)?).await?,
        completed("fp-alice", &for_alice)
    );
    assert_eq!(
        reserve(&*keys, bob, &k, "fp-bob-2", t(5)?).await?,
        completed("fp-bob-2", &for_bob)
    );
    Ok(())
}

/// A key used before `expired_before` counts as unused, completed or not; a reservation made
/// before `abandoned_before` that never completed is taken over (and the taker's reservation
/// starts a new abandonment delay). Both cut-offs are exclusive.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_keys_and_abandoned_reservations_can_be_reserved_again(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let keys = db.idempotency_keys();
    let start = t(0)?;

    // A completed key expires after its lifetime, and then starts afresh.
    let done = key("done")?;
    assert_eq!(
        reserve(&*keys, owner, &done, "fp-1", start).await?,
        Reservation::Reserved
    );
    let first = complete(&db, owner, &done, start).await?;
    assert_eq!(
        reserve(&*keys, owner, &done, "fp-2", t(LIFETIME)?).await?,
        completed("fp-1", &first),
        "a key used exactly at the cut-off has not expired"
    );
    assert_eq!(
        reserve(&*keys, owner, &done, "fp-2", t(LIFETIME + 1)?).await?,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(&*keys, owner, &done, "fp-3", t(LIFETIME + 2)?).await?,
        in_progress("fp-2"),
        "the expired task must be gone"
    );

    // An incomplete reservation is abandoned after the delay, and taken over.
    let stuck = key("stuck")?;
    assert_eq!(
        reserve(&*keys, owner, &stuck, "fp-a", start).await?,
        Reservation::Reserved
    );
    for at in [SECOND, ABANDONED_AFTER - 1, ABANDONED_AFTER] {
        assert_eq!(
            reserve(&*keys, owner, &stuck, "fp-b", t(at)?).await?,
            in_progress("fp-a"),
            "at +{at} µs the first request may still be running"
        );
    }
    let taken_at = ABANDONED_AFTER + 1;
    assert_eq!(
        reserve(&*keys, owner, &stuck, "fp-b", t(taken_at)?).await?,
        Reservation::Reserved
    );
    // The taker's reservation is fresh: it is in progress with its fingerprint, and is
    // itself abandoned only a full delay later.
    assert_eq!(
        reserve(
            &*keys,
            owner,
            &stuck,
            "fp-c",
            t(taken_at + ABANDONED_AFTER)?
        )
        .await?,
        in_progress("fp-b")
    );
    assert_eq!(
        reserve(
            &*keys,
            owner,
            &stuck,
            "fp-c",
            t(taken_at + ABANDONED_AFTER + 1)?
        )
        .await?,
        Reservation::Reserved
    );
    let created = complete(&db, owner, &stuck, t(taken_at + ABANDONED_AFTER + 1)?).await?;
    assert_eq!(
        reserve(
            &*keys,
            owner,
            &stuck,
            "fp-d",
            t(taken_at + 3 * ABANDONED_AFTER)?
        )
        .await?,
        completed("fp-c", &created)
    );

    // The cut-offs are the caller's: they are used as given, not recomputed.
    let explicit = key("explicit")?;
    let fresh = keys
        .reserve(owner, explicit.clone(), "fp-x".into(), start, start, start)
        .await?;
    assert_eq!(fresh, Reservation::Reserved);
    let later = t(10 * SECOND)?;
    let taken = keys
        .reserve(owner, explicit.clone(), "fp-y".into(), later, start, start)
        .await?;
    assert_eq!(
        taken,
        in_progress("fp-x"),
        "created at the cut-offs, not before"
    );
    let taken = keys
        .reserve(owner, explicit.clone(), "fp-y".into(), later, start, t(1)?)
        .await?;
    assert_eq!(
        taken,
        Reservation::Reserved,
        "created before abandoned_before"
    );
    let created = complete(&db, owner, &explicit, later).await?;
    let taken = keys
        .reserve(
            owner,
            explicit.clone(),
            "fp-z".into(),
            later,
            start,
            t(LIFETIME)?,
        )
        .await?;
    assert_eq!(taken, completed("fp-y", &created));
    let taken = keys
        .reserve(
            owner,
            explicit.clone(),
            "fp-z".into(),
            later,
            t(LIFETIME)?,
            start,
        )
        .await?;
    assert_eq!(
        taken,
        Reservation::Reserved,
        "created before expired_before"
    );
    Ok(())
}

/// A released reservation can be reserved again at once (a retry after a failed request);
/// releasing a completed key, an unknown key, or another owner's key changes nothing.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_released_key_can_be_reserved_again(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (owner, other) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let keys = db.idempotency_keys();
    let k = key("retry-me")?;

    assert_eq!(
        reserve(&*keys, owner, &k, "fp-1", t(0)?).await?,
        Reservation::Reserved
    );
    keys.release(held(other, &k, t(0)?)).await?;
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-2", t(1)?).await?,
        in_progress("fp-1")
    );
    keys.release(held(owner, &k, t(0)?)).await?;
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-2", t(2)?).await?,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-3", t(3)?).await?,
        in_progress("fp-2")
    );
    let created = complete(&db, owner, &k, t(2)?).await?;
    keys.release(held(owner, &k, t(2)?)).await?;
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-3", t(4)?).await?,
        completed("fp-2", &created),
        "a completed key must survive a release"
    );
    keys.release(held(owner, &key("never-used")?, t(0)?))
        .await?;
    Ok(())
}

/// Purging removes exactly the keys used before the instant given (of every owner,
/// completed or not), returns how many, and keeps the others working.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purging_removes_only_expired_keys_and_counts_them(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let keys = db.idempotency_keys();
    let now = t(100 * HOUR)?;
    let cut = t(100 * HOUR - LIFETIME)?;
    // (key, used at, completed?)
    let used = [
        ("old-done", 100 * HOUR - 30 * HOUR, true),
        ("old-pending", 100 * HOUR - 25 * HOUR, false),
        ("just-old", 100 * HOUR - LIFETIME - 1, true),
        ("at-cut", 100 * HOUR - LIFETIME, true),
        ("young", 100 * HOUR - 23 * HOUR, true),
        ("fresh", 100 * HOUR, false),
    ];
    let mut created = std::collections::HashMap::new();
    for owner in [alice, bob] {
        for (name, at, done) in used {
            let k = key(name)?;
            assert_eq!(
                reserve(&*keys, owner, &k, name, t(at)?).await?,
                Reservation::Reserved
            );
            if done {
                created.insert((owner, name), complete(&db, owner, &k, t(at)?).await?);
            }
        }
    }
    let count = || -> Result<i64, BoxError> {
        let mut conn = db.hold_connection()?;
        Ok(conn.query_i64("SELECT COUNT(*) AS value FROM idempotency_keys")?)
    };
    assert_eq!(count()?, 12);

    assert_eq!(keys.purge_expired(cut).await?, 6);
    assert_eq!(count()?, 6);
    assert_eq!(keys.purge_expired(cut).await?, 0, "nothing left to purge");
    for owner in [alice, bob] {
        for (name, _, complete) in used {
            let found = reserve(&*keys, owner, &key(name)?, "fp-later", now).await?;
            let expected = match name {
                "old-done" | "old-pending" | "just-old" => Reservation::Reserved,
                _ if complete => completed(name, &created[&(owner, name)]),
                _ => in_progress(name),
            };
            assert_eq!(found, expected, "{name}");
        }
    }
    Ok(())
}

/// Sixteen reservations of one key at once: exactly one is `Reserved`, the others see it in
/// progress with the winner's fingerprint. Once completed, sixteen more all replay it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_of_one_key_let_exactly_one_through(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let keys = db.idempotency_keys();
    let k = key("race")?;
    let now = t(0)?;

    let race = |round: &'static str| {
        (0..16)
            .map(|n| {
                let keys = Arc::clone(&keys);
                let k = k.clone();
                tokio::spawn(async move {
                    let fingerprint = format!("{round}-{n}");
                    let found = reserve(&*keys, owner, &k, &fingerprint, now).await;
                    (fingerprint, found)
                })
            })
            .collect::<Vec<_>>()
    };

    let mut winners = Vec::new();
    let mut taken = Vec::new();
    for handle in race("first") {
        let (fingerprint, found) = handle.await?;
        match found? {
            Reservation::Reserved => winners.push(fingerprint),
            Reservation::Taken {
                fingerprint: first,
                created: None,
            } => taken.push(first),
            other => return Err(format!("{fingerprint}: {other:?}").into()),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let winner = winners.remove(0);
    assert_eq!(taken.len(), 15);
    assert!(
        taken.iter().all(|f| *f == winner),
        "losers must see the winner {winner}: {taken:?}"
    );

    let created = complete(&db, owner, &k, now).await?;
    for handle in race("second") {
        let (fingerprint, found) = handle.await?;
        assert_eq!(found?, completed(&winner, &created), "{fingerprint}");
    }
    Ok(())
}

/// A request so slow that a retry took its reservation over can no longer complete it: its
/// task is not stored (one key never yields two tasks), nor can it release the retry's
/// reservation; the retry's completion is what the key replays, once.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_taken_over_reservation_can_no_longer_be_completed(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let keys = db.idempotency_keys();
    let k = key("slow")?;
    let (first_at, retry_at) = (t(0)?, t(ABANDONED_AFTER + 1)?);
    let stored = || async { Ok::<_, BoxError>(all_of(&*db.tasks(), owner).await?.len()) };

    assert_eq!(
        reserve(&*keys, owner, &k, "fp-slow", first_at).await?,
        Reservation::Reserved
    );
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-retry", retry_at).await?,
        Reservation::Reserved,
        "taken over as abandoned"
    );
    assert!(try_complete(&db, owner, &k, first_at).await?.is_none());
    assert_eq!(
        stored().await?,
        0,
        "the slow request's task must not be stored"
    );
    keys.release(held(owner, &k, first_at)).await?;
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-retry", t(ABANDONED_AFTER + 2)?).await?,
        in_progress("fp-retry"),
        "the slow request cannot release the retry's reservation"
    );

    let created = complete(&db, owner, &k, retry_at).await?;
    assert_eq!(stored().await?, 1);
    assert!(
        try_complete(&db, owner, &k, retry_at).await?.is_none(),
        "a completed key cannot be completed again"
    );
    assert_eq!(stored().await?, 1);
    assert_eq!(
        reserve(&*keys, owner, &k, "fp-retry", t(ABANDONED_AFTER + 3)?).await?,
        completed("fp-retry", &created)
    );
    Ok(())
}

/// A key row whose task does not decode (corrupt data) is an internal error, never replayed
/// as a made-up task nor taken for a request still in progress.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_key_row_is_an_error_not_a_response(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let keys = db.idempotency_keys();
    let k = key("half-done")?;
    assert_eq!(
        reserve(&*keys, owner, &k, "fp", t(0)?).await?,
        Reservation::Reserved
    );
    db.hold_connection()?
        .execute_sql("UPDATE idempotency_keys SET task = '{\"title\": \"no id\"}'")?;
    match reserve(&*keys, owner, &k, "fp", t(SECOND)?).await {
        Err(e @ StoreError::Internal(_)) => {
            let message = e.to_string();
            assert!(message.contains("half-done"), "{message}");
        }
        other => return Err(format!("expected an internal error, got {other:?}").into()),
    }
    Ok(())
}
