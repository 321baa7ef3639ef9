//! taskapi's domain: entities and value objects, the ports adapters implement, and the
//! use-case services (`AccountService`, `AdminService`, `ChangeService`, `RecoveryService`,
//! `TaskService`), grouped by area: `accounts`, `tasks`, `changes`, `admin`, `mail` and
//! `recovery`, on top of a few shared modules (ids, validation, the
//! storage error, pages, the clock and id ports).
//!
//! Nothing here knows about HTTP, SQL, JWT or bcrypt: adapters implement the port traits and
//! the binary wires them together. Every public item has one path: the crate root.

mod accounts;
mod admin;
mod changes;
mod error;
mod events;
mod ids;
mod lists;
mod mail;
mod paging;
mod ports;
mod recovery;
mod tasks;
mod trash;
mod validation;

#[cfg(test)]
mod tests;

pub use accounts::*;
pub use admin::*;
pub use changes::*;
pub use error::{BoxError, StoreError};
pub use events::*;
pub use ids::{ApiTokenId, InvitationId, ListId, SessionId, TaskId, UserId};
pub use lists::*;
pub use mail::*;
pub use paging::{Page, PageSize, PageSizeError};
pub use ports::{Clock, IdGenerator, SystemClock, UuidV7Generator};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockClock, MockIdGenerator};
pub use recovery::*;
pub use tasks::*;
pub use trash::*;
pub use validation::{FieldError, ValidationErrors};
