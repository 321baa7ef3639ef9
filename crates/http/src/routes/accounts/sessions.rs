//! `GET /me/sessions` and `DELETE /me/sessions/{id}`: the caller's running sessions.

use actix_web::web::Data;
use chrono::{DateTime, Utc};
use paperclip::actix::{Apiv2Schema, api_v2_operation, web::Json};
use serde::Serialize;
use taskapi_domain::SessionView;
use uuid::Uuid;

use crate::AppState;
use crate::auth::SessionUser;
use crate::error::ApiError;
use crate::path::SessionIdParam;
use crate::query::NoQuery;
use crate::reply::NoContent;

/// The caller's running sessions (logins not ended), the most recently used first; the one
/// of this request is marked `current`. API tokens cannot call it (403).
#[api_v2_operation(operation_id = "list_sessions", tags(Accounts))]
pub async fn list(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<Json<Vec<SessionResponse>>, ApiError> {
    let sessions = state.accounts.list_sessions(&caller.0).await?;
    Ok(Json(
        sessions.into_iter().map(SessionResponse::from).collect(),
    ))
}

/// Ends one of the caller's sessions (this one included): its refresh token and its access
/// tokens stop working. 404 for a session that is not the caller's or no longer runs. API
/// tokens cannot call it (403).
#[api_v2_operation(operation_id = "delete_session", tags(Accounts))]
pub async fn delete(
    caller: SessionUser,
    state: Data<AppState>,
    _query: NoQuery,
    id: SessionIdParam,
) -> Result<NoContent, ApiError> {
    state.accounts.end_session_of(&caller.0, id.get()?).await?;
    Ok(NoContent)
}

/// One running session: a login and its refreshes.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct SessionResponse {
    /// The session's id.
    pub id: Uuid,
    /// When it started (its password login).
    pub created_at: DateTime<Utc>,
    /// Its login or latest refresh (an access token's use is not recorded: it lives
    /// `auth.access_ttl` at most).
    pub last_used_at: DateTime<Utc>,
    /// The `User-Agent` of its login (at most 256 characters); null when none was sent.
    pub user_agent: Option<String>,
    /// The client address of its login, as the server saw it (behind trusted proxies, the
    /// forwarded one); null when unknown.
    pub address: Option<String>,
    /// Whether this request came with this session's access token.
    pub current: bool,
}

impl From<SessionView> for SessionResponse {
    fn from(view: SessionView) -> Self {
        let s = view.session;
        Self {
            id: s.id.as_uuid(),
            created_at: s.created_at,
            last_used_at: s.last_used_at.unwrap_or(s.created_at),
            user_agent: s.user_agent,
            address: s.address,
            current: view.current,
        }
    }
}
