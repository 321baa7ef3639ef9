//! Accounts: users, credentials, access tokens, and the `AccountService` use cases.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{AccountError, AuthError, StoreError};
use crate::ids::{SessionId, UserId};
use crate::ports::{
    AccountDeletion, Clock, IdGenerator, InsertUserError, PasswordHasher, SessionRepository,
    TokenService, UserRepository,
};
use crate::sessions::{NewRefreshToken, RefreshSecret, RotateOutcome, Session, SessionCache};

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address SMTP can carry (RFC 5321).
    pub const MAX_LEN: usize = 254;

    /// Trims, lower-cases and validates an address: one `@`, a non-empty local part of at most
    /// 64 bytes, a dotted domain of letters, digits and hyphens, no spaces or control
    /// characters.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("must not be empty".into());
        }
        if email.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} bytes", Self::MAX_LEN));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("must be an email address".into());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@()<>[]:;,\\\"".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err("must be an email address".into())
        }
    }

    /// Rebuilds an email read back from storage, where it was stored already normalised.
    pub fn from_trusted(normalised: String) -> Self {
        Self(normalised)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A clear-text password that satisfies the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in bytes.
    pub const MIN_BYTES: usize = 8;
    /// Longest accepted password, in bytes: bcrypt ignores everything past 72 bytes, so longer
    /// passwords would silently be truncated.
    pub const MAX_BYTES: usize = 72;

    /// Applies the policy: 8–72 bytes of UTF-8.
    ///
    /// # Errors
    /// A message saying which bound was missed.
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.len() < Self::MIN_BYTES {
            Err(format!("must be at least {} bytes", Self::MIN_BYTES))
        } else if raw.len() > Self::MAX_BYTES {
            Err(format!("must be at most {} bytes", Self::MAX_BYTES))
        } else {
            Ok(Self(raw))
        }
    }

    /// The clear text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in the hasher's own format (bcrypt's `$2b$…`). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash produced by a hasher or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// What a user may do: `user` manages their own tasks; `admin` also manages accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An ordinary account.
    User,
    /// An administrator.
    Admin,
}

impl Role {
    /// The role's name as stored and shown (`user`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    ///
    /// # Errors
    /// A message listing the valid names.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err("must be one of: user, admin".into()),
        }
    }
}

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its normalised email.
    pub email: Email,
    /// Its password hash (never shown to anyone).
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
    /// Whether it has been disabled by an administrator.
    pub disabled: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Grows by one whenever every session of the account must end (password change,
    /// "log out everywhere", role change, disabling). A session started at another epoch is
    /// over.
    pub session_epoch: i64,
}

/// An account about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Its new id.
    pub id: UserId,
    /// Its normalised email.
    pub email: Email,
    /// Its password hash.
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A freshly signed access token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The encoded token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What a login or a refresh hands the client: an access token and the refresh token that
/// replaces it when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access: IssuedToken,
    /// The refresh token (one use).
    pub refresh_token: RefreshSecret,
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user it was issued to (`sub`).
    pub user_id: UserId,
    /// The session it belongs to (`sid`).
    pub session_id: SessionId,
    /// The role the user had when it was issued.
    pub role: Role,
    /// When it was issued (`iat`).
    pub issued_at: DateTime<Utc>,
    /// When it expires (`exp`).
    pub expires_at: DateTime<Utc>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// Who is calling.
    pub user_id: UserId,
    /// With which role (read from the account, not trusted from the token).
    pub role: Role,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_ttl: Duration,
}

/// The account use cases: register, log in, refresh, log out, authenticate a request, read,
/// re-password and delete one's own account.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    cache: Arc<SessionCache>,
    refresh_ttl: chrono::Duration,
}

impl fmt::Debug for AccountService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

/// The ports the account service needs.
#[derive(Clone)]
pub struct AccountPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Tokens.
    pub tokens: Arc<dyn TokenService>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
}

impl fmt::Debug for AccountPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountPorts").finish_non_exhaustive()
    }
}

impl AccountService {
    /// Longest refresh token looked up; anything longer cannot be one of ours.
    const MAX_REFRESH_TOKEN_LEN: usize = 512;

    /// Builds the service from its ports; `cache` is shared with the admin service so that
    /// what either ends is forgotten at once.
    pub fn new(ports: AccountPorts, settings: SessionSettings, cache: Arc<SessionCache>) -> Self {
        Self {
            users: ports.users,
            sessions: ports.sessions,
            hasher: ports.hasher,
            tokens: ports.tokens,
            clock: ports.clock,
            ids: ports.ids,
            cache,
            refresh_ttl: chrono::Duration::from_std(settings.refresh_ttl)
                .unwrap_or(chrono::Duration::MAX),
        }
    }

    /// Registers a new account with role `user`.
    ///
    /// # Errors
    /// [`AccountError::EmailTaken`] if the email is already registered.
    pub async fn register(&self, email: Email, password: Password) -> Result<User, AccountError> {
        self.register_with_role(email, password, Role::User).await
    }

    /// Creates an administrator account (the `taskapi admin create` command).
    ///
    /// # Errors
    /// [`AccountError::EmailTaken`] if the email is already registered.
    pub async fn register_admin(
        &self,
        email: Email,
        password: Password,
    ) -> Result<User, AccountError> {
        self.register_with_role(email, password, Role::Admin).await
    }

    async fn register_with_role(
        &self,
        email: Email,
        password: Password,
        role: Role,
    ) -> Result<User, AccountError> {
        let password_hash = self
            .hasher
            .hash(password)
            .await
            .map_err(AccountError::Internal)?;
        let new_user = NewUser {
            id: UserId::from_uuid(self.ids.new_id()),
            email,
            password_hash,
            role,
            created_at: self.clock.now(),
        };
        self.users.insert(new_user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => AccountError::EmailTaken,
            InsertUserError::Store(e) => AccountError::Store(e),
        })
    }

    /// Checks credentials, starts a session and issues its first token pair.
    ///
    /// An unknown email, a malformed one and a wrong password are the same
    /// [`AccountError::InvalidCredentials`], and an unknown email still costs one password
    /// verification (against a dummy hash), so neither the answer nor its timing tells
    /// whether an account exists.
    ///
    /// # Errors
    /// `InvalidCredentials`; `AccountDisabled` for the right password of a disabled account.
    pub async fn login(&self, email: &str, password: String) -> Result<TokenPair, AccountError> {
        let user = match Email::parse(email) {
            Ok(email) => self.users.find_by_email(email.as_str()).await?,
            Err(_) => None,
        };
        // A password outside the policy cannot match any stored hash, but it is still
        // verified (truncated to the policy's bounds) so that timing stays uniform.
        let candidate = Password(truncate_to_bytes(password, Password::MAX_BYTES));
        let Some(user) = user else {
            self.hasher
                .verify(candidate, self.hasher.dummy_hash())
                .await
                .map_err(AccountError::Internal)?;
            return Err(AccountError::InvalidCredentials);
        };
        let matches = self
            .hasher
            .verify(candidate, user.password_hash.clone())
            .await
            .map_err(AccountError::Internal)?;
        if !matches {
            return Err(AccountError::InvalidCredentials);
        }
        if user.disabled {
            return Err(AccountError::AccountDisabled);
        }
        let now = self.clock.now();
        let expires_at = now + self.refresh_ttl;
        // The session records the account's epoch as read before the password was checked:
        // if the password changes meanwhile, the session is born ended.
        let session = Session {
            id: SessionId::from_uuid(self.ids.new_id()),
            user_id: user.id,
            epoch: user.session_epoch,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        let refresh_token = self.tokens.new_refresh_token();
        let first = NewRefreshToken {
            hash: self.tokens.hash_refresh_token(refresh_token.expose()),
            issued_at: now,
            expires_at,
        };
        let session_id = session.id;
        self.sessions.create(session, first).await?;
        let access = self
            .tokens
            .issue(&user, session_id, now)
            .map_err(AccountError::Internal)?;
        Ok(TokenPair {
            access,
            refresh_token,
        })
    }

    /// Rotates a refresh token: the presented one stops working and a new pair is issued in
    /// the same session. Presenting a token that was already rotated ends its session (it
    /// was stolen, or the client is replaying it).
    ///
    /// # Errors
    /// `InvalidRefreshToken` for an unknown, expired, rotated or revoked token, or one whose
    /// account is gone, disabled or has ended its sessions since.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, AccountError> {
        if presented.is_empty() || presented.len() > Self::MAX_REFRESH_TOKEN_LEN {
            return Err(AccountError::InvalidRefreshToken);
        }
        let now = self.clock.now();
        let refresh_token = self.tokens.new_refresh_token();
        let next = NewRefreshToken {
            hash: self.tokens.hash_refresh_token(refresh_token.expose()),
            issued_at: now,
            expires_at: now + self.refresh_ttl,
        };
        let presented = self.tokens.hash_refresh_token(presented);
        let session = match self.sessions.rotate(presented, next, now).await? {
            RotateOutcome::Rotated(session) => session,
            RotateOutcome::Reused(session) => {
                self.end_session(session, now).await?;
                return Err(AccountError::InvalidRefreshToken);
            }
            RotateOutcome::Invalid => return Err(AccountError::InvalidRefreshToken),
        };
        let user = self.users.find_by_id(session.user_id).await?;
        let Some(user) = user.filter(|u| session.is_live_for(u.id, u, now)) else {
            self.end_session(session.id, now).await?;
            return Err(AccountError::InvalidRefreshToken);
        };
        let access = self
            .tokens
            .issue(&user, session.id, now)
            .map_err(AccountError::Internal)?;
        Ok(TokenPair {
            access,
            refresh_token,
        })
    }

    async fn end_session(&self, session: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.sessions.revoke(session, now).await?;
        self.cache.invalidate_session(session);
        Ok(())
    }

    /// Ends the caller's session that `presented` belongs to: its refresh tokens and its
    /// access tokens stop working; other sessions go on.
    ///
    /// # Errors
    /// `InvalidRefreshToken` when the token is unknown, expired, of an ended session or of
    /// someone else's.
    pub async fn logout(&self, caller: &Principal, presented: &str) -> Result<(), AccountError> {
        if presented.is_empty() || presented.len() > Self::MAX_REFRESH_TOKEN_LEN {
            return Err(AccountError::InvalidRefreshToken);
        }
        let hash = self.tokens.hash_refresh_token(presented);
        let ended = self
            .sessions
            .revoke_by_token(hash, caller.user_id, self.clock.now())
            .await?;
        match ended {
            Some(session) => {
                self.cache.invalidate_session(session);
                Ok(())
            }
            None => Err(AccountError::InvalidRefreshToken),
        }
    }

    /// Ends every session of the caller.
    ///
    /// # Errors
    /// `Unauthenticated(Revoked)` if the account vanished meanwhile.
    pub async fn logout_all(&self, caller: &Principal) -> Result<(), AccountError> {
        let found = self
            .users
            .end_all_sessions(caller.user_id, self.clock.now())
            .await?;
        self.cache.invalidate_user(caller.user_id);
        if found {
            Ok(())
        } else {
            Err(AuthError::Revoked.into())
        }
    }

    /// Changes the caller's password after checking the current one, and ends every session
    /// of the account (this one included).
    ///
    /// # Errors
    /// `WrongPassword` when `current` is wrong.
    pub async fn change_password(
        &self,
        caller: &Principal,
        current: String,
        new: Password,
    ) -> Result<(), AccountError> {
        let user = self.me(caller).await?;
        let current = Password(truncate_to_bytes(current, Password::MAX_BYTES));
        let matches = self
            .hasher
            .verify(current, user.password_hash.clone())
            .await
            .map_err(AccountError::Internal)?;
        if !matches {
            return Err(AccountError::WrongPassword);
        }
        let hash = self
            .hasher
            .hash(new)
            .await
            .map_err(AccountError::Internal)?;
        // Only over the hash just checked: of two changes racing with the same current
        // password, the second finds it replaced. The winner (or the account's deletion)
        // has ended every session, this request's included: it is unauthenticated now.
        let replaced = self
            .users
            .set_password(user.id, user.password_hash, hash, self.clock.now())
            .await?;
        self.cache.invalidate_user(user.id);
        if replaced {
            Ok(())
        } else {
            Err(AuthError::Revoked.into())
        }
    }

    /// Deletes the caller's account with its tasks and sessions.
    ///
    /// # Errors
    /// `LastAdmin` when the caller is the last enabled administrator.
    pub async fn delete_me(&self, caller: &Principal) -> Result<(), AccountError> {
        match self.users.delete(caller.user_id).await? {
            AccountDeletion::Deleted => {
                self.cache.invalidate_user(caller.user_id);
                Ok(())
            }
            AccountDeletion::NotFound => Err(AuthError::Revoked.into()),
            AccountDeletion::LastAdmin => Err(AccountError::LastAdmin),
        }
    }

    /// Turns a presented access token into the caller: the token must verify, and its
    /// session must still be live (not ended, its account enabled and unchanged since).
    /// Sessions found live are remembered for `auth.revocation_cache_ttl`.
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] with the reason; `Store` if the lookup failed.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AccountError> {
        let claims = self.tokens.verify(token)?;
        let now = self.clock.now();
        if let Some(principal) = self.cache.get(claims.session_id, claims.user_id, now) {
            return Ok(principal);
        }
        let generation = self.cache.generation();
        let found = self.sessions.find_with_user(claims.session_id).await?;
        match found {
            Some((session, user)) if session.is_live_for(claims.user_id, &user, now) => {
                let principal = Principal {
                    user_id: user.id,
                    role: user.role,
                };
                self.cache.put(session.id, principal, now, generation);
                Ok(principal)
            }
            _ => Err(AuthError::Revoked.into()),
        }
    }

    /// The caller's own account.
    ///
    /// # Errors
    /// `Unauthenticated(Revoked)` if the account vanished since authentication.
    pub async fn me(&self, principal: &Principal) -> Result<User, AccountError> {
        self.users
            .find_by_id(principal.user_id)
            .await?
            .ok_or(AccountError::Unauthenticated(AuthError::Revoked))
    }

    /// Deletes expired and ended sessions and expired refresh tokens; run it now and then,
    /// off the request path.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AccountError> {
        Ok(self.sessions.purge_expired(self.clock.now()).await?)
    }
}

fn truncate_to_bytes(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{
        MockClock, MockIdGenerator, MockPasswordHasher, MockSessionRepository, MockTokenService,
        MockUserRepository,
    };
    use crate::sessions::RefreshTokenHash;
    use mockall::predicate::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use uuid::Uuid;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn user(email: &str, disabled: bool) -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(7)),
            email: Email::parse(email).unwrap_or_else(|e| panic!("{e}")),
            password_hash: PasswordHash::new("stored-hash".into()),
            role: Role::User,
            disabled,
            created_at: at(1_700_000_000),
            session_epoch: 3,
        }
    }

    const NOW: i64 = 1_700_000_100;
    const REFRESH_TTL: i64 = 30 * 86_400;

    fn sid(n: u128) -> SessionId {
        SessionId::from_uuid(Uuid::from_u128(n))
    }

    fn session(n: u128) -> Session {
        Session {
            id: sid(n),
            user_id: UserId::from_uuid(Uuid::from_u128(7)),
            epoch: 3,
            created_at: at(NOW - 100),
            expires_at: at(NOW + REFRESH_TTL),
            revoked_at: None,
        }
    }

    fn claims(session: u128) -> AccessClaims {
        AccessClaims {
            user_id: UserId::from_uuid(Uuid::from_u128(7)),
            session_id: sid(session),
            role: Role::Admin,
            issued_at: at(NOW - 10),
            expires_at: at(NOW + 890),
        }
    }

    fn issued(token: &str) -> IssuedToken {
        IssuedToken {
            token: token.into(),
            expires_in: 900,
        }
    }

    struct Mocks {
        users: MockUserRepository,
        sessions: MockSessionRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenService,
        cache: Arc<SessionCache>,
    }

    impl Mocks {
        fn new() -> Self {
            let mut tokens = MockTokenService::new();
            // Refresh tokens are "fresh-N" and hash to "hash(<token>)".
            let counter = AtomicU32::new(0);
            tokens.expect_new_refresh_token().returning(move || {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                RefreshSecret::new(format!("fresh-{n}"))
            });
            tokens
                .expect_hash_refresh_token()
                .returning(|t| RefreshTokenHash::new(format!("hash({t})")));
            Self {
                users: MockUserRepository::new(),
                sessions: MockSessionRepository::new(),
                hasher: MockPasswordHasher::new(),
                tokens,
                cache: Arc::new(SessionCache::new(Duration::from_secs(2), 100)),
            }
        }

        fn service(self) -> AccountService {
            let mut clock = MockClock::new();
            clock.expect_now().returning(|| at(NOW));
            let mut ids = MockIdGenerator::new();
            ids.expect_new_id().returning(|| Uuid::from_u128(42));
            AccountService::new(
                AccountPorts {
                    users: Arc::new(self.users),
                    sessions: Arc::new(self.sessions),
                    hasher: Arc::new(self.hasher),
                    tokens: Arc::new(self.tokens),
                    clock: Arc::new(clock),
                    ids: Arc::new(ids),
                },
                SessionSettings {
                    refresh_ttl: Duration::from_secs(30 * 86_400),
                },
                self.cache,
            )
        }
    }

    fn password(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").map(|e| e.0),
            Ok("alice@example.com".to_owned())
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "   ",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@exa mple.com",
            "alice@@example.com",
            "alice@-example.com",
            "alice@example..com",
            ".alice@example.com",
            "al..ice@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
        let long = format!("a@{}.com", "b".repeat(260));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn password_policy_is_8_to_72_bytes() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(72)).is_ok());
        assert!(Password::parse("x".repeat(73)).is_err());
        // bytes, not characters: 37 two-byte characters are 74 bytes
        assert!(Password::parse("é".repeat(37)).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let p = password("hunter2hunter2");
        let h = PasswordHash::new("$2b$04$secret".into());
        let t = IssuedToken {
            token: "eyJ.secret.sig".into(),
            expires_in: 900,
        };
        let shown = format!("{p:?} {h:?} {t:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("secret"));
    }

    #[tokio::test]
    async fn register_hashes_the_password_and_stores_a_user_account() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().times(1).returning(|p| {
            assert_eq!(p.expose(), "correct horse");
            Ok(PasswordHash::new("hashed".into()))
        });
        m.users.expect_insert().times(1).returning(|new: NewUser| {
            assert_eq!(new.email.as_str(), "bob@example.com");
            assert_eq!(new.password_hash.as_str(), "hashed");
            assert_eq!(new.role, Role::User);
            assert_eq!(new.id.as_uuid(), Uuid::from_u128(42));
            Ok(User {
                id: new.id,
                email: new.email,
                password_hash: new.password_hash,
                role: new.role,
                disabled: false,
                created_at: new.created_at,
                session_epoch: 0,
            })
        });
        let user = m
            .service()
            .register(
                Email::parse("Bob@example.com").unwrap_or_else(|e| panic!("{e}")),
                password("correct horse"),
            )
            .await;
        assert!(matches!(user, Ok(u) if u.created_at == at(1_700_000_100)));
    }

    #[tokio::test]
    async fn register_with_a_taken_email_is_a_conflict() {
        let mut m = Mocks::new();
        m.hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("h".into())));
        m.users
            .expect_insert()
            .returning(|_| Err(InsertUserError::EmailTaken));
        let result = m
            .service()
            .register(
                Email::parse("bob@example.com").unwrap_or_else(|e| panic!("{e}")),
                password("correct horse"),
            )
            .await;
        assert!(matches!(result, Err(AccountError::EmailTaken)));
    }

    #[tokio::test]
    async fn login_with_unknown_email_still_verifies_a_dummy_hash_and_fails() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .with(eq("ghost@example.com"))
            .returning(|_| Ok(None));
        m.hasher
            .expect_dummy_hash()
            .times(1)
            .returning(|| PasswordHash::new("dummy".into()));
        m.hasher
            .expect_verify()
            .times(1)
            .withf(|_, h| h.as_str() == "dummy")
            .returning(|_, _| Ok(false));
        m.tokens.expect_issue().never();
        let result = m
            .service()
            .login("ghost@example.com", "whatever123".into())
            .await;
        assert!(matches!(result, Err(AccountError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn login_with_malformed_email_is_invalid_credentials_not_a_validation_error() {
        let mut m = Mocks::new();
        m.users.expect_find_by_email().never();
        m.hasher
            .expect_dummy_hash()
            .returning(|| PasswordHash::new("dummy".into()));
        m.hasher
            .expect_verify()
            .times(1)
            .returning(|_, _| Ok(false));
        let result = m
            .service()
            .login("not an email", "whatever123".into())
            .await;
        assert!(matches!(result, Err(AccountError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn login_with_wrong_password_fails() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .returning(|e| Ok(Some(user(e, false))));
        m.hasher
            .expect_verify()
            .withf(|_, h| h.as_str() == "stored-hash")
            .returning(|_, _| Ok(false));
        m.tokens.expect_issue().never();
        let result = m
            .service()
            .login("bob@example.com", "wrong-password".into())
            .await;
        assert!(matches!(result, Err(AccountError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn login_normalises_the_email_starts_a_session_and_issues_a_pair_in_it() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .with(eq("bob@example.com"))
            .returning(|e| Ok(Some(user(e, false))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.sessions
            .expect_create()
            .times(1)
            .returning(|session, first| {
                assert_eq!(session.id, sid(42));
                assert_eq!(session.epoch, 3, "the account's epoch when it logged in");
                assert_eq!(session.revoked_at, None);
                assert_eq!(session.expires_at, at(NOW + REFRESH_TTL));
                assert_eq!(
                    first.hash.as_str(),
                    "hash(fresh-0)",
                    "only the hash is stored"
                );
                assert_eq!(first.expires_at, session.expires_at);
                Ok(())
            });
        m.tokens
            .expect_issue()
            .times(1)
            .returning(|u, session, now| {
                assert_eq!((session, now), (sid(42), at(NOW)));
                Ok(issued(&format!("token-for-{}", u.email)))
            });
        let pair = m
            .service()
            .login(" BOB@example.com ", "right-password".into())
            .await;
        assert!(matches!(pair, Ok(p)
            if p.access.token == "token-for-bob@example.com"
                && p.refresh_token.expose() == "fresh-0"));
    }

    #[tokio::test]
    async fn disabled_account_with_right_password_is_refused_but_wrong_password_stays_invalid() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .returning(|e| Ok(Some(user(e, true))));
        m.hasher
            .expect_verify()
            .returning(|p, _| Ok(p.expose() == "right-password"));
        m.tokens.expect_issue().never();
        let service = m.service();
        assert!(matches!(
            service
                .login("bob@example.com", "right-password".into())
                .await,
            Err(AccountError::AccountDisabled)
        ));
        assert!(matches!(
            service
                .login("bob@example.com", "wrong-password".into())
                .await,
            Err(AccountError::InvalidCredentials)
        ));
    }

    #[tokio::test]
    async fn overlong_password_is_verified_truncated_and_never_panics() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .returning(|e| Ok(Some(user(e, false))));
        m.hasher
            .expect_verify()
            .withf(|p, _| p.expose().len() <= Password::MAX_BYTES)
            .returning(|_, _| Ok(false));
        let result = m.service().login("bob@example.com", "é".repeat(100)).await;
        assert!(matches!(result, Err(AccountError::InvalidCredentials)));
    }

    fn caller() -> Principal {
        Principal {
            user_id: UserId::from_uuid(Uuid::from_u128(7)),
            role: Role::User,
        }
    }

    #[tokio::test]
    async fn authenticate_accepts_a_live_session_takes_the_role_from_the_account_and_caches_it() {
        let mut m = Mocks::new();
        m.tokens.expect_verify().returning(|_| Ok(claims(5)));
        m.sessions
            .expect_find_with_user()
            .with(eq(sid(5)))
            .times(1)
            .returning(|_| Ok(Some((session(5), user("bob@example.com", false)))));
        let service = m.service();
        for _ in 0..3 {
            let principal = service.authenticate("t").await;
            assert!(matches!(principal, Ok(p) if p.role == Role::User));
        }
    }

    #[tokio::test]
    async fn authenticate_rejects_ended_sessions_and_changed_or_missing_accounts() {
        let revoked = Session {
            revoked_at: Some(at(NOW - 1)),
            ..session(5)
        };
        let expired = Session {
            expires_at: at(NOW),
            ..session(5)
        };
        let someone_elses = Session {
            user_id: UserId::from_uuid(Uuid::from_u128(8)),
            ..session(5)
        };
        let password_changed = User {
            session_epoch: 4,
            ..user("bob@example.com", false)
        };
        let bob = user("bob@example.com", false);
        let cases: Vec<Option<(Session, User)>> = vec![
            None,
            Some((revoked, bob.clone())),
            Some((expired, bob.clone())),
            Some((someone_elses, bob.clone())),
            Some((session(5), password_changed)),
            Some((session(5), user("bob@example.com", true))),
        ];
        for found in cases {
            let mut m = Mocks::new();
            m.tokens.expect_verify().returning(|_| Ok(claims(5)));
            let shown = format!("{found:?}");
            m.sessions
                .expect_find_with_user()
                .returning(move |_| Ok(found.clone()));
            let result = m.service().authenticate("t").await;
            assert!(
                matches!(
                    result,
                    Err(AccountError::Unauthenticated(AuthError::Revoked))
                ),
                "{shown}"
            );
        }
    }

    #[tokio::test]
    async fn authenticate_passes_token_errors_through_without_touching_storage() {
        let mut m = Mocks::new();
        m.tokens
            .expect_verify()
            .returning(|_| Err(AuthError::Expired));
        m.sessions.expect_find_with_user().never();
        let result = m.service().authenticate("t").await;
        assert!(matches!(
            result,
            Err(AccountError::Unauthenticated(AuthError::Expired))
        ));
    }

    #[tokio::test]
    async fn refresh_rotates_the_presented_token_and_issues_a_pair_in_the_same_session() {
        let mut m = Mocks::new();
        m.sessions
            .expect_rotate()
            .times(1)
            .returning(|presented, next, now| {
                assert_eq!(presented.as_str(), "hash(old-token)");
                assert_eq!(next.hash.as_str(), "hash(fresh-0)");
                assert_eq!((next.issued_at, now), (at(NOW), at(NOW)));
                assert_eq!(next.expires_at, at(NOW + REFRESH_TTL));
                Ok(RotateOutcome::Rotated(session(5)))
            });
        m.sessions.expect_revoke().never();
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user("bob@example.com", false))));
        m.tokens
            .expect_issue()
            .times(1)
            .withf(|_, session, _| *session == sid(5))
            .returning(|_, _, _| Ok(issued("access")));
        let pair = m.service().refresh("old-token").await;
        assert!(matches!(pair, Ok(p)
            if p.access.token == "access" && p.refresh_token.expose() == "fresh-0"));
    }

    #[tokio::test]
    async fn presenting_a_rotated_token_ends_its_whole_session() {
        let mut m = Mocks::new();
        m.sessions
            .expect_rotate()
            .returning(|_, _, _| Ok(RotateOutcome::Reused(sid(5))));
        m.sessions
            .expect_revoke()
            .times(1)
            .with(eq(sid(5)), eq(at(NOW)))
            .returning(|_, _| Ok(()));
        m.tokens.expect_issue().never();
        let cache = m.cache.clone();
        cache.put(sid(5), caller(), at(NOW), cache.generation());
        let result = m.service().refresh("stolen").await;
        assert!(matches!(result, Err(AccountError::InvalidRefreshToken)));
        assert_eq!(cache.get(sid(5), caller().user_id, at(NOW)), None);
    }

    #[tokio::test]
    async fn unknown_or_expired_refresh_tokens_are_refused_without_ending_anything() {
        let mut m = Mocks::new();
        m.sessions
            .expect_rotate()
            .times(1)
            .returning(|_, _, _| Ok(RotateOutcome::Invalid));
        m.sessions.expect_revoke().never();
        let service = m.service();
        for presented in ["nope", "", &"x".repeat(513)] {
            assert!(matches!(
                service.refresh(presented).await,
                Err(AccountError::InvalidRefreshToken)
            ));
        }
    }

    #[tokio::test]
    async fn refresh_of_a_session_whose_account_moved_on_ends_it() {
        for account in [
            None,
            Some(user("bob@example.com", true)),
            Some(User {
                session_epoch: 4,
                ..user("bob@example.com", false)
            }),
        ] {
            let mut m = Mocks::new();
            m.sessions
                .expect_rotate()
                .returning(|_, _, _| Ok(RotateOutcome::Rotated(session(5))));
            m.users
                .expect_find_by_id()
                .returning(move |_| Ok(account.clone()));
            m.sessions.expect_revoke().times(1).returning(|_, _| Ok(()));
            m.tokens.expect_issue().never();
            assert!(matches!(
                m.service().refresh("old").await,
                Err(AccountError::InvalidRefreshToken)
            ));
        }
    }

    #[tokio::test]
    async fn logout_ends_the_callers_session_of_that_token_and_forgets_it() {
        let mut m = Mocks::new();
        m.sessions
            .expect_revoke_by_token()
            .times(1)
            .withf(|hash, owner, _| hash.as_str() == "hash(mine)" && *owner == caller().user_id)
            .returning(|_, _, _| Ok(Some(sid(5))));
        let cache = m.cache.clone();
        cache.put(sid(5), caller(), at(NOW), cache.generation());
        assert!(m.service().logout(&caller(), "mine").await.is_ok());
        assert_eq!(cache.get(sid(5), caller().user_id, at(NOW)), None);
    }

    #[tokio::test]
    async fn logout_with_a_token_of_no_running_session_of_the_caller_is_refused() {
        let mut m = Mocks::new();
        m.sessions
            .expect_revoke_by_token()
            .returning(|_, _, _| Ok(None));
        assert!(matches!(
            m.service().logout(&caller(), "not-mine").await,
            Err(AccountError::InvalidRefreshToken)
        ));
    }

    #[tokio::test]
    async fn logout_all_ends_every_session_of_the_caller() {
        let mut m = Mocks::new();
        m.users
            .expect_end_all_sessions()
            .times(1)
            .withf(|id, _| *id == caller().user_id)
            .returning(|_, _| Ok(true));
        let cache = m.cache.clone();
        cache.put(sid(5), caller(), at(NOW), cache.generation());
        cache.put(sid(6), caller(), at(NOW), cache.generation());
        assert!(m.service().logout_all(&caller()).await.is_ok());
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_wrong_current_password_changes_nothing() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user("bob@example.com", false))));
        m.hasher
            .expect_verify()
            .withf(|p, h| p.expose() == "wrong-password" && h.as_str() == "stored-hash")
            .returning(|_, _| Ok(false));
        m.hasher.expect_hash().never();
        m.users.expect_set_password().never();
        let result = m
            .service()
            .change_password(&caller(), "wrong-password".into(), password("new password"))
            .await;
        assert!(matches!(result, Err(AccountError::WrongPassword)));
    }

    #[tokio::test]
    async fn a_password_change_stores_the_new_hash_and_ends_every_session() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user("bob@example.com", false))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.hasher
            .expect_hash()
            .withf(|p| p.expose() == "new password")
            .returning(|_| Ok(PasswordHash::new("new-hash".into())));
        m.users
            .expect_set_password()
            .times(1)
            .withf(|_, replacing, h, now| {
                replacing.as_str() == "stored-hash" && h.as_str() == "new-hash" && *now == at(NOW)
            })
            .returning(|_, _, _, _| Ok(true));
        let cache = m.cache.clone();
        cache.put(sid(5), caller(), at(NOW), cache.generation());
        let result = m
            .service()
            .change_password(
                &caller(),
                "stored-password".into(),
                password("new password"),
            )
            .await;
        assert!(result.is_ok());
        assert!(cache.is_empty(), "this instance rejects old tokens at once");
    }

    #[tokio::test]
    async fn a_password_changed_meanwhile_is_not_overwritten_and_the_session_is_over() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user("bob@example.com", false))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-hash".into())));
        m.users
            .expect_set_password()
            .times(1)
            .returning(|_, _, _, _| Ok(false));
        let result = m
            .service()
            .change_password(
                &caller(),
                "stored-password".into(),
                password("new password"),
            )
            .await;
        assert!(matches!(
            result,
            Err(AccountError::Unauthenticated(AuthError::Revoked))
        ));
    }

    #[tokio::test]
    async fn the_last_admin_cannot_delete_themself_and_others_can() {
        let mut m = Mocks::new();
        m.users
            .expect_delete()
            .times(1)
            .returning(|_| Ok(AccountDeletion::LastAdmin));
        assert!(matches!(
            m.service().delete_me(&caller()).await,
            Err(AccountError::LastAdmin)
        ));
        let mut m = Mocks::new();
        m.users
            .expect_delete()
            .times(1)
            .returning(|_| Ok(AccountDeletion::Deleted));
        assert!(m.service().delete_me(&caller()).await.is_ok());
    }

    #[tokio::test]
    async fn storage_outage_during_login_is_reported_as_such() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .returning(|_| Err(StoreError::Unavailable("pool timeout".into())));
        let result = m
            .service()
            .login("bob@example.com", "whatever123".into())
            .await;
        assert!(matches!(
            result,
            Err(AccountError::Store(StoreError::Unavailable(_)))
        ));
    }
}
