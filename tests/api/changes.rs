//! `GET /changes`: the caller's changes after a cursor, collapsed per entity with its state
//! now, paged with `has_more`, refused with 410 once older than `sync.retention`; and
//! `X-Changes-Cursor` on `GET /tasks`, from which following the changes misses nothing.
//! (The changes of lists and of their memberships are in `list_changes`.)
//!
//! On PostgreSQL a change shows once no transaction older than its own is still running on
//! the server (other tests' included), so the tests read again until what they wait for is
//! there, within a deadline; what they assert on is the feed once it is.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use actix_web::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, Client, TestApp, string};

/// Longest wait for the feed to show what a test wrote.
const DEADLINE: Duration = Duration::from_secs(60);

pub(crate) async fn changes(app: &Client, token: &str, query: &str) -> Value {
    app.call(Method::GET, &format!("/changes{query}"), Some(token))
        .await
        .json_with_status(200)
}

/// The present, as `GET /changes` without a cursor gives it (an empty page).
pub(crate) async fn present(app: &Client, token: &str) -> String {
    let page = changes(app, token, "").await;
    assert_eq!(page["changes"], json!([]), "{page}");
    assert_eq!(page["has_more"], json!(false), "{page}");
    string(&page["next_cursor"])
}

/// Every page from `cursor` on, `limit` at a time, until a page that has no more makes
/// `done` true of the changes read so far; returns the pages.
pub(crate) async fn follow(
    app: &Client,
    token: &str,
    mut cursor: String,
    limit: u32,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    let mut pages = Vec::new();
    let mut all = Vec::new();
    loop {
        let page = changes(app, token, &format!("?cursor={cursor}&limit={limit}")).await;
        cursor = string(&page["next_cursor"]);
        let has_more = page["has_more"] == json!(true);
        all.extend(page["changes"].as_array().cloned().unwrap_or_default());
        pages.push(page);
        if !has_more {
            if done(&all) {
                return pages;
            }
            assert!(
                Instant::now() < deadline,
                "the feed never showed it: {all:#?}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub(crate) fn all_changes(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["changes"].as_array().cloned().unwrap_or_default())
        .collect()
}

pub(crate) fn has(changes: &[Value], id: &str, op: &str) -> bool {
    changes
        .iter()
        .any(|c| c["id"] == json!(id) && c["op"] == json!(op))
}

/// The changes of `entity` (`task` or `list`) among `changes`. On PostgreSQL a present can
/// come before changes already committed (a change already read may come again), such as
/// the registration's upsert of the account's inbox: tests of the task feed look at its
/// task changes.
pub(crate) fn of(entity: &str, changes: &[Value]) -> Vec<Value> {
    changes
        .iter()
        .filter(|c| c["entity"] == json!(entity))
        .cloned()
        .collect()
}

/// A client's copy of its tasks, kept by applying the task changes in order.
fn apply(copy: &mut BTreeMap<String, Value>, changes: &[Value]) {
    apply_of("task", copy, changes);
}

/// A client's copy of its entities of one kind, kept by applying their changes in order.
pub(crate) fn apply_of(entity: &str, copy: &mut BTreeMap<String, Value>, changes: &[Value]) {
    for change in &of(entity, changes) {
        let id = string(&change["id"]);
        match change["op"].as_str() {
            Some("upsert") => {
                copy.insert(id, change["data"].clone());
            }
            Some("delete") => {
                copy.remove(&id);
            }
            other => panic!("unknown op {other:?}: {change}"),
        }
    }
}

async fn listed(app: &Client, token: &str) -> (BTreeMap<String, Value>, String) {
    let response = app.list_tasks(token).await;
    let cursor = response.require_header("x-changes-cursor").to_owned();
    let tasks = response.json_with_status(200);
    let copy = tasks
        .as_array()
        .unwrap_or_else(|| panic!("{tasks}"))
        .iter()
        .map(|t| (string(&t["id"]), t.clone()))
        .collect();
    (copy, cursor)
}

/// Without a cursor the page is empty and `next_cursor` is the present; from it come the
/// caller's creates, updates and deletes, each entity once at its latest change, with the
/// task as it is now (null for a delete).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn changes_since_the_present_collapse_into_each_tasks_latest_state(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let start = present(&app, &alice.token).await;
    let kept = app.task(&alice.token, "Kept").await;
    let gone = app.task(&alice.token, "Gone").await;
    let (kept_id, gone_id) = (string(&kept["id"]), string(&gone["id"]));
    app.patch_task(&alice.token, &kept_id, &json!({"is_done": true}))
        .await
        .assert_status(200);
    app.delete_task(&alice.token, &gone_id)
        .await
        .assert_status(204);

    // Once every change is in, one page holds them all, collapsed.
    follow(&app, &alice.token, start.clone(), 100, |all| {
        has(all, &gone_id, "delete")
    })
    .await;
    let page = changes(&app, &alice.token, &format!("?cursor={start}")).await;
    let listed = of(
        "task",
        page["changes"].as_array().map_or(&[][..], Vec::as_slice),
    );
    assert_eq!(listed.len(), 2, "{page:#}");
    let (first, second) = (&listed[0], &listed[1]);
    assert_eq!(
        (&first["id"], &first["op"], &first["entity"]),
        (&json!(kept_id), &json!("upsert"), &json!("task"))
    );
    assert_eq!(first["data"]["version"], json!(2));
    assert_eq!(first["data"]["is_done"], json!(true));
    assert_eq!(
        first["list_id"], kept["list_id"],
        "the task's list: the inbox"
    );
    assert!(first["at"].is_string() && first["cursor"].is_string());
    assert_eq!(
        (&second["id"], &second["op"], &second["data"]),
        (&json!(gone_id), &json!("delete"), &Value::Null)
    );
    assert_eq!(page["has_more"], json!(false));
    // Nothing after the last one.
    let after = changes(
        &app,
        &alice.token,
        &format!("?cursor={}", string(&page["next_cursor"])),
    )
    .await;
    assert_eq!(after["changes"], json!([]), "{after}");
    // Resuming from a change's own cursor gives what follows it.
    let rest = changes(
        &app,
        &alice.token,
        &format!("?cursor={}", string(&first["cursor"])),
    )
    .await;
    let rest = of(
        "task",
        rest["changes"].as_array().map_or(&[][..], Vec::as_slice),
    );
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0]["id"], json!(gone_id));
}

/// A page holds at most `limit` changes; `has_more` says more follow, and going on from
/// `next_cursor` gives each change once, in the order made.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn pages_of_changes_follow_one_another_with_has_more(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let start = present(&app, &alice.token).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(string(
            &app.task(&alice.token, &format!("Task {n}")).await["id"],
        ));
    }
    let last = made[4].clone();
    let pages = follow(&app, &alice.token, start, 2, |all| {
        has(all, &last, "upsert")
    })
    .await;
    for page in &pages {
        let n = page["changes"].as_array().map_or(0, Vec::len);
        assert!(n <= 2, "{page}");
        if page["has_more"] == json!(true) {
            assert_eq!(n, 2, "a page with more after it is full: {page}");
        }
    }
    assert!(
        pages.iter().any(|p| p["has_more"] == json!(true)),
        "{pages:#?}"
    );
    let ids: Vec<String> = of("task", &all_changes(&pages))
        .iter()
        .map(|c| string(&c["id"]))
        .collect();
    assert_eq!(ids, made);
}

/// Another user's changes never appear, and a user's feed holds its own tasks only.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn another_users_changes_never_appear(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let start = present(&app, &bob.token).await;
    let alices = string(&app.task(&alice.token, "Alice's").await["id"]);
    app.patch_task(&alice.token, &alices, &json!({"title": "Still Alice's"}))
        .await
        .assert_status(200);
    let bobs = string(&app.task(&bob.token, "Bob's").await["id"]);
    let pages = follow(&app, &bob.token, start, 100, |all| {
        has(all, &bobs, "upsert")
    })
    .await;
    let seen = all_changes(&pages);
    // Bob's task, and perhaps (on PostgreSQL) his inbox's registration.
    assert!(
        seen.iter()
            .all(|c| c["id"] == json!(bobs) || c["id"] == json!(bob.id)),
        "{seen:#?}"
    );
}

/// A malformed cursor or limit, or an unknown parameter, is 422 naming it; without a token
/// 401; another method 405.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn bad_parameters_are_422_naming_them(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    for (query, field) in [
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=", "cursor"),
        ("?cursor=AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D%3D", "cursor"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?since=1", "since"),
    ] {
        let response = app
            .call(Method::GET, &format!("/changes{query}"), Some(&alice.token))
            .await;
        response.assert_problem(422);
        assert_eq!(response.invalid_fields(), vec![field.to_owned()], "{query}");
    }
    changes(&app, &alice.token, "?limit=1000").await;
    changes(&app, &alice.token, "?limit=1").await;
    app.call(Method::GET, "/changes", None)
        .await
        .assert_unauthorized();
    app.call(Method::POST, "/changes", Some(&alice.token))
        .await
        .assert_problem(405);
}

/// A cursor older than `sync.retention` is 410 Gone: read everything again.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_cursor_older_than_the_retention_is_gone(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__SYNC__RETENTION", "1s")]).await;
    let alice = app.signed_up("alice@example.com").await;
    let old = present(&app, &alice.token).await;
    let (_, listed_cursor) = listed(&app, &alice.token).await;
    actix_web::rt::time::sleep(Duration::from_millis(1_500)).await;
    for cursor in [old, listed_cursor] {
        let response = app
            .call(
                Method::GET,
                &format!("/changes?cursor={cursor}"),
                Some(&alice.token),
            )
            .await;
        let problem = response.assert_problem(410);
        assert!(
            string(&problem["detail"]).contains("read everything again"),
            "{problem}"
        );
    }
    // A fresh one is fine.
    let fresh = present(&app, &alice.token).await;
    changes(&app, &alice.token, &format!("?cursor={fresh}")).await;
}

/// "Read everything, then follow the changes": `GET /tasks` carries `X-Changes-Cursor`, and
/// a copy made of its page plus every change from that cursor equals the tasks as they are.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_full_read_then_the_changes_from_its_cursor_miss_nothing(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let before = string(&app.task(&alice.token, "Before").await["id"]);
    let doomed = string(&app.task(&alice.token, "Doomed").await["id"]);
    let (mut copy, cursor) = listed(&app, &alice.token).await;
    assert_eq!(copy.len(), 2);
    app.patch_task(&alice.token, &before, &json!({"priority": "high"}))
        .await
        .assert_status(200);
    app.delete_task(&alice.token, &doomed)
        .await
        .assert_status(204);
    let after = string(&app.task(&alice.token, "After").await["id"]);
    let pages = follow(&app, &alice.token, cursor, 100, |all| {
        has(all, &after, "upsert")
    })
    .await;
    apply(&mut copy, &all_changes(&pages));
    let (now, _) = listed(&app, &alice.token).await;
    assert_eq!(copy, now);
    assert_eq!(copy[&before]["priority"], json!("high"));
}

/// Reads the page after `cursor` (with `extra` query parameters) and moves `cursor` on;
/// fails on a change whose cursor came before (in `seen`), and applies the page to `copy`.
async fn read_on(
    app: &Client,
    token: &str,
    cursor: &mut String,
    extra: &str,
    seen: &mut BTreeSet<String>,
    copy: &mut BTreeMap<String, Value>,
) -> Value {
    let page = changes(app, token, &format!("?cursor={cursor}{extra}")).await;
    *cursor = string(&page["next_cursor"]);
    let batch = page["changes"].as_array().cloned().unwrap_or_default();
    for change in &batch {
        assert!(
            seen.insert(string(&change["cursor"])),
            "came twice: {change}"
        );
    }
    apply(copy, &batch);
    page
}

/// Writers on two instances of one database, while a reader follows the feed through one
/// of them a few changes at a time: the reader's copy ends equal to the tasks as they are,
/// no change comes twice, and every task shows at its last version.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_reader_misses_nothing_of_concurrent_writers_on_two_instances(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    const WRITERS: usize = 6;
    const PATCHES: usize = 3;
    let one = TestApp::spawn().await;
    let two = one.spawn_sibling(&[]).await;
    let alice = one.signed_up("alice@example.com").await;
    let (mut copy, mut cursor) = listed(&two, &alice.token).await;
    assert!(copy.is_empty());

    let writers = (0..WRITERS).map(|w| {
        let instance = if w % 2 == 0 { &one.client } else { &two.client };
        let token = alice.token.clone();
        async move {
            let id = string(&instance.task(&token, &format!("Task {w}")).await["id"]);
            for p in 0..PATCHES {
                instance
                    .patch_task(&token, &id, &json!({"title": format!("Task {w} v{p}")}))
                    .await
                    .assert_status(200);
            }
            id
        }
    });
    let mut seen_cursors = BTreeSet::new();
    let deadline = Instant::now() + DEADLINE;
    let reader = async {
        loop {
            let page = read_on(
                &two,
                &alice.token,
                &mut cursor,
                "&limit=3",
                &mut seen_cursors,
                &mut copy,
            )
            .await;
            let complete = copy.len() == WRITERS
                && copy
                    .values()
                    .all(|t| t["version"] == json!(1 + PATCHES as i64));
            if complete && page["has_more"] == json!(false) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the feed never completed: {copy:#?}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (ids, ()) = futures_util::join!(futures_util::future::join_all(writers), reader);
    assert_eq!(ids.len(), WRITERS);
    // A change's `data` is its entity as it is now, so the copy can be complete while the
    // rows of the last changes are not final yet (on PostgreSQL, while an older transaction
    // of another test runs): they come later, each once, and change nothing in the copy.
    loop {
        let page = read_on(
            &one,
            &alice.token,
            &mut cursor,
            "",
            &mut seen_cursors,
            &mut copy,
        )
        .await;
        if page["changes"] == json!([]) && page["has_more"] == json!(false) {
            break;
        }
        assert!(Instant::now() < deadline, "the feed never caught up");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let (now, _) = listed(&one, &alice.token).await;
    assert_eq!(copy, now);
}

/// Every member of a shared list follows the changes of its tasks, whoever made them, with
/// the list they are in; someone outside the list never sees them; and a member removed
/// from the list gets none of its later changes.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn members_of_a_shared_list_follow_its_tasks_changes_and_no_one_else_does(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let friend = app.signed_up("friend@example.com").await;
    let stranger = app.signed_up("stranger@example.com").await;
    let list = app
        .call_json(
            Method::POST,
            "/lists",
            Some(&owner.token),
            &json!({"name": "Home"}),
        )
        .await
        .json_with_status(201);
    let list_id = string(&list["id"]);
    let invitation = app
        .call_json(
            Method::POST,
            &format!("/lists/{list_id}/invitations"),
            Some(&owner.token),
            &json!({"email": "friend@example.com", "role": "editor"}),
        )
        .await
        .json_with_status(201);
    app.call(
        Method::POST,
        &format!("/me/invitations/{}/accept", string(&invitation["id"])),
        Some(&friend.token),
    )
    .await
    .assert_status(200);
    let (from_owner, from_friend, from_stranger) = (
        present(&app, &owner.token).await,
        present(&app, &friend.token).await,
        present(&app, &stranger.token).await,
    );
    // The friend writes a task into the shared list; the owner renames it.
    let task = app
        .call_json(
            Method::POST,
            "/tasks",
            Some(&friend.token),
            &json!({"title": "Water the plants", "list_id": list_id}),
        )
        .await
        .json_with_status(201);
    let task_id = string(&task["id"]);
    app.patch_task(&owner.token, &task_id, &json!({"title": "Water the ferns"}))
        .await
        .assert_status(200);
    for (who, start) in [(&owner, &from_owner), (&friend, &from_friend)] {
        let seen = all_changes(
            &follow(&app, &who.token, start.clone(), 100, |all| {
                all.iter().any(|c| {
                    c["id"] == json!(task_id) && c["data"]["title"] == json!("Water the ferns")
                })
            })
            .await,
        );
        let change = seen
            .iter()
            .rev()
            .find(|c| c["id"] == json!(task_id))
            .unwrap_or_else(|| panic!("no change of the task: {seen:?}"));
        assert_eq!(change["list_id"], json!(list_id));
        assert_eq!(change["op"], json!("upsert"));
    }
    let outside = changes(&app, &stranger.token, &format!("?cursor={from_stranger}")).await;
    // Nothing but perhaps (on PostgreSQL) the stranger's own inbox at registration.
    assert!(
        outside["changes"]
            .as_array()
            .is_some_and(|all| all.iter().all(|c| c["id"] == json!(stranger.id))),
        "{outside}"
    );

    // Removed, the friend gets none of the list's later changes.
    app.call(
        Method::DELETE,
        &format!("/lists/{list_id}/members/{}", friend.id),
        Some(&owner.token),
    )
    .await
    .assert_status(204);
    let after_removal = present(&app, &friend.token).await;
    app.patch_task(
        &owner.token,
        &task_id,
        &json!({"title": "Water everything"}),
    )
    .await
    .assert_status(200);
    follow(&app, &owner.token, from_owner.clone(), 100, |all| {
        all.iter()
            .any(|c| c["data"]["title"] == json!("Water everything"))
    })
    .await;
    let later = changes(&app, &friend.token, &format!("?cursor={after_removal}")).await;
    // Nothing of the list's tasks; at most (on PostgreSQL, where a present can come before
    // changes already committed) the removal again, as the loss of the list.
    assert!(
        later["changes"].as_array().is_some_and(|all| all
            .iter()
            .all(|c| c["entity"] == json!("list") && c["op"] == json!("delete"))),
        "{later}"
    );
}
