//! At start-up the server raises its soft open-file limit to hold `server.max_connections`
//! (plus the pool and a reserve), never past the hard limit; when the hard limit is too low
//! it says what the connection limit is capped to, and still serves.
//!
//! The limits are the child process's own (set by the shell that starts it), so SQLite
//! suffices: nothing here depends on the backend.

// Tests report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::Taskapi;

/// The child's (soft, hard) open-file limit, from /proc.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no open-file limit in {limits}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn hard_limit_here() -> u64 {
    open_file_limits(std::process::id()).1
}

#[test]
fn the_soft_open_file_limit_is_raised_to_hold_max_connections() {
    let hard = hard_limit_here();
    if hard < 3000 {
        support::notice("the hard open-file limit is below 3000 here; not testing the raise");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/taskapi.db", data.path().display());
    let mut server = Taskapi::spawn_with_open_files(
        "raising",
        &url,
        &[("TASKAPI__SERVER__MAX_CONNECTIONS", "2000")],
        (512, hard),
    );
    server.wait_ready(Duration::from_secs(60));
    let (soft, child_hard) = open_file_limits(server.pid());
    assert_eq!(child_hard, hard);
    // 2000 connections, the pool (at least 4) and the reserve of 256.
    assert!((2260..3000).contains(&soft), "soft limit {soft}");
    assert!(
        !server.stderr().contains("server.max_connections"),
        "{}",
        server.stderr()
    );
}

#[test]
fn a_hard_limit_too_low_caps_the_connections_with_a_warning() {
    if hard_limit_here() < 1000 {
        support::notice("the hard open-file limit is below 1000 here; not testing the cap");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/taskapi.db", data.path().display());
    let mut server = Taskapi::spawn_with_open_files(
        "capped",
        &url,
        &[
            ("TASKAPI__SERVER__MAX_CONNECTIONS", "10000"),
            ("TASKAPI__DATABASE__POOL_SIZE", "4"),
        ],
        (256, 1000),
    );
    server.wait_ready(Duration::from_secs(60));
    assert_eq!(open_file_limits(server.pid()), (1000, 1000));
    let stderr = server.stderr();
    // 1000 open files, less the pool (4) and the reserve (256).
    assert!(
        stderr.contains("server.max_connections (10000)")
            && stderr.contains("at most 740 connections"),
        "{stderr}"
    );
}
