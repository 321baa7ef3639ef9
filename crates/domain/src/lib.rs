//! taskapi's domain: entities and value objects, the ports adapters implement, and the
//! use-case services (`AccountService`, `AdminService`, `TaskService`), grouped by area:
//! `accounts`, `tasks` and `admin`, on top of a few shared modules (ids, validation, the
//! storage error, pages, the clock and id ports).
//!
//! Nothing here knows about HTTP, SQL, JWT or bcrypt: adapters implement the port traits and
//! the binary wires them together. Every public item has one path: the crate root.

mod accounts;
mod admin;
mod error;
mod ids;
mod lists;
mod paging;
mod ports;
mod tasks;
mod validation;

#[cfg(test)]
mod tests;

pub use accounts::*;
pub use admin::*;
pub use error::{BoxError, StoreError};
pub use ids::{InvitationId, ListId, SessionId, TaskId, UserId};
pub use lists::*;
pub use paging::{Page, PageSize, PageSizeError};
pub use ports::{Clock, IdGenerator, SystemClock, UuidV7Generator};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockClock, MockIdGenerator};
pub use tasks::*;
pub use validation::{FieldError, ValidationErrors};
