//! `GET /admin/users/{id}`.

use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use crate::AppState;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::path::UserIdParam;
use crate::query::NoQuery;
use crate::routes::accounts::UserResponse;

/// One account.
#[api_v2_operation(operation_id = "get_user", tags(Admin))]
pub async fn get_user(
    caller: AdminUser,
    state: Data<AppState>,
    _query: NoQuery,
    id: UserIdParam,
) -> Result<Json<UserResponse>, ApiError> {
    let user = state.admin.get_user(&caller.0, id.get()?).await?;
    Ok(Json(user.into()))
}
