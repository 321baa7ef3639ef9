//! CORS: configured origins only, preflights answered, the right headers allowed and exposed;
//! refused origins get no Access-Control-Allow-* header.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;

use crate::support::{Response, TestApp, send};

const ORIGIN: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> Response {
    send(
        app.request(Method::OPTIONS, "/tasks")
            .insert_header(("origin", origin.to_owned()))
            .insert_header(("access-control-request-method", method.to_owned()))
            .insert_header(("access-control-request-headers", headers.to_owned()))
            .send(),
    )
    .await
}

fn allow_headers(response: &Response) -> Vec<String> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-allow-"))
        .map(|(name, _)| name.as_str().to_owned())
        .collect()
}

fn list(value: &str) -> Vec<String> {
    let mut items: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    items.sort();
    items
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_preflight_from_an_allowed_origin_is_answered(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[(
        "TASKAPI__CORS__ALLOWED_ORIGINS",
        "https://app.example.com,http://localhost:3000",
    )])
    .await;
    let response = preflight(
        &app,
        ORIGIN,
        "PATCH",
        "authorization, content-type, if-match, if-none-match, idempotency-key",
    )
    .await;
    assert!(response.status.is_success(), "{}", response.text());
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    let methods = list(response.require_header("access-control-allow-methods"));
    for m in ["get", "post", "put", "patch", "delete"] {
        assert!(methods.contains(&m.to_owned()), "{methods:?}");
    }
    assert_eq!(
        list(response.require_header("access-control-allow-headers")),
        list("authorization, content-type, if-match, if-none-match, idempotency-key")
    );
    assert!(
        response
            .header("access-control-allow-credentials")
            .is_none(),
        "credential-less"
    );
    assert!(response.header("x-request-id").is_some());
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn responses_to_an_allowed_origin_expose_the_useful_headers(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__CORS__ALLOWED_ORIGINS", ORIGIN)]).await;
    let response = send(
        app.request(Method::GET, "/ping")
            .insert_header(("origin", ORIGIN))
            .send(),
    )
    .await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        list(response.require_header("access-control-expose-headers")),
        list("link, etag, location, retry-after, x-request-id, x-changes-cursor")
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn refused_origins_get_no_allow_headers(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    for app in [
        TestApp::spawn().await,
        TestApp::spawn_with(&[("TASKAPI__CORS__ALLOWED_ORIGINS", ORIGIN)]).await,
    ] {
        let response = preflight(&app, "https://evil.example", "POST", "authorization").await;
        assert!(
            allow_headers(&response).is_empty(),
            "{:?}",
            response.headers
        );
        assert!(response.header("x-request-id").is_some());
        let simple = send(
            app.request(Method::GET, "/ping")
                .insert_header(("origin", "https://evil.example"))
                .send(),
        )
        .await;
        simple.assert_status(200);
        assert!(allow_headers(&simple).is_empty(), "{:?}", simple.headers);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_plain_options_request_is_still_405(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__CORS__ALLOWED_ORIGINS", ORIGIN)]).await;
    let response = app.call(Method::OPTIONS, "/tasks", None).await;
    response.assert_problem(405);
}
