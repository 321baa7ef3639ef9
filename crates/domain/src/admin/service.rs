//! Administration: listing, inspecting, changing and deleting accounts, and the
//! `AdminService` use cases. Only administrators may call them; the last enabled
//! administrator cannot be demoted, disabled or deleted.

use std::fmt;
use std::sync::Arc;

use crate::{
    AccountChange, AccountDeletion, AccountUpdate, AdminError, Clock, Email, Page, Principal, Role,
    SessionCache, TaskListQuery, TaskPage, TaskRepository, User, UserCursor, UserId, UserListQuery,
    UserPage, UserRepository,
};

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

/// Administration is for administrators, and only with a session: an administrator's API
/// token is refused whatever its scopes.
fn require_admin(caller: &Principal) -> Result<(), AdminError> {
    caller.require_session()?;
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
        let (size, field) = (query.size, query.sort.field);
        let fetched = self.users.list(query).await?;
        Ok(Page::from_fetched(fetched, size, |last| {
            UserCursor::after(last, field)
        }))
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
    ) -> Result<TaskPage, AdminError> {
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
