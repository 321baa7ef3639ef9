//! Invitations: `POST`/`GET /lists/{id}/invitations` and `DELETE
//! /lists/{id}/invitations/{inv_id}` (owners), `GET /me/invitations`, and
//! `POST /me/invitations/{inv_id}/accept` / `…/decline` (the invitee).

use actix_web::http::header::LOCATION;
use actix_web::web::Data;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, api_v2_operation, web::Json};
use serde::Serialize;
use taskapi_domain::{Email, Invitation, ListRole};
use uuid::Uuid;

use super::members::ROLES;
use super::{ListResponse, ListRoleDto, with_etag};
use crate::AppState;
use crate::auth::AuthUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::path::{InvitationIdParam, ListIdParam};
use crate::query::NoQuery;
use crate::reply::{JsonCreated, JsonOk, NoContent};

/// A pending invitation to a list.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct InvitationResponse {
    /// The invitation's id.
    pub id: Uuid,
    /// The list.
    pub list_id: Uuid,
    /// The list's name.
    pub list_name: String,
    /// Whom it invites.
    pub email: String,
    /// The role it offers.
    pub role: ListRoleDto,
    /// Who invited (null once that account is deleted).
    pub invited_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationResponse {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id.as_uuid(),
            list_id: i.list_id.as_uuid(),
            list_name: i.list_name.as_str().to_owned(),
            email: i.email.as_str().to_owned(),
            role: i.role.into(),
            invited_by: i.invited_by.map(|u| u.as_uuid()),
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// Invites an email to the list with a role (owners). The answer is the same whether or not
/// an account has that email; a newer invitation of the same email replaces the pending one.
#[api_v2_operation(operation_id = "create_invitation", tags(Lists))]
pub async fn create(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    body: JsonBody<CreateInvitationRequest>,
) -> Result<JsonCreated<InvitationResponse>, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let (email, role) = body.0;
    let invitation = state.lists.invite(&caller.0, id, email, role).await?;
    let location = format!(
        "/lists/{}/invitations/{}",
        invitation.list_id, invitation.id
    );
    Ok(JsonCreated::new(InvitationResponse::from(invitation)).header((LOCATION, location)))
}

/// The list's pending invitations (owners).
#[api_v2_operation(operation_id = "get_list_invitations", tags(Lists))]
pub async fn list(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
) -> Result<Json<Vec<InvitationResponse>>, ApiError> {
    let invitations = state.lists.invitations(&caller.0, id.get()?).await?;
    Ok(Json(invitations.into_iter().map(Into::into).collect()))
}

/// Withdraws a pending invitation (owners).
#[api_v2_operation(operation_id = "delete_invitation", tags(Lists))]
pub async fn withdraw(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    invitation: InvitationIdParam,
) -> Result<NoContent, ApiError> {
    let (id, invitation) = (id.get()?, invitation.get()?);
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    state.lists.withdraw(&caller.0, id, invitation).await?;
    Ok(NoContent)
}

/// The invitations pending for the caller's email.
#[api_v2_operation(operation_id = "get_my_invitations", tags(Lists))]
pub async fn mine(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
) -> Result<Json<Vec<InvitationResponse>>, ApiError> {
    let invitations = state.lists.my_invitations(&caller.0).await?;
    Ok(Json(invitations.into_iter().map(Into::into).collect()))
}

/// Accepts an invitation to the caller's email: they become a member with its role.
#[api_v2_operation(operation_id = "accept_invitation", tags(Lists))]
pub async fn accept(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    invitation: InvitationIdParam,
) -> Result<JsonOk<ListResponse>, ApiError> {
    let invitation = invitation.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let list = state.lists.accept(&caller.0, invitation).await?;
    Ok(with_etag(list))
}

/// Declines an invitation to the caller's email.
#[api_v2_operation(operation_id = "decline_invitation", tags(Lists))]
pub async fn decline(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    invitation: InvitationIdParam,
) -> Result<NoContent, ApiError> {
    let invitation = invitation.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    state.lists.decline(&caller.0, invitation).await?;
    Ok(NoContent)
}

/// An invitation: whom, with which role.
#[derive(Debug)]
pub struct CreateInvitationRequest;

const EMAIL: Field = Field::new(
    "email",
    Kind::Text(Text {
        min_len: None,
        max_len: Some(Email::MAX_LEN as u32),
        pattern: None,
        format: Some("email"),
    }),
    "The invitee's email; trimmed and lower-cased. An account need not exist.",
)
.required();
const ROLE: Field = Field::new("role", Kind::OneOf(ROLES), "The role offered.").required();

impl RequestBody for CreateInvitationRequest {
    const NAME: &'static str = "CreateInvitationRequest";
    const DESCRIPTION: &'static str = "An invitation to a list: whom, with which role.";
    const FIELDS: &'static [Field] = &[EMAIL, ROLE];
    type Parsed = (Email, ListRole);

    fn parse(f: &mut Fields) -> Option<(Email, ListRole)> {
        let email = f.string(EMAIL);
        let email = f
            .required(EMAIL, email)
            .and_then(|e| f.check(EMAIL, Email::parse(&e)));
        let role = f.string(ROLE);
        let role = f
            .required(ROLE, role)
            .and_then(|r| f.check(ROLE, ListRole::parse(&r)));
        Some((email?, role?))
    }
}
