//! The log never shows a secret: the real binary runs as a child process at the most
//! verbose level while a whole session goes through it, and its output is searched for every
//! password, hash, token and Authorization header that went by.

use rstest::rstest;

use crate::support::Backend;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use awc::http::Method;
use serde_json::json;

use crate::support::{Client, JWT_SECRET, PASSWORD, SmtpSink, TestApp, send, string};

/// Runs `taskapi serve` on the test app's database and returns a client for it, the child,
/// and a receiver of every line it writes (stdout and stderr).
fn serve_in_child(app: &TestApp) -> (Client, std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskapi"))
        .arg("--config-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
        .arg("serve")
        .current_dir(app.data_path())
        .env_clear()
        .envs(app.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run taskapi: {e}"));
    let (lines, received) = mpsc::channel();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut seen = Vec::new();
    let port = loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start; it said: {seen:#?}"));
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            seen.push(line);
            break port;
        }
        seen.push(line);
    };
    let client = app.client_of(format!("http://127.0.0.1:{port}"));
    // Put the start-up lines back in front of the rest.
    let (tx, rx) = mpsc::channel();
    for line in seen {
        let _ = tx.send(line);
    }
    std::thread::spawn(move || {
        for line in received {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (client, child, rx)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn no_password_hash_token_or_authorization_header_is_ever_logged(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__ENABLED", "false")]).await;
    let (server, mut child, lines) = serve_in_child(&app);
    let mut secrets: Vec<String> = vec![
        PASSWORD.to_owned(),
        JWT_SECRET.to_owned(),
        "wrong horse battery".to_owned(),
        "second passphrase!".to_owned(),
        "bearer-garbage-XYZ123".to_owned(),
    ];

    server
        .register("Logged.User@example.com", PASSWORD)
        .await
        .assert_status(201);
    server
        .login("logged.user@example.com", "wrong horse battery")
        .await
        .assert_status(401);
    let user = server.signed_up("other.user@example.com").await;
    secrets.extend([user.token.clone(), user.refresh_token.clone()]);
    let login = server
        .login("logged.user@example.com", PASSWORD)
        .await
        .json_with_status(200);
    let (token, refresh) = (
        string(&login["access_token"]),
        string(&login["refresh_token"]),
    );
    secrets.extend([token.clone(), refresh.clone()]);
    server.get_me(&token).await.assert_status(200);
    server.task(&token, "a task").await;
    let rotated = server.refresh(&refresh).await.json_with_status(200);
    let (token, refresh2) = (
        string(&rotated["access_token"]),
        string(&rotated["refresh_token"]),
    );
    secrets.extend([token.clone(), refresh2.clone()]);
    server.refresh(&refresh).await.assert_unauthorized();
    let again = server
        .login("logged.user@example.com", PASSWORD)
        .await
        .json_with_status(200);
    let token = string(&again["access_token"]);
    secrets.extend([token.clone(), string(&again["refresh_token"])]);
    server
        .logout(&token, &string(&again["refresh_token"]))
        .await
        .assert_status(204);
    let third = server
        .login("logged.user@example.com", PASSWORD)
        .await
        .json_with_status(200);
    let token = string(&third["access_token"]);
    secrets.extend([token.clone(), string(&third["refresh_token"])]);
    server
        .change_password(&token, PASSWORD, "second passphrase!")
        .await
        .assert_status(204);
    send(
        server
            .request(Method::GET, "/me")
            .insert_header(("authorization", "Bearer bearer-garbage-XYZ123"))
            .send(),
    )
    .await
    .assert_unauthorized();
    server
        .call_json(
            Method::POST,
            "/register",
            None,
            &json!({"email": "x", "password": PASSWORD}),
        )
        .await
        .assert_status(422);
    // A long query string (too long a `q`, too): never logged, so the log needs no bound on
    // it.
    let marker = "query-string-marker-QSM";
    secrets.push(marker.to_owned());
    let query = format!("/tasks?q={}{}", marker, "q".repeat(4_000));
    server
        .call(Method::GET, &query, Some(&user.token))
        .await
        .assert_status(422);
    server.logout_all(&user.token).await.assert_status(204);
    server.delete_me(&user.token).await.assert_unauthorized();

    // The stored hashes, read straight from the database.
    let database = taskapi_storage::Database::connect(
        &app.settings.database.url,
        taskapi_storage::PoolSettings {
            size: 1,
            timeout: Duration::from_secs(5),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stored = database
        .users()
        .find_by_email("logged.user@example.com")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the account is gone"));
    secrets.push(stored.password_hash.as_str().to_owned());
    drop(database);

    let _ = child.kill();
    let _ = child.wait();
    let log: Vec<String> = lines.iter().collect();
    let access_lines = log.iter().filter(|l| l.contains("taskapi::access")).count();
    assert!(access_lines >= 15, "the access log was captured: {log:#?}");
    assert!(log.iter().any(|l| l.contains("POST /token/refresh 401")));
    for secret in &secrets {
        // Long enough to be unmistakable; a token's signature part is checked on its own too.
        let pieces: Vec<&str> = std::iter::once(secret.as_str())
            .chain(secret.split('.').filter(|p| p.len() >= 16))
            .collect();
        for piece in pieces {
            if let Some(line) = log.iter().find(|l| l.contains(piece)) {
                panic!("a secret appears in the log: {line}");
            }
        }
    }
    for line in &log {
        let lower = line.to_ascii_lowercase();
        assert!(!lower.contains("authorization:"), "{line}");
        assert!(!lower.contains("bearer ey"), "{line}");
        assert!(!line.contains("$2b$"), "a bcrypt hash: {line}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn no_mail_token_or_content_is_logged_with_the_smtp_transport(#[case] backend: Backend) {
    if !backend.select() {
        return;
    }
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    // Only the child sends mail (this process's instance has none configured), so every
    // delivery happens where the log is read.
    let mut app = TestApp::spawn_with(&[("TASKAPI__THROTTLE__ENABLED", "false")]).await;
    app.vars.extend(sink.vars());
    let (server, mut child, lines) = serve_in_child(&app);
    server
        .register("mailed@example.com", PASSWORD)
        .await
        .assert_status(201);
    server
        .call_json(
            Method::POST,
            "/password/forgot",
            None,
            &json!({"email": "mailed@example.com"}),
        )
        .await
        .assert_status(202);
    let mails = sink.wait_for("mailed@example.com", 2).await;
    let tokens: Vec<String> = mails.iter().map(|m| m.token()).collect();
    for mail in &mails {
        let token = mail.token();
        let (path, body) = if mail.subject.contains("Reset") {
            (
                "/password/reset",
                json!({"token": token, "new_password": "another passphrase"}),
            )
        } else {
            ("/email/verify", json!({"token": token}))
        };
        server
            .call_json(Method::POST, path, None, &body)
            .await
            .assert_status(204);
    }
    let _ = child.kill();
    let _ = child.wait();
    let log: Vec<String> = lines.iter().collect();
    assert!(
        log.iter().any(|l| l.contains("POST /password/forgot 202")),
        "the access log was captured: {log:#?}"
    );
    for line in &log {
        for token in &tokens {
            assert!(
                !line.contains(token.as_str()),
                "a mailed token is in the log: {line}"
            );
        }
        for mail in &mails {
            assert!(
                !line.contains(&mail.subject),
                "a mail's subject is in the log: {line}"
            );
        }
        assert!(
            !line.contains("valid once for"),
            "a mail's body is in the log: {line}"
        );
    }
}
