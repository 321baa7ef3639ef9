//! The bearer-token extractor: turns `Authorization: Bearer <token>` into the caller.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::SecurityScheme;
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{AuthError, CredentialError, Principal, Role, Scope};

use crate::AppState;
use crate::error::{ADMINS_ONLY, ApiError};

/// Name of the security scheme in the OpenAPI document.
pub const SECURITY_SCHEME: &str = "bearerAuth";
/// Name of the personal API tokens' security scheme in the OpenAPI document.
pub const API_TOKEN_SCHEME: &str = "apiToken";

/// The authenticated caller of a request. Extracting it answers 401 (with
/// `WWW-Authenticate: Bearer`) for a missing, malformed, badly signed, expired or revoked
/// token.
///
/// actix polls all of a handler's extractors together, and a token's revocation check waits
/// on the database while a bad body fails at once; yet the 401 must come first. So
/// `AuthUser` must be a handler's first argument: it leaves an [`AuthGate`] in the request,
/// and the body and query extractors wait at that gate before they judge anything.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Principal);

/// An authenticated administrator with a session: like [`AuthUser`] (and, like it, a
/// handler's first argument), and a 403 for anyone else (an administrator's API token
/// included), decided at the same gate so that it also comes before any body or query
/// error.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub Principal);

/// A caller who came with a session (a password login): the account, session and token
/// routes. An API token gets 403 session-required at the gate, before any body or query
/// error. (The services refuse API tokens too: this only orders the answers.)
#[derive(Debug, Clone, Copy)]
pub struct SessionUser(pub Principal);

/// A caller whose credential allows the scope `S` names (a session allows all): the task
/// routes. An API token without it gets 403 naming the scope at the gate, before any body
/// or query error. (The services check the scope themselves: this only orders the answers.)
#[derive(Debug, Clone, Copy)]
pub struct ScopedUser<S: ScopeKind>(pub Principal, PhantomData<S>);

/// A scope a route needs, as a type.
pub trait ScopeKind {
    /// The scope.
    const SCOPE: Scope;
}

/// `tasks:read`.
#[derive(Debug, Clone, Copy)]
pub struct TasksRead;

impl ScopeKind for TasksRead {
    const SCOPE: Scope = Scope::TasksRead;
}

/// `tasks:write`.
#[derive(Debug, Clone, Copy)]
pub struct TasksWrite;

impl ScopeKind for TasksWrite {
    const SCOPE: Scope = Scope::TasksWrite;
}

/// `lists:read` (for the list routes).
#[derive(Debug, Clone, Copy)]
pub struct ListsRead;

impl ScopeKind for ListsRead {
    const SCOPE: Scope = Scope::ListsRead;
}

/// `lists:write` (for the list routes).
#[derive(Debug, Clone, Copy)]
pub struct ListsWrite;

impl ScopeKind for ListsWrite {
    const SCOPE: Scope = Scope::ListsWrite;
}

/// `changes:read` (for `/changes` and `/events`).
#[derive(Debug, Clone, Copy)]
pub struct ChangesRead;

impl ScopeKind for ChangesRead {
    const SCOPE: Scope = Scope::ChangesRead;
}

/// What a route asks of the caller's credential, checked at the gate.
#[derive(Debug, Clone, Copy)]
enum Requirement {
    Any,
    Scope(Scope),
    Session,
    Admin,
}

/// Why authentication failed, in a form every waiter at the gate can get a copy of.
#[derive(Debug, Clone)]
enum AuthFailure {
    Unauthorized(AuthError),
    AdminsOnly,
    Credential(CredentialError),
    Unavailable,
    Internal(String),
}

impl From<ApiError> for AuthFailure {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(reason) => AuthFailure::Unauthorized(reason),
            ApiError::Forbidden(_) => AuthFailure::AdminsOnly,
            ApiError::Unavailable => AuthFailure::Unavailable,
            other => AuthFailure::Internal(other.to_string()),
        }
    }
}

impl From<AuthFailure> for ApiError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::Unauthorized(reason) => ApiError::Unauthorized(reason),
            AuthFailure::AdminsOnly => ApiError::Forbidden(ADMINS_ONLY),
            AuthFailure::Credential(e) => e.into(),
            AuthFailure::Unavailable => ApiError::Unavailable,
            AuthFailure::Internal(why) => ApiError::Internal(why),
        }
    }
}

type Outcome = Shared<LocalBoxFuture<'static, Result<Principal, AuthFailure>>>;

/// The pending outcome of a request's authentication, shared with the extractors that must
/// not answer before it.
#[derive(Clone)]
pub(crate) struct AuthGate(Outcome);

impl AuthGate {
    /// The gate of this request, if it has an authenticated route.
    pub(crate) fn of(req: &HttpRequest) -> Option<Self> {
        req.extensions().get::<AuthGate>().cloned()
    }

    /// Waits for authentication; its failure is the request's answer.
    pub(crate) async fn passed(gate: Option<Self>) -> Result<(), ApiError> {
        match gate {
            Some(AuthGate(outcome)) => outcome.await.map(drop).map_err(ApiError::from),
            None => Ok(()),
        }
    }
}

/// Starts authenticating the request (and checking what `requirement` asks of the caller),
/// and leaves the pending outcome at the request's gate.
fn open_gate(req: &HttpRequest, payload: &mut Payload, requirement: Requirement) -> Outcome {
    let bearer = BearerAuth::from_request(req, payload).into_inner();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let outcome: Outcome = async move {
        let state =
            state.ok_or_else(|| AuthFailure::Internal("application state missing".into()))?;
        // actix-web-httpauth cannot tell "no header" from "not a bearer header"; both
        // are a missing bearer token for the client.
        let bearer = bearer.map_err(|_| AuthFailure::Unauthorized(AuthError::Missing))?;
        let principal = state
            .accounts
            .authenticate(bearer.token())
            .await
            .map_err(|e| AuthFailure::from(ApiError::from(e)))?;
        match requirement {
            Requirement::Any => {}
            Requirement::Scope(scope) => {
                principal.require(scope).map_err(AuthFailure::Credential)?;
            }
            Requirement::Session => {
                principal
                    .require_session()
                    .map_err(AuthFailure::Credential)?;
            }
            Requirement::Admin => {
                principal
                    .require_session()
                    .map_err(AuthFailure::Credential)?;
                if principal.role != Role::Admin {
                    return Err(AuthFailure::AdminsOnly);
                }
            }
        }
        Ok(principal)
    }
    .boxed_local()
    .shared();
    req.extensions_mut().insert(AuthGate(outcome.clone()));
    outcome
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let outcome = open_gate(req, payload, Requirement::Any);
        async move { outcome.await.map(AuthUser).map_err(ApiError::from) }.boxed_local()
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let outcome = open_gate(req, payload, Requirement::Admin);
        async move { outcome.await.map(AdminUser).map_err(ApiError::from) }.boxed_local()
    }
}

impl FromRequest for SessionUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let outcome = open_gate(req, payload, Requirement::Session);
        async move { outcome.await.map(SessionUser).map_err(ApiError::from) }.boxed_local()
    }
}

impl<S: ScopeKind + 'static> FromRequest for ScopedUser<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let outcome = open_gate(req, payload, Requirement::Scope(S::SCOPE));
        async move {
            outcome
                .await
                .map(|p| ScopedUser(p, PhantomData))
                .map_err(ApiError::from)
        }
        .boxed_local()
    }
}

impl Apiv2Schema for AuthUser {
    fn name() -> Option<String> {
        Some(SECURITY_SCHEME.into())
    }

    fn security_scheme() -> Option<SecurityScheme> {
        // OpenAPI 2 cannot say "HTTP bearer"; the finished v3 document replaces this with
        // `{type: http, scheme: bearer, bearerFormat: JWT}` (see openapi.rs).
        Some(SecurityScheme {
            type_: "apiKey".into(),
            name: Some("Authorization".into()),
            in_: Some("header".into()),
            description: Some("`Authorization: Bearer <access_token>` from POST /login".into()),
            ..Default::default()
        })
    }
}

impl OperationModifier for AuthUser {}

impl Apiv2Schema for AdminUser {
    fn name() -> Option<String> {
        AuthUser::name()
    }

    fn security_scheme() -> Option<SecurityScheme> {
        AuthUser::security_scheme()
    }
}

impl OperationModifier for AdminUser {}

impl Apiv2Schema for SessionUser {
    fn name() -> Option<String> {
        AuthUser::name()
    }

    fn security_scheme() -> Option<SecurityScheme> {
        AuthUser::security_scheme()
    }
}

impl OperationModifier for SessionUser {}

// The task routes also accept API tokens: the finished document adds that scheme to their
// operations (see openapi.rs).
impl<S: ScopeKind> Apiv2Schema for ScopedUser<S> {
    fn name() -> Option<String> {
        AuthUser::name()
    }

    fn security_scheme() -> Option<SecurityScheme> {
        AuthUser::security_scheme()
    }
}

impl<S: ScopeKind> OperationModifier for ScopedUser<S> {}

/// The request's bearer token as sent, for the few use cases that look at the token's own
/// session (a recent login). Always after [`AuthUser`], which has already answered 401 for
/// a missing or bad one; it adds nothing to the OpenAPI document.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = BearerAuth::from_request(req, payload)
            .into_inner()
            .map(|bearer| BearerToken(bearer.token().to_owned()))
            .map_err(|_| ApiError::Unauthorized(AuthError::Missing));
        std::future::ready(token)
    }
}

impl Apiv2Schema for BearerToken {}
impl OperationModifier for BearerToken {}
