//! `POST /tasks` with `Idempotency-Key`: a repeat replays the first response verbatim and
//! creates nothing, a different body is 422, keys are per user, bad keys are 422, and
//! concurrent duplicates create exactly one task.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::{Value, json};

use crate::support::{PASSWORD, Response, TestApp, send, string};

/// `POST /tasks` with an `Idempotency-Key` and a JSON body.
async fn create_with_key(app: &TestApp, token: Option<&str>, key: &str, body: &Value) -> Response {
    app.call_json_with_headers(
        Method::POST,
        "/tasks",
        token,
        &[("Idempotency-Key", key)],
        body,
    )
    .await
}

/// `POST /tasks` with an `Idempotency-Key` and a raw JSON text.
async fn create_raw_with_key(app: &TestApp, token: &str, key: &str, body: &str) -> Response {
    let request = app
        .request_with(
            Method::POST,
            "/tasks",
            Some(token),
            &[("Idempotency-Key", key)],
        )
        .content_type("application/json");
    send(request.send_body(body.to_owned())).await
}

/// The ids of every task of the owner of `token`.
async fn task_ids(app: &TestApp, token: &str) -> Vec<String> {
    let list = app
        .call(Method::GET, "/tasks?limit=100", Some(token))
        .await
        .json_with_status(200);
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| string(&t["id"]))
        .collect()
}

/// Asserts that `replay` repeats `first` verbatim and says it is a replay.
#[track_caller]
fn assert_replay_of(first: &Response, replay: &Response) {
    assert_eq!(
        replay.status,
        first.status,
        "the same status: {}",
        replay.text()
    );
    assert_eq!(replay.text(), first.text(), "the same body, byte for byte");
    assert_eq!(replay.media_type(), "application/json");
    for header in ["location", "etag"] {
        assert_eq!(
            replay.header(header),
            Some(first.require_header(header)),
            "the same {header}"
        );
    }
    assert_eq!(
        replay.header("idempotent-replayed"),
        Some("true"),
        "a replay says so"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_repeated_key_replays_the_first_response_and_creates_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let body = json!({"title": "Buy milk", "priority": "high", "tags": ["home"]});
    let first = create_with_key(&app, Some(&user.token), "order-42", &body).await;
    let task = first.json_with_status(201);
    let id = string(&task["id"]);
    assert_eq!(first.require_header("location"), format!("/tasks/{id}"));
    assert_eq!(first.require_header("etag"), "\"1\"");
    assert_eq!(
        first.header("idempotent-replayed"),
        None,
        "the first answer is no replay"
    );

    for _ in 0..2 {
        let replay = create_with_key(&app, Some(&user.token), "order-42", &body).await;
        assert_replay_of(&first, &replay);
    }
    // The key belongs to the user, not to the session.
    let again = app.login(&user.email, PASSWORD).await.json_with_status(200);
    let replay = create_with_key(
        &app,
        Some(&string(&again["access_token"])),
        "order-42",
        &body,
    )
    .await;
    assert_replay_of(&first, &replay);
    assert_eq!(task_ids(&app, &user.token).await, [id], "exactly one task");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn keys_are_compared_exactly(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let body = json!({"title": "t"});
    for key in ["key", "KEY", "Key", "key-", "-key"] {
        let response = create_with_key(&app, Some(&user.token), key, &body).await;
        response.assert_status(201);
        assert_eq!(response.header("idempotent-replayed"), None, "{key}");
    }
    assert_eq!(task_ids(&app, &user.token).await.len(), 5);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_same_json_written_differently_is_the_same_body(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let first = create_raw_with_key(
        &app,
        &user.token,
        "formatting",
        r#"{"title":"Café","priority":"low","tags":["a","b"],"due_at":null}"#,
    )
    .await;
    first.assert_status(201);
    for variant in [
        r#"{ "due_at" : null , "tags" : [ "a" , "b" ] , "priority" : "low" , "title" : "Café" }"#,
        "{\n  \"priority\": \"low\",\n  \"title\": \"Caf\\u00e9\",\n  \
         \"tags\": [\"a\", \"b\"],\n  \"due_at\": null\n}\n",
    ] {
        let replay = create_raw_with_key(&app, &user.token, "formatting", variant).await;
        assert_replay_of(&first, &replay);
    }
    assert_eq!(task_ids(&app, &user.token).await.len(), 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_same_key_with_a_different_body_is_422_and_creates_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let first = create_with_key(&app, Some(&user.token), "k1", &json!({"title": "One"})).await;
    let id = string(&first.json_with_status(201)["id"]);
    for other in [
        json!({"title": "Two"}),
        json!({"title": "One", "priority": "medium"}),
        json!({"title": "One", "tags": []}),
        json!({"title": "One "}),
    ] {
        let response = create_with_key(&app, Some(&user.token), "k1", &other).await;
        assert_eq!(response.invalid_fields(), ["Idempotency-Key"], "{other}");
    }
    assert_eq!(
        task_ids(&app, &user.token).await,
        std::slice::from_ref(&id),
        "nothing more was created"
    );
    // The original body still replays.
    let replay = create_with_key(&app, Some(&user.token), "k1", &json!({"title": "One"})).await;
    assert_replay_of(&first, &replay);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn keys_never_collide_across_users(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let body = json!({"title": "Same key, same body"});
    let alices = create_with_key(&app, Some(&alice.token), "shared-key", &body).await;
    let bobs = create_with_key(&app, Some(&bob.token), "shared-key", &body).await;
    let alices = alices.json_with_status(201);
    let bobs_task = bobs.json_with_status(201);
    assert_eq!(
        bobs.header("idempotent-replayed"),
        None,
        "Bob's request is no replay of Alice's"
    );
    assert_ne!(alices["id"], bobs_task["id"], "two tasks");
    assert_eq!(task_ids(&app, &alice.token).await, [string(&alices["id"])]);
    assert_eq!(task_ids(&app, &bob.token).await, [string(&bobs_task["id"])]);
    // Another body under the same key is fine for a third user too.
    let carol = app.signed_up("carol@example.com").await;
    create_with_key(
        &app,
        Some(&carol.token),
        "shared-key",
        &json!({"title": "Carol's"}),
    )
    .await
    .assert_status(201);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_invalid_key_is_422_naming_the_header(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let too_long = "k".repeat(256);
    for key in [
        "",
        too_long.as_str(),
        "has space",
        "é",
        "schlüssel",
        "tab\there",
    ] {
        let response = create_with_key(&app, Some(&user.token), key, &json!({"title": "t"})).await;
        assert_eq!(
            response.invalid_fields(),
            ["Idempotency-Key"],
            "key {key:?}"
        );
    }
    // Two keys in one request are one too many.
    let request = app
        .request_with(Method::POST, "/tasks", Some(&user.token), &[])
        .append_header(("Idempotency-Key", "first"))
        .append_header(("Idempotency-Key", "second"));
    let response = send(request.send_json(&json!({"title": "t"}))).await;
    assert_eq!(response.invalid_fields(), ["Idempotency-Key"], "two keys");
    assert!(
        task_ids(&app, &user.token).await.is_empty(),
        "nothing was created"
    );
    // The bounds themselves are fine.
    let longest = "k".repeat(255);
    for key in ["a", longest.as_str(), "order-42_retry.1~!"] {
        create_with_key(&app, Some(&user.token), key, &json!({"title": "in bounds"}))
            .await
            .assert_status(201);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn authentication_is_checked_before_the_key(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let too_long = "k".repeat(256);
    for key in ["has space", "", too_long.as_str(), "ok-key"] {
        create_with_key(&app, None, key, &json!({"title": "t"}))
            .await
            .assert_unauthorized();
        create_with_key(&app, Some("not-a-token"), key, &json!({"title": "t"}))
            .await
            .assert_unauthorized();
    }
    assert!(task_ids(&app, &user.token).await.is_empty());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_request_refused_for_its_body_does_not_use_up_the_key(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response =
        create_with_key(&app, Some(&user.token), "retry-me", &json!({"title": ""})).await;
    assert_eq!(response.invalid_fields(), ["title"]);
    let created = create_with_key(
        &app,
        Some(&user.token),
        "retry-me",
        &json!({"title": "fixed"}),
    )
    .await;
    created.json_with_status(201);
    assert_eq!(created.header("idempotent-replayed"), None);
    assert_eq!(task_ids(&app, &user.token).await.len(), 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn twenty_concurrent_duplicates_create_exactly_one_task(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let body = json!({"title": "Only once", "tags": ["race"]});
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let request = app.request_with(
                Method::POST,
                "/tasks",
                Some(&user.token),
                &[("Idempotency-Key", "race")],
            );
            actix_web::rt::spawn(send(request.send_json(&body)))
        })
        .collect();
    let mut responses = Vec::new();
    for handle in handles {
        responses.push(handle.await.unwrap());
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    let created: Vec<&Response> = responses
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .collect();
    assert!(!created.is_empty(), "some request succeeds: {statuses:?}");
    for response in responses.iter().filter(|r| r.status.as_u16() != 201) {
        response.assert_problem(409);
        let retry = response.require_header("retry-after");
        assert!(
            retry.parse::<u64>().is_ok(),
            "Retry-After is in seconds: {retry}"
        );
    }
    let originals = created
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(
        originals, 1,
        "one original answer, the other 201s are replays: {statuses:?}"
    );
    for response in &created {
        assert_eq!(
            response.text(),
            created[0].text(),
            "every 201 has the same body"
        );
        assert_eq!(response.header("location"), created[0].header("location"));
    }
    let id = string(&created[0].json()["id"]);
    assert_eq!(task_ids(&app, &user.token).await, [id], "exactly one task");
    // Once the first request is done, a retry replays it.
    let original = created
        .iter()
        .find(|r| r.header("idempotent-replayed").is_none())
        .unwrap();
    let replay = create_with_key(&app, Some(&user.token), "race", &body).await;
    assert_replay_of(original, &replay);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_replay_is_the_first_response_even_after_the_task_changed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let body = json!({"title": "Original"});
    let first = create_with_key(&app, Some(&user.token), "then-patched", &body).await;
    let id = string(&first.json_with_status(201)["id"]);
    let patched = app
        .patch_task(
            &user.token,
            &id,
            &json!({"title": "Changed", "is_done": true}),
        )
        .await
        .json_with_status(200);
    assert_eq!(patched["version"], 2);
    let replay = create_with_key(&app, Some(&user.token), "then-patched", &body).await;
    assert_replay_of(&first, &replay);
    assert_eq!(replay.json()["title"], "Original");
    assert_eq!(replay.json()["version"], 1);
    assert_eq!(replay.require_header("etag"), "\"1\"");
    let now = app.get_task(&user.token, &id).await.json_with_status(200);
    assert_eq!(now, patched, "the replay changed nothing");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_key_still_replays_after_its_task_was_deleted(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let body = json!({"title": "Short-lived"});
    let first = create_with_key(&app, Some(&user.token), "then-deleted", &body).await;
    let id = string(&first.json_with_status(201)["id"]);
    app.delete_task(&user.token, &id).await.assert_status(204);
    let replay = create_with_key(&app, Some(&user.token), "then-deleted", &body).await;
    assert_replay_of(&first, &replay);
    assert!(
        task_ids(&app, &user.token).await.is_empty(),
        "the task was not created again"
    );
    app.get_task(&user.token, &id).await.assert_problem(404);
}
