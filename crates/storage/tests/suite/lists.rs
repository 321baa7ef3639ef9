//! Lists, memberships and the access they give to tasks, on every backend: the inbox made
//! with an account (and by migration for accounts made before lists), roles decided on the
//! state storage holds locked, the quota, keyset pages, and what a list takes with it.

use std::sync::Arc;

use rstest::rstest;
use taskapi_domain::{
    AccessRefusal, List, ListDeleteOutcome, ListInsert, ListListQuery, ListName, ListRepository,
    ListRole, ListSort, ListSortField, ListUpdateOutcome, NewList, PageSize, TaskFilter,
    VersionCondition,
};

use super::*;

fn name(s: &str) -> Result<ListName, BoxError> {
    Ok(ListName::parse(s)?)
}

/// A new list of `owner`'s, with id `n`, created at `micros`.
fn new_list(owner: UserId, n: u128, title: &str, micros: i64) -> Result<NewList, BoxError> {
    Ok(NewList {
        id: ListId::from_uuid(Uuid::from_u128(n)),
        name: name(title)?,
        owner,
        created_at: t(micros)?,
    })
}

async fn created(lists: &dyn ListRepository, list: NewList) -> Result<ListId, BoxError> {
    let id = list.id;
    assert_eq!(lists.insert(list, None).await?, ListInsert::Inserted);
    Ok(id)
}

/// Makes `user` a member of `list` with `role` (the invitation routes' storage comes later;
/// the rows are what they write).
fn add_member(db: &Database, list: ListId, user: UserId, role: ListRole) -> TestResult {
    let mut conn = db.hold_connection()?;
    conn.execute_sql(&format!(
        "INSERT INTO list_members (list_id, user_id, role, added_at) \
         VALUES ('{list}', '{user}', '{}', '2026-01-01T00:00:00.000000Z')",
        role.as_str()
    ))?;
    Ok(())
}

/// A task of `list`, created by `creator`.
fn task_in(list: ListId, creator: UserId, n: u128) -> Result<Task, BoxError> {
    Ok(Task {
        list_id: list,
        ..new_task(creator, n, t(1_000 + i64::try_from(n)?)?, &["shared"])?
    })
}

fn rename(to: &str) -> Result<taskapi_domain::DecideListUpdate, BoxError> {
    let to = name(to)?;
    Ok(Box::new(move |current: &List| {
        current.decide_update(
            &taskapi_domain::ListPatch {
                name: Some(to),
                archived: None,
            },
            None,
            Utc::now(),
        )
    }))
}

fn archive(archived: bool) -> taskapi_domain::DecideListUpdate {
    Box::new(move |current: &List| {
        current.decide_update(
            &taskapi_domain::ListPatch {
                name: None,
                archived: Some(archived),
            },
            None,
            Utc::now(),
        )
    })
}

fn delete_decision(version: Option<i64>) -> taskapi_domain::DecideListDelete {
    Box::new(move |current: &List| {
        current.decide_delete(version.map(|v| VersionCondition::OneOf(vec![v])).as_ref())
    })
}

/// Registration makes the account's inbox, with the account as its only member (owner), in
/// the same transaction; nobody else sees it, and it refuses renaming and deletion.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registration_makes_an_inbox_only_its_account_sees(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let lists = db.lists();
    let inbox = lists
        .find_for_member(alice, ListId::inbox_of(alice))
        .await?
        .ok_or("alice has an inbox")?;
    assert_eq!(
        (
            inbox.name.as_str(),
            inbox.is_inbox,
            inbox.role,
            inbox.member_count,
            inbox.version
        ),
        ("Inbox", true, ListRole::Owner, 1, 1)
    );
    assert_eq!(inbox.created_at, t(123_456)?, "made with the account");
    assert_eq!(
        lists.find_for_member(bob, ListId::inbox_of(alice)).await?,
        None
    );
    let renamed = lists.update_with(alice, inbox.id, rename("Mine")?).await?;
    assert_eq!(
        renamed,
        ListUpdateOutcome::Refused(taskapi_domain::ListRefusal::Inbox)
    );
    let deleted = lists
        .delete_with(alice, inbox.id, delete_decision(None))
        .await?;
    assert_eq!(
        deleted,
        ListDeleteOutcome::Refused(taskapi_domain::ListRefusal::Inbox)
    );
    // A task without a list named goes to the inbox, as clients of private tasks expect.
    let mut task = new_task(alice, 10, t(1)?, &[])?;
    assert_eq!(task.list_id, ListId::inbox_of(alice));
    assert!(matches!(
        db.tasks().insert_placed(&mut task, None).await?,
        TaskInsert::Inserted { .. }
    ));
    assert_eq!(all_of(&*db.tasks(), alice).await?, vec![task]);
    Ok(())
}

/// A database of the release before lists, holding accounts with tasks and tags, migrates
/// forward: each account gets its inbox holding its tasks (tags, versions and search index
/// kept), ordered as they were created.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_migration_gives_every_existing_account_an_inbox_holding_its_tasks(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = backend.fresh(settings())?;
    let applied = tokio::task::block_in_place(|| db.run_migrations_before("20261204010000"))?;
    assert!(applied.len() >= 7, "{applied:?}");
    let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let (first, second, bobs) = (
        Uuid::from_u128((1 << 64) | 1),
        Uuid::from_u128((2 << 64) | 1),
        Uuid::from_u128((3 << 64) | 1),
    );
    {
        let mut conn = db.hold_connection()?;
        let at = "2026-11-30T10:00:00.000000Z";
        let chr = if db.backend_name() == "postgres" {
            "chr"
        } else {
            "char"
        };
        conn.execute_sql(&format!(
            "INSERT INTO users (id, email, password_hash, role, disabled, created_at, updated_at, \
             session_epoch) VALUES \
             ('{alice}', 'alice@example.com', 'h', 'user', false, '{at}', '{at}', 0), \
             ('{bob}', 'bob@example.com', 'h', 'user', false, '{at}', '{at}', 0); \
             INSERT INTO tasks (id, owner_id, title, description, is_done, priority, created_at, \
             updated_at, version, title_key, search_key) VALUES \
             ('{first}', '{alice}', 'Buy milk', '', false, 1, '{at}', '{at}', 3, 'buy milk', \
              'buy milk' || {chr}(1)), \
             ('{second}', '{alice}', 'Call mum', '', false, 2, '{at}', '{at}', 1, 'call mum', \
              'call mum' || {chr}(1)), \
             ('{bobs}', '{bob}', 'Fix bike', '', true, 0, '{at}', '{at}', 1, 'fix bike', \
              'fix bike' || {chr}(1)); \
             INSERT INTO task_tags (task_id, position, tag) VALUES \
             ('{first}', 0, 'home'), ('{first}', 1, 'errands'), ('{bobs}', 0, 'bike')"
        ))?;
    }
    db.run_migrations()?;
    let (alice, bob) = (UserId::from_uuid(alice), UserId::from_uuid(bob));
    let lists = db.lists();
    for user in [alice, bob] {
        let inbox = lists
            .find_for_member(user, ListId::inbox_of(user))
            .await?
            .ok_or("an inbox by migration")?;
        assert_eq!(
            (
                inbox.is_inbox,
                inbox.role,
                inbox.member_count,
                inbox.name.as_str()
            ),
            (true, ListRole::Owner, 1, "Inbox")
        );
    }
    let tasks = db.tasks();
    let alices = all_of(&*tasks, alice).await?;
    let ids: Vec<Uuid> = alices.iter().map(|t| t.id.as_uuid()).collect();
    assert_eq!(ids, vec![first, second]);
    let milk = &alices[0];
    assert_eq!(
        (milk.list_id, milk.created_by, milk.version, milk.parent_id),
        (ListId::inbox_of(alice), alice, 3, None)
    );
    assert_eq!(milk.tags.iter().collect::<Vec<_>>(), ["home", "errands"]);
    assert!(
        alices[0].position < alices[1].position,
        "creation order kept"
    );
    let bobs_tasks = all_of(&*tasks, bob).await?;
    assert_eq!(bobs_tasks.len(), 1);
    assert_eq!(bobs_tasks[0].tags.iter().collect::<Vec<_>>(), ["bike"]);
    // The search index still finds the tasks, and a new task joins the inbox.
    let query = TaskListQuery {
        filter: TaskFilter {
            q: Some(taskapi_domain::SearchText::parse("milk")?),
            ..Default::default()
        },
        ..Default::default()
    };
    let found = tasks.list_for_member(alice, query, 10).await?;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_uuid(), first);
    assert!(matches!(
        tasks.insert(new_task(alice, 77, t(5)?, &[])?, None).await?,
        TaskInsert::Inserted { .. }
    ));
    assert_eq!(all_of(&*tasks, alice).await?.len(), 3);
    Ok(())
}

/// Viewers read a shared list and its tasks but write nothing; editors write tasks and rename
/// the list; only owners archive and delete it; an archived list refuses task writes; a
/// non-member sees nothing and changes nothing.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_decide_what_members_may_do_and_non_members_see_nothing(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let viewer = registered(&db, 2).await?;
    let editor = registered(&db, 3).await?;
    let stranger = registered(&db, 4).await?;
    let (lists, tasks) = (db.lists(), db.tasks());
    let shared = created(&*lists, new_list(owner, 100, "Groceries", 1)?).await?;
    add_member(&db, shared, viewer, ListRole::Viewer)?;
    add_member(&db, shared, editor, ListRole::Editor)?;

    let seen = lists
        .find_for_member(viewer, shared)
        .await?
        .ok_or("viewer sees it")?;
    assert_eq!((seen.role, seen.member_count), (ListRole::Viewer, 3));
    assert_eq!(lists.find_for_member(stranger, shared).await?, None);

    // Task writes.
    let mut by_editor = task_in(shared, editor, 10)?;
    assert!(matches!(
        tasks.insert_placed(&mut by_editor, None).await?,
        TaskInsert::Inserted { .. }
    ));
    assert_eq!(
        tasks.insert(task_in(shared, viewer, 11)?, None).await?,
        TaskInsert::Denied(AccessRefusal::ReadOnly)
    );
    assert_eq!(
        tasks.insert(task_in(shared, stranger, 12)?, None).await?,
        TaskInsert::NoSuchList
    );
    for member in [owner, viewer, editor] {
        assert_eq!(
            tasks.find_for_member(member, by_editor.id).await?,
            Some(by_editor.clone())
        );
    }
    assert_eq!(tasks.find_for_member(stranger, by_editor.id).await?, None);
    assert_eq!(
        update_if_version(
            &*tasks,
            stranger,
            by_editor.id,
            1,
            changes_of(&by_editor),
            t(9)?
        )
        .await?,
        UpdateOutcome::NotFound
    );
    let viewer_update = tasks
        .update_with(
            viewer,
            by_editor.id,
            Box::new(
                |_: &Task, access: taskapi_domain::TaskAccess| match access.check_write() {
                    Err(refusal) => UpdateDecision::Deny(refusal),
                    Ok(()) => UpdateDecision::Keep,
                },
            ),
        )
        .await?;
    assert_eq!(
        viewer_update,
        UpdateOutcome::Denied(AccessRefusal::ReadOnly)
    );
    assert_eq!(
        tasks.delete_if_version(viewer, by_editor.id, None).await?,
        DeleteOutcome::Denied(AccessRefusal::ReadOnly)
    );
    assert_eq!(
        tasks
            .delete_if_version(stranger, by_editor.id, None)
            .await?,
        DeleteOutcome::NotFound
    );

    // List writes.
    assert!(matches!(
        lists.update_with(viewer, shared, rename("Food")?).await?,
        ListUpdateOutcome::Refused(taskapi_domain::ListRefusal::Forbidden(ListRole::Editor))
    ));
    assert_eq!(
        lists.update_with(stranger, shared, rename("Mine")?).await?,
        ListUpdateOutcome::NotFound
    );
    let ListUpdateOutcome::Updated(renamed) =
        lists.update_with(editor, shared, rename("Food")?).await?
    else {
        return Err("an editor renames".into());
    };
    assert_eq!(
        (renamed.name.as_str(), renamed.version, renamed.role),
        ("Food", 2, ListRole::Editor)
    );
    assert!(matches!(
        lists.update_with(editor, shared, archive(true)).await?,
        ListUpdateOutcome::Refused(taskapi_domain::ListRefusal::Forbidden(ListRole::Owner))
    ));
    assert!(matches!(
        lists.update_with(owner, shared, archive(true)).await?,
        ListUpdateOutcome::Updated(List {
            archived: true,
            version: 3,
            ..
        })
    ));

    // An archived list refuses task writes, even its owner's; it is listed only when named.
    assert_eq!(
        tasks.insert(task_in(shared, owner, 13)?, None).await?,
        TaskInsert::Denied(AccessRefusal::Archived)
    );
    assert_eq!(
        tasks.delete_if_version(editor, by_editor.id, None).await?,
        DeleteOutcome::Denied(AccessRefusal::Archived)
    );
    assert_eq!(all_of(&*tasks, editor).await?, vec![]);
    let named = TaskListQuery {
        filter: TaskFilter {
            list_id: Some(shared),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        tasks.list_for_member(editor, named.clone(), 10).await?,
        vec![by_editor.clone()]
    );
    assert_eq!(tasks.list_for_member(stranger, named, 10).await?, vec![]);

    // Deletion: owners only; the list takes its tasks with it.
    assert_eq!(
        lists
            .delete_with(editor, shared, delete_decision(None))
            .await?,
        ListDeleteOutcome::Refused(taskapi_domain::ListRefusal::Forbidden(ListRole::Owner))
    );
    assert_eq!(
        lists
            .delete_with(stranger, shared, delete_decision(None))
            .await?,
        ListDeleteOutcome::NotFound
    );
    assert_eq!(
        lists
            .delete_with(owner, shared, delete_decision(Some(2)))
            .await?,
        ListDeleteOutcome::Refused(taskapi_domain::ListRefusal::VersionMismatch)
    );
    assert_eq!(
        lists
            .delete_with(owner, shared, delete_decision(Some(3)))
            .await?,
        ListDeleteOutcome::Deleted
    );
    assert_eq!(lists.find_for_member(viewer, shared).await?, None);
    assert_eq!(tasks.find_for_member(owner, by_editor.id).await?, None);
    Ok(())
}

/// Without a list named, a member's listing holds the tasks of every unarchived list they
/// belong to, in order across lists, paged without repeats.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_without_a_list_holds_the_tasks_of_every_list_of_the_member(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let (lists, tasks) = (db.lists(), db.tasks());
    let shared = created(&*lists, new_list(alice, 100, "Shared", 1)?).await?;
    add_member(&db, shared, bob, ListRole::Editor)?;
    let mut expected = Vec::new();
    for n in 1..=6u128 {
        let mut task = if n % 2 == 0 {
            task_in(shared, alice, n)?
        } else {
            new_task(bob, n, t(1_000 + i64::try_from(n)?)?, &[])?
        };
        assert!(matches!(
            tasks.insert_placed(&mut task, None).await?,
            TaskInsert::Inserted { .. }
        ));
        expected.push(task);
    }
    // Alice's own inbox task is not Bob's.
    assert!(matches!(
        tasks.insert(new_task(alice, 50, t(5)?, &[])?, None).await?,
        TaskInsert::Inserted { .. }
    ));
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let query = TaskListQuery {
            size: PageSize::new(4)?,
            after: after.clone(),
            ..Default::default()
        };
        let page = tasks.list_for_member(bob, query, 5).await?;
        let more = page.len() > 4;
        seen.extend(page.into_iter().take(4));
        if !more {
            break;
        }
        after = seen
            .last()
            .map(|t| taskapi_domain::TaskCursor::after(t, Default::default()));
    }
    assert_eq!(seen, expected);
    Ok(())
}

/// Of many concurrent creations past the quota, exactly the quota's number succeed; the
/// inbox does not count.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_list_quota_holds_under_concurrent_creations(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let lists: Arc<dyn ListRepository> = db.lists();
    let mut handles = Vec::new();
    for n in 0..8u128 {
        let lists = Arc::clone(&lists);
        let list = new_list(owner, 100 + n, "Mine", 1)?;
        handles.push(tokio::spawn(
            async move { lists.insert(list, Some(3)).await },
        ));
    }
    let mut inserted = 0;
    for handle in handles {
        if handle.await?? == ListInsert::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 3);
    let all = lists
        .list_for_member(owner, ListListQuery::default(), 100)
        .await?;
    assert_eq!(all.len(), 4, "three lists and the inbox");
    Ok(())
}

/// Pages of lists, by creation time or name in either direction, visit every list of the
/// member once in order, and never another account's.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_pages_visit_every_list_once_in_order(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let lists = db.lists();
    let names = ["banana", "Apple", "cherry", "apple", "Éclair", "date"];
    for (n, title) in names.iter().enumerate() {
        let n = u128::try_from(n)?;
        created(
            &*lists,
            new_list(alice, 100 + n, title, 10 - i64::try_from(n)?)?,
        )
        .await?;
    }
    created(&*lists, new_list(bob, 200, "Bob's", 1)?).await?;
    let all = lists
        .list_for_member(alice, ListListQuery::default(), 100)
        .await?;
    assert_eq!(all.len(), names.len() + 1);
    for field in [ListSortField::CreatedAt, ListSortField::Name] {
        for descending in [false, true] {
            let sort = ListSort { field, descending };
            let mut expected = all.clone();
            expected.sort_by(|a, b| {
                let order = match field {
                    ListSortField::CreatedAt => a.created_at.cmp(&b.created_at),
                    ListSortField::Name => a.name.sort_key().cmp(&b.name.sort_key()),
                }
                .then(a.id.cmp(&b.id));
                if descending { order.reverse() } else { order }
            });
            let mut seen: Vec<List> = Vec::new();
            let mut after = None;
            loop {
                let query = ListListQuery {
                    sort,
                    size: PageSize::new(2)?,
                    after: after.clone(),
                    ..Default::default()
                };
                let page = lists.list_for_member(alice, query, 3).await?;
                let more = page.len() > 2;
                seen.extend(page.into_iter().take(2));
                if !more {
                    break;
                }
                after = seen
                    .last()
                    .map(|l| taskapi_domain::ListCursor::after(l, sort));
            }
            assert_eq!(seen, expected, "{sort:?}");
        }
    }
    let archived_only = ListListQuery {
        filter: taskapi_domain::ListFilter {
            archived: Some(true),
        },
        ..Default::default()
    };
    assert_eq!(
        lists.list_for_member(alice, archived_only, 100).await?,
        vec![]
    );
    Ok(())
}

/// Deleting an account deletes the lists it was the only member of, with their tasks, hands
/// the others to their longest-standing editor, and keeps the tasks it created there.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_deletion_hands_lists_over_and_deletes_the_ones_left_empty(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let owner = registered(&db, 1).await?;
    let viewer = registered(&db, 2).await?;
    let editor = registered(&db, 3).await?;
    let (lists, tasks) = (db.lists(), db.tasks());
    let alone = created(&*lists, new_list(owner, 100, "Alone", 1)?).await?;
    let shared = created(&*lists, new_list(owner, 101, "Shared", 1)?).await?;
    add_member(&db, shared, viewer, ListRole::Viewer)?;
    add_member(&db, shared, editor, ListRole::Editor)?;
    let mut lonely = task_in(alone, owner, 10)?;
    let mut kept = task_in(shared, owner, 11)?;
    for task in [&mut lonely, &mut kept] {
        assert!(matches!(
            tasks.insert_placed(task, None).await?,
            TaskInsert::Inserted { .. }
        ));
    }
    assert_eq!(
        db.users().delete(owner).await?,
        taskapi_domain::AccountDeletion::Deleted
    );
    let mut conn = db.hold_connection()?;
    let count = |conn: &mut taskapi_storage::HeldConnection, sql: String| conn.query_i64(&sql);
    assert_eq!(
        count(
            &mut conn,
            format!(
                "SELECT COUNT(*) AS value FROM lists WHERE id IN ('{alone}', '{}')",
                ListId::inbox_of(owner)
            )
        )?,
        0
    );
    assert_eq!(
        count(
            &mut conn,
            format!(
                "SELECT COUNT(*) AS value FROM tasks WHERE id = '{}'",
                lonely.id
            )
        )?,
        0
    );
    drop(conn);
    let seen = lists.find_for_member(editor, shared).await?.ok_or("kept")?;
    assert_eq!((seen.role, seen.member_count), (ListRole::Owner, 2));
    assert_eq!(tasks.find_for_member(viewer, kept.id).await?, Some(kept));
    Ok(())
}
