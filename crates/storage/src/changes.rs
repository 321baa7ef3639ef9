//! The change log over diesel: recording a change inside the write transaction that makes
//! it ([`record_task_change`], the one call each task write path makes, and
//! [`record_list_change`], the one each write of a list or its memberships makes), and the
//! [`ChangeLog`] port that reads it back in commit order.
//!
//! Order and completeness: rows are read in `(txn, seq)` order, and only up to the engine's
//! horizon (see [`crate::backend::Engine::change_horizon`]): on SQLite every committed row
//! (one writer at a time, so row numbers are in commit order); on PostgreSQL only the rows
//! of transactions older than the oldest one still running in the read's snapshot, so
//! that no row can ever be committed at or before a position a reader was given.
//!
//! Scope: a row belongs to one user who may see the change (`user_id`): a task's change
//! gets a row for each member of its list, a list's change one for each user it concerns
//! (its members; on a loss, the member who lost it). A read is `user_id = reader`, and the
//! current state of the tasks and lists a page names is loaded by the reader's membership
//! (in [`current_tasks`] and [`current_lists`]).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use taskapi_domain::{
    ChangeBatch, ChangeLog, ChangeOp, ChangePosition, ChangeReaders, ChangeRecord, Entity, List,
    StoreError, Task, UserId,
};

use crate::backend::{DbConnection, execute_natively, load_natively};
use crate::errors::DbError;
use crate::lists::member_counts;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{ListRow, TaskRow, stamp, user_key};
use crate::schema::{changes, list_members, lists, tasks};
use crate::sql_types::{DbTimestamp, DbUuid, SqlTimestamp, SqlUuid};
use crate::tasks::tags_of_tasks;

/// How far a read may go, as the engine sees it in the read's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeHorizon {
    /// Only rows whose `txn` is below this are final.
    pub(crate) before_txn: i64,
    /// The present: every row not yet committed will sort after it.
    pub(crate) present: ChangePosition,
}

/// A new `changes` row (`seq` and `txn` are the engine's defaults).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = changes)]
struct NewChangeRow {
    user_id: SqlUuid,
    entity: &'static str,
    op: &'static str,
    entity_id: SqlUuid,
    list_id: Option<SqlUuid>,
    at: SqlTimestamp,
}

/// A `changes` row as read.
type ChangeRow = (
    i64,
    i64,
    String,
    String,
    SqlUuid,
    Option<SqlUuid>,
    SqlTimestamp,
);

/// The members of `list`. Read in a write transaction that holds the list's row locked (as
/// every change of its memberships takes it first), they stay its members until it commits.
pub(crate) fn members_of(conn: &mut DbConnection, list: SqlUuid) -> QueryResult<Vec<SqlUuid>> {
    list_members::table
        .filter(list_members::list_id.eq(list))
        .select(list_members::user_id)
        .load(conn)
}

/// Inserts one change row for each of `users`.
fn insert_rows(
    conn: &mut DbConnection,
    users: &[SqlUuid],
    entity: Entity,
    op: ChangeOp,
    id: SqlUuid,
    list: SqlUuid,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    let rows: Vec<NewChangeRow> = users
        .iter()
        .map(|user| NewChangeRow {
            user_id: *user,
            entity: entity.as_str(),
            op: op.as_str(),
            entity_id: id,
            list_id: Some(list),
            at: stamp(at),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    execute_natively(conn, diesel::insert_into(changes::table).values(rows)).map(drop)
}

/// Records, inside the caller's write transaction, that task `id` of `list` was upserted or
/// deleted at `at`: for every member of the list.
pub(crate) fn record_task_change(
    conn: &mut DbConnection,
    list: SqlUuid,
    id: SqlUuid,
    op: ChangeOp,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    // A row for each member of the task's list, so that each reads the feed through their
    // own range of the `(user_id, txn, seq)` index. The members are read in the writer's
    // transaction, which holds the list's membership locked (`FOR SHARE` on PostgreSQL, the
    // write lock on SQLite): a member removed concurrently either gets the row or is gone.
    // One `INSERT … SELECT` from the memberships: every task write pays one statement for
    // its change, not a read of the members and then an insert (on PostgreSQL, a round
    // trip less inside the write's locks).
    let rows = list_members::table
        .filter(list_members::list_id.eq(list))
        .select((
            list_members::user_id,
            Entity::Task.as_str().into_sql::<Text>(),
            op.as_str().into_sql::<Text>(),
            id.into_sql::<DbUuid>(),
            Some(list).into_sql::<Nullable<DbUuid>>(),
            stamp(at).into_sql::<DbTimestamp>(),
        ));
    execute_natively(
        conn,
        diesel::insert_into(changes::table)
            .values(rows)
            .into_columns((
                changes::user_id,
                changes::entity,
                changes::op,
                changes::entity_id,
                changes::list_id,
                changes::at,
            )),
    )
    .map(drop)
}

/// Records, inside the caller's write transaction (which holds the list's row locked), that
/// `list` was upserted or deleted at `at` for each of `users`: all its members for a
/// change of the list itself or of its memberships (see [`members_of`]); for a loss, a
/// `delete` for the member who lost it (they drop the list and its tasks) and an `upsert`
/// for those who remain. The row's `list_id` is the list's own id.
pub(crate) fn record_list_change(
    conn: &mut DbConnection,
    list: SqlUuid,
    op: ChangeOp,
    at: DateTime<Utc>,
    users: &[SqlUuid],
) -> QueryResult<()> {
    insert_rows(conn, users, Entity::List, op, list, list, at)
}

/// The rows `reader` may see, after `after` and before the horizon, in log order.
fn scoped(
    conn: &mut DbConnection,
    reader: SqlUuid,
    after: ChangePosition,
    before_txn: i64,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    load_natively(conn, feed(reader, after.txn, after.seq, before_txn, limit))
}

/// The feed's query, what [`scoped`] runs and the plan test explains: one range of the
/// `(user_id, txn, seq)` index, read in its order.
#[dsl::auto_type(no_type_alias)]
pub(crate) fn feed(
    reader: SqlUuid,
    after_txn: i64,
    after_seq: i64,
    before_txn: i64,
    limit: i64,
) -> _ {
    // The scope: the reader's own rows (written for each user a change concerns).
    changes::table
        .filter(changes::user_id.eq(reader))
        // The position as a plain range, then exactly: both engines seek the
        // (user_id, txn, seq) index to the cursor.
        .filter(changes::txn.ge(after_txn))
        .filter(changes::txn.gt(after_txn).or(changes::seq.gt(after_seq)))
        .filter(changes::txn.lt(before_txn))
        .order((changes::txn, changes::seq))
        .limit(limit)
        .select((
            changes::txn,
            changes::seq,
            changes::entity,
            changes::op,
            changes::entity_id,
            changes::list_id,
            changes::at,
        ))
}

/// The readers of the rows after a position and before the horizon: one range of the
/// `(txn, seq)` index, the readers each once.
#[dsl::auto_type(no_type_alias)]
pub(crate) fn readers(after_txn: i64, after_seq: i64, before_txn: i64, limit: i64) -> _ {
    changes::table
        .filter(changes::txn.ge(after_txn))
        .filter(changes::txn.gt(after_txn).or(changes::seq.gt(after_seq)))
        .filter(changes::txn.lt(before_txn))
        .select(changes::user_id)
        .distinct()
        .limit(limit)
}

/// The reader's tasks among `ids`, as they are now, with their tags: two queries for a
/// whole page.
fn current_tasks(
    conn: &mut DbConnection,
    reader: SqlUuid,
    ids: Vec<SqlUuid>,
) -> Result<Vec<Task>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<TaskRow> = load_natively(
        conn,
        tasks::table
            .filter(tasks::id.eq_any(ids))
            .filter(tasks::trashed_at.is_null())
            .filter(
                tasks::list_id.eq_any(
                    list_members::table
                        .filter(list_members::user_id.eq(reader))
                        .select(list_members::list_id),
                ),
            )
            .select(tasks::all_columns),
    )?;
    let mut tags: HashMap<SqlUuid, Vec<String>> = HashMap::new();
    for (task, tag) in tags_of_tasks(conn, rows.iter().map(|r| r.id).collect())? {
        tags.entry(task).or_default().push(tag);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let tags = tags.remove(&row.id).unwrap_or_default();
            row.into_domain(tags)
        })
        .collect::<Result<_, _>>()?)
}

/// The lists among `ids` that `reader` is a member of, as the reader sees them now (their
/// role, the member count): two queries for a whole page.
fn current_lists(
    conn: &mut DbConnection,
    reader: SqlUuid,
    ids: Vec<SqlUuid>,
) -> Result<Vec<List>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let columns: <lists::table as Table>::AllColumns = lists::all_columns;
    let rows: Vec<(ListRow, String)> = load_natively(
        conn,
        lists::table
            .inner_join(list_members::table)
            .filter(lists::id.eq_any(ids))
            .filter(list_members::user_id.eq(reader))
            .select((columns, list_members::role)),
    )?;
    let counts = member_counts(conn, rows.iter().map(|(row, _)| row.id).collect())?;
    Ok(rows
        .into_iter()
        .map(|(row, role)| {
            let count = counts.get(&row.id).copied().unwrap_or(0);
            row.into_domain(&role, count)
        })
        .collect::<Result<_, _>>()?)
}

fn into_record(row: ChangeRow) -> Result<ChangeRecord, StoreError> {
    let (txn, seq, entity, op, id, list_id, at) = row;
    let corrupt = |what: &str, value: &str| {
        StoreError::internal(format!("change {txn}/{seq}: {what} {value:?} is not one"))
    };
    Ok(ChangeRecord {
        position: ChangePosition { txn, seq },
        entity: Entity::parse(&entity).ok_or_else(|| corrupt("entity", &entity))?,
        op: ChangeOp::parse(&op).ok_or_else(|| corrupt("op", &op))?,
        id: id.0,
        list_id: list_id.map(|l| l.0),
        at: at.0,
    })
}

/// The change log in the `changes` table.
#[derive(Debug, Clone)]
pub(crate) struct DieselChangeLog {
    pool: DbPool,
}

impl DieselChangeLog {
    /// A change log over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ChangeLog for DieselChangeLog {
    async fn read(
        &self,
        reader: UserId,
        after: ChangePosition,
        limit: u32,
    ) -> Result<ChangeBatch, StoreError> {
        let reader = user_key(reader);
        let (rows, tasks, lists, present) = self
            .pool
            .read(move |conn| {
                // First, so that the horizon is the snapshot's own (REPEATABLE READ takes
                // it at the first statement; SQLite's read starts its snapshot there).
                let horizon = conn.engine().change_horizon()?;
                let rows = scoped(conn, reader, after, horizon.before_txn, i64::from(limit))?;
                let ids_of = |entity: Entity| {
                    let mut seen = HashSet::new();
                    rows.iter()
                        .filter(|row| row.2 == entity.as_str())
                        .map(|row| row.4)
                        .filter(|id| seen.insert(*id))
                        .collect::<Vec<SqlUuid>>()
                };
                let (task_ids, list_ids) = (ids_of(Entity::Task), ids_of(Entity::List));
                let tasks = current_tasks(conn, reader, task_ids)?;
                let lists = current_lists(conn, reader, list_ids)?;
                Ok::<_, DbError>((rows, tasks, lists, horizon.present))
            })
            .await?;
        Ok(ChangeBatch {
            records: rows
                .into_iter()
                .map(into_record)
                .collect::<Result<_, _>>()?,
            tasks,
            lists,
            present,
        })
    }

    async fn readers_after(
        &self,
        after: ChangePosition,
        limit: u32,
    ) -> Result<ChangeReaders, StoreError> {
        let (users, present) = self
            .pool
            .read(move |conn| {
                let horizon = conn.engine().change_horizon()?;
                let users: Vec<SqlUuid> = load_natively(
                    conn,
                    readers(
                        after.txn,
                        after.seq,
                        horizon.before_txn,
                        i64::from(limit) + 1,
                    ),
                )?;
                Ok::<_, DbError>((users, horizon.present))
            })
            .await?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let complete = users.len() <= limit;
        Ok(ChangeReaders {
            users: users
                .into_iter()
                .take(limit)
                .map(|u| UserId::from_uuid(u.0))
                .collect(),
            complete,
            present,
        })
    }

    async fn present(&self) -> Result<ChangePosition, StoreError> {
        // One statement, so no transaction around it: it sees one snapshot by itself.
        Ok(self
            .pool
            .run(|conn| Ok::<_, DbError>(conn.engine().change_horizon()?.present))
            .await?)
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::Changes, before).await?)
    }
}
