//! Limits that keep one client, account or address from denying the service to others: the
//! bounded password-hashing queue, failed-login lockout per email and address (and per email
//! in total), wrong current passwords counted as failed logins, bounded throttle state, the
//! catch-all trusted proxy refused, task quotas and write rates, and passwords re-hashed at
//! a new bcrypt cost.

use std::path::Path;
use std::time::Duration;

use awc::http::Method;
use rstest::rstest;
use serde_json::json;

use crate::support::{Backend, PASSWORD, Response, TestApp, send};

#[track_caller]
fn assert_retry_after(response: &Response, status: u16, most: u64) {
    response.assert_problem(status);
    let retry: u64 = response
        .require_header("retry-after")
        .parse()
        .unwrap_or_else(|e| panic!("Retry-After is whole seconds: {e}"));
    assert!((1..=most).contains(&retry), "Retry-After: {retry}");
}

/// `POST /login` as the client at `address` behind the trusted loopback proxy.
async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> Response {
    send(
        app.request(Method::POST, "/login")
            .insert_header(("x-forwarded-for", address.to_owned()))
            .send_json(&json!({"email": email, "password": password})),
    )
    .await
}

const BEHIND_PROXY: (&str, &str) = ("TASKAPI__SERVER__TRUSTED_PROXIES", "127.0.0.1,::1");

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_hashing_flood_gets_503_at_once_past_the_queue(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__AUTH__BCRYPT_COST", "10"),
        ("TASKAPI__AUTH__HASH_QUEUE", "1"),
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "1000"),
    ])
    .await;
    // One thread per core and one waiting check: 24 checks at once cannot all be taken.
    let logins = (0..24).map(|n| {
        let app = &app;
        async move {
            app.login(&format!("nobody{n}@example.com"), "wrong password")
                .await
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    let mut refused = 0;
    for answer in &answers {
        match answer.status.as_u16() {
            401 => {}
            503 => {
                assert_retry_after(answer, 503, 60);
                refused += 1;
            }
            other => panic!("a login in the flood answered {other}: {}", answer.text()),
        }
    }
    assert!(refused > 0, "every login of the flood was queued");
    assert!(refused < answers.len(), "no login of the flood was checked");
    // The flood over, checks are taken again.
    app.login("nobody@example.com", "wrong password")
        .await
        .assert_problem(401);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn failures_from_one_address_do_not_lock_the_owner_out_at_another(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "3"),
        BEHIND_PROXY,
    ])
    .await;
    app.register("owner@example.com", PASSWORD)
        .await
        .assert_status(201);
    for _ in 0..3 {
        login_from(&app, "203.0.113.7", "owner@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    // Locked there, even with the right password…
    assert_retry_after(
        &login_from(&app, "203.0.113.7", "owner@example.com", PASSWORD).await,
        429,
        900,
    );
    // …but not from the owner's own address, nor for the attacker's other emails.
    login_from(&app, "198.51.100.20", "owner@example.com", PASSWORD)
        .await
        .assert_status(200);
    login_from(&app, "203.0.113.7", "someone@example.com", "wrong password")
        .await
        .assert_problem(401);
    // An IPv6 client is one client per /64.
    for n in 0..3 {
        login_from(
            &app,
            &format!("2001:db8:7:7::{n}"),
            "owner@example.com",
            "wrong password",
        )
        .await
        .assert_problem(401);
    }
    assert_retry_after(
        &login_from(&app, "2001:db8:7:7:ffff::9", "owner@example.com", PASSWORD).await,
        429,
        900,
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn an_email_is_locked_everywhere_past_its_total_budget(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "3"),
        ("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL_TOTAL", "4"),
        BEHIND_PROXY,
    ])
    .await;
    app.register("target@example.com", PASSWORD)
        .await
        .assert_status(201);
    // A distributed guess: two failures from each of two addresses.
    for address in ["192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"] {
        login_from(&app, address, "target@example.com", "wrong password")
            .await
            .assert_problem(401);
    }
    assert_retry_after(
        &login_from(&app, "192.0.2.99", "target@example.com", PASSWORD).await,
        429,
        900,
    );
    login_from(&app, "192.0.2.99", "other@example.com", "wrong password")
        .await
        .assert_problem(401);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn wrong_current_passwords_count_as_failed_logins(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__FAILED_LOGINS_PER_EMAIL", "2")]).await;
    let user = app.signed_up("guessed@example.com").await;
    for _ in 0..2 {
        app.change_password(&user.token, "not my password", "new password 1")
            .await
            .assert_problem(403);
    }
    // Locked for both routes, the right password included.
    assert_retry_after(
        &app.change_password(&user.token, PASSWORD, "new password 1")
            .await,
        429,
        900,
    );
    assert_retry_after(&app.login("guessed@example.com", PASSWORD).await, 429, 900);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn account_routes_share_the_auth_routes_budget_per_address(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "4")]).await;
    // Registration and login spend two.
    let user = app.signed_up("spender@example.com").await;
    app.change_password(&user.token, "not my password", "new password 1")
        .await
        .assert_problem(403);
    app.login("spender@example.com", "wrong password")
        .await
        .assert_problem(401);
    assert_retry_after(&app.delete_me(&user.token).await, 429, 60);
    assert_retry_after(
        &app.change_password(&user.token, PASSWORD, "new password 1")
            .await,
        429,
        60,
    );
    assert_retry_after(&app.login("spender@example.com", PASSWORD).await, 429, 60);
    // The account is still there: nothing refused was done.
    app.get_me(&user.token).await.assert_status(200);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn throttle_state_forgets_clients_past_its_bound(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "1"),
        ("TASKAPI__THROTTLE__MAX_TRACKED_KEYS", "16"),
        BEHIND_PROXY,
    ])
    .await;
    // Refused bodies cost no hashing, but each one counts against its address first.
    let register_from = |address: String| {
        send(
            app.request(Method::POST, "/register")
                .insert_header(("x-forwarded-for", address))
                .send_json(&json!({})),
        )
    };
    // A budget of one: a client seen again within the minute is refused…
    register_from("198.51.100.1".into())
        .await
        .assert_problem(422);
    assert_retry_after(&register_from("198.51.100.1".into()).await, 429, 60);
    // …unless far more distinct clients than the throttle keeps came since: the least
    // recently seen is forgotten, and its budget is whole again, which a store remembering
    // every client would not allow.
    for n in 0..400u32 {
        let address = std::net::Ipv4Addr::from(0x0a00_0000 + n).to_string();
        register_from(address).await.assert_problem(422);
    }
    register_from("198.51.100.1".into())
        .await
        .assert_problem(422);
}

#[test]
fn a_catch_all_trusted_proxy_stops_start_up_naming_the_key() {
    for catch_all in ["0.0.0.0/0", "::/0", "10.0.0.1, 0.0.0.0/0"] {
        let vars = [
            ("TASKAPI_ENV".to_owned(), "test".to_owned()),
            (
                "TASKAPI__SERVER__TRUSTED_PROXIES".to_owned(),
                catch_all.to_owned(),
            ),
        ];
        let refused = taskapi::Settings::load_from(Path::new("config"), &vars)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("server.trusted_proxies")),
            "{catch_all}: {refused:?}"
        );
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn tasks_past_the_quota_are_409_quota_exceeded(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__QUOTA__TASKS_PER_USER", "3")]).await;
    let (user, other) = (
        app.signed_up("full@example.com").await,
        app.signed_up("roomy@example.com").await,
    );
    let mut ids = Vec::new();
    for n in 0..3 {
        let task = app
            .create_task(&user.token, &json!({"title": format!("t{n}")}))
            .await
            .json_with_status(201);
        ids.push(task["id"].as_str().unwrap_or_default().to_owned());
    }
    let refused = app
        .create_task(&user.token, &json!({"title": "one too many"}))
        .await;
    let problem = refused.assert_problem(409);
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("quota-exceeded")),
        "{problem}"
    );
    // With an Idempotency-Key alike; and the refused key is not spent.
    let keyed = |key: &str| {
        send(
            app.request(Method::POST, "/tasks")
                .bearer_auth(&user.token)
                .insert_header(("idempotency-key", key.to_owned()))
                .send_json(&json!({"title": "keyed"})),
        )
    };
    keyed("k-1").await.assert_problem(409);
    let listed = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    app.create_task(&other.token, &json!({"title": "mine"}))
        .await
        .assert_status(201);
    // A deleted task stays in the trash, and counts, until the trash purge: deleting does
    // not make room (the storage suite tests that the purge does).
    app.delete_task(&user.token, &ids[0])
        .await
        .assert_status(204);
    keyed("k-1").await.assert_problem(409);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn concurrent_creates_cannot_pass_the_task_quota(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__QUOTA__TASKS_PER_USER", "5")]).await;
    let user = app.signed_up("racer@example.com").await;
    let creates = (0..16).map(|n| {
        let (app, token) = (&app, user.token.clone());
        async move {
            app.create_task(&token, &json!({"title": format!("t{n}")}))
                .await
        }
    });
    let answers = futures_util::future::join_all(creates).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    for answer in answers.iter().filter(|a| a.status.as_u16() != 201) {
        answer.assert_problem(409);
    }
    assert_eq!(created, 5);
    let listed = app.list_tasks(&user.token).await.json_with_status(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(5), "{listed}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn task_writes_past_the_rate_get_429_with_retry_after(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[
        ("TASKAPI__QUOTA__WRITES_PER_MINUTE", "3"),
        ("TASKAPI__THROTTLE__ENABLED", "false"),
    ])
    .await;
    let (user, other) = (
        app.signed_up("busy@example.com").await,
        app.signed_up("calm@example.com").await,
    );
    let task = app
        .create_task(&user.token, &json!({"title": "one"}))
        .await
        .json_with_status(201);
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    app.patch_task(&user.token, &id, &json!({"is_done": true}))
        .await
        .assert_status(200);
    app.delete_task(&user.token, &id).await.assert_status(204);
    assert_retry_after(
        &app.create_task(&user.token, &json!({"title": "four"}))
            .await,
        429,
        60,
    );
    // Reads are not writes, and other accounts have budgets of their own.
    app.list_tasks(&user.token).await.assert_status(200);
    app.create_task(&other.token, &json!({"title": "mine"}))
        .await
        .assert_status(201);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_login_after_the_cost_changed_stores_the_password_at_the_new_cost(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    app.register("ada@example.com", PASSWORD)
        .await
        .assert_status(201);
    let stored = || async {
        let database = taskapi_storage::Database::connect(
            &app.settings.database.url,
            taskapi_storage::PoolSettings {
                size: 1,
                timeout: Duration::from_secs(5),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        database
            .users()
            .find_by_email("ada@example.com")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the account is gone"))
            .password_hash
            .as_str()
            .to_owned()
    };
    let first = stored().await;
    assert!(first.starts_with("$2b$04$"), "{first}");
    // The same database, now served at cost 5.
    let upgraded = app
        .spawn_sibling(&[("TASKAPI__AUTH__BCRYPT_COST", "5")])
        .await;
    upgraded
        .login("ada@example.com", "wrong password")
        .await
        .assert_problem(401);
    assert_eq!(stored().await, first, "a failed login changes nothing");
    let session = upgraded
        .login("ada@example.com", PASSWORD)
        .await
        .json_with_status(200);
    let rehashed = stored().await;
    assert!(rehashed.starts_with("$2b$05$"), "{rehashed}");
    // The same password still logs in, on either instance, and the session lives on.
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_status(200);
    let token = session["access_token"].as_str().unwrap_or_default();
    upgraded.get_me(token).await.assert_status(200);
}
