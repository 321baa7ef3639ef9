//! Liveness and readiness (`/ping`, `/health/live`, `/health/ready`).

use actix_web::web::Data;
use paperclip::actix::{Apiv2Schema, api_v2_operation, web, web::Json};
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::query::NoQuery;
use crate::routes::resource;

/// Registers `/ping`, `/health/live` and `/health/ready`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/ping", "GET").route(web::get().to(ping)))
        .service(resource("/health/live", "GET").route(web::get().to(live)))
        .service(resource("/health/ready", "GET").route(web::get().to(ready)));
}

/// `{"status":"ok"}`, as the original service answered.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StatusResponse {
    /// Always `ok`.
    pub status: &'static str,
}

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
