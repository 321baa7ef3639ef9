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

/// The policy every `/docs` response carries: nothing from another origin, no inline script.
fn assert_docs_csp(response: &crate::support::Response, path: &str) {
    let csp = response.require_header("content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            directives.contains(&expected),
            "{path}: `{expected}` in {csp}"
        );
    }
    let scripts = directives
        .iter()
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
    assert!(
        !scripts.contains("unsafe-inline") && !scripts.contains("unsafe-eval"),
        "{path}: {scripts}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_serve_swagger_ui_as_html_with_a_content_security_policy(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    for path in ["/docs", "/docs/", "/docs/index.html"] {
        let response = app.get(path).await;
        response.assert_status(200);
        assert_eq!(response.media_type(), "text/html", "{path}");
        assert_docs_csp(&response, path);
        let html = response.text();
        assert!(html.contains("swagger-ui"), "{path} is Swagger UI");
        assert!(
            html.contains(r#"<script src="/docs/swagger-initializer.js""#),
            "{path} starts Swagger UI from a file of its own"
        );
        // No inline script: every <script> element has a src and nothing between its tags.
        for tag in html.split("<script").skip(1) {
            let (attributes, rest) = tag.split_once('>').unwrap_or((tag, ""));
            assert!(
                attributes.contains("src=\"/docs/"),
                "{path}: <script{attributes}>"
            );
            assert!(
                rest.trim_start().starts_with("</script>"),
                "{path}: inline script"
            );
        }
        assert!(
            !html.contains("://"),
            "{path} loads nothing from another origin (no CDN)"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_serve_the_bundled_swagger_ui_5(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/docs/swagger-ui-bundle.js").await;
    response.assert_status(200);
    assert_eq!(response.media_type(), "text/javascript");
    assert_docs_csp(&response, "/docs/swagger-ui-bundle.js");
    let bundle = response.text();
    assert!(
        bundle.contains(r#"PACKAGE_VERSION:"5.35.0""#),
        "the bundle is swagger-ui-dist 5.35.0 ({} bytes)",
        bundle.len()
    );
    for (path, media_type) in [
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/index.css", "text/css"),
        ("/docs/swagger-initializer.js", "text/javascript"),
        ("/docs/favicon-32x32.png", "image/png"),
    ] {
        let asset = app.get(path).await;
        asset.assert_status(200);
        assert_eq!(asset.media_type(), media_type, "{path}");
        assert_docs_csp(&asset, path);
        assert!(!asset.body.is_empty(), "{path}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_ignore_query_configuration_and_persist_no_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let plain = app.get("/docs").await.text();
    for query in [
        "?url=https://evil.example/openapi.json",
        "?configUrl=https://evil.example/config.json",
        "?url=evil&configUrl=evil",
    ] {
        let page = app.get(&format!("/docs{query}")).await;
        page.assert_status(200);
        assert_eq!(page.text(), plain, "/docs{query} is the same page");
        assert!(
            !page.text().contains("evil"),
            "/docs{query} reflects nothing"
        );
    }
    let init = app.get("/docs/swagger-initializer.js").await;
    init.assert_status(200);
    let js = init.text();
    // Lines that configure, without the comments around them.
    let code: String = js
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for setting in [
        r#"url: "/openapi.json","#,
        "queryConfigEnabled: false,",
        "persistAuthorization: false,",
        "validatorUrl: null,",
    ] {
        assert!(
            code.contains(setting),
            "the initializer sets {setting}:\n{js}"
        );
    }
    for forbidden in ["configUrl", "urls:", "location", "localStorage"] {
        assert!(
            !code.contains(forbidden),
            "the initializer uses {forbidden}:\n{js}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn docs_can_be_turned_off_and_the_document_stays(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__DOCS__ENABLED", "false")]).await;
    for path in [
        "/docs",
        "/docs/",
        "/docs/index.html",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        app.get(path).await.assert_problem(404);
    }
    let doc = app.get("/openapi.json").await.json_with_status(200);
    assert_eq!(doc["openapi"], "3.0.3");
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
        "/docs/swagger-ui-standalone-preset.js",
        "/docs/README.md",
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
