//! Success responses that carry a status and headers and still document themselves.

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue, TryIntoHeaderPair};
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;
use serde::Serialize;

/// A JSON body answered with status `STATUS` and extra headers.
#[derive(Debug)]
pub struct Reply<T, const STATUS: u16> {
    body: T,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// 200 with a JSON body.
pub type JsonOk<T> = Reply<T, 200>;
/// 201 with a JSON body.
pub type JsonCreated<T> = Reply<T, 201>;

impl<T, const STATUS: u16> Reply<T, STATUS> {
    /// A reply with no extra headers.
    pub fn new(body: T) -> Self {
        Self {
            body,
            headers: Vec::new(),
        }
    }

    /// Adds a header; one that cannot be encoded is skipped (and logged), never a panic.
    pub fn header(mut self, header: impl TryIntoHeaderPair) -> Self {
        match header.try_into_pair() {
            Ok(pair) => self.headers.push(pair),
            Err(_) => log::error!("dropping a response header that could not be encoded"),
        }
        self
    }
}

impl<T: Serialize, const STATUS: u16> Responder for Reply<T, STATUS> {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let status = StatusCode::from_u16(STATUS).unwrap_or(StatusCode::OK);
        match serde_json::to_vec(&self.body) {
            Ok(body) => {
                let mut response = HttpResponse::build(status);
                response.content_type("application/json");
                for (name, value) in self.headers {
                    response.insert_header((name, value));
                }
                response.body(body)
            }
            Err(e) => actix_web::ResponseError::error_response(&crate::error::ApiError::Internal(
                format!("serialising a response failed: {e}"),
            )),
        }
    }
}

impl<T: Apiv2Schema, const STATUS: u16> Apiv2Schema for Reply<T, STATUS> {
    fn name() -> Option<String> {
        T::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        T::raw_schema()
    }
}

impl<T: Apiv2Schema, const STATUS: u16> OperationModifier for Reply<T, STATUS> {
    fn update_response(op: &mut DefaultOperationRaw) {
        let status = StatusCode::from_u16(STATUS).unwrap_or(StatusCode::OK);
        op.responses.insert(
            status.as_str().into(),
            Either::Right(Response {
                description: status.canonical_reason().map(ToString::to_string),
                schema: Some({
                    let mut def = T::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }
}

/// 202 Accepted, without a body: the work goes on in the background.
#[derive(Debug)]
pub struct Accepted;

impl Responder for Accepted {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        HttpResponse::Accepted().finish()
    }
}

impl Apiv2Schema for Accepted {}

impl OperationModifier for Accepted {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "202".into(),
            Either::Right(Response {
                description: Some("Accepted".into()),
                ..Default::default()
            }),
        );
    }
}

/// 204 No Content.
#[derive(Debug)]
pub struct NoContent;

impl Responder for NoContent {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
}

impl Apiv2Schema for NoContent {}

impl OperationModifier for NoContent {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "204".into(),
            Either::Right(Response {
                description: Some("No Content".into()),
                ..Default::default()
            }),
        );
    }
}
