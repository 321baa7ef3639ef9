//! The task tree as storage reads it for placing tasks: the siblings' positions around a
//! place, a parent's ancestors, a subtree's levels. Every function runs inside the write
//! transaction that places a task, after [`crate::backend::Engine::lock_sibling_order`],
//! so that no other placement in the list commits in between; each is one seek of an index
//! (`(list_id, parent_id, position, id)` for siblings, the primary key for parents, the
//! `parent_id` index for subtasks), and the walks are bounded by the tree's depth.

use diesel::prelude::*;
use taskapi_domain::{MAX_TASK_DEPTH, Position, StoreError, TaskId};

use crate::backend::{DbConnection, load_natively};
use crate::errors::DbError;
use crate::schema::tasks;
use crate::sql_types::SqlUuid;

/// How far the walks go at most: past the deepest a tree may be, so that they end even on
/// data that broke the rules (a cycle the domain never makes).
const WALK_LIMIT: u32 = 2 * MAX_TASK_DEPTH;

/// A stored position, checked.
pub(crate) fn stored_position(raw: &str) -> Result<Position, DbError> {
    Position::parse(raw).map_err(|e| {
        DbError::Store(StoreError::internal(format!(
            "stored task position {raw:?} is not one: {e}"
        )))
    })
}

/// Which end of the siblings, or which sibling, a position is looked for at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Edge<'a> {
    /// The smallest position.
    Least,
    /// The greatest position.
    Greatest,
    /// The smallest position greater than this one.
    LeastAbove(&'a str),
}

/// A position at `edge` among the live tasks of `list` under `parent` (`None`: the top
/// level), leaving out the task `except`, if there are any.
pub(crate) fn sibling_position(
    conn: &mut DbConnection,
    list: SqlUuid,
    parent: Option<SqlUuid>,
    except: Option<SqlUuid>,
    edge: Edge<'_>,
) -> Result<Option<Position>, DbError> {
    let mut siblings = tasks::table
        .filter(tasks::list_id.eq(list))
        .filter(tasks::trashed_at.is_null())
        .select(tasks::position)
        .into_boxed();
    siblings = match parent {
        Some(parent) => siblings.filter(tasks::parent_id.eq(parent)),
        None => siblings.filter(tasks::parent_id.is_null()),
    };
    if let Some(except) = except {
        siblings = siblings.filter(tasks::id.ne(except));
    }
    siblings = match edge {
        Edge::Least => siblings.order(tasks::position.asc()),
        Edge::Greatest => siblings.order(tasks::position.desc()),
        Edge::LeastAbove(above) => siblings
            .filter(tasks::position.gt(above.to_owned()))
            .order(tasks::position.asc()),
    };
    let raw: Option<String> = siblings.first(conn).optional()?;
    raw.as_deref().map(stored_position).transpose()
}

/// The greatest position among the live tasks of `list` under `parent`: what a task placed
/// last goes after.
pub(crate) fn greatest_sibling_position(
    conn: &mut DbConnection,
    list: SqlUuid,
    parent: Option<SqlUuid>,
) -> Result<Option<Position>, DbError> {
    sibling_position(conn, list, parent, None, Edge::Greatest)
}

/// The position of `sibling` if it is a live task of `list` under `parent` (and not the
/// task `except`).
pub(crate) fn position_of_sibling(
    conn: &mut DbConnection,
    list: SqlUuid,
    parent: Option<SqlUuid>,
    sibling: SqlUuid,
    except: SqlUuid,
) -> Result<Option<Position>, DbError> {
    if sibling == except {
        return Ok(None);
    }
    let found: Option<(Option<SqlUuid>, String)> = tasks::table
        .filter(tasks::id.eq(sibling))
        .filter(tasks::list_id.eq(list))
        .filter(tasks::trashed_at.is_null())
        .select((tasks::parent_id, tasks::position))
        .first(conn)
        .optional()?;
    match found {
        Some((found_parent, raw)) if found_parent == parent => stored_position(&raw).map(Some),
        _ => Ok(None),
    }
}

/// `parent` and its ancestors, parent first, if `parent` is a live task of `list`; a query
/// per level.
pub(crate) fn ancestry(
    conn: &mut DbConnection,
    list: SqlUuid,
    parent: SqlUuid,
) -> Result<Option<Vec<TaskId>>, DbError> {
    let mut chain = Vec::new();
    let mut next = Some(parent);
    while let Some(id) = next {
        if chain.len() >= WALK_LIMIT as usize {
            break;
        }
        let found: Option<Option<SqlUuid>> = tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::list_id.eq(list))
            .filter(tasks::trashed_at.is_null())
            .select(tasks::parent_id)
            .first(conn)
            .optional()?;
        let Some(up) = found else {
            // The parent itself must be there; an ancestor missing above it (data the
            // rules never make) ends the chain.
            return Ok((!chain.is_empty()).then_some(chain));
        };
        chain.push(TaskId::from_uuid(id.0));
        next = up;
    }
    Ok(Some(chain))
}

/// The subtasks of `root` (a task of `list`) at every depth, level by level (a query per
/// level), live ones only or trashed ones too; `root` itself is not included.
pub(crate) fn descendants(
    conn: &mut DbConnection,
    list: SqlUuid,
    root: SqlUuid,
    live_only: bool,
) -> QueryResult<Vec<Vec<SqlUuid>>> {
    let mut levels = Vec::new();
    let mut level = vec![root];
    for _ in 0..WALK_LIMIT {
        // By list and parent (a subtree never spans lists): one range of the list's
        // (list_id, parent_id, …) index, which SQLite's planner takes even when its statistics
        // say that nearly every task has the same (null) parent.
        let below = tasks::table
            .filter(tasks::list_id.eq(list))
            .filter(tasks::parent_id.eq_any(level));
        level = if live_only {
            load_natively(
                conn,
                below.filter(tasks::trashed_at.is_null()).select(tasks::id),
            )?
        } else {
            load_natively(conn, below.select(tasks::id))?
        };
        if level.is_empty() {
            break;
        }
        levels.push(level.clone());
    }
    Ok(levels)
}
