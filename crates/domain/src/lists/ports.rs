//! Ports: what the list use cases need from storage.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::{
    Invitation, InvitationId, List, ListDeleteDecision, ListId, ListListQuery, ListRefusal,
    ListUpdateDecision, Member, MemberDecision, MemberRefusal, MembershipChange, NewInvitation,
    NewList, StoreError, UserId,
};

/// The domain's decision on a change of membership, given what storage holds locked.
pub type DecideMemberChange = Box<dyn FnOnce(&MembershipChange) -> MemberDecision + Send>;

/// The domain's decision whether the caller may manage a list's invitations.
pub type DecideInvitations = Box<dyn FnOnce(&List) -> Result<(), ListRefusal> + Send>;

/// The domain's decision whether the caller may invite someone to a list, given the list
/// and how many seats its members and other pending invitations already take.
pub type DecideInvite = Box<dyn FnOnce(&List, u64) -> Result<(), ListRefusal> + Send>;

/// Outcome of a change of membership.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOutcome {
    /// The member as they are now; `None` when removed.
    Changed(Option<Member>),
    /// Refused; nothing changed.
    Refused(MemberRefusal),
    /// The caller is not a member of a list with this id.
    ListNotFound,
    /// The list has no such member.
    MemberNotFound,
}

/// Outcome of an operation on a list's invitations.
#[derive(Debug, Clone, PartialEq)]
pub enum InvitationsOutcome<T> {
    /// Done.
    Done(T),
    /// Refused; nothing changed.
    Refused(ListRefusal),
    /// The caller is not a member of a list with this id.
    ListNotFound,
}

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
///
/// Every write that changes a list or its memberships MUST record, in its transaction, a
/// list change for each user it concerns (the change log's `list_id` being the list's own
/// id): an upsert for every member when the list is created, renamed, archived or
/// unarchived, when a member joins or a role changes (for the joining member too); a delete
/// for every member it had when it is deleted, and for the member who leaves or is
/// removed, with an upsert for those who remain (its member count changed). A write that
/// changes nothing records nothing.
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

    /// The list's members, oldest first, if `member` is one of them.
    async fn members(
        &self,
        member: UserId,
        list: ListId,
    ) -> Result<Option<Vec<Member>>, StoreError>;

    /// Changes `target`'s membership of `list` as `decide` says, atomically: the list and
    /// every owner's membership stay locked from the read (the caller's role, the target,
    /// the owner count) to the write, so that two changes cannot each leave the other
    /// owner as the last.
    async fn change_member(
        &self,
        caller: UserId,
        list: ListId,
        target: UserId,
        decide: DecideMemberChange,
    ) -> Result<MemberOutcome, StoreError>;

    /// Stores an invitation to `invitation.list_id` (replacing a pending one for the same
    /// email) if `decide` allows it on the list as the caller sees it and the seats taken:
    /// its members plus its invitations pending at `invitation.created_at` other than one
    /// for the same email, counted in the write transaction with the list locked (so that
    /// concurrent invitations cannot overfill it). Adapters MUST NOT look up whether an
    /// account has the email.
    async fn invite(
        &self,
        caller: UserId,
        invitation: NewInvitation,
        decide: DecideInvite,
    ) -> Result<InvitationsOutcome<Invitation>, StoreError>;

    /// The list's invitations pending at `now`, oldest first, if `decide` allows the caller
    /// to see them.
    async fn invitations(
        &self,
        caller: UserId,
        list: ListId,
        now: DateTime<Utc>,
        decide: DecideInvitations,
    ) -> Result<InvitationsOutcome<Vec<Invitation>>, StoreError>;

    /// Withdraws one of the list's invitations if `decide` allows it; `Done(false)` when the
    /// list has no such invitation.
    async fn withdraw(
        &self,
        caller: UserId,
        list: ListId,
        id: InvitationId,
        decide: DecideInvitations,
    ) -> Result<InvitationsOutcome<bool>, StoreError>;

    /// The invitations pending at `now` to the account's current email, oldest first.
    async fn invitations_for(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Invitation>, StoreError>;

    /// Accepts the invitation if it is pending at `now` and addressed to the account's
    /// current email: in one transaction the invitation is consumed (exactly one of
    /// concurrent accepts consumes it) and the account becomes a member with its role (a
    /// member already keeps the higher of the two roles). The list as the account now sees
    /// it; `None` when there is no such invitation for it.
    async fn accept(
        &self,
        user: UserId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<Option<List>, StoreError>;

    /// Declines (deletes) the invitation if it is addressed to the account's current email;
    /// whether there was one.
    async fn decline(&self, user: UserId, id: InvitationId) -> Result<bool, StoreError>;

    /// Reads the list as `member` sees it, asks `decide`, and deletes it (with its
    /// memberships, invitations and tasks) if it says so, atomically.
    async fn delete_with(
        &self,
        member: UserId,
        id: ListId,
        decide: DecideListDelete,
    ) -> Result<ListDeleteOutcome, StoreError>;
}
