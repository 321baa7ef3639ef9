//! `POST /tasks/{id}/move`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::{ListId, TaskId, TaskMove};

use super::create::{NOT_A_UUID, UUID_RULE};
use super::{TaskResponse, with_etag};
use crate::AppState;
use crate::auth::{ScopedUser, TasksWrite};
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Slot};
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;

/// Moves a task: to another list (`list_id`, with its subtasks; an editor of both lists),
/// under another parent (`parent_id`, null for the top level), and/or right after a sibling
/// (`after_id`, null for first); omitted fields stay, and a task given a new list or parent
/// but no place goes last there. Only the moved task's rows are written (siblings keep
/// their positions); its `version` grows by one, and a move to where it already is changes
/// nothing. The assignee is cleared when not a member of the target list. With `If-Match`,
/// only if the task is still at that version. 422 for an unknown list, parent or sibling,
/// a cycle, or more than 4 levels; 409 in an archived list.
#[api_v2_operation(operation_id = "move_task", tags(Tasks))]
pub async fn move_task(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<MoveTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let task = state
        .tasks
        .move_task(&caller.0, id, body.0, if_match.0)
        .await?;
    Ok(with_etag(task))
}

/// Where to move a task; every field is optional.
#[derive(Debug)]
pub struct MoveTaskRequest;

const LIST_ID: Field = Field::new(
    "list_id",
    Kind::Text(UUID_RULE),
    "The list to move it to, with its subtasks (an editor of both lists); omitted: its own. \
     Without `parent_id` it goes to the top level there.",
);
const PARENT_ID: Field = Field::new(
    "parent_id",
    Kind::Text(UUID_RULE),
    "The task of the target list to put it under; null: the top level; omitted: its parent \
     stays (in the same list). At most 4 levels, never under itself or its subtasks.",
)
.nullable();
const AFTER_ID: Field = Field::new(
    "after_id",
    Kind::Text(UUID_RULE),
    "The sibling (under the target parent) to place it right after; null: first; omitted: \
     where it is, or last when its list or parent changes.",
)
.nullable();

/// Reads an optional, nullable task reference: absent `None`, null `Some(None)`.
fn task_reference(f: &mut Fields, field: Field) -> Option<Option<Option<TaskId>>> {
    match f.string(field) {
        Some(Slot::Present(raw)) => f
            .check(field, raw.parse::<TaskId>().map_err(|_| NOT_A_UUID))
            .map(|id| Some(Some(id))),
        Some(Slot::Null) => Some(Some(None)),
        Some(Slot::Absent) => Some(None),
        None => None,
    }
}

impl RequestBody for MoveTaskRequest {
    const NAME: &'static str = "MoveTaskRequest";
    const DESCRIPTION: &'static str =
        "Where to move a task: another list, another parent, a place among siblings.";
    const FIELDS: &'static [Field] = &[LIST_ID, PARENT_ID, AFTER_ID];
    const READ_ONLY: &'static [&'static str] = &[];
    type Parsed = TaskMove;

    fn parse(f: &mut Fields) -> Option<TaskMove> {
        let list_id = f.string(LIST_ID);
        let list_id = match f.optional(LIST_ID, list_id) {
            Some(Some(raw)) => f
                .check(LIST_ID, raw.parse::<ListId>().map_err(|_| NOT_A_UUID))
                .map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let parent_id = task_reference(f, PARENT_ID);
        let after_id = task_reference(f, AFTER_ID);
        Some(TaskMove {
            list_id: list_id?,
            parent_id: parent_id?,
            after_id: after_id?,
        })
    }
}
