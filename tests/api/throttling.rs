//! Throttling of the auth routes: a per-address budget shared by /login, /register and
//! /token/refresh, failed logins per email, and where the client address comes from.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;

use crate::support::{PASSWORD, Response, TestApp, send};

#[track_caller]
fn assert_throttled(response: &Response) {
    response.assert_problem(429);
    let retry: u64 = response
        .require_header("retry-after")
        .parse()
        .unwrap_or_else(|e| panic!("Retry-After is whole seconds: {e}"));
    assert!((1..=900).contains(&retry), "Retry-After: {retry}");
    assert!(response.header("x-request-id").is_some());
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_three_auth_routes_share_one_budget_per_address(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "4")]).await;
    app.register("amy@example.com", PASSWORD)
        .await
        .assert_status(201);
    app.login("amy@example.com", PASSWORD)
        .await
        .assert_status(200);
    app.refresh("whatever").await.assert_status(401);
    app.login("amy@example.com", "wrong password")
        .await
        .assert_status(401);
    // The budget is spent, whichever route asks next and whatever its body.
    assert_throttled(&app.register("ben@example.com", PASSWORD).await);
    assert_throttled(&app.login("amy@example.com", PASSWORD).await);
    assert_throttled(&app.refresh("whatever").await);
    assert_throttled(
        &app.call_raw(Method::POST, "/login", None, Some("text/plain"), "x")
            .await,
    );
    // Other routes are not throttled.
    app.get("/ping").await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn failed_logins_lock_the_email_even_for_the_right_password(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "3")]).await;
    app.register("cal@example.com", PASSWORD)
        .await
        .assert_status(201);
    for _ in 0..3 {
        app.login("cal@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    assert_throttled(&app.login("cal@example.com", PASSWORD).await);
    assert_throttled(&app.login("CAL@example.com ", "wrong password").await);
    // Other emails are not affected, known or not.
    app.login("nobody@example.com", "wrong password")
        .await
        .assert_problem(401);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_successful_login_clears_the_emails_failures(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "3")]).await;
    app.register("dee@example.com", PASSWORD)
        .await
        .assert_status(201);
    for _ in 0..2 {
        app.login("dee@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    app.login("dee@example.com", PASSWORD)
        .await
        .assert_status(200);
    for _ in 0..3 {
        app.login("dee@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    assert_throttled(&app.login("dee@example.com", PASSWORD).await);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let login_from = |app: &TestApp, address: &str| {
        send(
            app.request(Method::POST, "/login")
                .insert_header(("x-forwarded-for", address.to_owned()))
                .send_json(&serde_json::json!({"email": "x@example.com", "password": "whatever1"})),
        )
    };
    // Not trusted: the header is ignored, every request counts against 127.0.0.1.
    let direct = TestApp::spawn_with(&[("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "2")]).await;
    login_from(&direct, "1.1.1.1").await.assert_status(401);
    login_from(&direct, "2.2.2.2").await.assert_status(401);
    assert_throttled(&login_from(&direct, "3.3.3.3").await);

    // Behind a trusted proxy (the loopback peer), each forwarded client has its own budget.
    let proxied = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "2"),
        ("TASKAPI__SERVER__TRUSTED_PROXIES", "127.0.0.1,::1"),
    ])
    .await;
    for _ in 0..2 {
        login_from(&proxied, "1.1.1.1").await.assert_status(401);
    }
    assert_throttled(&login_from(&proxied, "1.1.1.1").await);
    // What the client prepends itself does not help it.
    assert_throttled(&login_from(&proxied, "9.9.9.9, 1.1.1.1").await);
    login_from(&proxied, "2.2.2.2").await.assert_status(401);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn throttling_can_be_turned_off(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__ENABLED", "false"),
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "1"),
        ("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "1"),
    ])
    .await;
    app.register("eli@example.com", PASSWORD)
        .await
        .assert_status(201);
    for _ in 0..3 {
        app.login("eli@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    app.login("eli@example.com", PASSWORD)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn refusals_are_held_for_the_refusal_delay_but_never_past_their_retry_after(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "1"),
        ("TASKAPI__THROTTLE__REFUSAL_DELAY", "2s"),
    ])
    .await;
    app.refresh("whatever").await.assert_status(401);
    // A flood past the budget: each refusal comes only after the delay, concurrent ones
    // each after their own, and says how much of the wait is left.
    let refused = (0..4).map(|_| async {
        let started = std::time::Instant::now();
        let answer = app.refresh("whatever").await;
        (started.elapsed(), answer)
    });
    for (took, answer) in futures_util::future::join_all(refused).await {
        assert_throttled(&answer);
        assert!(
            took >= std::time::Duration::from_secs(2),
            "answered after {took:?}"
        );
        let retry: u64 = answer
            .require_header("retry-after")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(retry <= 58, "the held 2 s are not counted again: {retry}");
    }
    // What is not refused is not held.
    app.get("/ping").await.assert_status(200);

    // A budget that lets the next request in within a second holds its refusal no longer
    // than that, whatever the delay.
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "60"),
        ("TASKAPI__THROTTLE__REFUSAL_DELAY", "10s"),
    ])
    .await;
    // The burst of 60 is spent at once (one more may come in while it is).
    let (took, answer) = 'refused: {
        for _ in 0..120 {
            let started = std::time::Instant::now();
            let answer = app.refresh("whatever").await;
            if answer.status == 429 {
                break 'refused (started.elapsed(), answer);
            }
            answer.assert_status(401);
        }
        panic!("120 requests and no refusal with a budget of 60 a minute");
    };
    assert_throttled(&answer);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert!(
        took < std::time::Duration::from_secs(30),
        "held for {took:?}, past the second its budget needed"
    );
}
