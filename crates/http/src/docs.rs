//! `/openapi.json` and the Swagger UI at `/docs`, both served by the binary itself (the UI's
//! assets are compiled in by paperclip; no CDN).

use actix_web::dev::HttpServiceFactory;
use actix_web::guard::GuardContext;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// The finished OpenAPI document, serialised once at start-up.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub web::Bytes);

/// Swagger UI's assets that paperclip embeds and `/docs` uses. Any other file name under
/// `/docs/` is a 404 here, before paperclip's asset handler (which would panic on it) sees it.
const ASSETS: &[&str] = &[
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "oauth2-redirect.html",
];

const INDEX: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>taskapi — API documentation</title>
  <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <style>html { box-sizing: border-box; overflow-y: scroll; } body { margin: 0; background: #fafafa; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script>
    window.onload = function () {
      window.ui = SwaggerUIBundle({
        url: "/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "StandaloneLayout"
      });
    };
  </script>
</body>
</html>
"##;

async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(doc.0.clone())
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX)
}

fn unknown_asset(ctx: &GuardContext<'_>) -> bool {
    let path = ctx.head().uri.path();
    let file = path.strip_prefix("/docs/").unwrap_or(path);
    !ASSETS.contains(&file)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Page"))
}

/// `/openapi.json`, `/docs`, `/docs/index.html`, and 404 for unknown files under `/docs/`.
/// Must be registered before paperclip's own documentation routes.
pub fn services() -> impl HttpServiceFactory {
    (
        web::resource("/openapi.json").route(web::get().to(openapi_json)),
        web::resource(["/docs", "/docs/", "/docs/index.html"]).route(web::get().to(index)),
        web::resource("/docs/{file:.*}")
            .guard(actix_web::guard::fn_guard(unknown_asset))
            .to(not_found),
    )
}
