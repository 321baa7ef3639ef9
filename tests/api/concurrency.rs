//! Concurrent requests: nothing is lost, nothing is duplicated, nothing fails with a 5xx.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::{Value, json};

use crate::support::{PASSWORD, Response, TestApp, send, string};

/// Sends every request at once and waits for all the answers, in order.
async fn all_at_once(
    app: &TestApp,
    requests: Vec<(Method, String, Option<String>, Value)>,
) -> Vec<Response> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(method, path, token, body)| {
            let mut request = app.request(method, &path);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            actix_web::rt::spawn(send(request.send_json(&body)))
        })
        .collect();
    let mut responses = Vec::with_capacity(handles.len());
    for handle in handles {
        responses.push(
            handle
                .await
                .unwrap_or_else(|e| panic!("a request task failed: {e}")),
        );
    }
    responses
}

fn assert_no_server_error(responses: &[Response]) {
    for response in responses {
        assert!(
            !response.status.is_server_error(),
            "a concurrent request answered {}: {}",
            response.status,
            response.text()
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn twenty_concurrent_creations_all_succeed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let requests = (0..20)
        .map(|i| {
            (
                Method::POST,
                "/tasks".to_owned(),
                Some(user.token.clone()),
                json!({"title": format!("task {i}")}),
            )
        })
        .collect();
    let responses = all_at_once(&app, requests).await;
    assert_no_server_error(&responses);
    for response in &responses {
        response.assert_status(201);
    }
    let list = app.list_tasks(&user.token).await.json_with_status(200);
    let titles: std::collections::BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| string(&t["title"]))
        .collect();
    assert_eq!(list.as_array().map(Vec::len), Some(20));
    assert_eq!(titles.len(), 20, "twenty distinct tasks");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_patches_of_different_fields_lose_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = string(&app.task(&user.token, "Shared").await["id"]);
    let patches = [
        json!({"title": "title A"}),
        json!({"priority": "high"}),
        json!({"description": "description A"}),
        json!({"due_at": "2030-01-01T00:00:00Z"}),
        json!({"tags": ["a"]}),
        json!({"title": "title B"}),
        json!({"priority": "low"}),
        json!({"description": "description B"}),
        json!({"due_at": "2031-01-01T00:00:00Z"}),
        json!({"tags": ["b"]}),
    ];
    let requests = patches
        .iter()
        .map(|body| {
            (
                Method::PATCH,
                format!("/tasks/{id}"),
                Some(user.token.clone()),
                body.clone(),
            )
        })
        .collect();
    let responses = all_at_once(&app, requests).await;
    assert_no_server_error(&responses);
    for response in &responses {
        response.assert_status(200);
    }
    let task = app.get_task(&user.token, &id).await.json_with_status(200);
    let one_of = |field: &str, values: [Value; 2]| {
        assert!(
            values.contains(&task[field]),
            "{field} holds one of the values sent: {task}"
        );
    };
    one_of("title", [json!("title A"), json!("title B")]);
    one_of("priority", [json!("high"), json!("low")]);
    one_of(
        "description",
        [json!("description A"), json!("description B")],
    );
    one_of(
        "due_at",
        [json!("2030-01-01T00:00:00Z"), json!("2031-01-01T00:00:00Z")],
    );
    one_of("tags", [json!(["a"]), json!(["b"])]);
    assert_eq!(task["version"], 11, "every patch was a change: {task}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_registrations_of_one_email_make_exactly_one_account(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let requests = (0..10)
        .map(|i| {
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            (
                Method::POST,
                "/register".to_owned(),
                None,
                json!({"email": email, "password": PASSWORD}),
            )
        })
        .collect();
    let responses = all_at_once(&app, requests).await;
    assert_no_server_error(&responses);
    let created = responses
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .count();
    assert_eq!(created, 1, "exactly one registration wins");
    for response in responses.iter().filter(|r| r.status.as_u16() != 201) {
        response.assert_problem(409);
    }
    app.login("race@example.com", PASSWORD)
        .await
        .assert_status(200);
}
