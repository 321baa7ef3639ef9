//! taskapi's mail adapters, implementing the domain's [`Mailer`] port: [`SmtpMailer`]
//! delivers through an SMTP server with lettre (plain, STARTTLS or implicit TLS, with
//! optional credentials); [`LogMailer`] writes each message to the log, for development
//! only. Neither blocks an async worker: lettre's transport runs on Tokio.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use taskapi_domain::{MailError, Mailer, OutgoingMail};

/// How the connection to the SMTP server is protected (`mail.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network).
    None,
    /// Plain text upgraded with STARTTLS, which the server must offer.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// What [`SmtpMailer`] connects to and as whom.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Connection protection.
    pub tls: SmtpTls,
    /// Certificate authorities to trust for the server's certificate besides the system's
    /// (the PEM text of one or more `CERTIFICATE` blocks; empty: the system's only).
    pub extra_roots_pem: String,
    /// `user`, `password` to log in with, if the server wants it.
    pub credentials: Option<(String, String)>,
    /// The `From` of every message, e.g. `taskapi <noreply@example.com>`.
    pub from: String,
    /// Longest wait for the server at each step.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field(
                "extra_roots",
                &pem_certificates(&self.extra_roots_pem).len(),
            )
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|(user, _)| (user, "<redacted>")),
            )
            .field("from", &self.from)
            .finish()
    }
}

/// Why an SMTP transport could not be set up.
#[derive(Debug)]
pub struct SmtpSetupError(String);

impl fmt::Display for SmtpSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SmtpSetupError {}

/// Delivers through an SMTP server. Never logs a message's subject or body.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `settings`. Connects only when sending.
    ///
    /// # Errors
    /// [`SmtpSetupError`] for a `from` that is not a mailbox, extra roots that are not PEM
    /// certificates, or TLS that cannot be set up.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSetupError> {
        let from: Mailbox = settings.from.parse().map_err(|e| {
            SmtpSetupError(format!("`{}` is not a mail address: {e}", settings.from))
        })?;
        let mut roots = Vec::new();
        for (n, block) in pem_certificates(&settings.extra_roots_pem)
            .iter()
            .enumerate()
        {
            let certificate = Certificate::from_pem(block.as_bytes()).map_err(|e| {
                SmtpSetupError(format!("certificate {} of the extra roots: {e}", n + 1))
            })?;
            roots.push(certificate);
        }
        if roots.is_empty() && !settings.extra_roots_pem.trim().is_empty() {
            return Err(SmtpSetupError(
                "the extra roots hold no PEM CERTIFICATE block".to_owned(),
            ));
        }
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(settings.host.clone());
            for root in &roots {
                builder = builder.add_root_certificate(root.clone());
            }
            builder
                .build()
                .map_err(|e| SmtpSetupError(format!("TLS for {}: {e}", settings.host)))
        };
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
                .port(settings.port)
                .tls(tls)
                .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|e| {
            MailError::Permanent(format!("the recipient is not a deliverable address: {e}").into())
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}").into()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(Box::new(e))),
            Err(e) => Err(MailError::Transient(Box::new(e))),
        }
    }
}

/// The `CERTIFICATE` blocks of a PEM text, each with its armour lines, in order.
fn pem_certificates(pem: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(length) = rest[start..].find(END) else {
            break;
        };
        let end = start + length + END.len();
        blocks.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    blocks
}

/// Writes every message, body included, to the log instead of sending it: for development
/// only (production refuses it, since the bodies carry one-time tokens).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        log::info!(
            "mail (log transport) to {}: {}\n{}",
            mail.to,
            mail.subject,
            mail.body
        );
        Ok(())
    }
}
