//! `GET /me` and `DELETE /me`: the caller's own account.

use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use super::UserResponse;
use crate::AppState;
use crate::auth::SessionUser;
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::NoContent;
use crate::throttle::AuthThrottle;

/// Deletes the caller's account with all its tasks; its tokens stop working. Needs a
/// session whose password login is at most `auth.reauth_window` old (403
/// reauthentication-required otherwise); 409 for the last active administrator. Shares the
/// per-address budget of the auth routes.
#[api_v2_operation(operation_id = "delete_me", tags(Accounts))]
pub async fn delete_me(
    _throttle: AuthThrottle,
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<NoContent, ApiError> {
    state.accounts.delete_me(&caller.0).await?;
    Ok(NoContent)
}

/// The caller's own account.
#[api_v2_operation(operation_id = "get_me", tags(Accounts))]
pub async fn me(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<Json<UserResponse>, ApiError> {
    let user = state.accounts.me(&caller.0).await?;
    Ok(Json(user.into()))
}
