//! Conditional requests: `ETag` on reads and writes, `If-None-Match` → 304, `If-Match` → 412
//! when stale (and the task untouched), and `If-Match` arbitrating concurrent writers.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::{Value, json};

use crate::support::{Response, TestApp, random_id, send, string};

/// A task created with a few fields set, and its id.
async fn seeded(app: &TestApp, token: &str) -> (Value, String) {
    let task = app
        .create_task(
            token,
            &json!({"title": "Conditional", "description": "as created", "priority": "low",
                    "tags": ["one"], "due_at": "2030-05-01T09:00:00Z"}),
        )
        .await
        .json_with_status(201);
    let id = string(&task["id"]);
    (task, id)
}

/// `GET /tasks/{id}` with `If-None-Match`.
async fn get_if_none_match(app: &TestApp, token: &str, id: &str, tag: &str) -> Response {
    app.call_with_headers(
        Method::GET,
        &format!("/tasks/{id}"),
        Some(token),
        &[("If-None-Match", tag)],
    )
    .await
}

/// A write with `If-Match`: PATCH and PUT carry `body`, DELETE none.
async fn write_if_match(
    app: &TestApp,
    method: Method,
    token: &str,
    id: &str,
    tag: &str,
    body: &Value,
) -> Response {
    let path = format!("/tasks/{id}");
    let headers = [("If-Match", tag)];
    if method == Method::DELETE {
        app.call_with_headers(method, &path, Some(token), &headers)
            .await
    } else {
        app.call_json_with_headers(method, &path, Some(token), &headers, body)
            .await
    }
}

/// Asserts that the task is still exactly `expected`.
async fn assert_unchanged(app: &TestApp, token: &str, expected: &Value, why: &str) {
    let id = string(&expected["id"]);
    let response = app.get_task(token, &id).await;
    assert_eq!(&response.json_with_status(200), expected, "{why}");
    assert_eq!(
        response.require_header("etag"),
        format!("\"{}\"", expected["version"]),
        "{why}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn get_carries_the_version_as_a_strong_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let response = app.get_task(&user.token, &id).await;
    assert_eq!(response.require_header("etag"), "\"1\"");
    app.patch_task(&user.token, &id, &json!({"title": "v2"}))
        .await
        .assert_status(200);
    let response = app.get_task(&user.token, &id).await;
    assert_eq!(response.json_with_status(200)["version"], 2);
    assert_eq!(response.require_header("etag"), "\"2\"");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn if_none_match_with_the_current_etag_is_304_without_a_body(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    for tag in ["\"1\"", "W/\"1\"", "*", "\"7\", \"1\"", "W/\"9\", W/\"1\""] {
        let response = get_if_none_match(&app, &user.token, &id, tag).await;
        response.assert_status(304);
        assert!(
            response.body.is_empty(),
            "If-None-Match: {tag}: a 304 has no body: {}",
            response.text()
        );
        assert_eq!(
            response.require_header("etag"),
            "\"1\"",
            "If-None-Match: {tag}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn if_none_match_with_a_stale_etag_is_200_with_the_task(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let patched = app
        .patch_task(&user.token, &id, &json!({"priority": "high"}))
        .await
        .json_with_status(200);
    for tag in ["\"1\"", "W/\"1\"", "\"3\"", "\"garbage\"", "garbage"] {
        let response = get_if_none_match(&app, &user.token, &id, tag).await;
        assert_eq!(
            response.json_with_status(200),
            patched,
            "If-None-Match: {tag}"
        );
        assert_eq!(
            response.require_header("etag"),
            "\"2\"",
            "If-None-Match: {tag}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn if_none_match_on_a_missing_or_foreign_task_is_404(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let (_, id) = seeded(&app, &alice.token).await;
    for tag in ["*", "\"1\""] {
        get_if_none_match(&app, &bob.token, &id, tag)
            .await
            .assert_problem(404);
        get_if_none_match(&app, &alice.token, &random_id(), tag)
            .await
            .assert_problem(404);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_stale_if_match_is_412_and_changes_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let current = app
        .patch_task(&user.token, &id, &json!({"description": "second version"}))
        .await
        .json_with_status(200);
    assert_eq!(current["version"], 2);
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        for tag in ["\"1\"", "\"3\"", "W/\"2\"", "\"1\", \"3\""] {
            let response = write_if_match(
                &app,
                method.clone(),
                &user.token,
                &id,
                tag,
                &json!({"title": "must not land", "is_done": true}),
            )
            .await;
            let problem = response.assert_problem(412);
            assert!(!string(&problem["detail"]).is_empty());
            assert_unchanged(
                &app,
                &user.token,
                &current,
                &format!("{method} If-Match: {tag}"),
            )
            .await;
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_garbage_if_match_is_412(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (task, id) = seeded(&app, &user.token).await;
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        for tag in ["garbage", "1", "\"\"", "\"one\"", "\"1"] {
            let response = write_if_match(
                &app,
                method.clone(),
                &user.token,
                &id,
                tag,
                &json!({"title": "no"}),
            )
            .await;
            response.assert_problem(412);
            assert_unchanged(
                &app,
                &user.token,
                &task,
                &format!("{method} If-Match: {tag}"),
            )
            .await;
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_current_if_match_lets_patch_and_put_through_with_a_new_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let response = write_if_match(
        &app,
        Method::PATCH,
        &user.token,
        &id,
        "\"1\"",
        &json!({"title": "patched"}),
    )
    .await;
    let patched = response.json_with_status(200);
    assert_eq!(patched["title"], "patched");
    assert_eq!(patched["version"], 2);
    assert_eq!(response.require_header("etag"), "\"2\"");

    // A list that holds the current tag matches too.
    let response = write_if_match(
        &app,
        Method::PUT,
        &user.token,
        &id,
        "\"1\", \"2\"",
        &json!({"description": "put"}),
    )
    .await;
    let put = response.json_with_status(200);
    assert_eq!(put["description"], "put");
    assert_eq!(put["title"], "patched");
    assert_eq!(put["version"], 3);
    assert_eq!(response.require_header("etag"), "\"3\"");

    let response = write_if_match(
        &app,
        Method::PATCH,
        &user.token,
        &id,
        "*",
        &json!({"priority": "high"}),
    )
    .await;
    let starred = response.json_with_status(200);
    assert_eq!(starred["priority"], "high");
    assert_eq!(response.require_header("etag"), "\"4\"");
    assert_unchanged(&app, &user.token, &starred, "the task is at version 4").await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_current_or_star_if_match_lets_delete_through(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, first) = seeded(&app, &user.token).await;
    let (_, second) = seeded(&app, &user.token).await;
    write_if_match(
        &app,
        Method::DELETE,
        &user.token,
        &first,
        "\"1\"",
        &Value::Null,
    )
    .await
    .assert_status(204);
    app.get_task(&user.token, &first).await.assert_problem(404);
    write_if_match(
        &app,
        Method::DELETE,
        &user.token,
        &second,
        "*",
        &Value::Null,
    )
    .await
    .assert_status(204);
    app.get_task(&user.token, &second).await.assert_problem(404);
    // Gone is gone, whatever the condition.
    write_if_match(&app, Method::DELETE, &user.token, &first, "*", &Value::Null)
        .await
        .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn if_match_on_a_missing_or_foreign_task_is_404_not_412(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let (task, id) = seeded(&app, &alice.token).await;
    let missing = random_id();
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        for tag in ["\"1\"", "\"2\"", "*", "garbage"] {
            for (who, target) in [("Alice's task, as Bob", &id), ("a missing task", &missing)] {
                let token = if target == &id {
                    &bob.token
                } else {
                    &alice.token
                };
                let response = write_if_match(
                    &app,
                    method.clone(),
                    token,
                    target,
                    tag,
                    &json!({"title": "x"}),
                )
                .await;
                assert_eq!(
                    response.status.as_u16(),
                    404,
                    "{method} {who}, If-Match: {tag}: {}",
                    response.text()
                );
                response.assert_problem(404);
            }
        }
    }
    assert_unchanged(&app, &alice.token, &task, "Bob changed nothing").await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn of_ten_concurrent_patches_with_the_same_if_match_exactly_one_wins(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let current = app
        .patch_task(&user.token, &id, &json!({"title": "base"}))
        .await
        .json_with_status(200);
    let version = current["version"].as_i64().unwrap();
    let tag = format!("\"{version}\"");
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let request = app.request_with(
                Method::PATCH,
                &format!("/tasks/{id}"),
                Some(&user.token),
                &[("If-Match", &tag)],
            );
            actix_web::rt::spawn(send(
                request.send_json(&json!({"title": format!("writer {i}")})),
            ))
        })
        .collect();
    let mut responses = Vec::new();
    for handle in handles {
        responses.push(handle.await.unwrap());
    }
    let winners: Vec<&Response> = responses
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one writer wins: {:?}",
        responses
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
    for response in responses.iter().filter(|r| r.status.as_u16() != 200) {
        response.assert_problem(412);
    }
    let winner = winners[0].json();
    assert_eq!(winner["version"], version + 1);
    assert_eq!(
        winners[0].require_header("etag"),
        format!("\"{}\"", version + 1)
    );
    let task = app.get_task(&user.token, &id).await.json_with_status(200);
    assert_eq!(task["version"], version + 1, "one change only");
    assert_eq!(
        task["title"], winner["title"],
        "the winner's write is the one kept"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn twenty_concurrent_unconditional_patches_all_land(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let descriptions: Vec<String> = (0..20).map(|i| format!("description {i}")).collect();
    let handles: Vec<_> = descriptions
        .iter()
        .map(|description| {
            let request = app.request_with(
                Method::PATCH,
                &format!("/tasks/{id}"),
                Some(&user.token),
                &[],
            );
            actix_web::rt::spawn(send(
                request.send_json(&json!({"description": description})),
            ))
        })
        .collect();
    let mut versions = Vec::new();
    for handle in handles {
        let response = handle.await.unwrap();
        let task = response.json_with_status(200);
        versions.push(task["version"].as_i64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=21).collect::<Vec<i64>>(),
        "each patch made its own version"
    );
    let task = app.get_task(&user.token, &id).await.json_with_status(200);
    assert_eq!(task["version"], 21, "1 + 20 changes, none lost");
    assert!(
        descriptions.contains(&string(&task["description"])),
        "the description is one of those sent: {task}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_no_op_patch_with_the_current_if_match_keeps_the_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (task, id) = seeded(&app, &user.token).await;
    let response = write_if_match(
        &app,
        Method::PATCH,
        &user.token,
        &id,
        "\"1\"",
        &json!({"priority": "low"}),
    )
    .await;
    assert_eq!(response.json_with_status(200), task, "nothing changed");
    assert_eq!(response.require_header("etag"), "\"1\"");
    // Stale stays stale, even for a write that would change nothing.
    let response = write_if_match(
        &app,
        Method::PATCH,
        &user.token,
        &id,
        "\"0\"",
        &json!({"priority": "low"}),
    )
    .await;
    response.assert_problem(412);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn authentication_and_body_errors_come_before_if_match(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (task, id) = seeded(&app, &user.token).await;
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        write_if_match(
            &app,
            method.clone(),
            "not-a-token",
            &id,
            "\"9\"",
            &json!({"title": "x"}),
        )
        .await
        .assert_unauthorized();
        let response = app
            .call_with_headers(
                method.clone(),
                &format!("/tasks/{id}"),
                None,
                &[("If-Match", "\"9\"")],
            )
            .await;
        response.assert_unauthorized();
    }
    for method in [Method::PATCH, Method::PUT] {
        // An invalid body is 422 whatever the condition, and whether the task exists or not.
        for target in [id.clone(), random_id()] {
            let response = write_if_match(
                &app,
                method.clone(),
                &user.token,
                &target,
                "\"9\"",
                &json!({"title": ""}),
            )
            .await;
            assert_eq!(response.invalid_fields(), ["title"], "{method}");
        }
    }
    assert_unchanged(&app, &user.token, &task, "nothing was changed").await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn of_concurrent_deletes_with_the_same_if_match_exactly_one_succeeds(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (_, id) = seeded(&app, &user.token).await;
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let request = app.request_with(
                Method::DELETE,
                &format!("/tasks/{id}"),
                Some(&user.token),
                &[("If-Match", "\"1\"")],
            );
            actix_web::rt::spawn(send(request.send()))
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        let response = handle.await.unwrap();
        if response.status.as_u16() != 204 {
            // Too late: the task is gone (or, mid-way, no longer at that version).
            let status = response.status.as_u16();
            assert!(
                status == 404 || status == 412,
                "{status}: {}",
                response.text()
            );
            response.assert_problem(status);
        }
        statuses.push(response.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    app.get_task(&user.token, &id).await.assert_problem(404);
}
