//! `PATCH /tasks/{id}` and `PUT /tasks/{id}` (the same partial update): the handlers and
//! their request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::{Description, Priority, TaskPatch, TaskTitle, UserId};

use super::create::{ASSIGNEE_ID, DESCRIPTION_RULE, NOT_A_UUID, TAGS_RULE, TITLE_RULE};
use super::{PRIORITIES, TASK_READ_ONLY, TaskResponse, with_etag};
use crate::AppState;
use crate::auth::{ScopedUser, TasksWrite};
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Slot};
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;

/// Changes some fields of a task: absent fields stay, `null` clears `due_at` or
/// `description`. With `If-Match`, only if the task is still at that version.
#[api_v2_operation(operation_id = "update_task", tags(Tasks))]
pub async fn update(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    apply_update(&state, caller, id, if_match, body).await
}

/// PATCH and PUT alike.
async fn apply_update(
    state: &AppState,
    caller: ScopedUser<TasksWrite>,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let task = state
        .tasks
        .update(&caller.0, id, body.0, if_match.0)
        .await?;
    Ok(with_etag(task))
}

/// Same as PATCH: a partial update, kept for clients of the original service.
#[api_v2_operation(operation_id = "put_task", tags(Tasks))]
pub async fn put(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    apply_update(&state, caller, id, if_match, body).await
}

/// A partial update: absent fields stay as they are; `null` clears `due_at` and
/// `description`. Read-only fields (`id`, `created_at`, `updated_at`, `completed_at`,
/// `version`) are ignored, so a task read from the API may be sent back as is.
#[derive(Debug)]
pub struct UpdateTaskRequest;

const TITLE: Field = Field::new(
    "title",
    Kind::Text(TITLE_RULE),
    "1–200 characters after trimming.",
);
const DESCRIPTION: Field = Field::new(
    "description",
    Kind::Text(DESCRIPTION_RULE),
    "Up to 10 000 characters; null clears it to \"\".",
)
.nullable();
const IS_DONE: Field = Field::new(
    "is_done",
    Kind::Boolean,
    "True sets `completed_at` (kept if already done); false clears it.",
);
const PRIORITY: Field = Field::new("priority", Kind::OneOf(PRIORITIES), "The new priority.");
const DUE_AT: Field = Field::new(
    "due_at",
    Kind::Instant,
    "RFC 3339 date-time; null clears it.",
)
.nullable();
const TAGS: Field = Field::new("tags", TAGS_RULE, "Replaces every tag.");

impl RequestBody for UpdateTaskRequest {
    const NAME: &'static str = "UpdateTaskRequest";
    // Line breaks as the document has always shown them.
    const DESCRIPTION: &'static str = "A partial update: absent fields stay as they are; `null` \
        clears `due_at` and\n `description`. Read-only fields (`id`, `created_at`, `updated_at`, \
        `completed_at`,\n `version`) are ignored, so a task read from the API may be sent back \
        as is.";
    const FIELDS: &'static [Field] = &[
        TITLE,
        DESCRIPTION,
        IS_DONE,
        PRIORITY,
        DUE_AT,
        TAGS,
        ASSIGNEE_ID,
    ];
    const READ_ONLY: &'static [&'static str] = TASK_READ_ONLY;
    type Parsed = TaskPatch;

    fn parse(f: &mut Fields) -> Option<TaskPatch> {
        let title = f.string(TITLE);
        let title = match f.optional(TITLE, title) {
            Some(Some(t)) => f.check(TITLE, TaskTitle::parse(&t)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let description = match f.string(DESCRIPTION) {
            Some(Slot::Present(d)) => f.check(DESCRIPTION, Description::parse(d)).map(Some),
            Some(Slot::Null) => Some(Some(Description::empty())),
            Some(Slot::Absent) => Some(None),
            None => None,
        };
        let is_done = f.boolean(IS_DONE);
        let is_done = f.optional(IS_DONE, is_done);
        let priority = f.string(PRIORITY);
        let priority = match f.optional(PRIORITY, priority) {
            Some(Some(p)) => f.check(PRIORITY, Priority::parse(&p)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let due_at = match f.timestamp(DUE_AT) {
            Some(Slot::Present(d)) => Some(Some(Some(d))),
            Some(Slot::Null) => Some(Some(None)),
            Some(Slot::Absent) => Some(None),
            None => None,
        };
        let tags = f.strings(TAGS);
        let tags = match f.optional(TAGS, tags) {
            Some(Some(t)) => f.check_many(super::create::tags_of(&t)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let assignee_id = match f.string(ASSIGNEE_ID) {
            Some(Slot::Present(raw)) => f
                .check(ASSIGNEE_ID, raw.parse::<UserId>().map_err(|_| NOT_A_UUID))
                .map(|a| Some(Some(a))),
            Some(Slot::Null) => Some(Some(None)),
            Some(Slot::Absent) => Some(None),
            None => None,
        };
        Some(TaskPatch {
            assignee_id: assignee_id?,
            title: title?,
            description: description?,
            is_done: is_done?,
            priority: priority?,
            due_at: due_at?,
            tags: tags?,
        })
    }
}
