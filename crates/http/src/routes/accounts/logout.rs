//! `POST /logout` (one session) and `POST /logout/all` (every session of the caller).

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use super::refresh::RefreshRequest;
use crate::AppState;
use crate::auth::SessionUser;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::NoContent;

/// Ends the session of the given refresh token: its refresh and access tokens stop
/// working; the caller's other sessions go on.
#[api_v2_operation(operation_id = "logout_session", tags(Accounts))]
pub async fn logout(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RefreshRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(token) = body;
    state.accounts.logout(&caller.0, &token.0).await?;
    Ok(NoContent)
}

/// Ends every session of the caller.
#[api_v2_operation(operation_id = "logout_all_sessions", tags(Accounts))]
pub async fn logout_all(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<NoContent, ApiError> {
    state.accounts.logout_all(&caller.0).await?;
    Ok(NoContent)
}
