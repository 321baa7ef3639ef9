//! Placing tasks in the tree: where a new task goes (last among its siblings), and what a
//! move (`POST /tasks/{id}/move`) asks for and decides. Storage gathers the facts under its
//! locks (the neighbours' positions, the target parent's ancestors, the subtree's height,
//! the caller's access to both lists) and these functions decide on them, so that the rules
//! live here and are applied atomically there.

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::{
    AccessRefusal, ListId, Position, PositionError, Task, TaskAccess, TaskId, TreeError,
    VersionCondition, check_depth, check_move,
};

/// Why a task cannot be placed where it was asked to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PlacementError {
    /// The parent named is not a task of the target list (missing, trashed, or elsewhere).
    #[error("the parent is not a task of the target list")]
    UnknownParent,
    /// The sibling named by `after_id` is not a task under the target parent (or is the
    /// moved task itself).
    #[error("the task to place it after is not a sibling under the target parent")]
    UnknownSibling,
    /// The tree's rules: too deep, or a cycle.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// No order key fits between the neighbours (after very many insertions into one gap).
    #[error("there is no room between these neighbours: move one of them first")]
    NoRoom,
}

impl From<PositionError> for PlacementError {
    /// Only [`PositionError::NoRoom`] can come of placing between stored keys; anything else
    /// would be stored keys out of order, which the one storage order never gives.
    fn from(_: PositionError) -> Self {
        PlacementError::NoRoom
    }
}

/// Where new task `task` goes: last among its siblings, after `last` (the greatest position
/// of the live siblings, `None` when there are none), under a parent at `parent_depth` (`0`:
/// the task is top-level; see [`check_depth`]), at a position no other task can be given
/// ([`Position::append_unique`]), so that tasks created at the same moment never share
/// one, whether or not their writers take turns.
///
/// # Errors
/// [`PlacementError::Tree`] when the parent is already at the deepest level;
/// [`PlacementError::NoRoom`] in theory only.
pub fn place_new_task(
    parent_depth: u32,
    last: Option<&Position>,
    task: TaskId,
) -> Result<Position, PlacementError> {
    check_depth(parent_depth, 1)?;
    Ok(Position::append_unique(last, task)?)
}

/// What a client asks of a move; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskMove {
    /// The list to move it to, with its subtasks.
    pub list_id: Option<ListId>,
    /// The new parent (`Some(None)`: the top level).
    pub parent_id: Option<Option<TaskId>>,
    /// The sibling to place it right after (`Some(None)`: first).
    pub after_id: Option<Option<TaskId>>,
}

/// Where a moved task goes among its new siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Where it is (neither its list, its parent nor its place is asked to change).
    Stay,
    /// Before every sibling.
    First,
    /// Right after this sibling.
    After(TaskId),
    /// After every sibling: where a task asked to change list or parent, but not given a
    /// place, goes.
    Last,
}

/// A move's target, resolved against the task's current place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveTarget {
    /// The list it goes to.
    pub list_id: ListId,
    /// Its parent there (`None`: the top level).
    pub parent_id: Option<TaskId>,
    /// Its place among its siblings there.
    pub place: Place,
}

impl TaskMove {
    /// The list the move takes the task to, now in `current_list`.
    pub fn target_list(&self, current_list: ListId) -> ListId {
        self.list_id.unwrap_or(current_list)
    }

    /// What the move aims at for `task` as it is: omitted fields stay, except that a task
    /// moved to another list without a parent goes to its top level (its parent stays
    /// behind), and a task given a new list or parent without a place goes last there.
    pub fn target(&self, task: &Task) -> MoveTarget {
        let list_id = self.target_list(task.list_id);
        let parent_id = match self.parent_id {
            Some(parent) => parent,
            None if list_id == task.list_id => task.parent_id,
            None => None,
        };
        let place = match self.after_id {
            Some(None) => Place::First,
            Some(Some(sibling)) => Place::After(sibling),
            None if list_id == task.list_id && parent_id == task.parent_id => Place::Stay,
            None => Place::Last,
        };
        MoveTarget {
            list_id,
            parent_id,
            place,
        }
    }
}

/// What storage found, under its locks, about a move of `task` to `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveFacts<'a> {
    /// The task as it is.
    pub task: &'a Task,
    /// Where the move aims (from [`TaskMove::target`]).
    pub target: MoveTarget,
    /// The caller's access to the task's list.
    pub source: TaskAccess,
    /// The caller's access to the target list (the same list: the same access).
    pub destination: TaskAccess,
    /// The target parent and its ancestors, parent first (empty at the top level); `None`
    /// when the target parent is not a live task of the target list.
    pub ancestors: Option<Vec<TaskId>>,
    /// How many levels the task and its live subtasks take (`1`: no subtasks).
    pub subtree_height: u32,
    /// The neighbours' positions among the target siblings (the task itself left out):
    /// the one it goes after and the one it goes before (`None`: an open end). `None` as a
    /// whole when the sibling named by [`Place::After`] is not one.
    pub neighbours: Option<(Option<Position>, Option<Position>)>,
    /// Whether the task's assignee (if any) is a member of the target list.
    pub assignee_stays: bool,
}

/// What a move does, decided on [`MoveFacts`].
#[derive(Debug, Clone, PartialEq)]
pub enum MoveDecision {
    /// Write the task at the target, with this position, stamped `at`; clear its assignee
    /// (and its subtasks' assignees who are not members of the target list) if
    /// `clear_assignee`.
    Write {
        /// Its new position among its new siblings.
        position: Position,
        /// The instant of the change (`updated_at`).
        at: DateTime<Utc>,
        /// Whether the assignee goes (not a member of the target list).
        clear_assignee: bool,
    },
    /// Nothing changes: the task already is where the move asks.
    Keep,
    /// The version condition does not hold.
    Refuse,
    /// The caller may not write one of the lists.
    Deny(AccessRefusal),
    /// The target is not a place the task can go.
    Invalid(PlacementError),
}

/// Decides a move: the caller must be allowed to write both lists (the refusal of the
/// task's own list first), then the version condition must hold, then the target must be
/// valid (parent, sibling, depth, no cycle), and a move to where the task already is
/// changes nothing. `now` is the instant of the change; `updated_at` never goes backwards.
pub fn decide_move(
    facts: &MoveFacts<'_>,
    condition: Option<VersionCondition>,
    now: DateTime<Utc>,
) -> MoveDecision {
    let task = facts.task;
    for access in [facts.source, facts.destination] {
        if let Err(refusal) = access.check_write() {
            return MoveDecision::Deny(refusal);
        }
    }
    if condition.is_some_and(|c| !c.admits(task.version)) {
        return MoveDecision::Refuse;
    }
    let Some(ancestors) = &facts.ancestors else {
        return MoveDecision::Invalid(PlacementError::UnknownParent);
    };
    if let Err(tree) = check_move(task.id, facts.subtree_height, ancestors) {
        return MoveDecision::Invalid(tree.into());
    }
    let target = facts.target;
    let same_place = target.list_id == task.list_id && target.parent_id == task.parent_id;
    if target.place == Place::Stay {
        return MoveDecision::Keep;
    }
    let Some((before, after)) = &facts.neighbours else {
        return MoveDecision::Invalid(PlacementError::UnknownSibling);
    };
    // Already between those neighbours: the order would not change.
    if same_place && let Ok(current) = Position::parse(&task.position) {
        let after_before = before.as_ref().is_none_or(|b| *b < current);
        let before_after = after.as_ref().is_none_or(|a| current < *a);
        if after_before && before_after {
            return MoveDecision::Keep;
        }
    }
    match Position::between(before.as_ref(), after.as_ref()) {
        Ok(position) => MoveDecision::Write {
            position,
            at: now.max(task.updated_at),
            clear_assignee: !facts.assignee_stays,
        },
        Err(e) => MoveDecision::Invalid(e.into()),
    }
}
