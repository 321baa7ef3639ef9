//! [`TrashRepository`] over diesel: the trashed rows of `tasks` (`trashed_at` set). The
//! listing carries the caller's membership (as editor or owner) in its `WHERE` clause;
//! restores and purges run in one write transaction that locks the list's access first
//! ([`locked_access`]), then the list's sibling order ([`Engine::lock_sibling_order`]: the
//! list's restores and purges take turns, and no placement of a task in the list commits
//! between the read of the neighbours' positions and the restore), then the task rows it
//! reads and writes — the order every writer takes them in on PostgreSQL. The domain
//! decides on what was read there; each task restored or purged is recorded as a change in
//! the same transaction.
//!
//! [`Engine::lock_sibling_order`]: crate::backend::Engine::lock_sibling_order

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use taskapi_domain::{
    ChangeOp, DecidePurge, DecideRestore, ListRole, Position, PurgeDecision, PurgeOutcome,
    RestoreDecision, RestoreOutcome, RestoreSite, SiblingClash, StoreError, TaskId, TrashQuery,
    TrashRepository, TrashedTask, UserId,
};

use crate::access::is_member_of_tasks_list;
use crate::backend::{DbConnection, execute_natively, load_natively};
use crate::changes::record_task_change;
use crate::errors::DbError;
use crate::pool::DbPool;
use crate::rows::{TaskRow, list_key, stamp, task_key, user_key};
use crate::schema::tasks;
use crate::sql_types::{SqlTimestamp, SqlUuid};
use crate::tasks::{locked_access, tags_of_tasks};
use crate::tree::greatest_sibling_position;

/// Levels of subtasks ever followed: twice the four a tree may have, so that even stored
/// data holding a cycle (the domain never makes one) bounds every walk.
const MAX_WALK: usize = 8;

/// One page of `$member`'s trash as a diesel query bound to `$page` for `$body`: the trashed
/// tasks of the lists they edit or own (with `$only`, of that list, archived or not; else of
/// their unarchived lists), the membership a subquery of the statement itself, newest
/// deletion first, from just after `$after` (`(trashed_at, id)`), at most `$limit`. With
/// `$seek`, the one list the page can hold (the one named, or the caller's only one): then
/// the page is one backward range of `tasks_trash_by_list`, in its order. A macro so that
/// the listing and the plan test (on each engine's own connection) build the very same
/// statement.
macro_rules! trash_page {
    ($member:expr, $only:expr, $seek:expr, $after:expr, $limit:expr, |$page:ident| $body:expr) => {{
        use diesel::prelude::*;
        use $crate::schema::{list_members, lists, tasks};
        let member: $crate::sql_types::SqlUuid = $member;
        let only: Option<$crate::sql_types::SqlUuid> = $only;
        let seek: Option<$crate::sql_types::SqlUuid> = $seek;
        let after: Option<($crate::sql_types::SqlTimestamp, $crate::sql_types::SqlUuid)> = $after;
        let limit: i64 = $limit;
        let roles = [
            taskapi_domain::ListRole::Editor.as_str(),
            taskapi_domain::ListRole::Owner.as_str(),
        ];
        let editable = list_members::table
            .inner_join(lists::table)
            .filter(list_members::user_id.eq(member))
            .filter(list_members::role.eq_any(roles))
            .filter(
                lists::archived
                    .eq(false)
                    .or(list_members::list_id.nullable().eq(only)),
            )
            .select(list_members::list_id);
        let mut page = tasks::table
            .filter(tasks::trashed_at.is_not_null())
            .filter(tasks::list_id.eq_any(editable))
            .into_boxed();
        if let Some(list) = seek {
            page = page.filter(tasks::list_id.eq(list));
        }
        if let Some((at, id)) = after {
            // The cursor as a plain range, then exactly: both engines seek the index to it.
            page = page
                .filter(tasks::trashed_at.le(at))
                .filter(tasks::trashed_at.lt(at).or(tasks::id.lt(id)));
        }
        let $page = page
            .order((tasks::trashed_at.desc(), tasks::id.desc()))
            .limit(limit)
            .select(tasks::all_columns);
        $body
    }};
}
// The engines use it for the plan test.
#[cfg(feature = "test-support")]
pub(crate) use trash_page;

/// The trash in the `tasks` table.
#[derive(Debug, Clone)]
pub(crate) struct DieselTrashRepository {
    pool: DbPool,
}

impl DieselTrashRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// A stored position, which the domain only ever wrote valid.
fn position_of(stored: &str) -> Result<Position, StoreError> {
    Position::parse(stored)
        .map_err(|e| StoreError::internal(format!("stored position {stored:?}: {e}")))
}

/// The trashed task `id`, if `member` is a member of its list: its list.
fn trashed_list(
    conn: &mut DbConnection,
    member: SqlUuid,
    id: SqlUuid,
) -> QueryResult<Option<SqlUuid>> {
    let member_of: is_member_of_tasks_list = is_member_of_tasks_list(member);
    tasks::table
        .filter(tasks::id.eq(id))
        .filter(tasks::trashed_at.is_not_null())
        .filter(member_of)
        .select(tasks::list_id)
        .first(conn)
        .optional()
}

/// The trashed task `id` of `list`, read again once the list is locked.
fn trashed_row(
    conn: &mut DbConnection,
    list: SqlUuid,
    id: SqlUuid,
) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .filter(tasks::id.eq(id))
        .filter(tasks::list_id.eq(list))
        .filter(tasks::trashed_at.is_not_null())
        .select(tasks::all_columns)
        .first(conn)
        .optional()
}

/// The trashed subtasks of `root` at any depth, level by level; with `trashed_at`, only
/// those trashed at that instant (deleted with it). Returns them and the number of levels
/// the root and they take.
fn trashed_descendants(
    conn: &mut DbConnection,
    list: SqlUuid,
    root: SqlUuid,
    trashed_at: Option<SqlTimestamp>,
) -> QueryResult<(Vec<SqlUuid>, u32)> {
    let mut all = Vec::new();
    let mut level = vec![root];
    let mut height = 1;
    for _ in 0..MAX_WALK {
        // By list and parent (a subtree never spans lists): one range of the list's
        // (list_id, parent_id, …) index, which SQLite's planner takes even when its statistics
        // say that nearly every task has the same (null) parent.
        let under = tasks::table
            .filter(tasks::list_id.eq(list))
            .filter(tasks::parent_id.eq_any(level))
            .filter(tasks::trashed_at.is_not_null());
        level = match trashed_at {
            Some(at) => load_natively(
                conn,
                under.filter(tasks::trashed_at.eq(at)).select(tasks::id),
            )?,
            None => load_natively(conn, under.select(tasks::id))?,
        };
        if level.is_empty() {
            break;
        }
        height += 1;
        all.extend(level.iter().copied());
    }
    Ok((all, height))
}

/// The depth of the live task `parent` of `list` (`1` at the top level), locked against
/// other writers (its deletion waits for the restore under it to commit), or `None` when it
/// is trashed, gone or in another list.
fn live_parent_depth(
    conn: &mut DbConnection,
    member: SqlUuid,
    list: SqlUuid,
    parent: SqlUuid,
) -> QueryResult<Option<u32>> {
    let Some(row) = conn.engine().lock_task_for_update(member, parent)? else {
        return Ok(None);
    };
    if row.list_id != list {
        return Ok(None);
    }
    let mut depth = 1;
    let mut above = row.parent_id;
    while let Some(ancestor) = above {
        if depth > MAX_WALK as u32 {
            break;
        }
        depth += 1;
        above = tasks::table
            .filter(tasks::id.eq(ancestor))
            .select(tasks::parent_id)
            .first::<Option<SqlUuid>>(conn)
            .optional()?
            .flatten();
    }
    Ok(Some(depth))
}

/// The live sibling of `list` under `parent` (`None`: the top level) holding `position`,
/// if one does, and the next greater live sibling position.
fn clash_at(
    conn: &mut DbConnection,
    list: SqlUuid,
    parent: Option<SqlUuid>,
    position: &str,
) -> Result<Option<SiblingClash>, DbError> {
    let siblings = || {
        let q = tasks::table
            .filter(tasks::list_id.eq(list))
            .filter(tasks::trashed_at.is_null())
            .into_boxed();
        match parent {
            Some(parent) => q.filter(tasks::parent_id.eq(parent)),
            None => q.filter(tasks::parent_id.is_null()),
        }
    };
    let holder: Option<String> = siblings()
        .filter(tasks::position.eq(position))
        .select(tasks::position)
        .first(conn)
        .optional()?;
    let Some(holder) = holder else {
        return Ok(None);
    };
    let next: Option<String> = siblings()
        .filter(tasks::position.gt(position))
        .order(tasks::position.asc())
        .select(tasks::position)
        .first(conn)
        .optional()?;
    Ok(Some(SiblingClash {
        holder: position_of(&holder)?,
        next: next.as_deref().map(position_of).transpose()?,
    }))
}

/// The one unarchived list `member` edits or owns, if there is exactly one (an account
/// with nothing but its inbox): the page then seeks that list's range of the index.
pub(crate) fn only_editable_list(
    conn: &mut DbConnection,
    member: SqlUuid,
) -> QueryResult<Option<SqlUuid>> {
    use crate::schema::{list_members, lists};
    let lists: Vec<SqlUuid> = list_members::table
        .inner_join(lists::table)
        .filter(list_members::user_id.eq(member))
        .filter(list_members::role.eq_any([ListRole::Editor.as_str(), ListRole::Owner.as_str()]))
        .filter(lists::archived.eq(false))
        .select(list_members::list_id)
        .limit(2)
        .load(conn)?;
    Ok(match lists.as_slice() {
        [only] => Some(*only),
        _ => None,
    })
}

/// The tags of `id`, in order.
fn tags_of(conn: &mut DbConnection, id: SqlUuid) -> QueryResult<Vec<String>> {
    Ok(tags_of_tasks(conn, vec![id])?
        .into_iter()
        .map(|(_, tag)| tag)
        .collect())
}

#[async_trait]
impl TrashRepository for DieselTrashRepository {
    async fn list_for_member(
        &self,
        member: UserId,
        query: TrashQuery,
        limit: u32,
    ) -> Result<Vec<TrashedTask>, StoreError> {
        let member = user_key(member);
        let only = query.list_id.map(list_key);
        let after = query.after.map(|c| (stamp(c.trashed_at), task_key(c.id)));
        let (rows, tags) = self
            .pool
            .read(move |conn| {
                let seek = match only {
                    Some(list) => Some(list),
                    None => only_editable_list(conn, member)?,
                };
                let rows: Vec<TaskRow> =
                    trash_page!(member, only, seek, after, i64::from(limit), |page| {
                        page.load(conn)
                    })?;
                let tags = tags_of_tasks(conn, rows.iter().map(|r| r.id).collect())?;
                Ok::<_, DbError>((rows, tags))
            })
            .await?;
        let mut tags_by_task: HashMap<SqlUuid, Vec<String>> = HashMap::new();
        for (task, tag) in tags {
            tags_by_task.entry(task).or_default().push(tag);
        }
        rows.into_iter()
            .map(|row| {
                let trashed_at = row.trashed_at.map(|t| t.0).ok_or_else(|| {
                    StoreError::internal(format!("trashed task {} has no trashed_at", row.id.0))
                })?;
                let trashed_by = row.trashed_by.map(|u| UserId::from_uuid(u.0));
                let tags = tags_by_task.remove(&row.id).unwrap_or_default();
                Ok(TrashedTask {
                    task: row.into_domain(tags)?,
                    trashed_at,
                    trashed_by,
                })
            })
            .collect()
    }

    async fn restore_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecideRestore,
    ) -> Result<RestoreOutcome, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        self.pool
            .write(move |conn| {
                let Some(list) = trashed_list(conn, member, id)? else {
                    return Ok::<_, DbError>(RestoreOutcome::NotFound);
                };
                let Some(access) = locked_access(conn, list, member)? else {
                    return Ok(RestoreOutcome::NotFound);
                };
                conn.engine().lock_sibling_order(list)?;
                let Some(row) = trashed_row(conn, list, id)? else {
                    return Ok(RestoreOutcome::NotFound);
                };
                let Some(trashed_at) = row.trashed_at else {
                    return Ok(RestoreOutcome::NotFound);
                };
                let (subtasks, subtree_height) =
                    trashed_descendants(conn, list, id, Some(trashed_at))?;
                let parent_depth = match row.parent_id {
                    None => Some(0),
                    Some(parent) => live_parent_depth(conn, member, list, parent)?,
                };
                let clash = match parent_depth {
                    Some(_) => clash_at(conn, list, row.parent_id, &row.position)?,
                    None => None,
                };
                let last_top_level = greatest_sibling_position(conn, list, None)?;
                let tags = tags_of(conn, id)?;
                let site = RestoreSite {
                    task: row.into_domain(tags.clone())?,
                    trashed_at: trashed_at.0,
                    access,
                    subtree_height,
                    parent_depth,
                    clash,
                    last_top_level,
                };
                let (parent, position, at) = match decide(&site) {
                    RestoreDecision::Restore {
                        parent,
                        position,
                        at,
                    } => (parent, position, at),
                    RestoreDecision::Refuse => return Ok(RestoreOutcome::Refused),
                    RestoreDecision::Deny(refusal) => return Ok(RestoreOutcome::Denied(refusal)),
                    RestoreDecision::NoRoom => return Ok(RestoreOutcome::NoRoom),
                    RestoreDecision::Expired => return Ok(RestoreOutcome::NotFound),
                };
                // The root first, and only as it was read: a row the retention purge took
                // meanwhile (PostgreSQL) is not found, and nothing was written.
                let restored: Option<TaskRow> = diesel::update(
                    tasks::table
                        .filter(tasks::id.eq(id))
                        .filter(tasks::trashed_at.eq(trashed_at)),
                )
                .set((
                    tasks::trashed_at.eq(None::<SqlTimestamp>),
                    tasks::trashed_by.eq(None::<SqlUuid>),
                    tasks::parent_id.eq(parent.map(task_key)),
                    tasks::position.eq(position.as_str()),
                    tasks::updated_at.eq(stamp(at)),
                    tasks::version.eq(tasks::version + 1),
                ))
                .returning(tasks::all_columns)
                .get_result(conn)
                .optional()?;
                let Some(restored) = restored else {
                    return Ok(RestoreOutcome::NotFound);
                };
                if !subtasks.is_empty() {
                    execute_natively(
                        conn,
                        diesel::update(
                            tasks::table
                                .filter(tasks::id.eq_any(subtasks.clone()))
                                .filter(tasks::trashed_at.eq(trashed_at)),
                        )
                        .set((
                            tasks::trashed_at.eq(None::<SqlTimestamp>),
                            tasks::trashed_by.eq(None::<SqlUuid>),
                        )),
                    )?;
                }
                // Every restored task is back in the members' view: one `upsert` each.
                for task in std::iter::once(id).chain(subtasks) {
                    record_task_change(conn, list, task, ChangeOp::Upsert, at)?;
                }
                Ok(RestoreOutcome::Restored(restored.into_domain(tags)?))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn purge_with(
        &self,
        member: UserId,
        id: TaskId,
        decide: DecidePurge,
    ) -> Result<PurgeOutcome, StoreError> {
        let (member, id) = (user_key(member), task_key(id));
        self.pool
            .write(move |conn| {
                let Some(list) = trashed_list(conn, member, id)? else {
                    return Ok::<_, DbError>(PurgeOutcome::NotFound);
                };
                let Some(access) = locked_access(conn, list, member)? else {
                    return Ok(PurgeOutcome::NotFound);
                };
                // Restores of the list's trash take turns with purges: a subtask restored
                // meanwhile is never counted among the purged.
                conn.engine().lock_sibling_order(list)?;
                let Some(row) = trashed_row(conn, list, id)? else {
                    return Ok(PurgeOutcome::NotFound);
                };
                let tags = tags_of(conn, id)?;
                let task = row.into_domain(tags)?;
                match decide(&task, access) {
                    PurgeDecision::Purge => {}
                    PurgeDecision::Refuse => return Ok(PurgeOutcome::Refused),
                    PurgeDecision::Deny(refusal) => return Ok(PurgeOutcome::Denied(refusal)),
                }
                // Every subtask under a trashed task is trashed (a deletion trashes the live
                // subtree; a restore never puts a task under a trashed one), and all of them
                // go with it (`ON DELETE CASCADE`, tags included).
                let (subtasks, _) = trashed_descendants(conn, list, id, None)?;
                let deleted = diesel::delete(
                    tasks::table
                        .filter(tasks::id.eq(id))
                        .filter(tasks::trashed_at.is_not_null()),
                )
                .execute(conn)?;
                if deleted != 1 {
                    return Ok(PurgeOutcome::NotFound);
                }
                let now = taskapi_domain::Clock::now(&taskapi_domain::SystemClock);
                for task in std::iter::once(id).chain(subtasks) {
                    record_task_change(conn, list, task, ChangeOp::Delete, now)?;
                }
                Ok(PurgeOutcome::Purged)
            })
            .await
            .map_err(StoreError::from)
    }
}
