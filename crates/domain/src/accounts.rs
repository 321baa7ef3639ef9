//! Accounts: users, credentials, access tokens, and the `AccountService` use cases.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{AccountError, AuthError};
use crate::ids::UserId;
use crate::ports::{
    Clock, IdGenerator, InsertUserError, PasswordHasher, TokenService, UserRepository,
};

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

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user it was issued to (`sub`).
    pub user_id: UserId,
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

/// The account use cases: register, log in, authenticate a request, read one's profile.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl fmt::Debug for AccountService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

impl AccountService {
    /// Builds the service from its ports.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            users,
            hasher,
            tokens,
            clock,
            ids,
        }
    }

    /// Registers a new account with role `user`.
    ///
    /// # Errors
    /// [`AccountError::EmailTaken`] if the email is already registered.
    pub async fn register(&self, email: Email, password: Password) -> Result<User, AccountError> {
        let password_hash = self
            .hasher
            .hash(password)
            .await
            .map_err(AccountError::Internal)?;
        let new_user = NewUser {
            id: UserId::from_uuid(self.ids.new_id()),
            email,
            password_hash,
            role: Role::User,
            created_at: self.clock.now(),
        };
        self.users.insert(new_user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => AccountError::EmailTaken,
            InsertUserError::Store(e) => AccountError::Store(e),
        })
    }

    /// Checks credentials and issues an access token.
    ///
    /// An unknown email, a malformed one and a wrong password are the same
    /// [`AccountError::InvalidCredentials`], and an unknown email still costs one password
    /// verification (against a dummy hash), so neither the answer nor its timing tells
    /// whether an account exists.
    ///
    /// # Errors
    /// `InvalidCredentials`; `AccountDisabled` for the right password of a disabled account.
    pub async fn login(&self, email: &str, password: String) -> Result<IssuedToken, AccountError> {
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
        self.tokens
            .issue(&user, self.clock.now())
            .map_err(AccountError::Internal)
    }

    /// Turns a presented access token into the caller: the token must verify, and its user
    /// must still exist and be enabled.
    ///
    /// # Errors
    /// [`AccountError::Unauthenticated`] with the reason; `Store` if the lookup failed.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AccountError> {
        let claims = self.tokens.verify(token)?;
        match self.users.find_by_id(claims.user_id).await? {
            Some(user) if !user.disabled => Ok(Principal {
                user_id: user.id,
                role: user.role,
            }),
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
    use crate::error::StoreError;
    use crate::ports::{
        MockClock, MockIdGenerator, MockPasswordHasher, MockTokenService, MockUserRepository,
    };
    use mockall::predicate::*;
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
        }
    }

    struct Mocks {
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenService,
    }

    impl Mocks {
        fn new() -> Self {
            Self {
                users: MockUserRepository::new(),
                hasher: MockPasswordHasher::new(),
                tokens: MockTokenService::new(),
            }
        }

        fn service(self) -> AccountService {
            let mut clock = MockClock::new();
            clock.expect_now().returning(|| at(1_700_000_100));
            let mut ids = MockIdGenerator::new();
            ids.expect_new_id().returning(|| Uuid::from_u128(42));
            AccountService::new(
                Arc::new(self.users),
                Arc::new(self.hasher),
                Arc::new(self.tokens),
                Arc::new(clock),
                Arc::new(ids),
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
    async fn login_normalises_the_email_and_issues_a_token() {
        let mut m = Mocks::new();
        m.users
            .expect_find_by_email()
            .with(eq("bob@example.com"))
            .returning(|e| Ok(Some(user(e, false))));
        m.hasher.expect_verify().returning(|_, _| Ok(true));
        m.tokens.expect_issue().times(1).returning(|u, now| {
            assert_eq!(now, at(1_700_000_100));
            Ok(IssuedToken {
                token: format!("token-for-{}", u.email),
                expires_in: 900,
            })
        });
        let token = m
            .service()
            .login(" BOB@example.com ", "right-password".into())
            .await;
        assert!(matches!(token, Ok(t) if t.token == "token-for-bob@example.com"));
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

    #[tokio::test]
    async fn authenticate_accepts_a_valid_token_of_an_enabled_user_and_takes_the_role_from_the_account()
     {
        let mut m = Mocks::new();
        m.tokens.expect_verify().returning(|_| {
            Ok(AccessClaims {
                user_id: UserId::from_uuid(Uuid::from_u128(7)),
                role: Role::Admin,
                issued_at: at(0),
                expires_at: at(900),
            })
        });
        m.users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user("bob@example.com", false))));
        let principal = m.service().authenticate("t").await;
        assert!(matches!(principal, Ok(p) if p.role == Role::User));
    }

    #[tokio::test]
    async fn authenticate_rejects_tokens_of_deleted_or_disabled_users() {
        for found in [None, Some(user("bob@example.com", true))] {
            let mut m = Mocks::new();
            m.tokens.expect_verify().returning(|_| {
                Ok(AccessClaims {
                    user_id: UserId::from_uuid(Uuid::from_u128(7)),
                    role: Role::User,
                    issued_at: at(0),
                    expires_at: at(900),
                })
            });
            let found = found.clone();
            m.users
                .expect_find_by_id()
                .returning(move |_| Ok(found.clone()));
            let result = m.service().authenticate("t").await;
            assert!(matches!(
                result,
                Err(AccountError::Unauthenticated(AuthError::Revoked))
            ));
        }
    }

    #[tokio::test]
    async fn authenticate_passes_token_errors_through_without_touching_storage() {
        let mut m = Mocks::new();
        m.tokens
            .expect_verify()
            .returning(|_| Err(AuthError::Expired));
        m.users.expect_find_by_id().never();
        let result = m.service().authenticate("t").await;
        assert!(matches!(
            result,
            Err(AccountError::Unauthenticated(AuthError::Expired))
        ));
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
