//! Every error status: problem+json with `type`, `title`, `status`, `detail`, `request_id`
//! (and `errors` for 422), and the order in which statuses win.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::support::{JWT_SECRET, TestApp, claims, random_id, sign, string};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn malformed_json_is_400(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for body in [
        "{not json",
        "",
        "{\"title\": \"x\",}",
        "{\"title\": \"x\"} trailing",
    ] {
        let response = app
            .call_raw(
                Method::POST,
                "/tasks",
                Some(&user.token),
                Some("application/json"),
                body,
            )
            .await;
        response.assert_problem(400);
    }
    let response = app
        .call_raw(
            Method::POST,
            "/register",
            None,
            Some("application/json"),
            "{\"email\":",
        )
        .await;
    response.assert_problem(400);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_401_is_a_problem_with_a_bearer_challenge(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let body = app.get("/tasks").await.assert_unauthorized();
    assert!(!string(&body["detail"]).is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_unknown_route_is_a_404_problem(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.get("/nope").await.assert_problem(404);
    app.get("/tasks/1/2").await.assert_problem(404);
    // An unknown route wins over a wrong method.
    app.call(Method::DELETE, "/nope", None)
        .await
        .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_invalid_task_id_is_404_for_every_method(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = Some(user.token.as_str());
    for id in ["not-a-uuid", "42", "%20"] {
        let path = format!("/tasks/{id}");
        app.call(Method::GET, &path, token)
            .await
            .assert_problem(404);
        app.call_json(Method::PATCH, &path, token, &json!({"title": "x"}))
            .await
            .assert_problem(404);
        app.call_json(Method::PUT, &path, token, &json!({"title": "x"}))
            .await
            .assert_problem(404);
        app.call(Method::DELETE, &path, token)
            .await
            .assert_problem(404);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_wrong_method_is_405_with_allow(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.call(Method::DELETE, "/tasks", None).await;
    response.assert_problem(405);
    let allow = response.require_header("allow");
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "Allow: {allow}"
    );

    let response = app.call(Method::POST, "/ping", None).await;
    response.assert_problem(405);
    assert_eq!(response.require_header("allow"), "GET");

    let response = app.call(Method::GET, "/login", None).await;
    response.assert_problem(405);
    assert_eq!(response.require_header("allow"), "POST");

    let response = app
        .call(Method::POST, &format!("/tasks/{}", random_id()), None)
        .await;
    response.assert_problem(405);
    let allow = response.require_header("allow");
    for method in ["GET", "PATCH", "PUT", "DELETE"] {
        assert!(allow.contains(method), "Allow: {allow}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_taken_email_is_a_409_problem(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("taken@example.com", crate::support::PASSWORD)
        .await
        .assert_status(201);
    app.register("taken@example.com", crate::support::PASSWORD)
        .await
        .assert_problem(409);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_body_over_64_kib_is_413(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(&user.token, &json!({"title": "x".repeat(70 * 1024)}))
        .await;
    response.assert_problem(413);
    let response = app
        .register(
            &format!("{}@example.com", "a".repeat(70 * 1024)),
            "password",
        )
        .await;
    response.assert_problem(413);
    // Exactly at the limit is not too large (it is merely invalid).
    let padding = 65_536 - r#"{"title":"x","description":""}"#.len();
    let body = format!(r#"{{"title":"x","description":"{}"}}"#, "d".repeat(padding));
    assert_eq!(body.len(), 65_536);
    let response = app
        .call_raw(
            Method::POST,
            "/tasks",
            Some(&user.token),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(response.invalid_fields(), ["description"]);
    app.get("/ping").await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_body_that_is_not_json_is_415(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = Some(user.token.as_str());
    let response = app
        .call_raw(
            Method::POST,
            "/tasks",
            token,
            Some("text/plain"),
            r#"{"title":"x"}"#,
        )
        .await;
    response.assert_problem(415);
    let response = app
        .call_raw(Method::POST, "/tasks", token, None, r#"{"title":"x"}"#)
        .await;
    response.assert_problem(415);
    let response = app
        .call_raw(
            Method::POST,
            "/register",
            None,
            Some("application/x-www-form-urlencoded"),
            "email=a%40b.c&password=12345678",
        )
        .await;
    response.assert_problem(415);
    // A JSON media type with parameters is fine.
    let response = app
        .call_raw(
            Method::POST,
            "/tasks",
            token,
            Some("application/json; charset=utf-8"),
            r#"{"title":"x"}"#,
        )
        .await;
    response.assert_status(201);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_422_is_a_problem_listing_errors(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app.create_task(&user.token, &json!({"title": ""})).await;
    let body = response.assert_problem(422);
    assert_eq!(body["errors"][0]["field"], "title");
    assert!(!string(&body["errors"][0]["message"]).is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn no_token_wins_over_a_malformed_body(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app
        .call_raw(
            Method::POST,
            "/tasks",
            None,
            Some("application/json"),
            "{not json",
        )
        .await;
    response.assert_unauthorized();
    let response = app
        .call_raw(Method::POST, "/tasks", None, Some("text/plain"), "hello")
        .await;
    response.assert_unauthorized();
    let response = app
        .create_task("garbage", &json!({"title": "", "colour": 1}))
        .await;
    response.assert_unauthorized();
}

/// A well-signed token of a user that does not exist: only the database can tell that it is
/// no good, and authentication is still decided before any body or parameter error.
fn vanished_users_token() -> String {
    sign(Algorithm::HS256, JWT_SECRET, &claims(&random_id(), 600))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_vanished_users_token_with_malformed_json_is_401_not_400(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = vanished_users_token();
    app.call_raw(
        Method::POST,
        "/tasks",
        Some(&token),
        Some("application/json"),
        "{not json",
    )
    .await
    .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_vanished_users_token_with_a_text_body_is_401_not_415(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = vanished_users_token();
    app.call_raw(
        Method::POST,
        "/tasks",
        Some(&token),
        Some("text/plain"),
        "hello",
    )
    .await
    .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_vanished_users_token_with_invalid_fields_is_401_not_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = vanished_users_token();
    app.create_task(&token, &json!({"title": ""}))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_vanished_users_token_with_an_unknown_query_parameter_is_401_not_422(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let token = vanished_users_token();
    app.call(Method::GET, "/tasks?nope=1", Some(&token))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_invalid_body_wins_over_an_invalid_task_id(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .patch_task(&user.token, "not-a-uuid", &json!({"priority": "urgent"}))
        .await;
    assert_eq!(response.invalid_fields(), ["priority"]);
    let response = app
        .put_task(&user.token, &random_id(), &json!({"title": ""}))
        .await;
    assert_eq!(response.invalid_fields(), ["title"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_wrong_method_wins_over_a_missing_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.call(Method::DELETE, "/tasks", None)
        .await
        .assert_problem(405);
    app.call(Method::POST, "/me", Some("garbage"))
        .await
        .assert_problem(405);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_unknown_query_parameter_is_422_naming_it(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let response = app.get("/ping?x=1").await;
    assert_eq!(response.invalid_fields(), ["x"]);
    let user = app.user().await;
    let response = app
        .call(Method::GET, "/tasks?colour=red&x", Some(&user.token))
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["colour", "x"]);
    // ...but only once the caller is known.
    app.get("/tasks?colour=red").await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn hostile_input_never_yields_a_500(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let token = Some(user.token.as_str());
    let id = string(&app.task(&user.token, "Target").await["id"]);
    let bodies = [
        json!(null),
        json!(1),
        json!("title"),
        json!({"title": {"nested": true}}),
        json!({"title": ["a"]}),
        json!({"title": "x", "tags": [1, null, {}]}),
        json!({"title": "x", "due_at": "9999-99-99T99:99:99Z"}),
        json!({"title": "x", "due_at": "+275760-09-13T00:00:00Z"}),
        json!({"title": "\u{0000}\u{202e}\u{fffd}"}),
        json!({"title": "x", "priority": null, "is_done": null, "tags": null}),
    ];
    for body in &bodies {
        for (method, path) in [
            (Method::POST, "/tasks".to_owned()),
            (Method::PATCH, format!("/tasks/{id}")),
            (Method::PUT, format!("/tasks/{id}")),
            (Method::POST, "/register".to_owned()),
            (Method::POST, "/login".to_owned()),
        ] {
            let response = app.call_json(method.clone(), &path, token, body).await;
            assert!(
                response.status.is_success() || response.status.is_client_error(),
                "{method} {path} {body} answered {}: {}",
                response.status,
                response.text()
            );
        }
    }
    for path in [
        "/tasks/%ff",
        "/tasks/%00",
        "/%2e%2e/etc/passwd",
        "/tasks?%ff=1",
        "/ping?=",
    ] {
        let response = app.call(Method::GET, path, token).await;
        assert!(
            response.status.is_success() || response.status.is_client_error(),
            "GET {path} answered {}: {}",
            response.status,
            response.text()
        );
    }
    app.get("/ping").await.assert_status(200);
}
