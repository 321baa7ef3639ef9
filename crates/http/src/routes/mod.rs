//! Route handlers, one module per resource. Handlers are short: extract, call one service
//! method, map the result.

pub mod accounts;
pub mod admin;
pub mod system;
pub mod tasks;

use actix_web::HttpRequest;
use paperclip::actix::web;

use crate::error::ApiError;
use crate::metrics::RoutePattern;

/// Registers every API route. Each resource answers other methods with 405 and `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/ping", "GET").route(web::get().to(system::ping)))
        .service(resource("/health/live", "GET").route(web::get().to(system::live)))
        .service(resource("/health/ready", "GET").route(web::get().to(system::ready)))
        .service(resource("/register", "POST").route(web::post().to(accounts::register)))
        .service(resource("/login", "POST").route(web::post().to(accounts::login)))
        .service(resource("/token/refresh", "POST").route(web::post().to(accounts::refresh)))
        .service(resource("/logout", "POST").route(web::post().to(accounts::logout)))
        .service(resource("/logout/all", "POST").route(web::post().to(accounts::logout_all)))
        .service(
            resource("/me", "GET, DELETE")
                .route(web::get().to(accounts::me))
                .route(web::delete().to(accounts::delete_me)),
        )
        .service(resource("/me/password", "POST").route(web::post().to(accounts::change_password)))
        .service(resource("/admin/users", "GET").route(web::get().to(admin::list_users)))
        .service(
            resource("/admin/users/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(admin::get_user))
                .route(web::patch().to(admin::update_user))
                .route(web::delete().to(admin::delete_user)),
        )
        .service(
            resource("/admin/users/{id}/tasks", "GET").route(web::get().to(admin::list_user_tasks)),
        )
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

/// A resource at `path` whose other methods get 405 with `Allow: allow`, labelled with its
/// pattern for the request metrics.
fn resource(path: &'static str, allow: &'static str) -> web::Resource {
    web::resource(path)
        .app_data(RoutePattern(path))
        .default_service(actix_web::web::to(move |_req: HttpRequest| async move {
            Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed(allow))
        }))
}
