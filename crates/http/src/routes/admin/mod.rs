//! Administration of accounts (`/admin/users…`): the route table. Only administrators get
//! past the gate (403 for others); an unknown or malformed user id is a 404.

mod delete_user;
mod get_user;
mod list_user_tasks;
mod list_users;
mod password_reset;
mod update_user;

use paperclip::actix::web;

use super::resource;
use crate::body::schema;

/// The schemas of these routes' request bodies.
pub(super) fn request_bodies() -> Vec<(&'static str, serde_json::Value)> {
    vec![schema::<update_user::UpdateUserRequest>()]
}

/// Registers `/admin/users`, `/admin/users/{id}` and `/admin/users/{id}/tasks`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/users", "GET").route(web::get().to(list_users::list_users)))
        .service(
            resource("/admin/users/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(get_user::get_user))
                .route(web::patch().to(update_user::update_user))
                .route(web::delete().to(delete_user::delete_user)),
        )
        .service(
            resource("/admin/users/{id}/password-reset", "POST")
                .route(web::post().to(password_reset::create_password_reset)),
        )
        .service(
            resource("/admin/users/{id}/tasks", "GET")
                .route(web::get().to(list_user_tasks::list_user_tasks)),
        );
}
