//! The reference web client at `/app/`: served from the binary with a strict
//! Content-Security-Policy, revalidated by ETag, told where the API is by `config.json`,
//! and off when `web.enabled` is false.

use actix_web::http::Method;
use rstest::rstest;

use crate::support::{Backend, TestApp};

/// The directives of a response's policy.
fn policy(response: &crate::support::Response) -> Vec<String> {
    response
        .require_header("content-security-policy")
        .split(';')
        .map(|d| d.trim().to_owned())
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_client_is_served_at_app_with_a_policy_that_allows_no_inline_script(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    for path in ["/app/", "/app/index.html"] {
        let response = app.get(path).await;
        response.assert_status(200);
        assert_eq!(response.media_type(), "text/html", "{path}");
        let directives = policy(&response);
        for expected in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            "require-trusted-types-for 'script'",
        ] {
            assert!(
                directives.iter().any(|d| d == expected),
                "{path}: `{expected}` in {directives:?}"
            );
        }
        assert!(
            !directives.iter().any(|d| d.contains("unsafe")),
            "{path}: {directives:?}"
        );
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
        let html = response.text();
        assert!(html.contains(r#"<script type="module" src="js/main.js"></script>"#));
        // No inline script and nothing from another origin.
        for tag in html.split("<script").skip(1) {
            let (attributes, rest) = tag.split_once('>').unwrap_or((tag, ""));
            assert!(
                attributes.contains("src=\""),
                "{path}: <script{attributes}>"
            );
            assert!(rest.starts_with("</script>"), "{path}: inline script");
        }
        assert!(!html.contains("://"), "{path} loads nothing from elsewhere");
    }
    for (path, media_type, contains) in [
        ("/app/js/main.js", "text/javascript", "import"),
        ("/app/js/session.js", "text/javascript", "/token/refresh"),
        ("/app/style.css", "text/css", "font-family"),
        ("/app/icon.svg", "image/svg+xml", "<svg"),
    ] {
        let response = app.get(path).await;
        response.assert_status(200);
        assert_eq!(response.media_type(), media_type, "{path}");
        assert!(response.text().contains(contains), "{path}");
        assert!(
            policy(&response).iter().any(|d| d == "script-src 'self'"),
            "{path} carries the policy"
        );
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn client_files_are_revalidated_by_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let first = app.get("/app/js/main.js").await;
    first.assert_status(200);
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let etag = first.require_header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let other = app.get("/app/js/http.js").await;
    assert_ne!(
        other.require_header("etag"),
        etag,
        "each file has its own tag"
    );

    let again = app
        .call_with_headers(
            Method::GET,
            "/app/js/main.js",
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    again.assert_status(304);
    assert!(again.text().is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let changed = app
        .call_with_headers(
            Method::GET,
            "/app/js/main.js",
            None,
            &[("If-None-Match", "\"x\"")],
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.text(), first.text());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn app_without_its_slash_moves_there_with_its_query(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let plain = app.get("/app").await;
    plain.assert_status(308);
    assert_eq!(plain.header("location"), Some("/app/"));
    let with_query = app.get("/app?api=http://127.0.0.1:9").await;
    with_query.assert_status(308);
    assert_eq!(
        with_query.header("location"),
        Some("/app/?api=http://127.0.0.1:9")
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn config_json_names_the_api_origin_and_the_policy_allows_exactly_it(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let same_origin = TestApp::spawn().await;
    let config = same_origin.get("/app/config.json").await;
    assert_eq!(
        config.json_with_status(200),
        serde_json::json!({"api_base": ""})
    );

    let elsewhere =
        TestApp::spawn_with(&[("TASKAPI__WEB__API_ORIGIN", "https://api.example.com")]).await;
    let config = elsewhere.get("/app/config.json").await;
    assert_eq!(
        config.json_with_status(200),
        serde_json::json!({"api_base": "https://api.example.com"})
    );
    for path in ["/app/", "/app/config.json", "/app/js/main.js"] {
        let directives = policy(&elsewhere.get(path).await);
        assert!(
            directives
                .iter()
                .any(|d| d == "connect-src 'self' https://api.example.com"),
            "{path}: {directives:?}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn unknown_client_files_are_404_problems(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    for path in [
        "/app/nope.js",
        "/app/js/",
        "/app/js/main.js.map",
        "/app/package.json",
        "/app/tests/browser.mjs",
        "/app/../Cargo.toml",
        "/app/%2e%2e/Cargo.toml",
        "/app/a/b/c",
    ] {
        app.get(path).await.assert_problem(404);
    }
    app.get("/app/").await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_client_can_be_turned_off(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__WEB__ENABLED", "false")]).await;
    for path in [
        "/app",
        "/app/",
        "/app/index.html",
        "/app/js/main.js",
        "/app/config.json",
    ] {
        app.get(path).await.assert_problem(404);
    }
    app.get("/ping").await.assert_status(200);
}
