//! The API's routes: one module per resource, one file per route in it holding the handler,
//! its request and response types and their OpenAPI declarations. Handlers are short:
//! extract, call one service method, map the result.

pub(crate) mod accounts;
mod admin;
pub(crate) mod changes;
mod events;
pub(crate) mod lists;
mod recovery;
mod system;
pub(crate) mod tasks;
mod trash;

use actix_web::HttpRequest;
use paperclip::actix::web;

use crate::error::ApiError;
use crate::metrics::RoutePattern;

/// Registers every API route, resource by resource. Each resource answers other methods
/// with 405 and `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    system::configure(cfg);
    accounts::configure(cfg);
    admin::configure(cfg);
    recovery::configure(cfg);
    lists::configure(cfg);
    tasks::configure(cfg);
    trash::configure(cfg);
    changes::configure(cfg);
    events::configure(cfg);
}

/// The OpenAPI schema of every request body, generated from its field list (paperclip's
/// document only refers to them).
pub(crate) fn request_body_schemas() -> Vec<(&'static str, serde_json::Value)> {
    [
        accounts::request_bodies(),
        admin::request_bodies(),
        recovery::request_bodies(),
        lists::request_bodies(),
        tasks::request_bodies(),
    ]
    .concat()
}

/// A resource at `path` whose other methods get 405 with `Allow: allow`, labelled with its
/// pattern for the request metrics.
pub(crate) fn resource(path: &'static str, allow: &'static str) -> web::Resource {
    web::resource(path)
        .app_data(RoutePattern(path))
        .default_service(actix_web::web::to(move |_req: HttpRequest| async move {
            Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed(allow))
        }))
}
