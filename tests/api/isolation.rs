//! Tasks are private: another user's task is a 404 for every method, and stays unchanged.

use rstest::rstest;

use crate::support::Backend;

use serde_json::json;

use crate::support::{TestApp, string};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn another_users_task_is_404_for_every_method_and_stays_unchanged(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let task = app
        .create_task(
            &alice.token,
            &json!({"title": "Alice's", "tags": ["private"], "priority": "high"}),
        )
        .await
        .json_with_status(201);
    let id = string(&task["id"]);

    let get = app.get_task(&bob.token, &id).await;
    let patch = app
        .patch_task(&bob.token, &id, &json!({"title": "Bob was here"}))
        .await;
    let put = app
        .put_task(&bob.token, &id, &json!({"is_done": true}))
        .await;
    let delete = app.delete_task(&bob.token, &id).await;
    let missing = app.get_task(&bob.token, &crate::support::random_id()).await;
    let missing = missing.assert_problem(404);
    for (method, response) in [
        ("GET", get),
        ("PATCH", patch),
        ("PUT", put),
        ("DELETE", delete),
    ] {
        let body = response.assert_problem(404);
        // Indistinguishable from a task that does not exist.
        assert_eq!(body["detail"], missing["detail"], "{method}");
        assert_eq!(body["title"], missing["title"], "{method}");
    }

    let after = app.get_task(&alice.token, &id).await.json_with_status(200);
    assert_eq!(after, task, "Alice's task is untouched");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn lists_only_show_the_callers_own_tasks(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let alices = app.task(&alice.token, "Alice's").await;
    let bobs = app.task(&bob.token, "Bob's").await;

    let bob_list = app.list_tasks(&bob.token).await.json_with_status(200);
    assert_eq!(bob_list, json!([bobs]));
    let alice_list = app.list_tasks(&alice.token).await.json_with_status(200);
    assert_eq!(alice_list, json!([alices]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_deleted_task_of_one_user_does_not_affect_another(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let alices = string(&app.task(&alice.token, "Alice's").await["id"]);
    let bobs = string(&app.task(&bob.token, "Bob's").await["id"]);
    app.delete_task(&bob.token, &bobs).await.assert_status(204);
    app.get_task(&alice.token, &alices).await.assert_status(200);
    app.delete_task(&alice.token, &bobs)
        .await
        .assert_problem(404);
}
