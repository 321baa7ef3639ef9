//! Rows as diesel reads and writes them, and their conversions to and from domain types.
//!
//! Rows hold data that was validated before it was stored, so reading rebuilds domain values
//! through their trusted constructors; anything that still does not fit (corrupt data) is
//! `StoreError::Internal`, never a panic.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::{
    ApiToken, ApiTokenHash, ApiTokenId, ApiTokenName, Description, Email, List, ListId, ListName,
    ListRole, MailId, NewAccountToken, NewRefreshToken, NewUser, OutgoingMail, PasswordHash,
    Priority, QueuedMail, Role, Scopes, Session, SessionId, StoreError, Tags, Task, TaskChanges,
    TaskId, TaskTitle, User, UserId,
};

use crate::schema::{
    account_tokens, api_tokens, list_invitations, list_members, lists, outbound_mail,
    refresh_tokens, sessions, task_tags, tasks, users,
};
use crate::sql_types::{SqlTimestamp, SqlUuid};

/// Column value of a user id.
pub(crate) fn user_key(id: UserId) -> SqlUuid {
    SqlUuid(id.as_uuid())
}

/// Column value of a session id.
pub(crate) fn session_key(id: SessionId) -> SqlUuid {
    SqlUuid(id.as_uuid())
}

/// Column value of a task id.
pub(crate) fn task_key(id: TaskId) -> SqlUuid {
    SqlUuid(id.as_uuid())
}

/// Column value of a list id.
pub(crate) fn list_key(id: ListId) -> SqlUuid {
    SqlUuid(id.as_uuid())
}

/// Column value of an instant.
pub(crate) fn stamp(at: DateTime<Utc>) -> SqlTimestamp {
    SqlTimestamp(at)
}

/// What `q` searches: title and description, lower-cased, joined by U+0001 (a control
/// character neither may contain, so no match can span the two).
pub(crate) fn search_key(title: &TaskTitle, description: &Description) -> String {
    format!(
        "{}\u{1}{}",
        title.sort_key(),
        description.as_str().to_lowercase()
    )
}

/// A `users` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: SqlUuid,
    pub(crate) email: String,
    pub(crate) password_hash: String,
    pub(crate) role: String,
    pub(crate) disabled: bool,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) updated_at: SqlTimestamp,
    pub(crate) session_epoch: i64,
    pub(crate) email_verified: bool,
}

impl UserRow {
    /// The row of a new account (enabled; `updated_at` = `created_at`).
    pub(crate) fn from_new(user: &NewUser) -> Result<Self, StoreError> {
        Ok(Self {
            id: user_key(user.id),
            email: user.email.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            disabled: false,
            created_at: stamp(user.created_at),
            updated_at: stamp(user.created_at),
            session_epoch: 0,
            email_verified: user.email_verified,
        })
    }

    /// The account this row stores.
    pub(crate) fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from_uuid(self.id.0),
            email: Email::from_trusted(self.email),
            password_hash: PasswordHash::new(self.password_hash),
            role: Role::parse(&self.role).map_err(|e| {
                StoreError::internal(format!(
                    "user {}: stored role {:?} {e}",
                    self.id.0, self.role
                ))
            })?,
            disabled: self.disabled,
            created_at: self.created_at.0,
            email_verified: self.email_verified,
            session_epoch: self.session_epoch,
        })
    }
}

/// A `sessions` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub(crate) id: SqlUuid,
    pub(crate) user_id: SqlUuid,
    pub(crate) epoch: i64,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) expires_at: SqlTimestamp,
    pub(crate) revoked_at: Option<SqlTimestamp>,
    pub(crate) password_login_at: Option<SqlTimestamp>,
    pub(crate) last_used_at: Option<SqlTimestamp>,
    pub(crate) user_agent: Option<String>,
    pub(crate) address: Option<String>,
}

impl SessionRow {
    /// The row of a session.
    pub(crate) fn from_domain(session: &Session) -> Self {
        Self {
            id: session_key(session.id),
            user_id: user_key(session.user_id),
            epoch: session.epoch,
            created_at: stamp(session.created_at),
            expires_at: stamp(session.expires_at),
            revoked_at: session.revoked_at.map(stamp),
            password_login_at: session.password_login_at.map(stamp),
            last_used_at: session.last_used_at.map(stamp),
            user_agent: session.user_agent.clone(),
            address: session.address.clone(),
        }
    }

    /// The session this row stores.
    pub(crate) fn into_domain(self) -> Session {
        Session {
            id: SessionId::from_uuid(self.id.0),
            user_id: UserId::from_uuid(self.user_id.0),
            epoch: self.epoch,
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
            revoked_at: self.revoked_at.map(|t| t.0),
            password_login_at: self.password_login_at.map(|t| t.0),
            last_used_at: self.last_used_at.map(|t| t.0),
            user_agent: self.user_agent,
            address: self.address,
        }
    }
}

/// A `refresh_tokens` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct RefreshTokenRow {
    pub(crate) token_hash: String,
    pub(crate) session_id: SqlUuid,
    pub(crate) issued_at: SqlTimestamp,
    pub(crate) expires_at: SqlTimestamp,
    pub(crate) used_at: Option<SqlTimestamp>,
    pub(crate) successor_hash: Option<String>,
    pub(crate) successor_sealed: Option<String>,
}

impl RefreshTokenRow {
    /// The row of a new, unused token of `session`.
    pub(crate) fn new(session: SqlUuid, token: &NewRefreshToken) -> Self {
        Self {
            token_hash: token.hash.as_str().to_owned(),
            session_id: session,
            issued_at: stamp(token.issued_at),
            expires_at: stamp(token.expires_at),
            used_at: None,
            successor_hash: None,
            successor_sealed: None,
        }
    }
}

/// An `api_tokens` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub(crate) struct ApiTokenRow {
    pub(crate) id: SqlUuid,
    pub(crate) user_id: SqlUuid,
    pub(crate) name: String,
    pub(crate) scopes: String,
    pub(crate) prefix: String,
    pub(crate) token_hash: String,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) expires_at: Option<SqlTimestamp>,
    pub(crate) last_used_at: Option<SqlTimestamp>,
}

impl ApiTokenRow {
    /// The row of a new token with the hash of its secret.
    pub(crate) fn new(token: &ApiToken, hash: &ApiTokenHash) -> Self {
        Self {
            id: SqlUuid(token.id.as_uuid()),
            user_id: user_key(token.user_id),
            name: token.name.as_str().to_owned(),
            scopes: token.scopes.to_stored(),
            prefix: token.prefix.clone(),
            token_hash: hash.as_str().to_owned(),
            created_at: stamp(token.created_at),
            expires_at: token.expires_at.map(stamp),
            last_used_at: token.last_used_at.map(stamp),
        }
    }

    /// The token this row stores, and the hash of its secret.
    pub(crate) fn into_domain(self) -> Result<(ApiToken, ApiTokenHash), StoreError> {
        let scopes = Scopes::from_stored(&self.scopes).map_err(|e| {
            StoreError::internal(format!(
                "API token {}: stored scopes {:?}: {e}",
                self.id.0, self.scopes
            ))
        })?;
        Ok((
            ApiToken {
                id: ApiTokenId::from_uuid(self.id.0),
                user_id: UserId::from_uuid(self.user_id.0),
                name: ApiTokenName::from_trusted(self.name),
                scopes,
                prefix: self.prefix,
                created_at: self.created_at.0,
                expires_at: self.expires_at.map(|t| t.0),
                last_used_at: self.last_used_at.map(|t| t.0),
            },
            ApiTokenHash::new(self.token_hash),
        ))
    }
}

/// An `account_tokens` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_tokens)]
pub(crate) struct AccountTokenRow {
    pub(crate) token_hash: String,
    pub(crate) user_id: SqlUuid,
    pub(crate) purpose: String,
    pub(crate) email: String,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) expires_at: SqlTimestamp,
    pub(crate) used_at: Option<SqlTimestamp>,
}

impl AccountTokenRow {
    /// The row of a new, unused token.
    pub(crate) fn from_new(token: &NewAccountToken) -> Self {
        Self {
            token_hash: token.hash.as_str().to_owned(),
            user_id: user_key(token.user_id),
            purpose: token.purpose.as_str().to_owned(),
            email: token.email.as_str().to_owned(),
            created_at: stamp(token.created_at),
            expires_at: stamp(token.expires_at),
            used_at: None,
        }
    }
}

/// An `outbound_mail` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbound_mail)]
pub(crate) struct OutboundMailRow {
    pub(crate) id: SqlUuid,
    pub(crate) recipient: String,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: SqlTimestamp,
    pub(crate) claim: Option<SqlUuid>,
    pub(crate) finished_at: Option<SqlTimestamp>,
}

impl OutboundMailRow {
    /// The row of a message queued at `now`, due at once.
    pub(crate) fn queued(id: uuid::Uuid, mail: &OutgoingMail, now: DateTime<Utc>) -> Self {
        Self {
            id: SqlUuid(id),
            recipient: mail.to.as_str().to_owned(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
            created_at: stamp(now),
            attempts: 0,
            next_attempt_at: stamp(now),
            claim: None,
            finished_at: None,
        }
    }

    /// The message as its claimer sees it.
    pub(crate) fn into_claimed(self) -> Result<QueuedMail, StoreError> {
        let claim = self.claim.ok_or_else(|| {
            StoreError::internal(format!("mail {}: claimed without a claim", self.id.0))
        })?;
        Ok(QueuedMail {
            id: MailId::from_uuid(self.id.0),
            claim: claim.0,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            mail: OutgoingMail {
                to: Email::from_trusted(self.recipient),
                subject: self.subject,
                body: self.body,
            },
        })
    }
}

/// A `tasks` row (tags live in `task_tags`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskRow {
    pub(crate) id: SqlUuid,
    pub(crate) created_by: SqlUuid,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) is_done: bool,
    pub(crate) completed_at: Option<SqlTimestamp>,
    pub(crate) priority: i16,
    pub(crate) due_at: Option<SqlTimestamp>,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) updated_at: SqlTimestamp,
    pub(crate) version: i64,
    pub(crate) title_key: String,
    pub(crate) search_key: String,
    pub(crate) list_id: SqlUuid,
    pub(crate) parent_id: Option<SqlUuid>,
    pub(crate) position: String,
    pub(crate) assignee_id: Option<SqlUuid>,
    pub(crate) trashed_at: Option<SqlTimestamp>,
    pub(crate) trashed_by: Option<SqlUuid>,
}

impl TaskRow {
    /// The row of a task.
    pub(crate) fn from_domain(task: &Task) -> Result<Self, StoreError> {
        Ok(Self {
            id: task_key(task.id),
            created_by: user_key(task.created_by),
            title: task.title.as_str().to_owned(),
            description: task.description.as_str().to_owned(),
            is_done: task.is_done,
            completed_at: task.completed_at.map(stamp),
            priority: task.priority.rank(),
            due_at: task.due_at.map(stamp),
            created_at: stamp(task.created_at),
            updated_at: stamp(task.updated_at),
            version: task.version,
            title_key: task.title.sort_key(),
            search_key: search_key(&task.title, &task.description),
            list_id: list_key(task.list_id),
            parent_id: task.parent_id.map(task_key),
            position: task.position.clone(),
            assignee_id: task.assignee_id.map(user_key),
            // A task is stored live; only a delete trashes it.
            trashed_at: None,
            trashed_by: None,
        })
    }

    /// The task this row stores, with its tags in order.
    pub(crate) fn into_domain(self, tags: Vec<String>) -> Result<Task, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::internal(format!("task {}: stored {what} is invalid: {e}", self.id.0))
        };
        Ok(Task {
            id: TaskId::from_uuid(self.id.0),
            list_id: ListId::from_uuid(self.list_id.0),
            parent_id: self.parent_id.map(|p| TaskId::from_uuid(p.0)),
            position: self.position.clone(),
            created_by: UserId::from_uuid(self.created_by.0),
            assignee_id: self.assignee_id.map(|a| UserId::from_uuid(a.0)),
            title: TaskTitle::parse(&self.title).map_err(|e| corrupt("title", &e))?,
            description: Description::parse(self.description.clone())
                .map_err(|e| corrupt("description", &e))?,
            is_done: self.is_done,
            completed_at: self.completed_at.map(|t| t.0),
            priority: Priority::from_rank(self.priority).map_err(|e| corrupt("priority", &e))?,
            due_at: self.due_at.map(|t| t.0),
            tags: Tags::from_trusted(tags),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

/// The writable columns of `tasks`, as set by an update (`None` writes NULL).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
pub(crate) struct TaskChangesRow {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) is_done: bool,
    pub(crate) completed_at: Option<SqlTimestamp>,
    pub(crate) priority: i16,
    pub(crate) due_at: Option<SqlTimestamp>,
    pub(crate) updated_at: SqlTimestamp,
    pub(crate) title_key: String,
    pub(crate) search_key: String,
    pub(crate) assignee_id: Option<SqlUuid>,
}

impl TaskChangesRow {
    /// The columns an update writes (`version` is bumped by the statement itself).
    pub(crate) fn from_domain(
        changes: &TaskChanges,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            title: changes.title.as_str().to_owned(),
            description: changes.description.as_str().to_owned(),
            is_done: changes.is_done,
            completed_at: changes.completed_at.map(stamp),
            priority: changes.priority.rank(),
            due_at: changes.due_at.map(stamp),
            updated_at: stamp(now),
            title_key: changes.title.sort_key(),
            search_key: search_key(&changes.title, &changes.description),
            assignee_id: changes.assignee_id.map(user_key),
        })
    }
}

/// A `lists` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lists)]
pub(crate) struct ListRow {
    pub(crate) id: SqlUuid,
    pub(crate) name: String,
    pub(crate) name_key: String,
    pub(crate) inbox_of: Option<SqlUuid>,
    pub(crate) archived: bool,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) updated_at: SqlTimestamp,
    pub(crate) version: i64,
}

impl ListRow {
    /// The row of a new list (not an inbox), at version 1.
    pub(crate) fn new(id: ListId, name: &ListName, at: DateTime<Utc>) -> Self {
        Self {
            id: list_key(id),
            name: name.as_str().to_owned(),
            name_key: name.sort_key(),
            inbox_of: None,
            archived: false,
            created_at: stamp(at),
            updated_at: stamp(at),
            version: 1,
        }
    }

    /// The row of `user`'s inbox, made with the account at `at`.
    pub(crate) fn inbox(user: UserId, at: DateTime<Utc>) -> Self {
        Self {
            inbox_of: Some(user_key(user)),
            ..Self::new(ListId::inbox_of(user), &ListName::inbox(), at)
        }
    }

    /// The list as a member with `role` sees it, given its member count.
    pub(crate) fn into_domain(self, role: &str, member_count: i64) -> Result<List, StoreError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::internal(format!("list {}: stored {what} is invalid: {e}", self.id.0))
        };
        Ok(List {
            id: ListId::from_uuid(self.id.0),
            name: ListName::parse(&self.name).map_err(|e| corrupt("name", &e))?,
            is_inbox: self.inbox_of.is_some(),
            archived: self.archived,
            role: role_of(role).map_err(|e| corrupt("role", &e))?,
            member_count,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

/// A stored role.
pub(crate) fn role_of(stored: &str) -> Result<ListRole, StoreError> {
    ListRole::parse(stored)
        .map_err(|e| StoreError::internal(format!("stored list role {stored:?}: {e}")))
}

/// A `list_members` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = list_members)]
pub(crate) struct MemberRow {
    pub(crate) list_id: SqlUuid,
    pub(crate) user_id: SqlUuid,
    pub(crate) role: String,
    pub(crate) added_at: SqlTimestamp,
}

/// A `list_invitations` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = list_invitations)]
pub(crate) struct InvitationRow {
    pub(crate) id: SqlUuid,
    pub(crate) list_id: SqlUuid,
    pub(crate) email: String,
    pub(crate) role: String,
    pub(crate) invited_by: Option<SqlUuid>,
    pub(crate) created_at: SqlTimestamp,
    pub(crate) expires_at: SqlTimestamp,
}

impl InvitationRow {
    /// The row of a new invitation.
    pub(crate) fn from_new(inv: &taskapi_domain::NewInvitation) -> Self {
        Self {
            id: SqlUuid(inv.id.as_uuid()),
            list_id: list_key(inv.list_id),
            email: inv.email.as_str().to_owned(),
            role: inv.role.as_str().to_owned(),
            invited_by: Some(user_key(inv.invited_by)),
            created_at: stamp(inv.created_at),
            expires_at: stamp(inv.expires_at),
        }
    }

    /// The invitation, to the list named `list_name`.
    pub(crate) fn into_domain(
        self,
        list_name: &str,
    ) -> Result<taskapi_domain::Invitation, StoreError> {
        Ok(taskapi_domain::Invitation {
            id: taskapi_domain::InvitationId::from_uuid(self.id.0),
            list_id: ListId::from_uuid(self.list_id.0),
            list_name: ListName::parse(list_name).map_err(|e| {
                StoreError::internal(format!(
                    "list {}: stored name is invalid: {e}",
                    self.list_id.0
                ))
            })?,
            email: Email::from_trusted(self.email),
            role: role_of(&self.role)?,
            invited_by: self.invited_by.map(|u| UserId::from_uuid(u.0)),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
        })
    }
}

/// A member as read with their account's email.
pub(crate) fn member_of(
    (user_id, email, role, added_at): (SqlUuid, String, String, SqlTimestamp),
) -> Result<taskapi_domain::Member, StoreError> {
    Ok(taskapi_domain::Member {
        user_id: UserId::from_uuid(user_id.0),
        email: Email::from_trusted(email),
        role: role_of(&role)?,
        added_at: added_at.0,
    })
}

/// A `task_tags` row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = task_tags)]
pub(crate) struct TagRow {
    pub(crate) task_id: SqlUuid,
    pub(crate) position: i16,
    pub(crate) tag: String,
}

impl TagRow {
    /// The rows of a task's tags, positions in order from 0.
    pub(crate) fn for_task(task_id: SqlUuid, tags: &Tags) -> Result<Vec<Self>, StoreError> {
        tags.iter()
            .enumerate()
            .map(|(i, tag)| {
                let position = i16::try_from(i).map_err(|_| {
                    StoreError::internal(format!("task {}: too many tags to store", task_id.0))
                })?;
                Ok(Self {
                    task_id,
                    position,
                    tag: tag.to_owned(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn at(micros: i64) -> Result<DateTime<Utc>, String> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| "out of range".to_owned())
    }

    fn task() -> Result<Task, Box<dyn std::error::Error>> {
        Ok(Task {
            id: TaskId::from_uuid(Uuid::from_u128(2)),
            list_id: ListId::from_uuid(Uuid::from_u128(1)),
            parent_id: Some(TaskId::from_uuid(Uuid::from_u128(3))),
            position: "0abc".into(),
            created_by: UserId::from_uuid(Uuid::from_u128(1)),
            assignee_id: Some(UserId::from_uuid(Uuid::from_u128(4))),
            title: TaskTitle::parse("Buy milk")?,
            description: Description::parse("  two litres ".into())?,
            is_done: true,
            completed_at: Some(at(1_795_000_000_000_001)?),
            priority: Priority::High,
            due_at: None,
            tags: Tags::parse(&["home", "errands"])?,
            created_at: at(1_795_000_000_000_000)?,
            updated_at: at(1_795_000_000_000_002)?,
            version: 3,
        })
    }

    #[test]
    fn tasks_read_back_equal() -> TestResult {
        let task = task()?;
        let row = TaskRow::from_domain(&task)?;
        assert_eq!(row.priority, 2);
        let tags = TagRow::for_task(row.id, &task.tags)?;
        let positions: Vec<(i16, &str)> =
            tags.iter().map(|t| (t.position, t.tag.as_str())).collect();
        assert_eq!(positions, vec![(0, "home"), (1, "errands")]);
        let tags = tags.into_iter().map(|t| t.tag).collect();
        assert_eq!(row.into_domain(tags)?, task);
        Ok(())
    }

    #[test]
    fn users_read_back_equal_and_new_users_are_enabled() -> TestResult {
        let new = NewUser {
            id: UserId::from_uuid(Uuid::from_u128(1)),
            email: Email::parse("alice@example.com")?,
            password_hash: PasswordHash::new("$2b$04$hash".into()),
            role: Role::Admin,
            created_at: at(1_795_000_000_000_000)?,
            email_verified: true,
        };
        let row = UserRow::from_new(&new)?;
        assert_eq!((row.role.as_str(), row.disabled), ("admin", false));
        assert_eq!(row.updated_at, row.created_at);
        let user = row.into_domain()?;
        assert_eq!(
            (
                user.id,
                &user.email,
                &user.password_hash,
                user.role,
                user.created_at
            ),
            (
                new.id,
                &new.email,
                &new.password_hash,
                new.role,
                new.created_at
            )
        );
        Ok(())
    }

    #[test]
    fn corrupt_rows_are_internal_errors() -> TestResult {
        let mut row = TaskRow::from_domain(&task()?)?;
        row.title = "   ".into();
        assert!(matches!(
            row.into_domain(vec![]),
            Err(StoreError::Internal(_))
        ));
        let mut user = UserRow::from_new(&NewUser {
            id: UserId::from_uuid(Uuid::from_u128(1)),
            email: Email::parse("alice@example.com")?,
            password_hash: PasswordHash::new("h".into()),
            role: Role::User,
            created_at: at(0)?,
            email_verified: false,
        })?;
        user.role = "root".into();
        assert!(matches!(user.into_domain(), Err(StoreError::Internal(_))));
        Ok(())
    }
}
