//! Registration, login and the caller's own account.

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use taskapi_domain::{AccountError, TokenPair};

use crate::AppState;
use crate::auth::AuthUser;
use crate::body::JsonBody;
use crate::dto::{
    ChangePasswordRequest, LoginRequest, RefreshRequest, RegisterRequest, TokenResponse,
    UserResponse,
};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::{JsonCreated, JsonOk, NoContent};
use crate::throttle::AuthThrottle;

/// A token pair, never to be cached.
fn tokens(pair: TokenPair) -> JsonOk<TokenResponse> {
    JsonOk::new(TokenResponse::from(pair))
        .header((CACHE_CONTROL, "no-store"))
        .header((PRAGMA, "no-cache"))
}

/// Creates an account. 409 if the email is already registered (case-insensitively).
#[api_v2_operation(operation_id = "register_user", tags(Accounts))]
pub async fn register(
    _throttle: AuthThrottle,
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

/// Exchanges email and password for an access token and a refresh token, starting a
/// session. 401 for an unknown email or a wrong password alike; 429 while the email is
/// locked after too many failures.
#[api_v2_operation(operation_id = "login_user", tags(Accounts))]
pub async fn login(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<LoginRequest>,
) -> Result<JsonOk<TokenResponse>, ApiError> {
    let JsonBody(credentials, _) = body;
    // Every attempt is counted before the password is checked, and a success gives it back:
    // only failures add up, and a locked email is refused even with the right password.
    state.throttle.check_email(&credentials.email)?;
    let outcome = state
        .accounts
        .login(&credentials.email, credentials.password)
        .await;
    match outcome {
        Ok(pair) => {
            state.throttle.forgive_email(&credentials.email);
            Ok(tokens(pair))
        }
        // The right password: not a failure, even though the account may not log in.
        Err(AccountError::AccountDisabled) => {
            state.throttle.forgive_email(&credentials.email);
            Err(ApiError::AccountDisabled)
        }
        Err(e) => Err(e.into()),
    }
}

/// Exchanges a refresh token for a new token pair in the same session. The presented token
/// stops working; presenting it again ends the whole session.
#[api_v2_operation(operation_id = "refresh_token", tags(Accounts))]
pub async fn refresh(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RefreshRequest>,
) -> Result<JsonOk<TokenResponse>, ApiError> {
    let JsonBody(token, _) = body;
    let pair = state.accounts.refresh(&token.0).await?;
    Ok(tokens(pair))
}

/// Ends the session of the given refresh token: its refresh and access tokens stop
/// working; the caller's other sessions go on.
#[api_v2_operation(operation_id = "logout_session", tags(Accounts))]
pub async fn logout(
    caller: AuthUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RefreshRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(token, _) = body;
    state.accounts.logout(&caller.0, &token.0).await?;
    Ok(NoContent)
}

/// Ends every session of the caller.
#[api_v2_operation(operation_id = "logout_all_sessions", tags(Accounts))]
pub async fn logout_all(
    caller: AuthUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<NoContent, ApiError> {
    state.accounts.logout_all(&caller.0).await?;
    Ok(NoContent)
}

/// Changes the caller's password. 403 when `current_password` is wrong. Every session of
/// the account ends, this one included: log in again with the new password.
#[api_v2_operation(operation_id = "change_password", tags(Accounts))]
pub async fn change_password(
    caller: AuthUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(change, _) = body;
    state
        .accounts
        .change_password(&caller.0, change.current.0, change.new)
        .await?;
    Ok(NoContent)
}

/// Deletes the caller's account with all its tasks; its tokens stop working. 409 for the
/// last active administrator.
#[api_v2_operation(operation_id = "delete_me", tags(Accounts))]
pub async fn delete_me(
    caller: AuthUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<NoContent, ApiError> {
    state.accounts.delete_me(&caller.0).await?;
    Ok(NoContent)
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
