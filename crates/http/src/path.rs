//! The `{id}` path segment of single-resource routes.
//!
//! Extracting it never fails: an id that is not a UUID answers 404 like a missing resource,
//! and only when the handler asks for it — after authentication, the role check and body
//! validation, so that those answers take precedence over a 404.

use std::marker::PhantomData;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DataTypeFormat, DefaultOperationRaw, Either, Parameter, ParameterIn,
};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{ApiTokenId, InvitationId, ListId, SessionId, TaskId, UserId};

use crate::error::ApiError;

/// What kind of resource an `{id}` names.
pub trait IdKind {
    /// The id type.
    type Id: FromStr + Copy;
    /// The resource's name in a 404 ("Task not found.").
    const RESOURCE: &'static str;
    /// The parameter's description in the OpenAPI document.
    const DESCRIPTION: &'static str;
    /// The path parameter's name.
    const PARAM: &'static str = "id";
}

/// Tasks' ids.
#[derive(Debug, Clone, Copy)]
pub struct TaskKind;

impl IdKind for TaskKind {
    type Id = TaskId;
    const RESOURCE: &'static str = "Task";
    const DESCRIPTION: &'static str = "The task's id.";
}

/// Lists' ids.
#[derive(Debug, Clone, Copy)]
pub struct ListKind;

impl IdKind for ListKind {
    type Id = ListId;
    const RESOURCE: &'static str = "List";
    const DESCRIPTION: &'static str = "The list's id.";
}

/// Members' ids (their accounts'), after a list's.
#[derive(Debug, Clone, Copy)]
pub struct MemberKind;

impl IdKind for MemberKind {
    type Id = UserId;
    const RESOURCE: &'static str = "Member";
    const DESCRIPTION: &'static str = "The member's account id.";
    const PARAM: &'static str = "user_id";
}

/// Invitations' ids.
#[derive(Debug, Clone, Copy)]
pub struct InvitationKind;

impl IdKind for InvitationKind {
    type Id = InvitationId;
    const RESOURCE: &'static str = "Invitation";
    const DESCRIPTION: &'static str = "The invitation's id.";
    const PARAM: &'static str = "inv_id";
}

/// Accounts' ids.
#[derive(Debug, Clone, Copy)]
pub struct UserKind;

impl IdKind for UserKind {
    type Id = UserId;
    const RESOURCE: &'static str = "User";
    const DESCRIPTION: &'static str = "The account's id.";
}

/// Personal API tokens' ids.
#[derive(Debug, Clone, Copy)]
pub struct ApiTokenKind;

impl IdKind for ApiTokenKind {
    type Id = ApiTokenId;
    const RESOURCE: &'static str = "API token";
    const DESCRIPTION: &'static str = "The API token's id.";
}

/// Sessions' ids.
#[derive(Debug, Clone, Copy)]
pub struct SessionKind;

impl IdKind for SessionKind {
    type Id = SessionId;
    const RESOURCE: &'static str = "Session";
    const DESCRIPTION: &'static str = "The session's id.";
}

/// The `{id}` of a `K` resource, if it parsed.
#[derive(Debug, Clone, Copy)]
pub struct PathId<K: IdKind>(Option<K::Id>, PhantomData<K>);

/// `/tasks/{id}`.
pub type TaskIdParam = PathId<TaskKind>;
/// `/lists/{id}`.
pub type ListIdParam = PathId<ListKind>;
/// `/lists/{id}/members/{user_id}`.
pub type MemberIdParam = PathId<MemberKind>;
/// `…/invitations/{inv_id}`.
pub type InvitationIdParam = PathId<InvitationKind>;
/// `/admin/users/{id}`.
pub type UserIdParam = PathId<UserKind>;
/// `/me/tokens/{id}`.
pub type ApiTokenIdParam = PathId<ApiTokenKind>;
/// `/me/sessions/{id}`.
pub type SessionIdParam = PathId<SessionKind>;

impl<K: IdKind> PathId<K> {
    /// The id; 404 when the segment was not a valid id.
    pub fn get(self) -> Result<K::Id, ApiError> {
        self.0.ok_or(ApiError::NotFound(K::RESOURCE))
    }
}

impl<K: IdKind> FromRequest for PathId<K> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get(K::PARAM)
            .and_then(|s| s.parse::<K::Id>().ok());
        std::future::ready(Ok(PathId(id, PhantomData)))
    }
}

impl<K: IdKind> Apiv2Schema for PathId<K> {}

impl<K: IdKind> OperationModifier for PathId<K> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            in_: ParameterIn::Path,
            name: K::PARAM.into(),
            description: Some(K::DESCRIPTION.into()),
            required: true,
            data_type: Some(DataType::String),
            format: Some(DataTypeFormat::Uuid),
            ..Default::default()
        }));
    }
}
