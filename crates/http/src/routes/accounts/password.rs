//! `POST /me/password`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::Password;

use super::register::NEW_PASSWORD_RULE;
use crate::AppState;
use crate::auth::SessionUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::NoContent;
use crate::throttle::AuthThrottle;

/// Changes the caller's password. 403 when `current_password` is wrong, which counts as a
/// failed login of the account (429 once it is locked, as for `POST /login`). Every session
/// of the account ends, this one included: log in again with the new password.
#[api_v2_operation(operation_id = "change_password", tags(Accounts))]
pub async fn change_password(
    throttle: AuthThrottle,
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(change) = body;
    // A wrong current password is a failed login of this account: guessing it through a
    // stolen access token gets no more tries than guessing it at /login.
    let email = state.accounts.me(&caller.0).await?.email;
    state
        .throttle
        .check_login(email.as_str(), throttle.address)?;
    let changed = state
        .accounts
        .change_password(&caller.0, change.current.0, change.new)
        .await;
    if changed.is_ok() {
        state
            .throttle
            .forgive_login(email.as_str(), throttle.address);
    }
    changed?;
    Ok(NoContent)
}

/// A password change.
#[derive(Debug)]
pub struct ChangePasswordRequest;

/// A valid password change.
#[derive(Debug)]
pub struct PasswordChange {
    /// The current password as sent (a wrong one is a 403, whatever its shape).
    pub current: CurrentPassword,
    /// The new password, checked against the policy.
    pub new: Password,
}

/// A current password as sent. Its `Debug` never shows it.
pub struct CurrentPassword(pub String);

impl std::fmt::Debug for CurrentPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurrentPassword(<redacted>)")
    }
}

// The current password is any string: a wrong one is a 403, whatever its shape.
const CURRENT_PASSWORD: Field = Field::new(
    "current_password",
    Kind::Text(Text::ANY),
    "The password now.",
)
.required();
const NEW_PASSWORD: Field = Field::new(
    "new_password",
    NEW_PASSWORD_RULE,
    "The new password, 8–72 bytes.",
)
.required();

impl RequestBody for ChangePasswordRequest {
    const NAME: &'static str = "ChangePasswordRequest";
    const DESCRIPTION: &'static str = "A password change.";
    const FIELDS: &'static [Field] = &[CURRENT_PASSWORD, NEW_PASSWORD];
    type Parsed = PasswordChange;

    fn parse(f: &mut Fields) -> Option<PasswordChange> {
        let current = f.string(CURRENT_PASSWORD);
        let current = f.required(CURRENT_PASSWORD, current);
        let new = f.string(NEW_PASSWORD);
        let new = f
            .required(NEW_PASSWORD, new)
            .and_then(|p| f.check(NEW_PASSWORD, Password::parse(p)));
        Some(PasswordChange {
            current: CurrentPassword(current?),
            new: new?,
        })
    }
}
