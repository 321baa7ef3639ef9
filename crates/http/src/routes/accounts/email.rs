//! `POST /me/email` and `POST /me/email/verification`: changing and verifying the caller's
//! address.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::Email;

use super::password::CurrentPassword;
use crate::AppState;
use crate::auth::SessionUser;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::Accepted;
use crate::throttle::AuthThrottle;

/// Starts changing the caller's address: mails a verification token to the new one, which
/// replaces the old only once verified (`POST /email/verify`). Needs a session whose
/// password login is at most `auth.reauth_window` old (403 reauthentication-required) and
/// the current password (403 when wrong, counted as a failed login); 409 when another
/// account has the address; 503 (mail-not-configured) on a server without mail.
#[api_v2_operation(operation_id = "change_email", tags(Accounts))]
pub async fn change_email(
    throttle: AuthThrottle,
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<ChangeEmailRequest>,
) -> Result<Accepted, ApiError> {
    let JsonBody(change) = body;
    // Refusals that check no password (no mail, an old login) count as no login attempt.
    state.recovery.check_email_change(&caller.0).await?;
    // A wrong current password is a failed login of this account, as for /me/password;
    // only a right one gives the attempt back.
    let email = state.accounts.me(&caller.0).await?.email;
    state
        .throttle
        .check_login(email.as_str(), throttle.address)?;
    let requested = state
        .recovery
        .request_email_change(&caller.0, &change.new_email, change.current.0)
        .await;
    if matches!(
        requested,
        Ok(()) | Err(taskapi_domain::RecoveryError::EmailTaken)
    ) {
        state
            .throttle
            .forgive_login(email.as_str(), throttle.address);
    }
    requested?;
    Ok(Accepted)
}

/// Mails the caller a new verification token of their address (voiding the older). 409
/// when it is verified already; 503 (mail-not-configured) on a server without mail.
#[api_v2_operation(operation_id = "resend_email_verification", tags(Accounts))]
pub async fn resend_verification(
    _throttle: AuthThrottle,
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<Accepted, ApiError> {
    state.recovery.resend_verification(&caller.0).await?;
    Ok(Accepted)
}

/// An address change.
#[derive(Debug)]
pub struct ChangeEmailRequest;

/// A valid address change.
#[derive(Debug)]
pub struct EmailChange {
    /// The new, normalised address.
    pub new_email: Email,
    /// The current password as sent (a wrong one is a 403, whatever its shape).
    pub current: CurrentPassword,
}

const NEW_EMAIL: Field = Field::new(
    "new_email",
    Kind::Text(Text {
        min_len: None,
        max_len: Some(Email::MAX_LEN as u32),
        pattern: None,
        format: Some("email"),
    }),
    "The new address; trimmed and lower-cased. It replaces the old once verified.",
)
.required();
const CURRENT_PASSWORD: Field = Field::new(
    "current_password",
    Kind::Text(Text::ANY),
    "The password now.",
)
.required();

impl RequestBody for ChangeEmailRequest {
    const NAME: &'static str = "ChangeEmailRequest";
    const DESCRIPTION: &'static str = "An address change: the new address and the password.";
    const FIELDS: &'static [Field] = &[NEW_EMAIL, CURRENT_PASSWORD];
    type Parsed = EmailChange;

    fn parse(f: &mut Fields) -> Option<EmailChange> {
        let email = f.string(NEW_EMAIL);
        let email = f
            .required(NEW_EMAIL, email)
            .and_then(|e| f.check(NEW_EMAIL, Email::parse(&e)));
        let current = f.string(CURRENT_PASSWORD);
        let current = f.required(CURRENT_PASSWORD, current);
        Some(EmailChange {
            new_email: email?,
            current: CurrentPassword(current?),
        })
    }
}
