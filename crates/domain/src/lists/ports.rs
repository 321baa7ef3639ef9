//! Ports: what the list use cases need from storage.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;

use crate::{
    List, ListDeleteDecision, ListId, ListListQuery, ListRefusal, ListUpdateDecision, NewList,
    StoreError, UserId,
};

/// Outcome of storing a new list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListInsert {
    /// Stored, its creator its only member, as owner.
    Inserted,
    /// The creator already owns the most lists allowed; nothing was written.
    QuotaExceeded,
}

/// The domain's decision function for one list update, given the list as the caller sees it.
pub type DecideListUpdate = Box<dyn FnOnce(&List) -> ListUpdateDecision + Send>;

/// The domain's decision function for one list deletion, given the list as the caller sees it.
pub type DecideListDelete = Box<dyn FnOnce(&List) -> ListDeleteDecision + Send>;

/// Outcome of a list update.
#[derive(Debug, Clone, PartialEq)]
pub enum ListUpdateOutcome {
    /// Changed; the list as it is now.
    Updated(List),
    /// Kept as it is.
    Unchanged(List),
    /// Refused; nothing changed.
    Refused(ListRefusal),
    /// The caller is not a member of a list with this id.
    NotFound,
}

/// Outcome of a list deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListDeleteOutcome {
    /// The list, its memberships, invitations and tasks are gone.
    Deleted,
    /// Refused; nothing changed.
    Refused(ListRefusal),
    /// The caller is not a member of a list with this id.
    NotFound,
}

/// Persistence of lists and their memberships. Every method is scoped by member: an adapter
/// MUST NOT return, change or delete a list the given user is not a member of, and MUST read
/// the membership in the same statement, or the same transaction holding it locked, as what
/// it allows (never a read followed by an unguarded write).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ListRepository: Send + Sync {
    /// Stores a new list, its creator its owner, provided the creator owns fewer than
    /// `max_lists` lists other than their inbox (`None`: no limit). Adapters MUST count in
    /// the same transaction as the insert, serialised with the creator's other inserts, so
    /// that concurrent creations cannot pass the limit together.
    async fn insert(&self, list: NewList, max_lists: Option<u64>)
    -> Result<ListInsert, StoreError>;

    /// The list with this id as `member` sees it (their role, the member count), if they are
    /// one of its members.
    async fn find_for_member(&self, member: UserId, id: ListId)
    -> Result<Option<List>, StoreError>;

    /// Up to `limit` of the lists `member` belongs to that match `query.filter`, in
    /// `query.sort` order (ties broken by id in the same direction), starting just after
    /// `query.after` when given. Adapters MUST seek to the cursor, never skip by offset.
    async fn list_for_member(
        &self,
        member: UserId,
        query: ListListQuery,
        limit: u32,
    ) -> Result<Vec<List>, StoreError>;

    /// Reads the list as `member` sees it, asks `decide`, and does what it says, atomically:
    /// the list and the membership stay locked from the read to the write. A write sets the
    /// name and archived flag, `updated_at`, and bumps `version` in the UPDATE itself.
    async fn update_with(
        &self,
        member: UserId,
        id: ListId,
        decide: DecideListUpdate,
    ) -> Result<ListUpdateOutcome, StoreError>;

    /// Reads the list as `member` sees it, asks `decide`, and deletes it (with its
    /// memberships, invitations and tasks) if it says so, atomically.
    async fn delete_with(
        &self,
        member: UserId,
        id: ListId,
        decide: DecideListDelete,
    ) -> Result<ListDeleteOutcome, StoreError>;
}
