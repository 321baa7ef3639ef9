//! Tasks: the task model and its values, listing (filters, sort orders, cursors),
//! idempotent creation, and the `TaskService` use cases.

mod error;
mod idempotency;
mod listing;
mod ports;
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
pub use ports::{
    DecideDelete, DecideUpdate, DeleteDecision, DeleteOutcome, IdempotencyStore, TaskInsert,
    TaskRepository, UpdateDecision, UpdateOutcome,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockIdempotencyStore, MockTaskRepository};
pub use service::TaskService;
pub(crate) use service::page_of;
pub use task::{Task, TaskChanges, TaskDraft, TaskPatch, VersionCondition, position_from_id};
pub use values::{Description, Priority, Tag, Tags, TaskTitle};
