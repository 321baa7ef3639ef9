use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::*;

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

fn token_caller(scopes: Scopes) -> Principal {
    Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes,
        },
        ..caller()
    }
}

fn pos(raw: &str) -> Position {
    Position::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

const PARENT: u128 = 7;

fn task(version: i64) -> Task {
    Task {
        id: TaskId::from_uuid(Uuid::from_u128(99)),
        list_id: ListId::inbox_of(caller().user_id),
        parent_id: Some(TaskId::from_uuid(Uuid::from_u128(PARENT))),
        position: pos("a5").as_str().to_owned(),
        created_by: caller().user_id,
        assignee_id: None,
        title: TaskTitle::parse("Buy milk").unwrap_or_else(|e| panic!("{e}")),
        description: Description::empty(),
        is_done: false,
        completed_at: None,
        priority: Priority::Medium,
        due_at: None,
        tags: Tags::default(),
        created_at: at(100),
        updated_at: at(200),
        version,
    }
}

fn editor() -> TaskAccess {
    TaskAccess {
        role: ListRole::Editor,
        archived: false,
    }
}

/// A trashed subtask (two levels: it has subtasks) whose parent is a live top-level task.
fn site() -> RestoreSite {
    RestoreSite {
        task: task(3),
        trashed_at: at(300),
        access: editor(),
        subtree_height: 2,
        parent_depth: Some(1),
        clash: None,
        last_top_level: Some(pos("a9")),
    }
}

fn service(repo: MockTrashRepository, now: i64) -> TrashService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at(now));
    TrashService::new(Arc::new(repo), Arc::new(clock))
}

/// A repository whose one restore answers what `decide` makes of `site`, echoing the
/// decision back as the restored task.
fn restoring(site: RestoreSite) -> MockTrashRepository {
    let mut repo = MockTrashRepository::new();
    repo.expect_restore_with()
        .times(1)
        .returning(move |_, _, decide| {
            Ok(match decide(&site) {
                RestoreDecision::Restore {
                    parent,
                    position,
                    at,
                } => {
                    let mut task = site.task.clone();
                    task.parent_id = parent;
                    task.position = position.as_str().to_owned();
                    task.updated_at = at;
                    task.version += 1;
                    RestoreOutcome::Restored(task)
                }
                RestoreDecision::Refuse => RestoreOutcome::Refused,
                RestoreDecision::Deny(refusal) => RestoreOutcome::Denied(refusal),
                RestoreDecision::NoRoom => RestoreOutcome::NoRoom,
                RestoreDecision::Expired => RestoreOutcome::NotFound,
            })
        });
    repo
}

fn id() -> TaskId {
    TaskId::from_uuid(Uuid::from_u128(99))
}

#[test]
fn a_task_goes_back_under_its_live_parent_at_its_own_position() {
    let placed = place_restored(&site());
    assert_eq!(
        placed,
        Ok((Some(TaskId::from_uuid(Uuid::from_u128(PARENT))), pos("a5")))
    );
}

#[test]
fn a_top_level_task_stays_at_the_top_level_at_its_own_position() {
    let mut site = site();
    site.task.parent_id = None;
    site.parent_depth = Some(0);
    site.subtree_height = 4;
    assert_eq!(place_restored(&site), Ok((None, pos("a5"))));
}

#[test]
fn a_sibling_holding_its_position_gets_it_placed_right_after_that_sibling() {
    let mut site = site();
    site.clash = Some(SiblingClash {
        holder: pos("a5"),
        next: Some(pos("a6")),
    });
    let (parent, position) = place_restored(&site).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parent, site.task.parent_id);
    assert!(pos("a5") < position && position < pos("a6"), "{position}");

    site.clash = Some(SiblingClash {
        holder: pos("a5"),
        next: None,
    });
    let (_, position) = place_restored(&site).unwrap_or_else(|e| panic!("{e}"));
    assert!(pos("a5") < position, "{position}");
}

#[test]
fn a_task_whose_parent_is_trashed_or_gone_goes_last_at_the_top_level() {
    let mut site = site();
    site.parent_depth = None;
    // A clash under the old parent is beside the point then.
    site.clash = Some(SiblingClash {
        holder: pos("a5"),
        next: None,
    });
    let (parent, position) = place_restored(&site).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parent, None);
    assert!(pos("a9") < position, "{position}");

    site.last_top_level = None;
    assert_eq!(place_restored(&site), Ok((None, Position::first())));
}

#[test]
fn a_subtree_that_no_longer_fits_under_its_parent_goes_to_the_top_level() {
    let mut site = site();
    // The parent was moved three levels deep meanwhile: two more levels would make five.
    site.parent_depth = Some(3);
    let (parent, position) = place_restored(&site).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parent, None);
    assert!(pos("a9") < position, "{position}");
    // One level still fits at depth 4.
    site.subtree_height = 1;
    assert_eq!(
        place_restored(&site).map(|(p, _)| p),
        Ok(site.task.parent_id)
    );
}

#[tokio::test]
async fn a_restore_bumps_the_version_and_never_moves_updated_at_backwards() {
    let restored = service(restoring(site()), 500)
        .restore(&caller(), id(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((restored.version, restored.updated_at), (4, at(500)));
    // An instance whose clock lags keeps the task's own updated_at.
    let restored = service(restoring(site()), 150)
        .restore(&caller(), id(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored.updated_at, at(200));
}

#[tokio::test]
async fn viewers_may_not_restore_nor_anyone_into_an_archived_list() {
    let mut viewing = site();
    viewing.access.role = ListRole::Viewer;
    // A viewer learns that first, even of an archived list.
    viewing.access.archived = true;
    let err = service(restoring(viewing), 500)
        .restore(&caller(), id(), None)
        .await;
    assert!(
        matches!(
            err,
            Err(TaskError::Forbidden {
                needs: ListRole::Editor
            })
        ),
        "{err:?}"
    );
    let mut archived = site();
    archived.access.archived = true;
    let err = service(restoring(archived), 500)
        .restore(&caller(), id(), None)
        .await;
    assert!(matches!(err, Err(TaskError::ListArchived)), "{err:?}");
    let mut owner = site();
    owner.access.role = ListRole::Owner;
    assert!(
        service(restoring(owner), 500)
            .restore(&caller(), id(), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_restore_honours_its_version_condition() {
    let err = service(restoring(site()), 500)
        .restore(&caller(), id(), Some(VersionCondition::OneOf(vec![2])))
        .await;
    assert!(matches!(err, Err(TaskError::VersionMismatch)), "{err:?}");
    assert!(
        service(restoring(site()), 500)
            .restore(&caller(), id(), Some(VersionCondition::OneOf(vec![3])))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_task_trashed_longer_than_the_retention_ago_is_no_longer_restorable() {
    // Trashed at 300; with a retention of 100 s it may be restored until 400.
    let within = service(restoring(site()), 400)
        .with_retention(std::time::Duration::from_secs(100))
        .restore(&caller(), id(), None)
        .await;
    assert!(within.is_ok(), "{within:?}");
    let past = service(restoring(site()), 401)
        .with_retention(std::time::Duration::from_secs(100))
        .restore(&caller(), id(), None)
        .await;
    assert!(matches!(past, Err(TaskError::NotFound)), "{past:?}");
}

#[tokio::test]
async fn a_restore_of_a_task_not_in_the_callers_trash_is_not_found() {
    let mut repo = MockTrashRepository::new();
    repo.expect_restore_with()
        .returning(|_, _, _| Ok(RestoreOutcome::NotFound));
    let err = service(repo, 500).restore(&caller(), id(), None).await;
    assert!(matches!(err, Err(TaskError::NotFound)), "{err:?}");
}

/// A repository whose one purge answers what `decide` makes of the task with `access`.
fn purging(access: TaskAccess) -> MockTrashRepository {
    let mut repo = MockTrashRepository::new();
    repo.expect_purge_with()
        .times(1)
        .returning(move |_, _, decide| {
            Ok(match decide(&task(3), access) {
                PurgeDecision::Purge => PurgeOutcome::Purged,
                PurgeDecision::Refuse => PurgeOutcome::Refused,
                PurgeDecision::Deny(refusal) => PurgeOutcome::Denied(refusal),
            })
        });
    repo
}

#[tokio::test]
async fn editors_and_owners_purge_viewers_may_not_nor_anyone_in_an_archived_list() {
    for role in [ListRole::Editor, ListRole::Owner] {
        let access = TaskAccess {
            role,
            archived: false,
        };
        let purged = service(purging(access), 500)
            .purge(&caller(), id(), None)
            .await;
        assert!(purged.is_ok(), "{role:?}: {purged:?}");
    }
    let viewer = TaskAccess {
        role: ListRole::Viewer,
        archived: false,
    };
    let err = service(purging(viewer), 500)
        .purge(&caller(), id(), None)
        .await;
    assert!(matches!(err, Err(TaskError::Forbidden { .. })), "{err:?}");
    let archived = TaskAccess {
        archived: true,
        ..editor()
    };
    let err = service(purging(archived), 500)
        .purge(&caller(), id(), None)
        .await;
    assert!(matches!(err, Err(TaskError::ListArchived)), "{err:?}");
    let err = service(purging(editor()), 500)
        .purge(&caller(), id(), Some(VersionCondition::OneOf(vec![1])))
        .await;
    assert!(matches!(err, Err(TaskError::VersionMismatch)), "{err:?}");
}

#[tokio::test]
async fn a_page_of_the_trash_points_after_its_last_item_when_more_follow() {
    let mut repo = MockTrashRepository::new();
    repo.expect_list_for_member()
        .withf(|member, query, limit| {
            *member == caller().user_id && query.after.is_none() && *limit == 3
        })
        .returning(|_, _, _| {
            Ok((0..3)
                .map(|i| TrashedTask {
                    task: Task {
                        id: TaskId::from_uuid(Uuid::from_u128(50 - i)),
                        ..task(1)
                    },
                    trashed_at: at(1_000 - i64::try_from(i).unwrap_or(0)),
                    trashed_by: Some(caller().user_id),
                })
                .collect())
        });
    let query = TrashQuery {
        size: PageSize::new(2).unwrap_or_default(),
        ..TrashQuery::default()
    };
    let page = service(repo, 500)
        .list(&caller(), query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(TrashCursor {
            trashed_at: at(999),
            id: TaskId::from_uuid(Uuid::from_u128(49)),
        })
    );
}

#[tokio::test]
async fn every_trash_use_case_refuses_an_api_token_without_its_scope_before_storage() {
    // The repository mock has no expectations: any call would panic.
    let s = service(MockTrashRepository::new(), 100);
    let write_only = token_caller(Scopes::of([Scope::TasksWrite, Scope::ListsRead]));
    let read_only = token_caller(Scopes::of([Scope::TasksRead, Scope::ListsWrite]));
    let missing = |r: Result<(), TaskError>, scope| matches!(r, Err(TaskError::Credential(CredentialError::MissingScope(s))) if s == scope);
    assert!(missing(
        s.list(&write_only, TrashQuery::default()).await.map(drop),
        Scope::TasksRead
    ));
    assert!(missing(
        s.restore(&read_only, id(), None).await.map(drop),
        Scope::TasksWrite
    ));
    assert!(missing(
        s.purge(&read_only, id(), None).await,
        Scope::TasksWrite
    ));
}
