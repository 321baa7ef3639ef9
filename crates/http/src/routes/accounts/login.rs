//! `POST /login`: the handler and its request body.

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;
use actix_web::web::Data;
use paperclip::actix::api_v2_operation;
use taskapi_domain::SessionClient;

use super::{TokenResponse, tokens};
use crate::AppState;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::JsonOk;
use crate::throttle::AuthThrottle;

/// Exchanges email and password for an access token and a refresh token, starting a
/// session. 401 for an unknown email or a wrong password alike; 429 while the email is
/// locked after too many failures (from this address, or from all); 503 while password
/// checks are at capacity. With `auth.email_verification = required`, the right password of
/// an unverified account is 403 (problem type ending in `email-not-verified`), and a new
/// verification token is mailed to it.
#[api_v2_operation(operation_id = "login_user", tags(Accounts))]
pub async fn login(
    throttle: AuthThrottle,
    req: HttpRequest,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<LoginRequest>,
) -> Result<JsonOk<TokenResponse>, ApiError> {
    let JsonBody(credentials) = body;
    // Every attempt is counted before the password is checked, and a success gives it back:
    // only failures add up, and a locked email is refused even with the right password.
    state
        .throttle
        .check_login(&credentials.email, throttle.address)?;
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
    let client = SessionClient::new(user_agent, throttle.address.map(|a| a.to_string()));
    let outcome = state
        .recovery
        .login(&credentials.email, credentials.password, client)
        .await
        .map_err(ApiError::from);
    match outcome {
        Ok(pair) => {
            state
                .throttle
                .forgive_login(&credentials.email, throttle.address);
            Ok(tokens(pair))
        }
        // The right password: not a failure, even though the account may not log in.
        Err(e @ (ApiError::AccountDisabled | ApiError::EmailNotVerified)) => {
            state
                .throttle
                .forgive_login(&credentials.email, throttle.address);
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Login: an account's email and password.
#[derive(Debug)]
pub struct LoginRequest;

/// Login credentials as sent: only their types are checked, so that a malformed email or
/// password is the same 401 as a wrong one. Its `Debug` never shows the password.
pub struct Credentials {
    /// The email as sent.
    pub email: String,
    /// The password as sent.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

// Any string is accepted: a malformed email or password is the same 401 as a wrong one.
const EMAIL: Field = Field::new(
    "email",
    Kind::Text(Text::ANY),
    "The account's email (any case).",
)
.required();
const PASSWORD: Field =
    Field::new("password", Kind::Text(Text::ANY), "The account's password.").required();

impl RequestBody for LoginRequest {
    const NAME: &'static str = "LoginRequest";
    const DESCRIPTION: &'static str = "Login: an account's email and password.";
    const FIELDS: &'static [Field] = &[EMAIL, PASSWORD];
    type Parsed = Credentials;

    fn parse(f: &mut Fields) -> Option<Credentials> {
        let email = f.string(EMAIL);
        let email = f.required(EMAIL, email);
        let password = f.string(PASSWORD);
        let password = f.required(PASSWORD, password);
        Some(Credentials {
            email: email?,
            password: password?,
        })
    }
}
