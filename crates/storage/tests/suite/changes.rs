//! The change log: every task write records its change in the same transaction, a read
//! returns the reader's changes only, after its cursor, in an order no concurrent writer
//! can break, and old changes are purged.

use std::collections::HashMap;

use taskapi_domain::{ChangeLog, ChangeOp, ChangePosition, ChangeRecord, Entity};
use taskapi_domain::{HeldKey, IdempotencyKey, Reservation};

use super::*;

/// The changes `reader` may see after `after`, read `page` at a time, until `complete`
/// says they are all there, checking that positions only ever grow. On PostgreSQL a read
/// stops short of the changes of transactions younger than the oldest one still running on
/// the server (other tests' included): those come once it ends, so this reads again until
/// they have (at most a minute).
pub(crate) async fn follow_until(
    log: &dyn ChangeLog,
    reader: UserId,
    mut after: ChangePosition,
    page: u32,
    complete: impl Fn(&[ChangeRecord]) -> bool,
) -> Result<(Vec<ChangeRecord>, ChangePosition), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    loop {
        let batch = log.read(reader, after, page).await?;
        for record in &batch.records {
            assert!(record.position > after, "{record:?} is not after {after:?}");
            after = record.position;
        }
        let short = batch.records.len() < usize::try_from(page)?;
        all.extend(batch.records);
        if short {
            if complete(&all) {
                return Ok((all, after));
            }
            if Instant::now() > deadline {
                return Err(format!("the feed never completed: {all:#?}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// [`follow_until`] the task change `last` is there (what comes before it is final): the
/// task changes. (A list change read with them, such as the registration's upsert of the
/// reader's inbox on PostgreSQL, where a present can come before changes already committed,
/// is left out.)
async fn follow_to(
    log: &dyn ChangeLog,
    reader: UserId,
    after: ChangePosition,
    last: (Uuid, ChangeOp),
) -> Result<(Vec<ChangeRecord>, ChangePosition), BoxError> {
    let (records, position) = follow_until(log, reader, after, 100, |all| {
        all.last().is_some_and(|r| (r.id, r.op) == last)
    })
    .await?;
    Ok((tasks_only(records), position))
}

/// The task changes among `records`.
pub(crate) fn tasks_only(records: Vec<ChangeRecord>) -> Vec<ChangeRecord> {
    records
        .into_iter()
        .filter(|r| r.entity == Entity::Task)
        .collect()
}

fn ops(records: &[ChangeRecord]) -> Vec<(Uuid, ChangeOp)> {
    records.iter().map(|r| (r.id, r.op)).collect()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn keep_or_write(changes: TaskChanges, now: DateTime<Utc>) -> taskapi_domain::DecideUpdate {
    Box::new(move |current: &Task, _access| {
        if changes_of(current) == changes {
            UpdateDecision::Keep
        } else {
            UpdateDecision::Write(changes, now)
        }
    })
}

/// Creating, updating and deleting a task each record one change, in the order made, with
/// the write's instant; a write that changes nothing, a refused one, and a delete of a
/// missing task record nothing.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_task_write_records_one_change_and_no_op_records_none(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, log) = (db.tasks(), db.changes());
    let owner = registered(&db, 1).await?;
    let start = log.present().await?;
    let mut first = new_task(owner, 10, t(1)?, &["a"])?;
    let mut second = new_task(owner, 11, t(2)?, &[])?;
    tasks.insert_placed(&mut first, None).await?;
    tasks.insert_placed(&mut second, None).await?;
    let done = TaskChanges {
        is_done: true,
        completed_at: Some(t(3)?),
        ..changes_of(&first)
    };
    let updated = tasks
        .update_with(owner, first.id, keep_or_write(done.clone(), t(3)?))
        .await?;
    assert!(matches!(updated, UpdateOutcome::Updated(_)), "{updated:?}");
    // The same changes again: kept, nothing recorded.
    let kept = tasks
        .update_with(owner, first.id, keep_or_write(done, t(4)?))
        .await?;
    assert!(matches!(kept, UpdateOutcome::Unchanged(_)), "{kept:?}");
    // Refused, stale delete and missing delete: nothing recorded.
    let refused = update_if_version(&*tasks, owner, first.id, 1, changes_of(&first), t(5)?).await?;
    assert_eq!(refused, UpdateOutcome::Refused);
    assert_eq!(
        tasks.delete_if_version(owner, second.id, Some(7)).await?,
        DeleteOutcome::VersionMismatch
    );
    assert_eq!(
        tasks
            .delete_if_version(owner, TaskId::from_uuid(id(99)), None)
            .await?,
        DeleteOutcome::NotFound
    );
    assert_eq!(
        tasks.delete_if_version(owner, second.id, None).await?,
        DeleteOutcome::Deleted
    );

    let (records, _) = follow_to(&*log, owner, start, (id(11), ChangeOp::Delete)).await?;
    assert_eq!(
        ops(&records),
        vec![
            (id(10), ChangeOp::Upsert),
            (id(11), ChangeOp::Upsert),
            (id(10), ChangeOp::Upsert),
            (id(11), ChangeOp::Delete),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.entity == Entity::Task
                && r.list_id == Some(ListId::inbox_of(owner).as_uuid()))
    );
    assert_eq!(
        records[..3].iter().map(|r| r.at).collect::<Vec<_>>(),
        vec![t(1)?, t(2)?, t(3)?]
    );
    // The page carries the current state of the tasks it names that still exist.
    let batch = log.read(owner, start, 100).await?;
    assert_eq!(batch.tasks.len(), 1);
    assert!(batch.tasks[0].id == first.id && batch.tasks[0].is_done && batch.tasks[0].version == 2);
    // The present is past every change read.
    assert!(batch.present >= records[3].position, "{:?}", batch.present);
    assert!(
        log.read(owner, batch.present, 100)
            .await?
            .records
            .is_empty()
    );
    Ok(())
}

/// A task created under an idempotency key records one change; a replay of the key records
/// nothing more.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotent_create_records_once(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, keys, log) = (db.tasks(), db.idempotency_keys(), db.changes());
    let owner = registered(&db, 1).await?;
    let start = log.present().await?;
    let key = IdempotencyKey::parse("k-1")?;
    let now = t(10)?;
    let (expired_before, abandoned_before) = IdempotencyKey::cutoffs(now);
    let reserved = keys
        .reserve(
            owner,
            key.clone(),
            "fp".into(),
            now,
            expired_before,
            abandoned_before,
        )
        .await?;
    assert_eq!(reserved, Reservation::Reserved);
    let held = HeldKey {
        owner,
        key: key.clone(),
        reserved_at: now,
    };
    tasks
        .insert_for_key(new_task(owner, 10, now, &[])?, held, None)
        .await?;
    let replay = keys
        .reserve(
            owner,
            key,
            "fp".into(),
            now,
            expired_before,
            abandoned_before,
        )
        .await?;
    assert!(
        matches!(
            replay,
            Reservation::Taken {
                created: Some(_),
                ..
            }
        ),
        "{replay:?}"
    );
    // A change after the replay: whatever the replay recorded would come before it.
    tasks
        .delete_if_version(owner, TaskId::from_uuid(id(10)), None)
        .await?;
    let (records, _) = follow_to(&*log, owner, start, (id(10), ChangeOp::Delete)).await?;
    assert_eq!(
        ops(&records),
        vec![(id(10), ChangeOp::Upsert), (id(10), ChangeOp::Delete)]
    );
    Ok(())
}

/// A reader gets its own changes only, and the state of its own tasks only.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_users_changes_never_appear(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, log) = (db.tasks(), db.changes());
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let start = log.present().await?;
    tasks.insert(new_task(alice, 10, t(1)?, &[])?, None).await?;
    tasks.insert(new_task(bob, 20, t(2)?, &[])?, None).await?;
    tasks.insert(new_task(alice, 11, t(3)?, &[])?, None).await?;
    tasks
        .delete_if_version(bob, TaskId::from_uuid(id(20)), None)
        .await?;
    tasks.insert(new_task(alice, 12, t(4)?, &[])?, None).await?;
    let (alices, _) = follow_to(&*log, alice, start, (id(12), ChangeOp::Upsert)).await?;
    assert_eq!(
        ops(&alices),
        vec![
            (id(10), ChangeOp::Upsert),
            (id(11), ChangeOp::Upsert),
            (id(12), ChangeOp::Upsert)
        ]
    );
    let batch = log.read(alice, start, 100).await?;
    assert_eq!(batch.tasks.len(), 3);
    assert!(batch.tasks.iter().all(|t| t.created_by == alice));
    let (bobs, _) = follow_to(&*log, bob, start, (id(20), ChangeOp::Delete)).await?;
    assert_eq!(
        ops(&bobs),
        vec![(id(20), ChangeOp::Upsert), (id(20), ChangeOp::Delete)]
    );
    // Deleting an account forgets its changes with it.
    db.users().delete(bob).await?;
    assert!(log.read(bob, start, 100).await?.records.is_empty());
    Ok(())
}

/// A purge forgets the changes made before its instant, however many batches that takes,
/// and keeps the younger ones; readers go on after them.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_forgets_old_changes_and_keeps_young_ones(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, log) = (db.tasks(), db.changes());
    let owner = registered(&db, 1).await?;
    let start = log.present().await?;
    let old = u128::try_from(Database::PURGE_BATCH_ROWS)? + 20;
    for n in 0..old {
        tasks
            .insert(
                new_task(owner, 1_000 + n, t(i64::try_from(n)?)?, &[])?,
                None,
            )
            .await?;
    }
    let cut = 10_000_000;
    for n in 0..3u128 {
        tasks
            .insert(
                new_task(owner, 5_000 + n, t(cut + i64::try_from(n)?)?, &[])?,
                None,
            )
            .await?;
    }
    // The old task changes, and the registration's change of the inbox.
    assert_eq!(log.purge_before(t(cut)?).await?, u64::try_from(old)? + 1);
    let (records, _) = follow_to(&*log, owner, start, (id(5_002), ChangeOp::Upsert)).await?;
    assert_eq!(
        records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(5_000), id(5_001), id(5_002)]
    );
    assert_eq!(log.purge_before(t(cut)?).await?, 0);
    Ok(())
}

/// Numbers are never handed out twice: after every change is purged, new changes still
/// come after a cursor given out before the purge.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn positions_keep_growing_after_a_purge_emptied_the_log(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, log) = (db.tasks(), db.changes());
    let owner = registered(&db, 1).await?;
    for n in 0..3u128 {
        tasks
            .insert(new_task(owner, 10 + n, t(1)?, &[])?, None)
            .await?;
    }
    let (_, cursor) = follow_to(
        &*log,
        owner,
        ChangePosition::default(),
        (id(12), ChangeOp::Upsert),
    )
    .await?;
    assert_eq!(log.purge_before(t(2)?).await?, 3);
    tasks.insert(new_task(owner, 20, t(3)?, &[])?, None).await?;
    let (records, _) = follow_to(&*log, owner, cursor, (id(20), ChangeOp::Upsert)).await?;
    assert_eq!(ops(&records), vec![(id(20), ChangeOp::Upsert)]);
    Ok(())
}

/// Two pools on one database, as two instances would have.
fn two_instances(backend: &Databases) -> Result<(Database, Database), BoxError> {
    match &backend.source {
        Source::Sqlite { .. } => {
            let url = format!("sqlite://{}", backend.next_path()?.display());
            let one = Database::connect(&url, settings())?;
            one.run_migrations()?;
            Ok((one, Database::connect(&url, settings())?))
        }
        Source::Postgres { databases } => {
            let database =
                PostgresTestDatabase::create()?.ok_or("TASKAPI_TEST_DATABASE_URL vanished")?;
            let one = Database::connect(database.url(), settings())?;
            one.run_migrations()?;
            let two = Database::connect(database.url(), settings())?;
            databases
                .lock()
                .map_err(|_| "test database list poisoned")?
                .push(database);
            Ok((one, two))
        }
    }
}

/// The hammer: writers on two instances create, update and delete tasks as fast as they
/// can while a reader follows the feed a few changes at a time. The reader ends with
/// exactly every change once, each task's changes in the order they were made (creation
/// first, updates by their instants, the delete last), and none of another user's.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_reader_following_concurrent_writers_on_two_instances_gets_every_change_once_in_order(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let (one, two) = two_instances(&backend)?;
    let owner = registered(&one, 1).await?;
    let stranger = registered(&one, 2).await?;
    const WRITERS: u128 = 8;
    const TASKS_PER_WRITER: u128 = 6;
    const UPDATES: i64 = 4;
    let log = one.changes();
    let start = log.present().await?;
    let done = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let tasks = if w % 2 == 0 { one.tasks() } else { two.tasks() };
        let user = if w == WRITERS - 1 { stranger } else { owner };
        writers.push(tokio::spawn(async move {
            // What this writer did, per task: every instant it recorded, and whether it
            // deleted the task.
            let mut made: Vec<(Uuid, Vec<DateTime<Utc>>, bool)> = Vec::new();
            for k in 0..TASKS_PER_WRITER {
                let n = 1_000 * (w + 1) + k;
                let created = t(i64::try_from(n)? * 100)?;
                let mut task = new_task(user, n, created, &["hammer"])?;
                tasks.insert_placed(&mut task, None).await?;
                let mut instants = vec![created];
                for u in 1..=UPDATES {
                    let now = t(i64::try_from(n)? * 100 + u)?;
                    let changes = TaskChanges {
                        title: TaskTitle::parse(&format!("Task {n} v{u}"))?,
                        ..changes_of(&task)
                    };
                    let outcome = tasks
                        .update_with(user, task.id, keep_or_write(changes, now))
                        .await?;
                    assert!(matches!(outcome, UpdateOutcome::Updated(_)), "{outcome:?}");
                    instants.push(now);
                }
                let deleted = k % 2 == 0;
                if deleted {
                    assert_eq!(
                        tasks.delete_if_version(user, task.id, None).await?,
                        DeleteOutcome::Deleted
                    );
                }
                made.push((task.id.as_uuid(), instants, deleted));
            }
            Ok::<_, BoxError>(made)
        }));
    }

    let reader = {
        let log = two.changes();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut after = start;
            let mut seen: Vec<ChangeRecord> = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                // Once every writer is done, one more pass that comes back short has it all
                // (on PostgreSQL, once no transaction older than theirs is still running
                // anywhere on the server).
                let finished = done.load(Ordering::SeqCst);
                let batch = log.read(owner, after, 5).await?;
                let short = batch.records.len() < 5;
                for record in batch.records {
                    assert!(record.position > after, "{record:?} is not after {after:?}");
                    after = record.position;
                    // The accounts' registrations (their inboxes) are no task's changes.
                    if record.entity == Entity::Task {
                        seen.push(record);
                    }
                }
                if finished && short {
                    let expected = usize::try_from((WRITERS - 1) * TASKS_PER_WRITER)?
                        * usize::try_from(UPDATES + 1)?
                        + usize::try_from((WRITERS - 1) * TASKS_PER_WRITER / 2)?;
                    if seen.len() >= expected || Instant::now() > deadline {
                        return Ok::<_, BoxError>((seen, after));
                    }
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let mut made = Vec::new();
    for writer in writers {
        made.extend(writer.await??);
    }
    done.store(true, Ordering::SeqCst);
    let (seen, last) = reader.await??;
    // Nothing comes again after the last change read.
    assert!(
        one.changes()
            .read(owner, last, 100)
            .await?
            .records
            .is_empty()
    );

    let mut by_task: HashMap<Uuid, Vec<&ChangeRecord>> = HashMap::new();
    for record in &seen {
        by_task.entry(record.id).or_default().push(record);
    }
    let mut expected_count = 0;
    for (task, instants, deleted) in &made {
        let strangers = task.as_u128() / 1_000 == WRITERS;
        let got = by_task.remove(task).unwrap_or_default();
        if strangers {
            assert!(
                got.is_empty(),
                "another user's task {task} appeared: {got:?}"
            );
            continue;
        }
        let upserts: Vec<DateTime<Utc>> = got
            .iter()
            .take_while(|r| r.op == ChangeOp::Upsert)
            .map(|r| r.at)
            .collect();
        assert_eq!(&upserts, instants, "task {task}: {got:?}");
        let rest: Vec<ChangeOp> = got[upserts.len()..].iter().map(|r| r.op).collect();
        let want: Vec<ChangeOp> = if *deleted {
            vec![ChangeOp::Delete]
        } else {
            vec![]
        };
        assert_eq!(rest, want, "task {task}: {got:?}");
        expected_count += got.len();
    }
    assert!(
        by_task.is_empty(),
        "changes of no task written: {by_task:?}"
    );
    assert_eq!(seen.len(), expected_count);
    Ok(())
}

/// PostgreSQL hands out sequence numbers and transaction ids as transactions ask for them,
/// not as they commit: here an older transaction records a change and stays open while a
/// younger one commits its own. A reader gets neither until the older one ends (else it
/// would have gone past the older change for good), then both, the older first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_that_commits_after_a_younger_one_is_neither_skipped_nor_overtaken() -> TestResult
{
    let Some(backend) = Backend::Postgres.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tasks, log) = (db.tasks(), db.changes());
    let owner = registered(&db, 1).await?;
    let start = log.present().await?;
    let mut older = db.hold_connection()?;
    older.execute_sql(&format!(
        "BEGIN; INSERT INTO changes (user_id, entity, op, entity_id, at) \
         VALUES ('{owner}', 'task', 'upsert', '{}', now())",
        id(10)
    ))?;
    tasks.insert(new_task(owner, 20, t(1)?, &[])?, None).await?;
    let committed = db
        .hold_connection()?
        .query_i64("SELECT COUNT(*) AS value FROM changes WHERE entity = 'task'")?;
    assert_eq!(committed, 1, "the younger change is committed");
    let batch = log.read(owner, start, 100).await?;
    let tasks_read = tasks_only(batch.records);
    assert!(tasks_read.is_empty(), "{tasks_read:?}");
    older.execute_sql("COMMIT")?;
    drop(older);
    let (records, _) = follow_to(&*log, owner, start, (id(20), ChangeOp::Upsert)).await?;
    assert_eq!(
        ops(&records),
        vec![(id(10), ChangeOp::Upsert), (id(20), ChangeOp::Upsert)]
    );
    // The present of that read was before the older change: following from it misses
    // nothing either.
    assert!(batch.present < records[0].position, "{:?}", batch.present);
    Ok(())
}

/// A read of the feed is one range scan of the `(user_id, txn, seq)` index, in its order:
/// no scan of the table, no sort (PostgreSQL plans with sequential scans and sorts
/// disabled, as the listing plans are tested). The plan is printed (`--nocapture`).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_of_the_feed_is_one_range_scan_of_its_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let explaining = db.clone();
    let plan = tokio::task::spawn_blocking(move || explaining.explain_change_feed(owner, (5, 7)))
        .await??;
    eprintln!("change feed:\n  {}", plan.join("\n  "));
    assert!(
        plan.iter()
            .any(|line| line.contains("changes_user_id_txn_seq")),
        "{plan:#?}"
    );
    assert!(
        !plan
            .iter()
            .any(|line| line.trim_start().starts_with("SCAN ")
                || line.contains("Seq Scan")
                || line.contains("Sort")
                || line.contains("TEMP B-TREE")),
        "{plan:#?}"
    );
    Ok(())
}

/// The list changes among `records`, as (id, op).
fn list_ops(records: &[ChangeRecord]) -> Vec<(Uuid, ChangeOp)> {
    records
        .iter()
        .filter(|r| r.entity == Entity::List)
        .map(|r| (r.id, r.op))
        .collect()
}

/// Follows `reader`'s feed from `after` until its last change of list `last.0` is `last`;
/// the changes of that list read (not, say, of the reader's inbox at registration, which
/// on PostgreSQL may come after a present taken later).
async fn follow_list_to(
    log: &dyn ChangeLog,
    reader: UserId,
    after: ChangePosition,
    last: (Uuid, ChangeOp),
) -> Result<Vec<ChangeRecord>, BoxError> {
    let (records, _) = follow_until(log, reader, after, 100, |all| {
        all.iter()
            .rev()
            .find(|r| r.entity == Entity::List && r.id == last.0)
            .is_some_and(|r| r.op == last.1)
    })
    .await?;
    Ok(records
        .into_iter()
        .filter(|r| r.entity == Entity::List && r.id == last.0)
        .collect())
}

fn rename_to(to: &'static str) -> taskapi_domain::DecideListUpdate {
    Box::new(move |current: &taskapi_domain::List| {
        current.decide_update(
            &taskapi_domain::ListPatch {
                name: Some(taskapi_domain::ListName::parse(to).unwrap_or_else(|e| panic!("{e}"))),
                archived: None,
            },
            None,
            Utc::now(),
        )
    })
}

/// Every write of a list or its memberships records the list's change, in its transaction,
/// for the users it concerns, with the list's own id as `list_id`: its creation for the
/// owner; a join, a rename and a role change for every member; a removal as a delete for
/// the removed member and an upsert for those who remain; its deletion as a delete for every
/// member it had. A write that changes nothing records nothing. A read carries the lists as
/// the reader sees them now.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_list_write_records_its_change_for_the_users_it_concerns(
    #[case] backend: Backend,
) -> TestResult {
    use taskapi_domain::{
        InvitationId, InvitationsOutcome, ListDeleteDecision, ListDeleteOutcome, ListInsert,
        ListRole, ListUpdateOutcome, MemberDecision, MemberOutcome, MembershipChange,
        NewInvitation, NewList,
    };
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (lists, log) = (db.lists(), db.changes());
    let owner = registered(&db, 1).await?;
    let friend = registered(&db, 2).await?;
    let stranger = registered(&db, 3).await?;
    let start = log.present().await?;
    let list = ListId::from_uuid(id(100));
    let inserted = lists
        .insert(
            NewList {
                id: list,
                name: taskapi_domain::ListName::parse("Home")?,
                owner,
                created_at: t(5)?,
            },
            None,
        )
        .await?;
    assert_eq!(inserted, ListInsert::Inserted);
    let invitation = InvitationId::from_uuid(id(200));
    let invited = lists
        .invite(
            owner,
            NewInvitation {
                id: invitation,
                list_id: list,
                email: Email::parse("user2@example.com")?,
                role: ListRole::Editor,
                invited_by: owner,
                created_at: Utc::now(),
                expires_at: Utc::now() + chrono::TimeDelta::days(1),
            },
            Box::new(|_, _| Ok(())),
        )
        .await?;
    assert!(
        matches!(invited, InvitationsOutcome::Done(_)),
        "{invited:?}"
    );
    assert!(
        lists
            .accept(friend, invitation, Utc::now())
            .await?
            .is_some()
    );
    assert!(matches!(
        lists
            .update_with(owner, list, rename_to("Home and garden"))
            .await?,
        ListUpdateOutcome::Updated(_)
    ));
    // The same name again: nothing changes, nothing is recorded.
    assert!(matches!(
        lists
            .update_with(friend, list, rename_to("Home and garden"))
            .await?,
        ListUpdateOutcome::Unchanged(_)
    ));
    let set_role = |role: ListRole| -> taskapi_domain::DecideMemberChange {
        Box::new(move |_: &MembershipChange| MemberDecision::SetRole(role))
    };
    // The role the friend has already: nothing recorded.
    let same = lists
        .change_member(owner, list, friend, set_role(ListRole::Editor))
        .await?;
    assert!(matches!(same, MemberOutcome::Changed(Some(_))), "{same:?}");
    let demoted = lists
        .change_member(owner, list, friend, set_role(ListRole::Viewer))
        .await?;
    assert!(
        matches!(demoted, MemberOutcome::Changed(Some(_))),
        "{demoted:?}"
    );

    // Until here the friend sees the list as a viewer of a list of two members.
    let of_the_list = |all: &[ChangeRecord]| {
        all.iter()
            .filter(|r| r.entity == Entity::List && r.id == id(100))
            .count()
    };
    let (friends, _) = follow_until(&*log, friend, start, 100, |all| of_the_list(all) >= 3).await?;
    assert_eq!(of_the_list(&friends), 3, "{friends:#?}");
    let batch = log.read(friend, start, 100).await?;
    let seen = batch
        .lists
        .iter()
        .find(|l| l.id == list)
        .ok_or("the shared list")?;
    assert_eq!(
        (seen.id, seen.name.as_str(), seen.role, seen.member_count),
        (list, "Home and garden", ListRole::Viewer, 2)
    );

    let removed = lists
        .change_member(
            owner,
            list,
            friend,
            Box::new(|_: &MembershipChange| MemberDecision::Remove),
        )
        .await?;
    assert_eq!(removed, MemberOutcome::Changed(None));
    let deleted = lists
        .delete_with(owner, list, Box::new(|_| ListDeleteDecision::Delete))
        .await?;
    assert_eq!(deleted, ListDeleteOutcome::Deleted);

    let owners = follow_list_to(&*log, owner, start, (id(100), ChangeOp::Delete)).await?;
    assert_eq!(
        list_ops(&owners),
        vec![
            (id(100), ChangeOp::Upsert), // created
            (id(100), ChangeOp::Upsert), // the friend joined
            (id(100), ChangeOp::Upsert), // renamed
            (id(100), ChangeOp::Upsert), // the friend's role
            (id(100), ChangeOp::Upsert), // the friend removed
            (id(100), ChangeOp::Delete), // deleted
        ]
    );
    assert!(
        owners
            .iter()
            .all(|r| r.list_id == Some(id(100)) && r.entity == Entity::List)
    );
    assert_eq!(owners[0].at, t(5)?);
    let friends = follow_list_to(&*log, friend, start, (id(100), ChangeOp::Delete)).await?;
    assert_eq!(
        list_ops(&friends),
        vec![
            (id(100), ChangeOp::Upsert), // joined
            (id(100), ChangeOp::Upsert), // renamed
            (id(100), ChangeOp::Upsert), // made a viewer
            (id(100), ChangeOp::Delete), // removed: nothing of the list after
        ]
    );
    // Gone: neither sees it any more.
    for reader in [owner, friend] {
        let now = log.read(reader, start, 100).await?.lists;
        assert!(now.iter().all(|l| l.id != list), "{now:?}");
    }
    // The stranger got none of it (beyond, perhaps, their own inbox at registration).
    let strangers = log.read(stranger, start, 100).await?.records;
    assert!(
        strangers.iter().all(|r| r.id == stranger.as_uuid()),
        "{strangers:?}"
    );
    Ok(())
}

/// Deleting an account records an upsert of each list it leaves behind for the members who
/// remain (a new owner, one member fewer); the lists it was alone in go without a change for
/// anyone.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_deletion_records_the_hand_over_for_the_remaining_members(
    #[case] backend: Backend,
) -> TestResult {
    use taskapi_domain::{ListInsert, ListRole, NewList};
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (lists, log) = (db.lists(), db.changes());
    let owner = registered(&db, 1).await?;
    let editor = registered(&db, 2).await?;
    for (n, title) in [(100, "Shared"), (101, "Alone")] {
        let inserted = lists
            .insert(
                NewList {
                    id: ListId::from_uuid(id(n)),
                    name: taskapi_domain::ListName::parse(title)?,
                    owner,
                    created_at: t(5)?,
                },
                None,
            )
            .await?;
        assert_eq!(inserted, ListInsert::Inserted);
    }
    db.hold_connection()?.execute_sql(&format!(
        "INSERT INTO list_members (list_id, user_id, role, added_at) \
         VALUES ('{}', '{editor}', 'editor', '2026-01-01T00:00:00.000000Z')",
        id(100)
    ))?;
    let start = log.present().await?;
    assert_eq!(
        db.users().delete(owner).await?,
        taskapi_domain::AccountDeletion::Deleted
    );
    let editors = follow_list_to(&*log, editor, start, (id(100), ChangeOp::Upsert)).await?;
    assert_eq!(list_ops(&editors), vec![(id(100), ChangeOp::Upsert)]);
    let batch = log.read(editor, start, 100).await?;
    let seen = batch
        .lists
        .iter()
        .find(|l| l.id.as_uuid() == id(100))
        .ok_or("the shared list")?;
    assert_eq!((seen.role, seen.member_count), (ListRole::Owner, 1));
    Ok(())
}
