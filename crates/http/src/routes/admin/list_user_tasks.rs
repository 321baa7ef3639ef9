//! `GET /admin/users/{id}/tasks`: one account's tasks, with the parameters of `GET /tasks`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use crate::AppState;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::path::UserIdParam;
use crate::reply::JsonOk;
use crate::routes::tasks::TaskResponse;
use crate::routes::tasks::list::TaskListParams;

/// One account's tasks, with the filters, sort orders and pages of `GET /tasks`.
#[api_v2_operation(operation_id = "list_user_tasks", tags(Admin))]
pub async fn list_user_tasks(
    caller: AdminUser,
    state: Data<AppState>,
    id: UserIdParam,
    params: TaskListParams,
) -> Result<JsonOk<Vec<TaskResponse>>, ApiError> {
    let _turn = params.search_turn(&state, &caller.0).await?;
    let page = state
        .admin
        .list_user_tasks(&caller.0, id.get()?, params.for_caller(caller.0.user_id))
        .await?;
    Ok(params.reply(page))
}
