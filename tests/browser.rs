//! The reference web client (`web/`) tested as its users meet it: its modules under Node's
//! test runner, and the whole client in a real browser (Debian's Chromium, driven by
//! playwright-core from `web/node_modules`) against the real server. The page is served by
//! one instance at `/app/` and calls the API of another, on another origin, so CORS and the
//! page's Content-Security-Policy are exercised as in a deployment.
//!
//! Where Node, Chromium or `web/node_modules` (`npm ci` in `web/`) are missing, each test
//! prints one line saying what is missing and passes.

// Tests report failures by panicking; unwrapping is how a test says "this must work".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rstest::rstest;

use support::{Backend, TestApp, free_port, notice};

/// The access-token lifetime of the browser test's API: short, so that the client must
/// renew its tokens several times while the test runs.
const ACCESS_TTL_SECONDS: u64 = 2;

/// Longest the browser script may run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Node, if it runs here.
fn node() -> Option<&'static str> {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| "node")
}

/// The browser: `CHROMIUM` if set, else Debian's.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing() -> Option<String> {
    if node().is_none() {
        return Some("node is not installed".into());
    }
    if !chromium().exists() {
        return Some(format!(
            "{} is not installed (apt-get install chromium)",
            chromium().display()
        ));
    }
    if !web_dir().join("node_modules/playwright-core").is_dir() {
        return Some("web/node_modules has no playwright-core (run `npm ci` in web/)".into());
    }
    None
}

/// Runs `command` off the test's runtime (the servers answer meanwhile), killing it after
/// `timeout`.
async fn run(mut command: Command, timeout: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let pid = child.id();
    let waited = tokio::time::timeout(
        timeout,
        actix_web::rt::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    match waited {
        Ok(done) => done.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("{command:?} ran longer than {timeout:?}");
        }
    }
}

fn report(output: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[actix_web::test]
async fn the_client_modules_pass_their_unit_tests() {
    if node().is_none() {
        notice("skipping the web client's unit tests: node is not installed");
        return;
    }
    let mut command = Command::new("node");
    command
        .arg("--test")
        .arg("tests/unit/")
        .current_dir(web_dir());
    let output = run(command, Duration::from_secs(60)).await;
    assert!(output.status.success(), "{}", report(&output));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[actix_web::test]
async fn two_browsers_log_in_edit_one_task_and_the_stale_one_sees_the_conflict(
    #[case] backend: Backend,
) {
    if !backend.select() {
        return;
    }
    if let Some(why) = browser_missing() {
        notice(&format!("skipping the browser test: {why}"));
        return;
    }
    // The page's server needs the API's origin and the API the page's: the page's port is
    // chosen first.
    let page_port = free_port();
    let page_origin = format!("http://127.0.0.1:{page_port}");
    let ttl = format!("{ACCESS_TTL_SECONDS}s");
    let api = TestApp::spawn_with(&[
        ("TASKAPI__CORS__ALLOWED_ORIGINS", page_origin.as_str()),
        ("TASKAPI__AUTH__ACCESS_TTL", ttl.as_str()),
        // Both browsers renew their tokens every couple of seconds, and the script logs in
        // to check results: more than the default budget of the auth routes per address.
        ("TASKAPI__THROTTLE__PER_ADDRESS_PER_MINUTE", "10000"),
    ])
    .await;
    let page_port_text = page_port.to_string();
    let pages = TestApp::spawn_with(&[
        ("TASKAPI__SERVER__PORT", page_port_text.as_str()),
        ("TASKAPI__WEB__API_ORIGIN", api.address.as_str()),
    ])
    .await;
    pages.get("/app/").await.assert_status(200);

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-client");
    let mut command = Command::new("node");
    command
        .arg("tests/browser.mjs")
        .current_dir(web_dir())
        .env("TASKAPI_APP_URL", format!("{page_origin}/app/"))
        .env("TASKAPI_API_URL", &api.address)
        .env("TASKAPI_ACCESS_TTL_SECONDS", ACCESS_TTL_SECONDS.to_string())
        .env("CHROMIUM", chromium())
        .env("TASKAPI_WEB_ARTIFACTS", &artifacts);
    let output = run(command, BROWSER_TIMEOUT).await;
    assert!(output.status.success(), "{}", report(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Every step ran, none skipped: sharing and live changes included.
    for step in [
        "ok: saving the stale copy shows a conflict",
        "ok: the second user logs in, accepts, and sees the shared list",
        "ok: a task added to the shared list appears live in the other browser",
        "ok: an edit in one browser appears live in the other",
    ] {
        assert!(stdout.contains(step), "{step}\n{}", report(&output));
    }
    assert!(!stdout.contains("skipped"), "{}", report(&output));
}
