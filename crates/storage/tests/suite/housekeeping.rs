//! Housekeeping: purges delete everything that can never be used again, batch after batch,
//! leave everything live, and each finds its rows through an index.

use taskapi_domain::{IdempotencyKey, Reservation};
use taskapi_domain::{NewRefreshToken, RefreshTokenHash, Session, SessionId};

use taskapi_storage::PurgePlan;

use super::*;

const BATCH: i64 = Database::PURGE_BATCH_ROWS;

fn session(n: u128, user: UserId, expires_at: i64) -> Result<Session, BoxError> {
    Ok(Session {
        id: SessionId::from_uuid(Uuid::from_u128(n)),
        user_id: user,
        epoch: 0,
        created_at: t(0)?,
        expires_at: t(expires_at)?,
        revoked_at: None,
        password_login_at: Some(t(0)?),
        last_used_at: Some(t(0)?),
        user_agent: None,
        address: None,
    })
}

fn token(n: u128, expires_at: i64) -> Result<NewRefreshToken, BoxError> {
    Ok(NewRefreshToken {
        hash: RefreshTokenHash::new(format!("hash-{n}")),
        issued_at: t(0)?,
        expires_at: t(expires_at)?,
    })
}

fn count(db: &Database, table: &str) -> Result<i64, BoxError> {
    let mut conn = db.hold_connection()?;
    Ok(conn.query_i64(&format!("SELECT COUNT(*) AS value FROM {table}"))?)
}

/// More expired and more ended sessions than one batch holds all go, with their tokens, in
/// one purge; live sessions and their tokens stay.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_of_more_sessions_than_a_batch_removes_them_all_and_nothing_live(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let user = registered(&db, 1).await?;
    let per_kind = u128::try_from(BATCH)? + 40;
    let now = 1_000_000;
    // Expired, each with a token that expired with it.
    for n in 0..per_kind {
        let expires = i64::try_from(n)? + 10;
        sessions
            .create(session(n, user, expires)?, token(n, expires)?, None)
            .await?;
    }
    // Ended before `now`, with tokens that would still be live.
    for n in per_kind..2 * per_kind {
        sessions
            .create(session(n, user, 2 * now)?, token(n, 2 * now)?, None)
            .await?;
        sessions
            .revoke(SessionId::from_uuid(Uuid::from_u128(n)), t(now - 1)?)
            .await?;
    }
    // Live: one session whose first token expired (more expired tokens than a batch, too,
    // counting the ones above), and live ones.
    let live = 2 * per_kind..2 * per_kind + 5;
    for n in live.clone() {
        sessions
            .create(session(n, user, 2 * now)?, token(n, 2 * now)?, None)
            .await?;
    }
    assert_eq!(count(&db, "sessions")?, i64::try_from(2 * per_kind + 5)?);

    let purged = sessions.purge_expired(t(now)?).await?;
    assert!(
        purged >= 2 * u64::try_from(per_kind)?,
        "{purged} rows purged"
    );
    assert_eq!(
        count(&db, "sessions")?,
        5,
        "only the live sessions are left"
    );
    assert_eq!(count(&db, "refresh_tokens")?, 5, "and their tokens");
    for n in live {
        let id = SessionId::from_uuid(Uuid::from_u128(n));
        assert!(sessions.find_with_user(id).await?.is_some(), "session {n}");
    }
    assert_eq!(sessions.purge_expired(t(now)?).await?, 0, "nothing left");
    Ok(())
}

/// More expired idempotency keys than one batch holds all go in one purge; younger ones stay.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_of_more_idempotency_keys_than_a_batch_removes_them_all_and_keeps_young_ones(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let keys = db.idempotency_keys();
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let cut = 1_000_000;
    let old = BATCH + 30;
    for n in 0..old {
        // Both owners, so that the batches cut across the two-column key.
        let owner = if n % 2 == 0 { alice } else { bob };
        let at = t(n)?;
        let (expired_before, abandoned_before) = IdempotencyKey::cutoffs(at);
        let reserved = keys
            .reserve(
                owner,
                IdempotencyKey::parse(&format!("old-{n}"))?,
                "fp".into(),
                at,
                expired_before,
                abandoned_before,
            )
            .await?;
        assert_eq!(reserved, Reservation::Reserved);
    }
    for n in 0..3 {
        let at = t(cut + n)?;
        let (expired_before, abandoned_before) = IdempotencyKey::cutoffs(at);
        keys.reserve(
            alice,
            IdempotencyKey::parse(&format!("young-{n}"))?,
            "fp".into(),
            at,
            expired_before,
            abandoned_before,
        )
        .await?;
    }
    assert_eq!(keys.purge_expired(t(cut)?).await?, u64::try_from(old)?);
    assert_eq!(count(&db, "idempotency_keys")?, 3);
    assert_eq!(keys.purge_expired(t(cut)?).await?, 0);
    Ok(())
}

/// Each purge's batch is planned through the index on its condition's column, never as a
/// scan of the table (PostgreSQL plans with sequential scans disabled, as the listing
/// plans are tested). Every plan is printed (`--nocapture` shows them).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_purge_finds_its_rows_through_an_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let at = t(1_000)?;
    let explaining = db.clone();
    let plans = tokio::task::spawn_blocking(move || explaining.explain_purges(at)).await??;
    assert_eq!(plans.len(), 10);
    for PurgePlan { purge, index, plan } in plans {
        eprintln!("{purge} ({index}):\n  {}", plan.join("\n  "));
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{purge} does not use {index}: {plan:#?}"
        );
        assert!(
            !plan
                .iter()
                .any(|line| line.trim_start().starts_with("SCAN ") || line.contains("Seq Scan")),
            "{purge} scans a table: {plan:#?}"
        );
    }
    Ok(())
}

/// Deleting a task moves it and its subtasks at every depth to the trash: none of them is
/// read, listed, updated or deleted again, each member is told of a `delete` of each, and
/// their rows stay until the trash purge, which takes the trashed tasks and nothing live.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_task_goes_to_the_trash_with_its_subtasks_until_the_purge(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tasks = db.tasks();
    let owner = registered(&db, 1).await?;
    let mut parent = new_task(owner, 10, t(0)?, &["a"])?;
    let mut child = Task {
        parent_id: Some(parent.id),
        ..new_task(owner, 11, t(1)?, &["b"])?
    };
    let mut grandchild = Task {
        parent_id: Some(child.id),
        ..new_task(owner, 12, t(2)?, &[])?
    };
    let mut kept = new_task(owner, 13, t(3)?, &[])?;
    for task in [&mut parent, &mut child, &mut grandchild, &mut kept] {
        assert!(matches!(
            tasks.insert_placed(task, None).await?,
            TaskInsert::Inserted { .. }
        ));
    }
    let cursor = db.changes().present().await?;
    let before_trash = Utc::now() - chrono::TimeDelta::seconds(1);

    assert_eq!(
        tasks.delete_if_version(owner, parent.id, None).await?,
        DeleteOutcome::Deleted
    );
    for gone in [&parent, &child, &grandchild] {
        assert_eq!(tasks.find_for_member(owner, gone.id).await?, None);
        assert_eq!(
            tasks.delete_if_version(owner, gone.id, None).await?,
            DeleteOutcome::NotFound
        );
        let outcome = tasks
            .update_with(owner, gone.id, Box::new(|_: &Task, _| UpdateDecision::Keep))
            .await?;
        assert!(matches!(outcome, UpdateOutcome::NotFound), "{outcome:?}");
    }
    let listed = tasks
        .list_for_member(owner, TaskListQuery::default(), 100)
        .await?;
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![kept.id]
    );
    let deletes = |records: &[taskapi_domain::ChangeRecord]| -> BTreeSet<Uuid> {
        records
            .iter()
            .filter(|r| r.op == taskapi_domain::ChangeOp::Delete)
            .map(|r| r.id)
            .collect()
    };
    let trashed = BTreeSet::from([
        parent.id.as_uuid(),
        child.id.as_uuid(),
        grandchild.id.as_uuid(),
    ]);
    let log = db.changes();
    let (records, _) =
        changes::follow_until(&*log, owner, cursor, 100, |all| deletes(all) == trashed).await?;
    // The feed may start a little before the cursor's present while other tests'
    // transactions are in flight (the inserts' upserts then come too): the deletion's
    // changes are those stamped from it on.
    let records = changes::tasks_only(records);
    let of_the_deletion = records.iter().filter(|r| r.at >= before_trash).count();
    assert_eq!(of_the_deletion, 3, "{records:#?}");
    assert_eq!(count(&db, "tasks")?, 4, "trashed rows are kept");

    // Nothing was trashed before it was deleted; everything trashed is purged after.
    assert_eq!(tasks.purge_trashed(before_trash).await?, 0);
    let purged = tasks
        .purge_trashed(Utc::now() + chrono::TimeDelta::seconds(1))
        .await?;
    assert!(purged >= 1, "{purged} rows purged");
    assert_eq!(count(&db, "tasks")?, 1);
    assert_eq!(tasks.find_for_member(owner, kept.id).await?, Some(kept));
    Ok(())
}
