//! What can go wrong with lists.

use thiserror::Error;

use crate::{CredentialError, ListRole, StoreError, TextError};

/// Failures of the list use cases.
#[derive(Debug, Error)]
pub enum ListError {
    /// The caller's credential does not allow this (an API token without `lists:read` or
    /// `lists:write`).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// No such list for this caller: missing, one they are not a member of, or an invalid
    /// id (indistinguishable on purpose).
    #[error("list not found")]
    NotFound,
    /// The caller is a member, but their role does not allow this.
    #[error("this needs the {} role in the list", needs.as_str())]
    Forbidden {
        /// The least role that would allow it.
        needs: ListRole,
    },
    /// The inbox cannot be renamed, archived, shared or deleted.
    #[error("the inbox cannot be renamed, archived, shared or deleted")]
    Inbox,
    /// No such member of the list (for a caller who may see its members).
    #[error("member not found")]
    MemberNotFound,
    /// No such pending invitation for this caller.
    #[error("invitation not found")]
    InvitationNotFound,
    /// The change would leave the list without an owner.
    #[error("a list keeps at least one owner")]
    LastOwner,
    /// The version condition names a version the list no longer has.
    #[error("the list has changed since the version the request was based on")]
    VersionMismatch,
    /// The caller already owns as many lists as an account may; nothing was stored.
    #[error("an account may own at most {limit} lists")]
    QuotaExceeded {
        /// The most lists an account may own.
        limit: u64,
    },
    /// The list's members and pending invitations already number `lists.max_members`.
    #[error("a list may have at most {limit} members, pending invitations included")]
    Full {
        /// The most members (with pending invitations) a list may have.
        limit: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a list name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ListNameError(pub TextError);
