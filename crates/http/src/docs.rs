//! `/openapi.json` and the Swagger UI at `/docs`, both served by the binary itself: the UI is
//! `swagger-ui-dist` 5.x, vendored in `crates/http/assets/swagger-ui/` and compiled in (no
//! CDN, nothing fetched at build time), started by an initializer of our own that always
//! loads `/openapi.json`, ignores `?url=`/`?configUrl=` and keeps no token across page loads.
//! Every `/docs` response carries a Content-Security-Policy that allows no inline script and
//! no other origin. `docs.enabled = false` leaves `/docs` out (404); `/openapi.json` stays.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// The finished OpenAPI document, serialised once at start-up.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub web::Bytes);

/// The policy of `/docs` and its assets: scripts, styles, images and requests from this
/// origin only. Swagger UI sets inline `style` attributes and shows `data:` SVG icons, so
/// those two are allowed; inline script is not (the initializer is a file of its own).
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

const INDEX: &[u8] = include_bytes!("../assets/docs/index.html");

/// The files under `/docs/`: name, media type, contents. Anything else is a 404.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-initializer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/docs/swagger-initializer.js"),
    ),
    (
        "index.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/docs/index.css"),
    ),
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "favicon-32x32.png",
        "image/png",
        include_bytes!("../assets/swagger-ui/favicon-32x32.png"),
    ),
    (
        "favicon-16x16.png",
        "image/png",
        include_bytes!("../assets/swagger-ui/favicon-16x16.png"),
    ),
];

async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(doc.0.clone())
}

fn docs_response(content_type: &'static str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP)))
        // Revalidated on every load, so an upgrade of the binary shows at once.
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn index() -> HttpResponse {
    docs_response("text/html; charset=utf-8", INDEX)
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .map(|(_, content_type, body)| docs_response(content_type, body))
        .ok_or(ApiError::NotFound("Page"))
}

/// `/openapi.json`. Registered before paperclip's routes.
pub fn openapi() -> impl HttpServiceFactory {
    web::resource("/openapi.json").route(web::get().to(openapi_json))
}

/// `/docs`, `/docs/index.html` and the UI's files under `/docs/` (any other name there is a
/// 404). Registered before paperclip's routes, and only when `docs.enabled`.
pub fn ui() -> impl HttpServiceFactory {
    (
        web::resource(["/docs", "/docs/", "/docs/index.html"]).route(web::get().to(index)),
        web::resource("/docs/{file:.*}").route(web::get().to(asset)),
    )
}
