//! Lists: tasks live in lists, which their members share with a role each. Every account
//! has an inbox (made with the account, holding the tasks of clients that know nothing of
//! lists), which cannot be shared, renamed, archived or deleted.
//!
//! The rules — which role may do what, what the inbox refuses, version conditions — are
//! decided here ([`ListRole`], [`TaskAccess`], [`List::decide_update`],
//! [`List::decide_delete`]); storage applies them to the state it holds locked, so that
//! a membership is checked in the same transaction as the read or write it allows.

mod error;
mod list;
mod listing;
mod ports;
mod service;
mod sharing;
mod values;

#[cfg(test)]
mod tests;

pub use error::{ListError, ListNameError};
pub use list::{
    AccessRefusal, List, ListChanges, ListDeleteDecision, ListPatch, ListRefusal,
    ListUpdateDecision, NewList, TaskAccess,
};
pub use listing::{
    ListCursor, ListFilter, ListListQuery, ListPage, ListSort, ListSortField, ListSortKey,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockListRepository;
pub use ports::{
    DecideInvitations, DecideInvite, DecideListDelete, DecideListUpdate, DecideMemberChange,
    InvitationsOutcome, ListDeleteOutcome, ListInsert, ListRepository, ListUpdateOutcome,
    MemberOutcome,
};
pub use service::ListService;
pub use sharing::{
    Invitation, Member, MemberDecision, MemberRefusal, MembershipChange, NewInvitation, may_invite,
    may_manage_invitations,
};
pub use values::{ListName, ListRole, ListRoleError};
