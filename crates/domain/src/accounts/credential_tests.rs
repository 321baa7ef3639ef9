//! Personal API tokens, scopes, and the session rules of the account service (cap, absolute
//! lifetime, refresh grace, listing and ending sessions).

use super::*;

const TOKEN: &str =
    "tka_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000001";

fn stored_token(expires_at: Option<i64>, last_used_at: Option<i64>) -> ApiToken {
    ApiToken {
        id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
        user_id: UserId::from_uuid(Uuid::from_u128(7)),
        name: ApiTokenName::from_trusted("ci".into()),
        scopes: Scopes::of([Scope::TasksRead]),
        prefix: "tka_0123456789abcdef".into(),
        created_at: at(NOW - 1000),
        expires_at: expires_at.map(at),
        last_used_at: last_used_at.map(at),
    }
}

impl Mocks {
    /// `TOKEN` is stored as `stored`, for `account`; its hash matches when `matches`.
    fn with_api_token(mut self, stored: ApiToken, account: User, matches: bool) -> Self {
        self.api_tokens
            .expect_find_by_prefix()
            .with(eq("tka_0123456789abcdef"))
            .returning(move |_| {
                Ok(Some((
                    stored.clone(),
                    ApiTokenHash::new("h".into()),
                    account.clone(),
                )))
            });
        self.tokens
            .expect_api_token_matches()
            .withf(|t, h| t == TOKEN && h.as_str() == "h")
            .returning(move |_, _| matches);
        self
    }
}

#[test]
fn a_session_allows_every_scope_and_a_token_only_its_own() {
    let session = caller();
    let token = api_caller(Scopes::of([Scope::TasksRead, Scope::ListsWrite]));
    for scope in Scope::ALL {
        assert_eq!(session.require(scope), Ok(()));
    }
    assert_eq!(token.require(Scope::TasksRead), Ok(()));
    assert_eq!(token.require(Scope::ListsWrite), Ok(()));
    assert_eq!(
        token.require(Scope::TasksWrite),
        Err(CredentialError::MissingScope(Scope::TasksWrite))
    );
    assert_eq!(
        token.require(Scope::ChangesRead),
        Err(CredentialError::MissingScope(Scope::ChangesRead))
    );
    assert_eq!(session.require_session(), Ok(sid(5)));
    assert_eq!(
        api_caller(Scopes::of(Scope::ALL)).require_session(),
        Err(CredentialError::SessionRequired)
    );
}

#[test]
fn scopes_parse_store_and_read_back() {
    assert_eq!(Scope::parse("tasks:write"), Ok(Scope::TasksWrite));
    assert_eq!(Scope::parse("tasks"), Err(ScopeError));
    assert_eq!(Scope::parse("TASKS:READ"), Err(ScopeError));
    let scopes = Scopes::of([Scope::ChangesRead, Scope::TasksRead, Scope::TasksRead]);
    assert_eq!(scopes.to_stored(), "tasks:read changes:read");
    assert_eq!(Scopes::from_stored(&scopes.to_stored()), Ok(scopes));
    assert_eq!(Scopes::from_stored("tasks:read bogus"), Err(ScopeError));
    assert!(Scopes::of([]).is_empty());
}

#[test]
fn only_well_formed_api_tokens_have_a_lookup_prefix() {
    assert_eq!(
        ApiTokenSecret::lookup_prefix(TOKEN),
        Some("tka_0123456789abcdef")
    );
    for bad in [
        "tka_",
        &TOKEN[..TOKEN.len() - 1],
        &format!("{TOKEN}0"),
        &TOKEN.replace("tka_0", "tka_G"),
        &TOKEN.replacen('_', "-", 2),
        &TOKEN.to_uppercase(),
    ] {
        assert_eq!(ApiTokenSecret::lookup_prefix(bad), None, "{bad}");
    }
}

#[tokio::test]
async fn an_api_token_authenticates_with_its_scopes_and_records_its_use() {
    let mut m = Mocks::new().with_api_token(
        stored_token(Some(NOW + 10), Some(NOW - 61)),
        user("bob@example.com", false),
        true,
    );
    m.api_tokens
        .expect_touch()
        .times(1)
        .withf(|id, now, before| {
            *id == ApiTokenId::from_uuid(Uuid::from_u128(11))
                && *now == at(NOW)
                && *before == at(NOW - 60)
        })
        .returning(|_, _, _| Ok(()));
    m.tokens.expect_verify().never();
    let principal = m.service().authenticate(TOKEN).await;
    assert!(matches!(principal, Ok(Principal {
        credential: Credential::ApiToken { scopes, .. }, ..
    }) if scopes == Scopes::of([Scope::TasksRead])));
}

#[tokio::test]
async fn a_token_used_within_the_minute_is_not_written_again_and_a_failed_write_is_ignored() {
    let mut m = Mocks::new().with_api_token(
        stored_token(None, Some(NOW - 59)),
        user("bob@example.com", false),
        true,
    );
    m.api_tokens.expect_touch().never();
    assert!(m.service().authenticate(TOKEN).await.is_ok());
    let mut m = Mocks::new().with_api_token(
        stored_token(None, None),
        user("bob@example.com", false),
        true,
    );
    m.api_tokens
        .expect_touch()
        .times(1)
        .returning(|_, _, _| Err(StoreError::unavailable("busy")));
    assert!(m.service().authenticate(TOKEN).await.is_ok());
}

#[tokio::test]
async fn expired_unknown_mismatched_or_disabled_api_tokens_are_refused() {
    let m = Mocks::new().with_api_token(
        stored_token(Some(NOW), None),
        user("bob@example.com", false),
        true,
    );
    assert!(matches!(
        m.service().authenticate(TOKEN).await,
        Err(AccountError::Unauthenticated(AuthError::Expired))
    ));
    let m = Mocks::new().with_api_token(
        stored_token(None, None),
        user("bob@example.com", false),
        false,
    );
    assert!(matches!(
        m.service().authenticate(TOKEN).await,
        Err(AccountError::Unauthenticated(AuthError::Invalid))
    ));
    let m = Mocks::new().with_api_token(
        stored_token(None, None),
        user("bob@example.com", true),
        true,
    );
    assert!(matches!(
        m.service().authenticate(TOKEN).await,
        Err(AccountError::Unauthenticated(AuthError::Revoked))
    ));
    let mut m = Mocks::new();
    m.api_tokens.expect_find_by_prefix().returning(|_| Ok(None));
    assert!(matches!(
        m.service().authenticate(TOKEN).await,
        Err(AccountError::Unauthenticated(AuthError::Invalid))
    ));
    // Malformed: refused without a lookup (and never taken for an access token).
    let mut m = Mocks::new();
    m.api_tokens.expect_find_by_prefix().never();
    m.tokens.expect_verify().never();
    assert!(matches!(
        m.service().authenticate("tka_short").await,
        Err(AccountError::Unauthenticated(AuthError::Invalid))
    ));
}

fn draft(expires_at: Option<i64>) -> ApiTokenDraft {
    ApiTokenDraft {
        name: ApiTokenName::parse("  deploy bot ").unwrap_or_else(|e| panic!("{e}")),
        scopes: Scopes::of([Scope::TasksRead, Scope::TasksWrite]),
        expires_at: expires_at.map(at),
    }
}

impl Mocks {
    fn issuing_api_tokens(mut self) -> Self {
        self.tokens
            .expect_new_api_token()
            .returning(|| ApiTokenSecret::new(TOKEN.into()));
        self.tokens
            .expect_hash_api_token()
            .returning(|t| ApiTokenHash::new(format!("hash({t})")));
        self
    }
}

#[tokio::test]
async fn creating_a_token_stores_only_its_hash_under_the_cap_and_shows_the_secret_once() {
    let mut m = Mocks::new().logged_in(Some(NOW - 1)).issuing_api_tokens();
    m.api_tokens
        .expect_insert()
        .times(1)
        .withf(|token, hash, cap, now| {
            token.prefix == "tka_0123456789abcdef"
                && token.name.as_str() == "deploy bot"
                && token.user_id == caller().user_id
                && hash.as_str() == format!("hash({TOKEN})")
                && *cap == Some(3)
                && *now == at(NOW)
        })
        .returning(|_, _, _, _| Ok(ApiTokenInsert::Inserted));
    let created = m
        .service()
        .create_api_token(&caller(), draft(Some(NOW + 1)))
        .await;
    assert!(matches!(created, Ok(c)
        if c.secret.expose() == TOKEN && c.token.expires_at == Some(at(NOW + 1))
            && c.token.last_used_at.is_none()));
}

#[tokio::test]
async fn creating_a_token_needs_a_recent_login_a_future_expiry_and_room() {
    let mut m = Mocks::new().logged_in(Some(NOW - REAUTH_WINDOW - 1));
    m.api_tokens.expect_insert().never();
    assert!(matches!(
        m.service().create_api_token(&caller(), draft(None)).await,
        Err(AccountError::ReauthenticationRequired)
    ));
    let mut m = Mocks::new();
    m.api_tokens.expect_insert().never();
    assert!(matches!(
        m.service()
            .create_api_token(&api_caller(Scopes::of(Scope::ALL)), draft(None))
            .await,
        Err(AccountError::Credential(CredentialError::SessionRequired))
    ));
    let mut m = Mocks::new().logged_in(Some(NOW - 1));
    m.api_tokens.expect_insert().never();
    assert!(matches!(
        m.service()
            .create_api_token(&caller(), draft(Some(NOW)))
            .await,
        Err(AccountError::ExpiryInPast)
    ));
    let mut m = Mocks::new().logged_in(Some(NOW - 1)).issuing_api_tokens();
    m.api_tokens
        .expect_insert()
        .returning(|_, _, _, _| Ok(ApiTokenInsert::CapReached));
    assert!(matches!(
        m.service().create_api_token(&caller(), draft(None)).await,
        Err(AccountError::TooManyApiTokens { limit: 3 })
    ));
}

#[tokio::test]
async fn account_session_and_token_use_cases_refuse_api_tokens_before_touching_storage() {
    let token = api_caller(Scopes::of(Scope::ALL));
    let s = Mocks::new().service();
    let refused = |r: Result<(), AccountError>| {
        matches!(
            r,
            Err(AccountError::Credential(CredentialError::SessionRequired))
        )
    };
    assert!(refused(s.me(&token).await.map(drop)));
    assert!(refused(s.logout(&token, "refresh").await));
    assert!(refused(s.logout_all(&token).await));
    assert!(refused(
        s.change_password(&token, "old".into(), password("new password"))
            .await
    ));
    assert!(refused(s.delete_me(&token).await));
    assert!(refused(s.list_api_tokens(&token).await.map(drop)));
    assert!(refused(
        s.revoke_api_token(&token, ApiTokenId::from_uuid(Uuid::from_u128(1)))
            .await
    ));
    assert!(refused(s.list_sessions(&token).await.map(drop)));
    assert!(refused(s.end_session_of(&token, sid(5)).await));
}

#[tokio::test]
async fn revoking_a_token_deletes_only_the_callers_own() {
    let mut m = Mocks::new();
    let id = ApiTokenId::from_uuid(Uuid::from_u128(11));
    m.api_tokens
        .expect_delete()
        .with(eq(caller().user_id), eq(id))
        .times(1)
        .returning(|_, _| Ok(false));
    assert!(matches!(
        m.service().revoke_api_token(&caller(), id).await,
        Err(AccountError::ApiTokenNotFound)
    ));
}

#[tokio::test]
async fn listing_tokens_and_sessions_is_bounded_by_their_caps() {
    let mut m = Mocks::new();
    m.max_sessions = 7;
    m.api_tokens
        .expect_list_for_user()
        .with(eq(caller().user_id), eq(3))
        .returning(|_, _| Ok(vec![stored_token(None, None)]));
    m.sessions
        .expect_list_running()
        .with(eq(caller().user_id), eq(at(NOW)), eq(7))
        .returning(|_, _, _| {
            Ok(vec![
                session(6),
                session(5),
                Session {
                    created_at: at(NOW - MAX_AGE),
                    ..session(8)
                },
            ])
        });
    let s = m.service();
    assert!(matches!(s.list_api_tokens(&caller()).await, Ok(t) if t.len() == 1));
    let sessions = s.list_sessions(&caller()).await;
    assert!(
        matches!(&sessions, Ok(v)
        if v.len() == 2 && !v[0].current && v[1].current && v[1].session.id == sid(5)),
        "the caller's own is marked, and one past the max age is not shown: {sessions:?}"
    );
}

#[tokio::test]
async fn ending_a_session_forgets_it_and_unknown_ones_are_not_found() {
    let mut m = Mocks::new();
    m.sessions
        .expect_revoke_for_owner()
        .with(eq(sid(6)), eq(caller().user_id), eq(at(NOW)))
        .returning(|_, _, _| Ok(true));
    let cache = m.cache.clone();
    cache.put(sid(6), caller(), at(NOW), cache.generation());
    assert!(m.service().end_session_of(&caller(), sid(6)).await.is_ok());
    assert_eq!(cache.get(sid(6), caller().user_id, at(NOW)), None);
    let mut m = Mocks::new();
    m.sessions
        .expect_revoke_for_owner()
        .returning(|_, _, _| Ok(false));
    assert!(matches!(
        m.service().end_session_of(&caller(), sid(9)).await,
        Err(AccountError::SessionNotFound)
    ));
}

#[tokio::test]
async fn a_login_past_the_session_cap_forgets_the_sessions_it_ended_and_records_its_client() {
    let mut m = Mocks::new();
    m.max_sessions = 2;
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.sessions
        .expect_create()
        .times(1)
        .withf(|session, _, cap| {
            *cap == Some(2)
                && session.user_agent.as_deref() == Some("curl/8")
                && session.address.as_deref() == Some("192.0.2.1")
                && session.last_used_at == Some(at(NOW))
        })
        .returning(|_, _, _| Ok(vec![sid(3)]));
    m.tokens
        .expect_issue()
        .returning(|_, _, _| Ok(issued("access")));
    let cache = m.cache.clone();
    cache.put(sid(3), caller(), at(NOW), cache.generation());
    let client = SessionClient::new(Some("curl/8\u{7}"), Some("192.0.2.1".into()));
    let pair = m
        .service()
        .login_from("bob@example.com", "right password".into(), client)
        .await;
    assert!(pair.is_ok());
    assert_eq!(cache.get(sid(3), caller().user_id, at(NOW)), None);
}

#[test]
fn a_user_agent_is_bounded_and_cleaned() {
    let long = "x".repeat(1000);
    let client = SessionClient::new(Some(&long), None);
    assert_eq!(
        client.user_agent.map(|u| u.chars().count()),
        Some(SessionClient::MAX_USER_AGENT_CHARS)
    );
    assert_eq!(SessionClient::new(Some(" \n "), None).user_agent, None);
}

#[tokio::test]
async fn an_access_token_of_a_session_past_its_max_age_is_refused() {
    let mut m = Mocks::new();
    m.tokens.expect_verify().returning(|_| Ok(claims(5)));
    m.sessions.expect_find_with_user().returning(|_| {
        let old = Session {
            created_at: at(NOW - MAX_AGE),
            ..session(5)
        };
        Ok(Some((old, user("bob@example.com", false))))
    });
    assert!(matches!(
        m.service().authenticate("t").await,
        Err(AccountError::Unauthenticated(AuthError::Revoked))
    ));
}

#[tokio::test]
async fn a_refresh_passes_the_max_age_and_without_grace_seals_nothing() {
    let mut m = Mocks::new();
    m.tokens.expect_seal_successor().never();
    m.sessions
        .expect_rotate()
        .times(1)
        .withf(|_, _, _, rules| {
            rules.max_age == chrono::Duration::seconds(MAX_AGE)
                && rules.grace.is_zero()
                && rules.sealed_successor.is_none()
        })
        .returning(|_, _, _, _| Ok(RotateOutcome::Invalid));
    assert!(m.service().refresh("old").await.is_err());
}

#[tokio::test]
async fn within_the_grace_period_the_rotated_token_gets_its_same_successor_again() {
    let mut m = Mocks::new();
    m.grace = 30;
    m.tokens
        .expect_seal_successor()
        .withf(|presented, successor| presented == "old" && successor.expose() == "fresh-0")
        .returning(|_, _| SealedRefreshToken::new("sealed".into()));
    m.sessions
        .expect_rotate()
        .times(1)
        .withf(|_, _, _, rules| {
            rules.grace == chrono::Duration::seconds(30)
                && rules.sealed_successor == Some(SealedRefreshToken::new("sealed".into()))
        })
        .returning(|_, _, _, _| {
            Ok(RotateOutcome::Replayed {
                session: session(5),
                sealed: SealedRefreshToken::new("stored-sealed".into()),
            })
        });
    m.tokens
        .expect_unseal_successor()
        .withf(|presented, sealed| presented == "old" && sealed.as_str() == "stored-sealed")
        .returning(|_, _| Some(RefreshSecret::new("the-successor".into())));
    m.sessions.expect_revoke().never();
    m.users
        .expect_find_by_id()
        .returning(|_| Ok(Some(user("bob@example.com", false))));
    m.tokens
        .expect_issue()
        .withf(|_, session, _| *session == sid(5))
        .returning(|_, _, _| Ok(issued("access")));
    let pair = m.service().refresh("old").await;
    assert!(matches!(pair, Ok(p) if p.refresh_token.expose() == "the-successor"));
}

#[tokio::test]
async fn a_replayed_successor_that_does_not_unseal_ends_the_session() {
    let mut m = Mocks::new();
    m.grace = 30;
    m.tokens
        .expect_seal_successor()
        .returning(|_, _| SealedRefreshToken::new("sealed".into()));
    m.sessions.expect_rotate().returning(|_, _, _, _| {
        Ok(RotateOutcome::Replayed {
            session: session(5),
            sealed: SealedRefreshToken::new("other".into()),
        })
    });
    m.tokens.expect_unseal_successor().returning(|_, _| None);
    m.sessions
        .expect_revoke()
        .times(1)
        .with(eq(sid(5)), eq(at(NOW)))
        .returning(|_, _| Ok(()));
    m.tokens.expect_issue().never();
    assert!(matches!(
        m.service().refresh("old").await,
        Err(AccountError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn a_login_session_never_outlives_the_max_age() {
    let mut m = Mocks::new();
    m.max_age = 1000;
    m.users
        .expect_find_by_email()
        .returning(|e| Ok(Some(user(e, false))));
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.sessions
        .expect_create()
        .withf(|session, first, _| {
            session.expires_at == at(NOW + 1000) && first.expires_at == session.expires_at
        })
        .returning(|_, _, _| Ok(vec![]));
    m.tokens
        .expect_issue()
        .returning(|_, _, _| Ok(issued("access")));
    assert!(
        m.service()
            .login("bob@example.com", "pw".into())
            .await
            .is_ok()
    );
}
