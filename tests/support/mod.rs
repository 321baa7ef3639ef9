//! Support for the process-level end-to-end tests (`tests/instances.rs`, `tests/outage.rs`):
//! runs the real `taskapi serve` binary as a child process, configured only by environment
//! variables, and talks to it with a small blocking HTTP/1.1 client in which every step is
//! bounded by a deadline, so that no test can hang.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// The HS256 secret every instance of a test shares (at least 32 bytes).
pub const JWT_SECRET: &str = "process-level-tests-shared-secret-of-48-bytes!!!";
/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// Writes one line to the real stderr, past libtest's output capture (for skip notices).
pub fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, let it go.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener.local_addr().expect("no local address").port()
}

/// Polls `check` every 50 ms until it returns `Some`, or `None` once `within` has passed.
pub fn poll<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A running `taskapi serve`, killed (and reaped) when dropped, also on panic.
pub struct Taskapi {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    name: String,
    stderr_path: PathBuf,
    _dir: TempDir,
}

impl Taskapi {
    /// Starts `taskapi serve` on a free port against `database_url`, with extra
    /// `TASKAPI__…` variables (which override the ones set here). Does not wait for it.
    pub fn spawn(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Taskapi {
        let dir = tempfile::Builder::new()
            .prefix("taskapi-e2e-")
            .tempdir()
            .expect("cannot make a temp dir");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("cannot create the stderr log");
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_taskapi"));
        command
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        // Only what this test sets configures the child.
        for (key, _) in std::env::vars() {
            if key.starts_with("TASKAPI") || key == "DATABASE_URL" || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        let port_text = port.to_string();
        let mut vars: Vec<(&str, &str)> = vec![
            ("TASKAPI_ENV", "test"),
            ("TASKAPI__DATABASE__URL", database_url),
            ("TASKAPI__SERVER__HOST", "127.0.0.1"),
            ("TASKAPI__SERVER__PORT", &port_text),
            ("TASKAPI__SERVER__WORKERS", "2"),
            ("TASKAPI__SERVER__SHUTDOWN_TIMEOUT", "1s"),
            ("TASKAPI__AUTH__JWT_SECRET", JWT_SECRET),
            ("TASKAPI__AUTH__BCRYPT_COST", "4"),
            ("TASKAPI__DATABASE__POOL_TIMEOUT", "1s"),
            ("RUST_LOG", "warn"),
        ];
        for (key, value) in extra {
            vars.retain(|(k, _)| k != key);
            vars.push((key, value));
        }
        command.envs(vars);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_taskapi")));
        Taskapi {
            child,
            port,
            name: name.to_owned(),
            stderr_path,
            _dir: dir,
        }
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A client for this instance.
    pub fn api(&self) -> Api {
        Api { port: self.port }
    }

    /// Waits until `GET /health/ready` answers 200; panics with the child's stderr if it
    /// exits or does not get there within `within`.
    pub fn wait_ready(&mut self, within: Duration) {
        let api = self.api();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "taskapi {} exited ({status}) before it was ready; stderr:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "taskapi {} was not ready within {within:?}; stderr:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            let wait = (deadline - now).min(Duration::from_secs(2));
            if api
                .get("/health/ready", None, wait)
                .is_ok_and(|r| r.status == 200)
            {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit on its own; `None` if it still runs after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        poll(within, || self.child.try_wait().ok().flatten())
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Taskapi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (chunked transfer decoded).
    pub body: Vec<u8>,
    /// From just before connecting to the last byte read.
    pub elapsed: Duration,
}

impl Response {
    /// One header's value, if present (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type, without parameters, lower-cased.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body otherwise.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the {} body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn json_with_status(&self, expected: u16) -> Value {
        assert_eq!(
            self.status,
            expected,
            "expected status {expected}; body: {}",
            self.text()
        );
        self.json()
    }

    /// Whether this is a well-formed 503 "database unavailable" answer: problem+json whose
    /// `status` is 503, with a `Retry-After` header. `Err` says what is wrong.
    pub fn check_unavailable(&self) -> Result<(), String> {
        let problem = |why: &str| {
            Err(format!(
                "{why}: status {}, headers {:?}, body {}",
                self.status,
                self.headers,
                self.text()
            ))
        };
        if self.status != 503 {
            return problem("not a 503");
        }
        if self.media_type() != "application/problem+json" {
            return problem("a 503 that is not application/problem+json");
        }
        if self
            .header("retry-after")
            .is_none_or(|v| v.trim().parse::<u64>().is_err())
        {
            return problem("a 503 without a Retry-After of whole seconds");
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(body) if body["status"] == json!(503) && body["title"].is_string() => Ok(()),
            _ => problem("a 503 whose body is not a problem document with status 503"),
        }
    }
}

/// A blocking HTTP/1.1 client for one instance: one connection per request
/// (`Connection: close`), every step bounded by the request's timeout.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// The instance's port on 127.0.0.1.
    pub port: u16,
}

impl Api {
    /// Sends one request; `Err` on a transport failure or when `timeout` passes first.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Response, String> {
        let started = Instant::now();
        let deadline = started + timeout;
        let remaining = || {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("{method} {path}: no answer within {timeout:?}"))
        };
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect_timeout(&address, remaining()?)
            .map_err(|e| format!("{method} {path}: cannot connect to {address}: {e}"))?;
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nAccept: */*\r\n",
            self.port
        );
        if let Some(token) = token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", payload.len()));
        stream
            .set_write_timeout(Some(remaining()?))
            .and_then(|()| stream.write_all(head.as_bytes()))
            .and_then(|()| stream.write_all(payload.as_bytes()))
            .map_err(|e| format!("{method} {path}: cannot send: {e}"))?;
        let mut raw = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            if let Some(response) = parse_response(&raw, false) {
                return Ok(Response {
                    elapsed: started.elapsed(),
                    ..response
                });
            }
            stream
                .set_read_timeout(Some(remaining()?))
                .map_err(|e| format!("{method} {path}: {e}"))?;
            match stream.read(&mut buffer) {
                Ok(0) => {
                    return parse_response(&raw, true)
                        .map(|response| Response {
                            elapsed: started.elapsed(),
                            ..response
                        })
                        .ok_or_else(|| {
                            format!(
                                "{method} {path}: the connection closed after {} bytes: {}",
                                raw.len(),
                                String::from_utf8_lossy(&raw)
                            )
                        });
                }
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(format!("{method} {path}: no answer within {timeout:?}"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{method} {path}: cannot read: {e}")),
            }
        }
    }

    /// `GET path`.
    pub fn get(
        &self,
        path: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Response, String> {
        self.request("GET", path, token, None, timeout)
    }

    /// Like [`Api::request`], panicking on a transport failure (a test that expects an
    /// answer).
    #[track_caller]
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        self.request(method, path, token, body, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Registers `email` and returns the user.
    #[track_caller]
    pub fn register(&self, email: &str) -> Value {
        self.call(
            "POST",
            "/register",
            None,
            Some(&json!({"email": email, "password": PASSWORD})),
        )
        .json_with_status(201)
    }

    /// Logs `email` in and returns its access token.
    #[track_caller]
    pub fn login(&self, email: &str) -> String {
        let pair = self
            .call(
                "POST",
                "/login",
                None,
                Some(&json!({"email": email, "password": PASSWORD})),
            )
            .json_with_status(200);
        pair["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {pair}"))
            .to_owned()
    }
}

/// Parses a raw HTTP/1.1 response. `None` while incomplete (unless `at_eof`, where a
/// response without a length ends with the connection).
fn parse_response(raw: &[u8], at_eof: bool) -> Option<Response> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[head_end + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        decode_chunked(rest)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().ok()?;
        rest.get(..length)?.to_vec()
    } else if status == 204 || status == 304 || at_eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Response {
        status,
        headers,
        body,
        elapsed: Duration::ZERO,
    })
}

/// Decodes a complete chunked body; `None` while incomplete.
fn decode_chunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[test]
fn responses_are_parsed_whole() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nRetry-After: 2\r\n\r\nok";
    let response = parse_response(raw, false).expect("complete");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"ok"[..])
    );
    assert_eq!(response.header("Retry-After"), Some("2"));
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok", false).is_none());
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n1\r\n!\r\n0\r\n\r\n";
    assert_eq!(
        parse_response(chunked, false).expect("complete").body,
        b"ok!"
    );
}
