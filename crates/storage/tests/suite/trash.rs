//! The trash over each engine, through the `TrashService` and the storage it runs on: a
//! restore brings back the subtasks trashed with the task (and only those), under its
//! parent when that is live (at its place, or right after a sibling that took it), else
//! last at the top level; a purge takes the task and every subtask under it for good; each
//! change is recorded.

use std::sync::Arc;

use taskapi_domain::{
    ChangeOp, Credential, Position, Principal, SessionId, SystemClock, TrashQuery, TrashService,
};

use super::*;

fn principal(user: UserId) -> Principal {
    Principal {
        user_id: user,
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(77))),
    }
}

/// Task `n` of `owner`'s inbox under `parent` at `position`.
fn placed(owner: UserId, n: u128, parent: Option<&Task>, position: &str) -> Result<Task, BoxError> {
    Ok(Task {
        parent_id: parent.map(|p| p.id),
        position: Position::parse(position)?.as_str().to_owned(),
        ..new_task(owner, n, t(i64::try_from(n)?)?, &["t"])?
    })
}

/// Stores the tasks, each then pinned at the position the test gave it (storage places a
/// new task last among its siblings; these tests need particular neighbours, ties
/// included).
async fn insert_all(db: &Database, tasks: &[&Task]) -> TestResult {
    for task in tasks {
        assert!(matches!(
            db.tasks().insert((*task).clone(), None).await?,
            TaskInsert::Inserted { .. }
        ));
        db.hold_connection()?.execute_sql(&format!(
            "UPDATE tasks SET position = '{}' WHERE id = '{}'",
            task.position,
            task.id.as_uuid()
        ))?;
    }
    Ok(())
}

async fn trash_ids(trash: &TrashService, who: &Principal) -> Result<Vec<TaskId>, BoxError> {
    let page = trash.list(who, TrashQuery::default()).await?;
    Ok(page.items.iter().map(|t| t.task.id).collect())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_brings_back_the_subtasks_trashed_with_it_under_its_live_parent(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let who = principal(owner);
    let trash = TrashService::new(db.trash(), Arc::new(SystemClock));
    let parent = placed(owner, 10, None, "a1")?;
    let child = placed(owner, 11, Some(&parent), "a3")?;
    let grandchild = placed(owner, 12, Some(&child), "a1")?;
    let earlier = placed(owner, 13, Some(&child), "a2")?;
    insert_all(&db, &[&parent, &child, &grandchild, &earlier]).await?;
    let tasks = db.tasks();
    // One subtask deleted on its own first, then the child with what is left under it.
    assert_eq!(
        tasks.delete_if_version(owner, earlier.id, None).await?,
        DeleteOutcome::Deleted
    );
    assert_eq!(
        tasks.delete_if_version(owner, child.id, None).await?,
        DeleteOutcome::Deleted
    );
    // Newest deletion first, ties by id descending.
    assert_eq!(
        trash_ids(&trash, &who).await?,
        vec![grandchild.id, child.id, earlier.id]
    );
    let cursor = db.changes().present().await?;
    // The feed may start a little before the cursor's present while other tests' transactions
    // are in flight: the restore's changes are those stamped from now on.
    let started = Utc::now();

    let restored = trash.restore(&who, child.id, None).await?;
    assert_eq!(restored.parent_id, Some(parent.id));
    assert_eq!(restored.position, child.position);
    assert_eq!(restored.version, 2);
    assert!(restored.updated_at > child.updated_at);
    assert_eq!(restored.tags, child.tags);
    let back = tasks.find_for_member(owner, grandchild.id).await?;
    assert_eq!(
        back,
        Some(grandchild.clone()),
        "as it was, version included"
    );
    assert_eq!(tasks.find_for_member(owner, earlier.id).await?, None);
    assert_eq!(trash_ids(&trash, &who).await?, vec![earlier.id]);
    let restores = |records: &[taskapi_domain::ChangeRecord]| -> Vec<(ChangeOp, Uuid)> {
        let mut made: Vec<_> = records
            .iter()
            .filter(|r| r.at >= started)
            .map(|r| (r.op, r.id))
            .collect();
        made.sort_by_key(|(_, id)| *id);
        made
    };
    let expected = vec![
        (ChangeOp::Upsert, child.id.as_uuid()),
        (ChangeOp::Upsert, grandchild.id.as_uuid()),
    ];
    changes::follow_until(&*db.changes(), owner, cursor, 100, |all| {
        restores(all) == expected
    })
    .await?;

    // The one deleted earlier goes back under its (live again) parent.
    let restored = trash.restore(&who, earlier.id, None).await?;
    assert_eq!(restored.parent_id, Some(child.id));
    assert_eq!(restored.position, earlier.position);
    Ok(())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_under_a_trashed_parent_goes_last_at_the_top_level(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let who = principal(owner);
    let trash = TrashService::new(db.trash(), Arc::new(SystemClock));
    let parent = placed(owner, 10, None, "a1")?;
    let last = placed(owner, 11, None, "a5")?;
    let child = placed(owner, 12, Some(&parent), "a7")?;
    insert_all(&db, &[&parent, &last, &child]).await?;
    let tasks = db.tasks();
    tasks.delete_if_version(owner, child.id, None).await?;
    tasks.delete_if_version(owner, parent.id, None).await?;

    let restored = trash.restore(&who, child.id, None).await?;
    assert_eq!(restored.parent_id, None);
    assert!(
        Position::parse(&restored.position)? > Position::parse(&last.position)?,
        "{} after {}",
        restored.position,
        last.position
    );
    // The parent comes back alone (the child left the trash already) at its place.
    let parent_back = trash.restore(&who, parent.id, None).await?;
    assert_eq!(parent_back.position, parent.position);
    assert_eq!(
        tasks
            .find_for_member(owner, child.id)
            .await?
            .map(|t| t.parent_id),
        Some(None)
    );
    Ok(())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_whose_place_was_taken_goes_right_after_the_sibling_that_took_it(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let who = principal(owner);
    let trash = TrashService::new(db.trash(), Arc::new(SystemClock));
    let parent = placed(owner, 10, None, "a1")?;
    let child = placed(owner, 11, Some(&parent), "a3")?;
    insert_all(&db, &[&parent, &child]).await?;
    db.tasks().delete_if_version(owner, child.id, None).await?;
    let taker = placed(owner, 12, Some(&parent), "a3")?;
    let next = placed(owner, 13, Some(&parent), "a4")?;
    insert_all(&db, &[&taker, &next]).await?;

    let restored = trash.restore(&who, child.id, None).await?;
    assert_eq!(restored.parent_id, Some(parent.id));
    let position = Position::parse(&restored.position)?;
    assert!(
        Position::parse("a3")? < position && position < Position::parse("a4")?,
        "{position}"
    );
    Ok(())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_takes_the_task_and_every_subtask_under_it_for_good(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let who = principal(owner);
    let trash = TrashService::new(db.trash(), Arc::new(SystemClock));
    let parent = placed(owner, 10, None, "a1")?;
    let child = placed(owner, 11, Some(&parent), "a1")?;
    let earlier = placed(owner, 12, Some(&child), "a1")?;
    let kept = placed(owner, 13, None, "a2")?;
    insert_all(&db, &[&parent, &child, &earlier, &kept]).await?;
    let tasks = db.tasks();
    tasks.delete_if_version(owner, earlier.id, None).await?;
    tasks.delete_if_version(owner, parent.id, None).await?;
    tasks.delete_if_version(owner, kept.id, None).await?;
    let cursor = db.changes().present().await?;
    let started = Utc::now();

    trash.purge(&who, parent.id, None).await?;
    assert_eq!(trash_ids(&trash, &who).await?, vec![kept.id]);
    assert_eq!(count(&db, "tasks")?, 1);
    assert_eq!(count(&db, "task_tags")?, 1, "the kept task's tag only");
    for gone in [parent.id, child.id, earlier.id] {
        let restored = trash.restore(&who, gone, None).await;
        assert!(
            matches!(restored, Err(taskapi_domain::TaskError::NotFound)),
            "{restored:?}"
        );
    }
    // The purge's changes: those stamped from its start on (see the restore's test).
    let deletes = |records: &[taskapi_domain::ChangeRecord]| -> BTreeSet<(Uuid, bool)> {
        records
            .iter()
            .filter(|r| r.at >= started)
            .map(|r| (r.id, r.op == ChangeOp::Delete))
            .collect()
    };
    let expected = BTreeSet::from([
        (parent.id.as_uuid(), true),
        (child.id.as_uuid(), true),
        (earlier.id.as_uuid(), true),
    ]);
    changes::follow_until(&*db.changes(), owner, cursor, 100, |all| {
        deletes(all) == expected
    })
    .await?;
    Ok(())
}

/// Housekeeping's `count`, for this module.
fn count(db: &Database, table: &str) -> Result<i64, BoxError> {
    let mut conn = db.hold_connection()?;
    Ok(conn.query_i64(&format!("SELECT COUNT(*) AS value FROM {table}"))?)
}

/// `GET /trash` seeks the partial index over trashed tasks by list, on the first page and
/// from a cursor, for every list of the caller's or one: it never scans the tasks table
/// (nor, on PostgreSQL with sequential scans off, falls back to one).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_of_the_trash_is_read_through_its_index(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    for n in 0..20 {
        let task = placed(owner, 100 + n, None, "a1")?;
        insert_all(&db, &[&task]).await?;
        db.tasks().delete_if_version(owner, task.id, None).await?;
    }
    let inbox = ListId::inbox_of(owner);
    let after = Some((t(5)?, TaskId::from_uuid(Uuid::from_u128(110))));
    for (only, after) in [
        (None, None),
        (None, after),
        (Some(inbox), None),
        (Some(inbox), after),
    ] {
        let explaining = db.clone();
        let plan =
            tokio::task::spawn_blocking(move || explaining.explain_trash_page(owner, only, after))
                .await??;
        assert!(
            plan.iter().any(|line| line.contains("tasks_trash_by_list")),
            "{only:?} {after:?} does not use tasks_trash_by_list: {plan:#?}"
        );
        assert!(
            !plan.iter().any(|line| {
                let line = line.trim_start();
                line.starts_with("SCAN tasks") || line.contains("Seq Scan on tasks")
            }),
            "{only:?} {after:?} scans the tasks: {plan:#?}"
        );
    }
    Ok(())
}
