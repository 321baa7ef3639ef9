//! Account recovery and e-mail verification without a session (`/password/forgot`,
//! `/password/reset`, `/email/verify`): the route table. Each is throttled per client
//! address like `POST /login`.

mod forgot;
mod reset;
mod verify;

use paperclip::actix::web;

use super::resource;
use crate::body::schema;

/// Registers `/password/forgot`, `/password/reset` and `/email/verify`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/password/forgot", "POST").route(web::post().to(forgot::forgot_password)),
    )
    .service(resource("/password/reset", "POST").route(web::post().to(reset::reset_password)))
    .service(resource("/email/verify", "POST").route(web::post().to(verify::verify_email)));
}

/// The schemas of these routes' request bodies.
pub(super) fn request_bodies() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        schema::<forgot::ForgotPasswordRequest>(),
        schema::<reset::ResetPasswordRequest>(),
        schema::<verify::VerifyEmailRequest>(),
    ]
}
