use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::*;

const NOW: i64 = 1_700_000_100;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn uid() -> UserId {
    UserId::from_uuid(Uuid::from_u128(7))
}

fn sid() -> SessionId {
    SessionId::from_uuid(Uuid::from_u128(5))
}

fn user(disabled: bool) -> User {
    User {
        id: uid(),
        email: Email::parse("a@example.com").unwrap_or_else(|e| panic!("{e}")),
        password_hash: PasswordHash::new("h".into()),
        role: Role::User,
        disabled,
        created_at: at(NOW - 1_000),
        email_verified: false,
        session_epoch: 1,
    }
}

fn session(revoked: bool) -> Session {
    Session {
        id: sid(),
        user_id: uid(),
        epoch: 1,
        created_at: at(NOW - 100),
        expires_at: at(NOW + 1_000),
        revoked_at: revoked.then(|| at(NOW - 1)),
        password_login_at: None,
        last_used_at: None,
        user_agent: None,
        address: None,
    }
}

fn in_session() -> Principal {
    Principal {
        user_id: uid(),
        role: Role::User,
        credential: Credential::Session(sid()),
    }
}

fn with_token(scopes: Scopes) -> Principal {
    Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(9)),
            scopes,
        },
        ..in_session()
    }
}

struct Ports {
    tickets: MockEventTicketRepository,
    sessions: MockSessionRepository,
    users: MockUserRepository,
    api_tokens: MockApiTokenRepository,
}

impl Ports {
    fn new() -> Self {
        Self {
            tickets: MockEventTicketRepository::new(),
            sessions: MockSessionRepository::new(),
            users: MockUserRepository::new(),
            api_tokens: MockApiTokenRepository::new(),
        }
    }

    fn service(self) -> EventAccessService {
        let mut tokens = MockTokenService::new();
        tokens
            .expect_new_refresh_token()
            .returning(|| RefreshSecret::new("secret".into()));
        tokens
            .expect_hash_refresh_token()
            .returning(|t| RefreshTokenHash::new(format!("hash of {t}")));
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(NOW));
        EventAccessService::new(
            Arc::new(self.tickets),
            Arc::new(self.sessions),
            Arc::new(self.users),
            Arc::new(self.api_tokens),
            Arc::new(tokens),
            Arc::new(clock),
            10,
        )
    }
}

#[tokio::test]
async fn a_ticket_stores_only_the_hash_of_its_secret_for_thirty_seconds() {
    let mut ports = Ports::new();
    ports
        .tickets
        .expect_insert()
        .times(1)
        .withf(|t| {
            t.hash == RefreshTokenHash::new("hash of secret".into())
                && t.user_id == uid()
                && t.session_id == sid()
                && t.expires_at == at(NOW + 30)
        })
        .returning(|_| Ok(()));
    let ticket = ports
        .service()
        .issue(&in_session())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ticket.secret, "secret");
    assert_eq!(ticket.expires_in, 30);
    assert!(!format!("{ticket:?}").contains("secret\""), "{ticket:?}");
}

#[tokio::test]
async fn api_tokens_get_no_tickets_and_need_the_scope_first() {
    // No expectations: storage is never reached.
    let service = Ports::new().service();
    let refused = service
        .issue(&with_token(Scopes::of([Scope::ChangesRead])))
        .await;
    assert!(
        matches!(
            refused,
            Err(EventTicketError::Credential(
                CredentialError::SessionRequired
            ))
        ),
        "{refused:?}"
    );
    let refused = service
        .issue(&with_token(Scopes::of([Scope::TasksRead])))
        .await;
    assert!(
        matches!(
            refused,
            Err(EventTicketError::Credential(CredentialError::MissingScope(
                Scope::ChangesRead
            )))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_ticket_works_once_and_only_while_its_session_is_live() {
    for (taken, revoked, works) in [
        (false, false, false),
        (true, true, false),
        (true, false, true),
    ] {
        let mut ports = Ports::new();
        ports
            .tickets
            .expect_take()
            .times(1)
            .withf(|hash, now| {
                *hash == RefreshTokenHash::new("hash of s3cret".into()) && *now == at(NOW)
            })
            .returning(move |_, _| Ok(taken.then(|| (uid(), sid()))));
        ports
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(Some((session(revoked), user(false)))));
        let redeemed = ports.service().redeem("s3cret").await;
        match (works, redeemed) {
            (true, Ok(principal)) => assert_eq!(principal, in_session()),
            (false, Err(EventTicketError::Invalid)) => {}
            (_, other) => panic!("taken {taken}, revoked {revoked}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stream_stays_live_while_its_session_or_api_token_does() {
    for (revoked, disabled, live) in [
        (false, false, true),
        (true, false, false),
        (false, true, false),
    ] {
        let mut ports = Ports::new();
        ports
            .sessions
            .expect_find_with_user()
            .returning(move |_| Ok(Some((session(revoked), user(disabled)))));
        let got = ports.service().still_live(&in_session()).await;
        assert!(
            matches!(got, Ok(l) if l == live),
            "{revoked} {disabled}: {got:?}"
        );
    }
    let token = with_token(Scopes::of([Scope::ChangesRead]));
    for (listed, live) in [(true, true), (false, false)] {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(false))));
        ports
            .api_tokens
            .expect_list_for_user()
            .returning(move |owner, _| {
                Ok(if listed {
                    vec![ApiToken {
                        id: ApiTokenId::from_uuid(Uuid::from_u128(9)),
                        user_id: owner,
                        name: ApiTokenName::parse("ci").unwrap_or_else(|e| panic!("{e}")),
                        scopes: Scopes::of([Scope::ChangesRead]),
                        prefix: "tka_x".into(),
                        created_at: at(NOW - 10),
                        expires_at: None,
                        last_used_at: None,
                    }]
                } else {
                    Vec::new()
                })
            });
        let got = ports.service().still_live(&token).await;
        assert!(matches!(got, Ok(l) if l == live), "{listed}: {got:?}");
    }
}
