//! Tasks: the task model and its values, listing (filters, sort orders, cursors),
//! idempotent creation, sibling order and the task tree's rules, and the `TaskService` use
//! cases.

mod error;
mod idempotency;
mod listing;
mod moving;
mod ports;
mod position;
mod service;
mod task;
mod values;

#[cfg(test)]
mod tests;

pub use error::{
    DescriptionError, IdempotencyKeyError, PriorityError, TagProblem, TagsError, TaskError,
    TextError,
};
pub use idempotency::{Created, HeldKey, IdempotencyKey, IdempotentRequest, Reservation};
pub use listing::{
    SearchText, SortKey, TaskCursor, TaskFilter, TaskListQuery, TaskPage, TaskSort, TaskSortField,
};
pub use moving::{
    MoveDecision, MoveFacts, MoveTarget, Place, PlacementError, TaskMove, decide_move,
    place_new_task,
};
pub use ports::{
    DecideDelete, DecideMove, DecideUpdate, DeleteDecision, DeleteOutcome, IdempotencyStore,
    MoveOutcome, TaskInsert, TaskRepository, UpdateDecision, UpdateOutcome,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockIdempotencyStore, MockTaskRepository};
pub use position::{
    MAX_TASK_DEPTH, Position, PositionError, TreeError, check_depth, check_move, check_no_cycle,
};
pub use service::TaskService;
pub(crate) use service::page_of;
pub use task::{Task, TaskChanges, TaskDraft, TaskPatch, VersionCondition, position_from_id};
pub use values::{Description, Priority, Tag, Tags, TaskTitle};
