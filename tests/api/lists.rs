//! Lists end to end: every account's inbox, list creation, reading, renaming, archiving and
//! deletion with their statuses, tasks in named lists, the archived rule, the quota, pages
//! of lists, and a non-member's 404 on every method.

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, random_id, string};

async fn create_list(app: &TestApp, token: &str, name: &str) -> Value {
    app.call_json(Method::POST, "/lists", Some(token), &json!({"name": name}))
        .await
        .json_with_status(201)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn every_account_has_an_inbox_holding_the_tasks_of_clients_that_know_no_lists(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let lists = app
        .call(Method::GET, "/lists", Some(&user.token))
        .await
        .json_with_status(200);
    let lists = lists.as_array().unwrap();
    assert_eq!(lists.len(), 1);
    let inbox = &lists[0];
    assert_eq!(inbox["name"], "Inbox");
    assert_eq!(inbox["is_inbox"], true);
    assert_eq!(inbox["role"], "owner");
    assert_eq!(inbox["member_count"], 1);
    assert_eq!(inbox["archived"], false);
    let task = app.task(&user.token, "Buy milk").await;
    assert_eq!(task["list_id"], inbox["id"]);
    assert_eq!(task["created_by"], user.id.as_str());
    assert_eq!(task["parent_id"], Value::Null);
    assert_eq!(task["assignee_id"], Value::Null);
    assert!(task["position"].is_string());
    let listed = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(listed, json!([task]));

    // The inbox is fixed: no renaming, archiving or deletion (409), even by its owner.
    let path = format!("/lists/{}", string(&inbox["id"]));
    for body in [json!({"name": "Mine"}), json!({"archived": true})] {
        app.call_json(Method::PATCH, &path, Some(&user.token), &body)
            .await
            .assert_problem(409);
    }
    app.call(Method::DELETE, &path, Some(&user.token))
        .await
        .assert_problem(409);
    let after = app
        .call(Method::GET, &path, Some(&user.token))
        .await
        .json_with_status(200);
    assert_eq!(after, *inbox);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn lists_are_created_read_renamed_archived_and_deleted_with_their_tasks(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .call_json(
            Method::POST,
            "/lists",
            Some(&user.token),
            &json!({"name": "  Groceries "}),
        )
        .await;
    let list = response.json_with_status(201);
    let id = string(&list["id"]);
    let path = format!("/lists/{id}");
    assert_eq!(response.require_header("location"), path);
    assert_eq!(response.require_header("etag"), "\"1\"");
    assert_eq!(list["name"], "Groceries");
    assert_eq!(
        (&list["role"], &list["is_inbox"], &list["version"]),
        (&json!("owner"), &json!(false), &json!(1))
    );

    let got = app.call(Method::GET, &path, Some(&user.token)).await;
    assert_eq!(got.require_header("etag"), "\"1\"");
    assert_eq!(got.json_with_status(200), list);
    app.call_with_headers(
        Method::GET,
        &path,
        Some(&user.token),
        &[("If-None-Match", "\"1\"")],
    )
    .await
    .assert_status(304);

    // A task in the list, and one in the inbox.
    let task = app
        .create_task(&user.token, &json!({"title": "Apples", "list_id": id}))
        .await
        .json_with_status(201);
    assert_eq!(task["list_id"], id.as_str());
    let inboxed = app.task(&user.token, "Elsewhere").await;
    let only_list = app
        .call(
            Method::GET,
            &format!("/tasks?list_id={id}"),
            Some(&user.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(only_list, json!([task]));
    let all = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(all, json!([task, inboxed]));

    // Renaming; a stale If-Match is 412 and changes nothing; an empty patch changes nothing.
    let renamed = app
        .call_json(
            Method::PATCH,
            &path,
            Some(&user.token),
            &json!({"name": "Food"}),
        )
        .await
        .json_with_status(200);
    assert_eq!(
        (&renamed["name"], &renamed["version"]),
        (&json!("Food"), &json!(2))
    );
    app.call_json_with_headers(
        Method::PATCH,
        &path,
        Some(&user.token),
        &[("If-Match", "\"1\"")],
        &json!({"name": "Stale"}),
    )
    .await
    .assert_problem(412);
    let same = app
        .call_json(Method::PATCH, &path, Some(&user.token), &renamed)
        .await
        .json_with_status(200);
    assert_eq!(same["version"], 2, "read-only fields sent back are ignored");

    // Archived: its tasks refuse writes (409) and leave GET /tasks unless it is named.
    let archived = app
        .call_json(
            Method::PATCH,
            &path,
            Some(&user.token),
            &json!({"archived": true}),
        )
        .await
        .json_with_status(200);
    assert_eq!(archived["archived"], true);
    let task_path = string(&task["id"]);
    app.patch_task(&user.token, &task_path, &json!({"is_done": true}))
        .await
        .assert_problem(409);
    app.delete_task(&user.token, &task_path)
        .await
        .assert_problem(409);
    app.create_task(&user.token, &json!({"title": "More", "list_id": id}))
        .await
        .assert_problem(409);
    assert_eq!(
        app.list_tasks(&user.token).await.json_with_status(200),
        json!([inboxed])
    );
    assert_eq!(
        app.call(
            Method::GET,
            &format!("/tasks?list_id={id}"),
            Some(&user.token)
        )
        .await
        .json_with_status(200),
        json!([task])
    );
    let archived_lists = app
        .call(Method::GET, "/lists?archived=true", Some(&user.token))
        .await
        .json_with_status(200);
    assert_eq!(archived_lists, json!([archived]));

    // Deletion honours If-Match and takes the tasks with it.
    app.call_with_headers(
        Method::DELETE,
        &path,
        Some(&user.token),
        &[("If-Match", "\"2\"")],
    )
    .await
    .assert_problem(412);
    app.call(Method::DELETE, &path, Some(&user.token))
        .await
        .assert_status(204);
    app.call(Method::GET, &path, Some(&user.token))
        .await
        .assert_problem(404);
    app.get_task(&user.token, &task_path)
        .await
        .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn another_users_list_is_404_for_every_method_and_its_tasks_stay_hidden(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let list = create_list(&app, &alice.token, "Alice's").await;
    let id = string(&list["id"]);
    let task = app
        .create_task(&alice.token, &json!({"title": "Secret", "list_id": id}))
        .await
        .json_with_status(201);
    let path = format!("/lists/{id}");
    let missing = app
        .call(
            Method::GET,
            &format!("/lists/{}", random_id()),
            Some(&bob.token),
        )
        .await
        .assert_problem(404);
    let not_a_uuid = app
        .call(Method::GET, "/lists/not-a-uuid", Some(&bob.token))
        .await
        .assert_problem(404);
    assert_eq!(not_a_uuid["detail"], missing["detail"]);
    let responses = [
        ("GET", app.call(Method::GET, &path, Some(&bob.token)).await),
        (
            "PATCH",
            app.call_json(
                Method::PATCH,
                &path,
                Some(&bob.token),
                &json!({"name": "Bob's"}),
            )
            .await,
        ),
        (
            "DELETE",
            app.call(Method::DELETE, &path, Some(&bob.token)).await,
        ),
        (
            "GET inbox",
            app.call(
                Method::GET,
                &format!("/lists/{}", alice.id),
                Some(&bob.token),
            )
            .await,
        ),
    ];
    for (method, response) in responses {
        let body = response.assert_problem(404);
        assert_eq!(body["detail"], missing["detail"], "{method}");
    }
    // Bob can neither put a task into it nor read its tasks, whichever way he asks.
    let refused = app
        .create_task(&bob.token, &json!({"title": "Intruder", "list_id": id}))
        .await;
    assert_eq!(refused.invalid_fields(), vec!["list_id"]);
    let unknown = app
        .create_task(
            &bob.token,
            &json!({"title": "Nowhere", "list_id": random_id()}),
        )
        .await;
    assert_eq!(
        unknown.assert_problem(422)["errors"],
        refused.assert_problem(422)["errors"],
        "a foreign list and a missing one are refused alike"
    );
    assert_eq!(
        app.call(
            Method::GET,
            &format!("/tasks?list_id={id}"),
            Some(&bob.token)
        )
        .await
        .json_with_status(200),
        json!([])
    );
    app.get_task(&bob.token, &string(&task["id"]))
        .await
        .assert_problem(404);
    let lists = app
        .call(Method::GET, "/lists", Some(&bob.token))
        .await
        .json_with_status(200);
    assert_eq!(lists.as_array().unwrap().len(), 1, "only Bob's inbox");
    let after = app
        .call(Method::GET, &path, Some(&alice.token))
        .await
        .json_with_status(200);
    assert_eq!(after, list, "untouched");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn bad_list_input_is_422_naming_the_field_and_changes_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "ok", "owner": "me"}), "owner"),
    ] {
        let response = app
            .call_json(Method::POST, "/lists", Some(&user.token), &body)
            .await;
        assert_eq!(response.invalid_fields(), vec![field], "{body}");
    }
    let list = create_list(&app, &user.token, "Fine").await;
    let path = format!("/lists/{}", string(&list["id"]));
    for (body, field) in [
        (json!({"archived": "yes"}), "archived"),
        (json!({"name": ""}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let response = app
            .call_json(Method::PATCH, &path, Some(&user.token), &body)
            .await;
        assert_eq!(response.invalid_fields(), vec![field], "{body}");
    }
    for (query, field) in [
        ("sort=title", "sort"),
        ("archived=maybe", "archived"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
        ("colour=red", "colour"),
    ] {
        let response = app
            .call(Method::GET, &format!("/lists?{query}"), Some(&user.token))
            .await;
        assert_eq!(response.invalid_fields(), vec![field], "{query}");
    }
    let response = app
        .call(Method::GET, "/tasks?list_id=nope", Some(&user.token))
        .await;
    assert_eq!(response.invalid_fields(), vec!["list_id"]);
    let response = app
        .create_task(&user.token, &json!({"title": "t", "list_id": "nope"}))
        .await;
    assert_eq!(response.invalid_fields(), vec!["list_id"]);
    let response = app
        .create_task(
            &user.token,
            &json!({"title": "t", "assignee_id": random_id()}),
        )
        .await;
    assert_eq!(response.invalid_fields(), vec!["assignee_id"]);
    let after = app
        .call(Method::GET, &path, Some(&user.token))
        .await
        .json_with_status(200);
    assert_eq!(after, list);
    assert_eq!(
        app.list_tasks(&user.token).await.json_with_status(200),
        json!([])
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn lists_page_by_name_and_creation_with_next_links_and_the_quota_holds(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__QUOTA__LISTS_PER_USER", "4")]).await;
    let user = app.user().await;
    for name in ["delta", "Alpha", "charlie", "bravo"] {
        create_list(&app, &user.token, name).await;
    }
    let over = app
        .call_json(
            Method::POST,
            "/lists",
            Some(&user.token),
            &json!({"name": "echo"}),
        )
        .await
        .assert_problem(409);
    assert!(string(&over["type"]).ends_with("quota-exceeded"), "{over}");
    let mut names = Vec::new();
    let mut next = Some("/lists?sort=-name&limit=2".to_owned());
    while let Some(path) = next {
        let response = app.call(Method::GET, &path, Some(&user.token)).await;
        let page = response.json_with_status(200);
        names.extend(page.as_array().unwrap().iter().map(|l| string(&l["name"])));
        next = response.next_link();
    }
    assert_eq!(names, ["Inbox", "delta", "charlie", "bravo", "Alpha"]);
    // The assignee may be set to a member (here the only one), and cleared.
    let task = app.task(&user.token, "Mine").await;
    let assigned = app
        .patch_task(
            &user.token,
            &string(&task["id"]),
            &json!({"assignee_id": user.id}),
        )
        .await
        .json_with_status(200);
    assert_eq!(assigned["assignee_id"], user.id.as_str());
    let other = app.task(&user.token, "Nobody's").await;
    for (query, expected) in [
        ("assignee=me".to_owned(), json!([assigned])),
        (format!("assignee={}", user.id), json!([assigned])),
        ("assignee=none".to_owned(), json!([other])),
        (format!("assignee={}", random_id()), json!([])),
    ] {
        let listed = app
            .call(Method::GET, &format!("/tasks?{query}"), Some(&user.token))
            .await
            .json_with_status(200);
        assert_eq!(listed, expected, "{query}");
    }
    let bad = app
        .call(Method::GET, "/tasks?assignee=someone", Some(&user.token))
        .await;
    assert_eq!(bad.invalid_fields(), vec!["assignee"]);
    let cleared = app
        .patch_task(
            &user.token,
            &string(&task["id"]),
            &json!({"assignee_id": null}),
        )
        .await
        .json_with_status(200);
    assert_eq!(cleared["assignee_id"], Value::Null);
}
