use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::*;
use uuid::Uuid;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn caller() -> Principal {
    Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(1)),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    }
}

fn title(s: &str) -> TaskTitle {
    TaskTitle::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn task(version: i64) -> Task {
    Task {
        id: TaskId::from_uuid(Uuid::from_u128(99)),
        list_id: ListId::inbox_of(caller().user_id),
        parent_id: None,
        position: "0".into(),
        created_by: caller().user_id,
        assignee_id: None,
        title: title("Buy milk"),
        description: Description::empty(),
        is_done: false,
        completed_at: None,
        priority: Priority::Medium,
        due_at: None,
        tags: Tags::default(),
        created_at: at(100),
        updated_at: at(100),
        version,
    }
}

fn service(repo: MockTaskRepository, now: i64) -> TaskService {
    service_with(repo, MockIdempotencyStore::new(), now)
}

fn service_with(repo: MockTaskRepository, keys: MockIdempotencyStore, now: i64) -> TaskService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at(now));
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| Uuid::from_u128(99));
    TaskService::new(
        Arc::new(repo),
        Arc::new(keys),
        Arc::new(clock),
        Arc::new(ids),
    )
}

fn updated(current: &Task, changes: &TaskChanges, now: DateTime<Utc>) -> Task {
    Task {
        title: changes.title.clone(),
        description: changes.description.clone(),
        is_done: changes.is_done,
        completed_at: changes.completed_at,
        priority: changes.priority,
        due_at: changes.due_at,
        tags: changes.tags.clone(),
        assignee_id: changes.assignee_id,
        updated_at: now,
        version: current.version + 1,
        ..current.clone()
    }
}

#[test]
fn title_is_trimmed_and_bounded_in_code_points() {
    assert_eq!(title("  Buy milk \n").as_str(), "Buy milk");
    assert!(TaskTitle::parse("   ").is_err());
    assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
    assert!(TaskTitle::parse(&"é".repeat(201)).is_err());
}

#[test]
fn titles_with_bidi_controls_or_zero_width_characters_are_refused() {
    for c in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
        '\u{200D}', '\u{2060}', '\u{FEFF}',
    ] {
        assert_eq!(
            TaskTitle::parse(&format!("pay {c}invoice")),
            Err(TextError::InvisibleCharacters),
            "U+{:04X}",
            u32::from(c)
        );
    }
    // Visible neighbours and ordinary right-to-left text are fine.
    assert!(TaskTitle::parse("pay \u{2010}invoice \u{5e9}\u{5dc}\u{5d5}\u{5dd}").is_ok());
}

#[test]
fn control_characters_are_refused_where_they_do_not_belong() {
    assert!(TaskTitle::parse("a\u{0}b").is_err());
    assert!(TaskTitle::parse("two\nlines").is_err());
    assert!(Tag::parse("ta\u{7}g").is_err());
    assert!(Description::parse("nul\u{0}".into()).is_err());
    assert!(Description::parse("line one\r\n\tline two".into()).is_ok());
    // Unicode format characters are not control characters (Cc): a bidirectional override
    // is refused by a rule of its own (see below), and right-to-left text works.
    assert_eq!(
        TaskTitle::parse("\u{202e}abc"),
        Err(TextError::InvisibleCharacters)
    );
    assert!(TaskTitle::parse("\u{5e9}\u{5dc}\u{5d5}\u{5dd}").is_ok());
}

#[test]
fn description_is_kept_verbatim_and_bounded() {
    assert_eq!(
        Description::parse("  spaced  ".into()).map(|d| d.as_str().to_owned()),
        Ok("  spaced  ".to_owned())
    );
    assert!(Description::parse("ü".repeat(10_000)).is_ok());
    assert!(Description::parse("ü".repeat(10_001)).is_err());
}

#[test]
fn priority_names_and_order() {
    assert_eq!(Priority::parse("high"), Ok(Priority::High));
    assert!(Priority::parse("HIGH").is_err());
    assert!(Priority::parse("urgent").is_err());
    assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
    for p in [Priority::Low, Priority::Medium, Priority::High] {
        assert_eq!(Priority::from_rank(p.rank()), Ok(p));
    }
    for corrupt in [-1, 3, i16::MAX] {
        assert!(Priority::from_rank(corrupt).is_err(), "{corrupt}");
    }
}

#[test]
fn tags_are_trimmed_lower_cased_and_folded_before_counting() {
    let tags = Tags::parse(&[" Home", "home", "WORK ", "Straße"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tags.iter().collect::<Vec<_>>(),
        vec!["home", "work", "straße"]
    );
    // 25 entries folding to 20 distinct tags are fine
    let mut raw: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    raw.extend((0..5).map(|i| format!("T{i}")));
    assert!(Tags::parse(&raw).is_ok());
    let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let err = Tags::parse(&too_many).err().unwrap_or_default();
    assert_eq!(err.0, vec![TagProblem::TooMany { max: 20 }]);
}

#[test]
fn a_list_longer_than_twice_the_limit_is_refused_before_any_entry_is_read() {
    // 40 entries are looked at (and here fold to one tag)…
    let folding = vec!["Same"; Tags::MAX_ENTRIES];
    let tags = Tags::parse(&folding).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags.iter().collect::<Vec<_>>(), vec!["same"]);
    // …41 are not: one problem, however many entries are invalid.
    let empty = vec![""; Tags::MAX_ENTRIES + 1];
    let err = Tags::parse(&empty).err().unwrap_or_default();
    assert_eq!(
        err.0,
        vec![TagProblem::TooManyEntries {
            max_entries: 40,
            max: 20
        }]
    );
    let distinct: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
    let err = Tags::parse(&distinct).err().unwrap_or_default();
    assert_eq!(err.0.len(), 1);
    assert!(matches!(err.0[0], TagProblem::TooManyEntries { .. }));
}

#[test]
fn every_invalid_tag_is_named_by_position() {
    let long = "x".repeat(41);
    let err = Tags::parse(&["ok", " ", long.as_str()])
        .err()
        .unwrap_or_default();
    let positions: Vec<_> = err
        .0
        .iter()
        .map(|p| match p {
            TagProblem::Invalid { index, .. } => Some(*index),
            TagProblem::TooMany { .. } | TagProblem::TooManyEntries { .. } => None,
        })
        .collect();
    assert_eq!(positions, vec![Some(1), Some(2)]);
}

#[test]
fn patch_that_changes_nothing_is_detected() {
    let t = task(3);
    assert_eq!(t.apply(&TaskPatch::default(), at(200)), None);
    let same = TaskPatch {
        title: Some(title("Buy milk")),
        is_done: Some(false),
        ..Default::default()
    };
    assert_eq!(t.apply(&same, at(200)), None);
}

#[test]
fn marking_done_sets_completed_at_and_keeps_it_when_already_done() {
    let t = task(1);
    let done = TaskPatch {
        is_done: Some(true),
        ..Default::default()
    };
    let changes = t
        .apply(&done, at(200))
        .unwrap_or_else(|| panic!("should change"));
    assert_eq!(changes.completed_at, Some(at(200)));
    let already = Task {
        is_done: true,
        completed_at: Some(at(150)),
        ..task(2)
    };
    assert_eq!(
        already.apply(&done, at(300)),
        None,
        "completed_at must be kept"
    );
    let undo = TaskPatch {
        is_done: Some(false),
        ..Default::default()
    };
    let changes = already
        .apply(&undo, at(300))
        .unwrap_or_else(|| panic!("should change"));
    assert_eq!(changes.completed_at, None);
}

#[test]
fn clearing_due_at_and_description() {
    let t = Task {
        due_at: Some(at(500)),
        description: Description::parse("x".into()).unwrap_or_default(),
        ..task(1)
    };
    let clear = TaskPatch {
        due_at: Some(None),
        description: Some(Description::empty()),
        ..Default::default()
    };
    let changes = t
        .apply(&clear, at(200))
        .unwrap_or_else(|| panic!("should change"));
    assert_eq!(changes.due_at, None);
    assert_eq!(changes.description, Description::empty());
}

#[tokio::test]
async fn create_sets_owner_version_and_timestamps() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert().times(1).returning(|t, max_tasks| {
        assert_eq!(t.version, 1);
        assert_eq!(t.created_by, caller().user_id);
        assert_eq!(
            t.list_id,
            ListId::inbox_of(caller().user_id),
            "the inbox by default"
        );
        assert_eq!(max_tasks, None, "no quota configured");
        Ok(TaskInsert::Inserted {
            position: "a0".into(),
        })
    });
    let draft = TaskDraft {
        is_done: true,
        ..TaskDraft::titled(title("Ship it"))
    };
    let created = service(repo, 100)
        .create(&caller(), draft, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!created.replayed);
    let t = created.task;
    assert_eq!(
        (t.created_at, t.updated_at, t.completed_at),
        (at(100), at(100), Some(at(100)))
    );
    assert_eq!(t.title.as_str(), "Ship it");
}

#[tokio::test]
async fn get_of_a_task_the_caller_does_not_own_is_not_found() {
    let mut repo = MockTaskRepository::new();
    repo.expect_find_for_member()
        .withf(|owner, _| *owner == caller().user_id)
        .returning(|_, _| Ok(None));
    let result = service(repo, 100)
        .get(&caller(), TaskId::from_uuid(Uuid::from_u128(5)))
        .await;
    assert!(matches!(result, Err(TaskError::NotFound)));
}

/// An editor's access to an active list.
fn editor() -> TaskAccess {
    TaskAccess {
        role: ListRole::Editor,
        archived: false,
    }
}

/// A repository whose `update_with` runs the domain's decision on `current`, as an
/// adapter does under its lock, and reports what the decision asked for.
fn repo_deciding_on(current: Task) -> MockTaskRepository {
    repo_deciding_with(current, editor())
}

/// [`repo_deciding_on`] for a caller with `access` to the task's list.
fn repo_deciding_with(current: Task, access: TaskAccess) -> MockTaskRepository {
    let mut repo = MockTaskRepository::new();
    repo.expect_update_with().returning(move |_, _, decide| {
        Ok(match decide(&current, access) {
            UpdateDecision::Write(changes, now) => {
                UpdateOutcome::Updated(updated(&current, &changes, now))
            }
            UpdateDecision::Keep => UpdateOutcome::Unchanged(current.clone()),
            UpdateDecision::Refuse => UpdateOutcome::Refused,
            UpdateDecision::Deny(refusal) => UpdateOutcome::Denied(refusal),
        })
    });
    repo
}

/// A repository whose `delete_with` runs the domain's decision on `current` with `access`.
fn repo_deleting_with(current: Task, access: TaskAccess) -> MockTaskRepository {
    let mut repo = MockTaskRepository::new();
    repo.expect_delete_with()
        .times(1)
        .returning(move |_, _, decide| {
            Ok(match decide(&current, access) {
                DeleteDecision::Delete => DeleteOutcome::Deleted,
                DeleteDecision::Refuse => DeleteOutcome::VersionMismatch,
                DeleteDecision::Deny(refusal) => DeleteOutcome::Denied(refusal),
            })
        });
    repo
}

#[tokio::test]
async fn update_applies_the_patch_to_the_locked_state_and_returns_the_new_version() {
    let patch = TaskPatch {
        title: Some(title("Buy oat milk")),
        ..Default::default()
    };
    let t = service(repo_deciding_on(task(4)), 200)
        .update(&caller(), task(4).id, patch, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (t.version, t.updated_at, t.title.as_str()),
        (5, at(200), "Buy oat milk")
    );
}

#[tokio::test]
async fn update_that_changes_nothing_keeps_version_and_updated_at() {
    let t = service(repo_deciding_on(task(4)), 200)
        .update(&caller(), task(4).id, TaskPatch::default(), None)
        .await;
    assert!(matches!(t, Ok(t) if t.version == 4 && t.updated_at == at(100)));
}

#[tokio::test]
async fn updated_at_never_goes_backwards() {
    let current = Task {
        updated_at: at(1_000),
        ..task(1)
    };
    let patch = TaskPatch {
        is_done: Some(true),
        ..Default::default()
    };
    let t = service(repo_deciding_on(current), 200)
        .update(&caller(), task(1).id, patch, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.updated_at, at(1_000));
}

#[tokio::test]
async fn a_stale_version_condition_is_refused_under_the_lock_and_nothing_is_written() {
    let patch = TaskPatch {
        is_done: Some(true),
        ..Default::default()
    };
    let result = service(repo_deciding_on(task(3)), 200)
        .update(
            &caller(),
            task(3).id,
            patch,
            Some(VersionCondition::OneOf(vec![2])),
        )
        .await;
    assert!(matches!(result, Err(TaskError::VersionMismatch)));
    // A matching or wildcard condition lets the same update through.
    for condition in [VersionCondition::OneOf(vec![2, 3]), VersionCondition::Any] {
        let patch = TaskPatch {
            is_done: Some(true),
            ..Default::default()
        };
        let t = service(repo_deciding_on(task(3)), 200)
            .update(&caller(), task(3).id, patch, Some(condition))
            .await;
        assert!(matches!(t, Ok(t) if t.version == 4));
    }
}

#[tokio::test]
async fn a_stale_version_condition_on_delete_fails_without_deleting() {
    let repo = repo_deleting_with(task(3), editor());
    let result = service(repo, 200)
        .delete(
            &caller(),
            task(3).id,
            Some(VersionCondition::OneOf(vec![2])),
        )
        .await;
    assert!(matches!(result, Err(TaskError::VersionMismatch)));
}

#[tokio::test]
async fn update_of_a_task_the_caller_does_not_have_is_not_found() {
    let mut repo = MockTaskRepository::new();
    repo.expect_update_with()
        .withf(|owner, _, _| *owner == caller().user_id)
        .returning(|_, _, _| Ok(UpdateOutcome::NotFound));
    let result = service(repo, 200)
        .update(&caller(), task(1).id, TaskPatch::default(), None)
        .await;
    assert!(matches!(result, Err(TaskError::NotFound)));
}

#[tokio::test]
async fn delete_of_a_missing_task_is_not_found_and_storage_errors_pass_through() {
    let mut repo = MockTaskRepository::new();
    repo.expect_delete_with()
        .times(1)
        .returning(|_, _, _| Ok(DeleteOutcome::NotFound));
    repo.expect_list_for_member()
        .returning(|_, _, _| Err(StoreError::unavailable("down")));
    let svc = service(repo, 100);
    assert!(matches!(
        svc.delete(&caller(), task(1).id, None).await,
        Err(TaskError::NotFound)
    ));
    assert!(matches!(
        svc.list(&caller(), TaskListQuery::default()).await,
        Err(TaskError::Store(StoreError::Unavailable(_)))
    ));
}

fn tasks_numbered(n: u128) -> Vec<Task> {
    (1..=n)
        .map(|i| Task {
            id: TaskId::from_uuid(Uuid::from_u128(i)),
            created_at: at(i64::try_from(i).unwrap_or_default()),
            ..task(1)
        })
        .collect()
}

#[tokio::test]
async fn a_full_page_asks_for_one_more_and_points_after_its_last_item() {
    let mut repo = MockTaskRepository::new();
    repo.expect_list_for_member()
        .withf(|_, _, limit| *limit == 3)
        .returning(|_, _, limit| Ok(tasks_numbered(u128::from(limit))));
    let query = TaskListQuery {
        size: PageSize::new(2).unwrap_or_default(),
        ..Default::default()
    };
    let page = service(repo, 100)
        .list(&caller(), query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 2);
    let next = page.next.unwrap_or_else(|| panic!("a next page exists"));
    assert_eq!(next.id, page.items[1].id);
    assert_eq!(next.key, SortKey::Instant(at(2)));
    assert_eq!(next.sort, TaskSort::default());
}

#[tokio::test]
async fn the_last_page_has_no_next_cursor() {
    let mut repo = MockTaskRepository::new();
    repo.expect_list_for_member()
        .returning(|_, _, _| Ok(tasks_numbered(2)));
    let query = TaskListQuery {
        size: PageSize::new(2).unwrap_or_default(),
        ..Default::default()
    };
    let page = service(repo, 100)
        .list(&caller(), query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.items.len(), page.next), (2, None));
}

#[test]
fn cursors_carry_the_key_of_their_sort() {
    let t = Task {
        due_at: None,
        title: title("Ärger"),
        priority: Priority::High,
        ..task(1)
    };
    let by = |field, descending| TaskCursor::after(&t, TaskSort { field, descending }).key;
    assert_eq!(by(TaskSortField::DueAt, true), SortKey::NoDueDate);
    assert_eq!(
        by(TaskSortField::Title, false),
        SortKey::Title("ärger".into())
    );
    assert_eq!(by(TaskSortField::Priority, false), SortKey::Priority(2));
    assert_eq!(
        by(TaskSortField::UpdatedAt, false),
        SortKey::Instant(t.updated_at)
    );
    let forged = TaskCursor {
        sort: TaskSort::default(),
        key: SortKey::Priority(1),
        id: t.id,
    };
    assert!(!forged.is_consistent());
    assert!(TaskCursor::after(&t, TaskSort::default()).is_consistent());
}

#[tokio::test]
async fn a_conditional_delete_is_decided_on_the_locked_version() {
    let result = service(repo_deleting_with(task(3), editor()), 200)
        .delete(
            &caller(),
            task(3).id,
            Some(VersionCondition::OneOf(vec![1, 3])),
        )
        .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn viewers_may_neither_update_nor_delete_and_learn_it_before_the_version() {
    let viewer = TaskAccess {
        role: ListRole::Viewer,
        archived: false,
    };
    let patch = TaskPatch {
        title: Some(title("Mine now")),
        ..Default::default()
    };
    let stale = Some(VersionCondition::OneOf(vec![1]));
    let updated = service(repo_deciding_with(task(3), viewer), 200)
        .update(&caller(), task(3).id, patch, stale.clone())
        .await;
    assert!(
        matches!(
            updated,
            Err(TaskError::Forbidden {
                needs: ListRole::Editor
            })
        ),
        "{updated:?}"
    );
    let deleted = service(repo_deleting_with(task(3), viewer), 200)
        .delete(&caller(), task(3).id, stale)
        .await;
    assert!(
        matches!(
            deleted,
            Err(TaskError::Forbidden {
                needs: ListRole::Editor
            })
        ),
        "{deleted:?}"
    );
}

#[tokio::test]
async fn tasks_of_an_archived_list_can_be_neither_updated_nor_deleted() {
    let archived = TaskAccess {
        role: ListRole::Owner,
        archived: true,
    };
    let patch = TaskPatch {
        is_done: Some(true),
        ..Default::default()
    };
    let updated = service(repo_deciding_with(task(3), archived), 200)
        .update(&caller(), task(3).id, patch, None)
        .await;
    assert!(
        matches!(updated, Err(TaskError::ListArchived)),
        "{updated:?}"
    );
    let deleted = service(repo_deleting_with(task(3), archived), 200)
        .delete(&caller(), task(3).id, None)
        .await;
    assert!(
        matches!(deleted, Err(TaskError::ListArchived)),
        "{deleted:?}"
    );
}

#[tokio::test]
async fn a_new_task_goes_to_the_named_list_and_storage_refusals_are_told_apart() {
    let shared = ListId::from_uuid(Uuid::from_u128(7));
    let outcomes = [
        (TaskInsert::NoSuchList, "unknown"),
        (TaskInsert::Denied(AccessRefusal::ReadOnly), "forbidden"),
        (TaskInsert::Denied(AccessRefusal::Archived), "archived"),
    ];
    for (outcome, expected) in outcomes {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert()
            .times(1)
            .withf(move |t, _| t.list_id == shared)
            .returning(move |_, _| Ok(outcome.clone()));
        let draft = TaskDraft {
            list_id: Some(shared),
            ..TaskDraft::titled(title("Shared"))
        };
        let result = service(repo, 100).create(&caller(), draft, None).await;
        let got = match result {
            Err(TaskError::UnknownList) => "unknown",
            Err(TaskError::Forbidden {
                needs: ListRole::Editor,
            }) => "forbidden",
            Err(TaskError::ListArchived) => "archived",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn a_new_task_asks_for_its_parent_and_takes_the_position_storage_placed_it_at() {
    let parent = TaskId::from_uuid(Uuid::from_u128(42));
    let mut repo = MockTaskRepository::new();
    repo.expect_insert()
        .times(1)
        .withf(move |t, _| t.parent_id == Some(parent))
        .returning(|_, _| {
            Ok(TaskInsert::Inserted {
                position: "a1".into(),
            })
        });
    let draft = TaskDraft {
        parent_id: Some(parent),
        ..TaskDraft::titled(title("Sub"))
    };
    let created = service(repo, 100)
        .create(&caller(), draft, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.task.position, "a1");
    assert_eq!(created.task.parent_id, Some(parent));
}

#[tokio::test]
async fn a_misplaced_new_task_is_refused_with_the_placement_error() {
    for placement in [
        PlacementError::UnknownParent,
        PlacementError::Tree(TreeError::TooDeep { max: 4 }),
    ] {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert()
            .times(1)
            .returning(move |_, _| Ok(TaskInsert::Misplaced(placement)));
        let result = service(repo, 100)
            .create(&caller(), TaskDraft::titled(title("t")), None)
            .await;
        assert!(
            matches!(result, Err(TaskError::Placement(p)) if p == placement),
            "{result:?}"
        );
    }
}

fn key() -> IdempotencyKey {
    IdempotencyKey::parse("k-1").unwrap_or_else(|e| panic!("{e}"))
}

fn repeatable(fingerprint: &str) -> Option<IdempotentRequest> {
    Some(IdempotentRequest {
        key: key(),
        fingerprint: fingerprint.into(),
    })
}

#[tokio::test]
async fn the_first_request_with_a_key_creates_and_records_its_task() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert().never();
    repo.expect_insert_for_key()
        .times(1)
        .withf(|task, held, _| {
            task.title.as_str() == "Ship it"
                && held.key == key()
                && held.owner == task.created_by
                && held.reserved_at == task.created_at
        })
        .returning(|_, _, _| {
            Ok(TaskInsert::Inserted {
                position: "a0".into(),
            })
        });
    let mut keys = MockIdempotencyStore::new();
    keys.expect_reserve()
        .withf(|_, _, fp, now, expired, abandoned| {
            fp == "fp"
                && *expired == *now - chrono::Duration::hours(24)
                && *abandoned == *now - chrono::Duration::seconds(60)
        })
        .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
    keys.expect_release().never();
    let outcome = service_with(repo, keys, 500)
        .create(
            &caller(),
            TaskDraft::titled(title("Ship it")),
            repeatable("fp"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!outcome.replayed);
}

#[tokio::test]
async fn a_repeated_key_replays_rejects_or_waits_and_never_creates() {
    // What the first request created, since changed: a replay returns it as it was.
    let first = Task {
        title: title("First"),
        ..task(1)
    };
    for (found, expect) in [
        (
            Reservation::Taken {
                fingerprint: "fp".into(),
                created: Some(first.clone()),
            },
            "replay",
        ),
        (
            Reservation::Taken {
                fingerprint: "other".into(),
                created: Some(first.clone()),
            },
            "reused",
        ),
        (
            Reservation::Taken {
                fingerprint: "fp".into(),
                created: None,
            },
            "in progress",
        ),
    ] {
        let mut repo = MockTaskRepository::new();
        repo.expect_insert().never();
        repo.expect_insert_for_key().never();
        let mut keys = MockIdempotencyStore::new();
        keys.expect_reserve()
            .returning(move |_, _, _, _, _, _| Ok(found.clone()));
        let result = service_with(repo, keys, 500)
            .create(
                &caller(),
                TaskDraft::titled(title("Again")),
                repeatable("fp"),
            )
            .await;
        match (expect, result) {
            ("replay", Ok(outcome)) => assert!(outcome.replayed && outcome.task == first),
            ("reused", Err(TaskError::IdempotencyKeyReused)) => {}
            ("in progress", Err(TaskError::IdempotencyKeyInProgress)) => {}
            (expect, other) => panic!("{expect}: got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_failed_creation_releases_its_key() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert_for_key()
        .returning(|_, _, _| Err(StoreError::unavailable("down")));
    let mut keys = MockIdempotencyStore::new();
    keys.expect_reserve()
        .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
    keys.expect_release()
        .times(1)
        .withf(|held| held.key == key())
        .returning(|_| Ok(()));
    let result = service_with(repo, keys, 500)
        .create(
            &caller(),
            TaskDraft::titled(title("Doomed")),
            repeatable("fp"),
        )
        .await;
    assert!(matches!(
        result,
        Err(TaskError::Store(StoreError::Unavailable(_)))
    ));
}

#[tokio::test]
async fn a_request_whose_reservation_was_taken_over_stores_nothing_and_says_in_progress() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert().never();
    repo.expect_insert_for_key()
        .times(1)
        .returning(|_, _, _| Ok(TaskInsert::ReservationLost));
    let mut keys = MockIdempotencyStore::new();
    keys.expect_reserve()
        .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
    // Not ours to release any more: the retry that took it over decides.
    keys.expect_release().never();
    let result = service_with(repo, keys, 500)
        .create(
            &caller(),
            TaskDraft::titled(title("Too slow")),
            repeatable("fp"),
        )
        .await;
    assert!(matches!(result, Err(TaskError::IdempotencyKeyInProgress)));
}

#[test]
fn search_text_is_lower_cased_and_bounded() {
    assert_eq!(
        SearchText::parse("MILCH Ä").map(|q| q.as_str().to_owned()),
        Ok("milch ä".to_owned())
    );
    assert!(SearchText::parse("").is_err());
    assert!(SearchText::parse("a\u{0}").is_err());
    assert!(SearchText::parse(&"x".repeat(201)).is_err());
}

#[test]
fn keys_are_1_to_255_visible_ascii_characters() {
    assert!(IdempotencyKey::parse("a").is_ok());
    assert!(IdempotencyKey::parse("order-42_retry.1~!").is_ok());
    assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    for bad in ["", " ", "has space", "tab\t", "é", &"k".repeat(256)] {
        assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn a_create_past_the_task_quota_is_refused_and_the_limit_goes_to_storage() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert()
        .times(1)
        .withf(|_, max_tasks| *max_tasks == Some(3))
        .returning(|_, _| Ok(TaskInsert::QuotaExceeded));
    let result = service(repo, 100)
        .with_task_quota(3)
        .create(&caller(), TaskDraft::titled(title("One more")), None)
        .await;
    assert!(
        matches!(result, Err(TaskError::QuotaExceeded { limit: 3 })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_zero_task_quota_is_no_limit() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert()
        .times(1)
        .withf(|_, max_tasks| max_tasks.is_none())
        .returning(|_, _| {
            Ok(TaskInsert::Inserted {
                position: "a0".into(),
            })
        });
    let created = service(repo, 100)
        .with_task_quota(0)
        .create(&caller(), TaskDraft::titled(title("Fine")), None)
        .await;
    assert!(created.is_ok());
}

#[tokio::test]
async fn a_keyed_create_past_the_quota_releases_its_key_for_a_later_retry() {
    let mut repo = MockTaskRepository::new();
    repo.expect_insert().never();
    repo.expect_insert_for_key()
        .times(1)
        .withf(|_, _, max_tasks| *max_tasks == Some(1))
        .returning(|_, _, _| Ok(TaskInsert::QuotaExceeded));
    let mut keys = MockIdempotencyStore::new();
    keys.expect_reserve()
        .returning(|_, _, _, _, _, _| Ok(Reservation::Reserved));
    keys.expect_release()
        .times(1)
        .withf(|held| held.key == key())
        .returning(|_| Ok(()));
    let result = service_with(repo, keys, 500)
        .with_task_quota(1)
        .create(
            &caller(),
            TaskDraft::titled(title("Ship it")),
            Some(IdempotentRequest {
                key: key(),
                fingerprint: "fp".into(),
            }),
        )
        .await;
    assert!(
        matches!(result, Err(TaskError::QuotaExceeded { limit: 1 })),
        "{result:?}"
    );
}

fn token_caller(scopes: Scopes) -> Principal {
    Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes,
        },
        ..caller()
    }
}

fn draft() -> TaskDraft {
    TaskDraft::titled(title("Buy milk"))
}

#[tokio::test]
async fn every_task_use_case_refuses_an_api_token_without_its_scope_before_storage() {
    // The repository mock has no expectations: any call would panic.
    let s = service(MockTaskRepository::new(), 100);
    let id = TaskId::from_uuid(Uuid::from_u128(99));
    let missing = |scope| TaskError::Credential(CredentialError::MissingScope(scope));
    let write_only = token_caller(Scopes::of([Scope::TasksWrite, Scope::ListsRead]));
    let read_only = token_caller(Scopes::of([Scope::TasksRead, Scope::ListsWrite]));
    let is = |r: Result<(), TaskError>, scope| matches!(r, Err(e) if e.to_string() == missing(scope).to_string());
    assert!(is(s.get(&write_only, id).await.map(drop), Scope::TasksRead));
    assert!(is(
        s.list(&write_only, TaskListQuery::default())
            .await
            .map(drop),
        Scope::TasksRead
    ));
    assert!(is(
        s.create(&read_only, draft(), None).await.map(drop),
        Scope::TasksWrite
    ));
    assert!(is(
        s.update(&read_only, id, TaskPatch::default(), None)
            .await
            .map(drop),
        Scope::TasksWrite
    ));
    assert!(is(s.delete(&read_only, id, None).await, Scope::TasksWrite));
    assert!(is(
        s.move_task(&read_only, id, TaskMove::default(), None)
            .await
            .map(drop),
        Scope::TasksWrite
    ));
}

#[tokio::test]
async fn a_token_with_the_scope_reaches_the_use_case() {
    let mut repo = MockTaskRepository::new();
    repo.expect_find_for_member()
        .times(1)
        .returning(|_, _| Ok(Some(task(1))));
    repo.expect_delete_with()
        .times(1)
        .returning(|_, _, _| Ok(DeleteOutcome::Deleted));
    let s = service(repo, 100);
    let id = TaskId::from_uuid(Uuid::from_u128(99));
    let reader = token_caller(Scopes::of([Scope::TasksRead]));
    assert!(s.get(&reader, id).await.is_ok());
    // Deleting at a version needs no read scope.
    let writer = token_caller(Scopes::of([Scope::TasksWrite]));
    assert!(
        s.delete(&writer, id, Some(VersionCondition::Any))
            .await
            .is_ok()
    );
}

// --- moves -----------------------------------------------------------------------------------

fn pos(raw: &str) -> Position {
    Position::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn other_list() -> ListId {
    ListId::from_uuid(Uuid::from_u128(77))
}

fn tid(n: u128) -> TaskId {
    TaskId::from_uuid(Uuid::from_u128(n))
}

/// A task at `a5` of the inbox, under task 50, assigned to someone.
fn placed_task() -> Task {
    Task {
        parent_id: Some(tid(50)),
        position: "a5".into(),
        assignee_id: Some(UserId::from_uuid(Uuid::from_u128(3))),
        ..task(4)
    }
}

/// Facts of a valid move of [`placed_task`] to `target`, between `a1` and `a3`.
fn facts<'a>(task: &'a Task, target: MoveTarget) -> MoveFacts<'a> {
    MoveFacts {
        task,
        target,
        source: editor(),
        destination: editor(),
        ancestors: Some(vec![tid(50)]),
        subtree_height: 1,
        neighbours: Some((Some(pos("a1")), Some(pos("a3")))),
        assignee_stays: true,
    }
}

#[test]
fn a_move_resolves_omitted_fields_against_where_the_task_is() {
    let task = placed_task();
    let here = |place| MoveTarget {
        list_id: task.list_id,
        parent_id: task.parent_id,
        place,
    };
    // Nothing asked: it stays.
    assert_eq!(TaskMove::default().target(&task), here(Place::Stay));
    // Only a place: among the same siblings.
    let first = TaskMove {
        after_id: Some(None),
        ..TaskMove::default()
    };
    assert_eq!(first.target(&task), here(Place::First));
    let after = TaskMove {
        after_id: Some(Some(tid(7))),
        ..TaskMove::default()
    };
    assert_eq!(after.target(&task), here(Place::After(tid(7))));
    // A new parent without a place: last under it, in the same list.
    let under = TaskMove {
        parent_id: Some(Some(tid(60))),
        ..TaskMove::default()
    };
    assert_eq!(
        under.target(&task),
        MoveTarget {
            list_id: task.list_id,
            parent_id: Some(tid(60)),
            place: Place::Last,
        }
    );
    // To the top level of its list.
    let top = TaskMove {
        parent_id: Some(None),
        ..TaskMove::default()
    };
    assert_eq!(top.target(&task).parent_id, None);
    assert_eq!(top.target(&task).place, Place::Last);
    // Naming its own parent again is no change of parent: it stays.
    let same = TaskMove {
        parent_id: Some(task.parent_id),
        ..TaskMove::default()
    };
    assert_eq!(same.target(&task), here(Place::Stay));
    // Another list without a parent: the top level there (its parent stays behind), last.
    let away = TaskMove {
        list_id: Some(other_list()),
        ..TaskMove::default()
    };
    assert_eq!(
        away.target(&task),
        MoveTarget {
            list_id: other_list(),
            parent_id: None,
            place: Place::Last,
        }
    );
    // Its own list named: the same as omitted.
    let own = TaskMove {
        list_id: Some(task.list_id),
        ..TaskMove::default()
    };
    assert_eq!(own.target(&task), here(Place::Stay));
}

#[test]
fn a_move_writes_a_position_between_the_neighbours_and_never_moves_time_back() {
    let task = placed_task();
    let target = MoveTarget {
        list_id: task.list_id,
        parent_id: task.parent_id,
        place: Place::After(tid(7)),
    };
    match decide_move(&facts(&task, target), None, at(50)) {
        MoveDecision::Write {
            position,
            at: stamped,
            clear_assignee,
        } => {
            assert!(pos("a1") < position && position < pos("a3"), "{position:?}");
            assert_eq!(
                stamped, task.updated_at,
                "the clock went back: updated_at stays"
            );
            assert!(!clear_assignee);
        }
        other => panic!("{other:?}"),
    }
    match decide_move(
        &facts(&task, target),
        Some(VersionCondition::OneOf(vec![4])),
        at(500),
    ) {
        MoveDecision::Write { at: stamped, .. } => assert_eq!(stamped, at(500)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_move_to_where_the_task_already_is_changes_nothing() {
    let task = placed_task();
    let here = MoveTarget {
        list_id: task.list_id,
        parent_id: task.parent_id,
        place: Place::Stay,
    };
    assert_eq!(
        decide_move(&facts(&task, here), None, at(500)),
        MoveDecision::Keep
    );
    // Right after the sibling it already follows (a3 < a5 < a7).
    let after = MoveTarget {
        place: Place::After(tid(7)),
        ..here
    };
    let already = MoveFacts {
        neighbours: Some((Some(pos("a3")), Some(pos("a7")))),
        ..facts(&task, after)
    };
    assert_eq!(decide_move(&already, None, at(500)), MoveDecision::Keep);
    // First, and already before every sibling.
    let first = MoveFacts {
        neighbours: Some((None, Some(pos("a7")))),
        ..facts(
            &task,
            MoveTarget {
                place: Place::First,
                ..here
            },
        )
    };
    assert_eq!(decide_move(&first, None, at(500)), MoveDecision::Keep);
    // The same neighbours under another parent are a move all the same.
    let elsewhere = MoveFacts {
        neighbours: Some((Some(pos("a3")), Some(pos("a7")))),
        ..facts(
            &task,
            MoveTarget {
                parent_id: Some(tid(60)),
                place: Place::After(tid(8)),
                ..here
            },
        )
    };
    assert!(matches!(
        decide_move(&elsewhere, None, at(500)),
        MoveDecision::Write { .. }
    ));
}

#[test]
fn a_move_checks_access_then_version_then_the_target() {
    let task = placed_task();
    let target = MoveTarget {
        list_id: other_list(),
        parent_id: Some(tid(60)),
        place: Place::Last,
    };
    let viewer = TaskAccess {
        role: ListRole::Viewer,
        archived: false,
    };
    let archived = TaskAccess {
        role: ListRole::Owner,
        archived: true,
    };
    let stale = || Some(VersionCondition::OneOf(vec![3]));
    // A viewer of either list may not move, whatever else is wrong.
    for (source, destination) in [(viewer, editor()), (editor(), viewer)] {
        let f = MoveFacts {
            source,
            destination,
            ancestors: None,
            ..facts(&task, target)
        };
        assert_eq!(
            decide_move(&f, stale(), at(500)),
            MoveDecision::Deny(AccessRefusal::ReadOnly)
        );
    }
    let f = MoveFacts {
        destination: archived,
        ..facts(&task, target)
    };
    assert_eq!(
        decide_move(&f, None, at(500)),
        MoveDecision::Deny(AccessRefusal::Archived)
    );
    // Then the version.
    let f = MoveFacts {
        ancestors: None,
        ..facts(&task, target)
    };
    assert_eq!(decide_move(&f, stale(), at(500)), MoveDecision::Refuse);
    // Then the parent, the tree and the sibling.
    assert_eq!(
        decide_move(&f, None, at(500)),
        MoveDecision::Invalid(PlacementError::UnknownParent)
    );
    let cycle = MoveFacts {
        ancestors: Some(vec![tid(60), task.id, tid(50)]),
        ..facts(&task, target)
    };
    assert_eq!(
        decide_move(&cycle, None, at(500)),
        MoveDecision::Invalid(PlacementError::Tree(TreeError::Cycle))
    );
    // Under a task at depth 2, a task with two levels of subtasks would reach depth 5.
    let deep = MoveFacts {
        ancestors: Some(vec![tid(60), tid(61)]),
        subtree_height: 3,
        ..facts(&task, target)
    };
    assert_eq!(
        decide_move(&deep, None, at(500)),
        MoveDecision::Invalid(PlacementError::Tree(TreeError::TooDeep { max: 4 }))
    );
    let fits = MoveFacts {
        subtree_height: 2,
        ..deep.clone()
    };
    assert!(matches!(
        decide_move(&fits, None, at(500)),
        MoveDecision::Write { .. }
    ));
    let no_sibling = MoveFacts {
        neighbours: None,
        ..facts(
            &task,
            MoveTarget {
                place: Place::After(tid(8)),
                ..target
            },
        )
    };
    assert_eq!(
        decide_move(&no_sibling, None, at(500)),
        MoveDecision::Invalid(PlacementError::UnknownSibling)
    );
}

#[test]
fn a_move_to_a_list_the_assignee_is_not_in_clears_the_assignee() {
    let task = placed_task();
    let target = MoveTarget {
        list_id: other_list(),
        parent_id: None,
        place: Place::Last,
    };
    let f = MoveFacts {
        ancestors: Some(Vec::new()),
        neighbours: Some((Some(pos("a9")), None)),
        assignee_stays: false,
        ..facts(&task, target)
    };
    match decide_move(&f, None, at(500)) {
        MoveDecision::Write {
            position,
            clear_assignee,
            ..
        } => {
            assert!(clear_assignee);
            assert!(position > pos("a9"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_new_task_goes_last_and_no_deeper_than_four_levels() {
    let task = TaskId::from_uuid(Uuid::now_v7());
    let first = place_new_task(0, None, task);
    assert_eq!(
        first,
        Position::append_unique(None, task).map_err(Into::into)
    );
    assert!(matches!(&first, Ok(p) if p.as_str().starts_with(Position::first().as_str())));
    let after = place_new_task(3, Some(&pos("b12")), task);
    assert!(matches!(&after, Ok(p) if *p > pos("b12")), "{after:?}");
    // Two tasks created at once after the same sibling never share a position.
    assert_ne!(
        after,
        place_new_task(3, Some(&pos("b12")), TaskId::from_uuid(Uuid::now_v7()))
    );
    // After a key the migration gave an existing task.
    let legacy = pos("z0190a1b2c3d4e5f60718293a4b5c6d7e1");
    assert!(matches!(place_new_task(0, Some(&legacy), task), Ok(p) if p > legacy));
    assert_eq!(
        place_new_task(4, None, task),
        Err(PlacementError::Tree(TreeError::TooDeep { max: 4 }))
    );
}

#[tokio::test]
async fn move_outcomes_become_the_errors_the_api_maps() {
    let outcomes = [
        (MoveOutcome::NotFound, "not found"),
        (MoveOutcome::UnknownList, "unknown list"),
        (MoveOutcome::Refused, "version"),
        (MoveOutcome::Denied(AccessRefusal::ReadOnly), "forbidden"),
        (MoveOutcome::Denied(AccessRefusal::Archived), "archived"),
        (
            MoveOutcome::Invalid(PlacementError::UnknownSibling),
            "placement",
        ),
        (MoveOutcome::Moved(placed_task()), "ok"),
        (MoveOutcome::Unchanged(placed_task()), "ok"),
    ];
    for (outcome, expected) in outcomes {
        let mut repo = MockTaskRepository::new();
        repo.expect_move_with()
            .times(1)
            .withf(|_, id, request, _| *id == tid(99) && request.after_id == Some(None))
            .returning(move |_, _, _, _| Ok(outcome.clone()));
        let request = TaskMove {
            after_id: Some(None),
            ..TaskMove::default()
        };
        let result = service(repo, 100)
            .move_task(&caller(), tid(99), request, None)
            .await;
        let got = match result {
            Ok(_) => "ok",
            Err(TaskError::NotFound) => "not found",
            Err(TaskError::UnknownList) => "unknown list",
            Err(TaskError::VersionMismatch) => "version",
            Err(TaskError::Forbidden {
                needs: ListRole::Editor,
            }) => "forbidden",
            Err(TaskError::ListArchived) => "archived",
            Err(TaskError::Placement(PlacementError::UnknownSibling)) => "placement",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn the_move_decision_storage_is_given_is_the_domains() {
    // Storage hands the facts to the decision it was given: a viewer is refused there.
    let mut repo = MockTaskRepository::new();
    repo.expect_move_with()
        .times(1)
        .returning(|_, _, _, decide| {
            let task = placed_task();
            let f = MoveFacts {
                source: TaskAccess {
                    role: ListRole::Viewer,
                    archived: false,
                },
                ..facts(
                    &task,
                    MoveTarget {
                        list_id: task.list_id,
                        parent_id: None,
                        place: Place::First,
                    },
                )
            };
            Ok(match decide(&f) {
                MoveDecision::Deny(refusal) => MoveOutcome::Denied(refusal),
                other => panic!("{other:?}"),
            })
        });
    let result = service(repo, 100)
        .move_task(&caller(), tid(99), TaskMove::default(), None)
        .await;
    assert!(
        matches!(
            result,
            Err(TaskError::Forbidden {
                needs: ListRole::Editor
            })
        ),
        "{result:?}"
    );
}
