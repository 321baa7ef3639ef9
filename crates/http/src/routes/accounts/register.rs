//! `POST /register`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::{Email, Password};

use super::UserResponse;
use crate::AppState;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::JsonCreated;
use crate::throttle::AuthThrottle;

/// Creates an account. 409 if the email is already registered (case-insensitively). Unless
/// `auth.email_verification` is `off` (or the server sends no mail), a verification token
/// is mailed to the address.
#[api_v2_operation(operation_id = "register_user", tags(Accounts))]
pub async fn register(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RegisterRequest>,
) -> Result<JsonCreated<UserResponse>, ApiError> {
    let JsonBody(registration) = body;
    let user = state
        .accounts
        .register(registration.email, registration.password)
        .await?;
    // The account exists whatever happens to its verification mail: a failure to queue it
    // is logged, and the user can ask for another (`POST /me/email/verification`).
    if let Err(e) = state.recovery.registered(&user).await {
        log::warn!("queueing the verification mail of a new account failed: {e}");
    }
    Ok(JsonCreated::new(UserResponse::from(user)))
}

/// Registration: a new account's email and password.
#[derive(Debug)]
pub struct RegisterRequest;

/// A valid registration.
#[derive(Debug)]
pub struct Registration {
    /// The normalised email.
    pub email: Email,
    /// The password, checked against the policy.
    pub password: Password,
}

const EMAIL: Field = Field::new(
    "email",
    Kind::Text(Text {
        min_len: None,
        max_len: Some(Email::MAX_LEN as u32),
        pattern: None,
        format: Some("email"),
    }),
    "A valid email address; trimmed and lower-cased. Must not be registered yet.",
)
.required();

/// A new password's rule. JSON Schema counts characters, the policy counts UTF-8 bytes: the
/// bounds hold as written for ASCII; the description states the rule itself.
pub(crate) const NEW_PASSWORD_RULE: Kind = Kind::Text(Text {
    min_len: Some(Password::MIN_BYTES as u32),
    max_len: Some(Password::MAX_BYTES as u32),
    pattern: None,
    format: None,
});

const PASSWORD: Field = Field::new("password", NEW_PASSWORD_RULE, "8–72 bytes.").required();

impl RequestBody for RegisterRequest {
    const NAME: &'static str = "RegisterRequest";
    const DESCRIPTION: &'static str = "Registration: a new account's email and password.";
    const FIELDS: &'static [Field] = &[EMAIL, PASSWORD];
    type Parsed = Registration;

    fn parse(f: &mut Fields) -> Option<Registration> {
        let email = f.string(EMAIL);
        let email = f
            .required(EMAIL, email)
            .and_then(|e| f.check(EMAIL, Email::parse(&e)));
        let password = f.string(PASSWORD);
        let password = f
            .required(PASSWORD, password)
            .and_then(|p| f.check(PASSWORD, Password::parse(p)));
        Some(Registration {
            email: email?,
            password: password?,
        })
    }
}
