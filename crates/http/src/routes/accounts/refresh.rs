//! `POST /token/refresh`: the handler, and the refresh-token body it shares with
//! `POST /logout`.

use actix_web::web::Data;
use paperclip::actix::api_v2_operation;

use super::{TokenResponse, tokens};
use crate::AppState;
use crate::body::{Field, Fields, JsonBody, Kind, RequestBody, Text};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::JsonOk;
use crate::throttle::AuthThrottle;

/// Exchanges a refresh token for a new token pair in the same session. The presented token
/// stops working; presenting it again ends the whole session.
#[api_v2_operation(operation_id = "refresh_token", tags(Accounts))]
pub async fn refresh(
    _throttle: AuthThrottle,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<RefreshRequest>,
) -> Result<JsonOk<TokenResponse>, ApiError> {
    let JsonBody(token) = body;
    let pair = state.accounts.refresh(&token.0).await?;
    Ok(tokens(pair))
}

/// A refresh token, to rotate (`POST /token/refresh`) or to end its session
/// (`POST /logout`).
#[derive(Debug)]
pub struct RefreshRequest;

/// A refresh token as sent (only its type is checked: any wrong token is the same 401).
pub struct PresentedRefreshToken(pub String);

impl std::fmt::Debug for PresentedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedRefreshToken(<redacted>)")
    }
}

const REFRESH_TOKEN: Field = Field::new(
    "refresh_token",
    Kind::Text(Text::ANY),
    "The `refresh_token` of the latest token pair.",
)
.required();

impl RequestBody for RefreshRequest {
    const NAME: &'static str = "RefreshRequest";
    // The line break as the document has always shown it.
    const DESCRIPTION: &'static str = "A refresh token, to rotate (`POST /token/refresh`) or to end its session\n (`POST /logout`).";
    const FIELDS: &'static [Field] = &[REFRESH_TOKEN];
    type Parsed = PresentedRefreshToken;

    fn parse(f: &mut Fields) -> Option<PresentedRefreshToken> {
        let token = f.string(REFRESH_TOKEN);
        f.required(REFRESH_TOKEN, token).map(PresentedRefreshToken)
    }
}
