//! `POST /trash/{id}/restore`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use crate::AppState;
use crate::auth::{ScopedUser, TasksWrite};
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;
use crate::routes::tasks::{TaskResponse, with_etag};

/// Restores a trashed task, with the subtasks deleted with it: back under its parent at its
/// place when the parent is still a live task of its list (and the subtree still fits the
/// depth rule), else last at the top level; with `If-Match`, only at that version.
#[api_v2_operation(operation_id = "restore_trashed_task", tags(Trash))]
pub async fn restore(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    let task = state.trash.restore(&caller.0, id, if_match.0).await?;
    Ok(with_etag(task))
}
