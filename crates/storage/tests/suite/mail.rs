//! Suite tests of one-time account tokens and the mail queue: issuing voids the older,
//! single use, expiry, the reset's session epoch, verification and a taken address, claims
//! with leases, retries and purging.

use std::sync::Arc;

use rstest::rstest;
use taskapi_domain::{
    AccountTokenHash, Email, IssueOutcome, MailQueue, NewAccountToken, OutgoingMail, PasswordHash,
    TokenPurpose, UserId, VerifyOutcome,
};
use taskapi_storage::Database;
use uuid::Uuid;

use super::{Backend, BoxError, TestResult, migrated, registered, settings, t};

fn hash(name: &str) -> AccountTokenHash {
    AccountTokenHash::new(format!("hash-of-{name}"))
}

fn mail(to: &str, body: &str) -> Result<OutgoingMail, BoxError> {
    Ok(OutgoingMail {
        to: Email::parse(to)?,
        subject: "subject".into(),
        body: body.into(),
    })
}

fn token(
    name: &str,
    user: UserId,
    purpose: TokenPurpose,
    email: &str,
    expires_at: i64,
) -> Result<NewAccountToken, BoxError> {
    Ok(NewAccountToken {
        hash: hash(name),
        user_id: user,
        purpose,
        email: Email::parse(email)?,
        created_at: t(0)?,
        expires_at: t(expires_at)?,
    })
}

async fn claim_all(
    queue: &Arc<dyn MailQueue>,
    now: i64,
) -> Result<Vec<taskapi_domain::QueuedMail>, BoxError> {
    Ok(queue
        .claim_due(t(now)?, t(now + 300_000_000)?, Uuid::now_v7(), 100)
        .await?)
}

async fn session_epoch(db: &Database, id: UserId) -> Result<i64, BoxError> {
    Ok(db
        .users()
        .find_by_id(id)
        .await?
        .ok_or("gone")?
        .session_epoch)
}

/// A reset by address stores a token only for an enabled account, queues its mail in the
/// same transaction, and a newer one voids the older; the token works once, before it
/// expires, and the reset bumps the epoch.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_tokens_are_single_use_voided_by_newer_ones_and_expire(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let queue = db.mail_queue();
    let id = registered(&db, 1).await?;
    let address = Email::parse("user1@example.com")?;
    assert!(
        !tokens
            .issue_reset_for_email(
                &Email::parse("nobody@example.com")?,
                hash("none"),
                t(0)?,
                t(1_000)?,
                mail("nobody@example.com", "x")?
            )
            .await?,
        "no account, no token"
    );
    assert!(claim_all(&queue, 1).await?.is_empty(), "and no mail");
    for name in ["first", "second"] {
        assert!(
            tokens
                .issue_reset_for_email(
                    &address,
                    hash(name),
                    t(0)?,
                    t(1_000)?,
                    mail("user1@example.com", name)?
                )
                .await?
        );
    }
    let reset = TokenPurpose::PasswordReset;
    assert_eq!(
        tokens.find_live(&hash("first"), reset, t(1)?).await?,
        None,
        "voided"
    );
    assert_eq!(
        tokens.find_live(&hash("second"), reset, t(1)?).await?,
        Some(id)
    );
    assert_eq!(
        tokens
            .find_live(&hash("second"), TokenPurpose::EmailVerification, t(1)?)
            .await?,
        None,
        "a reset token verifies nothing"
    );
    assert_eq!(
        tokens.find_live(&hash("second"), reset, t(1_000)?).await?,
        None,
        "expired"
    );
    assert_eq!(
        tokens
            .reset_password(
                &hash("second"),
                PasswordHash::new("$2b$04$new".into()),
                t(1_000)?
            )
            .await?,
        None,
        "an expired token resets nothing"
    );
    assert_eq!(session_epoch(&db, id).await?, 0);
    assert_eq!(
        tokens
            .reset_password(
                &hash("second"),
                PasswordHash::new("$2b$04$new".into()),
                t(2)?
            )
            .await?,
        Some(id)
    );
    let user = db.users().find_by_id(id).await?.ok_or("gone")?;
    assert_eq!(
        (user.password_hash.as_str(), user.session_epoch),
        ("$2b$04$new", 1)
    );
    assert_eq!(
        tokens
            .reset_password(
                &hash("second"),
                PasswordHash::new("$2b$04$again".into()),
                t(3)?
            )
            .await?,
        None,
        "single use"
    );
    // Both mails were queued.
    let bodies: Vec<String> = claim_all(&queue, 5)
        .await?
        .into_iter()
        .map(|m| m.mail.body)
        .collect();
    assert_eq!(bodies, ["first", "second"]);
    Ok(())
}

/// Concurrent resets with one token: exactly one wins.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_resets_with_one_token_exactly_one_wins(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let id = registered(&db, 1).await?;
    tokens
        .issue(
            token(
                "it",
                id,
                TokenPurpose::PasswordReset,
                "user1@example.com",
                1_000,
            )?,
            None,
        )
        .await?;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            tokens
                .reset_password(&hash("it"), PasswordHash::new(format!("$2b$04${n}")), t(1)?)
                .await
                .map_err(BoxError::from)
        }));
    }
    let mut won = 0;
    for task in tasks {
        if task.await??.is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert_eq!(session_epoch(&db, id).await?, 1);
    Ok(())
}

/// A verification switches the address (verified), refuses an address taken at issue or
/// meanwhile, and voids the account's other tokens.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verification_switches_the_address_unless_it_was_taken(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let ann = registered(&db, 1).await?;
    let bob = registered(&db, 2).await?;
    let verify = TokenPurpose::EmailVerification;
    assert_eq!(
        tokens
            .issue(
                token("taken", ann, verify, "user2@example.com", 1_000)?,
                None
            )
            .await?,
        IssueOutcome::EmailTaken
    );
    assert_eq!(
        tokens
            .issue(
                token(
                    "gone",
                    UserId::from_uuid(Uuid::from_u128(9)),
                    verify,
                    "x@example.com",
                    1_000
                )?,
                None
            )
            .await?,
        IssueOutcome::NoAccount
    );
    assert_eq!(
        tokens
            .issue(token("new", ann, verify, "new@example.com", 1_000)?, None)
            .await?,
        IssueOutcome::Issued
    );
    assert_eq!(
        tokens
            .issue(
                token(
                    "reset",
                    ann,
                    TokenPurpose::PasswordReset,
                    "user1@example.com",
                    1_000
                )?,
                None
            )
            .await?,
        IssueOutcome::Issued
    );
    assert_eq!(
        tokens
            .issue(
                token("bobs", bob, verify, "shared@example.com", 1_000)?,
                None
            )
            .await?,
        IssueOutcome::Issued
    );
    assert_eq!(
        tokens
            .issue(
                token("anns", ann, verify, "shared@example.com", 1_000)?,
                None
            )
            .await?,
        IssueOutcome::Issued,
        "the newer voids ann's first"
    );
    assert_eq!(
        tokens.verify_email(&hash("new"), t(1)?).await?,
        VerifyOutcome::Invalid
    );
    let VerifyOutcome::Verified(user) = tokens.verify_email(&hash("bobs"), t(1)?).await? else {
        return Err("bob's verification failed".into());
    };
    assert_eq!(
        (user.email.as_str(), user.email_verified),
        ("shared@example.com", true)
    );
    // Taken meanwhile: nothing changes, and the token stays unused.
    assert_eq!(
        tokens.verify_email(&hash("anns"), t(2)?).await?,
        VerifyOutcome::EmailTaken
    );
    let ann_now = db.users().find_by_id(ann).await?.ok_or("gone")?;
    assert_eq!(
        (ann_now.email.as_str(), ann_now.email_verified),
        ("user1@example.com", false)
    );
    assert_eq!(
        tokens.find_live(&hash("anns"), verify, t(2)?).await?,
        Some(ann)
    );
    // Bob's change voided nothing of ann's; ann's reset token still works.
    assert_eq!(
        tokens
            .find_live(&hash("reset"), TokenPurpose::PasswordReset, t(2)?)
            .await?,
        Some(ann)
    );
    // Verifying the address ann has keeps her reset token; switching it voids it.
    tokens
        .issue(token("own", ann, verify, "user1@example.com", 1_000)?, None)
        .await?;
    assert!(matches!(
        tokens.verify_email(&hash("own"), t(3)?).await?,
        VerifyOutcome::Verified(_)
    ));
    assert_eq!(
        tokens
            .find_live(&hash("reset"), TokenPurpose::PasswordReset, t(3)?)
            .await?,
        Some(ann)
    );
    tokens
        .issue(
            token("moved", ann, verify, "moved@example.com", 1_000)?,
            None,
        )
        .await?;
    assert!(matches!(
        tokens.verify_email(&hash("moved"), t(4)?).await?,
        VerifyOutcome::Verified(_)
    ));
    assert_eq!(
        tokens
            .find_live(&hash("reset"), TokenPurpose::PasswordReset, t(4)?)
            .await?,
        None
    );
    Ok(())
}

/// Claims take each due message once, with a lease; a stale claim cannot mark it; failures
/// move it to its retry time or give it up; finished mail loses its body and is purged.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_mail_queue_claims_with_leases_retries_and_purges(
    #[case] backend: Backend,
) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let queue = db.mail_queue();
    let id = registered(&db, 1).await?;
    for name in ["a", "b"] {
        tokens
            .issue(
                token(
                    name,
                    id,
                    if name == "a" {
                        TokenPurpose::PasswordReset
                    } else {
                        TokenPurpose::EmailVerification
                    },
                    "user1@example.com",
                    1_000_000_000,
                )?,
                Some(mail("user1@example.com", name)?),
            )
            .await?;
    }
    let first = Uuid::now_v7();
    let claimed = queue.claim_due(t(10)?, t(1_000)?, first, 1).await?;
    assert_eq!(claimed.len(), 1, "at most the limit");
    assert_eq!(
        (
            claimed[0].attempts,
            claimed[0].claim,
            claimed[0].mail.body.as_str()
        ),
        (1, first, "a")
    );
    // Leased: another claim before the lease ends gets only the other one.
    let second = Uuid::now_v7();
    let other = queue.claim_due(t(20)?, t(1_000)?, second, 10).await?;
    assert_eq!(
        other
            .iter()
            .map(|m| m.mail.body.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    // A stale claim cannot mark it.
    queue.mark_sent(claimed[0].id, second, t(30)?).await?;
    queue.mark_sent(other[0].id, second, t(30)?).await?;
    queue
        .mark_failed(claimed[0].id, first, t(30)?, Some(t(500)?))
        .await?;
    assert!(
        queue
            .claim_due(t(499)?, t(1_000)?, Uuid::now_v7(), 10)
            .await?
            .is_empty(),
        "not due yet"
    );
    let retried = queue.claim_due(t(500)?, t(2_000)?, first, 10).await?;
    assert_eq!((retried.len(), retried[0].attempts), (1, 2));
    queue
        .mark_failed(retried[0].id, first, t(600)?, None)
        .await?;
    // After the lease, nothing is left: one sent, one given up.
    assert!(
        queue
            .claim_due(t(5_000)?, t(6_000)?, Uuid::now_v7(), 10)
            .await?
            .is_empty()
    );
    assert_eq!(queue.purge_finished(t(29)?).await?, 0);
    assert_eq!(queue.purge_finished(t(600)?).await?, 2);
    Ok(())
}

/// Of concurrent claims, each message goes to exactly one.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_message(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let queue = db.mail_queue();
    for n in 1..=20u128 {
        let id = registered(&db, n).await?;
        tokens
            .issue(
                token(
                    &format!("t{n}"),
                    id,
                    TokenPurpose::PasswordReset,
                    &format!("user{n}@example.com"),
                    1_000_000_000,
                )?,
                Some(mail(&format!("user{n}@example.com"), "x")?),
            )
            .await?;
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            queue
                .claim_due(t(10)?, t(1_000)?, Uuid::now_v7(), 5)
                .await
                .map_err(BoxError::from)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await??.into_iter().map(|m| m.id));
    }
    // Claims that raced for the same rows may come back short (the loser leaves them);
    // what is left is claimed next time.
    ids.extend(claim_all(&queue, 10).await?.into_iter().map(|m| m.id));
    let distinct: std::collections::BTreeSet<_> = ids.iter().map(|id| id.as_uuid()).collect();
    assert_eq!(distinct.len(), ids.len(), "a message claimed twice");
    assert_eq!(ids.len(), 20, "every message claimed once");
    Ok(())
}

/// Expired tokens are purged.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_account_tokens_are_purged(#[case] backend: Backend) -> TestResult {
    let Some(backend) = backend.databases()? else {
        return Ok(());
    };
    let db = migrated(&backend, settings()).await?;
    let tokens = db.account_tokens();
    let id = registered(&db, 1).await?;
    tokens
        .issue(
            token(
                "old",
                id,
                TokenPurpose::PasswordReset,
                "user1@example.com",
                100,
            )?,
            None,
        )
        .await?;
    tokens
        .issue(
            token(
                "new",
                id,
                TokenPurpose::EmailVerification,
                "user1@example.com",
                10_000,
            )?,
            None,
        )
        .await?;
    assert_eq!(tokens.purge_expired(t(99)?).await?, 0);
    assert_eq!(tokens.purge_expired(t(100)?).await?, 1);
    assert_eq!(
        tokens
            .find_live(&hash("new"), TokenPurpose::EmailVerification, t(100)?)
            .await?,
        Some(id)
    );
    Ok(())
}
