//! Idempotent creation: the `Idempotency-Key` header, and the body extractor that also
//! fingerprints the body (only requests that may be replayed need the fingerprint).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderName;
use actix_web::{FromRequest, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use serde_json::Value;
use taskapi_domain::IdempotencyKey;

use crate::auth::AuthGate;
use crate::body::{RequestBody, body_parameter, parse_fields, read_json, schema_stub};
use crate::conditional::header_parameter;
use crate::error::ApiError;

/// The `Idempotency-Key` request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// `Idempotency-Key`: 1–255 visible ASCII characters; anything else is a 422 naming the
/// header (after authentication).
#[derive(Debug, Clone)]
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl FromRequest for IdempotencyKeyHeader {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values: Vec<_> = req.headers().get_all(&IDEMPOTENCY_KEY).collect();
        let parsed = match values.as_slice() {
            [] => Ok(None),
            [value] => value
                .to_str()
                .map_err(|_| "must be visible ASCII".to_owned())
                .and_then(|raw| IdempotencyKey::parse(raw).map_err(|e| e.to_string()))
                .map(Some)
                .map_err(|message| ApiError::invalid("Idempotency-Key", message)),
            _ => Err(ApiError::invalid(
                "Idempotency-Key",
                "must be given at most once",
            )),
        };
        let gate = AuthGate::of(req);
        async move {
            AuthGate::passed(gate).await?;
            parsed.map(Self)
        }
        .boxed_local()
    }
}

impl Apiv2Schema for IdempotencyKeyHeader {}
impl OperationModifier for IdempotencyKeyHeader {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut parameter = header_parameter(
            "Idempotency-Key",
            "1–255 visible ASCII characters. Repeating the request with the same key within 24 h \
             replays the first response and creates nothing; the same key with another body is 422.",
        );
        parameter.min_length = Some(1);
        parameter.max_length = u32::try_from(IdempotencyKey::MAX_LEN).ok();
        parameter.pattern = Some("^[!-~]+$".into());
        op.parameters.push(Either::Right(parameter));
    }
}

/// What identifies a body's content: SHA-256 of its canonical JSON (object keys sorted,
/// insignificant whitespace dropped), so that "the same body" means equal JSON after
/// parsing, whatever its formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    fn of(value: &Value) -> Self {
        use sha2::{Digest, Sha256};
        // serde_json's maps are ordered by key, so serialising is canonical.
        let digest = Sha256::digest(value.to_string().as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A JSON body of type `B`, checked like [`crate::body::JsonBody`], with the fingerprint an
/// idempotent replay compares.
#[derive(Debug)]
pub struct IdempotentBody<B: RequestBody>(pub B::Parsed, pub Fingerprint);

impl<B: RequestBody + 'static> FromRequest for IdempotentBody<B> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        let gate = AuthGate::of(&req);
        Box::pin(async move {
            let value = read_json(&req, payload, gate).await?;
            let fingerprint = Fingerprint::of(&value);
            parse_fields::<B>(value).map(|parsed| IdempotentBody(parsed, fingerprint))
        })
    }
}

impl<B: RequestBody> Apiv2Schema for IdempotentBody<B> {
    fn name() -> Option<String> {
        Some(B::NAME.into())
    }

    fn raw_schema() -> DefaultSchemaRaw {
        schema_stub::<B>()
    }
}

impl<B: RequestBody> OperationModifier for IdempotentBody<B> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        body_parameter::<B>(op);
    }
}
