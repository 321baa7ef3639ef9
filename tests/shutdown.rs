//! Graceful shutdown: on SIGTERM the server stops accepting connections, lets the request in
//! flight finish, and exits 0 — all within `server.shutdown_timeout`.
//!
//! The slow request is a registration at bcrypt cost 14 (about a second of hashing), so no
//! test-only route is needed.

// Tests report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server if the test ends early.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange on a fresh connection; the whole response as text.
fn exchange(port: u16, request: &str, timeout: Duration) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

fn get(port: u16, path: &str) -> std::io::Result<String> {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        Duration::from_secs(5),
    )
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_taskapi"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TASKAPI_ENV", "test")
        .env("TASKAPI__SERVER__PORT", port.to_string())
        .env("TASKAPI__SERVER__SHUTDOWN_TIMEOUT", "10s")
        .env("TASKAPI__AUTH__BCRYPT_COST", "14")
        .env(
            "TASKAPI__DATABASE__URL",
            format!("sqlite://{}/taskapi.db", data.path().display()),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(port, "/health/ready").is_ok_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "the server never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let body = r#"{"email":"slow@example.com","password":"correct horse battery"}"#;
    let request = format!(
        "POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let in_flight = std::thread::spawn(move || exchange(port, &request, Duration::from_secs(30)));
    // Let the request reach the hashing, then ask the server to stop.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "could not send SIGTERM");

    let response = in_flight
        .join()
        .unwrap()
        .expect("the in-flight request got an answer");
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight registration must complete: {response}"
    );
    assert!(response.contains("slow@example.com"), "{response}");

    // New connections are refused while (and after) it drains.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        get(port, "/ping").is_err(),
        "the server still accepts connections after SIGTERM"
    );

    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "no exit within server.shutdown_timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "taskapi exited with {exit} after SIGTERM");
}
