//! List changes in `GET /changes`: a list created, renamed, archived or deleted; a member
//! joining, changing role, leaving or removed; an account's deletion handing its lists
//! over; each with the list as the reader sees it now (their `role`, its `member_count`),
//! and a loss as one `delete` after which nothing of the list comes. And `X-Changes-Cursor`
//! on `GET /lists`, from which following the changes misses nothing.
//!
//! On PostgreSQL a change shows once no transaction older than its own is still running on
//! the server (other tests' included), and a present can come before changes already
//! committed; the tests read again until what they wait for is there, and look at the
//! changes of the lists they are about.

use std::collections::BTreeMap;

use actix_web::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::changes::{all_changes, apply_of, follow, present};
use crate::support::{Backend, Client, TestApp, TestUser, string};

/// Follows `token`'s feed from `cursor` until the latest change of list `id` makes `done`
/// true; the changes of that list read, and where to go on from.
async fn follow_list(
    app: &Client,
    token: &str,
    cursor: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> (Vec<Value>, String) {
    let of_list = |all: &[Value]| -> Vec<Value> {
        all.iter()
            .filter(|c| c["entity"] == json!("list") && c["id"] == json!(id))
            .cloned()
            .collect()
    };
    let pages = follow(app, token, cursor.to_owned(), 100, |all| {
        of_list(all).last().is_some_and(&done)
    })
    .await;
    let next = pages
        .last()
        .map(|p| string(&p["next_cursor"]))
        .unwrap_or_default();
    (of_list(&all_changes(&pages)), next)
}

/// The latest change of list `id` from `cursor` on, once `done` holds for it, and where to
/// go on from.
async fn latest(
    app: &Client,
    token: &str,
    cursor: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> (Value, String) {
    let (changes, next) = follow_list(app, token, cursor, id, done).await;
    let last = changes.last().cloned().unwrap_or(Value::Null);
    (last, next)
}

async fn new_list(app: &Client, token: &str, name: &str) -> Value {
    app.call_json(Method::POST, "/lists", Some(token), &json!({"name": name}))
        .await
        .json_with_status(201)
}

async fn patch_list(app: &Client, token: &str, id: &str, body: &Value) -> Value {
    app.call_json(Method::PATCH, &format!("/lists/{id}"), Some(token), body)
        .await
        .json_with_status(200)
}

async fn get_list(app: &Client, token: &str, id: &str) -> Value {
    app.call(Method::GET, &format!("/lists/{id}"), Some(token))
        .await
        .json_with_status(200)
}

/// Invites `who` to list `id` with `role`, and has them accept.
async fn join(app: &Client, owner: &TestUser, who: &TestUser, id: &str, role: &str) {
    let invitation = app
        .call_json(
            Method::POST,
            &format!("/lists/{id}/invitations"),
            Some(&owner.token),
            &json!({"email": who.email, "role": role}),
        )
        .await
        .json_with_status(201);
    app.call(
        Method::POST,
        &format!("/me/invitations/{}/accept", string(&invitation["id"])),
        Some(&who.token),
    )
    .await
    .assert_status(200);
}

fn upsert_named(name: &'static str) -> impl Fn(&Value) -> bool {
    move |c| c["op"] == json!("upsert") && c["data"]["name"] == json!(name)
}

fn is_delete(c: &Value) -> bool {
    c["op"] == json!("delete")
}

/// Creating, renaming, archiving, unarchiving and deleting a list each come as a change of
/// the list, with its own id as `list_id` and the list as `GET /lists/{id}` shows it (null
/// for the delete).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_lists_own_changes_come_with_the_list_as_it_is_now(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let start = present(&app, &alice.token).await;
    let id = string(&new_list(&app, &alice.token, "Home").await["id"]);
    let (created, cursor) = latest(&app, &alice.token, &start, &id, upsert_named("Home")).await;
    assert_eq!(
        (&created["entity"], &created["list_id"]),
        (&json!("list"), &json!(id))
    );
    assert_eq!(created["data"], get_list(&app, &alice.token, &id).await);
    assert_eq!(
        (&created["data"]["role"], &created["data"]["member_count"]),
        (&json!("owner"), &json!(1))
    );

    patch_list(&app, &alice.token, &id, &json!({"name": "House"})).await;
    let (renamed, cursor) = latest(&app, &alice.token, &cursor, &id, upsert_named("House")).await;
    assert_eq!(renamed["data"]["version"], json!(2));

    let archived = patch_list(&app, &alice.token, &id, &json!({"archived": true})).await;
    let (change, cursor) = latest(&app, &alice.token, &cursor, &id, |c| {
        c["data"]["archived"] == json!(true)
    })
    .await;
    assert_eq!(change["data"], archived);
    patch_list(&app, &alice.token, &id, &json!({"archived": false})).await;
    let (change, cursor) = latest(&app, &alice.token, &cursor, &id, |c| {
        c["data"]["archived"] == json!(false)
    })
    .await;
    assert_eq!(change["data"]["version"], json!(4));

    // A patch that changes nothing records nothing.
    patch_list(&app, &alice.token, &id, &json!({"name": "House"})).await;
    app.call(Method::DELETE, &format!("/lists/{id}"), Some(&alice.token))
        .await
        .assert_status(204);
    let (changes, _) = follow_list(&app, &alice.token, &cursor, &id, is_delete).await;
    // Only the delete (on PostgreSQL perhaps the unarchiving again before it, as a cursor
    // that is the present may give a change already read once more).
    assert!(
        changes
            .iter()
            .all(|c| is_delete(c) || c["data"]["version"] == json!(4)),
        "{changes:#?}"
    );
    let deleted = changes.last().cloned().unwrap_or_default();
    assert_eq!(
        (&deleted["list_id"], &deleted["data"]),
        (&json!(id), &Value::Null)
    );
}

/// A member who accepts an invitation gains the list (an upsert with their role), and the
/// others see its member count grow; a role change reaches every member; a member removed
/// gets one delete of the list and nothing of it or its tasks after, while the others see
/// the count fall; one who leaves likewise. The tasks of a list gained are read with
/// `GET /tasks?list_id=`, not sent as changes.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn members_gain_and_lose_lists_through_the_feed(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let friend = app.signed_up("friend@example.com").await;
    let id = string(&new_list(&app, &owner.token, "Home").await["id"]);
    let task = app
        .create_task(&owner.token, &json!({"title": "Sweep", "list_id": id}))
        .await
        .json_with_status(201);
    let task_id = string(&task["id"]);
    let (from_owner, from_friend) = (
        present(&app, &owner.token).await,
        present(&app, &friend.token).await,
    );

    // Joining.
    join(&app, &owner, &friend, &id, "editor").await;
    let (gained, friend_cursor) = latest(&app, &friend.token, &from_friend, &id, |c| {
        c["op"] == json!("upsert")
    })
    .await;
    assert_eq!(
        (&gained["data"]["role"], &gained["data"]["member_count"]),
        (&json!("editor"), &json!(2))
    );
    assert_eq!(gained["data"], get_list(&app, &friend.token, &id).await);
    let (seen, owner_cursor) = latest(&app, &owner.token, &from_owner, &id, |c| {
        c["data"]["member_count"] == json!(2)
    })
    .await;
    assert_eq!(seen["data"]["role"], json!("owner"));
    // The list's tasks are read, not sent: no change of the task came with the gain.
    let friends_so_far =
        all_changes(&follow(&app, &friend.token, from_friend.clone(), 100, |_| true).await);
    assert!(
        friends_so_far.iter().all(|c| c["id"] != json!(task_id)),
        "{friends_so_far:#?}"
    );
    let tasks = app
        .call(
            Method::GET,
            &format!("/tasks?list_id={id}"),
            Some(&friend.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");

    // A role change.
    app.call_json(
        Method::PATCH,
        &format!("/lists/{id}/members/{}", friend.id),
        Some(&owner.token),
        &json!({"role": "viewer"}),
    )
    .await
    .assert_status(200);
    let (demoted, friend_cursor) = latest(&app, &friend.token, &friend_cursor, &id, |c| {
        c["data"]["role"] == json!("viewer")
    })
    .await;
    assert_eq!(demoted["data"]["member_count"], json!(2));
    let (_, owner_cursor) = latest(&app, &owner.token, &owner_cursor, &id, |c| {
        c["op"] == json!("upsert") && c["data"]["role"] == json!("owner")
    })
    .await;

    // Removed: one delete, then nothing of the list or its tasks.
    app.call(
        Method::DELETE,
        &format!("/lists/{id}/members/{}", friend.id),
        Some(&owner.token),
    )
    .await
    .assert_status(204);
    let (lost, after_loss) = latest(&app, &friend.token, &friend_cursor, &id, is_delete).await;
    assert_eq!(
        (&lost["list_id"], &lost["data"]),
        (&json!(id), &Value::Null)
    );
    let (count, owner_cursor) = latest(&app, &owner.token, &owner_cursor, &id, |c| {
        c["data"]["member_count"] == json!(1)
    })
    .await;
    assert_eq!(count["op"], json!("upsert"));
    patch_list(&app, &owner.token, &id, &json!({"name": "Flat"})).await;
    app.patch_task(&owner.token, &task_id, &json!({"title": "Sweep again"}))
        .await
        .assert_status(200);
    // The owner gets both; by then the friend's feed would hold them too.
    let pages = follow(&app, &owner.token, owner_cursor.clone(), 100, |all| {
        all.iter()
            .any(|c| c["data"]["title"] == json!("Sweep again"))
            && all.iter().any(|c| c["data"]["name"] == json!("Flat"))
    })
    .await;
    let owner_cursor = pages
        .last()
        .map(|p| string(&p["next_cursor"]))
        .unwrap_or_default();
    let later = all_changes(&follow(&app, &friend.token, after_loss, 100, |_| true).await);
    // Nothing of the task, nor of the list but (on PostgreSQL, once more) its loss.
    assert!(
        later
            .iter()
            .all(|c| c["id"] != json!(task_id) && (c["id"] != json!(id) || is_delete(c))),
        "{later:#?}"
    );

    // Invited again, the friend gains it again; then leaves: the same loss.
    // From before the loss, the friend reads the loss and then the gain: a client that
    // dropped the list and its tasks reads them again.
    join(&app, &owner, &friend, &id, "viewer").await;
    let (since, friend_cursor) = follow_list(&app, &friend.token, &friend_cursor, &id, |c| {
        c["op"] == json!("upsert") && c["data"]["name"] == json!("Flat")
    })
    .await;
    let ops: Vec<&Value> = since.iter().map(|c| &c["op"]).collect();
    assert!(
        ops.ends_with(&[&json!("delete"), &json!("upsert")]),
        "{since:#?}"
    );
    let regained = since.last().cloned().unwrap_or_default();
    assert_eq!(
        (&regained["data"]["role"], &regained["data"]["member_count"]),
        (&json!("viewer"), &json!(2))
    );
    app.call(
        Method::DELETE,
        &format!("/lists/{id}/members/{}", friend.id),
        Some(&friend.token),
    )
    .await
    .assert_status(204);
    latest(&app, &friend.token, &friend_cursor, &id, is_delete).await;
    latest(&app, &owner.token, &owner_cursor, &id, |c| {
        c["op"] == json!("upsert") && c["data"]["member_count"] == json!(1)
    })
    .await;
}

/// An account's deletion hands its shared lists over: the members who remain get an
/// upsert of each, with the new owner's role and one member fewer.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_account_deletion_reaches_the_remaining_members_as_an_upsert(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let id = string(&new_list(&app, &owner.token, "Home").await["id"]);
    join(&app, &owner, &editor, &id, "editor").await;
    let start = present(&app, &editor.token).await;
    app.delete_me(&owner.token).await.assert_status(204);
    let (handed, _) = latest(&app, &editor.token, &start, &id, |c| {
        c["data"]["role"] == json!("owner")
    })
    .await;
    assert_eq!(
        (&handed["op"], &handed["data"]["member_count"]),
        (&json!("upsert"), &json!(1))
    );
}

/// "Read all lists, then follow the changes from `X-Changes-Cursor`": a copy made of
/// `GET /lists` plus every list change from its cursor equals the lists as they are, a
/// rename, a creation and a deletion made after the read included.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_read_of_the_lists_then_their_changes_from_its_cursor_miss_nothing(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let renamed = string(&new_list(&app, &alice.token, "Home").await["id"]);
    let doomed = string(&new_list(&app, &alice.token, "Doomed").await["id"]);
    let (mut copy, cursor) = lists(&app, &alice.token).await;
    assert_eq!(copy.len(), 3, "the inbox and two lists: {copy:#?}");
    patch_list(&app, &alice.token, &renamed, &json!({"name": "House"})).await;
    app.call(
        Method::DELETE,
        &format!("/lists/{doomed}"),
        Some(&alice.token),
    )
    .await
    .assert_status(204);
    let added = string(&new_list(&app, &alice.token, "Added").await["id"]);
    let pages = follow(&app, &alice.token, cursor, 100, |all| {
        all.iter()
            .any(|c| c["id"] == json!(added) && c["op"] == json!("upsert"))
    })
    .await;
    apply_of("list", &mut copy, &all_changes(&pages));
    let (now, _) = lists(&app, &alice.token).await;
    assert_eq!(copy, now);
    assert_eq!(copy[&renamed]["name"], json!("House"));
}

/// `GET /lists` as a copy by id, and its `X-Changes-Cursor`.
async fn lists(app: &Client, token: &str) -> (BTreeMap<String, Value>, String) {
    let response = app.call(Method::GET, "/lists", Some(token)).await;
    let cursor = response.require_header("x-changes-cursor").to_owned();
    let body = response.json_with_status(200);
    let copy = body
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|l| (string(&l["id"]), l.clone()))
        .collect();
    (copy, cursor)
}
