//! The bearer-token extractor: turns `Authorization: Bearer <token>` into the caller.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::SecurityScheme;
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{AuthError, Principal};

use crate::AppState;
use crate::error::ApiError;

/// Name of the security scheme in the OpenAPI document.
pub const SECURITY_SCHEME: &str = "bearerAuth";

/// The authenticated caller of a request. Extracting it answers 401 (with
/// `WWW-Authenticate: Bearer`) for a missing, malformed, badly signed, expired or revoked
/// token, before the body is even read.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Principal);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bearer = BearerAuth::from_request(req, payload).into_inner();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let bearer = bearer.map_err(|_| {
                // actix-web-httpauth cannot tell "no header" from "not a bearer header";
                // both are a missing bearer token for the client.
                ApiError::Unauthorized(AuthError::Missing)
            })?;
            let principal = state.accounts.authenticate(bearer.token()).await?;
            Ok(AuthUser(principal))
        })
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
