//! The admin API: roles, the 403 for everyone else, paginated account lists, changes that
//! end sessions, the last-admin rule, and the command-line bootstrap.

use rstest::rstest;

use crate::support::Backend;

use awc::http::Method;
use serde_json::{Value, json};

use crate::support::{PASSWORD, Response, TestApp, random_id, string};

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array: {list}"))
        .iter()
        .map(|u| string(&u["email"]))
        .collect()
}

/// The `rel="next"` target of a `Link` header, if any.
fn next_page(response: &Response) -> Option<String> {
    let link = response.header("link")?;
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    let target = link.strip_prefix('<')?.split('>').next()?;
    assert!(target.starts_with("/admin/users?"), "{target}");
    Some(target.to_owned())
}

async fn patch_user(app: &TestApp, token: &str, id: &str, body: &Value) -> Response {
    app.call_json(
        Method::PATCH,
        &format!("/admin/users/{id}"),
        Some(token),
        body,
    )
    .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn non_admins_get_403_on_every_admin_route_and_no_token_401(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let id = user.id.clone();
    let routes = [
        (Method::GET, "/admin/users".to_owned()),
        (Method::GET, format!("/admin/users/{id}")),
        (Method::PATCH, format!("/admin/users/{id}")),
        (Method::DELETE, format!("/admin/users/{id}")),
        (Method::GET, format!("/admin/users/{id}/tasks")),
    ];
    for (method, path) in &routes {
        let forbidden = app.call(method.clone(), path, Some(&user.token)).await;
        forbidden.assert_problem(403);
        app.call(method.clone(), path, None)
            .await
            .assert_unauthorized();
    }
    // 403 comes before bad bodies, bad parameters and unknown ids.
    app.call_raw(
        Method::PATCH,
        &format!("/admin/users/{}", random_id()),
        Some(&user.token),
        Some("text/plain"),
        "nope",
    )
    .await
    .assert_problem(403);
    app.call(
        Method::GET,
        "/admin/users?limit=0&bogus=1",
        Some(&user.token),
    )
    .await
    .assert_problem(403);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn admins_read_accounts_and_their_tasks(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("root@example.com").await;
    let me = app.get_me(&admin.token).await.json_with_status(200);
    assert_eq!(me["role"], "admin");
    let user = app.signed_up("worker@example.com").await;
    app.task(&user.token, "first").await;
    app.task(&user.token, "second").await;

    let found = app
        .call(
            Method::GET,
            &format!("/admin/users/{}", user.id),
            Some(&admin.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(found["email"], "worker@example.com");
    assert!(found.get("password_hash").is_none());
    let tasks = app
        .call(
            Method::GET,
            &format!("/admin/users/{}/tasks", user.id),
            Some(&admin.token),
        )
        .await
        .json_with_status(200);
    let titles: Vec<String> = tasks
        .as_array()
        .map(|t| t.iter().map(|t| string(&t["title"])).collect())
        .unwrap_or_default();
    assert_eq!(titles, ["first", "second"], "oldest first");

    for path in [
        format!("/admin/users/{}", random_id()),
        "/admin/users/not-a-uuid".to_owned(),
        format!("/admin/users/{}/tasks", random_id()),
    ] {
        app.call(Method::GET, &path, Some(&admin.token))
            .await
            .assert_problem(404);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_account_list_pages_with_a_link_and_filters(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__ENABLED", "false")]).await;
    let admin = app.signed_up_admin("admin@example.com").await;
    for name in ["eve", "carol", "bob", "dave"] {
        app.register(&format!("{name}@example.com"), PASSWORD)
            .await
            .assert_status(201);
    }
    // Oldest first, two at a time, following Link until it is gone.
    let mut seen = Vec::new();
    let mut path = Some("/admin/users?limit=2".to_owned());
    let mut pages = 0;
    while let Some(p) = path {
        let response = app.call(Method::GET, &p, Some(&admin.token)).await;
        let page = response.json_with_status(200);
        assert!(page.as_array().is_some_and(|a| a.len() <= 2));
        seen.extend(emails(&page));
        path = next_page(&response);
        pages += 1;
        assert!(pages < 10, "pagination must end");
    }
    assert_eq!(
        seen,
        [
            "admin@example.com",
            "eve@example.com",
            "carol@example.com",
            "bob@example.com",
            "dave@example.com"
        ]
    );

    let by_email = app
        .call(
            Method::GET,
            "/admin/users?sort=-email&limit=3",
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        emails(&by_email.json_with_status(200)),
        ["eve@example.com", "dave@example.com", "carol@example.com"]
    );
    let rest = app
        .call(
            Method::GET,
            &next_page(&by_email).unwrap_or_default(),
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        emails(&rest.json_with_status(200)),
        ["bob@example.com", "admin@example.com"]
    );
    assert_eq!(next_page(&rest), None);

    let filtered = app
        .call(
            Method::GET,
            "/admin/users?q=A&role=admin&disabled=false",
            Some(&admin.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(emails(&filtered), ["admin@example.com"]);
    let none = app
        .call(
            Method::GET,
            "/admin/users?disabled=true",
            Some(&admin.token),
        )
        .await
        .json_with_status(200);
    assert_eq!(none, json!([]));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn bad_list_parameters_are_422_naming_each(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("admin@example.com").await;
    let response = app
        .call(
            Method::GET,
            "/admin/users?limit=101&sort=name&role=root&disabled=maybe&cursor=zz&colour=red",
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        response.invalid_fields(),
        ["limit", "sort", "role", "disabled", "colour"]
    );
    let response = app
        .call(Method::GET, "/admin/users?cursor=abcd", Some(&admin.token))
        .await;
    assert_eq!(response.invalid_fields(), ["cursor"]);
    let response = app
        .call(Method::GET, "/admin/users?limit=0", Some(&admin.token))
        .await;
    assert_eq!(response.invalid_fields(), ["limit"]);
    // A cursor of one order is refused in another.
    app.register("x@example.com", PASSWORD)
        .await
        .assert_status(201);
    let first = app
        .call(Method::GET, "/admin/users?limit=1", Some(&admin.token))
        .await;
    let next = next_page(&first).unwrap_or_default();
    let cursor = next.split("cursor=").nth(1).unwrap_or_default().to_owned();
    let response = app
        .call(
            Method::GET,
            &format!("/admin/users?sort=email&cursor={cursor}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(response.invalid_fields(), ["cursor"]);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn disabling_an_account_ends_its_sessions_and_refuses_its_logins(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("admin@example.com").await;
    let user = app.user().await;
    let changed = patch_user(&app, &admin.token, &user.id, &json!({"disabled": true}))
        .await
        .json_with_status(200);
    assert_eq!(changed["disabled"], true);
    app.get_me(&user.token).await.assert_unauthorized();
    app.refresh(&user.refresh_token).await.assert_unauthorized();
    app.login(&user.email, PASSWORD).await.assert_problem(403);
    app.login(&user.email, "wrong password")
        .await
        .assert_problem(401);
    // Enabled again, it logs in again.
    patch_user(&app, &admin.token, &user.id, &json!({"disabled": false}))
        .await
        .assert_status(200);
    app.logged_in(&user.id, &user.email, PASSWORD).await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn a_role_change_ends_the_accounts_sessions_and_takes_effect_at_the_next_login(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("admin@example.com").await;
    let user = app.user().await;
    let promoted = patch_user(&app, &admin.token, &user.id, &json!({"role": "admin"}))
        .await
        .json_with_status(200);
    assert_eq!(promoted["role"], "admin");
    app.get_me(&user.token).await.assert_unauthorized();
    let again = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.call(Method::GET, "/admin/users", Some(&again.token))
        .await
        .assert_status(200);
    // A patch that changes nothing ends nothing.
    patch_user(
        &app,
        &admin.token,
        &user.id,
        &json!({"role": "admin", "id": "ignored"}),
    )
    .await
    .assert_status(200);
    app.get_me(&again.token).await.assert_status(200);
    let response = patch_user(
        &app,
        &admin.token,
        &user.id,
        &json!({"role": "root", "x": 1}),
    )
    .await;
    assert_eq!(response.invalid_fields(), ["role", "x"]);
    let response = patch_user(&app, &admin.token, &user.id, &json!({"disabled": null})).await;
    assert_eq!(response.invalid_fields(), ["disabled"]);
    patch_user(&app, &admin.token, &random_id(), &json!({"role": "user"}))
        .await
        .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_last_active_admin_cannot_demote_disable_or_delete_themself(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("admin@example.com").await;
    for body in [json!({"role": "user"}), json!({"disabled": true})] {
        patch_user(&app, &admin.token, &admin.id, &body)
            .await
            .assert_problem(409);
    }
    app.call(
        Method::DELETE,
        &format!("/admin/users/{}", admin.id),
        Some(&admin.token),
    )
    .await
    .assert_problem(409);
    app.delete_me(&admin.token).await.assert_problem(409);
    let me = app.get_me(&admin.token).await.json_with_status(200);
    assert_eq!(
        (me["role"].clone(), me["disabled"].clone()),
        (json!("admin"), json!(false))
    );

    // With a second admin, the first may step down.
    let second = app.signed_up_admin("second@example.com").await;
    patch_user(&app, &admin.token, &admin.id, &json!({"role": "user"}))
        .await
        .assert_status(200);
    app.get_me(&admin.token).await.assert_unauthorized();
    app.call(
        Method::DELETE,
        &format!("/admin/users/{}", second.id),
        Some(&second.token),
    )
    .await
    .assert_problem(409);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn admins_delete_accounts_with_their_tasks_and_tokens(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin("admin@example.com").await;
    let user = app.user().await;
    app.task(&user.token, "doomed").await;
    app.call(
        Method::DELETE,
        &format!("/admin/users/{}", user.id),
        Some(&admin.token),
    )
    .await
    .assert_status(204);
    app.get_me(&user.token).await.assert_unauthorized();
    app.call(
        Method::GET,
        &format!("/admin/users/{}", user.id),
        Some(&admin.token),
    )
    .await
    .assert_problem(404);
    app.call(
        Method::DELETE,
        &format!("/admin/users/{}", user.id),
        Some(&admin.token),
    )
    .await
    .assert_problem(404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn the_cli_creates_and_promotes_administrators(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn().await;
    let run = |args: &[&str], password: Option<&str>, stdin: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_taskapi"));
        command
            .args(args)
            .current_dir(app.data_path())
            .env_clear()
            .envs(app.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--config-dir")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(p) = password {
            command.env("TASKAPI_ADMIN_PASSWORD", p);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run taskapi: {e}"));
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
            let _ = input.write_all(stdin.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("taskapi failed: {e}"))
    };
    let created = run(
        &["admin", "create", "--email", "Boss@Example.com"],
        None,
        &format!("{PASSWORD}\n"),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let boss = app
        .login("boss@example.com", PASSWORD)
        .await
        .json_with_status(200);
    let token = string(&boss["access_token"]);
    app.call(Method::GET, "/admin/users", Some(&token))
        .await
        .assert_status(200);

    let env_password = run(
        &["admin", "create", "--email", "env@example.com"],
        Some("from the environment"),
        "",
    );
    assert!(env_password.status.success());
    app.login("env@example.com", "from the environment")
        .await
        .assert_status(200);

    let user = app.user().await;
    let promoted = run(&["admin", "promote", "--email", &user.email], None, "");
    assert!(
        promoted.status.success(),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    app.get_me(&user.token).await.assert_unauthorized();
    let again = app.logged_in(&user.id, &user.email, PASSWORD).await;
    app.call(Method::GET, "/admin/users", Some(&again.token))
        .await
        .assert_status(200);

    for (args, password) in [
        (
            &["admin", "promote", "--email", "ghost@example.com"][..],
            None,
        ),
        (
            &["admin", "create", "--email", "boss@example.com"][..],
            Some("another password"),
        ),
        (
            &["admin", "create", "--email", "weak@example.com"][..],
            Some("short"),
        ),
    ] {
        let failed = run(args, password, "");
        assert!(!failed.status.success(), "{args:?} should fail");
    }
}
