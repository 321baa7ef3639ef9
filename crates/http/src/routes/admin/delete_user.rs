//! `DELETE /admin/users/{id}`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use crate::AppState;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::path::UserIdParam;
use crate::query::NoQuery;
use crate::reply::NoContent;

/// Deletes an account with all its tasks. 409 for the last active administrator.
#[api_v2_operation(operation_id = "delete_user", tags(Admin))]
pub async fn delete_user(
    caller: AdminUser,
    state: Data<AppState>,
    _query: NoQuery,
    id: UserIdParam,
) -> Result<NoContent, ApiError> {
    state.admin.delete_user(&caller.0, id.get()?).await?;
    Ok(NoContent)
}
