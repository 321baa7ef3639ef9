use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::*;
use std::time::Duration;
use uuid::Uuid;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn uid(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

fn admin() -> Principal {
    Principal {
        user_id: uid(1),
        role: Role::Admin,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    }
}

fn account(n: u128, role: Role) -> User {
    User {
        id: uid(n),
        email: Email::from_trusted(format!("user{n}@example.com")),
        password_hash: PasswordHash::new("h".into()),
        role,
        disabled: false,
        created_at: at(i64::try_from(n).unwrap_or_default()),
        email_verified: false,
        session_epoch: 0,
    }
}

fn service(users: MockUserRepository, tasks: MockTaskRepository) -> AdminService {
    service_with_cache(users, tasks, Arc::new(SessionCache::disabled()))
}

fn service_with_cache(
    users: MockUserRepository,
    tasks: MockTaskRepository,
    cache: Arc<SessionCache>,
) -> AdminService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(500));
    AdminService::new(Arc::new(users), Arc::new(tasks), cache, Arc::new(clock))
}

#[tokio::test]
async fn non_admins_are_forbidden_everything_without_touching_storage() {
    let caller = Principal {
        user_id: uid(2),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    };
    let s = service(MockUserRepository::new(), MockTaskRepository::new());
    assert!(matches!(
        s.list_users(&caller, UserListQuery::default()).await,
        Err(AdminError::Forbidden)
    ));
    assert!(matches!(
        s.get_user(&caller, uid(3)).await,
        Err(AdminError::Forbidden)
    ));
    assert!(matches!(
        s.update_user(&caller, uid(3), AccountChange::default())
            .await,
        Err(AdminError::Forbidden)
    ));
    assert!(matches!(
        s.delete_user(&caller, uid(3)).await,
        Err(AdminError::Forbidden)
    ));
    assert!(matches!(
        s.list_user_tasks(&caller, uid(3), TaskListQuery::default())
            .await,
        Err(AdminError::Forbidden)
    ));
}

#[tokio::test]
async fn a_full_page_points_to_the_next_one_and_the_last_page_does_not() {
    let mut users = MockUserRepository::new();
    users.expect_list().returning(|q| {
        assert_eq!(q.size.get(), 2);
        Ok((1..=3).map(|n| account(n, Role::User)).collect())
    });
    let s = service(users, MockTaskRepository::new());
    let query = UserListQuery {
        size: PageSize::new(2).unwrap_or_default(),
        sort: UserSort {
            field: UserSortField::Email,
            descending: false,
        },
        ..UserListQuery::default()
    };
    let page = s
        .list_users(&admin(), query)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(UserCursor {
            key: UserSortKey::Email("user2@example.com".into()),
            id: uid(2)
        })
    );

    let mut users = MockUserRepository::new();
    users
        .expect_list()
        .returning(|_| Ok(vec![account(1, Role::User)]));
    let s = service(users, MockTaskRepository::new());
    let page = s
        .list_users(&admin(), UserListQuery::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.items.len(), page.next), (1, None));
}

#[tokio::test]
async fn the_last_admin_rule_is_the_storages_answer_and_becomes_a_conflict() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|id| Ok(Some(account(id.as_uuid().as_u128(), Role::Admin))));
    users
        .expect_update_account()
        .times(1)
        .returning(|_, _, _| Ok(AccountUpdate::LastAdmin));
    users
        .expect_delete()
        .times(1)
        .returning(|_| Ok(AccountDeletion::LastAdmin));
    let s = service(users, MockTaskRepository::new());
    let demote = AccountChange {
        role: Some(Role::User),
        disabled: None,
    };
    assert!(matches!(
        s.update_user(&admin(), uid(1), demote).await,
        Err(AdminError::LastAdmin)
    ));
    assert!(matches!(
        s.delete_user(&admin(), uid(1)).await,
        Err(AdminError::LastAdmin)
    ));
}

#[tokio::test]
async fn a_change_to_what_already_is_changes_nothing_and_ends_no_session() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(account(3, Role::User))));
    users.expect_update_account().never();
    let s = service(users, MockTaskRepository::new());
    let same = AccountChange {
        role: Some(Role::User),
        disabled: Some(false),
    };
    let user = s.update_user(&admin(), uid(3), same).await;
    assert!(matches!(user, Ok(u) if u.id == uid(3)));
}

#[tokio::test]
async fn a_real_change_is_applied_once_and_forgets_the_accounts_cached_sessions() {
    let cache = Arc::new(SessionCache::new(Duration::from_secs(60), 10));
    let target = Principal {
        user_id: uid(3),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    };
    let sid = SessionId::from_uuid(Uuid::from_u128(77));
    let second = SessionId::from_uuid(Uuid::from_u128(78));
    let bystander = Principal {
        user_id: uid(4),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    };
    let theirs = SessionId::from_uuid(Uuid::from_u128(79));
    cache.put(sid, target, at(499), cache.generation());
    cache.put(second, target, at(499), cache.generation());
    cache.put(theirs, bystander, at(499), cache.generation());
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|_| Ok(Some(account(3, Role::User))));
    users
        .expect_update_account()
        .times(1)
        .withf(|id, change, now| {
            *id == uid(3)
                && change.role.is_none()
                && change.disabled == Some(true)
                && *now == at(500)
        })
        .returning(|_, _, _| {
            Ok(AccountUpdate::Updated(User {
                disabled: true,
                email_verified: false,
                session_epoch: 1,
                ..account(3, Role::User)
            }))
        });
    let s = service_with_cache(users, MockTaskRepository::new(), cache.clone());
    let disable = AccountChange {
        role: Some(Role::User),
        disabled: Some(true),
    };
    let user = s.update_user(&admin(), uid(3), disable).await;
    assert!(matches!(user, Ok(u) if u.disabled));
    assert_eq!(cache.get(sid, uid(3), at(500)), None);
    assert_eq!(cache.get(second, uid(3), at(500)), None);
    assert_eq!(
        cache.get(theirs, uid(4), at(500)),
        Some(bystander),
        "only the disabled account's sessions are forgotten"
    );
}

#[tokio::test]
async fn tasks_of_an_unknown_user_are_not_found_and_of_a_known_one_listed() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(|id| Ok((id == uid(3)).then(|| account(3, Role::User))));
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_list_for_member()
        .times(1)
        .withf(|owner, _, limit| *owner == uid(3) && *limit == 51)
        .returning(|_, _, _| Ok(Vec::new()));
    let s = service(users, tasks);
    assert!(matches!(
        s.list_user_tasks(&admin(), uid(4), TaskListQuery::default())
            .await,
        Err(AdminError::NotFound)
    ));
    assert!(matches!(
        s.list_user_tasks(&admin(), uid(3), TaskListQuery::default()).await,
        Ok(page) if page.items.is_empty() && page.next.is_none()
    ));
}

#[tokio::test]
async fn promote_makes_an_existing_account_admin_and_refuses_unknown_emails() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .returning(|e| Ok((e == "user3@example.com").then(|| account(3, Role::User))));
    users
        .expect_update_account()
        .times(1)
        .withf(|_, c, _| c.role == Some(Role::Admin))
        .returning(|_, _, _| Ok(AccountUpdate::Updated(account(3, Role::Admin))));
    let s = service(users, MockTaskRepository::new());
    let known = Email::from_trusted("user3@example.com".into());
    assert!(matches!(s.promote(&known).await, Ok(u) if u.role == Role::Admin));
    let unknown = Email::from_trusted("ghost@example.com".into());
    assert!(matches!(
        s.promote(&unknown).await,
        Err(AdminError::NotFound)
    ));
}

#[tokio::test]
async fn an_administrators_api_token_is_refused_administration_whatever_its_scopes() {
    let token = Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes: Scopes::of(Scope::ALL),
        },
        ..admin()
    };
    let s = service(MockUserRepository::new(), MockTaskRepository::new());
    assert!(matches!(
        s.get_user(&token, uid(3)).await,
        Err(AdminError::Credential(CredentialError::SessionRequired))
    ));
    assert!(matches!(
        s.list_users(&token, UserListQuery::default()).await,
        Err(AdminError::Credential(_))
    ));
    assert!(matches!(
        s.delete_user(&token, uid(3)).await,
        Err(AdminError::Credential(_))
    ));
    assert!(matches!(
        s.update_user(&token, uid(3), AccountChange::default())
            .await,
        Err(AdminError::Credential(_))
    ));
}
