//! Liveness and readiness.

use actix_web::web::Data;
use paperclip::actix::{api_v2_operation, web::Json};

use crate::AppState;
use crate::dto::StatusResponse;
use crate::error::ApiError;
use crate::query::NoQuery;

/// Answers `{"status":"ok"}` while the process runs (the original service's ping).
#[api_v2_operation(operation_id = "ping", tags(System))]
pub async fn ping(_query: NoQuery) -> Result<Json<StatusResponse>, ApiError> {
    Ok(Json(StatusResponse { status: "ok" }))
}

/// Liveness: the process is up and serving HTTP.
#[api_v2_operation(operation_id = "check_liveness", tags(System))]
pub async fn live(_query: NoQuery) -> Result<Json<StatusResponse>, ApiError> {
    Ok(Json(StatusResponse { status: "ok" }))
}

/// Readiness: 200 when the database answers, 503 while it does not.
#[api_v2_operation(operation_id = "check_readiness", tags(System))]
pub async fn ready(
    state: Data<AppState>,
    _query: NoQuery,
) -> Result<Json<StatusResponse>, ApiError> {
    state.readiness.check().await?;
    Ok(Json(StatusResponse { status: "ok" }))
}
