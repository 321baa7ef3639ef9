//! taskapi's domain: the entities and value objects of SPEC.md, the ports adapters implement,
//! and the use-case services (`AccountService`, `TaskService`).
//!
//! Nothing here knows about HTTP, SQL, JWT or bcrypt: adapters implement the traits in
//! [`ports`] and the binary wires them together.

pub mod accounts;
pub mod error;
pub mod ids;
pub mod ports;
pub mod tasks;
pub mod validation;

pub use accounts::{
    AccessClaims, AccountService, Email, IssuedToken, NewUser, Password, PasswordHash, Principal,
    Role, User,
};
pub use error::{AccountError, AuthError, StoreError, TaskError};
pub use ids::{TaskId, UserId};
pub use tasks::{
    Description, Priority, Tag, Tags, Task, TaskChanges, TaskDraft, TaskPatch, TaskService,
    TaskTitle,
};
pub use validation::{FieldError, ValidationErrors};
