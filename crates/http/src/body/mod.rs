//! Request bodies: the `JsonBody` extractor (media type, size limit, JSON syntax, then the
//! body's own fields, every invalid one collected so that one 422 names them all).

mod fields;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Parameter, ParameterIn,
};
use paperclip::v2::schema::Apiv2Schema;
use serde_json::Value;

pub(crate) use fields::{
    Field, Fields, Kind, NO_CONTROL, NOT_BLANK, NOT_BLANK_VISIBLE, RequestBody, Slot,
    TEXT_WITH_BREAKS, Text, schema,
};

use crate::auth::AuthGate;
use crate::error::ApiError;

/// Largest accepted request body: a bigger one is 413.
pub const MAX_BODY_BYTES: usize = 65_536;

/// Extracts and validates a JSON body of type `B`.
///
/// Order of checks, as the status precedence wants: 415 without a JSON media type, 413 over
/// the size limit, 400 for malformed JSON, 422 for anything else wrong.
#[derive(Debug)]
pub struct JsonBody<B: RequestBody>(pub B::Parsed);

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_limited(req: &HttpRequest, mut payload: Payload) -> Result<web::BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(MAX_BODY_BYTES));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::MalformedJson(format!("the body could not be read ({e})")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a JSON body once authentication (`gate`, taken from the request when its extractor
/// was called) passed: 415, 413 and 400 as [`JsonBody`] describes.
pub(crate) async fn read_json(
    req: &HttpRequest,
    payload: Payload,
    gate: Option<AuthGate>,
) -> Result<Value, ApiError> {
    AuthGate::passed(gate).await?;
    if !is_json(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = read_limited(req, payload).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// Reads the fields of `B` from a parsed JSON body: 422 naming every bad or unknown field.
pub(crate) fn parse_fields<B: RequestBody>(value: Value) -> Result<B::Parsed, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    };
    let mut fields = Fields::new(map);
    let parsed = B::parse(&mut fields);
    fields.finish(B::FIELDS, B::READ_ONLY)?;
    parsed.ok_or_else(|| ApiError::Internal("body parser failed without errors".into()))
}

impl<B: RequestBody + 'static> FromRequest for JsonBody<B> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        let gate = AuthGate::of(&req);
        Box::pin(async move {
            let value = read_json(&req, payload, gate).await?;
            parse_fields::<B>(value).map(JsonBody)
        })
    }
}

/// The name and description of a body's schema for paperclip, which only refers to it; the
/// schema itself is generated from the field list into the finished document.
pub(crate) fn schema_stub<B: RequestBody>() -> DefaultSchemaRaw {
    DefaultSchemaRaw {
        name: Some(B::NAME.into()),
        description: Some(B::DESCRIPTION.into()),
        data_type: Some(DataType::Object),
        ..Default::default()
    }
}

/// Documents a body parameter of `B` (a reference to its schema).
pub(crate) fn body_parameter<B: RequestBody>(op: &mut DefaultOperationRaw) {
    op.parameters.push(Either::Right(Parameter {
        in_: ParameterIn::Body,
        name: "body".into(),
        required: true,
        schema: Some(DefaultSchemaRaw {
            reference: Some(format!("#/definitions/{}", B::NAME)),
            ..Default::default()
        }),
        ..Default::default()
    }));
}

impl<B: RequestBody> Apiv2Schema for JsonBody<B> {
    fn name() -> Option<String> {
        Some(B::NAME.into())
    }

    fn raw_schema() -> DefaultSchemaRaw {
        schema_stub::<B>()
    }
}

impl<B: RequestBody> OperationModifier for JsonBody<B> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        body_parameter::<B>(op);
    }
}
