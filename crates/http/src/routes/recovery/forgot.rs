//! `POST /password/forgot`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::Email;

use crate::AppState;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::Accepted;
use crate::throttle::AuthThrottle;

/// Mails a password-reset token to the address if an enabled account has it. Always 202
/// with no body, in about the same time, whether or not one does: the answer tells nothing
/// about accounts. The mail leaves in the background. 503 (problem type ending in
/// `mail-not-configured`) on a server without mail.
#[api_v2_operation(operation_id = "forgot_password", tags(Accounts))]
pub async fn forgot_password(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<ForgotPasswordRequest>,
) -> Result<Accepted, ApiError> {
    let JsonBody(email) = body;
    state.recovery.forgot_password(&email).await?;
    Ok(Accepted)
}

/// A forgotten password: the account's address.
#[derive(Debug)]
pub struct ForgotPasswordRequest;

const EMAIL: Field = Field::new(
    "email",
    Kind::Text(Text {
        min_len: None,
        max_len: Some(Email::MAX_LEN as u32),
        pattern: None,
        format: Some("email"),
    }),
    "The account's email address (any case).",
)
.required();

impl RequestBody for ForgotPasswordRequest {
    const NAME: &'static str = "ForgotPasswordRequest";
    const DESCRIPTION: &'static str = "A forgotten password: the account's address.";
    const FIELDS: &'static [Field] = &[EMAIL];
    type Parsed = Email;

    fn parse(f: &mut Fields) -> Option<Email> {
        let email = f.string(EMAIL);
        f.required(EMAIL, email)
            .and_then(|e| f.check(EMAIL, Email::parse(&e)))
    }
}
