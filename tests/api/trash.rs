//! The trash end to end: `GET /trash` (editors' and owners' lists only, newest deletion
//! first, pages with `Link`, `X-Changes-Cursor`), `POST /trash/{id}/restore` (at its place,
//! visible again, recorded as an upsert) and `DELETE /trash/{id}` (for good, recorded as a
//! delete), with every status: 401, 403 for viewers and scopes, 404 for strangers, unknown,
//! live and invalid ids, 409 in an archived list, 412 on `If-Match`, 422 on bad parameters;
//! and subtasks: trashed with their parent, back with it, or alone to the top level (last)
//! while their parent is still in the trash. Every placement case is also in the storage
//! suite (`trash.rs`).

use std::time::{Duration, Instant};

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, Client, TestApp, TestUser, random_id, string};

/// `GET /trash{query}` as `token`, expecting 200.
async fn trash(app: &Client, token: &str, query: &str) -> Value {
    app.call(Method::GET, &format!("/trash{query}"), Some(token))
        .await
        .json_with_status(200)
}

/// The ids of a page of the trash, in order.
fn ids(page: &Value) -> Vec<String> {
    page.as_array()
        .unwrap_or_else(|| panic!("not an array: {page}"))
        .iter()
        .map(|t| string(&t["id"]))
        .collect()
}

async fn restore(app: &Client, token: &str, id: &str) -> crate::support::Response {
    app.call(Method::POST, &format!("/trash/{id}/restore"), Some(token))
        .await
}

async fn purge(app: &Client, token: &str, id: &str) -> crate::support::Response {
    app.call(Method::DELETE, &format!("/trash/{id}"), Some(token))
        .await
}

/// A task titled `title` in `list`.
async fn task_in(app: &Client, token: &str, title: &str, list: &str) -> Value {
    app.create_task(token, &json!({"title": title, "list_id": list}))
        .await
        .json_with_status(201)
}

async fn delete(app: &Client, token: &str, id: &str) {
    app.delete_task(token, id).await.assert_status(204);
}

/// Whether `token`'s feed after `cursor` shows `op` of `id` made after `since` (if given),
/// waiting for it a while (the feed shows a commit once no earlier transaction is still in
/// flight, and may repeat changes from just before the cursor).
async fn feed_shows(
    app: &Client,
    token: &str,
    mut cursor: String,
    (op, id): (&str, &str),
    since: Option<&Value>,
) -> bool {
    let instant = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(&string(v)).unwrap_or_else(|e| panic!("{v}: {e}"))
    };
    let since = since.map(instant);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = app
            .call(
                Method::GET,
                &format!("/changes?cursor={cursor}&limit=1000"),
                Some(token),
            )
            .await
            .json_with_status(200);
        cursor = string(&page["next_cursor"]);
        let changes = page["changes"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"));
        if changes.iter().any(|c| {
            c["op"] == op && c["id"] == id && since.is_none_or(|since| instant(&c["at"]) > since)
        }) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The present of `token`'s change feed.
async fn present(app: &Client, token: &str) -> String {
    let page = app
        .call(Method::GET, "/changes", Some(token))
        .await
        .json_with_status(200);
    string(&page["next_cursor"])
}

/// A list of `owner`'s shared with `member` as `role`.
async fn shared_list(app: &TestApp, owner: &TestUser, member: &TestUser, role: &str) -> String {
    let list = crate::sharing::shared_list(app, owner).await;
    crate::sharing::join(app, owner, &list, member, role).await;
    list
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_deleted_task_is_listed_in_the_trash_and_restored_at_its_place(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let task = app
        .create_task(&alice.token, &json!({"title": "Top", "tags": ["home"]}))
        .await
        .json_with_status(201);
    let id = string(&task["id"]);
    let other = app.task(&alice.token, "Other").await;
    assert_eq!(trash(&app, &alice.token, "").await, json!([]));

    delete(&app, &alice.token, &id).await;
    let listed = app.call(Method::GET, "/trash", Some(&alice.token)).await;
    let page = listed.json_with_status(200);
    listed.require_header("x-changes-cursor");
    assert_eq!(ids(&page), [id.as_str()], "the deleted task, nothing else");
    let trashed = &page[0];
    assert_eq!(trashed["trashed_by"], alice.id.as_str());
    for field in [
        "title",
        "version",
        "position",
        "tags",
        "list_id",
        "parent_id",
    ] {
        assert_eq!(trashed[field], task[field], "{field}");
    }
    assert!(trashed["trashed_at"].is_string(), "{trashed}");

    let before = present(&app, &alice.token).await;
    let restored = restore(&app, &alice.token, &id).await;
    let body = restored.json_with_status(200);
    assert_eq!(body["version"], task["version"].as_i64().unwrap() + 1);
    assert_eq!(
        restored.require_header("etag"),
        format!("\"{}\"", body["version"])
    );
    assert_eq!(body["parent_id"], Value::Null);
    assert_eq!(body["position"], task["position"], "back at its own place");
    assert_eq!(body["tags"], json!(["home"]));
    assert!(body.get("trashed_at").is_none(), "{body}");
    assert_eq!(trash(&app, &alice.token, "").await, json!([]));
    // Visible again, and an upsert in the feed.
    assert_eq!(
        app.get_task(&alice.token, &id).await.json_with_status(200),
        body
    );
    let mut listed = ids(&app.list_tasks(&alice.token).await.json_with_status(200));
    listed.sort();
    let mut all = vec![id.clone(), string(&other["id"])];
    all.sort();
    assert_eq!(listed, all);
    assert!(feed_shows(&app, &alice.token, before, ("upsert", &id), None).await);
    // Live again, it is no longer in the trash: a second restore or a purge is 404.
    restore(&app, &alice.token, &id).await.assert_problem(404);
    purge(&app, &alice.token, &id).await.assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_purged_task_is_gone_for_good(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let task = app
        .create_task(&alice.token, &json!({"title": "Top", "tags": ["home"]}))
        .await
        .json_with_status(201);
    let id = string(&task["id"]);
    let kept = app.task(&alice.token, "Kept").await;
    let kept_id = string(&kept["id"]);
    delete(&app, &alice.token, &id).await;
    delete(&app, &alice.token, &kept_id).await;
    let trashed = trash(&app, &alice.token, "?limit=1").await;
    let trashed = trashed.as_array().unwrap();
    assert_eq!(trashed[0]["id"], kept_id.as_str(), "newest deletion first");

    let before = present(&app, &alice.token).await;
    purge(&app, &alice.token, &id).await.assert_status(204);
    assert_eq!(
        ids(&trash(&app, &alice.token, "").await),
        [kept_id.as_str()]
    );
    restore(&app, &alice.token, &id).await.assert_problem(404);
    purge(&app, &alice.token, &id).await.assert_problem(404);
    app.get_task(&alice.token, &id).await.assert_problem(404);
    assert!(
        feed_shows(
            &app,
            &alice.token,
            before,
            ("delete", &id),
            Some(&trashed[0]["trashed_at"])
        )
        .await
    );
    // The other trashed task is untouched and still restorable.
    restore(&app, &alice.token, &kept_id)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_trash_is_for_editors_and_owners_and_a_strangers_is_404(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let viewer = app.signed_up("viewer@example.com").await;
    let stranger = app.signed_up("stranger@example.com").await;
    let list = shared_list(&app, &alice, &editor, "editor").await;
    let invitation = app
        .call_json(
            Method::POST,
            &format!("/lists/{list}/invitations"),
            Some(&alice.token),
            &json!({"email": viewer.email, "role": "viewer"}),
        )
        .await
        .json_with_status(201);
    app.call(
        Method::POST,
        &format!("/me/invitations/{}/accept", string(&invitation["id"])),
        Some(&viewer.token),
    )
    .await
    .assert_status(200);
    let shared = task_in(&app, &alice.token, "Shared", &list).await;
    let shared_id = string(&shared["id"]);
    let private = app.task(&alice.token, "Private").await;
    let private_id = string(&private["id"]);
    let strangers = app.task(&stranger.token, "Theirs").await;
    let strangers_id = string(&strangers["id"]);
    delete(&app, &alice.token, &shared_id).await;
    delete(&app, &alice.token, &private_id).await;
    delete(&app, &stranger.token, &strangers_id).await;

    // The owner sees both of their lists' trash; the editor the shared list's only; the
    // viewer and the stranger none of it.
    let mut owners = ids(&trash(&app, &alice.token, "").await);
    owners.sort();
    let mut both = vec![shared_id.clone(), private_id.clone()];
    both.sort();
    assert_eq!(owners, both);
    assert_eq!(
        ids(&trash(&app, &editor.token, "").await),
        [shared_id.as_str()]
    );
    assert_eq!(
        ids(&trash(&app, &alice.token, &format!("?list_id={list}")).await),
        [shared_id.as_str()]
    );
    assert_eq!(trash(&app, &viewer.token, "").await, json!([]));
    assert_eq!(
        trash(&app, &viewer.token, &format!("?list_id={list}")).await,
        json!([])
    );
    assert_eq!(
        ids(&trash(&app, &stranger.token, "").await),
        [strangers_id.as_str()]
    );
    assert_eq!(
        trash(&app, &stranger.token, &format!("?list_id={list}")).await,
        json!([])
    );

    // Viewers are told they may not; strangers that there is nothing.
    restore(&app, &viewer.token, &shared_id)
        .await
        .assert_problem(403);
    purge(&app, &viewer.token, &shared_id)
        .await
        .assert_problem(403);
    for id in [&shared_id, &private_id] {
        restore(&app, &stranger.token, id).await.assert_problem(404);
        purge(&app, &stranger.token, id).await.assert_problem(404);
    }
    restore(&app, &alice.token, &strangers_id)
        .await
        .assert_problem(404);
    purge(&app, &alice.token, &strangers_id)
        .await
        .assert_problem(404);
    // Unknown, invalid and live ids are 404 too.
    let live = app.task(&alice.token, "Live").await;
    for id in [random_id(), "not-a-uuid".to_owned(), string(&live["id"])] {
        restore(&app, &alice.token, &id).await.assert_problem(404);
        purge(&app, &alice.token, &id).await.assert_problem(404);
    }
    app.get_task(&alice.token, &string(&live["id"]))
        .await
        .assert_status(200);
    // The stranger's trash is still theirs, untouched.
    assert_eq!(ids(&trash(&app, &stranger.token, "").await), [strangers_id]);

    // The editor restores; an archived list refuses both writes.
    let again = task_in(&app, &alice.token, "Again", &list).await;
    let again_id = string(&again["id"]);
    delete(&app, &alice.token, &again_id).await;
    restore(&app, &editor.token, &shared_id)
        .await
        .assert_status(200);
    app.call_json(
        Method::PATCH,
        &format!("/lists/{list}"),
        Some(&alice.token),
        &json!({"archived": true}),
    )
    .await
    .assert_status(200);
    restore(&app, &alice.token, &again_id)
        .await
        .assert_problem(409);
    purge(&app, &alice.token, &again_id)
        .await
        .assert_problem(409);
    // A viewer learns first that they may not.
    restore(&app, &viewer.token, &again_id)
        .await
        .assert_problem(403);
    // An archived list's trash is listed only when named.
    assert_eq!(ids(&trash(&app, &alice.token, "").await), [private_id]);
    assert_eq!(
        ids(&trash(&app, &alice.token, &format!("?list_id={list}")).await),
        [again_id]
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn trash_routes_need_credentials_scopes_and_valid_parameters(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let task = app.task(&alice.token, "Task").await;
    let id = string(&task["id"]);
    delete(&app, &alice.token, &id).await;
    for (method, path) in [
        (Method::GET, "/trash".to_owned()),
        (Method::POST, format!("/trash/{id}/restore")),
        (Method::DELETE, format!("/trash/{id}")),
    ] {
        app.call(method.clone(), &path, None)
            .await
            .assert_unauthorized();
        app.call(method, &path, Some("not-a-token"))
            .await
            .assert_unauthorized();
    }
    app.call(Method::PUT, "/trash", Some(&alice.token))
        .await
        .assert_problem(405);
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=x", "limit"),
        ("?list_id=nope", "list_id"),
        ("?cursor=zz", "cursor"),
        ("?sort=title", "sort"),
        ("?q=milk", "q"),
    ] {
        let response = app
            .call(Method::GET, &format!("/trash{query}"), Some(&alice.token))
            .await;
        response.assert_problem(422);
        assert_eq!(response.invalid_fields(), [field], "{query}");
    }
    // A cursor of another listing is not one of the trash's.
    app.task(&alice.token, "One").await;
    app.task(&alice.token, "Two").await;
    let page = app
        .call(Method::GET, "/tasks?limit=1", Some(&alice.token))
        .await;
    let link = page.next_link().unwrap();
    let cursor = link.split("cursor=").nth(1).unwrap().to_owned();
    let response = app
        .call(
            Method::GET,
            &format!("/trash?cursor={cursor}"),
            Some(&alice.token),
        )
        .await;
    response.assert_problem(422);
    assert_eq!(response.invalid_fields(), ["cursor"]);

    // API tokens: reading the trash takes tasks:read, restoring and purging tasks:write.
    let reader = string(&app.api_token(&alice, &["tasks:read"]).await["token"]);
    let writer = string(&app.api_token(&alice, &["tasks:write"]).await["token"]);
    assert_eq!(ids(&trash(&app, &reader, "").await), [id.as_str()]);
    app.call(Method::GET, "/trash", Some(&writer))
        .await
        .assert_problem(403);
    restore(&app, &reader, &id).await.assert_problem(403);
    purge(&app, &reader, &id).await.assert_problem(403);
    restore(&app, &writer, &id).await.assert_status(200);
    delete(&app, &alice.token, &id).await;
    purge(&app, &writer, &id).await.assert_status(204);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn restore_and_purge_honour_if_match(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let task = app.task(&alice.token, "Task").await;
    let id = string(&task["id"]);
    app.patch_task(&alice.token, &id, &json!({"is_done": true}))
        .await
        .assert_status(200);
    delete(&app, &alice.token, &id).await;
    let stale = [("If-Match", "\"1\"")];
    for (method, path) in [
        (Method::POST, format!("/trash/{id}/restore")),
        (Method::DELETE, format!("/trash/{id}")),
    ] {
        app.call_with_headers(method, &path, Some(&alice.token), &stale)
            .await
            .assert_problem(412);
    }
    let restored = app
        .call_with_headers(
            Method::POST,
            &format!("/trash/{id}/restore"),
            Some(&alice.token),
            &[("If-Match", "\"2\"")],
        )
        .await
        .json_with_status(200);
    assert_eq!(restored["version"], 3);
    delete(&app, &alice.token, &id).await;
    app.call_with_headers(
        Method::DELETE,
        &format!("/trash/{id}"),
        Some(&alice.token),
        &[("If-Match", "\"3\"")],
    )
    .await
    .assert_status(204);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_trash_pages_newest_deletion_first_with_next_links(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let mut deleted = Vec::new();
    for n in 0..5 {
        let task = app.task(&alice.token, &format!("Task {n}")).await;
        let id = string(&task["id"]);
        delete(&app, &alice.token, &id).await;
        deleted.push(id);
    }
    deleted.reverse();
    let mut seen = Vec::new();
    let mut path = "/trash?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.call(Method::GET, &path, Some(&alice.token)).await;
        let page = response.json_with_status(200);
        assert!(page.as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match response.next_link() {
            Some(next) => {
                assert!(next.starts_with("/trash?limit=2&cursor="), "{next}");
                path = next;
            }
            None => break,
        }
        assert!(pages < 10, "the pages never end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, deleted, "newest deletion first, each once");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn subtasks_go_to_the_trash_with_their_parent_and_come_back_with_it(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let create = |body: Value| {
        let app = &app;
        let token = alice.token.clone();
        async move { app.create_task(&token, &body).await.json_with_status(201) }
    };
    let parent = create(json!({"title": "parent"})).await;
    let pid = string(&parent["id"]);
    let child = create(json!({"title": "child", "parent_id": pid})).await;
    let cid = string(&child["id"]);
    let grandchild = create(json!({"title": "grandchild", "parent_id": cid})).await;
    let gid = string(&grandchild["id"]);
    let other = create(json!({"title": "other"})).await;
    delete(&app, &alice.token, &pid).await;
    // The whole subtree is in the trash, each with its parent_id; none is a task any more.
    let mut listed = ids(&trash(&app, &alice.token, "").await);
    listed.sort();
    let mut want = vec![pid.clone(), cid.clone(), gid.clone()];
    want.sort();
    assert_eq!(listed, want);
    for id in [&pid, &cid, &gid] {
        app.get_task(&alice.token, id).await.assert_problem(404);
    }
    // The child alone comes back at the top level, last (its parent is still in the
    // trash), with its own subtask.
    let back = restore(&app, &alice.token, &cid)
        .await
        .json_with_status(200);
    assert_eq!(back["parent_id"], Value::Null);
    let top = app
        .call(
            Method::GET,
            &format!(
                "/tasks?list_id={}&parent_id=none&sort=position",
                string(&other["list_id"])
            ),
            Some(&alice.token),
        )
        .await
        .json_with_status(200);
    let titles: Vec<String> = top
        .as_array()
        .unwrap_or_else(|| panic!("{top}"))
        .iter()
        .map(|t| string(&t["title"]))
        .collect();
    assert_eq!(titles, vec!["other", "child"]);
    let g = app.get_task(&alice.token, &gid).await.json_with_status(200);
    assert_eq!(string(&g["parent_id"]), cid);
    // The parent comes back alone: its child was restored before.
    let parent_back = restore(&app, &alice.token, &pid)
        .await
        .json_with_status(200);
    assert_eq!(parent_back["parent_id"], Value::Null);
    assert_eq!(
        ids(&trash(&app, &alice.token, "").await),
        Vec::<String>::new()
    );
    // Trashed with its parent and restored with it: under it again.
    move_under(&app, &alice.token, &cid, &pid).await;
    delete(&app, &alice.token, &pid).await;
    restore(&app, &alice.token, &pid).await.assert_status(200);
    let c = app.get_task(&alice.token, &cid).await.json_with_status(200);
    assert_eq!(string(&c["parent_id"]), pid);
}

async fn move_under(app: &Client, token: &str, id: &str, parent: &str) {
    app.call_json(
        Method::POST,
        &format!("/tasks/{id}/move"),
        Some(token),
        &json!({"parent_id": parent}),
    )
    .await
    .assert_status(200);
}
