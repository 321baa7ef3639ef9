//! The list use cases.

use std::fmt;
use std::sync::Arc;

use chrono::Duration;

use crate::{
    Clock, DecideListDelete, DecideListUpdate, Email, IdGenerator, Invitation, InvitationId,
    InvitationsOutcome, List, ListCursor, ListDeleteOutcome, ListError, ListId, ListInsert,
    ListListQuery, ListName, ListPage, ListPatch, ListRefusal, ListRepository, ListRole,
    ListUpdateOutcome, Member, MemberOutcome, MemberRefusal, MembershipChange, NewInvitation,
    NewList, Page, Principal, Scope, UserId, VersionCondition, may_invite, may_manage_invitations,
};

/// The list use cases. Every method is scoped to the caller: a list they are not a member of
/// behaves exactly like a missing one.
#[derive(Clone)]
pub struct ListService {
    lists: Arc<dyn ListRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    max_lists: Option<u64>,
    invitation_ttl: Duration,
    /// Most members a list may have, pending invitations included (`None`: no limit).
    max_members: Option<u64>,
}

impl fmt::Debug for ListService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListService").finish_non_exhaustive()
    }
}

impl From<ListRefusal> for ListError {
    fn from(refusal: ListRefusal) -> Self {
        match refusal {
            ListRefusal::Forbidden(needs) => ListError::Forbidden { needs },
            ListRefusal::Inbox => ListError::Inbox,
            ListRefusal::VersionMismatch => ListError::VersionMismatch,
            ListRefusal::Full { limit } => ListError::Full { limit },
        }
    }
}

impl ListService {
    /// Builds the service from its ports.
    pub fn new(
        lists: Arc<dyn ListRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            lists,
            clock,
            ids,
            max_lists: None,
            invitation_ttl: Duration::days(7),
            max_members: None,
        }
    }

    /// The same service, its invitations expiring `ttl` after they are made.
    #[must_use]
    pub fn with_invitation_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.invitation_ttl = Duration::from_std(ttl).unwrap_or(Duration::days(7));
        self
    }

    /// The same service, letting each list have at most `max_members` members, pending
    /// invitations included (`0`: no limit).
    #[must_use]
    pub fn with_member_cap(mut self, max_members: u64) -> Self {
        self.max_members = (max_members > 0).then_some(max_members);
        self
    }

    /// The same service, letting each account own at most `max_lists` lists besides its
    /// inbox (`0`: no limit).
    #[must_use]
    pub fn with_list_quota(mut self, max_lists: u64) -> Self {
        self.max_lists = (max_lists > 0).then_some(max_lists);
        self
    }

    /// Creates a list owned by the caller, at version 1.
    ///
    /// # Errors
    /// `QuotaExceeded` past the quota; `Store`.
    pub async fn create(&self, caller: &Principal, name: ListName) -> Result<List, ListError> {
        caller.require(Scope::ListsWrite)?;
        let list = NewList {
            id: ListId::from_uuid(self.ids.new_id()),
            name,
            owner: caller.user_id,
            created_at: self.clock.now(),
        };
        let created = list.as_created();
        match self.lists.insert(list, self.max_lists).await? {
            ListInsert::Inserted => Ok(created),
            ListInsert::QuotaExceeded => Err(ListError::QuotaExceeded {
                limit: self.max_lists.unwrap_or(u64::MAX),
            }),
        }
    }

    /// One of the caller's lists.
    ///
    /// # Errors
    /// `NotFound` when the caller is not a member of a list with this id.
    pub async fn get(&self, caller: &Principal, id: ListId) -> Result<List, ListError> {
        caller.require(Scope::ListsRead)?;
        self.lists
            .find_for_member(caller.user_id, id)
            .await?
            .ok_or(ListError::NotFound)
    }

    /// One page of the lists the caller belongs to.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn list(
        &self,
        caller: &Principal,
        query: ListListQuery,
    ) -> Result<ListPage, ListError> {
        caller.require(Scope::ListsRead)?;
        let (size, sort) = (query.size, query.sort);
        let fetched = self
            .lists
            .list_for_member(caller.user_id, query, size.fetch_limit())
            .await?;
        Ok(Page::from_fetched(fetched, size, |last| {
            ListCursor::after(last, sort)
        }))
    }

    /// Renames (editors) or archives and restores (owners) a list; with `condition`, only at
    /// an admitted version. A patch that changes nothing returns the list as it is.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox` for the inbox; `VersionMismatch`.
    pub async fn update(
        &self,
        caller: &Principal,
        id: ListId,
        patch: ListPatch,
        condition: Option<VersionCondition>,
    ) -> Result<List, ListError> {
        caller.require(Scope::ListsWrite)?;
        let now = self.clock.now();
        let decide: DecideListUpdate =
            Box::new(move |current: &List| current.decide_update(&patch, condition.as_ref(), now));
        match self.lists.update_with(caller.user_id, id, decide).await? {
            ListUpdateOutcome::Updated(list) | ListUpdateOutcome::Unchanged(list) => Ok(list),
            ListUpdateOutcome::Refused(refusal) => Err(refusal.into()),
            ListUpdateOutcome::NotFound => Err(ListError::NotFound),
        }
    }

    /// Deletes a list and its tasks (owners; never the inbox); with `condition`, only at an
    /// admitted version.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`; `VersionMismatch`.
    pub async fn delete(
        &self,
        caller: &Principal,
        id: ListId,
        condition: Option<VersionCondition>,
    ) -> Result<(), ListError> {
        caller.require(Scope::ListsWrite)?;
        let decide: DecideListDelete =
            Box::new(move |current: &List| current.decide_delete(condition.as_ref()));
        match self.lists.delete_with(caller.user_id, id, decide).await? {
            ListDeleteOutcome::Deleted => Ok(()),
            ListDeleteOutcome::Refused(refusal) => Err(refusal.into()),
            ListDeleteOutcome::NotFound => Err(ListError::NotFound),
        }
    }

    /// The members of one of the caller's lists, oldest first.
    ///
    /// # Errors
    /// `NotFound` when the caller is not a member.
    pub async fn members(&self, caller: &Principal, id: ListId) -> Result<Vec<Member>, ListError> {
        caller.require(Scope::ListsRead)?;
        self.lists
            .members(caller.user_id, id)
            .await?
            .ok_or(ListError::NotFound)
    }

    /// Gives a member another role (owners; never leaving the list without an owner).
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`; `MemberNotFound`; `LastOwner`.
    pub async fn change_role(
        &self,
        caller: &Principal,
        id: ListId,
        member: UserId,
        role: ListRole,
    ) -> Result<Member, ListError> {
        caller.require(Scope::ListsWrite)?;
        let decide = Box::new(move |change: &MembershipChange| change.decide_role(role));
        match self
            .lists
            .change_member(caller.user_id, id, member, decide)
            .await?
        {
            MemberOutcome::Changed(Some(member)) => Ok(member),
            MemberOutcome::Changed(None) => Err(ListError::MemberNotFound),
            outcome => Err(Self::member_error(outcome)),
        }
    }

    /// Removes a member (owners), or the caller themself (leaving); never the last owner.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `MemberNotFound`; `LastOwner`.
    pub async fn remove_member(
        &self,
        caller: &Principal,
        id: ListId,
        member: UserId,
    ) -> Result<(), ListError> {
        caller.require(Scope::ListsWrite)?;
        let decide = Box::new(|change: &MembershipChange| change.decide_removal());
        match self
            .lists
            .change_member(caller.user_id, id, member, decide)
            .await?
        {
            MemberOutcome::Changed(_) => Ok(()),
            outcome => Err(Self::member_error(outcome)),
        }
    }

    fn member_error(outcome: MemberOutcome) -> ListError {
        match outcome {
            MemberOutcome::Refused(MemberRefusal::List(refusal)) => refusal.into(),
            MemberOutcome::Refused(MemberRefusal::LastOwner) => ListError::LastOwner,
            MemberOutcome::MemberNotFound => ListError::MemberNotFound,
            MemberOutcome::ListNotFound | MemberOutcome::Changed(_) => ListError::NotFound,
        }
    }

    fn invitations_result<T>(outcome: InvitationsOutcome<T>) -> Result<T, ListError> {
        match outcome {
            InvitationsOutcome::Done(value) => Ok(value),
            InvitationsOutcome::Refused(refusal) => Err(refusal.into()),
            InvitationsOutcome::ListNotFound => Err(ListError::NotFound),
        }
    }

    /// Invites `email` to a list with `role` (owners; never to an inbox), replacing a
    /// pending invitation of that email. The answer is the same whether or not an account
    /// has that email: none is looked up.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`.
    pub async fn invite(
        &self,
        caller: &Principal,
        id: ListId,
        email: Email,
        role: ListRole,
    ) -> Result<Invitation, ListError> {
        caller.require(Scope::ListsWrite)?;
        let now = self.clock.now();
        let invitation = NewInvitation {
            id: InvitationId::from_uuid(self.ids.new_id()),
            list_id: id,
            email,
            role,
            invited_by: caller.user_id,
            created_at: now,
            expires_at: now + self.invitation_ttl,
        };
        let max_members = self.max_members;
        let decide = Box::new(move |list: &List, seats: u64| may_invite(list, seats, max_members));
        Self::invitations_result(
            self.lists
                .invite(caller.user_id, invitation, decide)
                .await?,
        )
    }

    /// A list's pending invitations (owners).
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`.
    pub async fn invitations(
        &self,
        caller: &Principal,
        id: ListId,
    ) -> Result<Vec<Invitation>, ListError> {
        caller.require(Scope::ListsRead)?;
        let decide = Box::new(|list: &List| may_manage_invitations(list));
        let outcome = self
            .lists
            .invitations(caller.user_id, id, self.clock.now(), decide)
            .await?;
        Self::invitations_result(outcome)
    }

    /// Withdraws one of a list's invitations (owners).
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`; `InvitationNotFound`.
    pub async fn withdraw(
        &self,
        caller: &Principal,
        id: ListId,
        invitation: InvitationId,
    ) -> Result<(), ListError> {
        caller.require(Scope::ListsWrite)?;
        let decide = Box::new(|list: &List| may_manage_invitations(list));
        let outcome = self
            .lists
            .withdraw(caller.user_id, id, invitation, decide)
            .await?;
        if Self::invitations_result(outcome)? {
            Ok(())
        } else {
            Err(ListError::InvitationNotFound)
        }
    }

    /// The invitations pending for the caller's email.
    ///
    /// # Errors
    /// `Store`.
    pub async fn my_invitations(&self, caller: &Principal) -> Result<Vec<Invitation>, ListError> {
        caller.require(Scope::ListsRead)?;
        Ok(self
            .lists
            .invitations_for(caller.user_id, self.clock.now())
            .await?)
    }

    /// Accepts an invitation to the caller's email: they become a member with its role.
    ///
    /// # Errors
    /// `InvitationNotFound` when there is no such pending invitation for them.
    pub async fn accept(&self, caller: &Principal, id: InvitationId) -> Result<List, ListError> {
        caller.require(Scope::ListsWrite)?;
        self.lists
            .accept(caller.user_id, id, self.clock.now())
            .await?
            .ok_or(ListError::InvitationNotFound)
    }

    /// Declines an invitation to the caller's email.
    ///
    /// # Errors
    /// `InvitationNotFound` when there is no such invitation for them.
    pub async fn decline(&self, caller: &Principal, id: InvitationId) -> Result<(), ListError> {
        caller.require(Scope::ListsWrite)?;
        if self.lists.decline(caller.user_id, id).await? {
            Ok(())
        } else {
            Err(ListError::InvitationNotFound)
        }
    }
}
