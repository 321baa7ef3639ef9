//! The caller's lists (`/lists`, `/lists/{id}`): the list as the API shows it, its `ETag`,
//! and the route table. A list the caller is not a member of, a missing one and an invalid
//! id are all 404.

mod create;
mod delete;
mod get;
mod invitations;
mod list;
mod members;
mod update;

use actix_web::http::header::ETAG;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, web};
use serde::Serialize;
use taskapi_domain::{List, ListName, ListRole};
use uuid::Uuid;

use super::resource;
use crate::body::{NOT_BLANK_VISIBLE, Text, schema};
use crate::reply::JsonOk;

/// Registers `/lists` and `/lists/{id}`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/lists", "GET, POST")
            .route(web::get().to(list::list))
            .route(web::post().to(create::create)),
    )
    .service(
        resource("/lists/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(get::get))
            .route(web::patch().to(update::update))
            .route(web::delete().to(delete::delete)),
    )
    .service(resource("/lists/{id}/members", "GET").route(web::get().to(members::list)))
    .service(
        resource("/lists/{id}/members/{user_id}", "PATCH, DELETE")
            .route(web::patch().to(members::update))
            .route(web::delete().to(members::remove)),
    )
    .service(
        resource("/lists/{id}/invitations", "GET, POST")
            .route(web::get().to(invitations::list))
            .route(web::post().to(invitations::create)),
    )
    .service(
        resource("/lists/{id}/invitations/{inv_id}", "DELETE")
            .route(web::delete().to(invitations::withdraw)),
    )
    .service(resource("/me/invitations", "GET").route(web::get().to(invitations::mine)))
    .service(
        resource("/me/invitations/{inv_id}/accept", "POST")
            .route(web::post().to(invitations::accept)),
    )
    .service(
        resource("/me/invitations/{inv_id}/decline", "POST")
            .route(web::post().to(invitations::decline)),
    );
}

/// The schemas of these routes' request bodies.
pub(super) fn request_bodies() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        schema::<create::CreateListRequest>(),
        schema::<update::UpdateListRequest>(),
        schema::<members::UpdateMemberRequest>(),
        schema::<invitations::CreateInvitationRequest>(),
    ]
}

/// A name's rule: 1–100 characters once trimmed, no control characters, bidirectional
/// controls or zero-width characters.
pub(crate) const NAME_RULE: Text = Text {
    min_len: Some(1),
    max_len: Some(ListName::MAX_CHARS as u32),
    pattern: Some(NOT_BLANK_VISIBLE),
    format: None,
};

/// Fields of a list a client may send back unchanged from a response; ignored on input.
pub(crate) const LIST_READ_ONLY: &[&str] = &[
    "id",
    "is_inbox",
    "role",
    "member_count",
    "created_at",
    "updated_at",
    "version",
];

/// A list's `ETag`: its version, quoted.
pub(crate) fn etag(list: &List) -> String {
    format!("\"{}\"", list.version)
}

/// 200 with the list and its `ETag`.
pub(crate) fn with_etag(list: List) -> JsonOk<ListResponse> {
    let tag = etag(&list);
    JsonOk::new(ListResponse::from(list)).header((ETAG, tag))
}

/// A member's role in a list.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum ListRoleDto {
    /// Reads the list and its tasks.
    Viewer,
    /// Also writes its tasks and renames it.
    Editor,
    /// Also manages members and invitations, archives and deletes it.
    Owner,
}

impl From<ListRole> for ListRoleDto {
    fn from(role: ListRole) -> Self {
        match role {
            ListRole::Viewer => ListRoleDto::Viewer,
            ListRole::Editor => ListRoleDto::Editor,
            ListRole::Owner => ListRoleDto::Owner,
        }
    }
}

/// A list, as the caller sees it.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ListResponse {
    /// The list's id (an inbox's is its account's id).
    pub id: Uuid,
    /// 1–100 characters.
    pub name: String,
    /// Whether it is the caller's inbox (never shared, renamed, archived or deleted).
    pub is_inbox: bool,
    /// Archived lists refuse task writes and are left out of `GET /tasks` unless named.
    pub archived: bool,
    /// The caller's role in it.
    pub role: ListRoleDto,
    /// How many members it has.
    pub member_count: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; the `ETag` is `"<version>"`.
    pub version: i64,
}

impl From<List> for ListResponse {
    fn from(l: List) -> Self {
        Self {
            id: l.id.as_uuid(),
            name: l.name.as_str().to_owned(),
            is_inbox: l.is_inbox,
            archived: l.archived,
            role: l.role.into(),
            member_count: l.member_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
            version: l.version,
        }
    }
}
