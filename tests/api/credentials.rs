//! Personal API tokens (creation, scopes on every route group, revocation rules, cap,
//! expiry, last use) and session management (listing, ending one, the per-account cap, the
//! absolute lifetime, the refresh grace period).

use std::time::Duration;

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{Backend, Client, PASSWORD, Response, TestApp, TestUser, string};

impl Client {
    /// `POST /me/tokens`.
    pub async fn create_api_token(&self, token: &str, body: &Value) -> Response {
        self.call_json(Method::POST, "/me/tokens", Some(token), body)
            .await
    }

    /// `GET /me/tokens`.
    pub async fn list_api_tokens(&self, token: &str) -> Response {
        self.call(Method::GET, "/me/tokens", Some(token)).await
    }

    /// `DELETE /me/tokens/{id}`.
    pub async fn delete_api_token(&self, token: &str, id: &str) -> Response {
        self.call(Method::DELETE, &format!("/me/tokens/{id}"), Some(token))
            .await
    }

    /// `GET /me/sessions`.
    pub async fn list_sessions(&self, token: &str) -> Response {
        self.call(Method::GET, "/me/sessions", Some(token)).await
    }

    /// `DELETE /me/sessions/{id}`.
    pub async fn delete_session(&self, token: &str, id: &str) -> Response {
        self.call(Method::DELETE, &format!("/me/sessions/{id}"), Some(token))
            .await
    }

    /// A new API token of `user` with `scopes`: its created body.
    pub async fn api_token(&self, user: &TestUser, scopes: &[&str]) -> Value {
        self.create_api_token(&user.token, &json!({"name": "script", "scopes": scopes}))
            .await
            .json_with_status(201)
    }
}

/// Asserts a 403 whose problem type ends in `kind` and returns its detail.
#[track_caller]
fn assert_forbidden(response: &Response, kind: &str) -> String {
    let problem = response.assert_problem(403);
    let found = string(&problem["type"]);
    assert!(
        found.ends_with(kind),
        "expected a {kind} problem: {problem}"
    );
    string(&problem["detail"])
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_new_api_token_is_shown_once_listed_without_its_secret_and_authenticates(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .create_api_token(
            &user.token,
            &json!({"name": "  deploy ", "scopes": ["tasks:read", "tasks:read", "changes:read"]}),
        )
        .await;
    let created = response.json_with_status(201);
    assert!(
        response
            .require_header("cache-control")
            .contains("no-store")
    );
    let secret = string(&created["token"]);
    assert!(secret.starts_with("tka_"), "{secret}");
    assert!(secret.len() >= 4 + 64, "at least 256 random bits: {secret}");
    assert!(secret.starts_with(&string(&created["prefix"])));
    assert_eq!(created["name"], "deploy");
    assert_eq!(created["scopes"], json!(["tasks:read", "changes:read"]));
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["last_used_at"], Value::Null);

    app.task(&user.token, "Visible to the token").await;
    let tasks = app.list_tasks(&secret).await.json_with_status(200);
    assert_eq!(tasks.as_array().map(Vec::len), Some(1));

    let listed = app.list_api_tokens(&user.token).await.json_with_status(200);
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], created["id"]);
    assert_eq!(listed[0]["prefix"], created["prefix"]);
    assert!(listed[0].get("token").is_none(), "never the secret again");
    assert!(
        listed[0]["last_used_at"].is_string(),
        "the use was recorded: {}",
        listed[0]
    );
    // Another user sees none of them.
    let other = app.signed_up("other@example.com").await;
    let theirs = app
        .list_api_tokens(&other.token)
        .await
        .json_with_status(200);
    assert_eq!(theirs, json!([]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_reaches_each_task_route_only_with_its_scope(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app.task(&user.token, "Scoped").await;
    let id = string(&task["id"]);
    let reader = string(&app.api_token(&user, &["tasks:read", "lists:write"]).await["token"]);
    let writer = string(&app.api_token(&user, &["tasks:write"]).await["token"]);

    app.list_tasks(&reader).await.assert_status(200);
    app.get_task(&reader, &id).await.assert_status(200);
    let body = json!({"title": "x"});
    for response in [
        app.create_task(&reader, &body).await,
        app.patch_task(&reader, &id, &body).await,
        app.put_task(&reader, &id, &body).await,
        app.delete_task(&reader, &id).await,
        // The scope is checked before the body: 403, not 422.
        app.create_task(&reader, &json!({"title": ""})).await,
    ] {
        let detail = assert_forbidden(&response, "missing-scope");
        assert!(detail.contains("tasks:write"), "{detail}");
    }

    for response in [
        app.list_tasks(&writer).await,
        app.get_task(&writer, &id).await,
    ] {
        let detail = assert_forbidden(&response, "missing-scope");
        assert!(detail.contains("tasks:read"), "{detail}");
    }
    app.create_task(&writer, &body).await.assert_status(201);
    app.patch_task(&writer, &id, &json!({"is_done": true}))
        .await
        .assert_status(200);
    app.delete_task(&writer, &id).await.assert_status(204);
    // Another user's task is 404 to a token as to its owner's login.
    let other = app.signed_up("other@example.com").await;
    let theirs = string(&app.task(&other.token, "Not yours").await["id"]);
    app.get_task(&reader, &theirs).await.assert_problem(404);
}

/// The list routes and the change feed, like the task routes: a token reaches each only
/// with its scope (`lists:read` to read lists, their members and invitations; `lists:write`
/// to change them; `changes:read` for `GET /changes`), and the refusal names the scope.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_token_reaches_the_list_routes_and_the_change_feed_only_with_their_scopes(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let list = app
        .call_json(
            Method::POST,
            "/lists",
            Some(&user.token),
            &json!({"name": "Home"}),
        )
        .await
        .json_with_status(201);
    let id = string(&list["id"]);
    let tasks_only = string(&app.api_token(&user, &["tasks:read", "tasks:write"]).await["token"]);
    let reader = string(&app.api_token(&user, &["lists:read"]).await["token"]);
    let writer = string(&app.api_token(&user, &["lists:write", "changes:read"]).await["token"]);

    let reads = |token: String| {
        let (app, id) = (&app, id.clone());
        async move {
            vec![
                app.call(Method::GET, "/lists", Some(&token)).await,
                app.call(Method::GET, &format!("/lists/{id}"), Some(&token))
                    .await,
                app.call(Method::GET, &format!("/lists/{id}/members"), Some(&token))
                    .await,
                app.call(
                    Method::GET,
                    &format!("/lists/{id}/invitations"),
                    Some(&token),
                )
                .await,
                app.call(Method::GET, "/me/invitations", Some(&token)).await,
            ]
        }
    };
    for response in reads(tasks_only.clone())
        .await
        .iter()
        .chain(&reads(writer.clone()).await)
    {
        let detail = assert_forbidden(response, "missing-scope");
        assert!(detail.contains("lists:read"), "{detail}");
    }
    for response in reads(reader.clone()).await {
        response.assert_status(200);
    }
    let rename = json!({"name": "House"});
    for token in [&tasks_only, &reader] {
        for response in [
            app.call_json(Method::POST, "/lists", Some(token), &json!({"name": "New"}))
                .await,
            app.call_json(Method::PATCH, &format!("/lists/{id}"), Some(token), &rename)
                .await,
            app.call(Method::DELETE, &format!("/lists/{id}"), Some(token))
                .await,
            app.call_json(
                Method::POST,
                &format!("/lists/{id}/invitations"),
                Some(token),
                &json!({"email": "friend@example.com", "role": "viewer"}),
            )
            .await,
        ] {
            let detail = assert_forbidden(&response, "missing-scope");
            assert!(detail.contains("lists:write"), "{detail}");
        }
    }
    app.call_json(
        Method::PATCH,
        &format!("/lists/{id}"),
        Some(&writer),
        &rename,
    )
    .await
    .assert_status(200);
    // The change feed needs changes:read.
    for token in [&tasks_only, &reader] {
        let detail = assert_forbidden(
            &app.call(Method::GET, "/changes", Some(token)).await,
            "missing-scope",
        );
        assert!(detail.contains("changes:read"), "{detail}");
    }
    app.call(Method::GET, "/changes", Some(&writer))
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn account_session_token_and_admin_routes_refuse_api_tokens(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("root@example.com").await;
    let all = [
        "tasks:read",
        "tasks:write",
        "lists:read",
        "lists:write",
        "changes:read",
    ];
    let token = string(&app.api_token(&admin, &all).await["token"]);
    let token_id = string(&app.list_api_tokens(&admin.token).await.json()[0]["id"]);
    let session_id = string(&app.list_sessions(&admin.token).await.json()[0]["id"]);
    let t = Some(token.as_str());
    let refresh = json!({"refresh_token": admin.refresh_token});
    let password = json!({"current_password": PASSWORD, "new_password": "another password"});
    let new_token = json!({"name": "n", "scopes": ["tasks:read"]});
    let responses = [
        app.call(Method::GET, "/me", t).await,
        app.call_json(Method::POST, "/me/password", t, &password)
            .await,
        app.call_json(Method::POST, "/logout", t, &refresh).await,
        app.call(Method::POST, "/logout/all", t).await,
        app.call(Method::DELETE, "/me", t).await,
        app.call_json(Method::POST, "/me/tokens", t, &new_token)
            .await,
        // Even a body that would be 422 is refused first.
        app.call_json(Method::POST, "/me/tokens", t, &json!({}))
            .await,
        app.call(Method::GET, "/me/tokens", t).await,
        app.call(Method::DELETE, &format!("/me/tokens/{token_id}"), t)
            .await,
        app.call(Method::GET, "/me/sessions", t).await,
        app.call(Method::DELETE, &format!("/me/sessions/{session_id}"), t)
            .await,
        app.call(Method::GET, "/admin/users", t).await,
        app.call(Method::GET, &format!("/admin/users/{}", admin.id), t)
            .await,
        app.call_json(
            Method::PATCH,
            &format!("/admin/users/{}", admin.id),
            t,
            &json!({"disabled": false}),
        )
        .await,
        app.call(Method::GET, &format!("/admin/users/{}/tasks", admin.id), t)
            .await,
    ];
    for response in &responses {
        assert_forbidden(response, "session-required");
    }
    // Nothing was done: the token, the session and the account are all still there.
    app.list_tasks(&token).await.assert_status(200);
    app.get_me(&admin.token).await.assert_status(200);
    app.refresh(&admin.refresh_token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_revoked_token_stops_at_once_and_only_its_owner_can_revoke_it(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let other = app.signed_up("other@example.com").await;
    let created = app.api_token(&user, &["tasks:read"]).await;
    let (id, token) = (string(&created["id"]), string(&created["token"]));
    app.list_tasks(&token).await.assert_status(200);
    app.delete_api_token(&other.token, &id)
        .await
        .assert_problem(404);
    app.delete_api_token(&user.token, "not-a-uuid")
        .await
        .assert_problem(404);
    app.list_tasks(&token).await.assert_status(200);
    app.delete_api_token(&user.token, &id)
        .await
        .assert_status(204);
    app.list_tasks(&token).await.assert_unauthorized();
    app.delete_api_token(&user.token, &id)
        .await
        .assert_problem(404);
    // A forged token of the right shape, and a malformed one, are 401 too.
    let forged = format!("{}_{}", string(&created["prefix"]), "0".repeat(64));
    app.list_tasks(&forged).await.assert_unauthorized();
    app.list_tasks("tka_nonsense").await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_password_change_and_logout_all_keep_api_tokens_disabling_and_deletion_end_them(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("root@example.com").await;
    let user = app.user().await;
    let token = string(&app.api_token(&user, &["tasks:read"]).await["token"]);
    app.logout_all(&user.token).await.assert_status(204);
    app.list_tasks(&token).await.assert_status(200);
    let user = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.change_password(&user.token, PASSWORD, "a brand new password")
        .await
        .assert_status(204);
    app.list_tasks(&token).await.assert_status(200);

    let path = format!("/admin/users/{}", user.id);
    app.call_json(
        Method::PATCH,
        &path,
        Some(&admin.token),
        &json!({"disabled": true}),
    )
    .await
    .assert_status(200);
    app.list_tasks(&token).await.assert_unauthorized();
    app.call_json(
        Method::PATCH,
        &path,
        Some(&admin.token),
        &json!({"disabled": false}),
    )
    .await
    .assert_status(200);
    app.list_tasks(&token).await.assert_unauthorized();

    let user = app
        .logged_in(&user.id, &user.email, "a brand new password")
        .await;
    let token = string(&app.api_token(&user, &["tasks:read"]).await["token"]);
    app.delete_me(&user.token).await.assert_status(204);
    app.list_tasks(&token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn creating_a_token_checks_its_body_its_expiry_the_cap_and_a_recent_login(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__AUTH__MAX_API_TOKENS", "2"),
        ("TASKAPI__AUTH__REAUTH_WINDOW", "3s"),
    ])
    .await;
    let user = app.user().await;
    let bad = [
        (json!({"scopes": ["tasks:read"]}), vec!["name"]),
        (json!({"name": " ", "scopes": ["tasks:read"]}), vec!["name"]),
        (
            json!({"name": "x".repeat(101), "scopes": ["tasks:read"]}),
            vec!["name"],
        ),
        (json!({"name": "n"}), vec!["scopes"]),
        (json!({"name": "n", "scopes": []}), vec!["scopes"]),
        (
            json!({"name": "n", "scopes": ["tasks:read", "admin"]}),
            vec!["scopes[1]"],
        ),
        (json!({"name": "n", "scopes": "tasks:read"}), vec!["scopes"]),
        (
            json!({"name": "n", "scopes": ["tasks:read"], "expires_at": "soon"}),
            vec!["expires_at"],
        ),
        (
            json!({"name": "n", "scopes": ["tasks:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (
            json!({"name": "n", "scopes": ["tasks:read"], "role": "admin"}),
            vec!["role"],
        ),
    ];
    for (body, fields) in bad {
        let response = app.create_api_token(&user.token, &body).await;
        assert_eq!(response.invalid_fields(), fields, "{body}");
    }
    app.call_raw_json_check(&user.token).await;

    let expiring = app
        .create_api_token(
            &user.token,
            &json!({"name": "short", "scopes": ["tasks:read"], "expires_at": "2999-01-01T00:00:00Z"}),
        )
        .await
        .json_with_status(201);
    assert_eq!(expiring["expires_at"], "2999-01-01T00:00:00Z");
    app.api_token(&user, &["tasks:read"]).await;
    let problem = app
        .create_api_token(
            &user.token,
            &json!({"name": "third", "scopes": ["tasks:read"]}),
        )
        .await
        .assert_problem(409);
    assert!(
        string(&problem["type"]).ends_with("quota-exceeded"),
        "{problem}"
    );
    // Revoking one makes room.
    app.delete_api_token(&user.token, &string(&expiring["id"]))
        .await
        .assert_status(204);
    app.api_token(&user, &["tasks:read"]).await;

    // Past the reauthentication window, even a refreshed session must log in again.
    actix_web::rt::time::sleep(Duration::from_millis(3_500)).await;
    let refreshed = app.refresh(&user.refresh_token).await.json_with_status(200);
    let response = app
        .create_api_token(
            &string(&refreshed["access_token"]),
            &json!({"name": "late", "scopes": ["tasks:read"]}),
        )
        .await;
    assert_forbidden(&response, "reauthentication-required");
}

impl Client {
    /// A body that is not JSON, and one without a JSON media type, are 400 and 415 on
    /// `POST /me/tokens` as on every route.
    async fn call_raw_json_check(&self, token: &str) {
        let malformed = self
            .request(Method::POST, "/me/tokens")
            .bearer_auth(token)
            .content_type("application/json")
            .send_body("{not json");
        crate::support::send(malformed).await.assert_problem(400);
        let plain = self
            .request(Method::POST, "/me/tokens")
            .bearer_auth(token)
            .content_type("text/plain")
            .send_body("{}");
        crate::support::send(plain).await.assert_problem(415);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_expired_token_is_refused(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let created = app
        .create_api_token(
            &user.token,
            &json!({"name": "brief", "scopes": ["tasks:read"], "expires_at": soon}),
        )
        .await
        .json_with_status(201);
    let token = string(&created["token"]);
    app.list_tasks(&token).await.assert_status(200);
    actix_web::rt::time::sleep(Duration::from_millis(2_500)).await;
    let problem = app.list_tasks(&token).await.assert_unauthorized();
    assert!(string(&problem["detail"]).contains("expired"), "{problem}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn sessions_are_listed_with_their_client_and_one_can_be_ended(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let login = app
        .request(Method::POST, "/login")
        .insert_header(("User-Agent", "laptop-browser/1.0"))
        .send_json(&json!({"email": user.email, "password": PASSWORD}));
    let laptop = crate::support::send(login).await.json_with_status(200);
    let laptop_token = string(&laptop["access_token"]);

    let sessions = app.list_sessions(&user.token).await.json_with_status(200);
    let sessions = sessions.as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let laptop_session = sessions
        .iter()
        .find(|s| s["user_agent"] == "laptop-browser/1.0")
        .unwrap_or_else(|| panic!("the laptop's session is listed: {sessions:?}"));
    assert_eq!(laptop_session["current"], false);
    assert_eq!(laptop_session["address"], "127.0.0.1");
    assert!(laptop_session["created_at"].is_string());
    assert!(laptop_session["last_used_at"].is_string());
    assert_eq!(
        sessions.iter().filter(|s| s["current"] == true).count(),
        1,
        "{sessions:?}"
    );
    assert_eq!(
        sessions[0]["user_agent"], "laptop-browser/1.0",
        "most recent first"
    );

    let laptop_id = string(&laptop_session["id"]);
    let other = app.signed_up("other@example.com").await;
    app.delete_session(&other.token, &laptop_id)
        .await
        .assert_problem(404);
    app.delete_session(&user.token, "nope")
        .await
        .assert_problem(404);
    app.get_me(&laptop_token).await.assert_status(200);
    app.delete_session(&user.token, &laptop_id)
        .await
        .assert_status(204);
    app.get_me(&laptop_token).await.assert_unauthorized();
    app.refresh(&string(&laptop["refresh_token"]))
        .await
        .assert_unauthorized();
    app.delete_session(&user.token, &laptop_id)
        .await
        .assert_problem(404);
    let left = app.list_sessions(&user.token).await.json_with_status(200);
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    assert_eq!(left[0]["current"], true);
    // Ending one's own session is a logout.
    let own = string(&left[0]["id"]);
    app.delete_session(&user.token, &own)
        .await
        .assert_status(204);
    app.get_me(&user.token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_login_beyond_the_session_cap_ends_the_least_recently_used_session(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__AUTH__MAX_SESSIONS", "2")]).await;
    let first = app.user().await;
    let second = app.logged_in(&first.id, &first.email, PASSWORD).await;
    // Refreshing the first makes the second the least recently used.
    let first = app
        .refresh(&first.refresh_token)
        .await
        .json_with_status(200);
    let third = app.logged_in(&second.id, &second.email, PASSWORD).await;
    app.get_me(&second.token).await.assert_unauthorized();
    app.refresh(&second.refresh_token)
        .await
        .assert_unauthorized();
    app.get_me(&string(&first["access_token"]))
        .await
        .assert_status(200);
    app.get_me(&third.token).await.assert_status(200);
    let listed = app.list_sessions(&third.token).await.json_with_status(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_session_ends_at_its_max_age_whatever_its_refreshes(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__AUTH__SESSION_MAX_AGE", "3s"),
        ("TASKAPI__AUTH__REVOCATION_CACHE_TTL", "0s"),
    ])
    .await;
    let user = app.user().await;
    let refreshed = app.refresh(&user.refresh_token).await.json_with_status(200);
    app.get_me(&string(&refreshed["access_token"]))
        .await
        .assert_status(200);
    actix_web::rt::time::sleep(Duration::from_millis(3_500)).await;
    app.get_me(&string(&refreshed["access_token"]))
        .await
        .assert_unauthorized();
    app.refresh(&string(&refreshed["refresh_token"]))
        .await
        .assert_unauthorized();
    // A new login starts a new session.
    let again = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.get_me(&again.token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn within_the_refresh_grace_a_rotated_token_gets_the_same_new_refresh_token(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__AUTH__REFRESH_GRACE", "1m")]).await;
    let user = app.user().await;
    let first = app.refresh(&user.refresh_token).await.json_with_status(200);
    // The answer was lost, or another tab refreshed too: the same successor again.
    let again = app.refresh(&user.refresh_token).await.json_with_status(200);
    assert_eq!(again["refresh_token"], first["refresh_token"]);
    app.get_me(&string(&again["access_token"]))
        .await
        .assert_status(200);
    // The successor works, once.
    let next = app
        .refresh(&string(&first["refresh_token"]))
        .await
        .json_with_status(200);
    // Its predecessor no longer gets it (it is used now): reuse, and the session ends.
    app.refresh(&user.refresh_token).await.assert_unauthorized();
    app.get_me(&string(&next["access_token"]))
        .await
        .assert_unauthorized();
    app.refresh(&string(&next["refresh_token"]))
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_token_and_session_routes_need_a_token_and_answer_other_methods_with_405(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let id = crate::support::random_id();
    for (method, path) in [
        (Method::GET, "/me/tokens".to_owned()),
        (Method::POST, "/me/tokens".to_owned()),
        (Method::DELETE, format!("/me/tokens/{id}")),
        (Method::GET, "/me/sessions".to_owned()),
        (Method::DELETE, format!("/me/sessions/{id}")),
    ] {
        app.call(method.clone(), &path, None)
            .await
            .assert_unauthorized();
        app.call(method, &path, Some("not-a-token"))
            .await
            .assert_unauthorized();
    }
    for (method, path, allow) in [
        (Method::PUT, "/me/tokens".to_owned(), "GET, POST"),
        (Method::GET, format!("/me/tokens/{id}"), "DELETE"),
        (Method::POST, "/me/sessions".to_owned(), "GET"),
        (Method::PATCH, format!("/me/sessions/{id}"), "DELETE"),
    ] {
        let response = app.call(method, &path, None).await;
        response.assert_problem(405);
        assert_eq!(response.header("allow"), Some(allow), "{path}");
    }
    let user = app.user().await;
    let huge = json!({"name": "x".repeat(70_000), "scopes": ["tasks:read"]});
    app.create_api_token(&user.token, &huge)
        .await
        .assert_problem(413);
    app.call(Method::GET, "/me/tokens?limit=5", Some(&user.token))
        .await
        .assert_problem(422);
    app.call(Method::GET, "/me/sessions?x=1", Some(&user.token))
        .await
        .assert_problem(422);
}
