//! Administration of accounts. Only administrators get past the gate (403 for others);
//! an unknown or malformed user id is a 404.

use actix_web::http::header::LINK;
use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use crate::AppState;
use crate::auth::AdminUser;
use crate::body::JsonBody;
use crate::dto::{TaskResponse, UpdateUserRequest, UserResponse};
use crate::error::ApiError;
use crate::listing::TaskListParams;
use crate::pagination::{UserListParams, next_link};
use crate::path::UserIdParam;
use crate::query::NoQuery;
use crate::reply::{JsonOk, NoContent};

/// Lists accounts, a page at a time (`Link: <…>; rel="next"` while more follow).
#[api_v2_operation(operation_id = "list_users", tags(Admin))]
pub async fn list_users(
    caller: AdminUser,
    state: Data<AppState>,
    params: UserListParams,
) -> Result<JsonOk<Vec<UserResponse>>, ApiError> {
    let UserListParams(query) = params;
    let page = state.admin.list_users(&caller.0, query.clone()).await?;
    let link = page
        .next
        .as_ref()
        .and_then(|next| next_link("/admin/users", &query, next));
    let mut reply = JsonOk::new(page.items.into_iter().map(UserResponse::from).collect());
    if let Some(link) = link {
        reply = reply.header((LINK, link));
    }
    Ok(reply)
}

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

/// Changes an account's role or enabled state; either ends every session of the account.
/// 409 when it would leave no active administrator.
#[api_v2_operation(operation_id = "update_user", tags(Admin))]
pub async fn update_user(
    caller: AdminUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<UpdateUserRequest>,
    id: UserIdParam,
) -> Result<Json<UserResponse>, ApiError> {
    let JsonBody(change, _) = body;
    let user = state
        .admin
        .update_user(&caller.0, id.get()?, change)
        .await?;
    Ok(Json(user.into()))
}

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

/// One account's tasks, with the filters, sort orders and pages of `GET /tasks`.
#[api_v2_operation(operation_id = "list_user_tasks", tags(Admin))]
pub async fn list_user_tasks(
    caller: AdminUser,
    state: Data<AppState>,
    id: UserIdParam,
    params: TaskListParams,
) -> Result<JsonOk<Vec<TaskResponse>>, ApiError> {
    let page = state
        .admin
        .list_user_tasks(&caller.0, id.get()?, params.query.clone())
        .await?;
    Ok(params.reply(page))
}
