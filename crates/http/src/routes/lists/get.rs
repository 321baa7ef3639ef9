//! `GET /lists/{id}`: one list with its `ETag`, or 304 when the client's copy is current.

use actix_web::body::BoxBody;
use actix_web::http::header::ETAG;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use super::{ListResponse, etag, with_etag};
use crate::AppState;
use crate::auth::AuthUser;
use crate::conditional::IfNoneMatchHeader;
use crate::error::ApiError;
use crate::path::ListIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;

/// One of the caller's lists; 304 when `If-None-Match` names its current ETag.
#[api_v2_operation(operation_id = "get_list", tags(Lists))]
pub async fn get(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: ListIdParam,
    if_none_match: IfNoneMatchHeader,
) -> Result<ListOrNotModified, ApiError> {
    let list = state.lists.get(&caller.0, id.get()?).await?;
    if if_none_match.matches(list.version) {
        return Ok(ListOrNotModified::NotModified(etag(&list)));
    }
    Ok(ListOrNotModified::List(with_etag(list)))
}

/// One list with its `ETag`, or 304 Not Modified when the client's copy is current.
#[derive(Debug)]
pub enum ListOrNotModified {
    /// 200 with the list.
    List(JsonOk<ListResponse>),
    /// 304 with the `ETag` and no body.
    NotModified(String),
}

impl Responder for ListOrNotModified {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        match self {
            ListOrNotModified::List(reply) => reply.respond_to(req),
            ListOrNotModified::NotModified(tag) => HttpResponse::NotModified()
                .insert_header((ETAG, tag))
                .finish(),
        }
    }
}

impl Apiv2Schema for ListOrNotModified {
    fn name() -> Option<String> {
        ListResponse::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        ListResponse::raw_schema()
    }
}

impl OperationModifier for ListOrNotModified {
    fn update_response(op: &mut DefaultOperationRaw) {
        <JsonOk<ListResponse> as OperationModifier>::update_response(op);
        op.responses.insert(
            "304".into(),
            Either::Right(Response {
                description: Some("Not Modified: the `If-None-Match` ETag is current.".into()),
                ..Default::default()
            }),
        );
    }
}
