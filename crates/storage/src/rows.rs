//! Rows as diesel reads and writes them, and their conversions to and from domain types.
//!
//! Rows hold data that was validated before it was stored, so reading rebuilds domain values
//! through their trusted constructors; anything that still does not fit (corrupt data) is
//! `StoreError::Internal`, never a panic.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::{
    Description, Email, NewUser, PasswordHash, Priority, Role, StoreError, Tags, Task, TaskChanges,
    TaskId, TaskTitle, User, UserId,
};

use crate::codec::{
    optional_timestamp_from_text, optional_timestamp_to_text, timestamp_from_text,
    timestamp_to_text, uuid_from_text, uuid_to_text,
};
use crate::schema::{task_tags, tasks, users};

/// Stored form of a user id.
pub(crate) fn user_id_text(id: UserId) -> String {
    uuid_to_text(id.as_uuid())
}

/// Stored form of a task id.
pub(crate) fn task_id_text(id: TaskId) -> String {
    uuid_to_text(id.as_uuid())
}

/// A `users` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) password_hash: String,
    pub(crate) role: String,
    pub(crate) disabled: bool,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl UserRow {
    /// The row of a new account (enabled; `updated_at` = `created_at`).
    pub(crate) fn from_new(user: &NewUser) -> Result<Self, StoreError> {
        let created_at = timestamp_to_text(user.created_at)?;
        Ok(Self {
            id: user_id_text(user.id),
            email: user.email.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            disabled: false,
            updated_at: created_at.clone(),
            created_at,
        })
    }

    /// The account this row stores.
    pub(crate) fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from_uuid(uuid_from_text(&self.id)?),
            email: Email::from_trusted(self.email),
            password_hash: PasswordHash::new(self.password_hash),
            role: Role::parse(&self.role).map_err(|e| {
                StoreError::Internal(format!("user {}: stored role {:?} {e}", self.id, self.role))
            })?,
            disabled: self.disabled,
            created_at: timestamp_from_text(&self.created_at)?,
        })
    }
}

/// A `tasks` row (tags live in `task_tags`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskRow {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) is_done: bool,
    pub(crate) completed_at: Option<String>,
    pub(crate) priority: i16,
    pub(crate) due_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) version: i64,
}

impl TaskRow {
    /// The row of a task.
    pub(crate) fn from_domain(task: &Task) -> Result<Self, StoreError> {
        Ok(Self {
            id: task_id_text(task.id),
            owner_id: user_id_text(task.owner_id),
            title: task.title.as_str().to_owned(),
            description: task.description.as_str().to_owned(),
            is_done: task.is_done,
            completed_at: optional_timestamp_to_text(task.completed_at)?,
            priority: task.priority.rank(),
            due_at: optional_timestamp_to_text(task.due_at)?,
            created_at: timestamp_to_text(task.created_at)?,
            updated_at: timestamp_to_text(task.updated_at)?,
            version: task.version,
        })
    }

    /// The task this row stores, with its tags in order.
    pub(crate) fn into_domain(self, tags: Vec<String>) -> Result<Task, StoreError> {
        let corrupt = |what: &str, e: String| {
            StoreError::Internal(format!("task {}: stored {what} is invalid: {e}", self.id))
        };
        Ok(Task {
            id: TaskId::from_uuid(uuid_from_text(&self.id)?),
            owner_id: UserId::from_uuid(uuid_from_text(&self.owner_id)?),
            title: TaskTitle::parse(&self.title).map_err(|e| corrupt("title", e))?,
            description: Description::parse(self.description.clone())
                .map_err(|e| corrupt("description", e))?,
            is_done: self.is_done,
            completed_at: optional_timestamp_from_text(self.completed_at.as_deref())?,
            priority: Priority::from_rank(self.priority),
            due_at: optional_timestamp_from_text(self.due_at.as_deref())?,
            tags: Tags::from_trusted(tags),
            created_at: timestamp_from_text(&self.created_at)?,
            updated_at: timestamp_from_text(&self.updated_at)?,
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
    pub(crate) completed_at: Option<String>,
    pub(crate) priority: i16,
    pub(crate) due_at: Option<String>,
    pub(crate) updated_at: String,
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
            completed_at: optional_timestamp_to_text(changes.completed_at)?,
            priority: changes.priority.rank(),
            due_at: optional_timestamp_to_text(changes.due_at)?,
            updated_at: timestamp_to_text(now)?,
        })
    }
}

/// A `task_tags` row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = task_tags)]
pub(crate) struct TagRow {
    pub(crate) task_id: String,
    pub(crate) position: i16,
    pub(crate) tag: String,
}

impl TagRow {
    /// The rows of a task's tags, positions in order from 0.
    pub(crate) fn for_task(task_id: &str, tags: &Tags) -> Result<Vec<Self>, StoreError> {
        tags.iter()
            .enumerate()
            .map(|(i, tag)| {
                let position = i16::try_from(i).map_err(|_| {
                    StoreError::Internal(format!("task {task_id}: too many tags to store"))
                })?;
                Ok(Self {
                    task_id: task_id.to_owned(),
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
            owner_id: UserId::from_uuid(Uuid::from_u128(1)),
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
        assert_eq!(row.created_at, "2026-11-18T11:06:40.000000Z");
        let tags = TagRow::for_task(&row.id, &task.tags)?;
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
        })?;
        user.role = "root".into();
        assert!(matches!(user.into_domain(), Err(StoreError::Internal(_))));
        Ok(())
    }
}
