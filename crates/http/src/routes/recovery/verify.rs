//! `POST /email/verify`: the handler and its request body.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use super::reset::{OneTimeToken, TOKEN};
use crate::AppState;
use crate::body::{Field, Fields, JsonBody, RequestBody};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::NoContent;
use crate::throttle::AuthThrottle;

/// Verifies an e-mail address with the token mailed to it: the account's address is marked
/// verified, or, for a change (`POST /me/email`), replaced by the new one. 401 for an
/// unknown, used, voided or expired token; 409 when another account took the new address
/// meanwhile.
#[api_v2_operation(operation_id = "verify_email", tags(Accounts))]
pub async fn verify_email(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<VerifyEmailRequest>,
) -> Result<NoContent, ApiError> {
    let JsonBody(token) = body;
    state.recovery.verify_email(&token.0).await?;
    Ok(NoContent)
}

/// An e-mail verification.
#[derive(Debug)]
pub struct VerifyEmailRequest;

impl RequestBody for VerifyEmailRequest {
    const NAME: &'static str = "VerifyEmailRequest";
    const DESCRIPTION: &'static str = "An e-mail verification: the token from the mail.";
    const FIELDS: &'static [Field] = &[TOKEN];
    type Parsed = OneTimeToken;

    fn parse(f: &mut Fields) -> Option<OneTimeToken> {
        let token = f.string(TOKEN);
        f.required(TOKEN, token).map(OneTimeToken)
    }
}
