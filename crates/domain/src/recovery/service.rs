//! The recovery and verification use cases.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    AccountError, AccountService, AccountTokenHash, AccountTokenRepository, Clock, Email,
    EmailVerification, IssueOutcome, IssuedAccountToken, MailSignal, NewAccountToken, OutgoingMail,
    Password, PasswordHasher, Principal, RecoveryError, Role, SessionCache, SessionClient,
    TokenPair, TokenPurpose, TokenService, User, UserId, UserRepository, VerifyOutcome,
};

/// How recovery and verification behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoverySettings {
    /// Lifetime of a password-reset token (`auth.reset_ttl`).
    pub reset_ttl: Duration,
    /// Lifetime of a verification token (`auth.verify_ttl`).
    pub verify_ttl: Duration,
    /// `auth.email_verification`.
    pub verification: EmailVerification,
    /// Whether a mail transport is configured (`mail.transport` is not `none`).
    pub mail_enabled: bool,
}

/// The ports the recovery service needs.
#[derive(Clone)]
pub struct RecoveryPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// One-time tokens and the mail queue.
    pub account_tokens: Arc<dyn AccountTokenRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Random tokens and their hashes.
    pub tokens: Arc<dyn TokenService>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Wakes this instance's mail sender.
    pub signal: Arc<dyn MailSignal>,
}

impl fmt::Debug for RecoveryPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryPorts").finish_non_exhaustive()
    }
}

/// Password reset, e-mail verification and e-mail change.
#[derive(Clone)]
pub struct RecoveryService {
    ports: RecoveryPorts,
    accounts: AccountService,
    cache: Arc<SessionCache>,
    settings: RecoverySettings,
    reset_ttl: chrono::Duration,
    verify_ttl: chrono::Duration,
}

impl fmt::Debug for RecoveryService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Longest token looked up; anything longer cannot be one of ours.
const MAX_TOKEN_LEN: usize = 512;

/// "30 minutes", "24 hours", "2 days": a lifetime as a mail states it.
fn lifetime(d: chrono::Duration) -> String {
    let minutes = d.num_minutes();
    let (n, unit) = if minutes >= 2 * 24 * 60 && minutes % (24 * 60) == 0 {
        (minutes / (24 * 60), "day")
    } else if minutes >= 60 && minutes % 60 == 0 {
        (minutes / 60, "hour")
    } else if minutes >= 1 {
        (minutes, "minute")
    } else {
        (d.num_seconds(), "second")
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

impl RecoveryService {
    /// Builds the service. `accounts` checks sessions and recent logins; `cache` is the
    /// session cache it shares, so that a reset ends sessions here at once.
    pub fn new(
        ports: RecoveryPorts,
        accounts: AccountService,
        cache: Arc<SessionCache>,
        settings: RecoverySettings,
    ) -> Self {
        let ttl = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Self {
            reset_ttl: ttl(settings.reset_ttl),
            verify_ttl: ttl(settings.verify_ttl),
            ports,
            accounts,
            cache,
            settings,
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> RecoverySettings {
        self.settings
    }

    fn require_mail(&self) -> Result<(), RecoveryError> {
        if self.settings.mail_enabled {
            Ok(())
        } else {
            Err(RecoveryError::MailNotConfigured)
        }
    }

    /// A fresh token and its hash.
    fn new_token(&self) -> (String, AccountTokenHash) {
        let token = self.ports.tokens.new_refresh_token().expose().to_owned();
        let hash = self.hash(&token);
        (token, hash)
    }

    fn hash(&self, token: &str) -> AccountTokenHash {
        AccountTokenHash::new(
            self.ports
                .tokens
                .hash_refresh_token(token)
                .as_str()
                .to_owned(),
        )
    }

    fn reset_mail(&self, to: &Email, token: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.clone(),
            subject: "Reset your taskapi password".into(),
            body: [
                "Someone, hopefully you, asked to reset the password of the taskapi".into(),
                format!("account {to}."),
                String::new(),
                format!(
                    "Your reset token, valid once for {}:",
                    lifetime(self.reset_ttl)
                ),
                String::new(),
                token.to_owned(),
                String::new(),
                "Send it with a new password to POST /password/reset:".into(),
                "{\"token\": \"<token>\", \"new_password\": \"<new password>\"}".into(),
                "Every session of the account ends.".into(),
                String::new(),
                "If you did not ask for this, ignore this mail: the password stays".into(),
                "as it is.".into(),
            ]
            .join("\r\n")
                + "\r\n",
        }
    }

    fn verification_mail(&self, to: &Email, token: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.clone(),
            subject: "Verify your e-mail address for taskapi".into(),
            body: [
                "Please confirm that this is the e-mail address of your taskapi".into(),
                format!("account: {to}."),
                String::new(),
                format!(
                    "Your verification token, valid once for {}:",
                    lifetime(self.verify_ttl)
                ),
                String::new(),
                token.to_owned(),
                String::new(),
                "Send it to POST /email/verify: {\"token\": \"<token>\"}".into(),
                String::new(),
                "If you did not ask for this, ignore this mail.".into(),
            ]
            .join("\r\n")
                + "\r\n",
        }
    }

    /// Mails a reset token to `email` if an enabled account has it. The answer, and the
    /// work done, are the same whether or not one does: a token and its mail are made
    /// either way, and one transaction stores them only if the account exists.
    ///
    /// # Errors
    /// `MailNotConfigured`; `Store`.
    pub async fn forgot_password(&self, email: &Email) -> Result<(), RecoveryError> {
        self.require_mail()?;
        let (token, hash) = self.new_token();
        let mail = self.reset_mail(email, &token);
        let now = self.ports.clock.now();
        let queued = self
            .ports
            .account_tokens
            .issue_reset_for_email(email, hash, now, now + self.reset_ttl, mail)
            .await?;
        if queued {
            self.ports.signal.queued();
        }
        Ok(())
    }

    /// Sets a new password with a reset token, and ends every session of the account. The
    /// token is checked before the password is hashed (a wrong token costs no hash), and
    /// used in the same transaction as the change.
    ///
    /// # Errors
    /// `InvalidToken` for an unknown, used, voided or expired token; `Hashing(Busy)` when
    /// password hashing is at capacity.
    pub async fn reset_password(&self, token: &str, new: Password) -> Result<(), RecoveryError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(RecoveryError::InvalidToken);
        }
        let hash = self.hash(token);
        let tokens = &self.ports.account_tokens;
        let now = self.ports.clock.now();
        if tokens
            .find_live(&hash, TokenPurpose::PasswordReset, now)
            .await?
            .is_none()
        {
            return Err(RecoveryError::InvalidToken);
        }
        let password = self.ports.hasher.hash(new).await?;
        let user = tokens
            .reset_password(&hash, password, self.ports.clock.now())
            .await?
            .ok_or(RecoveryError::InvalidToken)?;
        self.cache.invalidate_user(user);
        Ok(())
    }

    /// A reset token for an account, handed to an administrator instead of mailed (for
    /// servers without mail). Voids the account's older reset tokens.
    ///
    /// # Errors
    /// `Credential` for an API token (administration needs a login); `Forbidden` for
    /// non-administrators; `NotFound`.
    pub async fn admin_reset_token(
        &self,
        caller: &Principal,
        id: UserId,
    ) -> Result<IssuedAccountToken, RecoveryError> {
        caller.require_session()?;
        if caller.role != Role::Admin {
            return Err(RecoveryError::Forbidden);
        }
        let user = self
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(RecoveryError::NotFound)?;
        self.reset_token_for(&user).await
    }

    /// A reset token for the account with `email` (the `taskapi admin reset-link` command,
    /// run by whoever operates the database: no caller to check).
    ///
    /// # Errors
    /// `NotFound` when no account has it.
    pub async fn reset_token_for_email(
        &self,
        email: &Email,
    ) -> Result<IssuedAccountToken, RecoveryError> {
        let user = self
            .ports
            .users
            .find_by_email(email.as_str())
            .await?
            .ok_or(RecoveryError::NotFound)?;
        self.reset_token_for(&user).await
    }

    async fn reset_token_for(&self, user: &User) -> Result<IssuedAccountToken, RecoveryError> {
        let (token, hash) = self.new_token();
        let now = self.ports.clock.now();
        let expires_at = now + self.reset_ttl;
        let new = NewAccountToken {
            hash,
            user_id: user.id,
            purpose: TokenPurpose::PasswordReset,
            email: user.email.clone(),
            created_at: now,
            expires_at,
        };
        match self.ports.account_tokens.issue(new, None).await? {
            IssueOutcome::Issued => Ok(IssuedAccountToken { token, expires_at }),
            IssueOutcome::NoAccount | IssueOutcome::EmailTaken => Err(RecoveryError::NotFound),
        }
    }

    /// Queues a verification mail of `email` for `user`, voiding its older verification
    /// tokens.
    async fn mail_verification(
        &self,
        user: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<IssueOutcome, RecoveryError> {
        let (token, hash) = self.new_token();
        let mail = self.verification_mail(email, &token);
        let new = NewAccountToken {
            hash,
            user_id: user,
            purpose: TokenPurpose::EmailVerification,
            email: email.clone(),
            created_at: now,
            expires_at: now + self.verify_ttl,
        };
        let outcome = self.ports.account_tokens.issue(new, Some(mail)).await?;
        if outcome == IssueOutcome::Issued {
            self.ports.signal.queued();
        }
        Ok(outcome)
    }

    /// After a registration: mails the new account a verification token, unless
    /// verification is off or no mail transport is configured. Returns whether it did.
    ///
    /// # Errors
    /// `Store` (the account exists anyway; the user can ask for another mail).
    pub async fn registered(&self, user: &User) -> Result<bool, RecoveryError> {
        if self.settings.verification == EmailVerification::Off || !self.settings.mail_enabled {
            return Ok(false);
        }
        let outcome = self
            .mail_verification(user.id, &user.email, self.ports.clock.now())
            .await?;
        Ok(outcome == IssueOutcome::Issued)
    }

    /// Logs in as [`AccountService::login_from`] does; with verification `required`, the right
    /// password of an unverified account is refused and a new verification token mailed
    /// to it (that is how its owner gets one).
    ///
    /// # Errors
    /// As [`AccountService::login`], and `Account(EmailNotVerified)`.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: SessionClient,
    ) -> Result<TokenPair, RecoveryError> {
        match self.accounts.login_from(email, password, client).await {
            Err(AccountError::EmailNotVerified(user)) => {
                if let Some(found) = self.ports.users.find_by_id(user).await? {
                    self.mail_verification(found.id, &found.email, self.ports.clock.now())
                        .await?;
                }
                Err(AccountError::EmailNotVerified(user).into())
            }
            other => Ok(other?),
        }
    }

    /// Mails the caller a new verification token of their address.
    ///
    /// # Errors
    /// `MailNotConfigured`; `AlreadyVerified`.
    pub async fn resend_verification(&self, caller: &Principal) -> Result<(), RecoveryError> {
        caller.require_session()?;
        self.require_mail()?;
        let user = self.accounts.me(caller).await?;
        if user.email_verified {
            return Err(RecoveryError::AlreadyVerified);
        }
        match self
            .mail_verification(user.id, &user.email, self.ports.clock.now())
            .await?
        {
            IssueOutcome::Issued => Ok(()),
            IssueOutcome::NoAccount => {
                Err(AccountError::Unauthenticated(crate::AuthError::Revoked).into())
            }
            IssueOutcome::EmailTaken => Err(RecoveryError::EmailTaken),
        }
    }

    /// Whether the caller may ask for an address change at all (mail is configured, and the
    /// session's password login is recent), before any password is checked: so that the
    /// caller can count only password checks as login attempts.
    ///
    /// # Errors
    /// `MailNotConfigured`; `Account(ReauthenticationRequired)`.
    pub async fn check_email_change(&self, caller: &Principal) -> Result<(), RecoveryError> {
        caller.require_session()?;
        self.require_mail()?;
        Ok(self.accounts.require_recent_login(caller).await?)
    }

    /// Starts changing the caller's address to `new_email`: checks a recent login and the
    /// current password, and mails a verification token to the new address; the address
    /// changes only when it is verified.
    ///
    /// # Errors
    /// `MailNotConfigured`; `Account(ReauthenticationRequired)`; `WrongPassword`;
    /// `EmailTaken` when another account has the address.
    pub async fn request_email_change(
        &self,
        caller: &Principal,
        new_email: &Email,
        current_password: String,
    ) -> Result<(), RecoveryError> {
        caller.require_session()?;
        self.require_mail()?;
        self.accounts.require_recent_login(caller).await?;
        let user = self.accounts.me(caller).await?;
        let matches = self
            .ports
            .hasher
            .verify(Password::candidate(current_password), user.password_hash)
            .await?;
        if !matches {
            return Err(RecoveryError::WrongPassword);
        }
        match self
            .mail_verification(user.id, new_email, self.ports.clock.now())
            .await?
        {
            IssueOutcome::Issued => Ok(()),
            IssueOutcome::NoAccount => {
                Err(AccountError::Unauthenticated(crate::AuthError::Revoked).into())
            }
            IssueOutcome::EmailTaken => Err(RecoveryError::EmailTaken),
        }
    }

    /// Uses a verification token: the account's address becomes the token's, verified.
    ///
    /// # Errors
    /// `InvalidToken`; `EmailTaken` when another account took the address meanwhile.
    pub async fn verify_email(&self, token: &str) -> Result<User, RecoveryError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(RecoveryError::InvalidToken);
        }
        let hash = self.hash(token);
        match self
            .ports
            .account_tokens
            .verify_email(&hash, self.ports.clock.now())
            .await?
        {
            VerifyOutcome::Verified(user) => Ok(user),
            VerifyOutcome::Invalid => Err(RecoveryError::InvalidToken),
            VerifyOutcome::EmailTaken => Err(RecoveryError::EmailTaken),
        }
    }

    /// Deletes expired one-time tokens; run it now and then, off the request path.
    ///
    /// # Errors
    /// `Store`.
    pub async fn purge_expired_tokens(&self) -> Result<u64, RecoveryError> {
        Ok(self
            .ports
            .account_tokens
            .purge_expired(self.ports.clock.now())
            .await?)
    }
}
