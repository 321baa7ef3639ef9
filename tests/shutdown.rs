//! Graceful shutdown: on SIGTERM the server stops accepting connections, lets the request in
//! flight finish, and exits 0 — all within `server.shutdown_timeout`.
//!
//! The slow request is a registration at bcrypt cost 14 (about a second of hashing), so no
//! test-only route is needed.

// Tests report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::Taskapi;

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/taskapi.db", data.path().display());
    let mut server = Taskapi::spawn(
        "shutting down",
        &url,
        &[
            ("TASKAPI__SERVER__SHUTDOWN_TIMEOUT", "10s"),
            ("TASKAPI__AUTH__BCRYPT_COST", "14"),
        ],
    );
    server.wait_ready(Duration::from_secs(60));
    let api = server.api();

    let body = json!({"email": "slow@example.com", "password": "correct horse battery"});
    let in_flight = std::thread::spawn(move || {
        api.request(
            "POST",
            "/register",
            None,
            Some(&body),
            Duration::from_secs(30),
        )
    });
    // Let the request reach the hashing, then ask the server to stop.
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "could not send SIGTERM");

    let response = in_flight
        .join()
        .unwrap()
        .expect("the in-flight request got an answer");
    assert_eq!(
        response.status,
        201,
        "the in-flight registration must complete: {}",
        response.text()
    );
    assert!(
        response.text().contains("slow@example.com"),
        "{}",
        response.text()
    );

    // New connections are refused while (and after) it drains.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        api.get("/ping", None, Duration::from_secs(5)).is_err(),
        "the server still accepts connections after SIGTERM"
    );

    let exit = server
        .wait_exit(Duration::from_secs(10).saturating_sub(signalled.elapsed()))
        .unwrap_or_else(|| panic!("no exit within server.shutdown_timeout"));
    assert!(exit.success(), "taskapi exited with {exit} after SIGTERM");
}
