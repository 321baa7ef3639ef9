//! Registration, login, sessions and the caller's own account: what these routes share —
//! the account and the token pair as the API shows them — and their route table.

mod email;
mod login;
mod logout;
mod me;
mod password;
mod refresh;
mod register;
mod sessions;
mod tokens;

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, web};
use serde::Serialize;
use taskapi_domain::{Role, TokenPair, User};
use uuid::Uuid;

use super::resource;
use crate::body::schema;
use crate::reply::JsonOk;

pub(crate) use register::NEW_PASSWORD_RULE;

/// Registers `/register`, `/login`, `/token/refresh`, `/logout`, `/logout/all`, `/me`,
/// `/me/password`, `/me/email`, `/me/email/verification`, `/me/tokens`, `/me/tokens/{id}`,
/// `/me/sessions` and `/me/sessions/{id}`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/register", "POST").route(web::post().to(register::register)))
        .service(resource("/login", "POST").route(web::post().to(login::login)))
        .service(resource("/token/refresh", "POST").route(web::post().to(refresh::refresh)))
        .service(resource("/logout", "POST").route(web::post().to(logout::logout)))
        .service(resource("/logout/all", "POST").route(web::post().to(logout::logout_all)))
        .service(
            resource("/me", "GET, DELETE")
                .route(web::get().to(me::me))
                .route(web::delete().to(me::delete_me)),
        )
        .service(resource("/me/password", "POST").route(web::post().to(password::change_password)))
        .service(
            resource("/me/tokens", "GET, POST")
                .route(web::get().to(tokens::list))
                .route(web::post().to(tokens::create)),
        )
        .service(resource("/me/tokens/{id}", "DELETE").route(web::delete().to(tokens::delete)))
        .service(resource("/me/sessions", "GET").route(web::get().to(sessions::list)))
        .service(resource("/me/sessions/{id}", "DELETE").route(web::delete().to(sessions::delete)))
        .service(resource("/me/email", "POST").route(web::post().to(email::change_email)))
        .service(
            resource("/me/email/verification", "POST")
                .route(web::post().to(email::resend_verification)),
        );
}

/// The schemas of these routes' request bodies.
pub(super) fn request_bodies() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        schema::<register::RegisterRequest>(),
        schema::<login::LoginRequest>(),
        schema::<refresh::RefreshRequest>(),
        schema::<password::ChangePasswordRequest>(),
        schema::<tokens::CreateApiTokenRequest>(),
        schema::<email::ChangeEmailRequest>(),
    ]
}

/// The values of `role`, in the API's spelling.
pub(crate) const ROLES: &[&str] = &["user", "admin"];

/// A token pair, never to be cached.
pub(crate) fn tokens(pair: TokenPair) -> JsonOk<TokenResponse> {
    JsonOk::new(TokenResponse::from(pair))
        .header((CACHE_CONTROL, "no-store"))
        .header((PRAGMA, "no-cache"))
}

/// A user's role.
#[derive(Debug, Clone, Copy, Serialize, Apiv2Schema)]
#[serde(rename_all = "lowercase")]
pub enum RoleDto {
    /// Manages their own tasks.
    User,
    /// Also manages accounts.
    Admin,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::User => RoleDto::User,
            Role::Admin => RoleDto::Admin,
        }
    }
}

/// A user account. Never carries a password or its hash.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct UserResponse {
    /// The account's id (UUID v7).
    pub id: Uuid,
    /// The normalised (trimmed, lower-case) email.
    pub email: String,
    /// The account's role.
    pub role: RoleDto,
    /// Whether an administrator disabled the account.
    pub disabled: bool,
    /// Whether its owner proved to read mail at the address (`POST /email/verify`).
    pub email_verified: bool,
    /// When the account was registered.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.as_str().to_owned(),
            role: u.role.into(),
            disabled: u.disabled,
            email_verified: u.email_verified,
            created_at: u.created_at,
        }
    }
}

/// The tokens a successful login or refresh returns.
#[derive(Serialize, Apiv2Schema)]
pub struct TokenResponse {
    /// The access token: send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange it at `POST /token/refresh` for a new pair (once: it is rotated).
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl From<TokenPair> for TokenResponse {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access.token,
            token_type: "bearer",
            expires_in: t.access.expires_in,
            refresh_token: t.refresh_token.expose().to_owned(),
        }
    }
}
