//! Suite tests of accounts beyond registration: passwords and session epochs, sessions and
//! refresh-token rotation, the last-admin guard, and the admin account list.

use std::sync::Arc;

use taskapi_domain::{AccountChange, AccountDeletion, AccountUpdate, PageSize};
use taskapi_domain::{
    NewRefreshToken, PasswordHash, RefreshTokenHash, Role, RotateOutcome, Rotation, Session,
    SessionId, UserCursor, UserId, UserListQuery, UserSort, UserSortField,
};
use taskapi_storage::Database;
use uuid::Uuid;

use rstest::rstest;

use super::{Backend, BoxError, TestResult, migrated, new_task, new_user, registered, settings, t};

fn sid(n: u128) -> SessionId {
    SessionId::from_uuid(Uuid::from_u128(n))
}

fn session(n: u128, user: UserId, epoch: i64) -> Result<Session, BoxError> {
    Ok(Session {
        id: sid(n),
        user_id: user,
        epoch,
        created_at: t(0)?,
        expires_at: t(1_000_000)?,
        revoked_at: None,
        password_login_at: Some(t(0)?),
        last_used_at: Some(t(0)?),
        user_agent: None,
        address: None,
    })
}

/// Rotation without a grace period, with an absolute lifetime no test reaches.
pub(super) fn rules() -> Rotation {
    Rotation {
        max_age: chrono::Duration::days(36_500),
        grace: chrono::Duration::zero(),
        sealed_successor: None,
    }
}

fn token(name: &str, expires_at: i64) -> Result<NewRefreshToken, BoxError> {
    Ok(NewRefreshToken {
        hash: hash(name),
        issued_at: t(0)?,
        expires_at: t(expires_at)?,
    })
}

fn hash(name: &str) -> RefreshTokenHash {
    RefreshTokenHash::new(format!("hash-of-{name}"))
}

async fn admin(db: &Database, n: u128) -> Result<UserId, BoxError> {
    let user = db
        .users()
        .insert(taskapi_domain::NewUser {
            role: Role::Admin,
            ..new_user(n, &format!("admin{n}@example.com"))?
        })
        .await?;
    Ok(user.id)
}

fn demote() -> AccountChange {
    AccountChange {
        role: Some(Role::User),
        disabled: None,
    }
}

fn disable() -> AccountChange {
    AccountChange {
        role: None,
        disabled: Some(true),
    }
}

/// A password change stores the new hash and bumps the epoch; so does "end all sessions";
/// neither finds an unknown account.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_changes_and_ending_all_sessions_bump_the_epoch(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let id = registered(&db, 1).await?;
    assert_eq!(
        users.find_by_id(id).await?.map(|u| u.session_epoch),
        Some(0)
    );
    let stored = users.find_by_id(id).await?.ok_or("gone")?.password_hash;
    let stale = PasswordHash::new("$2b$04$not-the-stored-one".into());
    assert!(
        !users
            .set_password(id, stale, PasswordHash::new("$2b$04$lost".into()), t(4)?)
            .await?,
        "a hash changed meanwhile must not be overwritten"
    );
    assert_eq!(
        users.find_by_id(id).await?.map(|u| u.session_epoch),
        Some(0)
    );
    let changed = users
        .set_password(id, stored, PasswordHash::new("$2b$04$new".into()), t(5)?)
        .await?;
    assert!(changed);
    let user = users.find_by_id(id).await?.ok_or("gone")?;
    assert_eq!(
        (user.password_hash.as_str(), user.session_epoch),
        ("$2b$04$new", 1)
    );
    assert!(users.end_all_sessions(id, t(6)?).await?);
    assert_eq!(
        users.find_by_id(id).await?.map(|u| u.session_epoch),
        Some(2)
    );
    let ghost = UserId::from_uuid(Uuid::from_u128(404));
    assert!(!users.end_all_sessions(ghost, t(6)?).await?);
    assert!(
        !users
            .set_password(
                ghost,
                PasswordHash::new("x".into()),
                PasswordHash::new("y".into()),
                t(6)?
            )
            .await?
    );
    Ok(())
}

/// A rehash replaces only the hash it was computed over, and ends no session.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rehash_replaces_only_the_hash_it_read_and_keeps_sessions(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let id = registered(&db, 1).await?;
    let before = users.find_by_id(id).await?.ok_or("gone")?;
    let rehashed = PasswordHash::new("$2b$05$rehashed".into());
    assert!(
        users
            .rehash_password(id, before.password_hash.clone(), rehashed.clone())
            .await?
    );
    let after = users.find_by_id(id).await?.ok_or("gone")?;
    assert_eq!(after.password_hash.as_str(), "$2b$05$rehashed");
    assert_eq!(after.session_epoch, before.session_epoch, "no session ends");
    // A password change got there first: the rehash of the old password must not undo it.
    assert!(
        users
            .set_password(
                id,
                rehashed,
                PasswordHash::new("$2b$05$changed".into()),
                t(5)?
            )
            .await?
    );
    assert!(
        !users
            .rehash_password(
                id,
                before.password_hash,
                PasswordHash::new("$2b$05$stale".into())
            )
            .await?
    );
    let last = users.find_by_id(id).await?.ok_or("gone")?;
    assert_eq!(last.password_hash.as_str(), "$2b$05$changed");
    Ok(())
}

/// A session reads back with its account; rotation marks the token used, stores the next one
/// and extends the session; presenting the used token again is reuse; unknown and expired
/// tokens are invalid.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_tokens_rotate_once_and_reuse_is_recognised(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let user = registered(&db, 1).await?;
    sessions
        .create(session(10, user, 0)?, token("first", 500)?, None)
        .await?;
    let (found, account) = sessions
        .find_with_user(sid(10))
        .await?
        .ok_or("no session")?;
    assert_eq!((found, account.id), (session(10, user, 0)?, user));
    assert_eq!(sessions.find_with_user(sid(11)).await?, None);

    let outcome = sessions
        .rotate(hash("first"), token("second", 2_000_000)?, t(100)?, rules())
        .await?;
    let RotateOutcome::Rotated(rotated) = outcome else {
        return Err(format!("expected a rotation, got {outcome:?}").into());
    };
    assert_eq!((rotated.id, rotated.expires_at), (sid(10), t(2_000_000)?));
    assert_eq!(
        rotated.password_login_at,
        Some(t(0)?),
        "a refresh does not renew the password login"
    );

    let again = sessions
        .rotate(hash("first"), token("third", 2_000_000)?, t(200)?, rules())
        .await?;
    assert_eq!(again, RotateOutcome::Reused(sid(10)));
    let unknown = sessions
        .rotate(
            hash("never-issued"),
            token("fourth", 2_000_000)?,
            t(200)?,
            rules(),
        )
        .await?;
    assert_eq!(unknown, RotateOutcome::Invalid);

    // "second" is live until 2_000_000 µs; at that instant it is expired.
    let late = sessions
        .rotate(
            hash("second"),
            token("fifth", 3_000_000)?,
            t(2_000_000)?,
            rules(),
        )
        .await?;
    assert_eq!(late, RotateOutcome::Invalid);
    Ok(())
}

/// Tokens of a revoked session no longer rotate; revoking twice keeps the first time.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoked_sessions_refuse_rotation(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let user = registered(&db, 1).await?;
    sessions
        .create(session(10, user, 0)?, token("first", 500_000)?, None)
        .await?;
    sessions.revoke(sid(10), t(10)?).await?;
    sessions.revoke(sid(10), t(20)?).await?;
    let (found, _) = sessions
        .find_with_user(sid(10))
        .await?
        .ok_or("no session")?;
    assert_eq!(found.revoked_at, Some(t(10)?));
    let outcome = sessions
        .rotate(hash("first"), token("second", 900_000)?, t(30)?, rules())
        .await?;
    assert_eq!(outcome, RotateOutcome::Invalid);
    Ok(())
}

/// Eight rotations of one token at once: exactly one wins, the others see reuse.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_token_let_exactly_one_win(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let user = registered(&db, 1).await?;
    sessions
        .create(session(10, user, 0)?, token("contested", 500_000)?, None)
        .await?;
    let handles: Vec<_> = (0..8)
        .map(|n| {
            let sessions = Arc::clone(&sessions);
            tokio::spawn(async move {
                let next = token(&format!("next-{n}"), 900_000)?;
                Ok::<_, BoxError>(
                    sessions
                        .rotate(hash("contested"), next, t(10)?, rules())
                        .await?,
                )
            })
        })
        .collect();
    let (mut rotated, mut reused) = (0, 0);
    for handle in handles {
        match handle.await?? {
            RotateOutcome::Rotated(_) => rotated += 1,
            RotateOutcome::Reused(s) if s == sid(10) => reused += 1,
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
    assert_eq!((rotated, reused), (1, 7));
    Ok(())
}

/// Logout by refresh token ends only the owner's running session holding that token.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_by_token_ends_only_the_owners_running_session(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let (alice, bob) = (registered(&db, 1).await?, registered(&db, 2).await?);
    sessions
        .create(session(10, alice, 0)?, token("alice-1", 500_000)?, None)
        .await?;
    sessions
        .create(session(11, alice, 0)?, token("alice-2", 500_000)?, None)
        .await?;
    assert_eq!(
        sessions
            .revoke_by_token(hash("alice-1"), bob, t(5)?)
            .await?,
        None,
        "not bob's"
    );
    assert_eq!(
        sessions
            .revoke_by_token(hash("alice-1"), alice, t(5)?)
            .await?,
        Some(sid(10))
    );
    assert_eq!(
        sessions
            .revoke_by_token(hash("alice-1"), alice, t(6)?)
            .await?,
        None,
        "already ended"
    );
    let (other, _) = sessions.find_with_user(sid(11)).await?.ok_or("gone")?;
    assert_eq!(other.revoked_at, None, "the other session goes on");
    // A session the account's epoch has moved past is over too.
    db.users().end_all_sessions(alice, t(7)?).await?;
    assert_eq!(
        sessions
            .revoke_by_token(hash("alice-2"), alice, t(8)?)
            .await?,
        None
    );
    Ok(())
}

/// Purging deletes expired tokens and expired or ended sessions, and nothing live.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purging_deletes_only_what_can_never_be_used(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let sessions = db.sessions();
    let user = registered(&db, 1).await?;
    sessions
        .create(session(10, user, 0)?, token("live", 900_000)?, None)
        .await?;
    sessions
        .create(
            Session {
                expires_at: t(100)?,
                ..session(11, user, 0)?
            },
            token("expired", 100)?,
            None,
        )
        .await?;
    sessions
        .create(session(12, user, 0)?, token("revoked", 900_000)?, None)
        .await?;
    sessions.revoke(sid(12), t(50)?).await?;
    let purged = sessions.purge_expired(t(200)?).await?;
    assert!(purged >= 3, "purged {purged}");
    assert!(sessions.find_with_user(sid(10)).await?.is_some());
    assert_eq!(sessions.find_with_user(sid(11)).await?, None);
    assert_eq!(sessions.find_with_user(sid(12)).await?, None);
    let mut conn = db.hold_connection()?;
    assert_eq!(
        conn.query_i64("SELECT COUNT(*) AS value FROM refresh_tokens")?,
        1
    );
    Ok(())
}

/// The only enabled admin can be neither demoted, disabled nor deleted; with a second one
/// they can; changes bump the epoch; unknown accounts are not found.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_active_admin_is_kept(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    let first = admin(&db, 1).await?;
    let plain = registered(&db, 2).await?;
    assert_eq!(
        users.update_account(first, demote(), t(1)?).await?,
        AccountUpdate::LastAdmin
    );
    assert_eq!(
        users.update_account(first, disable(), t(1)?).await?,
        AccountUpdate::LastAdmin
    );
    assert_eq!(users.delete(first).await?, AccountDeletion::LastAdmin);
    let unchanged = users.find_by_id(first).await?.ok_or("gone")?;
    assert_eq!(
        (unchanged.role, unchanged.disabled, unchanged.session_epoch),
        (Role::Admin, false, 0)
    );

    // Changing an ordinary account is always fine.
    let AccountUpdate::Updated(disabled) = users.update_account(plain, disable(), t(2)?).await?
    else {
        return Err("disabling a user failed".into());
    };
    assert!(disabled.disabled);
    assert_eq!(disabled.session_epoch, 1);

    let second = admin(&db, 3).await?;
    let AccountUpdate::Updated(demoted) = users.update_account(first, demote(), t(3)?).await?
    else {
        return Err("demoting one of two admins failed".into());
    };
    assert_eq!((demoted.role, demoted.session_epoch), (Role::User, 1));
    assert_eq!(users.delete(second).await?, AccountDeletion::LastAdmin);
    let ghost = UserId::from_uuid(Uuid::from_u128(404));
    assert_eq!(
        users.update_account(ghost, demote(), t(4)?).await?,
        AccountUpdate::NotFound
    );
    assert_eq!(users.delete(ghost).await?, AccountDeletion::NotFound);
    assert_eq!(users.delete(plain).await?, AccountDeletion::Deleted);
    Ok(())
}

/// Two admins demoting (or deleting) themselves at the same moment: exactly one succeeds.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_self_demotions_of_the_last_two_admins_leave_one(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    for round in 0..5u128 {
        let db = migrated(&backend, settings()).await?;
        let users = db.users();
        let (a, b) = (admin(&db, 1).await?, admin(&db, 2).await?);
        let (ua, ub) = (Arc::clone(&users), Arc::clone(&users));
        let now = t(1)?;
        let first = tokio::spawn(async move { ua.update_account(a, demote(), now).await });
        let second = tokio::spawn(async move {
            if round % 2 == 0 {
                ub.update_account(b, disable(), now)
                    .await
                    .map(|o| matches!(o, AccountUpdate::Updated(_)))
            } else {
                ub.delete(b).await.map(|o| o == AccountDeletion::Deleted)
            }
        });
        let first = matches!(first.await??, AccountUpdate::Updated(_));
        let second = second.await??;
        assert!(
            first ^ second,
            "round {round}: exactly one wins ({first}, {second})"
        );
        let query = UserListQuery {
            role: Some(Role::Admin),
            disabled: Some(false),
            ..UserListQuery::default()
        };
        assert_eq!(users.list(query).await?.len(), 1, "one active admin left");
    }
    Ok(())
}

/// Deleting an account deletes its tasks, sessions and refresh tokens.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_account_deletes_everything_it_owned(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let user = registered(&db, 1).await?;
    db.tasks()
        .insert(new_task(user, 10, t(0)?, &["x"])?, None)
        .await?;
    db.sessions()
        .create(session(10, user, 0)?, token("t", 500_000)?, None)
        .await?;
    assert_eq!(db.users().delete(user).await?, AccountDeletion::Deleted);
    let mut conn = db.hold_connection()?;
    for table in ["tasks", "task_tags", "sessions", "refresh_tokens"] {
        let n = conn.query_i64(&format!("SELECT COUNT(*) AS value FROM {table}"))?;
        assert_eq!(n, 0, "{table}");
    }
    Ok(())
}

async fn all_pages(db: &Database, query: UserListQuery) -> Result<Vec<Vec<String>>, BoxError> {
    let mut pages = Vec::new();
    let mut query = query;
    loop {
        let limit = usize::from(query.size.get());
        let mut rows = db.users().list(query.clone()).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        pages.push(rows.iter().map(|u| u.email.as_str().to_owned()).collect());
        match (more, rows.last()) {
            (true, Some(last)) => {
                query.after = Some(UserCursor::after(last, query.sort.field));
            }
            _ => return Ok(pages),
        }
    }
}

/// Keyset pages in either order and direction list every match once, ties broken by id;
/// filters combine; `%` and `_` in the email filter are literal.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_lists_page_by_keyset_and_filter(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let users = db.users();
    // Five accounts registered at the same instant (ties by id) and emails out of id order.
    for (n, local) in [
        (1u128, "erin"),
        (2, "carol"),
        (3, "a_b"),
        (4, "dave"),
        (5, "bob"),
    ] {
        users
            .insert(taskapi_domain::NewUser {
                created_at: t(0)?,
                ..new_user(n, &format!("{local}@example.com"))?
            })
            .await?;
    }
    admin(&db, 6).await?;
    db.users()
        .update_account(UserId::from_uuid(Uuid::from_u128(4)), disable(), t(1)?)
        .await?;

    let by_created = UserListQuery {
        size: PageSize::new(2)?,
        ..UserListQuery::default()
    };
    assert_eq!(
        all_pages(&db, by_created.clone()).await?,
        vec![
            vec!["erin@example.com", "carol@example.com"],
            vec!["a_b@example.com", "dave@example.com"],
            vec!["bob@example.com", "admin6@example.com"],
        ]
    );
    let newest_first = UserListQuery {
        sort: UserSort {
            field: UserSortField::CreatedAt,
            descending: true,
        },
        ..by_created.clone()
    };
    let mut reversed: Vec<String> = all_pages(&db, newest_first).await?.concat();
    reversed.reverse();
    assert_eq!(reversed, all_pages(&db, by_created).await?.concat());

    let by_email = UserListQuery {
        size: PageSize::new(4)?,
        sort: UserSort {
            field: UserSortField::Email,
            descending: false,
        },
        ..UserListQuery::default()
    };
    assert_eq!(
        all_pages(&db, by_email.clone()).await?.concat(),
        [
            "a_b@example.com",
            "admin6@example.com",
            "bob@example.com",
            "carol@example.com",
            "dave@example.com",
            "erin@example.com"
        ]
    );
    let z_to_a = UserListQuery {
        size: PageSize::new(1)?,
        sort: UserSort {
            field: UserSortField::Email,
            descending: true,
        },
        ..UserListQuery::default()
    };
    assert_eq!(all_pages(&db, z_to_a).await?.len(), 6);

    let filtered = |email: Option<&str>, role: Option<Role>, disabled: Option<bool>| {
        let query = UserListQuery {
            email_contains: email.map(str::to_owned),
            role,
            disabled,
            ..by_email.clone()
        };
        let db = db.clone();
        async move { Ok::<_, BoxError>(all_pages(&db, query).await?.concat()) }
    };
    assert_eq!(filtered(Some("_"), None, None).await?, ["a_b@example.com"]);
    assert_eq!(
        filtered(Some("A"), None, None).await?.len(),
        6,
        "case-blind"
    );
    assert_eq!(filtered(Some("%"), None, None).await?, Vec::<String>::new());
    assert_eq!(
        filtered(None, Some(Role::Admin), None).await?,
        ["admin6@example.com"]
    );
    assert_eq!(
        filtered(None, None, Some(true)).await?,
        ["dave@example.com"]
    );
    assert_eq!(
        filtered(Some("b"), Some(Role::User), Some(false)).await?,
        ["a_b@example.com", "bob@example.com"]
    );
    Ok(())
}
