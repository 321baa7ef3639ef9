//! Administration: listing, inspecting, changing and deleting accounts, and the
//! `AdminService` use cases. Only administrators may call them; the last enabled
//! administrator cannot be demoted, disabled or deleted.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::accounts::{Email, Principal, Role, User};
use crate::error::AdminError;
use crate::ids::UserId;
use crate::listing::{Page, TaskListQuery};
use crate::ports::{
    AccountChange, AccountDeletion, AccountUpdate, Clock, TaskRepository, UserRepository,
};
use crate::sessions::SessionCache;
use crate::tasks::Task;

/// What an account list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSortField {
    /// Registration time (the default).
    #[default]
    CreatedAt,
    /// Email address.
    Email,
}

/// An account list's order: a field and a direction; ties are broken by id, same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserSort {
    /// The field.
    pub field: UserSortField,
    /// Largest first?
    pub descending: bool,
}

/// The sort-field value of the last account of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSortKey {
    /// Its `created_at`.
    CreatedAt(DateTime<Utc>),
    /// Its email.
    Email(String),
}

/// Where the next page starts: just after this (key, id) in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCursor {
    /// The last account's sort key.
    pub key: UserSortKey,
    /// The last account's id.
    pub id: UserId,
}

impl UserCursor {
    /// The cursor pointing just after `user` in a list sorted by `field`.
    pub fn after(user: &User, field: UserSortField) -> Self {
        let key = match field {
            UserSortField::CreatedAt => UserSortKey::CreatedAt(user.created_at),
            UserSortField::Email => UserSortKey::Email(user.email.as_str().to_owned()),
        };
        Self { key, id: user.id }
    }
}

/// A validated request for one page of accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListQuery {
    /// Only emails containing this (lower-case) text.
    pub email_contains: Option<String>,
    /// Only accounts with this role.
    pub role: Option<Role>,
    /// Only disabled (true) or enabled (false) accounts.
    pub disabled: Option<bool>,
    /// The order.
    pub sort: UserSort,
    /// Page size, 1–[`UserListQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Start after this position; the first page when `None`. Its key matches `sort.field`.
    pub after: Option<UserCursor>,
}

impl UserListQuery {
    /// The page size when none is asked for.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page.
    pub const MAX_LIMIT: u32 = 100;
}

impl Default for UserListQuery {
    fn default() -> Self {
        Self {
            email_contains: None,
            role: None,
            disabled: None,
            sort: UserSort::default(),
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// One page of accounts and where the next one starts, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The accounts, in order.
    pub items: Vec<User>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<UserCursor>,
}

/// The administration use cases. Every method but the command-line ones checks that the
/// caller is an administrator.
#[derive(Clone)]
pub struct AdminService {
    users: Arc<dyn UserRepository>,
    tasks: Arc<dyn TaskRepository>,
    cache: Arc<SessionCache>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AdminService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminService").finish_non_exhaustive()
    }
}

fn require_admin(caller: &Principal) -> Result<(), AdminError> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

impl AdminService {
    /// Builds the service; `cache` is the one the account service checks sessions with.
    pub fn new(
        users: Arc<dyn UserRepository>,
        tasks: Arc<dyn TaskRepository>,
        cache: Arc<SessionCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            tasks,
            cache,
            clock,
        }
    }

    /// One page of accounts.
    ///
    /// # Errors
    /// `Forbidden` for non-admins; `Store`.
    pub async fn list_users(
        &self,
        caller: &Principal,
        query: UserListQuery,
    ) -> Result<UserPage, AdminError> {
        require_admin(caller)?;
        let limit =
            usize::try_from(query.limit.clamp(1, UserListQuery::MAX_LIMIT)).unwrap_or(usize::MAX);
        let field = query.sort.field;
        let mut items = self.users.list(query).await?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|u| UserCursor::after(u, field))
        } else {
            None
        };
        Ok(UserPage { items, next })
    }

    /// One account.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound`; `Store`.
    pub async fn get_user(&self, caller: &Principal, id: UserId) -> Result<User, AdminError> {
        require_admin(caller)?;
        self.users.find_by_id(id).await?.ok_or(AdminError::NotFound)
    }

    /// Changes an account's role or enabled state. A real change ends every session of the
    /// account; a change to what already is changes nothing.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound`; `LastAdmin` when it would leave no enabled administrator.
    pub async fn update_user(
        &self,
        caller: &Principal,
        id: UserId,
        change: AccountChange,
    ) -> Result<User, AdminError> {
        let current = self.get_user(caller, id).await?;
        let change = AccountChange {
            role: change.role.filter(|r| *r != current.role),
            disabled: change.disabled.filter(|d| *d != current.disabled),
        };
        if change.is_empty() {
            return Ok(current);
        }
        let outcome = self
            .users
            .update_account(id, change, self.clock.now())
            .await?;
        match outcome {
            AccountUpdate::Updated(user) => {
                self.cache.invalidate_user(id);
                Ok(user)
            }
            AccountUpdate::NotFound => Err(AdminError::NotFound),
            AccountUpdate::LastAdmin => Err(AdminError::LastAdmin),
        }
    }

    /// Deletes an account with its tasks and sessions.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound`; `LastAdmin`.
    pub async fn delete_user(&self, caller: &Principal, id: UserId) -> Result<(), AdminError> {
        require_admin(caller)?;
        match self.users.delete(id).await? {
            AccountDeletion::Deleted => {
                self.cache.invalidate_user(id);
                Ok(())
            }
            AccountDeletion::NotFound => Err(AdminError::NotFound),
            AccountDeletion::LastAdmin => Err(AdminError::LastAdmin),
        }
    }

    /// One page of one account's tasks, with the filters, sort orders and cursors of the
    /// owner's own listing.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound` when there is no such account.
    pub async fn list_user_tasks(
        &self,
        caller: &Principal,
        id: UserId,
        query: TaskListQuery,
    ) -> Result<Page<Task>, AdminError> {
        self.get_user(caller, id).await?;
        Ok(crate::tasks::page_of(&*self.tasks, id, query).await?)
    }

    /// Makes an existing account an administrator (the `taskapi admin promote` command,
    /// run by whoever operates the database: no caller to check).
    ///
    /// # Errors
    /// `NotFound` when no account has this email.
    pub async fn promote(&self, email: &Email) -> Result<User, AdminError> {
        let user = self
            .users
            .find_by_email(email.as_str())
            .await?
            .ok_or(AdminError::NotFound)?;
        if user.role == Role::Admin {
            return Ok(user);
        }
        let change = AccountChange {
            role: Some(Role::Admin),
            disabled: None,
        };
        match self
            .users
            .update_account(user.id, change, self.clock.now())
            .await?
        {
            AccountUpdate::Updated(user) => {
                self.cache.invalidate_user(user.id);
                Ok(user)
            }
            AccountUpdate::NotFound => Err(AdminError::NotFound),
            AccountUpdate::LastAdmin => Err(AdminError::LastAdmin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::PasswordHash;
    use crate::ports::{MockClock, MockTaskRepository, MockUserRepository};
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
            assert_eq!(q.limit, 2);
            Ok((1..=3).map(|n| account(n, Role::User)).collect())
        });
        let s = service(users, MockTaskRepository::new());
        let query = UserListQuery {
            limit: 2,
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
        };
        let sid = crate::ids::SessionId::from_uuid(Uuid::from_u128(77));
        cache.put(sid, target, at(499), cache.generation());
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
    }

    #[tokio::test]
    async fn tasks_of_an_unknown_user_are_not_found_and_of_a_known_one_listed() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(|id| Ok((id == uid(3)).then(|| account(3, Role::User))));
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_list_for_owner()
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
}
