//! [`TaskRepository`] over diesel. Every statement is scoped by owner in its `WHERE` clause.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::ports::{TaskRepository, UpdateOutcome};
use taskapi_domain::{StoreError, Task, TaskChanges, TaskId, UserId};

use crate::backend::{DbConnection, DbPool, write_transaction};
use crate::errors::DbError;
use crate::pool::with_connection;
use crate::rows::{TagRow, TaskChangesRow, TaskRow, task_key, user_key};
use crate::schema::{task_tags, tasks};
use crate::sql_types::SqlUuid;

/// Tasks in the `tasks` table, their tags in `task_tags`.
#[derive(Debug, Clone)]
pub(crate) struct DieselTaskRepository {
    pool: DbPool,
}

impl DieselTaskRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// The task's tags, in order.
fn tags_of(conn: &mut DbConnection, task_id: SqlUuid) -> QueryResult<Vec<String>> {
    task_tags::table
        .filter(task_tags::task_id.eq(task_id))
        .order(task_tags::position)
        .select(task_tags::tag)
        .load(conn)
}

/// Replaces the task's tags with `tags`.
fn replace_tags(conn: &mut DbConnection, task_id: SqlUuid, tags: &[TagRow]) -> QueryResult<()> {
    diesel::delete(task_tags::table.filter(task_tags::task_id.eq(task_id))).execute(conn)?;
    insert_tags(conn, tags)
}

/// Inserts the rows in one multi-row `INSERT`. diesel's multi-backend connection cannot
/// express a batch insert, so this is the one statement dispatched per backend.
fn insert_tags(conn: &mut DbConnection, tags: &[TagRow]) -> QueryResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let insert = diesel::insert_into(task_tags::table).values(tags);
    match conn {
        DbConnection::Sqlite(conn) => insert.execute(conn),
        DbConnection::Postgres(conn) => insert.execute(conn),
    }
    .map(drop)
}

#[async_trait]
impl TaskRepository for DieselTaskRepository {
    async fn insert(&self, task: Task) -> Result<(), StoreError> {
        let row = TaskRow::from_domain(&task)?;
        let tags = TagRow::for_task(row.id, &task.tags)?;
        with_connection(&self.pool, move |conn| {
            write_transaction(conn, |conn| {
                diesel::insert_into(tasks::table)
                    .values(&row)
                    .execute(conn)?;
                insert_tags(conn, &tags)?;
                Ok(())
            })
        })
        .await
        .map_err(StoreError::from)
    }

    async fn find_for_owner(&self, owner: UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        let found = with_connection(&self.pool, move |conn| {
            // One read transaction: the row and its tags come from the same snapshot.
            conn.transaction(|conn| {
                let row = tasks::table
                    .filter(tasks::id.eq(&id))
                    .filter(tasks::owner_id.eq(&owner))
                    .select(TaskRow::as_select())
                    .first(conn)
                    .optional()?;
                let Some(row) = row else {
                    return Ok::<_, DbError>(None);
                };
                let tags = tags_of(conn, row.id)?;
                Ok(Some((row, tags)))
            })
        })
        .await?;
        found.map(|(row, tags)| row.into_domain(tags)).transpose()
    }

    async fn list_for_owner(&self, owner: UserId) -> Result<Vec<Task>, StoreError> {
        let owner = user_key(owner);
        let (rows, tags) = with_connection(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let rows: Vec<TaskRow> = tasks::table
                    .filter(tasks::owner_id.eq(&owner))
                    .order((tasks::created_at, tasks::id))
                    .select(TaskRow::as_select())
                    .load(conn)?;
                if rows.is_empty() {
                    return Ok::<_, DbError>((rows, Vec::new()));
                }
                // Every tag of the owner's tasks in one query, whatever the number of tasks
                // (a subquery rather than a list of ids, so no bind-parameter limit applies).
                let owned_ids = tasks::table
                    .filter(tasks::owner_id.eq(&owner))
                    .select(tasks::id);
                let tags: Vec<(SqlUuid, String)> = task_tags::table
                    .filter(task_tags::task_id.eq_any(owned_ids))
                    .order((task_tags::task_id, task_tags::position))
                    .select((task_tags::task_id, task_tags::tag))
                    .load(conn)?;
                Ok((rows, tags))
            })
        })
        .await?;
        let mut tags_by_task: HashMap<SqlUuid, Vec<String>> = HashMap::new();
        for (task_id, tag) in tags {
            tags_by_task.entry(task_id).or_default().push(tag);
        }
        rows.into_iter()
            .map(|row| {
                let tags = tags_by_task.remove(&row.id).unwrap_or_default();
                row.into_domain(tags)
            })
            .collect()
    }

    async fn update_if_version(
        &self,
        owner: UserId,
        id: TaskId,
        expected_version: i64,
        changes: TaskChanges,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        let columns = TaskChangesRow::from_domain(&changes, now)?;
        let tags = TagRow::for_task(id, &changes.tags)?;
        with_connection(&self.pool, move |conn| {
            write_transaction(conn, |conn| {
                // Compare-and-swap in one statement: the version check and the bump happen
                // together, so of concurrent writers expecting the same version one wins.
                let updated = diesel::update(
                    tasks::table
                        .filter(tasks::id.eq(&id))
                        .filter(tasks::owner_id.eq(&owner))
                        .filter(tasks::version.eq(expected_version)),
                )
                .set((&columns, tasks::version.eq(tasks::version + 1)))
                // All columns in `TaskRow`'s order: the multi-backend connection cannot
                // return a `Selectable`.
                .returning(tasks::all_columns)
                .get_result::<TaskRow>(conn)
                .optional()?;
                if let Some(row) = updated {
                    replace_tags(conn, id, &tags)?;
                    let tags = tags.into_iter().map(|t| t.tag).collect();
                    return Ok::<_, DbError>(UpdateOutcome::Updated(row.into_domain(tags)?));
                }
                let exists = diesel::select(diesel::dsl::exists(
                    tasks::table
                        .filter(tasks::id.eq(&id))
                        .filter(tasks::owner_id.eq(&owner)),
                ))
                .get_result::<bool>(conn)?;
                Ok(if exists {
                    UpdateOutcome::VersionMismatch
                } else {
                    UpdateOutcome::NotFound
                })
            })
        })
        .await
        .map_err(StoreError::from)
    }

    async fn delete_for_owner(&self, owner: UserId, id: TaskId) -> Result<bool, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        let deleted = with_connection(&self.pool, move |conn| {
            write_transaction(conn, |conn| {
                // Tags go with the task (ON DELETE CASCADE).
                Ok::<_, DbError>(
                    diesel::delete(
                        tasks::table
                            .filter(tasks::id.eq(&id))
                            .filter(tasks::owner_id.eq(&owner)),
                    )
                    .execute(conn)?,
                )
            })
        })
        .await?;
        Ok(deleted > 0)
    }
}
