//! The trash of the caller's lists (`/trash`, `/trash/{id}/restore`, `/trash/{id}`): the
//! trashed task as the API shows it, and the route table. The trash is for the editors and
//! owners of a list; a trashed task of a list the caller is not a member of, a missing one,
//! a live one and an invalid id are all 404.

mod list;
mod purge;
mod restore;

use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, web};
use serde::Serialize;
use taskapi_domain::TrashedTask;
use uuid::Uuid;

use super::resource;
use super::tasks::{PriorityDto, TaskResponse};

/// Registers `/trash`, `/trash/{id}/restore` and `/trash/{id}`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/trash", "GET").route(web::get().to(list::list)))
        .service(resource("/trash/{id}/restore", "POST").route(web::post().to(restore::restore)))
        .service(resource("/trash/{id}", "DELETE").route(web::delete().to(purge::purge)));
}

/// A task in the trash: the task as it was deleted, with when and by whom.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct TrashedTaskResponse {
    /// The task's id (UUID v7).
    pub id: Uuid,
    /// The list it is in.
    pub list_id: Uuid,
    /// The task it was a subtask of; null at the top level.
    pub parent_id: Option<Uuid>,
    /// Opaque key ordering it among its siblings (compare as byte strings).
    pub position: String,
    /// The member it is assigned to, if any.
    pub assignee_id: Option<Uuid>,
    /// The account that created it.
    pub created_by: Uuid,
    /// 1–200 characters.
    pub title: String,
    /// Up to 10 000 characters.
    pub description: String,
    /// Whether the task is done.
    pub is_done: bool,
    /// When the task was marked done; null while it is not.
    pub completed_at: Option<DateTime<Utc>>,
    /// The task's priority.
    pub priority: PriorityDto,
    /// When the task is due, if ever.
    pub due_at: Option<DateTime<Utc>>,
    /// Lower-case tags, at most 20.
    pub tags: Vec<String>,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    pub updated_at: DateTime<Utc>,
    /// The task's version.
    pub version: i64,
    /// When it went to the trash (with the subtasks deleted with it).
    pub trashed_at: DateTime<Utc>,
    /// Who deleted it; null once that account is gone.
    pub trashed_by: Option<Uuid>,
}

impl From<TrashedTask> for TrashedTaskResponse {
    fn from(trashed: TrashedTask) -> Self {
        let t = TaskResponse::from(trashed.task);
        Self {
            id: t.id,
            list_id: t.list_id,
            parent_id: t.parent_id,
            position: t.position,
            assignee_id: t.assignee_id,
            created_by: t.created_by,
            title: t.title,
            description: t.description,
            is_done: t.is_done,
            completed_at: t.completed_at,
            priority: t.priority,
            due_at: t.due_at,
            tags: t.tags,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
            trashed_at: trashed.trashed_at,
            trashed_by: trashed.trashed_by.map(|u| u.as_uuid()),
        }
    }
}
