//! The caller's tasks. Another user's task, a missing one and an invalid id are all 404.

use actix_web::dev::Payload;
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use paperclip::actix::{OperationModifier, api_v2_operation, web::Json};
use paperclip::v2::models::{
    DataType, DataTypeFormat, DefaultOperationRaw, Either, Parameter, ParameterIn,
};
use paperclip::v2::schema::Apiv2Schema;
use taskapi_domain::{Task, TaskId};

use crate::AppState;
use crate::auth::AuthUser;
use crate::body::JsonBody;
use crate::dto::{CreateTaskRequest, TaskResponse, UpdateTaskRequest};
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::reply::{JsonCreated, JsonOk, NoContent};

/// The `{id}` path segment. Never fails to extract: an id that is not a UUID is a 404, and
/// that must come after authentication and body validation (SPEC §8 status precedence).
#[derive(Debug, Clone, Copy)]
pub struct TaskIdParam(Option<TaskId>);

impl TaskIdParam {
    fn get(self) -> Result<TaskId, ApiError> {
        self.0.ok_or(ApiError::NotFound("Task"))
    }
}

impl FromRequest for TaskIdParam {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .and_then(|s| s.parse::<TaskId>().ok());
        std::future::ready(Ok(TaskIdParam(id)))
    }
}

impl Apiv2Schema for TaskIdParam {}

impl OperationModifier for TaskIdParam {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            in_: ParameterIn::Path,
            name: "id".into(),
            description: Some("The task's id.".into()),
            required: true,
            data_type: Some(DataType::String),
            format: Some(DataTypeFormat::Uuid),
            ..Default::default()
        }));
    }
}

fn etag(task: &Task) -> String {
    format!("\"{}\"", task.version)
}

fn with_etag(task: Task) -> JsonOk<TaskResponse> {
    let tag = etag(&task);
    JsonOk::new(TaskResponse::from(task)).header((ETAG, tag))
}

/// Lists the caller's tasks, oldest first.
#[api_v2_operation(operation_id = "list_tasks", tags(Tasks))]
pub async fn list(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
) -> Result<Json<Vec<TaskResponse>>, ApiError> {
    let tasks = state.tasks.list(&caller.0).await?;
    Ok(Json(tasks.into_iter().map(TaskResponse::from).collect()))
}

/// Creates a task owned by the caller.
#[api_v2_operation(operation_id = "create_task", tags(Tasks))]
pub async fn create(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    body: JsonBody<CreateTaskRequest>,
) -> Result<JsonCreated<TaskResponse>, ApiError> {
    let task = state.tasks.create(&caller.0, body.0).await?;
    let location = format!("/tasks/{}", task.id);
    let tag = etag(&task);
    Ok(JsonCreated::new(TaskResponse::from(task))
        .header((LOCATION, location))
        .header((ETAG, tag)))
}

/// One of the caller's tasks.
#[api_v2_operation(operation_id = "get_task", tags(Tasks))]
pub async fn get(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let task = state.tasks.get(&caller.0, id.get()?).await?;
    Ok(with_etag(task))
}

/// Changes some fields of a task: absent fields stay, `null` clears `due_at` or
/// `description`.
#[api_v2_operation(operation_id = "update_task", tags(Tasks))]
pub async fn update(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let task = state.tasks.update(&caller.0, id.get()?, body.0).await?;
    Ok(with_etag(task))
}

/// Same as PATCH: a partial update, kept for clients of the original service.
#[api_v2_operation(operation_id = "put_task", tags(Tasks))]
pub async fn put(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
    body: JsonBody<UpdateTaskRequest>,
) -> Result<JsonOk<TaskResponse>, ApiError> {
    let task = state.tasks.update(&caller.0, id.get()?, body.0).await?;
    Ok(with_etag(task))
}

/// Deletes a task.
#[api_v2_operation(operation_id = "delete_task", tags(Tasks))]
pub async fn delete(
    state: Data<AppState>,
    caller: AuthUser,
    _query: NoQuery,
    id: TaskIdParam,
) -> Result<NoContent, ApiError> {
    state.tasks.delete(&caller.0, id.get()?).await?;
    Ok(NoContent)
}
