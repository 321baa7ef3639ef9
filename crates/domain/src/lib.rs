//! taskapi's domain: the entities and value objects of SPEC.md, the ports adapters implement,
//! and the use-case services (`AccountService`, `AdminService`, `TaskService`).
//!
//! Nothing here knows about HTTP, SQL, JWT or bcrypt: adapters implement the traits in
//! [`ports`] and the binary wires them together.

pub mod accounts;
pub mod admin;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod listing;
pub mod ports;
pub mod sessions;
pub mod tasks;
pub mod validation;

pub use accounts::{
    AccessClaims, AccountPorts, AccountService, Email, IssuedToken, NewUser, Password,
    PasswordHash, Principal, Role, SessionSettings, TokenPair, User,
};
pub use admin::{
    AdminService, UserCursor, UserListQuery, UserPage, UserSort, UserSortField, UserSortKey,
};
pub use error::{AccountError, AdminError, AuthError, StoreError, TaskError};
pub use idempotency::{HeldKey, IdempotencyKey, IdempotentOutcome, Reservation, StoredResponse};
pub use ids::{SessionId, TaskId, UserId};
pub use listing::{
    Page, PageSize, SearchText, SortKey, TaskCursor, TaskFilter, TaskListQuery, TaskSort,
    TaskSortField,
};
pub use sessions::{
    NewRefreshToken, RefreshSecret, RefreshTokenHash, RotateOutcome, Session, SessionCache,
};
pub use tasks::{
    Description, IfMatch, Priority, Tag, Tags, Task, TaskChanges, TaskDraft, TaskPatch,
    TaskService, TaskTitle,
};
pub use validation::{FieldError, ValidationErrors};
