//! Sharing end to end: invitations that say nothing about accounts, accepting and declining,
//! what each role may do (403 otherwise), the last-owner rule, leaving and removal (access
//! ends at once), and a non-member's 404 on members and invitations.

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, TestUser, random_id, string};

pub(crate) async fn shared_list(app: &TestApp, owner: &TestUser) -> String {
    let list = app
        .call_json(
            Method::POST,
            "/lists",
            Some(&owner.token),
            &json!({"name": "Shared"}),
        )
        .await
        .json_with_status(201);
    string(&list["id"])
}

async fn invite(app: &TestApp, owner: &TestUser, list: &str, email: &str, role: &str) -> Value {
    app.call_json(
        Method::POST,
        &format!("/lists/{list}/invitations"),
        Some(&owner.token),
        &json!({"email": email, "role": role}),
    )
    .await
    .json_with_status(201)
}

/// Invites `user` with `role` and has them accept.
pub(crate) async fn join(app: &TestApp, owner: &TestUser, list: &str, user: &TestUser, role: &str) {
    let invitation = invite(app, owner, list, &user.email, role).await;
    let accepted = app
        .call(
            Method::POST,
            &format!("/me/invitations/{}/accept", string(&invitation["id"])),
            Some(&user.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(accepted["role"], role);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn invitations_are_the_same_whether_or_not_an_account_exists_and_accepting_makes_a_member(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let friend = app.signed_up("friend@example.com").await;
    let list = shared_list(&app, &owner).await;
    let to_friend = invite(&app, &owner, &list, " Friend@Example.com ", "editor").await;
    let to_nobody = invite(&app, &owner, &list, "nobody@example.com", "editor").await;
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&to_friend), keys(&to_nobody));
    assert_eq!(to_friend["email"], "friend@example.com");
    assert_eq!(to_friend["list_name"], "Shared");
    assert_eq!(to_friend["invited_by"], owner.id.as_str());
    let pending = app
        .call(
            Method::GET,
            &format!("/lists/{list}/invitations"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(pending.as_array().unwrap().len(), 2);

    let mine = app
        .call(Method::GET, "/me/invitations", Some(&friend.token))
        .await
        .json_with_status(200);
    assert_eq!(mine, json!([to_friend]));
    // Someone else cannot accept or decline it.
    let accept_path = format!("/me/invitations/{}/accept", string(&to_friend["id"]));
    app.call(Method::POST, &accept_path, Some(&owner.token))
        .await
        .assert_problem(404);
    let list_seen = app
        .call(Method::POST, &accept_path, Some(&friend.token))
        .await
        .json_with_status(200);
    assert_eq!(
        (&list_seen["role"], &list_seen["member_count"]),
        (&json!("editor"), &json!(2))
    );
    // Used up.
    app.call(Method::POST, &accept_path, Some(&friend.token))
        .await
        .assert_problem(404);
    let members = app
        .call(
            Method::GET,
            &format!("/lists/{list}/members"),
            Some(&friend.token),
        )
        .await
        .json_with_status(200);
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (string(&m["email"]), string(&m["role"])))
        .collect();
    assert_eq!(
        roles,
        [
            ("owner@example.com".to_owned(), "owner".to_owned()),
            ("friend@example.com".to_owned(), "editor".to_owned())
        ]
    );
    // The editor sees the list's tasks along with their inbox's, and writes them.
    let task = app
        .create_task(
            &friend.token,
            &json!({"title": "Together", "list_id": list}),
        )
        .await
        .json_with_status(201);
    let owners_view = app.list_tasks(&owner.token).await.json_with_status(200);
    assert_eq!(owners_view, json!([task]));
    // Withdrawing and declining.
    app.call(
        Method::DELETE,
        &format!("/lists/{list}/invitations/{}", string(&to_nobody["id"])),
        Some(&owner.token),
    )
    .await
    .assert_status(204);
    let again = invite(&app, &owner, &list, "friend@example.com", "viewer").await;
    app.call(
        Method::POST,
        &format!("/me/invitations/{}/decline", string(&again["id"])),
        Some(&friend.token),
    )
    .await
    .assert_status(204);
    let pending = app
        .call(
            Method::GET,
            &format!("/lists/{list}/invitations"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(pending, json!([]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn each_role_may_do_what_it_allows_and_gets_403_for_the_rest(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let viewer = app.signed_up("viewer@example.com").await;
    let list = shared_list(&app, &owner).await;
    join(&app, &owner, &list, &editor, "editor").await;
    join(&app, &owner, &list, &viewer, "viewer").await;
    let task = app
        .create_task(
            &owner.token,
            &json!({"title": "Shared task", "list_id": list}),
        )
        .await
        .json_with_status(201);
    let task_id = string(&task["id"]);
    let path = format!("/lists/{list}");

    // Viewer: reads everything, writes nothing.
    assert_eq!(
        app.get_task(&viewer.token, &task_id)
            .await
            .json_with_status(200),
        task
    );
    app.call(Method::GET, &path, Some(&viewer.token))
        .await
        .assert_status(200);
    app.call(Method::GET, &format!("{path}/members"), Some(&viewer.token))
        .await
        .assert_status(200);
    app.create_task(&viewer.token, &json!({"title": "No", "list_id": list}))
        .await
        .assert_problem(403);
    app.patch_task(&viewer.token, &task_id, &json!({"title": "No"}))
        .await
        .assert_problem(403);
    app.put_task(&viewer.token, &task_id, &json!({"title": "No"}))
        .await
        .assert_problem(403);
    app.delete_task(&viewer.token, &task_id)
        .await
        .assert_problem(403);
    app.call_json(
        Method::PATCH,
        &path,
        Some(&viewer.token),
        &json!({"name": "No"}),
    )
    .await
    .assert_problem(403);

    // Editor: writes tasks, renames; no archiving, deleting, members or invitations.
    app.patch_task(
        &editor.token,
        &task_id,
        &json!({"is_done": true, "assignee_id": viewer.id}),
    )
    .await
    .assert_status(200);
    app.call_json(
        Method::PATCH,
        &path,
        Some(&editor.token),
        &json!({"name": "Renamed"}),
    )
    .await
    .assert_status(200);
    for (method, target, body) in [
        (Method::PATCH, path.clone(), Some(json!({"archived": true}))),
        (Method::DELETE, path.clone(), None),
        (
            Method::PATCH,
            format!("{path}/members/{}", viewer.id),
            Some(json!({"role": "editor"})),
        ),
        (
            Method::DELETE,
            format!("{path}/members/{}", viewer.id),
            None,
        ),
        (
            Method::POST,
            format!("{path}/invitations"),
            Some(json!({"email": "x@example.com", "role": "viewer"})),
        ),
        (Method::GET, format!("{path}/invitations"), None),
    ] {
        let response = match &body {
            Some(body) => {
                app.call_json(method.clone(), &target, Some(&editor.token), body)
                    .await
            }
            None => app.call(method.clone(), &target, Some(&editor.token)).await,
        };
        response.assert_problem(403);
    }

    // Owner: manages members; the last owner can neither leave nor be demoted.
    let owner_membership = format!("{path}/members/{}", owner.id);
    app.call(Method::DELETE, &owner_membership, Some(&owner.token))
        .await
        .assert_problem(409);
    app.call_json(
        Method::PATCH,
        &owner_membership,
        Some(&owner.token),
        &json!({"role": "editor"}),
    )
    .await
    .assert_problem(409);
    let promoted = app
        .call_json(
            Method::PATCH,
            &format!("{path}/members/{}", editor.id),
            Some(&owner.token),
            &json!({"role": "owner"}),
        )
        .await
        .json_with_status(200);
    assert_eq!(promoted["role"], "owner");
    app.call(Method::DELETE, &owner_membership, Some(&owner.token))
        .await
        .assert_status(204);
    // The one who left lost access at once.
    app.get_task(&owner.token, &task_id)
        .await
        .assert_problem(404);
    app.call(Method::GET, &path, Some(&owner.token))
        .await
        .assert_problem(404);
    // Removal by an owner, and a bad role.
    app.call_json(
        Method::PATCH,
        &format!("{path}/members/{}", viewer.id),
        Some(&editor.token),
        &json!({"role": "admin"}),
    )
    .await
    .assert_problem(422);
    app.call(
        Method::DELETE,
        &format!("{path}/members/{}", viewer.id),
        Some(&editor.token),
    )
    .await
    .assert_status(204);
    app.get_task(&viewer.token, &task_id)
        .await
        .assert_problem(404);
    app.call(
        Method::DELETE,
        &format!("{path}/members/{}", random_id()),
        Some(&editor.token),
    )
    .await
    .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn members_and_invitations_of_a_list_are_404_to_non_members(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let stranger = app.signed_up("stranger@example.com").await;
    let list = shared_list(&app, &owner).await;
    let invitation = invite(&app, &owner, &list, "someone@example.com", "viewer").await;
    let path = format!("/lists/{list}");
    let missing = app
        .call(
            Method::GET,
            &format!("/lists/{}/members", random_id()),
            Some(&stranger.token),
        )
        .await
        .assert_problem(404);
    for (method, target, body) in [
        (Method::GET, format!("{path}/members"), None),
        (
            Method::PATCH,
            format!("{path}/members/{}", owner.id),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("{path}/members/{}", owner.id), None),
        (Method::GET, format!("{path}/invitations"), None),
        (
            Method::POST,
            format!("{path}/invitations"),
            Some(json!({"email": "stranger@example.com", "role": "owner"})),
        ),
        (
            Method::DELETE,
            format!("{path}/invitations/{}", string(&invitation["id"])),
            None,
        ),
    ] {
        let response = match &body {
            Some(body) => {
                app.call_json(method.clone(), &target, Some(&stranger.token), body)
                    .await
            }
            None => {
                app.call(method.clone(), &target, Some(&stranger.token))
                    .await
            }
        };
        let body = response.assert_problem(404);
        assert_eq!(body["detail"], missing["detail"], "{method} {target}");
    }
    // The inbox cannot be shared.
    app.call_json(
        Method::POST,
        &format!("/lists/{}/invitations", owner.id),
        Some(&owner.token),
        &json!({"email": "friend@example.com", "role": "viewer"}),
    )
    .await
    .assert_problem(409);
    let pending = app
        .call(
            Method::GET,
            &format!("{path}/invitations"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(pending, json!([invitation]), "unchanged");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_accepts_of_one_invitation_make_one_membership(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let friend = app.signed_up("friend@example.com").await;
    let list = shared_list(&app, &owner).await;
    let invitation = invite(&app, &owner, &list, &friend.email, "editor").await;
    let path = format!("/me/invitations/{}/accept", string(&invitation["id"]));
    let attempts = (0..8).map(|_| app.call(Method::POST, &path, Some(&friend.token)));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 404),
        "{statuses:?}"
    );
    let members = app
        .call(
            Method::GET,
            &format!("/lists/{list}/members"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(members.as_array().unwrap().len(), 2);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn after_a_removal_answers_no_write_of_the_removed_member_succeeds(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let list = shared_list(&app, &owner).await;
    join(&app, &owner, &list, &editor, "editor").await;
    let removal = format!("/lists/{list}/members/{}", editor.id);
    let writes = (0..12).map(|n| {
        let body = json!({"title": format!("Write {n}"), "list_id": list});
        let token = editor.token.clone();
        let app = &app;
        async move { app.create_task(&token, &body).await }
    });
    let (removed, written) = futures_util::future::join(
        app.call(Method::DELETE, &removal, Some(&owner.token)),
        futures_util::future::join_all(writes),
    )
    .await;
    removed.assert_status(204);
    let succeeded = written.iter().filter(|r| r.status.as_u16() == 201).count();
    // Whatever raced the removal, every write after its answer is refused, and what
    // succeeded is there.
    for n in 0..3 {
        let late = app
            .create_task(
                &editor.token,
                &json!({"title": format!("Late {n}"), "list_id": list}),
            )
            .await;
        assert_eq!(late.invalid_fields(), vec!["list_id"]);
    }
    let listed = app
        .call(
            Method::GET,
            &format!("/tasks?list_id={list}"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(listed.as_array().unwrap().len(), succeeded);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn deleting_an_account_hands_its_lists_to_the_longest_standing_member(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let viewer = app.signed_up("viewer@example.com").await;
    let early_editor = app.signed_up("early@example.com").await;
    let late_editor = app.signed_up("late@example.com").await;
    let shared = shared_list(&app, &owner).await;
    join(&app, &owner, &shared, &viewer, "viewer").await;
    join(&app, &owner, &shared, &early_editor, "editor").await;
    join(&app, &owner, &shared, &late_editor, "editor").await;
    let viewers_only = shared_list(&app, &owner).await;
    join(&app, &owner, &viewers_only, &viewer, "viewer").await;
    let alone = shared_list(&app, &owner).await;
    let kept = app
        .create_task(&owner.token, &json!({"title": "Stays", "list_id": shared}))
        .await
        .json_with_status(201);
    app.create_task(&owner.token, &json!({"title": "Goes", "list_id": alone}))
        .await
        .assert_status(201);

    app.delete_me(&owner.token).await.assert_status(204);

    let role_of = |members: &Value, user: &TestUser| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == user.id.as_str())
            .map(|m| string(&m["role"]))
    };
    let members = app
        .call(
            Method::GET,
            &format!("/lists/{shared}/members"),
            Some(&viewer.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(members.as_array().unwrap().len(), 3);
    assert_eq!(role_of(&members, &early_editor).as_deref(), Some("owner"));
    assert_eq!(role_of(&members, &late_editor).as_deref(), Some("editor"));
    assert_eq!(role_of(&members, &viewer).as_deref(), Some("viewer"));
    let members = app
        .call(
            Method::GET,
            &format!("/lists/{viewers_only}/members"),
            Some(&viewer.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(
        role_of(&members, &viewer).as_deref(),
        Some("owner"),
        "a viewer if no editor"
    );
    // The shared list keeps the deleted account's task (the list left alone going with the
    // account is checked in the storage suite, since nobody can see it any more).
    assert_eq!(
        app.get_task(&late_editor.token, &string(&kept["id"]))
            .await
            .json_with_status(200)["created_by"],
        owner.id.as_str()
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_member_who_leaves_or_is_removed_is_no_longer_anyones_assignee(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let owner = app.signed_up("owner@example.com").await;
    let editor = app.signed_up("editor@example.com").await;
    let viewer = app.signed_up("viewer@example.com").await;
    let list = shared_list(&app, &owner).await;
    join(&app, &owner, &list, &editor, "editor").await;
    join(&app, &owner, &list, &viewer, "viewer").await;
    let assigned = |who: &str| json!({"title": "chore", "list_id": list, "assignee_id": who});
    let to_editor = app
        .create_task(&owner.token, &assigned(&editor.id))
        .await
        .json_with_status(201);
    let to_viewer = app
        .create_task(&owner.token, &assigned(&viewer.id))
        .await
        .json_with_status(201);
    let to_owner = app
        .create_task(&owner.token, &assigned(&owner.id))
        .await
        .json_with_status(201);
    // The owner removes the editor; the viewer leaves.
    for (user, by) in [(&editor, &owner), (&viewer, &viewer)] {
        app.call(
            Method::DELETE,
            &format!("/lists/{list}/members/{}", user.id),
            Some(&by.token),
        )
        .await
        .assert_status(204);
    }
    for task in [&to_editor, &to_viewer] {
        let now = app
            .get_task(&owner.token, &string(&task["id"]))
            .await
            .json_with_status(200);
        assert_eq!(now["assignee_id"], Value::Null, "{now}");
        assert_eq!(now["version"], 2, "unassigning is a change of the task");
    }
    let kept = app
        .get_task(&owner.token, &string(&to_owner["id"]))
        .await
        .json_with_status(200);
    assert_eq!(kept, to_owner, "a remaining member's task is untouched");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_list_holds_at_most_its_members_pending_invitations_included(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__LISTS__MAX_MEMBERS", "3")]).await;
    let owner = app.signed_up("owner@example.com").await;
    let friend = app.signed_up("friend@example.com").await;
    let list = shared_list(&app, &owner).await;
    // The owner and two invitations take the three seats.
    let first = invite(&app, &owner, &list, &friend.email, "editor").await;
    invite(&app, &owner, &list, "someone@example.com", "viewer").await;
    let full = |email: &'static str| {
        let app = &app;
        let owner = &owner;
        let list = list.clone();
        async move {
            app.call_json(
                Method::POST,
                &format!("/lists/{list}/invitations"),
                Some(&owner.token),
                &json!({"email": email, "role": "viewer"}),
            )
            .await
        }
    };
    let refused = full("third@example.com").await;
    let problem = refused.assert_problem(409);
    assert!(string(&problem["detail"]).contains('3'), "{problem}");
    // Inviting someone already invited again replaces their invitation: no new seat.
    invite(&app, &owner, &list, "someone@example.com", "editor").await;
    // Accepting turns an invitation's seat into a member's: still full.
    app.call(
        Method::POST,
        &format!("/me/invitations/{}/accept", string(&first["id"])),
        Some(&friend.token),
    )
    .await
    .assert_status(200);
    full("third@example.com").await.assert_problem(409);
    // A removed member frees a seat.
    app.call(
        Method::DELETE,
        &format!("/lists/{list}/members/{}", friend.id),
        Some(&owner.token),
    )
    .await
    .assert_status(204);
    full("third@example.com").await.assert_status(201);
    let members = app
        .call(
            Method::GET,
            &format!("/lists/{list}/members"),
            Some(&owner.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(members.as_array().map(Vec::len), Some(1));
}
