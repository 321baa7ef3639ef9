//! The caller's tasks. Another user's task, a missing one and an invalid id are all 404.

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, ETAG, HeaderName, LOCATION};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::{OperationModifier, api_v2_operation};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{Created, IdempotentRequest, Task};

use crate::AppState;
use crate::auth::AuthUser;
use crate::body::JsonBody;
use crate::conditional::{IdempotencyKeyHeader, IfMatchHeader, IfNoneMatchHeader};
use crate::dto::{CreateTaskRequest, TaskResponse, UpdateTaskRequest};
use crate::error::ApiError;
use crate::listing::TaskListParams;
use crate::path::TaskIdParam;
use crate::query::NoQuery;
use crate::reply::{JsonOk, NoContent};

/// Marks a replayed response of an idempotent request.
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

fn etag(task: &Task) -> String {
    format!("\"{}\"", task.version)
}

fn with_etag(task: Task) -> JsonOk<TaskResponse> {
    let tag = etag(&task);
    JsonOk::new(TaskResponse::from(task)).header((ETAG, tag))
}

/// A creation's response: 201 with the task, `Location` and `ETag`, the same for the first
/// answer and for a replay of a repeated `Idempotency-Key` (which returns the task as it was
/// created, marked by `Idempotent-Replayed: true`).
#[derive(Debug)]
pub struct CreatedTask(Created);

impl Responder for CreatedTask {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let Created { task, replayed } = self.0;
        let mut response = HttpResponse::build(StatusCode::CREATED);
        response.insert_header((CONTENT_TYPE, "application/json"));
        response.insert_header((LOCATION, format!("/tasks/{}", task.id)));
        response.insert_header((ETAG, etag(&task)));
        if replayed {
            response.insert_header((IDEMPOTENT_REPLAYED, "true"));
        }
        response.body(serde_json::to_string(&TaskResponse::from(task)).unwrap_or_default())
    }
}

impl Apiv2Schema for CreatedTask {
    fn name() -> Option<String> {
        TaskResponse::name()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        TaskResponse::raw_schema()
    }
}

impl OperationModifier for CreatedTask {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "201".into(),
            Either::Right(Response {
                description: Some("Created".into()),
                schema: Some({
                    let mut def = TaskResponse::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }
}

/// One task with its `ETag`, or 304 Not Modified when the client's copy is current.
#[derive(Debug)]
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

/// Lists the caller's tasks: filtered, sorted, a page at a time (follow `Link: rel="next"`).
#[api_v2_operation(operation_id = "list_tasks", tags(Tasks))]
pub async fn list(
    state: Data<AppState>,
    caller: AuthUser,
    params: TaskListParams,
) -> Result<JsonOk<Vec<TaskResponse>>, ApiError> {
    let page = state.tasks.list(&caller.0, params.query.clone()).await?;
    Ok(params.reply(page))
}

/// Creates a task owned by the caller; with `Idempotency-Key`, at most once.
#[api_v2_operation(operation_id = "create_task", tags(Tasks))]
pub async fn create(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    key: IdempotencyKeyHeader,
    body: JsonBody<CreateTaskRequest>,
) -> Result<CreatedTask, ApiError> {
    let JsonBody(draft, fingerprint) = body;
    let repeatable = key.0.map(|key| IdempotentRequest {
        key,
        fingerprint: fingerprint.0,
    });
    let created = state.tasks.create(&caller.0, draft, repeatable).await?;
    Ok(CreatedTask(created))
}

/// One of the caller's tasks; 304 when `If-None-Match` names its current ETag.
#[api_v2_operation(operation_id = "get_task", tags(Tasks))]
pub async fn get(
    state: Data<AppState>,
    caller: AuthUser,
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

/// Changes some fields of a task: absent fields stay, `null` clears `due_at` or
/// `description`. With `If-Match`, only if the task is still at that version.
#[api_v2_operation(operation_id = "update_task", tags(Tasks))]
pub async fn update(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    apply_update(&state, caller, id, if_match, body).await
}

/// PATCH and PUT alike.
async fn apply_update(
    state: &AppState,
    caller: AuthUser,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let task = state
        .tasks
        .update(&caller.0, id.get()?, body.0, if_match.0)
        .await?;
    Ok(with_etag(task))
}

/// Same as PATCH: a partial update, kept for clients of the original service.
#[api_v2_operation(operation_id = "put_task", tags(Tasks))]
pub async fn put(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    apply_update(&state, caller, id, if_match, body).await
}

/// Deletes a task; with `If-Match`, only if it is still at that version.
#[api_v2_operation(operation_id = "delete_task", tags(Tasks))]
pub async fn delete(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
    if_match: IfMatchHeader,
) -> Result<NoContent, ApiError> {
    state.tasks.delete(&caller.0, id.get()?, if_match.0).await?;
    Ok(NoContent)
}
