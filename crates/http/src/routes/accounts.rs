//! Registration, login and the caller's own account.

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use crate::AppState;
use crate::auth::AuthUser;
use crate::body::JsonBody;
use crate::dto::{LoginRequest, RegisterRequest, TokenResponse, UserResponse};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::{JsonCreated, JsonOk};

/// Creates an account. 409 if the email is already registered (case-insensitively).
#[api_v2_operation(operation_id = "register_user", tags(Accounts))]
pub async fn register(
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RegisterRequest>,
) -> Result<JsonCreated<UserResponse>, ApiError> {
    let JsonBody(registration, _) = body;
    let user = state
        .accounts
        .register(registration.email, registration.password)
        .await?;
    Ok(JsonCreated::new(UserResponse::from(user)))
}

/// Exchanges email and password for an access token. 401 for an unknown email or a wrong
/// password alike.
#[api_v2_operation(operation_id = "login_user", tags(Accounts))]
pub async fn login(
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<LoginRequest>,
) -> Result<JsonOk<TokenResponse>, ApiError> {
    let JsonBody(credentials, _) = body;
    let token = state
        .accounts
        .login(&credentials.email, credentials.password)
        .await?;
    Ok(JsonOk::new(TokenResponse::from(token))
        .header((CACHE_CONTROL, "no-store"))
        .header((PRAGMA, "no-cache")))
}

/// The caller's own account.
#[api_v2_operation(operation_id = "get_me", tags(Accounts))]
pub async fn me(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
) -> Result<Json<UserResponse>, ApiError> {
    let user = state.accounts.me(&caller.0).await?;
    Ok(Json(user.into()))
}
