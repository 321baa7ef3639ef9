//! Route handlers, one module per resource. Handlers are short: extract, call one service
//! method, map the result.

pub mod accounts;
pub mod system;
pub mod tasks;

use actix_web::HttpRequest;
use paperclip::actix::web;

use crate::error::ApiError;

/// Registers every API route. Each resource answers other methods with 405 and `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/ping", "GET").route(web::get().to(system::ping)))
        .service(resource("/health/live", "GET").route(web::get().to(system::live)))
        .service(resource("/health/ready", "GET").route(web::get().to(system::ready)))
        .service(resource("/register", "POST").route(web::post().to(accounts::register)))
        .service(resource("/login", "POST").route(web::post().to(accounts::login)))
        .service(resource("/me", "GET").route(web::get().to(accounts::me)))
        .service(
            resource("/tasks", "GET, POST")
                .route(web::get().to(tasks::list))
                .route(web::post().to(tasks::create)),
        )
        .service(
            resource("/tasks/{id}", "GET, PATCH, PUT, DELETE")
                .route(web::get().to(tasks::get))
                .route(web::patch().to(tasks::update))
                .route(web::put().to(tasks::put))
                .route(web::delete().to(tasks::delete)),
        );
}

fn resource(path: &str, allow: &'static str) -> web::Resource {
    web::resource(path).default_service(actix_web::web::to(move |_req: HttpRequest| async move {
        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed(allow))
    }))
}
