//! taskapi's domain: the entities and value objects of SPEC.md, the ports adapters implement,
//! and the use-case services (`AccountService`, `TaskService`).
//!
//! Nothing here knows about HTTP, SQL, JWT or bcrypt: adapters implement the traits in
//! [`ports`] and the binary wires them together.

pub mod accounts;
pub mod error;
pub mod ids;
pub mod idempotency;
pub mod listing;
pub mod ports;
pub mod tasks;
pub mod validation;

pub use accounts::{
    AccessClaims, AccountService, Email, IssuedToken, NewUser, Password, PasswordHash, Principal,
    Role, User,
};
pub use error::{AccountError, AuthError, StoreError, TaskError};
pub use idempotency::{IdempotencyKey, IdempotentOutcome, Reservation, StoredResponse};
pub use ids::{TaskId, UserId};
pub use listing::{
    Page, PageSize, SearchText, SortKey, TaskCursor, TaskFilter, TaskListQuery, TaskSort, TaskSortField,
};
pub use tasks::{
    Description, IfMatch, Priority, Tag, Tags, Task, TaskChanges, TaskDraft, TaskPatch, TaskService,
    TaskTitle,
};
pub use validation::{FieldError, ValidationErrors};
