//! `POST /me/tokens`, `GET /me/tokens` and `DELETE /me/tokens/{id}`: the caller's personal
//! API tokens, their request body and responses.

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::web::Data;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, api_v2_operation, web::Json};
use serde::Serialize;
use taskapi_domain::{
    ApiToken, ApiTokenDraft, ApiTokenName, CreatedApiToken, Scope, Scopes, ValidationErrors,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::SessionUser;
use crate::body::{Field, Fields, JsonBody, Kind, NO_CONTROL, RequestBody, Slot, Text};
use crate::error::ApiError;
use crate::path::ApiTokenIdParam;
use crate::query::NoQuery;
use crate::reply::{JsonCreated, NoContent};

/// Creates a personal API token with the given scopes; its secret `token` is in this
/// answer only. Needs a session whose password login is at most `auth.reauth_window` old
/// (403 reauthentication-required otherwise); 409 quota-exceeded past `auth.max_api_tokens`.
/// API tokens cannot call it (403).
#[api_v2_operation(operation_id = "create_api_token", tags(Accounts))]
pub async fn create(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    body: JsonBody<CreateApiTokenRequest>,
) -> Result<JsonCreated<CreatedApiTokenResponse>, ApiError> {
    let JsonBody(draft) = body;
    let created = state.accounts.create_api_token(&caller.0, draft).await?;
    Ok(JsonCreated::new(CreatedApiTokenResponse::from(created))
        .header((CACHE_CONTROL, "no-store"))
        .header((PRAGMA, "no-cache")))
}

/// The caller's personal API tokens, newest first (never their secrets). API tokens cannot
/// call it (403).
#[api_v2_operation(operation_id = "list_api_tokens", tags(Accounts))]
pub async fn list(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<Json<Vec<ApiTokenResponse>>, ApiError> {
    let tokens = state.accounts.list_api_tokens(&caller.0).await?;
    Ok(Json(
        tokens.into_iter().map(ApiTokenResponse::from).collect(),
    ))
}

/// Revokes one of the caller's API tokens: it stops working at once, on every instance.
/// API tokens cannot call it (403).
#[api_v2_operation(operation_id = "delete_api_token", tags(Accounts))]
pub async fn delete(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    id: ApiTokenIdParam,
) -> Result<NoContent, ApiError> {
    state
        .accounts
        .revoke_api_token(&caller.0, id.get()?)
        .await?;
    Ok(NoContent)
}

/// A personal API token as its owner sees it (never its secret).
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ApiTokenResponse {
    /// The token's id.
    pub id: Uuid,
    /// Its owner's name for it.
    pub name: String,
    /// What it allows: `tasks:read`, `tasks:write`, `lists:read`, `lists:write`,
    /// `changes:read`.
    pub scopes: Vec<String>,
    /// The token's first 20 characters (`tka_` and 16 hex digits): not secret, shown so
    /// that the token can be recognised.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working; null if never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute; null if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenResponse {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.as_str().to_owned(),
            scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A personal API token just created, with its secret: shown this once, never again.
#[derive(Serialize, Apiv2Schema)]
pub struct CreatedApiTokenResponse {
    /// The token's id.
    pub id: Uuid,
    /// Its owner's name for it.
    pub name: String,
    /// What it allows.
    pub scopes: Vec<String>,
    /// The token's first 20 characters (not secret).
    pub prefix: String,
    /// The token: send it as `Authorization: Bearer tka_…`. Shown only in this answer.
    pub token: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working; null if never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Always null: it was never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for CreatedApiTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiTokenResponse")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl From<CreatedApiToken> for CreatedApiTokenResponse {
    fn from(c: CreatedApiToken) -> Self {
        let shown = ApiTokenResponse::from(c.token);
        Self {
            id: shown.id,
            name: shown.name,
            scopes: shown.scopes,
            prefix: shown.prefix,
            token: c.secret.expose().to_owned(),
            created_at: shown.created_at,
            expires_at: shown.expires_at,
            last_used_at: shown.last_used_at,
        }
    }
}

/// A new personal API token.
#[derive(Debug)]
pub struct CreateApiTokenRequest;

const SCOPE_PATTERN: &str = "^(tasks:read|tasks:write|lists:read|lists:write|changes:read)$";

const NAME: Field = Field::new(
    "name",
    Kind::Text(Text {
        min_len: Some(1),
        max_len: Some(ApiTokenName::MAX_CHARS as u32),
        pattern: Some(NO_CONTROL),
        format: None,
    }),
    "What the token is for: 1–100 characters after trimming.",
)
.required();
const SCOPES: Field = Field::new(
    "scopes",
    Kind::TextList {
        max_items: Scope::ALL.len() as u32,
        item: Text {
            min_len: None,
            max_len: None,
            pattern: Some(SCOPE_PATTERN),
            format: None,
        },
    },
    "At least one of `tasks:read`, `tasks:write`, `lists:read`, `lists:write`, \
     `changes:read` (`changes:read` also opens `/events`).",
)
.required();
const EXPIRES_AT: Field = Field::new(
    "expires_at",
    Kind::Instant,
    "RFC 3339 date-time in the future when it stops working; null or absent: never.",
)
.nullable();

impl RequestBody for CreateApiTokenRequest {
    const NAME: &'static str = "CreateApiTokenRequest";
    const DESCRIPTION: &'static str = "A new personal API token.";
    const FIELDS: &'static [Field] = &[NAME, SCOPES, EXPIRES_AT];
    type Parsed = ApiTokenDraft;

    fn parse(f: &mut Fields) -> Option<ApiTokenDraft> {
        let name = f.string(NAME);
        let name = f
            .required(NAME, name)
            .and_then(|n| f.check(NAME, ApiTokenName::parse(&n)));
        let scopes = f.strings(SCOPES);
        let scopes = f
            .required(SCOPES, scopes)
            .and_then(|s| f.check_many(scopes_of(&s)));
        let expires_at = match f.timestamp(EXPIRES_AT) {
            Some(Slot::Present(at)) => Some(Some(at)),
            Some(Slot::Absent | Slot::Null) => Some(None),
            None => None,
        };
        Some(ApiTokenDraft {
            name: name?,
            scopes: scopes?,
            expires_at: expires_at?,
        })
    }
}

/// Parses scope names, naming each unknown one by its position (`scopes[1]`).
fn scopes_of(raw: &[String]) -> Result<Scopes, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if raw.len() > Scope::ALL.len() {
        errors.push(
            "scopes",
            format!("must hold at most {} scopes", Scope::ALL.len()),
        );
        return Err(errors);
    }
    let mut scopes = Vec::new();
    for (index, name) in raw.iter().enumerate() {
        match Scope::parse(name) {
            Ok(scope) => scopes.push(scope),
            Err(e) => errors.push(format!("scopes[{index}]"), e.to_string()),
        }
    }
    if errors.is_empty() && scopes.is_empty() {
        errors.push("scopes", "must hold at least one scope");
    }
    if errors.is_empty() {
        Ok(Scopes::of(scopes))
    } else {
        Err(errors)
    }
}
