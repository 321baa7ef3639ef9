//! `DELETE /trash/{id}`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use crate::AppState;
use crate::auth::{ScopedUser, TasksWrite};
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::NoContent;

/// Purges a trashed task for good, with its tags and its trashed subtasks; with `If-Match`,
/// only at that version.
#[api_v2_operation(operation_id = "purge_trashed_task", tags(Trash))]
pub async fn purge(
    state: Data<AppState>,
    caller: ScopedUser<TasksWrite>,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
) -> Result<NoContent, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    state.trash.purge(&caller.0, id, if_match.0).await?;
    Ok(NoContent)
}
