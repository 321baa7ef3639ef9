//! Sharing: members, invitations, and the rules of who may change which membership.

use chrono::{DateTime, Utc};

use crate::{Email, InvitationId, List, ListId, ListName, ListRefusal, ListRole, UserId};

/// A member of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The member's account.
    pub user_id: UserId,
    /// Their account's email.
    pub email: Email,
    /// Their role.
    pub role: ListRole,
    /// When they joined.
    pub added_at: DateTime<Utc>,
}

/// A pending invitation to a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The list.
    pub list_id: ListId,
    /// The list's name.
    pub list_name: ListName,
    /// Whom it invites (an account may or may not have this email).
    pub email: Email,
    /// The role it offers.
    pub role: ListRole,
    /// Who invited (`None` once that account is deleted).
    pub invited_by: Option<UserId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A membership about to change, as storage holds it locked: the list as the caller sees
/// it, the member concerned, and how many owners the list has.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipChange {
    /// The list, with the caller's role.
    pub list: List,
    /// Who is calling.
    pub caller: UserId,
    /// The member whose membership changes.
    pub target: Member,
    /// How many owners the list has now.
    pub owners: i64,
}

/// Why a change of membership is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRefusal {
    /// As for any change of the list (the caller's role, the inbox).
    List(ListRefusal),
    /// It would leave the list without an owner.
    LastOwner,
}

/// What a change of membership does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberDecision {
    /// Give the member this role.
    SetRole(ListRole),
    /// Remove the member.
    Remove,
    /// Refuse; nothing changes.
    Refuse(MemberRefusal),
}

impl MembershipChange {
    /// Whether the target is the list's last owner, about to stop being one.
    fn leaves_no_owner(&self) -> bool {
        self.target.role == ListRole::Owner && self.owners <= 1
    }

    /// Giving the target `role`: owners only, never in an inbox, never the last owner's
    /// demotion.
    pub fn decide_role(&self, role: ListRole) -> MemberDecision {
        if !self.list.role.may_manage() {
            return MemberDecision::Refuse(MemberRefusal::List(ListRefusal::Forbidden(
                ListRole::Owner,
            )));
        }
        if self.list.is_inbox {
            return MemberDecision::Refuse(MemberRefusal::List(ListRefusal::Inbox));
        }
        if role < ListRole::Owner && self.leaves_no_owner() {
            return MemberDecision::Refuse(MemberRefusal::LastOwner);
        }
        MemberDecision::SetRole(role)
    }

    /// Removing the target: an owner removes anyone, any member removes themself (leaves);
    /// never the last owner.
    pub fn decide_removal(&self) -> MemberDecision {
        if self.caller != self.target.user_id && !self.list.role.may_manage() {
            return MemberDecision::Refuse(MemberRefusal::List(ListRefusal::Forbidden(
                ListRole::Owner,
            )));
        }
        if self.leaves_no_owner() {
            return MemberDecision::Refuse(MemberRefusal::LastOwner);
        }
        MemberDecision::Remove
    }
}

/// An invitation about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    /// Its id.
    pub id: InvitationId,
    /// The list.
    pub list_id: ListId,
    /// Whom it invites.
    pub email: Email,
    /// The role it offers.
    pub role: ListRole,
    /// Who invites.
    pub invited_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Whether the caller may invite someone to `list`, where `seats_taken` members and other
/// pending invitations already hold seats, of at most `max_members` (`None`: no limit): an
/// owner may, unless every seat is taken. An invitation holds a seat until it is accepted
/// (then its member does), declined, withdrawn or expired, so accepting never overfills a
/// list.
///
/// # Errors
/// As [`may_manage_invitations`], then [`ListRefusal::Full`].
pub fn may_invite(
    list: &List,
    seats_taken: u64,
    max_members: Option<u64>,
) -> Result<(), ListRefusal> {
    may_manage_invitations(list)?;
    match max_members {
        Some(limit) if seats_taken >= limit => Err(ListRefusal::Full { limit }),
        _ => Ok(()),
    }
}

/// Whether the caller may manage the list's invitations: owners only, never of an inbox
/// (which cannot be shared).
///
/// # Errors
/// The [`ListRefusal`].
pub fn may_manage_invitations(list: &List) -> Result<(), ListRefusal> {
    if !list.role.may_manage() {
        return Err(ListRefusal::Forbidden(ListRole::Owner));
    }
    if list.is_inbox {
        return Err(ListRefusal::Inbox);
    }
    Ok(())
}
