//! A database URL's password never shows, whether it is given in the user information
//! (`postgres://user:PASSWORD@host/db`) or as a query parameter (`?password=PASSWORD`):
//! not in `taskapi config check`'s output, not in the start-up log line naming the database,
//! not in the message of a start-up that gives up on the database. And a secret the
//! repository shows as an example never starts a production server.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{Taskapi, free_port, postgres_database};

/// The password every URL of these tests carries (unless the test server's URL has one).
const SECRET: &str = "s3cret-in-the-url";

/// `url` (`scheme://[user[:password]@]host…`) in both forms, each carrying a password: in
/// the user information, and as a `password` query parameter (the user information then
/// without one). Keeps a password `url` already has (the server may need it); otherwise
/// uses [`SECRET`]. Returns the two URLs and the password.
fn both_forms(url: &str) -> ([String; 2], String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (user, password, host) = match before_query.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, password)) => (user, password.to_owned(), host),
            None => (userinfo, SECRET.to_owned(), host),
        },
        None => ("", SECRET.to_owned(), before_query),
    };
    let query_of = |extra: Option<String>| {
        let pairs: Vec<String> = query.into_iter().map(str::to_owned).chain(extra).collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    };
    let in_userinfo = format!("{scheme}://{user}:{password}@{host}{}", query_of(None));
    let user_part = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    let in_query = format!(
        "{scheme}://{user_part}{host}{}",
        query_of(Some(format!("password={password}")))
    );
    ([in_userinfo, in_query], password)
}

#[test]
fn the_two_forms_are_built_as_meant() {
    assert_eq!(
        both_forms("postgres://app@db:5432/tasks?sslmode=disable"),
        (
            [
                format!("postgres://app:{SECRET}@db:5432/tasks?sslmode=disable"),
                format!("postgres://app@db:5432/tasks?sslmode=disable&password={SECRET}"),
            ],
            SECRET.to_owned()
        )
    );
    assert_eq!(
        both_forms("postgres://app:pw@db/tasks").0,
        [
            "postgres://app:pw@db/tasks".to_owned(),
            "postgres://app@db/tasks?password=pw".to_owned()
        ]
    );
}

#[test]
fn config_check_prints_the_database_url_without_its_password() {
    let (urls, password) = both_forms("postgres://app@db:5432/tasks?sslmode=require");
    let redacted = [
        "postgres://app:***@db:5432/tasks?sslmode=require".to_owned(),
        "postgres://app@db:5432/tasks?sslmode=require&password=***".to_owned(),
    ];
    for (url, redacted) in urls.iter().zip(redacted) {
        let output = support::run_cli(
            &["config", "check"],
            &[("TASKAPI_ENV", "test"), ("TASKAPI__DATABASE__URL", url)],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{url}: {stderr}");
        assert!(
            stdout.contains(&format!("url = \"{redacted}\"")),
            "config check shows {redacted}:\n{stdout}"
        );
        assert!(
            !stdout.contains(&password) && !stderr.contains(&password),
            "config check shows the password of {url}:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn a_start_up_that_gives_up_names_the_database_without_its_password() {
    let port = free_port(); // nothing listens there
    let (urls, password) = both_forms(&format!("postgres://app@127.0.0.1:{port}/x"));
    let redacted = [
        format!("postgres://app:***@127.0.0.1:{port}/x"),
        format!("postgres://app@127.0.0.1:{port}/x?password=***"),
    ];
    for (url, redacted) in urls.iter().zip(redacted) {
        let mut app = Taskapi::spawn(
            "doomed",
            url,
            &[
                ("TASKAPI__DATABASE__POOL_TIMEOUT", "1s"),
                ("TASKAPI__DATABASE__STARTUP_TIMEOUT", "2s"),
                ("RUST_LOG", "info"),
            ],
        );
        let status = app
            .wait_exit(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("taskapi still runs 15 s after start:\n{}", app.stderr()));
        let stderr = app.stderr();
        assert!(!status.success(), "giving up exits non-zero:\n{stderr}");
        assert!(
            stderr.contains(&redacted),
            "the messages name {redacted}:\n{stderr}"
        );
        assert!(
            !stderr.contains(&password),
            "the password of {url} shows:\n{stderr}"
        );
    }
}

#[test]
fn the_start_up_log_line_names_the_database_without_its_password() {
    let Some(database) = postgres_database() else {
        return; // the harness said why
    };
    let (urls, password) = both_forms(database.url());
    for url in &urls {
        let mut app = Taskapi::spawn("logging", url, &[("RUST_LOG", "info")]);
        app.wait_ready(Duration::from_secs(30));
        let stderr = app.stderr();
        let line = stderr
            .lines()
            .find(|line| line.contains("listening on"))
            .unwrap_or_else(|| panic!("no start-up line:\n{stderr}"));
        assert!(
            line.contains("database postgres://") && line.contains("***"),
            "the start-up line names the database, its password redacted: {line}"
        );
        assert!(
            !stderr.contains(&password),
            "the password of {url} shows:\n{stderr}"
        );
    }
}

#[test]
fn every_command_that_opens_the_database_names_it_without_its_password() {
    let port = free_port(); // nothing listens there
    let (urls, password) = both_forms(&format!("postgres://app@127.0.0.1:{port}/x"));
    let redacted = [
        format!("postgres://app:***@127.0.0.1:{port}/x"),
        format!("postgres://app@127.0.0.1:{port}/x?password=***"),
    ];
    let commands: [&[&str]; 3] = [
        &["migrate"],
        &["admin", "promote", "--email", "admin@example.com"],
        &["admin", "create", "--email", "admin@example.com"],
    ];
    for (url, redacted) in urls.iter().zip(&redacted) {
        for args in commands {
            let output = support::run_cli(
                args,
                &[
                    ("TASKAPI_ENV", "test"),
                    ("TASKAPI__DATABASE__URL", url),
                    ("TASKAPI__DATABASE__POOL_TIMEOUT", "1s"),
                    ("TASKAPI__DATABASE__STARTUP_TIMEOUT", "1s"),
                    ("TASKAPI_ADMIN_PASSWORD", "correct horse battery staple"),
                    ("RUST_LOG", "debug"),
                ],
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{args:?} gives up:\n{stderr}");
            assert!(
                stderr.contains(redacted.as_str()),
                "{args:?} names {redacted}:\n{stderr}"
            );
            assert!(
                !stdout.contains(&password) && !stderr.contains(&password),
                "{args:?} shows the password of {url}:\n{stdout}\n{stderr}"
            );
        }
    }
}

#[test]
fn a_refused_database_url_is_not_echoed_with_its_password() {
    for (var, url) in [
        (
            "TASKAPI__DATABASE__URL",
            format!("mysql://app:{SECRET}@db/x"),
        ),
        (
            "DATABASE_URL",
            format!("mysql://app@db/x?password={SECRET}"),
        ),
    ] {
        for args in [&["config", "check"][..], &["migrate"][..]] {
            let output = support::run_cli(args, &[("TASKAPI_ENV", "test"), (var, &url)]);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{args:?} refuses {url}");
            assert!(
                stderr.contains("database.url"),
                "{args:?} names the key:\n{stderr}"
            );
            assert!(
                !stdout.contains(SECRET) && !stderr.contains(SECRET),
                "{args:?} shows the password of {url}:\n{stdout}\n{stderr}"
            );
        }
    }
}

#[test]
fn production_refuses_to_start_with_the_example_secret() {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/.env.example"),
    )
    .unwrap();
    let secret = example
        .lines()
        .find_map(|line| line.strip_prefix("TASKAPI__AUTH__JWT_SECRET="))
        .expect("docker/.env.example shows a JWT secret")
        .trim()
        .to_owned();
    for args in [&["config", "check"][..], &["migrate"][..]] {
        let output = support::run_cli(
            args,
            &[
                ("TASKAPI_ENV", "production"),
                (
                    "TASKAPI__DATABASE__URL",
                    "sqlite:///nonexistent-dir/never.db",
                ),
                ("TASKAPI__AUTH__JWT_SECRET", &secret),
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{args:?} starts with the example secret"
        );
        assert!(
            stderr.contains("auth.jwt_secret") && stderr.contains("placeholder"),
            "{args:?} names the key and why:\n{stderr}"
        );
        assert!(
            !stderr.contains(&secret),
            "{args:?} echoes the secret:\n{stderr}"
        );
    }
}
