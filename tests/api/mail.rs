//! Mail end to end: password reset (forgot, reset, voiding, single use), e-mail verification
//! and change, resend, reset tokens for servers without mail, and the routes' answers when
//! no mail is configured. Mail goes through a real SMTP server (aiosmtpd, see
//! `support::smtp`) and tokens are read out of the delivered messages.
//!
//! "No mail was sent" is checked without waiting: after the request that must send nothing,
//! one that must send a mail is made, and once that mail arrives the test counts every mail
//! delivered. The queue delivers in order, so a mail of the first request would be there.

use awc::http::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::support::{
    Backend, Mail, PASSWORD, SinkTls, SmtpSink, TestApp, TestCertificate, TestUser, run_cli, string,
};

const NEW_PASSWORD: &str = "a brand new password";

/// An application sending its mail to a fresh SMTP sink; `None` when aiosmtpd is missing.
async fn app_with_mail(extra: &[(&str, &str)]) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start()?;
    let transport = format!("smtp://127.0.0.1:{}", sink.port);
    let mut vars = vec![("TASKAPI__MAIL__TRANSPORT", transport.as_str())];
    vars.extend_from_slice(extra);
    Some((TestApp::spawn_with(&vars).await, sink))
}

async fn forgot(app: &TestApp, email: &str) -> crate::support::Response {
    app.call_json(
        Method::POST,
        "/password/forgot",
        None,
        &json!({"email": email}),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> crate::support::Response {
    app.call_json(
        Method::POST,
        "/password/reset",
        None,
        &json!({"token": token, "new_password": password}),
    )
    .await
}

async fn verify(app: &TestApp, token: &str) -> crate::support::Response {
    app.call_json(
        Method::POST,
        "/email/verify",
        None,
        &json!({"token": token}),
    )
    .await
}

async fn change_email(
    app: &TestApp,
    user: &TestUser,
    new: &str,
    password: &str,
) -> crate::support::Response {
    app.call_json(
        Method::POST,
        "/me/email",
        Some(&user.token),
        &json!({"new_email": new, "current_password": password}),
    )
    .await
}

fn resets(mails: &[Mail]) -> Vec<&Mail> {
    mails
        .iter()
        .filter(|m| m.subject.contains("Reset"))
        .collect()
}

fn verifications(mails: &[Mail]) -> Vec<&Mail> {
    mails
        .iter()
        .filter(|m| m.subject.contains("Verify"))
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_forgotten_password_is_reset_with_the_mailed_token_which_ends_every_session_and_api_token(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[]).await else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    let api_token = app.api_token(&ann, &["tasks:read"]).await;
    let api_token = api_token["token"].as_str().unwrap_or_default().to_owned();
    app.list_tasks(&api_token).await.assert_status(200);
    let response = forgot(&app, "  ANN@example.com ").await;
    response.assert_status(202);
    assert!(response.body.is_empty(), "202 carries no body");
    // The registration's verification mail, then the reset mail.
    let mails = sink.wait_for("ann@example.com", 2).await;
    let reset_mails = resets(&mails);
    assert_eq!(reset_mails.len(), 1, "exactly one reset mail: {mails:?}");
    let token = reset_mails[0].token();
    assert!(reset_mails[0].from.contains("noreply@taskapi.local"));

    reset(&app, &token, NEW_PASSWORD).await.assert_status(204);
    // Every session ended: its access token and its refresh token; and every API token.
    app.get_me(&ann.token).await.assert_unauthorized();
    app.refresh(&ann.refresh_token).await.assert_unauthorized();
    app.list_tasks(&api_token).await.assert_unauthorized();
    app.login("ann@example.com", PASSWORD)
        .await
        .assert_unauthorized();
    app.login("ann@example.com", NEW_PASSWORD)
        .await
        .assert_status(200);
    // Single use.
    reset(&app, &token, "yet another password")
        .await
        .assert_unauthorized();
    app.login("ann@example.com", NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn forgot_answers_the_same_for_unknown_and_disabled_accounts_and_mails_them_nothing(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "off")]).await
    else {
        return;
    };
    let admin = app.signed_up_admin("root@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    app.call_json(
        Method::PATCH,
        &format!("/admin/users/{}", bob.id),
        Some(&admin.token),
        &json!({"disabled": true}),
    )
    .await
    .assert_status(200);
    let unknown = forgot(&app, "nobody@example.com").await;
    let disabled = forgot(&app, "bob@example.com").await;
    let known = forgot(&app, "root@example.com").await;
    for response in [&unknown, &disabled, &known] {
        response.assert_status(202);
        assert!(response.body.is_empty());
    }
    assert_eq!(
        (unknown.media_type(), unknown.header("content-length")),
        (known.media_type(), known.header("content-length"))
    );
    // The known account's mail arrived: nothing else was sent.
    sink.wait_for("root@example.com", 1).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "one mail, to the known account: {mails:?}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_newer_reset_token_voids_the_older(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "off")]).await
    else {
        return;
    };
    app.signed_up("ann@example.com").await;
    forgot(&app, "ann@example.com").await.assert_status(202);
    let first = sink.wait_for("ann@example.com", 1).await[0].token();
    forgot(&app, "ann@example.com").await.assert_status(202);
    let mails = sink.wait_for("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2);
    let second = mails
        .iter()
        .map(Mail::token)
        .find(|t| *t != first)
        .unwrap_or_else(|| panic!("two different tokens: {mails:?}"));
    reset(&app, &first, NEW_PASSWORD)
        .await
        .assert_unauthorized();
    reset(&app, &second, NEW_PASSWORD).await.assert_status(204);
    app.login("ann@example.com", NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn bad_reset_and_forgot_requests_are_problems(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, _sink)) = app_with_mail(&[]).await else {
        return;
    };
    assert_eq!(
        forgot(&app, "not an address").await.invalid_fields(),
        ["email"]
    );
    app.call_json(Method::POST, "/password/forgot", None, &json!({}))
        .await
        .assert_problem(422);
    app.call_raw(
        Method::POST,
        "/password/forgot",
        None,
        Some("application/json"),
        "{",
    )
    .await
    .assert_problem(400);
    assert_eq!(
        reset(&app, &"0".repeat(64), "short").await.invalid_fields(),
        ["new_password"]
    );
    let body = reset(&app, &"0".repeat(64), NEW_PASSWORD)
        .await
        .assert_unauthorized();
    assert!(string(&body["detail"]).contains("token"), "{body}");
    reset(&app, "", NEW_PASSWORD).await.assert_unauthorized();
    reset(&app, &"x".repeat(5000), NEW_PASSWORD)
        .await
        .assert_unauthorized();
    verify(&app, &"0".repeat(64)).await.assert_unauthorized();
    app.call_json(Method::POST, "/email/verify", None, &json!({"token": 5}))
        .await
        .assert_problem(422);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn without_mail_the_mail_routes_answer_503_and_accounts_work_as_before(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    // The test environment's default transport is `none`.
    let app = TestApp::spawn().await;
    let registered = app
        .register("ann@example.com", PASSWORD)
        .await
        .json_with_status(201);
    assert_eq!(registered["email_verified"], false);
    let ann = app
        .logged_in(&string(&registered["id"]), "ann@example.com", PASSWORD)
        .await;
    app.task(&ann.token, "Buy milk").await;
    let tasks = app.list_tasks(&ann.token).await.json_with_status(200);
    assert_eq!(tasks.as_array().map(Vec::len), Some(1));

    let response = forgot(&app, "ann@example.com").await;
    let body = response.assert_problem(503);
    assert!(
        string(&body["type"]).ends_with("mail-not-configured"),
        "{body}"
    );
    assert!(response.header("retry-after").is_none());
    let body = app
        .call(Method::POST, "/me/email/verification", Some(&ann.token))
        .await
        .assert_problem(503);
    assert!(string(&body["type"]).ends_with("mail-not-configured"));
    let body = change_email(&app, &ann, "new@example.com", PASSWORD)
        .await
        .assert_problem(503);
    assert!(string(&body["type"]).ends_with("mail-not-configured"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_administrator_makes_a_reset_token_without_mail(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("root@example.com").await;
    let ann = app.signed_up("ann@example.com").await;
    let path = format!("/admin/users/{}/password-reset", ann.id);
    app.call(Method::POST, &path, Some(&ann.token))
        .await
        .assert_problem(403);
    app.call(Method::POST, &path, None)
        .await
        .assert_unauthorized();
    app.call(
        Method::POST,
        &format!(
            "/admin/users/{}/password-reset",
            crate::support::random_id()
        ),
        Some(&admin.token),
    )
    .await
    .assert_problem(404);
    let response = app.call(Method::POST, &path, Some(&admin.token)).await;
    let first = response.json_with_status(201);
    assert!(
        response
            .require_header("cache-control")
            .contains("no-store")
    );
    assert!(first["expires_at"].is_string());
    let second = app
        .call(Method::POST, &path, Some(&admin.token))
        .await
        .json_with_status(201);
    // The newer voids the older.
    reset(&app, &string(&first["token"]), NEW_PASSWORD)
        .await
        .assert_unauthorized();
    reset(&app, &string(&second["token"]), NEW_PASSWORD)
        .await
        .assert_status(204);
    app.get_me(&ann.token).await.assert_unauthorized();
    app.login("ann@example.com", NEW_PASSWORD)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_reset_link_command_prints_a_working_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.signed_up("ann@example.com").await;
    let vars: Vec<(&str, &str)> = app
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let output = run_cli(
        &["admin", "reset-link", "--email", "ANN@example.com"],
        &vars,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let token = stdout.lines().next().unwrap_or_default().trim().to_owned();
    assert_eq!(token.len(), 64, "{stdout}");
    reset(&app, &token, NEW_PASSWORD).await.assert_status(204);
    app.login("ann@example.com", NEW_PASSWORD)
        .await
        .assert_status(200);
    let output = run_cli(
        &["admin", "reset-link", "--email", "nobody@example.com"],
        &vars,
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no account"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn registration_mails_one_verification_token_that_verifies_the_address_once(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[]).await else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    let mails = sink.wait_for("ann@example.com", 1).await;
    assert_eq!(verifications(&mails).len(), 1, "{mails:?}");
    assert_eq!(
        app.get_me(&ann.token).await.json_with_status(200)["email_verified"],
        false
    );
    let token = mails[0].token();
    verify(&app, &token).await.assert_status(204);
    let me = app.get_me(&ann.token).await.json_with_status(200);
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!("ann@example.com"), json!(true))
    );
    verify(&app, &token).await.assert_unauthorized();
    // Verified: nothing to resend.
    app.call(Method::POST, "/me/email/verification", Some(&ann.token))
        .await
        .assert_problem(409);
    // That sent nothing: the next mail to arrive is this reset's, and it is the second.
    forgot(&app, "ann@example.com").await.assert_status(202);
    let mails = sink.wait_for("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(sink.mails().len(), 2);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn resending_the_verification_voids_the_older_token(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[]).await else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    let first = sink.wait_for("ann@example.com", 1).await[0].token();
    app.call(Method::POST, "/me/email/verification", None)
        .await
        .assert_unauthorized();
    let response = app
        .call(Method::POST, "/me/email/verification", Some(&ann.token))
        .await;
    response.assert_status(202);
    let mails = sink.wait_for("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2);
    let second = mails
        .iter()
        .map(Mail::token)
        .find(|t| *t != first)
        .unwrap_or_else(|| panic!("a new token: {mails:?}"));
    verify(&app, &first).await.assert_unauthorized();
    verify(&app, &second).await.assert_status(204);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_address_changes_once_the_new_one_is_verified(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "off")]).await
    else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    app.signed_up("bob@example.com").await;
    // Wrong password, a taken address, a malformed one.
    change_email(&app, &ann, "new@example.com", "wrong password")
        .await
        .assert_problem(403);
    change_email(&app, &ann, "BOB@example.com", PASSWORD)
        .await
        .assert_problem(409);
    assert_eq!(
        change_email(&app, &ann, "nope", PASSWORD)
            .await
            .invalid_fields(),
        ["new_email"]
    );
    change_email(&app, &ann, "New@Example.com", PASSWORD)
        .await
        .assert_status(202);
    let mails = sink.wait_for("new@example.com", 1).await;
    // Until verified, nothing changes.
    assert_eq!(
        app.get_me(&ann.token).await.json_with_status(200)["email"],
        "ann@example.com"
    );
    verify(&app, &mails[0].token()).await.assert_status(204);
    let me = app.get_me(&ann.token).await.json_with_status(200);
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!("new@example.com"), json!(true))
    );
    app.login("new@example.com", PASSWORD)
        .await
        .assert_status(200);
    app.login("ann@example.com", PASSWORD)
        .await
        .assert_unauthorized();
    // Nothing went to the other addresses.
    assert_eq!(sink.mails().len(), 1, "{:?}", sink.mails());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_address_taken_meanwhile_is_a_409_at_verification(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "off")]).await
    else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    change_email(&app, &ann, "shared@example.com", PASSWORD)
        .await
        .assert_status(202);
    let token = sink.wait_for("shared@example.com", 1).await[0].token();
    app.register("shared@example.com", PASSWORD)
        .await
        .assert_status(201);
    verify(&app, &token).await.assert_problem(409);
    assert_eq!(
        app.get_me(&ann.token).await.json_with_status(200)["email"],
        "ann@example.com"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn required_verification_refuses_unverified_logins_and_mails_them_a_token(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) =
        app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "required")]).await
    else {
        return;
    };
    app.register("ann@example.com", PASSWORD)
        .await
        .assert_status(201);
    sink.wait_for("ann@example.com", 1).await;
    app.login("ann@example.com", "wrong password")
        .await
        .assert_unauthorized();
    let body: Value = app
        .login("ann@example.com", PASSWORD)
        .await
        .assert_problem(403);
    assert!(
        string(&body["type"]).ends_with("email-not-verified"),
        "{body}"
    );
    // The refused login mailed a new token; the registration's is void.
    let mails = sink.wait_for("ann@example.com", 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let tokens: Vec<String> = mails.iter().map(Mail::token).collect();
    let results = [
        verify(&app, &tokens[0]).await.status.as_u16(),
        verify(&app, &tokens[1]).await.status.as_u16(),
    ];
    let mut sorted = results;
    sorted.sort_unstable();
    assert_eq!(sorted, [204, 401], "one token works, the older is void");
    app.login("ann@example.com", PASSWORD)
        .await
        .assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_address_change_needs_a_recent_password_login(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[
        ("TASKAPI__AUTH__EMAIL_VERIFICATION", "off"),
        ("TASKAPI__AUTH__REAUTH_WINDOW", "4s"),
    ])
    .await
    else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(4_500)).await;
    let refreshed = app.refresh(&ann.refresh_token).await.json_with_status(200);
    let refreshed = TestUser {
        token: string(&refreshed["access_token"]),
        ..ann.clone()
    };
    for user in [&ann, &refreshed] {
        let problem = change_email(&app, user, "new@example.com", PASSWORD)
            .await
            .assert_problem(403);
        assert!(
            string(&problem["type"]).ends_with("reauthentication-required"),
            "{problem}"
        );
    }
    let again = app.logged_in(&ann.id, "ann@example.com", PASSWORD).await;
    change_email(&app, &again, "new@example.com", PASSWORD)
        .await
        .assert_status(202);
    // Only the last request mailed anything.
    sink.wait_for("new@example.com", 1).await;
    assert_eq!(sink.mails().len(), 1);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn two_instances_on_one_database_send_each_queued_mail_exactly_once(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[("TASKAPI__AUTH__EMAIL_VERIFICATION", "off")]).await
    else {
        return;
    };
    // Both instances run a sender over the same queue.
    let sibling = app.spawn_sibling(&[]).await;
    app.signed_up("ann@example.com").await;
    for n in 0..10 {
        let instance = if n % 2 == 0 { &app } else { &sibling };
        forgot(instance, "ann@example.com").await.assert_status(202);
    }
    sink.wait_for("ann@example.com", 10).await;
    // A last one, once delivered, shows that nothing else was on its way.
    forgot(&app, "ann@example.com").await.assert_status(202);
    let mails = sink.wait_for("ann@example.com", 11).await;
    let tokens: std::collections::BTreeSet<String> = mails.iter().map(Mail::token).collect();
    assert_eq!(
        (mails.len(), tokens.len()),
        (11, 11),
        "each mail delivered once"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn resets_wait_in_the_bounded_hashing_queue_and_past_it_get_503_keeping_their_token(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__AUTH__BCRYPT_COST", "10"),
        ("TASKAPI__AUTH__HASH_QUEUE", "1"),
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "1000"),
    ])
    .await;
    let admin = app.signed_up_admin("root@example.com").await;
    let mut tokens = Vec::new();
    for n in 0..24 {
        let user = app
            .register(&format!("user{n}@example.com"), PASSWORD)
            .await
            .json_with_status(201);
        let issued = app
            .call(
                Method::POST,
                &format!("/admin/users/{}/password-reset", string(&user["id"])),
                Some(&admin.token),
            )
            .await
            .json_with_status(201);
        tokens.push(string(&issued["token"]));
    }
    let resets = tokens.iter().map(|token| reset(&app, token, NEW_PASSWORD));
    let answers = futures_util::future::join_all(resets).await;
    let mut refused = Vec::new();
    for (token, answer) in tokens.iter().zip(&answers) {
        match answer.status.as_u16() {
            204 => {}
            503 => {
                answer.assert_problem(503);
                assert!(answer.header("retry-after").is_some());
                refused.push(token);
            }
            other => panic!("a reset in the flood answered {other}: {}", answer.text()),
        }
    }
    assert!(!refused.is_empty(), "every reset of the flood was queued");
    assert!(
        refused.len() < answers.len(),
        "no reset of the flood was done"
    );
    // A refused reset used nothing: its token still works.
    reset(&app, refused[0], NEW_PASSWORD)
        .await
        .assert_status(204);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn wrong_passwords_at_an_address_change_count_as_failed_logins(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some((app, sink)) = app_with_mail(&[
        ("TASKAPI__AUTH__EMAIL_VERIFICATION", "off"),
        ("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "2"),
    ])
    .await
    else {
        return;
    };
    let ann = app.signed_up("ann@example.com").await;
    // A right password gives its attempt back, so it never adds up.
    for _ in 0..3 {
        change_email(&app, &ann, "new@example.com", PASSWORD)
            .await
            .assert_status(202);
    }
    for _ in 0..2 {
        change_email(&app, &ann, "new@example.com", "wrong password")
            .await
            .assert_problem(403);
    }
    let locked = change_email(&app, &ann, "new@example.com", PASSWORD).await;
    locked.assert_problem(429);
    assert!(locked.header("retry-after").is_some());
    app.login("ann@example.com", PASSWORD)
        .await
        .assert_problem(429);
    // The three accepted changes mailed three tokens; the refused ones none.
    let mails = sink.wait_for("new@example.com", 3).await;
    forgot(&app, "ann@example.com").await.assert_status(202);
    sink.wait_for("ann@example.com", 1).await;
    assert_eq!((mails.len(), sink.mails().len()), (3, 4));
}

/// Mail over STARTTLS and over TLS from the first byte, to a server whose self-signed
/// certificate is trusted through `mail.ca_file`: the reset mail arrives and its token
/// works. (The transport does not depend on the database: SQLite only.)
#[rstest]
#[case::starttls(SinkTls::StartTls, "starttls")]
#[case::tls(SinkTls::Tls, "tls")]
#[actix_web::test]
async fn mail_goes_over_starttls_and_tls_to_a_server_trusted_through_ca_file(
    #[case] protection: SinkTls,
    #[case] setting: &str,
) {
    if !Backend::Sqlite.select() {
        return;
    }
    let Some(certificate) = TestCertificate::make() else {
        return;
    };
    let Some(sink) = SmtpSink::start_with(protection, Some(&certificate)) else {
        return;
    };
    let transport = format!("smtp://localhost:{}", sink.port);
    let ca_file = certificate.cert_path().display().to_string();
    let app = TestApp::spawn_with(&[
        ("TASKAPI__MAIL__TRANSPORT", transport.as_str()),
        ("TASKAPI__MAIL__TLS", setting),
        ("TASKAPI__MAIL__CA_FILE", ca_file.as_str()),
        ("TASKAPI__AUTH__EMAIL_VERIFICATION", "off"),
    ])
    .await;
    app.signed_up("ann@example.com").await;
    forgot(&app, "ann@example.com").await.assert_status(202);
    let mails = sink.wait_for("ann@example.com", 1).await;
    reset(&app, &mails[0].token(), NEW_PASSWORD)
        .await
        .assert_status(204);
}

fn smtp_mailer(
    port: u16,
    tls: taskapi_mail::SmtpTls,
    extra_roots_pem: String,
) -> taskapi_mail::SmtpMailer {
    taskapi_mail::SmtpMailer::new(&taskapi_mail::SmtpSettings {
        host: "localhost".to_owned(),
        port,
        tls,
        extra_roots_pem,
        credentials: None,
        from: "taskapi <noreply@taskapi.local>".to_owned(),
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn outgoing(to: &str) -> taskapi_domain::OutgoingMail {
    taskapi_domain::OutgoingMail {
        to: taskapi_domain::Email::parse(to).unwrap_or_else(|e| panic!("{e:?}")),
        subject: "hello".to_owned(),
        body: "a body".to_owned(),
    }
}

/// The SMTP adapter checks what it is told to: an untrusted certificate is refused (mail is
/// not handed to a server it cannot authenticate), a trusted one is accepted, STARTTLS is
/// required when configured (a server that does not offer it gets nothing), and extra roots
/// that hold no certificate are refused when the mailer is made.
#[actix_web::test]
async fn the_smtp_adapter_sends_only_over_the_protection_it_was_told_to_use() {
    use taskapi_domain::Mailer;
    use taskapi_mail::SmtpTls;
    let Some(certificate) = TestCertificate::make() else {
        return;
    };
    for (protection, tls) in [
        (SinkTls::StartTls, SmtpTls::StartTls),
        (SinkTls::Tls, SmtpTls::Tls),
    ] {
        let Some(sink) = SmtpSink::start_with(protection, Some(&certificate)) else {
            return;
        };
        let untrusted = smtp_mailer(sink.port, tls, String::new());
        assert!(
            untrusted.send(&outgoing("ann@example.com")).await.is_err(),
            "{tls:?}: a self-signed certificate outside the trusted roots is refused"
        );
        let trusted = smtp_mailer(sink.port, tls, certificate.cert_pem());
        trusted
            .send(&outgoing("bob@example.com"))
            .await
            .unwrap_or_else(|e| panic!("{tls:?}: {e}"));
        let mails = sink.mails();
        assert_eq!(
            mails.len(),
            1,
            "{tls:?}: only the trusted send arrived: {mails:?}"
        );
        assert!(mails[0].is_to("bob@example.com"));
    }
    let Some(plain) = SmtpSink::start() else {
        return;
    };
    let required = smtp_mailer(plain.port, SmtpTls::StartTls, certificate.cert_pem());
    assert!(
        required.send(&outgoing("ann@example.com")).await.is_err(),
        "STARTTLS is required: a server without it gets nothing"
    );
    assert!(plain.mails().is_empty());
    let not_pem = taskapi_mail::SmtpMailer::new(&taskapi_mail::SmtpSettings {
        host: "localhost".to_owned(),
        port: plain.port,
        tls: SmtpTls::Tls,
        extra_roots_pem: "not a certificate".to_owned(),
        credentials: None,
        from: "taskapi <noreply@taskapi.local>".to_owned(),
        timeout: std::time::Duration::from_secs(10),
    });
    assert!(
        not_pem.is_err(),
        "extra roots without a certificate are refused"
    );
}
