//! Tasks: creation, defaults, normalisation, reads, partial updates, deletion, listing.

use rstest::rstest;

use crate::support::Backend;

use serde_json::{Value, json};

use crate::support::{TestApp, string};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn create_returns_201_with_location_and_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(&user.token, &json!({"title": "Buy milk"}))
        .await;
    let task = response.json_with_status(201);
    assert_eq!(task["title"], "Buy milk");
    let id = string(&task["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "the id is a UUID: {id}");
    assert_eq!(response.require_header("location"), format!("/tasks/{id}"));
    assert_eq!(response.require_header("etag"), "\"1\"");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_new_task_has_the_documented_defaults(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app.task(&user.token, "Defaults").await;
    assert_eq!(task["description"], "");
    assert_eq!(task["is_done"], false);
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["due_at"], Value::Null);
    assert_eq!(task["tags"], json!([]));
    assert_eq!(task["version"], 1);
    assert_eq!(task["created_at"], task["updated_at"]);
    for key in ["created_at", "updated_at"] {
        let at = string(&task[key]);
        assert!(at.ends_with('Z'), "{key} is UTC: {at}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&at).is_ok(),
            "{key}: {at}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn create_with_every_field_keeps_them(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app
        .create_task(
            &user.token,
            &json!({
                "title": "Full",
                "description": "  kept as written  ",
                "is_done": true,
                "priority": "high",
                "due_at": "2030-01-31T17:00:00Z",
                "tags": ["home"],
            }),
        )
        .await
        .json_with_status(201);
    assert_eq!(task["description"], "  kept as written  ");
    assert_eq!(task["is_done"], true);
    assert!(task["completed_at"].is_string(), "done on create: {task}");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_at"], "2030-01-31T17:00:00Z");
    assert_eq!(task["tags"], json!(["home"]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_title_is_trimmed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app.task(&user.token, "   Buy milk \t ").await;
    assert_eq!(task["title"], "Buy milk");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tags_are_trimmed_lower_cased_and_folded(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app
        .create_task(
            &user.token,
            &json!({"title": "Tags", "tags": ["Home", " WORK ", "home", "work", "Ünï"]}),
        )
        .await
        .json_with_status(201);
    assert_eq!(task["tags"], json!(["home", "work", "ünï"]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn due_at_with_an_offset_is_normalised_to_utc(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app
        .create_task(
            &user.token,
            &json!({"title": "Due", "due_at": "2030-01-31T18:00:00+01:00"}),
        )
        .await
        .json_with_status(201);
    assert_eq!(task["due_at"], "2030-01-31T17:00:00Z");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn get_returns_the_task_with_its_etag(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app.task(&user.token, "Read me").await;
    let id = string(&created["id"]);
    let response = app.get_task(&user.token, &id).await;
    assert_eq!(response.json_with_status(200), created);
    assert_eq!(response.require_header("etag"), "\"1\"");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn patch_changes_only_the_fields_sent(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app
        .create_task(
            &user.token,
            &json!({"title": "Original", "description": "desc", "priority": "low",
                    "due_at": "2030-01-01T00:00:00Z", "tags": ["a"]}),
        )
        .await
        .json_with_status(201);
    let id = string(&created["id"]);
    let response = app
        .patch_task(&user.token, &id, &json!({"priority": "high"}))
        .await;
    let patched = response.json_with_status(200);
    assert_eq!(response.require_header("etag"), "\"2\"");
    assert_eq!(patched["priority"], "high");
    assert_eq!(patched["version"], 2);
    for unchanged in [
        "id",
        "title",
        "description",
        "due_at",
        "tags",
        "is_done",
        "created_at",
    ] {
        assert_eq!(patched[unchanged], created[unchanged], "{unchanged}");
    }
    assert!(
        string(&patched["updated_at"]) >= string(&created["updated_at"]),
        "updated_at moves forward"
    );
    // The change is stored, not only answered.
    assert_eq!(
        app.get_task(&user.token, &id).await.json_with_status(200),
        patched
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn patch_with_null_clears_due_at_and_description(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app
        .create_task(
            &user.token,
            &json!({"title": "Clear me", "description": "something",
                    "due_at": "2030-01-01T00:00:00Z"}),
        )
        .await
        .json_with_status(201);
    let id = string(&created["id"]);
    let patched = app
        .patch_task(
            &user.token,
            &id,
            &json!({"due_at": null, "description": null}),
        )
        .await
        .json_with_status(200);
    assert_eq!(patched["due_at"], Value::Null);
    assert_eq!(patched["description"], "");
    assert_eq!(patched["title"], "Clear me");
    assert_eq!(patched["version"], 2);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn is_done_sets_keeps_and_clears_completed_at(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = string(&app.task(&user.token, "Finish me").await["id"]);

    let done = app
        .patch_task(&user.token, &id, &json!({"is_done": true}))
        .await
        .json_with_status(200);
    assert_eq!(done["is_done"], true);
    let completed_at = string(&done["completed_at"]);
    assert!(chrono::DateTime::parse_from_rfc3339(&completed_at).is_ok());
    assert_eq!(done["version"], 2);

    let again = app
        .patch_task(&user.token, &id, &json!({"is_done": true}))
        .await
        .json_with_status(200);
    assert_eq!(again["completed_at"], completed_at.as_str(), "kept");
    assert_eq!(
        again["version"], 2,
        "marking a done task done changes nothing"
    );

    let undone = app
        .patch_task(&user.token, &id, &json!({"is_done": false}))
        .await
        .json_with_status(200);
    assert_eq!(undone["is_done"], false);
    assert_eq!(undone["completed_at"], Value::Null);
    assert_eq!(undone["version"], 3);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn version_grows_by_one_per_change_and_a_no_op_patch_changes_nothing(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app.task(&user.token, "Versioned").await;
    let id = string(&created["id"]);
    let mut last = created;
    for (n, body) in [
        json!({"title": "Versioned 2"}),
        json!({"tags": ["x"]}),
        json!({"description": "d", "priority": "low"}),
    ]
    .iter()
    .enumerate()
    {
        let response = app.patch_task(&user.token, &id, body).await;
        let task = response.json_with_status(200);
        let expected = i64::try_from(n).unwrap() + 2;
        assert_eq!(task["version"], expected, "after {body}");
        assert_eq!(response.require_header("etag"), format!("\"{expected}\""));
        last = task;
    }
    for no_op in [
        json!({}),
        json!({"title": "Versioned 2"}),
        json!({"title": "  Versioned 2  ", "tags": ["X"], "priority": "low"}),
    ] {
        let response = app.patch_task(&user.token, &id, &no_op).await;
        let task = response.json_with_status(200);
        assert_eq!(task["version"], last["version"], "{no_op} is a no-op");
        assert_eq!(task["updated_at"], last["updated_at"], "{no_op} is a no-op");
        assert_eq!(response.require_header("etag"), "\"4\"");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn put_is_a_partial_update_like_patch(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app
        .create_task(&user.token, &json!({"title": "Put me", "priority": "low"}))
        .await
        .json_with_status(201);
    let id = string(&created["id"]);
    let response = app
        .put_task(&user.token, &id, &json!({"is_done": true}))
        .await;
    let task = response.json_with_status(200);
    assert_eq!(response.require_header("etag"), "\"2\"");
    assert_eq!(task["is_done"], true);
    assert_eq!(task["title"], "Put me");
    assert_eq!(task["priority"], "low");
    assert!(task["completed_at"].is_string());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn read_only_fields_sent_back_are_ignored(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let created = app.task(&user.token, "Round trip").await;
    let id = string(&created["id"]);
    let mut body = app.get_task(&user.token, &id).await.json_with_status(200);
    body["title"] = json!("Round trip, renamed");
    for method in ["PUT", "PATCH"] {
        let response = if method == "PUT" {
            app.put_task(&user.token, &id, &body).await
        } else {
            app.patch_task(&user.token, &id, &body).await
        };
        let task = response.json_with_status(200);
        assert_eq!(task["title"], "Round trip, renamed", "{method}");
        assert_eq!(task["version"], 2, "{method}: one change in all");
    }
    // Read-only fields with other values are ignored too.
    // So are the tree and list fields (changed by moving a task, never by PATCH/PUT) and
    // the creator, even when they name a real task.
    let other = app.task(&user.token, "Would-be parent").await;
    let forged = json!({"id": crate::support::random_id(), "version": 99,
                        "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z",
                        "completed_at": "2000-01-01T00:00:00Z",
                        "list_id": crate::support::random_id(), "parent_id": other["id"],
                        "position": "a0", "created_by": crate::support::random_id()});
    for method in ["PUT", "PATCH"] {
        let response = if method == "PUT" {
            app.put_task(&user.token, &id, &forged).await
        } else {
            app.patch_task(&user.token, &id, &forged).await
        };
        let task = response.json_with_status(200);
        assert_eq!(task["id"], id.as_str(), "{method}");
        assert_eq!(task["version"], 2, "{method}: nothing changed");
        assert_eq!(task["created_at"], created["created_at"], "{method}");
        assert_eq!(task["completed_at"], Value::Null, "{method}");
        for field in ["list_id", "parent_id", "position", "created_by"] {
            assert_eq!(task[field], created[field], "{method}: {field}");
        }
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_unknown_field_is_422_naming_it_on_post_and_patch(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(&user.token, &json!({"title": "x", "colour": "red"}))
        .await;
    assert_eq!(response.invalid_fields(), ["colour"]);
    let id = string(&app.task(&user.token, "Known").await["id"]);
    let response = app
        .patch_task(&user.token, &id, &json!({"colour": "red"}))
        .await;
    assert_eq!(response.invalid_fields(), ["colour"]);
    let response = app.put_task(&user.token, &id, &json!({"done": true})).await;
    assert_eq!(response.invalid_fields(), ["done"]);
    // Nothing was created or changed by the rejected requests.
    let list = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["version"], 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_422_lists_every_invalid_field_at_once(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(
            &user.token,
            &json!({"title": "", "priority": "urgent", "tags": ["ok", "x".repeat(41)]}),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["priority", "tags[1]", "title"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_title_with_bidi_controls_or_zero_width_characters_is_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    for title in [
        "pay \u{202e}eciovni",
        "pay\u{200b}invoice",
        "\u{2066}pay\u{2069}",
    ] {
        let response = app.create_task(&user.token, &json!({"title": title})).await;
        assert_eq!(response.invalid_fields(), ["title"], "{title:?}");
        let id = string(&app.task(&user.token, "fine").await["id"]);
        let response = app
            .patch_task(&user.token, &id, &json!({"title": title}))
            .await;
        assert_eq!(response.invalid_fields(), ["title"], "{title:?}");
    }
    // Right-to-left text itself is fine.
    let response = app
        .create_task(
            &user.token,
            &json!({"title": "\u{5e9}\u{5dc}\u{5d5}\u{5dd}"}),
        )
        .await;
    response.assert_status(201);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_tags_list_over_twice_the_limit_is_one_small_422_naming_tags(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    // 10 000 distinct three-letter tags (about 60 KB), then 16 000 empty ones (about 48 KB):
    // each is refused whole, with one error, before any entry is parsed.
    let distinct: Vec<String> = (0..10_000)
        .map(|i| {
            let letter = |n: usize| char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
            format!("{}{}{}", letter(i / 676), letter(i / 26), letter(i))
        })
        .collect();
    let empty = vec![""; 16_000];
    for tags in [json!(distinct), json!(empty)] {
        let response = app
            .create_task(&user.token, &json!({"title": "t", "tags": tags}))
            .await;
        assert_eq!(response.invalid_fields(), ["tags"]);
        let body = response.text();
        assert!(body.len() < 1_000, "a small answer: {} bytes", body.len());
        assert!(body.contains("at most 40 entries"), "{body}");
    }
    // Exactly 40 entries are read, and fold.
    let response = app
        .create_task(&user.token, &json!({"title": "t", "tags": vec!["Dup"; 40]}))
        .await;
    assert_eq!(response.json_with_status(201)["tags"], json!(["dup"]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_422_lists_the_first_20_errors_and_counts_the_rest(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    // 40 empty tags: 40 errors, of which 20 are listed.
    let response = app
        .create_task(&user.token, &json!({"title": "t", "tags": vec![""; 40]}))
        .await;
    let listed: Vec<String> = (0..20).map(|i| format!("tags[{i}]")).collect();
    assert_eq!(response.invalid_fields(), listed);
    let body = response.json();
    assert_eq!(body["errors_not_listed"], 20);
    assert_eq!(
        body["detail"],
        "40 invalid fields; the first 20 are listed."
    );
    // Thousands of unknown fields: the answer stays small.
    let mut unknown = serde_json::Map::new();
    for i in 0..5_000 {
        unknown.insert(format!("f{i}"), json!(0));
    }
    unknown.insert("title".into(), json!("t"));
    let response = app.create_task(&user.token, &Value::Object(unknown)).await;
    assert_eq!(response.invalid_fields().len(), 20);
    assert_eq!(response.json()["errors_not_listed"], 4_980);
    assert!(
        response.text().len() < 4_000,
        "{} bytes",
        response.text().len()
    );
    // Up to 20 errors, nothing is left out and the count is absent.
    let response = app
        .create_task(&user.token, &json!({"title": "t", "tags": vec![""; 20]}))
        .await;
    assert_eq!(response.invalid_fields().len(), 20);
    assert!(response.json().get("errors_not_listed").is_none());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn wrong_types_are_422_naming_each_field(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(
            &user.token,
            &json!({"title": 5, "is_done": "yes", "due_at": "tomorrow", "tags": "a",
                    "description": "x".repeat(10_001)}),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["description", "due_at", "is_done", "tags", "title"]
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_title_too_long_or_too_many_tags_is_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let response = app
        .create_task(
            &user.token,
            &json!({"title": "é".repeat(201), "tags": tags}),
        )
        .await;
    let mut fields = response.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["tags", "title"]);
    // Limits count code points, and the tag cap applies after folding duplicates.
    let mut folded: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    folded.push("T0".into());
    app.create_task(
        &user.token,
        &json!({"title": "é".repeat(200), "tags": folded}),
    )
    .await
    .assert_status(201);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_body_that_is_not_an_object_is_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app.create_task(&user.token, &json!(["title"])).await;
    response.assert_problem(422);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_missing_title_on_create_is_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_task(&user.token, &json!({"description": "no title"}))
        .await;
    assert_eq!(response.invalid_fields(), ["title"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_null_title_on_patch_is_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = string(&app.task(&user.token, "Keep my title").await["id"]);
    let response = app
        .patch_task(&user.token, &id, &json!({"title": null}))
        .await;
    assert_eq!(response.invalid_fields(), ["title"]);
    let response = app
        .patch_task(&user.token, &id, &json!({"title": "   "}))
        .await;
    assert_eq!(response.invalid_fields(), ["title"]);
    let task = app.get_task(&user.token, &id).await.json_with_status(200);
    assert_eq!(task["title"], "Keep my title");
    assert_eq!(task["version"], 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn delete_answers_204_and_the_task_is_gone(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = string(&app.task(&user.token, "Delete me").await["id"]);
    let response = app.delete_task(&user.token, &id).await;
    response.assert_status(204);
    assert!(response.body.is_empty());
    app.get_task(&user.token, &id).await.assert_problem(404);
    app.delete_task(&user.token, &id).await.assert_problem(404);
    let list = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(list, json!([]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn put_patch_get_and_delete_of_a_missing_task_are_404(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = crate::support::random_id();
    app.get_task(&user.token, &id).await.assert_problem(404);
    app.put_task(&user.token, &id, &json!({"title": "x"}))
        .await
        .assert_problem(404);
    app.patch_task(&user.token, &id, &json!({"title": "x"}))
        .await
        .assert_problem(404);
    app.delete_task(&user.token, &id).await.assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn list_is_a_json_array_oldest_first(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let empty = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(empty, json!([]));
    let mut ids = Vec::new();
    for title in ["first", "second", "third", "fourth"] {
        ids.push(app.task(&user.token, title).await["id"].clone());
    }
    // Changing an older task does not move it.
    let first = string(&ids[0]);
    app.patch_task(&user.token, &first, &json!({"title": "first, changed"}))
        .await
        .assert_status(200);
    let list = app.list_tasks(&user.token).await.json_with_status(200);
    let listed: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(listed, ids);
    assert_eq!(list[0]["title"], "first, changed");
}
