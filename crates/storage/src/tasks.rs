//! [`TaskRepository`] over diesel. Every statement is scoped by owner in its `WHERE` clause.
//! Every write that changes a task records the change in the same transaction, with one
//! call of [`record_task_change`]; a write that changes nothing records nothing.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::dsl;
use diesel::prelude::*;
use taskapi_domain::{ChangeOp, Clock, SystemClock};
use taskapi_domain::{DecideUpdate, DeleteOutcome, TaskRepository, UpdateDecision, UpdateOutcome};
use taskapi_domain::{HeldKey, StoreError, Task, TaskId, TaskInsert, TaskListQuery, UserId};

use crate::backend::{DbConnection, execute_natively, load_natively};
use crate::changes::record_task_change;
use crate::errors::DbError;
use crate::idempotency::held_reservation;
use crate::listing::{self, ListParams};
use crate::pool::DbPool;
use crate::rows::{TagRow, TaskChangesRow, TaskRow, task_key, user_key};
use crate::schema::{idempotency_keys, task_tags, tasks};
use crate::sql_types::SqlUuid;
use crate::task_snapshot;

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

/// Whether `owner` already has `max_tasks` tasks (never, for `None`). Inside a write
/// transaction: the owner's row is locked first (PostgreSQL; SQLite has one writer at a
/// time), so the count stays true until the insert that follows commits.
fn at_quota(conn: &mut DbConnection, owner: SqlUuid, max_tasks: Option<u64>) -> QueryResult<bool> {
    let Some(max_tasks) = max_tasks else {
        return Ok(false);
    };
    conn.engine().lock_owner(owner)?;
    let count: i64 = tasks::table
        .filter(tasks::owner_id.eq(owner))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0) >= max_tasks)
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

/// Inserts the rows in one multi-row `INSERT` (which diesel's multi-backend connection
/// cannot express, hence run natively).
fn insert_tags(conn: &mut DbConnection, tags: &[TagRow]) -> QueryResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    execute_natively(conn, diesel::insert_into(task_tags::table).values(tags)).map(drop)
}

/// The owner's task with its tags, in one statement: a row per tag in order, or one row
/// with no tag. All of `tasks`' columns, in `TaskRow`'s order.
#[dsl::auto_type(no_type_alias)]
fn task_with_tags(owner: SqlUuid, id: SqlUuid) -> _ {
    let columns: <tasks::table as Table>::AllColumns = tasks::all_columns;
    tasks::table
        .left_join(task_tags::table)
        .filter(tasks::id.eq(id))
        .filter(tasks::owner_id.eq(owner))
        .order(task_tags::position)
        .select((columns, task_tags::tag.nullable()))
}

#[async_trait]
impl TaskRepository for DieselTaskRepository {
    async fn insert(&self, task: Task, max_tasks: Option<u64>) -> Result<TaskInsert, StoreError> {
        let row = TaskRow::from_domain(&task)?;
        let tags = TagRow::for_task(row.id, &task.tags)?;
        let created_at = task.created_at;
        self.pool
            .write(move |conn| {
                if at_quota(conn, row.owner_id, max_tasks)? {
                    return Ok(TaskInsert::QuotaExceeded);
                }
                diesel::insert_into(tasks::table)
                    .values(&row)
                    .execute(conn)?;
                insert_tags(conn, &tags)?;
                record_task_change(conn, row.owner_id, row.id, ChangeOp::Upsert, created_at)?;
                Ok(TaskInsert::Inserted)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn insert_for_key(
        &self,
        task: Task,
        held: HeldKey,
        max_tasks: Option<u64>,
    ) -> Result<TaskInsert, StoreError> {
        if task.owner_id != held.owner {
            return Err(StoreError::internal(format!(
                "task {} would be stored under another user's idempotency key",
                task.id
            )));
        }
        let row = TaskRow::from_domain(&task)?;
        let tags = TagRow::for_task(row.id, &task.tags)?;
        let created_at = task.created_at;
        let snapshot = task_snapshot::encode(&task)?;
        self.pool
            .write(move |conn| {
                // The quota before the key, which this would otherwise have completed.
                if at_quota(conn, row.owner_id, max_tasks)? {
                    return Ok::<_, DbError>(TaskInsert::QuotaExceeded);
                }
                // The key first: its row stays locked to the end (PostgreSQL; SQLite's write
                // transaction excludes every other writer), so no takeover can slip in
                // between this check and the insert.
                let completed = diesel::update(held_reservation(&held))
                    .set(idempotency_keys::task.eq(Some(&snapshot)))
                    .execute(conn)?;
                if completed != 1 {
                    return Ok(TaskInsert::ReservationLost);
                }
                diesel::insert_into(tasks::table)
                    .values(&row)
                    .execute(conn)?;
                insert_tags(conn, &tags)?;
                record_task_change(conn, row.owner_id, row.id, ChangeOp::Upsert, created_at)?;
                Ok(TaskInsert::Inserted)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn find_for_owner(&self, owner: UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        let rows = self
            .pool
            .run(move |conn| {
                // One statement, so the row and its tags come from one snapshot without a
                // transaction around two queries (on PostgreSQL, one round trip instead of
                // four). Run natively: through the multi-backend connection, diesel
                // serialises the query again to find its cached statement.
                let rows: Vec<(TaskRow, Option<String>)> =
                    load_natively(conn, task_with_tags(owner, id))?;
                Ok::<_, DbError>(rows)
            })
            .await?;
        let mut rows = rows.into_iter();
        let Some((row, first_tag)) = rows.next() else {
            return Ok(None);
        };
        let tags = first_tag
            .into_iter()
            .chain(rows.filter_map(|(_, tag)| tag))
            .collect();
        row.into_domain(tags).map(Some)
    }

    async fn list_for_owner(
        &self,
        owner: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        let phases = listing::phases(&query);
        let mut params = ListParams::new(owner, query, limit);
        // One read transaction: both phases and the tags come from one snapshot.
        let (rows, tags) = self
            .pool
            .read(move |conn| {
                let mut rows: Vec<TaskRow> = Vec::new();
                for &phase in phases {
                    let remaining =
                        i64::from(limit) - i64::try_from(rows.len()).unwrap_or(i64::MAX);
                    if remaining <= 0 {
                        break;
                    }
                    params.limit = remaining;
                    rows.extend(conn.engine().list_tasks(&params, phase)?);
                }
                let ids: Vec<SqlUuid> = rows.iter().map(|r| r.id).collect();
                let tags = tags_of_tasks(conn, ids)?;
                Ok::<_, DbError>((rows, tags))
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

    async fn update_with(
        &self,
        owner: UserId,
        id: TaskId,
        decide: DecideUpdate,
    ) -> Result<UpdateOutcome, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        self.pool
            .write(move |conn| {
                // The write transaction holds the task: `FOR UPDATE` on PostgreSQL, the
                // database write lock (BEGIN IMMEDIATE) on SQLite. Concurrent updates queue
                // here instead of racing.
                let Some(row) = conn.engine().lock_task_for_update(owner, id)? else {
                    return Ok::<_, DbError>(UpdateOutcome::NotFound);
                };
                let version = row.version;
                let current = row.into_domain(tags_of(conn, id)?)?;
                let (changes, now) = match decide(&current) {
                    UpdateDecision::Keep => return Ok(UpdateOutcome::Unchanged(current)),
                    UpdateDecision::Refuse => return Ok(UpdateOutcome::Refused),
                    UpdateDecision::Write(changes, now) => (changes, now),
                };
                let columns = TaskChangesRow::from_domain(&changes, now)?;
                let tags = TagRow::for_task(id, &changes.tags)?;
                // The version bump happens in the statement; its version check is redundant
                // under the lock, and kept as the last line of defence.
                let row = diesel::update(
                    tasks::table
                        .filter(tasks::id.eq(id))
                        .filter(tasks::owner_id.eq(owner))
                        .filter(tasks::version.eq(version)),
                )
                .set((&columns, tasks::version.eq(tasks::version + 1)))
                // All columns in `TaskRow`'s order: the multi-backend connection cannot
                // return a `Selectable`.
                .returning(tasks::all_columns)
                .get_result::<TaskRow>(conn)?;
                replace_tags(conn, id, &tags)?;
                record_task_change(conn, owner, id, ChangeOp::Upsert, now)?;
                let tags = tags.into_iter().map(|t| t.tag).collect();
                Ok(UpdateOutcome::Updated(row.into_domain(tags)?))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn delete_for_owner(
        &self,
        owner: UserId,
        id: TaskId,
        expected_version: Option<i64>,
    ) -> Result<DeleteOutcome, StoreError> {
        let (owner, id) = (user_key(owner), task_key(id));
        self.pool
            .write(move |conn| {
                // Tags go with the task (ON DELETE CASCADE). The version check, when there is
                // one, is part of the DELETE itself.
                let mut delete = diesel::delete(tasks::table)
                    .filter(tasks::id.eq(id))
                    .filter(tasks::owner_id.eq(owner))
                    .into_boxed();
                if let Some(version) = expected_version {
                    delete = delete.filter(tasks::version.eq(version));
                }
                if delete.execute(conn)? > 0 {
                    // The domain gives a delete no instant: the change is stamped by the
                    // same clock the domain uses.
                    record_task_change(conn, owner, id, ChangeOp::Delete, SystemClock.now())?;
                    return Ok::<_, DbError>(DeleteOutcome::Deleted);
                }
                let exists = diesel::select(dsl::exists(
                    tasks::table
                        .filter(tasks::id.eq(id))
                        .filter(tasks::owner_id.eq(owner)),
                ))
                .get_result::<bool>(conn)?;
                Ok(if exists {
                    DeleteOutcome::VersionMismatch
                } else {
                    DeleteOutcome::NotFound
                })
            })
            .await
            .map_err(StoreError::from)
    }
}

/// The tags of the given tasks, in order, in one query (`IN`/`= ANY` over at most a page
/// of ids, run natively because the two engines bind the list differently).
pub(crate) fn tags_of_tasks(
    conn: &mut DbConnection,
    ids: Vec<SqlUuid>,
) -> QueryResult<Vec<(SqlUuid, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = task_tags::table
        .filter(task_tags::task_id.eq_any(ids))
        .order((task_tags::task_id, task_tags::position))
        .select((task_tags::task_id, task_tags::tag));
    load_natively(conn, query)
}
