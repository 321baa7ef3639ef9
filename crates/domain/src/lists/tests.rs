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

fn name(s: &str) -> ListName {
    ListName::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn list(role: ListRole, version: i64) -> List {
    List {
        id: ListId::from_uuid(Uuid::from_u128(7)),
        name: name("Groceries"),
        is_inbox: false,
        archived: false,
        role,
        member_count: 2,
        created_at: at(100),
        updated_at: at(100),
        version,
    }
}

fn inbox() -> List {
    List {
        id: ListId::inbox_of(caller().user_id),
        name: ListName::inbox(),
        is_inbox: true,
        member_count: 1,
        ..list(ListRole::Owner, 1)
    }
}

fn service(repo: MockListRepository, now: i64) -> ListService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at(now));
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| Uuid::from_u128(42));
    ListService::new(Arc::new(repo), Arc::new(clock), Arc::new(ids))
}

/// A repository whose `update_with` and `delete_with` run the domain's decisions on
/// `current`, as an adapter does under its locks.
fn repo_deciding_on(current: List) -> MockListRepository {
    let mut repo = MockListRepository::new();
    let for_delete = current.clone();
    repo.expect_update_with().returning(move |_, _, decide| {
        Ok(match decide(&current) {
            ListUpdateDecision::Write(changes, now) => ListUpdateOutcome::Updated(List {
                name: changes.name,
                archived: changes.archived,
                updated_at: now,
                version: current.version + 1,
                ..current.clone()
            }),
            ListUpdateDecision::Keep => ListUpdateOutcome::Unchanged(current.clone()),
            ListUpdateDecision::Refuse(refusal) => ListUpdateOutcome::Refused(refusal),
        })
    });
    repo.expect_delete_with().returning(move |_, _, decide| {
        Ok(match decide(&for_delete) {
            ListDeleteDecision::Delete => ListDeleteOutcome::Deleted,
            ListDeleteDecision::Refuse(refusal) => ListDeleteOutcome::Refused(refusal),
        })
    });
    repo
}

#[test]
fn names_are_trimmed_and_bounded_in_code_points() {
    assert_eq!(name("  Groceries \n").as_str(), "Groceries");
    assert!(ListName::parse("  ").is_err());
    assert!(ListName::parse(&"é".repeat(100)).is_ok());
    assert!(ListName::parse(&"é".repeat(101)).is_err());
    assert!(ListName::parse("a\u{202E}b").is_err());
    assert!(ListName::parse("a\u{0}b").is_err());
}

#[test]
fn roles_parse_by_name_and_each_allows_what_the_roles_below_it_allow() {
    for role in [ListRole::Viewer, ListRole::Editor, ListRole::Owner] {
        assert_eq!(ListRole::parse(role.as_str()), Ok(role));
    }
    assert!(ListRole::parse("Owner").is_err());
    assert!(ListRole::parse("admin").is_err());
    assert!(ListRole::Viewer < ListRole::Editor && ListRole::Editor < ListRole::Owner);
    let allowed = |r: ListRole| (r.may_write_tasks(), r.may_rename(), r.may_manage());
    assert_eq!(allowed(ListRole::Viewer), (false, false, false));
    assert_eq!(allowed(ListRole::Editor), (true, true, false));
    assert_eq!(allowed(ListRole::Owner), (true, true, true));
}

#[test]
fn task_writes_need_an_editor_of_an_active_list() {
    let access = |role, archived| TaskAccess { role, archived }.check_write();
    assert_eq!(
        access(ListRole::Viewer, false),
        Err(AccessRefusal::ReadOnly)
    );
    // A viewer learns first that they may not write at all.
    assert_eq!(access(ListRole::Viewer, true), Err(AccessRefusal::ReadOnly));
    assert_eq!(access(ListRole::Editor, true), Err(AccessRefusal::Archived));
    assert_eq!(access(ListRole::Owner, true), Err(AccessRefusal::Archived));
    assert_eq!(access(ListRole::Editor, false), Ok(()));
    assert_eq!(access(ListRole::Owner, false), Ok(()));
}

#[tokio::test]
async fn create_makes_the_caller_owner_of_a_new_list_at_version_1() {
    let mut repo = MockListRepository::new();
    repo.expect_insert()
        .times(1)
        .withf(|l, max| l.owner == caller().user_id && l.name.as_str() == "Trip" && *max == Some(3))
        .returning(|_, _| Ok(ListInsert::Inserted));
    let created = service(repo, 100)
        .with_list_quota(3)
        .create(&caller(), name("Trip"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            created.role,
            created.version,
            created.is_inbox,
            created.archived,
            created.member_count
        ),
        (ListRole::Owner, 1, false, false, 1)
    );
    assert_eq!((created.created_at, created.updated_at), (at(100), at(100)));
    assert_eq!(created.id, ListId::from_uuid(Uuid::from_u128(42)));
}

#[tokio::test]
async fn creation_past_the_quota_is_refused_and_zero_means_no_limit() {
    let mut repo = MockListRepository::new();
    repo.expect_insert()
        .times(1)
        .returning(|_, _| Ok(ListInsert::QuotaExceeded));
    let refused = service(repo, 100)
        .with_list_quota(2)
        .create(&caller(), name("One more"))
        .await;
    assert!(matches!(
        refused,
        Err(ListError::QuotaExceeded { limit: 2 })
    ));

    let mut repo = MockListRepository::new();
    repo.expect_insert()
        .withf(|_, max| max.is_none())
        .returning(|_, _| Ok(ListInsert::Inserted));
    assert!(
        service(repo, 100)
            .with_list_quota(0)
            .create(&caller(), name("Unlimited"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_list_the_caller_is_not_a_member_of_is_not_found() {
    let mut repo = MockListRepository::new();
    repo.expect_find_for_member()
        .withf(|member, _| *member == caller().user_id)
        .returning(|_, _| Ok(None));
    let result = service(repo, 100)
        .get(&caller(), ListId::from_uuid(Uuid::from_u128(9)))
        .await;
    assert!(matches!(result, Err(ListError::NotFound)));

    let mut repo = MockListRepository::new();
    repo.expect_update_with()
        .returning(|_, _, _| Ok(ListUpdateOutcome::NotFound));
    repo.expect_delete_with()
        .returning(|_, _, _| Ok(ListDeleteOutcome::NotFound));
    let svc = service(repo, 100);
    let id = ListId::from_uuid(Uuid::from_u128(9));
    assert!(matches!(
        svc.update(&caller(), id, ListPatch::default(), None).await,
        Err(ListError::NotFound)
    ));
    assert!(matches!(
        svc.delete(&caller(), id, None).await,
        Err(ListError::NotFound)
    ));
}

#[tokio::test]
async fn editors_rename_and_only_owners_archive() {
    let rename = ListPatch {
        name: Some(name("Food")),
        ..Default::default()
    };
    let archive = ListPatch {
        archived: Some(true),
        ..Default::default()
    };
    let svc = service(repo_deciding_on(list(ListRole::Viewer, 1)), 200);
    let viewer_renames = svc
        .update(
            &caller(),
            list(ListRole::Viewer, 1).id,
            rename.clone(),
            None,
        )
        .await;
    assert!(matches!(
        viewer_renames,
        Err(ListError::Forbidden {
            needs: ListRole::Editor
        })
    ));

    let svc = service(repo_deciding_on(list(ListRole::Editor, 1)), 200);
    let renamed = svc
        .update(
            &caller(),
            list(ListRole::Editor, 1).id,
            rename.clone(),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((renamed.name.as_str(), renamed.version), ("Food", 2));
    assert_eq!(renamed.updated_at, at(200));
    let editor_archives = svc
        .update(
            &caller(),
            list(ListRole::Editor, 1).id,
            archive.clone(),
            None,
        )
        .await;
    assert!(matches!(
        editor_archives,
        Err(ListError::Forbidden {
            needs: ListRole::Owner
        })
    ));

    let svc = service(repo_deciding_on(list(ListRole::Owner, 1)), 200);
    let archived = svc
        .update(&caller(), list(ListRole::Owner, 1).id, archive, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(archived.archived);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version_and_a_stale_one_is_refused() {
    let svc = service(repo_deciding_on(list(ListRole::Owner, 3)), 200);
    let same = ListPatch {
        name: Some(name("Groceries")),
        archived: Some(false),
    };
    let kept = svc
        .update(&caller(), list(ListRole::Owner, 3).id, same.clone(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((kept.version, kept.updated_at), (3, at(100)));
    let stale = svc
        .update(
            &caller(),
            list(ListRole::Owner, 3).id,
            same,
            Some(VersionCondition::OneOf(vec![2])),
        )
        .await;
    assert!(matches!(stale, Err(ListError::VersionMismatch)));
}

#[tokio::test]
async fn the_inbox_cannot_be_renamed_archived_or_deleted() {
    let svc = service(repo_deciding_on(inbox()), 200);
    for patch in [
        ListPatch {
            name: Some(name("Mine")),
            ..Default::default()
        },
        ListPatch {
            archived: Some(true),
            ..Default::default()
        },
    ] {
        let result = svc.update(&caller(), inbox().id, patch, None).await;
        assert!(matches!(result, Err(ListError::Inbox)), "{result:?}");
    }
    // An empty patch of the inbox is no change, hence no refusal.
    assert!(
        svc.update(&caller(), inbox().id, ListPatch::default(), None)
            .await
            .is_ok()
    );
    let deleted = svc.delete(&caller(), inbox().id, None).await;
    assert!(matches!(deleted, Err(ListError::Inbox)), "{deleted:?}");
}

#[tokio::test]
async fn only_owners_delete_and_a_stale_version_is_refused() {
    for role in [ListRole::Viewer, ListRole::Editor] {
        let svc = service(repo_deciding_on(list(role, 1)), 200);
        let result = svc.delete(&caller(), list(role, 1).id, None).await;
        assert!(
            matches!(
                result,
                Err(ListError::Forbidden {
                    needs: ListRole::Owner
                })
            ),
            "{result:?}"
        );
    }
    let svc = service(repo_deciding_on(list(ListRole::Owner, 4)), 200);
    let stale = svc
        .delete(
            &caller(),
            list(ListRole::Owner, 4).id,
            Some(VersionCondition::OneOf(vec![3])),
        )
        .await;
    assert!(matches!(stale, Err(ListError::VersionMismatch)));
    assert!(
        svc.delete(
            &caller(),
            list(ListRole::Owner, 4).id,
            Some(VersionCondition::OneOf(vec![4]))
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn listing_asks_one_more_than_the_page_and_points_after_the_last_shown() {
    let mut repo = MockListRepository::new();
    repo.expect_list_for_member()
        .withf(|member, _, limit| *member == caller().user_id && *limit == 3)
        .returning(|_, _, _| {
            Ok((1..=3)
                .map(|n| List {
                    id: ListId::from_uuid(Uuid::from_u128(n)),
                    created_at: at(i64::try_from(n).unwrap_or(0)),
                    ..list(ListRole::Viewer, 1)
                })
                .collect())
        });
    let query = ListListQuery {
        size: PageSize::new(2).unwrap_or_default(),
        ..Default::default()
    };
    let page = service(repo, 100)
        .list(&caller(), query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 2);
    let next = page.next.unwrap_or_else(|| panic!("a next page"));
    assert_eq!(next.id, ListId::from_uuid(Uuid::from_u128(2)));
    assert_eq!(next.key, ListSortKey::Instant(at(2)));
    assert!(next.is_consistent());
}

fn member(n: u128, role: ListRole) -> Member {
    Member {
        user_id: UserId::from_uuid(Uuid::from_u128(n)),
        email: Email::parse(&format!("m{n}@example.com")).unwrap_or_else(|e| panic!("{e}")),
        role,
        added_at: at(100),
    }
}

fn change(caller_role: ListRole, target: Member, owners: i64) -> MembershipChange {
    MembershipChange {
        list: list(caller_role, 1),
        caller: caller().user_id,
        target,
        owners,
    }
}

#[test]
fn only_owners_change_roles_and_the_last_owner_cannot_be_demoted() {
    let editor = member(2, ListRole::Editor);
    assert_eq!(
        change(ListRole::Owner, editor.clone(), 1).decide_role(ListRole::Owner),
        MemberDecision::SetRole(ListRole::Owner)
    );
    assert_eq!(
        change(ListRole::Editor, editor, 1).decide_role(ListRole::Viewer),
        MemberDecision::Refuse(MemberRefusal::List(ListRefusal::Forbidden(ListRole::Owner)))
    );
    let only_owner = member(1, ListRole::Owner);
    assert_eq!(
        change(ListRole::Owner, only_owner.clone(), 1).decide_role(ListRole::Editor),
        MemberDecision::Refuse(MemberRefusal::LastOwner)
    );
    assert_eq!(
        change(ListRole::Owner, only_owner.clone(), 2).decide_role(ListRole::Editor),
        MemberDecision::SetRole(ListRole::Editor)
    );
    // Confirming the last owner as owner changes nothing and is allowed.
    assert_eq!(
        change(ListRole::Owner, only_owner, 1).decide_role(ListRole::Owner),
        MemberDecision::SetRole(ListRole::Owner)
    );
}

#[test]
fn members_leave_owners_remove_and_the_last_owner_stays() {
    let me_as_viewer = Member {
        user_id: caller().user_id,
        ..member(1, ListRole::Viewer)
    };
    assert_eq!(
        change(ListRole::Viewer, me_as_viewer, 1).decide_removal(),
        MemberDecision::Remove,
        "anyone may leave"
    );
    assert_eq!(
        change(ListRole::Editor, member(3, ListRole::Viewer), 1).decide_removal(),
        MemberDecision::Refuse(MemberRefusal::List(ListRefusal::Forbidden(ListRole::Owner)))
    );
    assert_eq!(
        change(ListRole::Owner, member(3, ListRole::Editor), 1).decide_removal(),
        MemberDecision::Remove
    );
    let me_as_only_owner = Member {
        user_id: caller().user_id,
        ..member(1, ListRole::Owner)
    };
    assert_eq!(
        change(ListRole::Owner, me_as_only_owner.clone(), 1).decide_removal(),
        MemberDecision::Refuse(MemberRefusal::LastOwner)
    );
    assert_eq!(
        change(ListRole::Owner, me_as_only_owner, 2).decide_removal(),
        MemberDecision::Remove
    );
}

#[test]
fn only_owners_manage_invitations_and_never_of_an_inbox() {
    assert_eq!(may_manage_invitations(&list(ListRole::Owner, 1)), Ok(()));
    assert_eq!(
        may_manage_invitations(&list(ListRole::Editor, 1)),
        Err(ListRefusal::Forbidden(ListRole::Owner))
    );
    assert_eq!(may_manage_invitations(&inbox()), Err(ListRefusal::Inbox));
}

#[test]
fn an_invitation_needs_a_free_seat_of_the_list() {
    let owned = list(ListRole::Owner, 3);
    assert_eq!(may_invite(&owned, 4, Some(5)), Ok(()));
    assert_eq!(
        may_invite(&owned, 5, Some(5)),
        Err(ListRefusal::Full { limit: 5 })
    );
    assert_eq!(may_invite(&owned, 5_000, None), Ok(()));
    // The role and the inbox rule come first.
    assert_eq!(
        may_invite(&list(ListRole::Editor, 3), 9, Some(5)),
        Err(ListRefusal::Forbidden(ListRole::Owner))
    );
    assert_eq!(may_invite(&inbox(), 9, Some(5)), Err(ListRefusal::Inbox));
}

#[tokio::test]
async fn the_member_cap_reaches_the_invitation_decision() {
    let mut repo = MockListRepository::new();
    repo.expect_invite().times(1).returning(|_, _, decide| {
        Ok(match decide(&list(ListRole::Owner, 2), 2) {
            Ok(()) => panic!("a full list took an invitation"),
            Err(refusal) => InvitationsOutcome::Refused(refusal),
        })
    });
    let svc = service(repo, 100).with_member_cap(2);
    let email = Email::parse("friend@example.com").unwrap_or_else(|e| panic!("{e}"));
    let refused = svc
        .invite(
            &caller(),
            list(ListRole::Owner, 2).id,
            email,
            ListRole::Viewer,
        )
        .await;
    assert!(
        matches!(refused, Err(ListError::Full { limit: 2 })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_invitation_expires_after_its_ttl_and_storage_refusals_become_errors() {
    let mut repo = MockListRepository::new();
    repo.expect_invite()
        .times(1)
        .withf(|caller_id, inv, _| {
            *caller_id == caller().user_id
                && inv.expires_at == at(100) + chrono::Duration::hours(2)
                && inv.role == ListRole::Editor
        })
        .returning(|_, inv, decide| {
            Ok(match decide(&list(ListRole::Owner, 1), 1) {
                Ok(()) => InvitationsOutcome::Done(Invitation {
                    id: inv.id,
                    list_id: inv.list_id,
                    list_name: name("Groceries"),
                    email: inv.email,
                    role: inv.role,
                    invited_by: Some(inv.invited_by),
                    created_at: inv.created_at,
                    expires_at: inv.expires_at,
                }),
                Err(refusal) => InvitationsOutcome::Refused(refusal),
            })
        });
    repo.expect_accept().returning(|_, _, _| Ok(None));
    let svc = service(repo, 100).with_invitation_ttl(std::time::Duration::from_secs(7200));
    let email = Email::parse("friend@example.com").unwrap_or_else(|e| panic!("{e}"));
    let invited = svc
        .invite(
            &caller(),
            list(ListRole::Owner, 1).id,
            email,
            ListRole::Editor,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(invited.expires_at, at(7300));
    let accepted = svc
        .accept(&caller(), InvitationId::from_uuid(Uuid::from_u128(5)))
        .await;
    assert!(matches!(accepted, Err(ListError::InvitationNotFound)));
}

#[tokio::test]
async fn an_api_token_reaches_lists_only_with_their_scopes() {
    let token = |scopes| Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes,
        },
        ..caller()
    };
    // The repository mock has no expectations: any call would panic.
    let lists = ListService::new(
        Arc::new(MockListRepository::new()),
        Arc::new(MockClock::new()),
        Arc::new(MockIdGenerator::new()),
    );
    let tasks_only = token(Scopes::of([Scope::TasksRead, Scope::TasksWrite]));
    let missing = |r: Result<(), ListError>, scope| matches!(r, Err(ListError::Credential(CredentialError::MissingScope(s))) if s == scope);
    let id = ListId::from_uuid(Uuid::from_u128(7));
    assert!(missing(
        lists.get(&tasks_only, id).await.map(drop),
        Scope::ListsRead
    ));
    assert!(missing(
        lists.members(&tasks_only, id).await.map(drop),
        Scope::ListsRead
    ));
    assert!(missing(
        lists.my_invitations(&tasks_only).await.map(drop),
        Scope::ListsRead
    ));
    let read_only = token(Scopes::of([Scope::ListsRead]));
    assert!(missing(
        lists.create(&read_only, name("Groceries")).await.map(drop),
        Scope::ListsWrite
    ));
    assert!(missing(
        lists.delete(&read_only, id, None).await.map(drop),
        Scope::ListsWrite
    ));
}
