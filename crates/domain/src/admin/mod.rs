//! Administration: listing, inspecting, changing and deleting accounts, and the
//! `AdminService` use cases. It works through the accounts' and the tasks' ports.

mod error;
mod listing;
mod service;

#[cfg(test)]
mod tests;

pub use error::AdminError;
pub use listing::{UserCursor, UserListQuery, UserPage, UserSort, UserSortField, UserSortKey};
pub use service::AdminService;
