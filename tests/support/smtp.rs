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

/// How a sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain SMTP.
    None,
    /// STARTTLS offered, and required before mail.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// A self-signed certificate for `localhost` and `127.0.0.1` made with the `openssl`
/// command, with its key, in a folder of its own.
pub struct TestCertificate {
    folder: TempDir,
}

impl TestCertificate {
    /// A new one; `None` (announced once) when the `openssl` command is missing.
    pub fn make() -> Option<TestCertificate> {
        static MISSING: Once = Once::new();
        let folder = TempDir::new().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(folder.path().join("key.pem"))
            .arg("-out")
            .arg(folder.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            MISSING.call_once(|| notice("SMTP TLS tests skipped: no `openssl` command"));
            return None;
        }
        Some(TestCertificate { folder })
    }

    /// The certificate's PEM file.
    pub fn cert_path(&self) -> std::path::PathBuf {
        self.folder.path().join("cert.pem")
    }

    /// The key's PEM file.
    pub fn key_path(&self) -> std::path::PathBuf {
        self.folder.path().join("key.pem")
    }

    /// The certificate as PEM text.
    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(self.cert_path())
            .unwrap_or_else(|e| panic!("cannot read the test certificate: {e}"))
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
    /// Starts a plain sink; `None` (announced once) when aiosmtpd is not installed.
    pub fn start() -> Option<SmtpSink> {
        Self::start_with(SinkTls::None, None)
    }

    /// Starts a sink protected as `tls` says, with `certificate` (needed unless plain);
    /// `None` (announced once) when aiosmtpd is not installed.
    pub fn start_with(tls: SinkTls, certificate: Option<&TestCertificate>) -> Option<SmtpSink> {
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
        let mut command = Command::new("python3");
        command
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/smtp_sink.py"
            ))
            .arg(port.to_string())
            .arg(folder.path());
        if tls != SinkTls::None {
            let certificate =
                certificate.unwrap_or_else(|| panic!("a TLS sink needs a certificate"));
            command
                .arg(if tls == SinkTls::StartTls {
                    "starttls"
                } else {
                    "tls"
                })
                .arg(certificate.cert_path())
                .arg(certificate.key_path());
        }
        let mut child = command
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
