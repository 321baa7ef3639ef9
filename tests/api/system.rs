//! Public system routes: ping, health, Swagger UI and the OpenAPI document.

use rstest::rstest;

use crate::support::Backend;

use serde_json::json;

use crate::support::TestApp;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn ping_answers_status_ok(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/ping").await;
    assert_eq!(response.json_with_status(200), json!({"status": "ok"}));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn liveness_answers_200(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/health/live").await;
    response.assert_status(200);
    assert_eq!(response.json()["status"], "ok");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn readiness_answers_200_when_the_database_is_up(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/health/ready").await;
    response.assert_status(200);
    assert_eq!(response.json()["status"], "ok");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_serve_swagger_ui_as_html(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    for path in ["/docs", "/docs/", "/docs/index.html"] {
        let response = app.get(path).await;
        response.assert_status(200);
        assert_eq!(response.media_type(), "text/html", "{path}");
        let html = response.text();
        assert!(html.contains("swagger-ui"), "{path} is Swagger UI");
        assert!(
            html.contains("/openapi.json"),
            "{path} points Swagger UI at the served document"
        );
        assert!(
            !html.contains("://cdn") && !html.contains("unpkg.com"),
            "{path} loads no asset from a CDN"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_assets_are_served_by_the_binary(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/docs/swagger-ui-bundle.js").await;
    response.assert_status(200);
    assert!(
        response.body.len() > 10_000,
        "the bundle is the real thing ({} bytes)",
        response.body.len()
    );
    let css = app.get("/docs/swagger-ui.css").await;
    css.assert_status(200);
    assert!(!css.body.is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn unknown_docs_asset_is_a_404_problem_and_the_server_keeps_serving(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    for path in [
        "/docs/nope.js",
        "/docs/swagger-ui-bundle.js.map",
        "/docs/../Cargo.toml",
        "/docs/a/b/c",
    ] {
        app.get(path).await.assert_problem(404);
    }
    // The worker that answered is still alive, and so is the server.
    for _ in 0..4 {
        app.get("/ping").await.assert_status(200);
    }
    app.get("/docs/swagger-ui-bundle.js")
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn openapi_document_is_served_as_json_version_3_0_3(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    let doc = response.json_with_status(200);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn post_on_ping_is_405_allowing_get(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.call(awc::http::Method::POST, "/ping", None).await;
    response.assert_problem(405);
    assert_eq!(response.require_header("allow"), "GET");
}
