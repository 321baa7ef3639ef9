use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

use crate::*;
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
        email_verified: false,
        session_epoch: 3,
    }
}

const NOW: i64 = 1_700_000_100;
const REFRESH_TTL: i64 = 30 * 86_400;
const REAUTH_WINDOW: i64 = 600;
const MAX_AGE: i64 = 90 * 86_400;

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
        password_login_at: Some(at(NOW - 100)),
        last_used_at: Some(at(NOW - 100)),
        user_agent: None,
        address: None,
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
    api_tokens: MockApiTokenRepository,
    max_sessions: u64,
    grace: u64,
    max_age: i64,
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
            api_tokens: MockApiTokenRepository::new(),
            max_sessions: 0,
            grace: 0,
            max_age: MAX_AGE,
            hasher: current_cost_hasher(),
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
                api_tokens: Arc::new(self.api_tokens),
                hasher: Arc::new(self.hasher),
                tokens: Arc::new(self.tokens),
                clock: Arc::new(clock),
                ids: Arc::new(ids),
            },
            SessionSettings {
                refresh_ttl: Duration::from_secs(30 * 86_400),
                reauth_window: Duration::from_secs(REAUTH_WINDOW as u64),
                session_max_age: Duration::from_secs(self.max_age as u64),
                max_sessions: self.max_sessions,
                refresh_grace: Duration::from_secs(self.grace),
                max_api_tokens: 3,
            },
            self.cache,
        )
    }
}

/// A hasher mock whose stored hashes are all at its cost (no rehashing at login); tests that
/// want another start from a new one.
fn current_cost_hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_needs_rehash().returning(|_| false);
    hasher.expect_is_at_capacity().returning(|| false);
    hasher
}

fn password(s: &str) -> Password {
    Password::parse(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn email_is_trimmed_and_lower_cased() {
    assert_eq!(
        Email::parse("  Alice@Example.COM ").map(|e| e.as_str().to_owned()),
        Ok("alice@example.com".to_owned())
    );
}

#[test]
fn email_is_normalised_to_nfc_so_equivalent_spellings_are_one_address() {
    let composed = Email::parse("Jos\u{e9}@example.com").unwrap_or_else(|e| panic!("{e}"));
    let decomposed = Email::parse("JOSE\u{301}@example.com").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(composed, decomposed);
    assert_eq!(composed.as_str(), "jos\u{e9}@example.com");
    // Compatibility forms are not folded: a full-width letter stays a different address.
    let full_width = Email::parse("\u{ff4a}ose@example.com").unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(full_width.as_str(), "jose@example.com");
}

#[test]
fn emails_with_bidi_controls_or_zero_width_characters_are_refused() {
    for c in [
        '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
    ] {
        for raw in [
            format!("al{c}ice@example.com"),
            format!("alice@exa{c}mple.com"),
        ] {
            assert_eq!(
                Email::parse(&raw),
                Err(EmailError::InvisibleCharacters),
                "{raw:?}"
            );
        }
    }
    // Their neighbours are not caught by the rule.
    assert!(Email::parse("al\u{2010}ice@example.com").is_ok());
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
            email_verified: false,
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
        .returning(|session, first, _| {
            assert_eq!(session.id, sid(42));
            assert_eq!(session.epoch, 3, "the account's epoch when it logged in");
            assert_eq!(session.revoked_at, None);
            assert_eq!(session.password_login_at, Some(at(NOW)));
            assert_eq!(session.expires_at, at(NOW + REFRESH_TTL));
            assert_eq!(
                first.hash.as_str(),
                "hash(fresh-0)",
                "only the hash is stored"
            );
            assert_eq!(first.expires_at, session.expires_at);
            Ok(vec![])
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
async fn required_verification_refuses_the_right_password_of_an_unverified_account_only() {
    let mut m = Mocks::new();
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.hasher
        .expect_verify()
        .returning(|p, _| Ok(p.expose() == "right-password"));
    m.tokens.expect_issue().never();
    let service = m.service().requiring_verified_email(true);
    assert!(matches!(
        service
            .login("bob@example.com", "right-password".into())
            .await,
        Err(AccountError::EmailNotVerified(id)) if id == UserId::from_uuid(Uuid::from_u128(7))
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
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
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
        email_verified: false,
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
        .returning(|presented, next, now, _| {
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
        .returning(|_, _, _, _| Ok(RotateOutcome::Reused(sid(5))));
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
        .returning(|_, _, _, _| Ok(RotateOutcome::Invalid));
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
            email_verified: false,
            session_epoch: 4,
            ..user("bob@example.com", false)
        }),
    ] {
        let mut m = Mocks::new();
        m.sessions
            .expect_rotate()
            .returning(|_, _, _, _| Ok(RotateOutcome::Rotated(session(5))));
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
    cache.put(sid(7), someone_else(), at(NOW), cache.generation());
    assert!(m.service().logout_all(&caller()).await.is_ok());
    assert_eq!(cache.get(sid(5), caller().user_id, at(NOW)), None);
    assert_eq!(cache.get(sid(6), caller().user_id, at(NOW)), None);
    assert_eq!(
        cache.get(sid(7), someone_else().user_id, at(NOW)),
        Some(someone_else()),
        "only the caller's sessions are forgotten"
    );
}

fn api_caller(scopes: Scopes) -> Principal {
    Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(7)),
        role: Role::Admin,
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes,
        },
    }
}

fn someone_else() -> Principal {
    Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(8)),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    }
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
    cache.put(sid(6), caller(), at(NOW), cache.generation());
    cache.put(sid(7), someone_else(), at(NOW), cache.generation());
    let result = m
        .service()
        .change_password(
            &caller(),
            "stored-password".into(),
            password("new password"),
        )
        .await;
    assert!(result.is_ok());
    assert_eq!(cache.len(), 1, "this instance rejects old tokens at once");
    assert_eq!(
        cache.get(sid(7), someone_else().user_id, at(NOW)),
        Some(someone_else())
    );
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

impl Mocks {
    /// The request's token is of session 5, whose password login was `login_at`.
    fn logged_in(mut self, login_at: Option<i64>) -> Self {
        self.tokens.expect_verify().returning(|_| Ok(claims(5)));
        self.sessions
            .expect_find_with_user()
            .with(eq(sid(5)))
            .returning(move |_| {
                let session = Session {
                    password_login_at: login_at.map(at),
                    ..session(5)
                };
                Ok(Some((session, user("bob@example.com", false))))
            });
        self
    }
}

#[tokio::test]
async fn the_last_admin_cannot_delete_themself_and_others_can() {
    let mut m = Mocks::new().logged_in(Some(NOW - 1));
    m.users
        .expect_delete()
        .times(1)
        .returning(|_| Ok(AccountDeletion::LastAdmin));
    assert!(matches!(
        m.service().delete_me(&caller()).await,
        Err(AccountError::LastAdmin)
    ));
    let mut m = Mocks::new().logged_in(Some(NOW - 1));
    m.users
        .expect_delete()
        .times(1)
        .returning(|_| Ok(AccountDeletion::Deleted));
    assert!(m.service().delete_me(&caller()).await.is_ok());
}

#[tokio::test]
async fn deleting_the_account_needs_a_password_login_within_the_reauth_window() {
    let mut m = Mocks::new().logged_in(Some(NOW - REAUTH_WINDOW));
    m.users
        .expect_delete()
        .times(1)
        .returning(|_| Ok(AccountDeletion::Deleted));
    assert!(
        m.service().delete_me(&caller()).await.is_ok(),
        "a login exactly reauth_window old is still recent"
    );
    for (login_at, why) in [
        (Some(NOW - REAUTH_WINDOW - 1), "a login one second too old"),
        (None, "a session stored before logins were recorded"),
    ] {
        let mut m = Mocks::new().logged_in(login_at);
        m.users.expect_delete().never();
        assert!(
            matches!(
                m.service().delete_me(&caller()).await,
                Err(AccountError::ReauthenticationRequired)
            ),
            "{why}"
        );
    }
}

#[tokio::test]
async fn the_recent_login_is_checked_on_the_requests_own_live_session() {
    // The token's session ended meanwhile: unauthenticated, not merely "log in again".
    let mut m = Mocks::new();
    m.tokens.expect_verify().returning(|_| Ok(claims(5)));
    m.sessions.expect_find_with_user().returning(|_| {
        let ended = Session {
            revoked_at: Some(at(NOW - 1)),
            password_login_at: Some(at(NOW - 1)),
            ..session(5)
        };
        Ok(Some((ended, user("bob@example.com", false))))
    });
    m.users.expect_delete().never();
    assert!(matches!(
        m.service().delete_me(&caller()).await,
        Err(AccountError::Unauthenticated(AuthError::Revoked))
    ));
    // An API token is refused before any lookup.
    let mut m = Mocks::new();
    m.sessions.expect_find_with_user().never();
    m.users.expect_delete().never();
    assert!(matches!(
        m.service()
            .delete_me(&api_caller(Scopes::of(Scope::ALL)))
            .await,
        Err(AccountError::Credential(CredentialError::SessionRequired))
    ));
}

#[tokio::test]
async fn storage_outage_during_login_is_reported_as_such() {
    let mut m = Mocks::new();
    m.users
        .expect_find_by_email()
        .returning(|_| Err(StoreError::unavailable("pool timeout")));
    let result = m
        .service()
        .login("bob@example.com", "whatever123".into())
        .await;
    assert!(matches!(
        result,
        Err(AccountError::Store(StoreError::Unavailable(_)))
    ));
}

/// The session rules and the session cache.
mod sessions {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn sid(n: u128) -> SessionId {
        SessionId::from_uuid(Uuid::from_u128(n))
    }

    fn uid(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    fn principal(n: u128) -> Principal {
        Principal {
            user_id: uid(n),
            role: Role::User,
            credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
        }
    }

    fn account(epoch: i64, disabled: bool) -> User {
        User {
            id: uid(1),
            email: Email::from_trusted("a@example.com".into()),
            password_hash: PasswordHash::new("h".into()),
            role: Role::User,
            disabled,
            created_at: at(0),
            email_verified: false,
            session_epoch: epoch,
        }
    }

    fn session() -> Session {
        Session {
            id: sid(9),
            user_id: uid(1),
            epoch: 3,
            created_at: at(0),
            expires_at: at(1000),
            revoked_at: None,
            password_login_at: Some(at(0)),
            last_used_at: Some(at(0)),
            user_agent: None,
            address: None,
        }
    }

    #[test]
    fn a_session_is_live_only_while_nothing_ended_it() {
        let s = session();
        assert!(s.is_live_for(uid(1), &account(3, false), at(10)));
        assert!(
            !s.is_live_for(uid(2), &account(3, false), at(10)),
            "other subject"
        );
        assert!(
            !s.is_live_for(uid(1), &account(4, false), at(10)),
            "epoch moved on"
        );
        assert!(
            !s.is_live_for(uid(1), &account(3, true), at(10)),
            "disabled"
        );
        assert!(
            !s.is_live_for(uid(1), &account(3, false), at(1000)),
            "expired"
        );
        let revoked = Session {
            revoked_at: Some(at(5)),
            ..session()
        };
        assert!(!revoked.is_live_for(uid(1), &account(3, false), at(10)));
    }

    #[test]
    fn cached_sessions_expire_after_the_ttl_and_only_serve_their_subject() {
        let cache = SessionCache::new(Duration::from_secs(2), 10);
        cache.put(sid(1), principal(1), at(100), cache.generation());
        assert_eq!(cache.get(sid(1), uid(1), at(101)), Some(principal(1)));
        assert_eq!(cache.get(sid(1), uid(2), at(101)), None);
        assert_eq!(cache.get(sid(1), uid(1), at(102)), None);
    }

    #[test]
    fn invalidation_forgets_at_once_and_refuses_lookups_that_started_before_it() {
        let cache = SessionCache::new(Duration::from_secs(60), 10);
        cache.put(sid(1), principal(1), at(0), cache.generation());
        cache.put(sid(2), principal(1), at(0), cache.generation());
        cache.put(sid(3), principal(2), at(0), cache.generation());
        cache.invalidate_session(sid(3));
        assert_eq!(cache.get(sid(3), uid(2), at(1)), None);
        let before = cache.generation();
        cache.invalidate_user(uid(1));
        assert!(cache.is_empty());
        cache.put(sid(1), principal(1), at(1), before);
        assert_eq!(
            cache.get(sid(1), uid(1), at(1)),
            None,
            "stale read not stored"
        );
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = SessionCache::new(Duration::from_secs(60), 3);
        for n in 0..10 {
            cache.put(sid(n), principal(n), at(0), cache.generation());
            assert!(cache.len() <= 3);
        }
    }

    #[test]
    fn a_full_cache_makes_room_one_entry_at_a_time_and_keeps_sessions_in_use() {
        // A power of two, so that the shards' capacities add up to exactly this.
        const CAPACITY: u128 = 1024;
        let cache = SessionCache::new(Duration::from_secs(60), 1024);
        let in_use = sid(1_000_000);
        cache.put(in_use, principal(1), at(0), cache.generation());
        for n in 0..20 * CAPACITY {
            cache.put(sid(n), principal(n), at(0), cache.generation());
            assert!(cache.len() <= 1024, "{} entries", cache.len());
            assert_eq!(
                cache.get(in_use, uid(1), at(1)),
                Some(principal(1)),
                "a session in use survives {n} new ones"
            );
            if n >= 2 * CAPACITY {
                assert!(
                    cache.len() >= 1024 * 3 / 4,
                    "a full cache is never emptied: {} entries after {n}",
                    cache.len()
                );
            }
        }
        // The newest sessions are among those kept.
        let last = 20 * CAPACITY - 1;
        assert_eq!(
            cache.get(sid(last), uid(last), at(1)),
            Some(principal(last))
        );
    }

    #[test]
    fn forgetting_an_account_drops_all_its_sessions_and_only_those() {
        let cache = SessionCache::new(Duration::from_secs(60), 1024);
        for n in 0..600 {
            // Every third session is account 1's.
            let owner = if n % 3 == 0 {
                principal(1)
            } else {
                principal(n + 2)
            };
            cache.put(sid(n), owner, at(0), cache.generation());
        }
        cache.invalidate_user(uid(1));
        for n in 0..600 {
            let found = cache.get(sid(n), if n % 3 == 0 { uid(1) } else { uid(n + 2) }, at(1));
            assert_eq!(found.is_some(), n % 3 != 0, "session {n}");
        }
        assert_eq!(cache.len(), 400);
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let off = SessionCache::disabled();
        off.put(sid(1), principal(1), at(0), off.generation());
        assert_eq!(off.get(sid(1), uid(1), at(0)), None);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let shown = format!(
            "{:?} {:?}",
            RefreshSecret::new("s3cret-token".into()),
            RefreshTokenHash::new("h4sh".into())
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("h4sh"),
            "{shown}"
        );
    }
}

/// A hasher mock whose stored hash "old-cost" was made at another cost than its own.
fn rehashing_hasher(verifies: bool) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_is_at_capacity().returning(|| false);
    hasher
        .expect_needs_rehash()
        .returning(|h| h.as_str() == "stored-hash");
    hasher.expect_verify().returning(move |_, _| Ok(verifies));
    hasher
}

fn logging_in(m: &mut Mocks) {
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.sessions.expect_create().returning(|_, _, _| Ok(vec![]));
    m.tokens
        .expect_issue()
        .returning(|_, _, _| Ok(issued("access")));
}

#[tokio::test]
async fn a_login_rehashes_a_password_of_another_cost_over_the_old_hash_only() {
    let mut m = Mocks::new();
    m.hasher = rehashing_hasher(true);
    m.hasher
        .expect_hash()
        .times(1)
        .withf(|p| p.expose() == "correct horse")
        .returning(|_| Ok(PasswordHash::new("new-cost".into())));
    logging_in(&mut m);
    m.users
        .expect_rehash_password()
        .times(1)
        .withf(|id, replacing, hash| {
            *id == UserId::from_uuid(Uuid::from_u128(7))
                && replacing.as_str() == "stored-hash"
                && hash.as_str() == "new-cost"
        })
        .returning(|_, _, _| Ok(true));
    m.users.expect_set_password().never();
    let pair = m
        .service()
        .login("bob@example.com", "correct horse".into())
        .await;
    assert!(pair.is_ok());
}

#[tokio::test]
async fn a_login_succeeds_when_rehashing_cannot_be_done_or_lost_a_race() {
    for outcome in [Ok(false), Err(StoreError::unavailable("down"))] {
        let mut m = Mocks::new();
        m.hasher = rehashing_hasher(true);
        m.hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-cost".into())));
        logging_in(&mut m);
        let outcome = std::sync::Mutex::new(Some(outcome));
        m.users
            .expect_rehash_password()
            .times(1)
            .returning(move |_, _, _| {
                outcome
                    .lock()
                    .ok()
                    .and_then(|mut o| o.take())
                    .unwrap_or(Ok(false))
            });
        assert!(
            m.service()
                .login("bob@example.com", "correct horse".into())
                .await
                .is_ok()
        );
    }
    let mut m = Mocks::new();
    m.hasher = rehashing_hasher(true);
    m.hasher.expect_hash().returning(|_| Err(HashError::Busy));
    logging_in(&mut m);
    m.users.expect_rehash_password().never();
    assert!(
        m.service()
            .login("bob@example.com", "correct horse".into())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_failed_login_never_rehashes() {
    let mut m = Mocks::new();
    m.hasher = rehashing_hasher(false);
    m.hasher.expect_hash().never();
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.users.expect_rehash_password().never();
    let result = m
        .service()
        .login("bob@example.com", "wrong horse".into())
        .await;
    assert!(matches!(result, Err(AccountError::InvalidCredentials)));
}

#[tokio::test]
async fn a_busy_hasher_is_its_own_error_for_login_register_and_password_change() {
    let mut m = Mocks::new();
    m.hasher
        .expect_verify()
        .returning(|_, _| Err(HashError::Busy));
    m.hasher.expect_hash().returning(|_| Err(HashError::Busy));
    m.hasher
        .expect_dummy_hash()
        .returning(|| PasswordHash::new("dummy".into()));
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user("bob@example.com", false))));
    m.users.expect_insert().never();
    m.users.expect_set_password().never();
    let accounts = m.service();
    assert!(matches!(
        accounts.login("bob@example.com", "whatever1".into()).await,
        Err(AccountError::Hashing(HashError::Busy))
    ));
    let email = Email::parse("new@example.com").unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        accounts.register(email, password("whatever1")).await,
        Err(AccountError::Hashing(HashError::Busy))
    ));
    let caller = Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(7)),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    };
    assert!(matches!(
        accounts
            .change_password(&caller, "whatever1".into(), password("whatever2"))
            .await,
        Err(AccountError::Hashing(HashError::Busy))
    ));
}

#[tokio::test]
async fn a_login_at_hashing_capacity_is_refused_before_the_account_lookup() {
    let mut m = Mocks::new();
    m.hasher = MockPasswordHasher::new();
    m.hasher.expect_is_at_capacity().returning(|| true);
    m.hasher.expect_verify().never();
    m.users.expect_find_by_email().never();
    assert!(matches!(
        m.service()
            .login("bob@example.com", "whatever1".into())
            .await,
        Err(AccountError::Hashing(HashError::Busy))
    ));
}

#[path = "credential_tests.rs"]
mod credential_tests;
