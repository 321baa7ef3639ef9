//! `DELETE /lists/{id}`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use crate::AppState;
use crate::auth::AuthUser;
use crate::conditional::IfMatchHeader;
use crate::error::ApiError;
use crate::path::ListIdParam;
use crate::query::NoQuery;
use crate::reply::NoContent;

/// Deletes a list and its tasks (owners; never the inbox); with `If-Match`, only if it is
/// still at that version.
#[api_v2_operation(operation_id = "delete_list", tags(Lists))]
pub async fn delete(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    if_match: IfMatchHeader,
) -> Result<NoContent, ApiError> {
    let id = id.get()?;
    state.throttle.check_write(caller.0.user_id.as_uuid())?;
    state.lists.delete(&caller.0, id, if_match.0).await?;
    Ok(NoContent)
}
