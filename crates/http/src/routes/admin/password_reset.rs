//! `POST /admin/users/{id}/password-reset`.

use actix_web::web::Data;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, api_v2_operation};
use serde::Serialize;
use taskapi_domain::IssuedAccountToken;

use crate::AppState;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::path::UserIdParam;
use crate::query::NoQuery;
use crate::reply::JsonCreated;

/// Makes a one-time password-reset token for the account and answers it instead of mailing
/// it (for servers without mail): hand it to the account's owner, who sets a new password
/// with `POST /password/reset`. Voids the account's older reset tokens.
#[api_v2_operation(operation_id = "create_password_reset", tags(Admin))]
pub async fn create_password_reset(
    caller: AdminUser,
    state: Data<AppState>,
    _query: NoQuery,
    id: UserIdParam,
) -> Result<JsonCreated<ResetTokenResponse>, ApiError> {
    let issued = state
        .recovery
        .admin_reset_token(&caller.0, id.get()?)
        .await?;
    Ok(JsonCreated::new(ResetTokenResponse::from(issued))
        .header((actix_web::http::header::CACHE_CONTROL, "no-store")))
}

/// A password-reset token, shown once.
#[derive(Serialize, Apiv2Schema)]
pub struct ResetTokenResponse {
    /// The one-time token: `POST /password/reset {"token": …, "new_password": …}`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ResetTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetTokenResponse")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl From<IssuedAccountToken> for ResetTokenResponse {
    fn from(t: IssuedAccountToken) -> Self {
        Self {
            token: t.token,
            expires_at: t.expires_at,
        }
    }
}
