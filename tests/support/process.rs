//! The child-process server: [`Taskapi`] runs the real `taskapi serve` binary, configured
//! only by environment variables, for tests that need a process of its own (several
//! instances, signals, outages). [`Api`] is the blocking face of the shared [`Client`], for
//! tests that drive servers from plain threads: each call runs on a runtime of its own and
//! is bounded by its deadline, so that no test can hang.

use std::fs::File;
use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use awc::http::Method;
use serde_json::Value;
use tempfile::TempDir;

use super::client::{Client, TestUser};
use super::fixtures::{JWT_SECRET, PASSWORD};
use super::response::Response;

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
        Self::spawn_in(name, database_url, extra, None)
    }

    /// Like [`Taskapi::spawn`], under an open-file limit of `(soft, hard)` (set by the shell
    /// that starts it; neither may exceed this process's hard limit).
    pub fn spawn_with_open_files(
        name: &str,
        database_url: &str,
        extra: &[(&str, &str)],
        open_files: (u64, u64),
    ) -> Taskapi {
        Self::spawn_in(name, database_url, extra, Some(open_files))
    }

    fn spawn_in(
        name: &str,
        database_url: &str,
        extra: &[(&str, &str)],
        open_files: Option<(u64, u64)>,
    ) -> Taskapi {
        let dir = tempfile::Builder::new()
            .prefix("taskapi-e2e-")
            .tempdir()
            .expect("cannot make a temp dir");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("cannot create the stderr log");
        let port = free_port();
        let mut command = match open_files {
            None => Command::new(env!("CARGO_BIN_EXE_taskapi")),
            Some((soft, hard)) => {
                let mut shell = Command::new("sh");
                shell.args([
                    "-c",
                    &format!("ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" \"$@\""),
                    env!("CARGO_BIN_EXE_taskapi"),
                ]);
                shell
            }
        };
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

    /// The process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// Runs `taskapi ARGS…` to completion, configured only by `vars` (as [`Taskapi::spawn`]
/// configures a server), with stdin closed; returns its exit status and output.
pub fn run_cli(args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskapi"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("TASKAPI") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("CARGO_BIN_EXE_taskapi")))
}

/// A blocking client of one instance on 127.0.0.1 (cheap to copy into threads).
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// The instance's port on 127.0.0.1.
    pub port: u16,
}

impl Api {
    /// Runs `call` with a [`Client`] of this instance on a runtime of its own, until done.
    fn block_on<T, F>(&self, call: impl FnOnce(Client) -> F) -> T
    where
        F: Future<Output = T>,
    {
        let client = || Client::new(format!("http://127.0.0.1:{}", self.port));
        actix_web::rt::System::new().block_on(async move { call(client()).await })
    }

    /// Sends one request; `Err` on a transport failure or when `timeout` passes first.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Response, String> {
        let method = Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("{method} is no method: {e}"));
        self.block_on(
            |client| async move { client.try_call(method, path, token, body, timeout).await },
        )
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

    /// Registers `email` (with [`PASSWORD`]) and logs in, as [`Client::signed_up`].
    pub fn signed_up(&self, email: &str) -> TestUser {
        self.block_on(|client| async move { client.signed_up(email).await })
    }

    /// Logs a known account in, as [`Client::logged_in`].
    pub fn logged_in(&self, id: &str, email: &str) -> TestUser {
        self.block_on(|client| async move { client.logged_in(id, email, PASSWORD).await })
    }
}
