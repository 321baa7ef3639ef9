//! Sessions: refresh-token rotation and reuse detection, logout of one session or all,
//! password changes and account deletion, and how each ends access tokens too.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, string};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn login_answers_a_refresh_token_beside_the_access_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("ann@example.com", PASSWORD)
        .await
        .assert_status(201);
    let response = app.login("ann@example.com", PASSWORD).await;
    let pair = response.json_with_status(200);
    let refresh = string(&pair["refresh_token"]);
    assert_eq!(refresh.len(), 64, "256 bits, hex");
    assert_ne!(refresh, string(&pair["access_token"]));
    assert_eq!(pair["token_type"], "bearer");
    assert!(
        response
            .require_header("cache-control")
            .contains("no-store")
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn refresh_rotates_the_pair_and_the_old_refresh_token_stops_working(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app.refresh(&user.refresh_token).await;
    let pair = response.json_with_status(200);
    assert!(
        response
            .require_header("cache-control")
            .contains("no-store")
    );
    assert_eq!(pair["token_type"], "bearer");
    assert_eq!(pair["expires_in"], 900);
    let (access, refresh) = (
        string(&pair["access_token"]),
        string(&pair["refresh_token"]),
    );
    assert_ne!(refresh, user.refresh_token);
    app.get_me(&access).await.assert_status(200);
    // The new refresh token works once more.
    let next = app.refresh(&refresh).await.json_with_status(200);
    app.get_me(&string(&next["access_token"]))
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn presenting_a_rotated_refresh_token_ends_the_whole_session(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let stolen = user.refresh_token.clone();
    let rotated = app.refresh(&stolen).await.json_with_status(200);
    let (access, refresh) = (
        string(&rotated["access_token"]),
        string(&rotated["refresh_token"]),
    );

    let replay = app.refresh(&stolen).await;
    replay.assert_unauthorized();

    // Every token of the family is dead: the newest refresh token and the access tokens.
    app.refresh(&refresh).await.assert_unauthorized();
    app.get_me(&access).await.assert_unauthorized();
    app.get_me(&user.token).await.assert_unauthorized();
    // Another login is a new session and works.
    let again = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.get_me(&again.token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_refreshes_of_one_token_let_one_win_and_end_the_session(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__ENABLED", "false")]).await;
    let user = app.user().await;
    let attempts = (0..6).map(|_| app.refresh(&user.refresh_token));
    let responses = futures_util::future::join_all(attempts).await;
    let won: Vec<_> = responses.iter().filter(|r| r.status == 200).collect();
    assert!(won.len() <= 1, "at most one rotation wins");
    for r in responses.iter().filter(|r| r.status != 200) {
        r.assert_unauthorized();
    }
    // The losers were reuse: the session is over for the winner too.
    if let Some(winner) = won.first() {
        let pair = winner.json();
        app.refresh(&string(&pair["refresh_token"]))
            .await
            .assert_unauthorized();
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn unknown_malformed_or_missing_refresh_tokens_are_refused(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.refresh("not-a-token").await.assert_unauthorized();
    app.refresh(&"a".repeat(64)).await.assert_unauthorized();
    app.refresh(&"x".repeat(100_000 / 2))
        .await
        .assert_unauthorized();
    let response = app
        .call_json(Method::POST, "/token/refresh", None, &json!({}))
        .await;
    assert_eq!(response.invalid_fields(), ["refresh_token"]);
    let response = app
        .call_json(
            Method::POST,
            "/token/refresh",
            None,
            &json!({"refresh_token": 7, "x": 1}),
        )
        .await;
    assert_eq!(response.invalid_fields(), ["refresh_token", "x"]);
    app.call_raw(
        Method::POST,
        "/token/refresh",
        None,
        Some("application/json"),
        "{",
    )
    .await
    .assert_problem(400);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_expired_refresh_token_is_refused(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    // Refresh tokens that live two seconds (access tokens one).
    let app = TestApp::spawn_with(&[
        ("TASKAPI__AUTH__ACCESS_TTL", "1s"),
        ("TASKAPI__AUTH__REFRESH_TTL", "2s"),
    ])
    .await;
    let user = app.user().await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2_500)).await;
    app.refresh(&user.refresh_token).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn logout_ends_that_session_only(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let phone = app.user().await;
    let laptop = app.logged_in(&phone.id, &phone.email, PASSWORD).await;
    app.logout(&phone.token, &phone.refresh_token)
        .await
        .assert_status(204);
    app.get_me(&phone.token).await.assert_unauthorized();
    app.refresh(&phone.refresh_token)
        .await
        .assert_unauthorized();
    app.get_me(&laptop.token).await.assert_status(200);
    let pair = app
        .refresh(&laptop.refresh_token)
        .await
        .json_with_status(200);
    // Logging out one session from another one works too.
    let other = app.logged_in(&phone.id, &phone.email, PASSWORD).await;
    app.logout(&string(&pair["access_token"]), &other.refresh_token)
        .await
        .assert_status(204);
    app.get_me(&other.token).await.assert_unauthorized();
    app.get_me(&string(&pair["access_token"]))
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn logout_with_a_bad_or_someone_elses_refresh_token_is_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    app.logout(&alice.token, &bob.refresh_token)
        .await
        .assert_unauthorized();
    app.get_me(&bob.token).await.assert_status(200);
    app.logout(&alice.token, "nonsense")
        .await
        .assert_unauthorized();
    app.logout(&alice.token, &alice.refresh_token)
        .await
        .assert_status(204);
    // Without an access token: 401 before the body is even looked at.
    app.call_raw(Method::POST, "/logout", None, Some("text/plain"), "x")
        .await
        .assert_unauthorized();
    let response = app
        .call_json(Method::POST, "/logout", Some(&bob.token), &json!({}))
        .await;
    assert_eq!(response.invalid_fields(), ["refresh_token"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn logout_all_ends_every_session_of_the_caller_and_no_one_elses(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let first = app.signed_up("carl@example.com").await;
    let second = app.logged_in(&first.id, &first.email, PASSWORD).await;
    let other = app.signed_up("dora@example.com").await;
    app.logout_all(&first.token).await.assert_status(204);
    for token in [&first.token, &second.token] {
        app.get_me(token).await.assert_unauthorized();
    }
    for refresh in [&first.refresh_token, &second.refresh_token] {
        app.refresh(refresh).await.assert_unauthorized();
    }
    app.get_me(&other.token).await.assert_status(200);
    app.logged_in(&first.id, &first.email, PASSWORD).await;
    app.call(Method::POST, "/logout/all", None)
        .await
        .assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_password_change_ends_every_earlier_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let other_session = app.logged_in(&user.id, &user.email, PASSWORD).await;
    let new_password = "a brand new passphrase";
    app.change_password(&user.token, PASSWORD, new_password)
        .await
        .assert_status(204);
    for token in [&user.token, &other_session.token] {
        app.get_me(token).await.assert_unauthorized();
    }
    app.refresh(&user.refresh_token).await.assert_unauthorized();
    app.login(&user.email, PASSWORD).await.assert_problem(401);
    let fresh = app.logged_in(&user.id, &user.email, new_password).await;
    app.get_me(&fresh.token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_wrong_current_password_is_403_and_a_weak_new_one_422(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    app.change_password(&user.token, "not my password", "another good one")
        .await
        .assert_problem(403);
    let response = app.change_password(&user.token, PASSWORD, "short").await;
    assert_eq!(response.invalid_fields(), ["new_password"]);
    let response = app
        .call_json(Method::POST, "/me/password", Some(&user.token), &json!({}))
        .await;
    assert_eq!(
        response.invalid_fields(),
        ["current_password", "new_password"]
    );
    // Nothing changed.
    app.get_me(&user.token).await.assert_status(200);
    app.login(&user.email, PASSWORD).await.assert_status(200);
    app.change_password("garbage", PASSWORD, "whatever123")
        .await
        .assert_unauthorized();
}

/// `DELETE /me` needs a password login at most `auth.reauth_window` old, and refreshing the
/// session does not renew it: only logging in again does.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn delete_me_needs_a_recent_password_login_which_refreshing_does_not_renew(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__AUTH__REAUTH_WINDOW", "4s")]).await;
    let user = app.user().await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(4_500)).await;
    let refreshed = app.refresh(&user.refresh_token).await.json_with_status(200);
    let refreshed = string(&refreshed["access_token"]);
    for token in [&refreshed, &user.token] {
        let problem = app.delete_me(token).await.assert_problem(403);
        let kind = string(&problem["type"]);
        assert!(kind.ends_with("reauthentication-required"), "{problem}");
    }
    app.get_me(&refreshed).await.assert_status(200);
    // A new password login is recent: the account goes.
    let again = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.delete_me(&again.token).await.assert_status(204);
    app.get_me(&refreshed).await.assert_unauthorized();
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn delete_me_removes_the_account_its_tasks_and_its_tokens(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let task = app.task(&user.token, "Gone soon").await;
    app.delete_me(&user.token).await.assert_status(204);
    app.get_me(&user.token).await.assert_unauthorized();
    app.get_task(&user.token, &string(&task["id"]))
        .await
        .assert_unauthorized();
    app.refresh(&user.refresh_token).await.assert_unauthorized();
    app.login(&user.email, PASSWORD).await.assert_problem(401);
    // The email is free again, and the new account starts empty.
    let again = app.signed_up(&user.email).await;
    assert_ne!(again.id, user.id);
    let tasks = app.list_tasks(&again.token).await.json_with_status(200);
    assert_eq!(tasks, json!([]));
    app.call(Method::DELETE, "/me", None)
        .await
        .assert_unauthorized();
}
