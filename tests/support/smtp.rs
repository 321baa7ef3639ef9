//! A real SMTP server for the mail tests: aiosmtpd (from PyPI) run by `smtp_sink.py` on a
//! free loopback port, writing each delivered message to a folder as JSON that
//! [`SmtpSink::mails`] reads back. Where aiosmtpd is not installed, [`SmtpSink::start`]
//! returns `None` after one line saying the mail tests are skipped (once per test binary),
//! and those tests pass at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::process::{free_port, notice};

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope's recipients.
    pub rcpt_tos: Vec<String>,
    /// The `From` header.
    pub from: String,
    /// The `Subject` header.
    pub subject: String,
    /// The plain-text body, decoded.
    pub body: String,
}

impl Mail {
    /// The one-time token the mail carries: its line of 64 hex digits.
    pub fn token(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("no token in the mail {:?}: {}", self.subject, self.body))
            .to_owned()
    }

    /// Whether it went to `address`.
    pub fn is_to(&self, address: &str) -> bool {
        self.rcpt_tos.iter().any(|r| r == address)
    }
}

/// A running SMTP sink, stopped when dropped.
pub struct SmtpSink {
    child: Child,
    _stdin: ChildStdin,
    /// Its port on 127.0.0.1.
    pub port: u16,
    folder: TempDir,
}

static SKIPPED: Once = Once::new();

impl SmtpSink {
    /// Starts the sink; `None` (announced once) when aiosmtpd is not installed.
    pub fn start() -> Option<SmtpSink> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            SKIPPED.call_once(|| {
                notice("mail tests skipped: python3 cannot import aiosmtpd (pip install aiosmtpd)");
            });
            return None;
        }
        let folder = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/smtp_sink.py"
            ))
            .arg(port.to_string())
            .arg(folder.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run smtp_sink.py: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("smtp_sink.py said nothing: {e}"));
        assert_eq!(line.trim(), "ready", "smtp_sink.py did not start");
        Some(SmtpSink {
            child,
            _stdin: stdin,
            port,
            folder,
        })
    }

    /// The configuration that sends the application's mail here.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            (
                "TASKAPI__MAIL__TRANSPORT".to_owned(),
                format!("smtp://127.0.0.1:{}", self.port),
            ),
            ("TASKAPI__MAIL__TLS".to_owned(), "none".to_owned()),
        ]
    }

    /// Every message delivered so far.
    pub fn mails(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        let entries = std::fs::read_dir(self.folder.path())
            .unwrap_or_else(|e| panic!("cannot read the sink's folder: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let record: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            let text_of = |key: &str| record[key].as_str().unwrap_or_default().to_owned();
            mails.push(Mail {
                rcpt_tos: record["rcpt_tos"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                from: text_of("from"),
                subject: text_of("subject"),
                body: text_of("body"),
            });
        }
        mails
    }

    /// The messages delivered to `address` so far.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.is_to(address))
            .collect()
    }

    /// Waits (at most 30 s) until `count` messages went to `address`, and returns them;
    /// panics if they do not arrive.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{count} mail(s) to {address} did not arrive (got {})",
                mails.len()
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
