//! Suite tests of personal API tokens (cap, lookup, use, revocation rules) and of the
//! session rules (per-account cap, absolute lifetime, refresh grace, listing, ending one).

use std::sync::Arc;

use rstest::rstest;
use taskapi_domain::{
    AccountChange, ApiToken, ApiTokenHash, ApiTokenId, ApiTokenInsert, ApiTokenName,
    NewRefreshToken, RefreshTokenHash, RotateOutcome, Rotation, Scope, Scopes, SealedRefreshToken,
    Session, SessionId, UserId,
};
use uuid::Uuid;

use super::accounts::rules;
use super::{Backend, BoxError, TestResult, migrated, registered, settings, t};

fn api_token(n: u128, owner: UserId, expires_at: Option<i64>) -> Result<ApiToken, BoxError> {
    Ok(ApiToken {
        id: ApiTokenId::from_uuid(Uuid::from_u128(n)),
        user_id: owner,
        name: ApiTokenName::parse(&format!("token {n}"))?,
        scopes: Scopes::of([Scope::TasksRead, Scope::ChangesRead]),
        prefix: format!("tka_{n:016x}"),
        created_at: t(i64::try_from(n)?)?,
        expires_at: expires_at.map(t).transpose()?,
        last_used_at: None,
    })
}

fn token_hash(n: u128) -> ApiTokenHash {
    ApiTokenHash::new(format!("hash-of-token-{n}"))
}

fn sid(n: u128) -> SessionId {
    SessionId::from_uuid(Uuid::from_u128(n))
}

fn session(n: u128, user: UserId, created_at: i64, last_used_at: i64) -> Result<Session, BoxError> {
    Ok(Session {
        id: sid(n),
        user_id: user,
        epoch: 0,
        created_at: t(created_at)?,
        expires_at: t(10_000_000)?,
        revoked_at: None,
        password_login_at: Some(t(created_at)?),
        last_used_at: Some(t(last_used_at)?),
        user_agent: Some(format!("agent {n}")),
        address: Some("192.0.2.7".into()),
    })
}

fn refresh(name: &str, issued_at: i64, expires_at: i64) -> Result<NewRefreshToken, BoxError> {
    Ok(NewRefreshToken {
        hash: RefreshTokenHash::new(format!("hash-of-{name}")),
        issued_at: t(issued_at)?,
        expires_at: t(expires_at)?,
    })
}

fn hash(name: &str) -> RefreshTokenHash {
    RefreshTokenHash::new(format!("hash-of-{name}"))
}

/// A token is found by its prefix with its hash and account; listing is newest first;
/// deleting takes only the owner's; a password reset's `revoke_all_for_user` ends them all.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_tokens_are_found_by_prefix_listed_and_deleted_by_their_owner_only(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.api_tokens();
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    for n in [10, 11] {
        let inserted = tokens
            .insert(api_token(n, alice, None)?, token_hash(n), None, t(0)?)
            .await?;
        assert_eq!(inserted, ApiTokenInsert::Inserted);
    }
    tokens
        .insert(api_token(12, bob, Some(900))?, token_hash(12), None, t(0)?)
        .await?;

    let (found, found_hash, account) = tokens
        .find_by_prefix(&format!("tka_{:016x}", 11))
        .await?
        .ok_or("token 11 not found")?;
    assert_eq!(found, api_token(11, alice, None)?);
    assert_eq!(found_hash, token_hash(11));
    assert_eq!(account.id, alice);
    assert!(
        tokens
            .find_by_prefix("tka_ffffffffffffffff")
            .await?
            .is_none()
    );

    let listed: Vec<_> = tokens
        .list_for_user(alice, 10)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed,
        [
            api_token(11, alice, None)?.id,
            api_token(10, alice, None)?.id
        ]
    );
    assert_eq!(tokens.list_for_user(alice, 1).await?.len(), 1);

    let bobs = api_token(12, bob, None)?.id;
    assert!(!tokens.delete(alice, bobs).await?, "not alice's to delete");
    assert!(tokens.delete(bob, bobs).await?);
    assert!(!tokens.delete(bob, bobs).await?);
    assert!(
        tokens
            .find_by_prefix(&format!("tka_{:016x}", 12))
            .await?
            .is_none()
    );

    assert_eq!(tokens.revoke_all_for_user(alice).await?, 2);
    assert!(tokens.list_for_user(alice, 10).await?.is_empty());
    Ok(())
}

/// A prefix is unique: a second token with it is refused by the database.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_token_prefix_is_unique(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.api_tokens();
    let alice = registered(&db, 1).await?;
    tokens
        .insert(api_token(10, alice, None)?, token_hash(10), None, t(0)?)
        .await?;
    let twin = ApiToken {
        id: ApiTokenId::from_uuid(Uuid::from_u128(99)),
        ..api_token(10, alice, None)?
    };
    assert!(
        tokens
            .insert(twin, token_hash(99), None, t(0)?)
            .await
            .is_err()
    );
    Ok(())
}

/// The cap counts unexpired tokens (expired ones are deleted to make room), and holds under
/// concurrent creations.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_token_cap_holds_under_concurrent_creations(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.api_tokens();
    let alice = registered(&db, 1).await?;
    tokens
        .insert(
            api_token(1, alice, Some(50))?,
            token_hash(1),
            Some(3),
            t(0)?,
        )
        .await?;
    let handles: Vec<_> = (10..18)
        .map(|n| {
            let tokens = Arc::clone(&tokens);
            tokio::spawn(async move {
                Ok::<_, BoxError>(
                    tokens
                        .insert(api_token(n, alice, None)?, token_hash(n), Some(3), t(100)?)
                        .await?,
                )
            })
        })
        .collect();
    let mut inserted = 0;
    for handle in handles {
        if handle.await?? == ApiTokenInsert::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 3, "the expired token made room; the cap held");
    let held = tokens.list_for_user(alice, 100).await?;
    assert_eq!(held.len(), 3);
    assert!(held.iter().all(|t| t.expires_at.is_none()));
    Ok(())
}

/// `last_used_at` is written only when unset or older than the bound given.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_tokens_use_is_written_at_most_once_per_interval(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.api_tokens();
    let alice = registered(&db, 1).await?;
    let token = api_token(10, alice, None)?;
    tokens
        .insert(token.clone(), token_hash(10), None, t(0)?)
        .await?;
    let last_used = || async {
        let found = tokens.find_by_prefix(&token.prefix).await?;
        Ok::<_, BoxError>(found.ok_or("gone")?.0.last_used_at)
    };
    tokens.touch(token.id, t(1_000)?, t(900)?).await?;
    assert_eq!(last_used().await?, Some(t(1_000)?));
    tokens.touch(token.id, t(1_500)?, t(1_000)?).await?;
    assert_eq!(
        last_used().await?,
        Some(t(1_000)?),
        "not older than the bound"
    );
    tokens.touch(token.id, t(2_000)?, t(1_001)?).await?;
    assert_eq!(last_used().await?, Some(t(2_000)?));
    Ok(())
}

/// Disabling an account deletes its API tokens in the same change; another change (a role)
/// does not; deleting the account deletes them too.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disabling_or_deleting_an_account_ends_its_api_tokens(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let (tokens, users) = (db.api_tokens(), db.users());
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    let carol = registered(&db, 3).await?;
    for (n, owner) in [(10, alice), (11, bob), (12, carol)] {
        tokens
            .insert(api_token(n, owner, None)?, token_hash(n), None, t(0)?)
            .await?;
    }
    let promote = AccountChange {
        role: Some(taskapi_domain::Role::Admin),
        disabled: None,
    };
    users.update_account(alice, promote, t(1)?).await?;
    assert_eq!(tokens.list_for_user(alice, 10).await?.len(), 1);
    let disable = AccountChange {
        role: None,
        disabled: Some(true),
    };
    users.update_account(bob, disable, t(2)?).await?;
    assert!(tokens.list_for_user(bob, 10).await?.is_empty());
    let enable = AccountChange {
        role: None,
        disabled: Some(false),
    };
    users.update_account(bob, enable, t(3)?).await?;
    assert!(
        tokens.list_for_user(bob, 10).await?.is_empty(),
        "never back"
    );
    users.delete(carol).await?;
    assert!(
        tokens
            .find_by_prefix(&format!("tka_{:016x}", 12))
            .await?
            .is_none()
    );
    Ok(())
}

/// A login beyond the cap ends the least recently used running sessions, in the same
/// change, and says which.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_beyond_the_session_cap_ends_the_least_recently_used(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    // Used at 300, 100, 200: session 11 is the least recently used.
    for (n, used) in [(10, 300), (11, 100), (12, 200)] {
        let ended = sessions
            .create(
                session(n, alice, 0, used)?,
                refresh(&format!("s{n}"), 0, 10_000_000)?,
                Some(3),
            )
            .await?;
        assert!(ended.is_empty());
    }
    sessions
        .create(
            session(20, bob, 0, 0)?,
            refresh("bob", 0, 10_000_000)?,
            Some(3),
        )
        .await?;
    let ended = sessions
        .create(
            session(13, alice, 400, 400)?,
            refresh("s13", 400, 10_000_000)?,
            Some(3),
        )
        .await?;
    assert_eq!(ended, [sid(11)]);
    let ended = sessions
        .create(
            session(14, alice, 500, 500)?,
            refresh("s14", 500, 10_000_000)?,
            Some(2),
        )
        .await?;
    assert_eq!(
        ended,
        [sid(12), sid(10)],
        "down to the (lowered) cap, oldest use first"
    );
    let running: Vec<_> = sessions
        .list_running(alice, t(600)?, 100)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(running, [sid(14), sid(13)], "most recently used first");
    assert_eq!(sessions.list_running(bob, t(600)?, 100).await?.len(), 1);
    Ok(())
}

/// Concurrent logins never leave more running sessions than the cap.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_never_exceed_the_session_cap(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let alice = registered(&db, 1).await?;
    let handles: Vec<_> = (10..20)
        .map(|n| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move {
                let s = session(n, alice, 0, i64::try_from(n)?)?;
                let first = refresh(&format!("s{n}"), 0, 10_000_000)?;
                Ok::<_, BoxError>(sessions.create(s, first, Some(3)).await?)
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    assert_eq!(sessions.list_running(alice, t(100)?, 100).await?.len(), 3);
    Ok(())
}

/// Listing shows running sessions only, with what the login recorded; ending one takes
/// only the owner's running one.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn running_sessions_are_listed_and_ended_by_their_owner_only(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    sessions
        .create(
            session(10, alice, 0, 0)?,
            refresh("a", 0, 10_000_000)?,
            None,
        )
        .await?;
    let short = Session {
        expires_at: t(50)?,
        ..session(11, alice, 0, 0)?
    };
    sessions.create(short, refresh("b", 0, 50)?, None).await?;
    sessions
        .create(session(12, bob, 0, 0)?, refresh("c", 0, 10_000_000)?, None)
        .await?;
    let listed = sessions.list_running(alice, t(100)?, 100).await?;
    assert_eq!(
        listed,
        [session(10, alice, 0, 0)?],
        "the expired one is not shown"
    );

    assert!(!sessions.revoke_for_owner(sid(12), alice, t(200)?).await?);
    assert!(
        !sessions.revoke_for_owner(sid(11), alice, t(200)?).await?,
        "expired"
    );
    assert!(sessions.revoke_for_owner(sid(10), alice, t(200)?).await?);
    assert!(
        !sessions.revoke_for_owner(sid(10), alice, t(300)?).await?,
        "already ended"
    );
    assert!(sessions.list_running(alice, t(400)?, 100).await?.is_empty());
    let rotated = sessions
        .rotate(hash("a"), refresh("a2", 500, 10_000_000)?, t(500)?, rules())
        .await?;
    assert_eq!(rotated, RotateOutcome::Invalid);
    // Logging out everywhere ends every listed session.
    db.users().end_all_sessions(bob, t(600)?).await?;
    assert!(sessions.list_running(bob, t(700)?, 100).await?.is_empty());
    Ok(())
}

/// A session refuses rotation once past its absolute lifetime, and its successor never
/// outlives it; a rotation records the session's use.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ends_at_its_max_age_whatever_its_refreshes(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let alice = registered(&db, 1).await?;
    sessions
        .create(
            session(10, alice, 0, 0)?,
            refresh("first", 0, 10_000_000)?,
            None,
        )
        .await?;
    let max_age = Rotation {
        max_age: chrono::Duration::microseconds(1_000),
        ..rules()
    };
    let outcome = sessions
        .rotate(
            hash("first"),
            refresh("second", 400, 10_000_000)?,
            t(400)?,
            max_age.clone(),
        )
        .await?;
    let RotateOutcome::Rotated(rotated) = outcome else {
        return Err(format!("expected a rotation, got {outcome:?}").into());
    };
    assert_eq!(
        rotated.expires_at,
        t(1_000)?,
        "clamped to created_at + max_age"
    );
    assert_eq!(rotated.last_used_at, Some(t(400)?));
    let late = sessions
        .rotate(
            hash("second"),
            refresh("third", 999, 10_000_000)?,
            t(1_000)?,
            max_age,
        )
        .await?;
    assert_eq!(late, RotateOutcome::Invalid);
    Ok(())
}

fn with_grace(seconds: i64, sealed: &str) -> Rotation {
    Rotation {
        grace: chrono::Duration::seconds(seconds),
        sealed_successor: Some(SealedRefreshToken::new(sealed.into())),
        ..rules()
    }
}

/// Within the grace period a rotated token gets its sealed successor back while that
/// successor is unused; after it, or once the successor rotated, it is reuse.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn within_the_grace_period_a_rotated_token_gets_its_successor_again(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let alice = registered(&db, 1).await?;
    sessions
        .create(
            session(10, alice, 0, 0)?,
            refresh("first", 0, 100_000_000)?,
            None,
        )
        .await?;
    let second = refresh("second", 0, 100_000_000)?;
    let outcome = sessions
        .rotate(
            hash("first"),
            second,
            t(0)?,
            with_grace(10, "sealed-second"),
        )
        .await?;
    assert!(matches!(outcome, RotateOutcome::Rotated(_)));
    // Again 9.999999 s later: the same successor, sealed.
    let again = sessions
        .rotate(
            hash("first"),
            refresh("other", 0, 100_000_000)?,
            t(9_999_999)?,
            with_grace(10, "x"),
        )
        .await?;
    assert!(
        matches!(&again, RotateOutcome::Replayed { session, sealed }
        if session.id == sid(10) && sealed.as_str() == "sealed-second"),
        "{again:?}"
    );
    // 10 s after the rotation: reuse.
    let late = sessions
        .rotate(
            hash("first"),
            refresh("other", 0, 100_000_000)?,
            t(10_000_000)?,
            with_grace(10, "x"),
        )
        .await?;
    assert_eq!(late, RotateOutcome::Reused(sid(10)));
    // Without a grace period configured, even at once: reuse.
    let off = sessions
        .rotate(
            hash("first"),
            refresh("other", 0, 100_000_000)?,
            t(1)?,
            rules(),
        )
        .await?;
    assert_eq!(off, RotateOutcome::Reused(sid(10)));
    // Once the successor itself rotated, the first token no longer gets it.
    sessions
        .rotate(
            hash("second"),
            refresh("third", 2, 100_000_000)?,
            t(2)?,
            with_grace(10, "s3"),
        )
        .await?;
    let stale = sessions
        .rotate(
            hash("first"),
            refresh("other", 0, 100_000_000)?,
            t(3)?,
            with_grace(10, "x"),
        )
        .await?;
    assert_eq!(stale, RotateOutcome::Reused(sid(10)));
    Ok(())
}

/// Housekeeping deletes expired API tokens and keeps the others.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn housekeeping_deletes_expired_api_tokens_only(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.api_tokens();
    let alice = registered(&db, 1).await?;
    for (n, expires_at) in [(10, Some(100)), (11, Some(200)), (12, None)] {
        tokens
            .insert(api_token(n, alice, expires_at)?, token_hash(n), None, t(0)?)
            .await?;
    }
    assert!(db.sessions().purge_expired(t(100)?).await? >= 1);
    let left: Vec<_> = tokens
        .list_for_user(alice, 10)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        left,
        [
            api_token(12, alice, None)?.id,
            api_token(11, alice, None)?.id
        ]
    );
    Ok(())
}
