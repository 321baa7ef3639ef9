//! Tests of the recovery use cases, with mocked ports.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mockall::predicate::*;
use uuid::Uuid;

use crate::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

const NOW: i64 = 1_700_000_000;

fn ann() -> User {
    User {
        id: UserId::from_uuid(Uuid::from_u128(7)),
        email: Email::parse("ann@example.com").unwrap_or_else(|e| panic!("{e}")),
        password_hash: PasswordHash::new("stored".into()),
        role: Role::User,
        disabled: false,
        created_at: at(NOW - 100),
        email_verified: false,
        session_epoch: 0,
    }
}

struct Mocks {
    users: MockUserRepository,
    account_tokens: MockAccountTokenRepository,
    hasher: MockPasswordHasher,
    signal: MockMailSignal,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            account_tokens: MockAccountTokenRepository::new(),
            hasher: {
                let mut hasher = MockPasswordHasher::new();
                hasher.expect_is_at_capacity().returning(|| false);
                hasher
            },
            signal: MockMailSignal::new(),
        }
    }

    fn service(self, mail_enabled: bool, verification: EmailVerification) -> RecoveryService {
        let mut tokens = MockTokenService::new();
        tokens
            .expect_new_refresh_token()
            .returning(|| RefreshSecret::new("t".repeat(64)));
        tokens
            .expect_hash_refresh_token()
            .returning(|t| RefreshTokenHash::new(format!("hash({t})")));
        let tokens: Arc<dyn TokenService> = Arc::new(tokens);
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(NOW));
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let users: Arc<dyn UserRepository> = Arc::new(self.users);
        let hasher: Arc<dyn PasswordHasher> = Arc::new(self.hasher);
        let cache = Arc::new(SessionCache::disabled());
        let accounts = AccountService::new(
            AccountPorts {
                users: users.clone(),
                sessions: Arc::new(MockSessionRepository::new()),
                api_tokens: Arc::new(MockApiTokenRepository::new()),
                hasher: hasher.clone(),
                tokens: tokens.clone(),
                clock: clock.clone(),
                ids: Arc::new(MockIdGenerator::new()),
            },
            SessionSettings {
                refresh_ttl: Duration::from_secs(86_400),
                reauth_window: Duration::from_secs(600),
                session_max_age: Duration::from_secs(90 * 86_400),
                max_sessions: 100,
                refresh_grace: Duration::ZERO,
                max_api_tokens: 50,
            },
            cache.clone(),
        );
        RecoveryService::new(
            RecoveryPorts {
                users,
                account_tokens: Arc::new(self.account_tokens),
                hasher,
                tokens,
                clock,
                signal: Arc::new(self.signal),
            },
            accounts,
            cache,
            RecoverySettings {
                reset_ttl: Duration::from_secs(1800),
                verify_ttl: Duration::from_secs(86_400),
                verification,
                mail_enabled,
            },
        )
    }
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn password() -> Password {
    Password::parse("new password".into()).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn without_mail_forgot_touches_nothing() {
    // No expectation is set: any call on a port fails the test.
    let service = Mocks::new().service(false, EmailVerification::Optional);
    assert!(matches!(
        service.forgot_password(&email("ann@example.com")).await,
        Err(RecoveryError::MailNotConfigured)
    ));
}

#[tokio::test]
async fn forgot_stores_the_hash_and_mails_the_token_to_the_address_with_the_reset_ttl() {
    let mut mocks = Mocks::new();
    let token = "t".repeat(64);
    let hash = AccountTokenHash::new(format!("hash({token})"));
    mocks
        .account_tokens
        .expect_issue_reset_for_email()
        .withf(move |to, h, now, expires, mail| {
            to.as_str() == "ann@example.com"
                && *h == hash
                && *now == at(NOW)
                && *expires == at(NOW + 1800)
                && mail.to.as_str() == "ann@example.com"
                && mail.body.contains(&"t".repeat(64))
                && mail.body.contains("30 minutes")
                && !mail.body.contains("hash(")
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    mocks.signal.expect_queued().times(1).return_const(());
    let service = mocks.service(true, EmailVerification::Optional);
    service
        .forgot_password(&email("ann@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn forgot_for_an_address_without_an_account_succeeds_and_wakes_no_sender() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_issue_reset_for_email()
        .times(1)
        .returning(|_, _, _, _, _| Ok(false));
    // No `queued` expectation: signalling fails the test.
    let service = mocks.service(true, EmailVerification::Optional);
    service
        .forgot_password(&email("nobody@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_bad_reset_token_costs_no_hash() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_find_live()
        .with(always(), eq(TokenPurpose::PasswordReset), eq(at(NOW)))
        .returning(|_, _, _| Ok(None));
    // No hasher expectation: hashing fails the test.
    let service = mocks.service(true, EmailVerification::Optional);
    assert!(matches!(
        service.reset_password(&"0".repeat(64), password()).await,
        Err(RecoveryError::InvalidToken)
    ));
    assert!(matches!(
        service.reset_password("", password()).await,
        Err(RecoveryError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_reset_hashes_the_new_password_and_uses_the_token_with_it() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_find_live()
        .returning(|_, _, _| Ok(Some(UserId::from_uuid(Uuid::from_u128(7)))));
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new("new-hash".into())));
    mocks
        .account_tokens
        .expect_reset_password()
        .withf(|h, p, _| h.as_str() == "hash(abc)" && p.as_str() == "new-hash")
        .times(1)
        .returning(|_, _, _| Ok(Some(UserId::from_uuid(Uuid::from_u128(7)))));
    let service = mocks.service(true, EmailVerification::Optional);
    service
        .reset_password("abc", password())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_reset_while_hashing_is_at_capacity_is_busy_and_uses_no_token() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_find_live()
        .returning(|_, _, _| Ok(Some(UserId::from_uuid(Uuid::from_u128(7)))));
    mocks
        .hasher
        .expect_hash()
        .returning(|_| Err(HashError::Busy));
    let service = mocks.service(true, EmailVerification::Optional);
    assert!(matches!(
        service.reset_password("abc", password()).await,
        Err(RecoveryError::Hashing(HashError::Busy))
    ));
}

#[tokio::test]
async fn a_token_used_by_a_concurrent_reset_is_invalid() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_find_live()
        .returning(|_, _, _| Ok(Some(UserId::from_uuid(Uuid::from_u128(7)))));
    mocks
        .hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("new-hash".into())));
    mocks
        .account_tokens
        .expect_reset_password()
        .returning(|_, _, _| Ok(None));
    let service = mocks.service(true, EmailVerification::Optional);
    assert!(matches!(
        service.reset_password("abc", password()).await,
        Err(RecoveryError::InvalidToken)
    ));
}

#[tokio::test]
async fn registration_mails_a_verification_unless_verification_is_off_or_mail_is_none() {
    let quiet = Mocks::new().service(true, EmailVerification::Off);
    assert!(
        !quiet
            .registered(&ann())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    let no_mail = Mocks::new().service(false, EmailVerification::Optional);
    assert!(
        !no_mail
            .registered(&ann())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );

    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_issue()
        .withf(|token, mail| {
            token.purpose == TokenPurpose::EmailVerification
                && token.email.as_str() == "ann@example.com"
                && token.expires_at == at(NOW + 86_400)
                && mail.as_ref().is_some_and(|m| {
                    m.to.as_str() == "ann@example.com" && m.body.contains("24 hours")
                })
        })
        .times(1)
        .returning(|_, _| Ok(IssueOutcome::Issued));
    mocks.signal.expect_queued().times(1).return_const(());
    let service = mocks.service(true, EmailVerification::Optional);
    assert!(
        service
            .registered(&ann())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
}

#[tokio::test]
async fn an_admin_reset_token_is_for_administrators_and_mails_nothing() {
    let caller = Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(1)),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(2))),
    };
    let service = Mocks::new().service(false, EmailVerification::Optional);
    assert!(matches!(
        service.admin_reset_token(&caller, ann().id).await,
        Err(RecoveryError::Forbidden)
    ));

    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_find_by_id()
        .returning(|_| Ok(Some(ann())));
    mocks
        .account_tokens
        .expect_issue()
        .withf(|token, mail| token.purpose == TokenPurpose::PasswordReset && mail.is_none())
        .times(1)
        .returning(|_, _| Ok(IssueOutcome::Issued));
    let service = mocks.service(false, EmailVerification::Optional);
    let admin = Principal {
        role: Role::Admin,
        ..caller
    };
    let issued = service
        .admin_reset_token(&admin, ann().id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (issued.token.len(), issued.expires_at),
        (64, at(NOW + 1800))
    );
}

#[tokio::test]
async fn verifying_an_address_taken_meanwhile_is_a_conflict() {
    let mut mocks = Mocks::new();
    mocks
        .account_tokens
        .expect_verify_email()
        .returning(|_, _| Ok(VerifyOutcome::EmailTaken));
    let service = mocks.service(true, EmailVerification::Optional);
    assert!(matches!(
        service.verify_email("abc").await,
        Err(RecoveryError::EmailTaken)
    ));
}
