//! `GET /lists/{id}/members`, `PATCH` and `DELETE /lists/{id}/members/{user_id}`: a list's
//! members, role changes (owners) and removal (owners, or the member themself: leaving).

use actix_web::web::Data;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, api_v2_operation, web::Json};
use serde::Serialize;
use taskapi_domain::{ListRole, Member};
use uuid::Uuid;

use super::ListRoleDto;
use crate::AppState;
use crate::auth::AuthUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody};
use crate::error::ApiError;
use crate::path::{ListIdParam, MemberIdParam};
use crate::query::NoQuery;
use crate::reply::NoContent;

/// The values of `role`, in the API's spelling.
pub(crate) const ROLES: &[&str] = &["viewer", "editor", "owner"];

/// A member of a list.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct MemberResponse {
    /// The member's account id.
    pub user_id: Uuid,
    /// The member's email.
    pub email: String,
    /// Their role.
    pub role: ListRoleDto,
    /// When they joined.
    pub added_at: DateTime<Utc>,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.as_uuid(),
            email: m.email.as_str().to_owned(),
            role: m.role.into(),
            added_at: m.added_at,
        }
    }
}

/// The members of one of the caller's lists, oldest first.
#[api_v2_operation(operation_id = "get_list_members", tags(Lists))]
pub async fn list(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
) -> Result<Json<Vec<MemberResponse>>, ApiError> {
    let members = state.lists.members(&caller.0, id.get()?).await?;
    Ok(Json(
        members.into_iter().map(MemberResponse::from).collect(),
    ))
}

/// Gives a member another role (owners). 409 when it would leave the list without an owner.
#[api_v2_operation(operation_id = "update_member", tags(Lists))]
pub async fn update(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    member: MemberIdParam,
    body: JsonBody<UpdateMemberRequest>,
) -> Result<Json<MemberResponse>, ApiError> {
    let (id, member) = (id.get()?, member.get()?);
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let changed = state
        .lists
        .change_role(&caller.0, id, member, body.0)
        .await?;
    Ok(Json(changed.into()))
}

/// Removes a member (owners), or leaves the list (any member, their own id). 409 for the
/// last owner.
#[api_v2_operation(operation_id = "remove_member", tags(Lists))]
pub async fn remove(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    member: MemberIdParam,
) -> Result<NoContent, ApiError> {
    let (id, member) = (id.get()?, member.get()?);
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    state.lists.remove_member(&caller.0, id, member).await?;
    Ok(NoContent)
}

/// A member's new role.
#[derive(Debug)]
pub struct UpdateMemberRequest;

const ROLE: Field = Field::new("role", Kind::OneOf(ROLES), "The member's new role.").required();

impl RequestBody for UpdateMemberRequest {
    const NAME: &'static str = "UpdateMemberRequest";
    const DESCRIPTION: &'static str = "A member's new role.";
    const FIELDS: &'static [Field] = &[ROLE];
    const READ_ONLY: &'static [&'static str] = &["user_id", "email", "added_at"];
    type Parsed = ListRole;

    fn parse(f: &mut Fields) -> Option<ListRole> {
        let role = f.string(ROLE);
        f.required(ROLE, role)
            .and_then(|r| f.check(ROLE, ListRole::parse(&r)))
    }
}
