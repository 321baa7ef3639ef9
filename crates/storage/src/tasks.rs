//! [`TaskRepository`] over diesel. Every read carries the caller's membership of the task's
//! list in its `WHERE` clause; every write locks the membership (and the list) in its
//! transaction and applies the domain's decision to what it read there. Every write that
//! changes a task records the change in the same transaction, with one call of
//! [`record_task_change`] (a row for each member of the task's list); a write that changes
//! nothing records nothing.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use taskapi_domain::{ChangeOp, Clock, SystemClock};
use taskapi_domain::{
    DecideDelete, DecideMove, DecideUpdate, DeleteDecision, DeleteOutcome, MoveDecision, MoveFacts,
    MoveOutcome, Place, PlacementError, TaskAccess, TaskMove, TaskRepository, UpdateDecision,
    UpdateOutcome, place_new_task,
};
use taskapi_domain::{HeldKey, StoreError, Task, TaskId, TaskInsert, TaskListQuery, UserId};

use crate::access::is_member_of_tasks_list;

use crate::backend::{CachedUpdate, DbConnection, execute_natively, load_natively};
use crate::changes::record_task_change;
use crate::errors::DbError;
use crate::idempotency::held_reservation;
use crate::listing::{self, ListParams};
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{TagRow, TaskChangesRow, TaskRow, list_key, role_of, stamp, task_key, user_key};
use crate::schema::{idempotency_keys, task_tags, tasks};
use crate::sql_types::SqlUuid;
use crate::task_snapshot;
use crate::tree::{self, Edge};

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

/// Whether `creator` already created `max_tasks` tasks (never, for `None`). Inside a write
/// transaction: the account's row is locked first (PostgreSQL; SQLite has one writer at a
/// time), so the count stays true until the insert that follows commits.
fn at_quota(
    conn: &mut DbConnection,
    creator: SqlUuid,
    max_tasks: Option<u64>,
) -> QueryResult<bool> {
    let Some(max_tasks) = max_tasks else {
        return Ok(false);
    };
    conn.engine().lock_owner(creator)?;
    let count: i64 = tasks::table
        .filter(tasks::created_by.eq(creator))
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

/// Inserts the task's row, natively: through the multi-backend connection diesel writes the
/// 19-column statement out a second time to find its cached statement (a sixth of a
/// `POST /tasks`).
fn insert_task(conn: &mut DbConnection, row: &TaskRow) -> QueryResult<()> {
    execute_natively(conn, diesel::insert_into(tasks::table).values(row)).map(drop)
}

/// Inserts the rows in one multi-row `INSERT` (which diesel's multi-backend connection
/// cannot express, hence run natively).
fn insert_tags(conn: &mut DbConnection, tags: &[TagRow]) -> QueryResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    execute_natively(conn, diesel::insert_into(task_tags::table).values(tags)).map(drop)
}

/// `member`'s access to `list`, locked until the transaction ends (see
/// [`crate::backend::Engine::lock_access`]); `None` when they are not a member.
pub(crate) fn locked_access(
    conn: &mut DbConnection,
    list: SqlUuid,
    member: SqlUuid,
) -> Result<Option<TaskAccess>, DbError> {
    task_access(conn.engine().lock_access(list, member)?)
}

/// `member`'s access to `list`, which this transaction already holds
/// ([`crate::backend::Engine::lock_list_of_task`]), locked until the transaction ends;
/// `None` when they are not a member.
fn locked_membership(
    conn: &mut DbConnection,
    list: SqlUuid,
    member: SqlUuid,
) -> Result<Option<TaskAccess>, DbError> {
    task_access(conn.engine().lock_membership(list, member)?)
}

/// The access a membership's stored role and its list's `archived` flag give.
fn task_access(membership: Option<(String, bool)>) -> Result<Option<TaskAccess>, DbError> {
    membership
        .map(|(role, archived)| {
            Ok(TaskAccess {
                role: role_of(&role)?,
                archived,
            })
        })
        .transpose()
}

/// Whether a new task may be stored: its creator's access to its list, their quota and its
/// parent, checked in the write transaction that stores it; `None` when it may, and then
/// the row holds its position, last among its siblings.
///
/// A subtask is placed under the list's sibling order (kept until the transaction
/// commits), so that its parent stays where it was read: a concurrent move cannot take it
/// too deep, nor a deletion trash it after the subtask was placed. A top-level task needs
/// no turn: its position is its own ([`place_new_task`] spells the task's id into it), so
/// creations that read the same last sibling at once still get distinct positions after
/// it, and creations into one list run side by side instead of one after another.
fn prepare_insert(
    conn: &mut DbConnection,
    row: &mut TaskRow,
    max_tasks: Option<u64>,
) -> Result<Option<TaskInsert>, DbError> {
    let Some(access) = locked_access(conn, row.list_id, row.created_by)? else {
        return Ok(Some(TaskInsert::NoSuchList));
    };
    if let Err(refusal) = access.check_write() {
        return Ok(Some(TaskInsert::Denied(refusal)));
    }
    if let Some(assignee) = row.assignee_id
        && locked_access(conn, row.list_id, assignee)?.is_none()
    {
        return Ok(Some(TaskInsert::UnknownAssignee));
    }
    if at_quota(conn, row.created_by, max_tasks)? {
        return Ok(Some(TaskInsert::QuotaExceeded));
    }
    let parent_depth = match row.parent_id {
        None => 0,
        Some(parent) => {
            conn.engine().lock_sibling_order(row.list_id)?;
            match tree::ancestry(conn, row.list_id, parent)? {
                Some(chain) => u32::try_from(chain.len()).unwrap_or(u32::MAX),
                None => return Ok(Some(TaskInsert::Misplaced(PlacementError::UnknownParent))),
            }
        }
    };
    let last = tree::greatest_sibling_position(conn, row.list_id, row.parent_id)?;
    match place_new_task(parent_depth, last.as_ref(), TaskId::from_uuid(row.id.0)) {
        Ok(position) => {
            row.position = position.as_str().to_owned();
            Ok(None)
        }
        Err(placement) => Ok(Some(TaskInsert::Misplaced(placement))),
    }
}

/// The task with its tags, if `member` is a member of its list, in one statement: a row per
/// tag in order, or one row with no tag. All of `tasks`' columns, in `TaskRow`'s order.
#[dsl::auto_type(no_type_alias)]
fn task_with_tags(member: SqlUuid, id: SqlUuid) -> _ {
    let columns: <tasks::table as Table>::AllColumns = tasks::all_columns;
    let member_of: is_member_of_tasks_list = is_member_of_tasks_list(member);
    tasks::table
        .left_join(task_tags::table)
        .filter(tasks::id.eq(id))
        .filter(tasks::trashed_at.is_null())
        .filter(member_of)
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
                let mut row = row.clone();
                if let Some(refused) = prepare_insert(conn, &mut row, max_tasks)? {
                    return Ok::<_, DbError>(refused);
                }
                insert_task(conn, &row)?;
                insert_tags(conn, &tags)?;
                record_task_change(conn, row.list_id, row.id, ChangeOp::Upsert, created_at)?;
                Ok(TaskInsert::Inserted {
                    position: row.position,
                })
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
        if task.created_by != held.owner {
            return Err(StoreError::internal(format!(
                "task {} would be stored under another user's idempotency key",
                task.id
            )));
        }
        let row = TaskRow::from_domain(&task)?;
        let tags = TagRow::for_task(row.id, &task.tags)?;
        let created_at = task.created_at;
        self.pool
            .write(move |conn| {
                let mut row = row.clone();
                // Access, quota and place before the key, which this would otherwise have
                // completed.
                if let Some(refused) = prepare_insert(conn, &mut row, max_tasks)? {
                    return Ok::<_, DbError>(refused);
                }
                // What the key yields: the task as stored, at the position just decided.
                let mut placed = task.clone();
                placed.position.clone_from(&row.position);
                let snapshot = task_snapshot::encode(&placed)?;
                // The key first: its row stays locked to the end (PostgreSQL; SQLite's write
                // transaction excludes every other writer), so no takeover can slip in
                // between this check and the insert.
                let completed = diesel::update(held_reservation(&held))
                    .set(idempotency_keys::task.eq(Some(&snapshot)))
                    .execute(conn)?;
                if completed != 1 {
                    return Ok(TaskInsert::ReservationLost);
                }
                insert_task(conn, &row)?;
                insert_tags(conn, &tags)?;
                record_task_change(conn, row.list_id, row.id, ChangeOp::Upsert, created_at)?;
                Ok(TaskInsert::Inserted {
                    position: row.position,
                })
            })
            .await
            .map_err(StoreError::from)
    }

    async fn find_for_member(
        &self,
        member: UserId,
        id: TaskId,
    ) -> Result<Option<Task>, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        let rows = self
            .pool
            .run(move |conn| {
                // One statement, so the row and its tags come from one snapshot without a
                // transaction around two queries (on PostgreSQL, one round trip instead of
                // four). Run natively: through the multi-backend connection, diesel
                // serialises the query again to find its cached statement.
                let rows: Vec<(TaskRow, Option<String>)> =
                    load_natively(conn, task_with_tags(member, id))?;
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

    async fn list_for_member(
        &self,
        member: UserId,
        query: TaskListQuery,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        let phases = listing::phases(&query);
        let mut params = ListParams::new(member, query, limit);
        // One read transaction: the scope, both phases and the tags come from one snapshot.
        let (rows, tags) = self
            .pool
            .read(move |conn| {
                let mut rows: Vec<TaskRow> = Vec::new();
                if !listing::narrow_scope(conn, &mut params)? {
                    return Ok::<_, DbError>((rows, Vec::new()));
                }
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
        member: UserId,
        id: TaskId,
        decide: DecideUpdate,
    ) -> Result<UpdateOutcome, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        self.pool
            .write(move |conn| {
                let Some((row, access)) =
                    lock_task_and_access(conn, member, id, SiblingOrder::Leave)?
                else {
                    return Ok::<_, DbError>(UpdateOutcome::NotFound);
                };
                let (version, list) = (row.version, row.list_id);
                let current = row.into_domain(tags_of(conn, id)?)?;
                let (changes, now) = match decide(&current, access) {
                    UpdateDecision::Keep => return Ok(UpdateOutcome::Unchanged(current)),
                    UpdateDecision::Refuse => return Ok(UpdateOutcome::Refused),
                    UpdateDecision::Deny(refusal) => return Ok(UpdateOutcome::Denied(refusal)),
                    UpdateDecision::Write(changes, now) => (changes, now),
                };
                // A new assignee must be a member, and stay one until this commits.
                if let Some(assignee) = changes
                    .assignee_id
                    .filter(|a| Some(*a) != current.assignee_id)
                    && locked_access(conn, list, user_key(assignee))?.is_none()
                {
                    return Ok(UpdateOutcome::UnknownAssignee);
                }
                let columns = TaskChangesRow::from_domain(&changes, now)?;
                let tags = TagRow::for_task(id, &changes.tags)?;
                // The version bump happens in the statement; its version check is redundant
                // under the lock, and kept as the last line of defence.
                // Natively and through the statement cache: the changeset writes every
                // column, so its text never varies (see `CachedUpdate`).
                let row: TaskRow = CachedUpdate::new(
                    "tasks",
                    (columns, tasks::version.eq(tasks::version + 1)),
                    tasks::id.eq(id).and(tasks::version.eq(version)),
                    tasks::all_columns,
                )
                .get_one(conn)?;
                // Tags as they were (most updates) are left alone: no delete and insert.
                if changes.tags != current.tags {
                    replace_tags(conn, id, &tags)?;
                }
                record_task_change(conn, list, id, ChangeOp::Upsert, now)?;
                let tags = tags.into_iter().map(|t| t.tag).collect();
                Ok(UpdateOutcome::Updated(row.into_domain(tags)?))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn delete_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecideDelete,
    ) -> Result<DeleteOutcome, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        self.pool
            .write(move |conn| {
                // The sibling order too: a concurrent move must not put a task under one of
                // the tasks going to the trash after their subtree was read.
                let Some((row, access)) =
                    lock_task_and_access(conn, member, id, SiblingOrder::Lock)?
                else {
                    return Ok::<_, DbError>(DeleteOutcome::NotFound);
                };
                let list = row.list_id;
                let current = row.into_domain(tags_of(conn, id)?)?;
                match decide(&current, access) {
                    DeleteDecision::Refuse => return Ok(DeleteOutcome::VersionMismatch),
                    DeleteDecision::Deny(refusal) => return Ok(DeleteOutcome::Denied(refusal)),
                    DeleteDecision::Delete => {}
                }
                // The domain gives a delete no instant: the trash and the changes are stamped
                // by the same clock the domain uses.
                let now = SystemClock.now();
                let trashed = live_subtree(conn, list, id)?;
                execute_natively(
                    conn,
                    diesel::update(tasks::table.filter(tasks::id.eq_any(trashed.clone()))).set((
                        tasks::trashed_at.eq(Some(stamp(now))),
                        tasks::trashed_by.eq(Some(member)),
                    )),
                )?;
                // Every trashed task leaves the members' view: one `delete` change each.
                for task in trashed {
                    record_task_change(conn, list, task, ChangeOp::Delete, now)?;
                }
                Ok(DeleteOutcome::Deleted)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn move_with(
        &self,
        member: UserId,
        id: TaskId,
        request: TaskMove,
        decide: DecideMove,
    ) -> Result<MoveOutcome, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        self.pool
            .write(move |conn| move_task(conn, member, id, request, decide))
            .await
            .map_err(StoreError::from)
    }

    async fn purge_trashed(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::Trash, before).await?)
    }
}

/// Whether a write changes which tasks are siblings where (and so takes the list's sibling
/// order, [`crate::backend::Engine::lock_sibling_order`], before the task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SiblingOrder {
    /// It does (a deletion takes a subtree out of the tree).
    Lock,
    /// It does not (an update).
    Leave,
}

/// The task, locked, and `member`'s access to its list, locked, in a write transaction:
/// `FOR SHARE` of the list (found and locked in one statement) and then of the membership,
/// then `FOR UPDATE` of the task on PostgreSQL (the list first, as every writer takes it,
/// so that a list's deletion or a removal and a task write never wait for each other); the
/// database write lock (BEGIN IMMEDIATE) on SQLite. Concurrent writes of the task queue here instead of racing, and a removal of the
/// membership waits for this write to end. `None` when the task is missing or `member` is
/// not a member of its list.
fn lock_task_and_access(
    conn: &mut DbConnection,
    member: SqlUuid,
    id: SqlUuid,
    order: SiblingOrder,
) -> Result<Option<(TaskRow, TaskAccess)>, DbError> {
    let Some(list) = conn.engine().lock_list_of_task(member, id)? else {
        return Ok(None);
    };
    // Read again under the list's lock: a membership removed meanwhile ends here.
    let Some(access) = locked_membership(conn, list, member)? else {
        return Ok(None);
    };
    if order == SiblingOrder::Lock {
        conn.engine().lock_sibling_order(list)?;
    }
    let Some(row) = conn.engine().lock_task_for_update(member, id)? else {
        return Ok(None);
    };
    if row.list_id != list {
        return Ok(None);
    }
    Ok(Some((row, access)))
}

/// The live task `root` and its live subtasks at any depth, level by level (a query per
/// level: at most four levels exist, and the loop stops at the first empty one). Inside the
/// write transaction that trashes them, so the tree cannot change underneath.
fn live_subtree(
    conn: &mut DbConnection,
    list: SqlUuid,
    root: SqlUuid,
) -> QueryResult<Vec<SqlUuid>> {
    let mut all = vec![root];
    let mut level = vec![root];
    // Bounded even if stored data held a cycle (the domain never makes one): deeper than
    // the four levels a tree may have is never read.
    for _ in 0..8 {
        if level.is_empty() {
            break;
        }
        level = load_natively(
            conn,
            tasks::table
                .filter(tasks::list_id.eq(list))
                .filter(tasks::parent_id.eq_any(level))
                .filter(tasks::trashed_at.is_null())
                .select(tasks::id),
        )?;
        all.extend(level.iter().copied());
    }
    Ok(all)
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

/// [`TaskRepository::move_with`], inside its write transaction.
fn move_task(
    conn: &mut DbConnection,
    member: SqlUuid,
    id: SqlUuid,
    request: TaskMove,
    decide: DecideMove,
) -> Result<MoveOutcome, DbError> {
    let member_of: is_member_of_tasks_list = is_member_of_tasks_list(member);
    let source: Option<SqlUuid> = tasks::table
        .filter(tasks::id.eq(id))
        .filter(tasks::trashed_at.is_null())
        .filter(member_of)
        .select(tasks::list_id)
        .first(conn)
        .optional()?;
    let Some(source) = source else {
        return Ok(MoveOutcome::NotFound);
    };
    let target = list_key(request.target_list(taskapi_domain::ListId::from_uuid(source.0)));
    // Both lists' access, then both lists' sibling order, each in the lists' id order, so
    // that two moves between the same lists in opposite directions take turns instead of
    // waiting for each other; then the task.
    let mut lists = vec![source, target];
    lists.sort_unstable();
    lists.dedup();
    let mut source_access = None;
    let mut target_access = None;
    for &list in &lists {
        let access = locked_access(conn, list, member)?;
        if list == source {
            source_access = access;
        }
        if list == target {
            target_access = access;
        }
    }
    let Some(source_access) = source_access else {
        return Ok(MoveOutcome::NotFound);
    };
    let Some(target_access) = target_access else {
        return Ok(MoveOutcome::UnknownList);
    };
    for &list in &lists {
        conn.engine().lock_sibling_order(list)?;
    }
    let Some(row) = conn.engine().lock_task_for_update(member, id)? else {
        return Ok(MoveOutcome::NotFound);
    };
    if row.list_id != source {
        return Ok(MoveOutcome::NotFound);
    }
    let current = row.into_domain(tags_of(conn, id)?)?;
    let aim = request.target(&current);
    let parent = aim.parent_id.map(task_key);
    let ancestors = match parent {
        None => Some(Vec::new()),
        Some(parent) => tree::ancestry(conn, target, parent)?,
    };
    let live_below = tree::descendants(conn, source, id, true)?;
    let neighbours = match aim.place {
        Place::Stay => Some((None, None)),
        Place::First => Some((
            None,
            tree::sibling_position(conn, target, parent, Some(id), Edge::Least)?,
        )),
        Place::Last => Some((
            tree::sibling_position(conn, target, parent, Some(id), Edge::Greatest)?,
            None,
        )),
        Place::After(sibling) => {
            match tree::position_of_sibling(conn, target, parent, task_key(sibling), id)? {
                None => None,
                Some(before) => {
                    let after = tree::sibling_position(
                        conn,
                        target,
                        parent,
                        Some(id),
                        Edge::LeastAbove(before.as_str()),
                    )?;
                    Some((Some(before), after))
                }
            }
        }
    };
    let changes_list = target != source;
    let assignee_stays = match current.assignee_id {
        Some(assignee) if changes_list => {
            locked_access(conn, target, user_key(assignee))?.is_some()
        }
        _ => true,
    };
    let facts = MoveFacts {
        task: &current,
        target: aim,
        source: source_access,
        destination: target_access,
        ancestors,
        subtree_height: u32::try_from(live_below.len() + 1).unwrap_or(u32::MAX),
        neighbours,
        assignee_stays,
    };
    let (position, at, clear_assignee) = match decide(&facts) {
        MoveDecision::Keep => return Ok(MoveOutcome::Unchanged(current)),
        MoveDecision::Refuse => return Ok(MoveOutcome::Refused),
        MoveDecision::Deny(refusal) => return Ok(MoveOutcome::Denied(refusal)),
        MoveDecision::Invalid(placement) => return Ok(MoveOutcome::Invalid(placement)),
        MoveDecision::Write {
            position,
            at,
            clear_assignee,
        } => (position, at, clear_assignee),
    };
    let assignee = if clear_assignee {
        None
    } else {
        current.assignee_id.map(user_key)
    };
    // Through the statement cache: these columns, always (see `CachedUpdate`).
    let moved: TaskRow = CachedUpdate::new(
        "tasks",
        (
            tasks::list_id.eq(target),
            tasks::parent_id.eq(parent),
            tasks::position.eq(position.as_str().to_owned()),
            tasks::assignee_id.eq(assignee),
            tasks::updated_at.eq(stamp(at)),
            tasks::version.eq(tasks::version + 1),
        ),
        tasks::id.eq(id).and(tasks::version.eq(current.version)),
        tasks::all_columns,
    )
    .get_one(conn)?;
    let mut moved_ids = vec![id];
    if changes_list {
        // The subtasks go along, trashed ones too (their trash follows their parent); each
        // is a change of its own, with its version bumped, and keeps its assignee only if
        // they are a member of the target list.
        let below: Vec<SqlUuid> = tree::descendants(conn, source, id, false)?
            .into_iter()
            .flatten()
            .collect();
        if !below.is_empty() {
            execute_natively(
                conn,
                diesel::update(tasks::table.filter(tasks::id.eq_any(below.clone()))).set((
                    tasks::list_id.eq(target),
                    tasks::updated_at.eq(stamp(at)),
                    tasks::version.eq(tasks::version + 1),
                )),
            )?;
            execute_natively(
                conn,
                diesel::update(
                    tasks::table
                        .filter(tasks::id.eq_any(below.clone()))
                        .filter(tasks::assignee_id.is_not_null())
                        .filter(dsl::not(
                            tasks::assignee_id.eq_any(
                                crate::schema::list_members::table
                                    .filter(crate::schema::list_members::list_id.eq(target))
                                    .select(crate::schema::list_members::user_id.nullable()),
                            ),
                        )),
                )
                .set(tasks::assignee_id.eq(None::<SqlUuid>)),
            )?;
            // Only the live ones left the source list's view; trashed ones already did.
            let live: std::collections::HashSet<SqlUuid> =
                live_below.into_iter().flatten().collect();
            moved_ids.extend(below.into_iter().filter(|t| live.contains(t)));
        }
        // Members of the source list see each moved task go first; members of both then
        // see it come back in the target list (changes are read in the order recorded).
        for &task in &moved_ids {
            record_task_change(conn, source, task, ChangeOp::Delete, at)?;
        }
    }
    for &task in &moved_ids {
        record_task_change(conn, target, task, ChangeOp::Upsert, at)?;
    }
    let tags = tags_of(conn, id)?;
    Ok(MoveOutcome::Moved(moved.into_domain(tags)?))
}
