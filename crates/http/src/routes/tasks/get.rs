//! `GET /tasks/{id}`: one task with its `ETag`, or 304 when the client's copy is current.

use actix_web::body::BoxBody;
use actix_web::http::header::ETAG;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use super::{TaskResponse, etag, with_etag};
use crate::AppState;
use crate::auth::{ScopedUser, TasksRead};
use crate::conditional::IfNoneMatchHeader;
use crate::error::ApiError;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::JsonOk;

/// One of the caller's tasks; 304 when `If-None-Match` names its current ETag.
#[api_v2_operation(operation_id = "get_task", tags(Tasks))]
pub async fn get(
    state: Data<AppState>,
    caller: ScopedUser<TasksRead>,
    _query: NoQuery,
    id: TaskIdParam,
    if_none_match: IfNoneMatchHeader,
) -> Result<TaskOrNotModified, ApiError> {
    let task = state.tasks.get(&caller.0, id.get()?).await?;
    if if_none_match.matches(task.version) {
        return Ok(TaskOrNotModified::NotModified(etag(&task)));
    }
    Ok(TaskOrNotModified::Task(with_etag(task)))
}

/// One task with its `ETag`, or 304 Not Modified when the client's copy is current.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "built once per request and rendered at once: boxing would save nothing"
)]
pub enum TaskOrNotModified {
    /// 200 with the task.
    Task(JsonOk<TaskResponse>),
    /// 304 with the `ETag` and no body.
    NotModified(String),
}

impl Responder for TaskOrNotModified {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        match self {
            TaskOrNotModified::Task(reply) => reply.respond_to(req),
            TaskOrNotModified::NotModified(tag) => HttpResponse::NotModified()
                .insert_header((ETAG, tag))
                .finish(),
        }
    }
}

impl Apiv2Schema for TaskOrNotModified {
    fn name() -> Option<String> {
        TaskResponse::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        TaskResponse::raw_schema()
    }
}

impl OperationModifier for TaskOrNotModified {
    fn update_response(op: &mut DefaultOperationRaw) {
        <JsonOk<TaskResponse> as OperationModifier>::update_response(op);
        op.responses.insert(
            "304".into(),
            Either::Right(Response {
                description: Some("Not Modified: the `If-None-Match` ETag is current.".into()),
                ..Default::default()
            }),
        );
    }
}
