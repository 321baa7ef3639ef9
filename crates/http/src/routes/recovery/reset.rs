//! `POST /password/reset`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::Password;

use crate::AppState;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::NoContent;
use crate::routes::accounts::NEW_PASSWORD_RULE;
use crate::throttle::AuthThrottle;

/// Sets a new password with a reset token (from `POST /password/forgot`'s mail, or from an
/// administrator). Every session of the account ends. 401 for an unknown, used, voided or
/// expired token; 503 while password hashing is at capacity.
#[api_v2_operation(operation_id = "reset_password", tags(Accounts))]
pub async fn reset_password(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<ResetPasswordRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(reset) = body;
    state
        .recovery
        .reset_password(&reset.token.0, reset.new_password)
        .await?;
    Ok(NoContent)
}

/// A password reset.
#[derive(Debug)]
pub struct ResetPasswordRequest;

/// A one-time token as sent. Its `Debug` never shows it.
pub struct OneTimeToken(pub String);

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeToken(<redacted>)")
    }
}

/// A valid password reset.
#[derive(Debug)]
pub struct PasswordReset {
    /// The token as sent (a wrong one is a 401, whatever its shape).
    pub token: OneTimeToken,
    /// The new password, checked against the policy.
    pub new_password: Password,
}

pub(crate) const TOKEN: Field = Field::new(
    "token",
    Kind::Text(Text::ANY),
    "The one-time token from the mail.",
)
.required();
const NEW_PASSWORD: Field = Field::new(
    "new_password",
    NEW_PASSWORD_RULE,
    "The new password, 8–72 bytes.",
)
.required();

impl RequestBody for ResetPasswordRequest {
    const NAME: &'static str = "ResetPasswordRequest";
    const DESCRIPTION: &'static str = "A password reset: the token and the new password.";
    const FIELDS: &'static [Field] = &[TOKEN, NEW_PASSWORD];
    type Parsed = PasswordReset;

    fn parse(f: &mut Fields) -> Option<PasswordReset> {
        let token = f.string(TOKEN);
        let token = f.required(TOKEN, token);
        let new = f.string(NEW_PASSWORD);
        let new = f
            .required(NEW_PASSWORD, new)
            .and_then(|p| f.check(NEW_PASSWORD, Password::parse(p)));
        Some(PasswordReset {
            token: OneTimeToken(token?),
            new_password: new?,
        })
    }
}
