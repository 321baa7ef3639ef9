//! The tasks of the caller's lists (`/tasks`, `/tasks/{id}`, `/tasks/{id}/move`): what the task routes share —
//! the task as the API shows it, its `ETag`, the fields a client may send back unchanged —
//! and their route table. A task of a list the caller is not a member of, a missing one and
//! an invalid id are all 404.

mod create;
mod delete;
mod get;
pub(crate) mod list;
mod moving;
mod update;

use actix_web::http::header::ETAG;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, web};
use serde::Serialize;
use taskapi_domain::{Priority, Task};
use uuid::Uuid;

use super::resource;
use crate::body::schema;
use crate::reply::JsonOk;

/// Registers `/tasks`, `/tasks/{id}` and `/tasks/{id}/move`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/tasks", "GET, POST")
            .route(web::get().to(list::list))
            .route(web::post().to(create::create)),
    )
    .service(
        resource("/tasks/{id}", "GET, PATCH, PUT, DELETE")
            .route(web::get().to(get::get))
            .route(web::patch().to(update::update))
            .route(web::put().to(update::put))
            .route(web::delete().to(delete::delete)),
    )
    .service(resource("/tasks/{id}/move", "POST").route(web::post().to(moving::move_task)));
}

/// The schemas of these routes' request bodies.
pub(super) fn request_bodies() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        schema::<create::CreateTaskRequest>(),
        schema::<update::UpdateTaskRequest>(),
        schema::<moving::MoveTaskRequest>(),
    ]
}

/// The values of `priority`, in the API's spelling.
pub(crate) const PRIORITIES: &[&str] = &["low", "medium", "high"];

/// Fields of a task a client may send back unchanged from a response; ignored on updates
/// (where a task's list, parent and place are changed by moving it, and its creator never).
pub(crate) const TASK_READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "completed_at",
    "version",
    "list_id",
    "parent_id",
    "position",
    "created_by",
];

/// Fields of a task a client may send back unchanged on creation, which names its list.
pub(crate) const NEW_TASK_READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "completed_at",
    "version",
    "position",
    "created_by",
];

/// A task's `ETag`: its version, quoted.
pub(crate) fn etag(task: &Task) -> String {
    format!("\"{}\"", task.version)
}

/// 200 with the task and its `ETag`.
pub(crate) fn with_etag(task: Task) -> JsonOk<TaskResponse> {
    let tag = etag(&task);
    JsonOk::new(TaskResponse::from(task)).header((ETAG, tag))
}

/// A task's priority.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum PriorityDto {
    /// Can wait.
    Low,
    /// The default.
    Medium,
    /// Urgent.
    High,
}

impl From<Priority> for PriorityDto {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => PriorityDto::Low,
            Priority::Medium => PriorityDto::Medium,
            Priority::High => PriorityDto::High,
        }
    }
}

/// A task.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct TaskResponse {
    /// The task's id (UUID v7).
    pub id: Uuid,
    /// The list it is in (the creator's inbox unless another was named).
    pub list_id: Uuid,
    /// The task it is a subtask of; null at the top level.
    pub parent_id: Option<Uuid>,
    /// Opaque key ordering it among its siblings (compare as byte strings).
    pub position: String,
    /// The member it is assigned to, if any.
    pub assignee_id: Option<Uuid>,
    /// The account that created it.
    pub created_by: Uuid,
    /// 1–200 characters.
    pub title: String,
    /// Up to 10 000 characters; empty by default.
    pub description: String,
    /// Whether the task is done.
    pub is_done: bool,
    /// When the task was marked done; null while it is not.
    #[serde(serialize_with = "crate::instant::serialize_optional_instant")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The task's priority.
    pub priority: PriorityDto,
    /// When the task is due, if ever.
    #[serde(serialize_with = "crate::instant::serialize_optional_instant")]
    pub due_at: Option<DateTime<Utc>>,
    /// Lower-case tags, at most 20.
    pub tags: Vec<String>,
    /// When the task was created.
    #[serde(serialize_with = "crate::instant::serialize_instant")]
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    #[serde(serialize_with = "crate::instant::serialize_instant")]
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; the `ETag` is `"<version>"`.
    pub version: i64,
}

impl From<Task> for TaskResponse {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.as_uuid(),
            list_id: t.list_id.as_uuid(),
            parent_id: t.parent_id.map(|p| p.as_uuid()),
            position: t.position,
            assignee_id: t.assignee_id.map(|a| a.as_uuid()),
            created_by: t.created_by.as_uuid(),
            title: t.title.as_str().to_owned(),
            description: t.description.as_str().to_owned(),
            is_done: t.is_done,
            completed_at: t.completed_at,
            priority: t.priority.into(),
            due_at: t.due_at,
            tags: t.tags.iter().map(str::to_owned).collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}
