//! Tests of the outbox: delivery, retries with backoff, giving up.

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

fn queued(n: u128, attempts: u32) -> QueuedMail {
    QueuedMail {
        id: MailId::from_uuid(Uuid::from_u128(n)),
        claim: Uuid::from_u128(99),
        attempts,
        mail: OutgoingMail {
            to: Email::parse("ann@example.com").unwrap_or_else(|e| panic!("{e}")),
            subject: "s".into(),
            body: "b".into(),
        },
    }
}

fn outbox(queue: MockMailQueue, mailer: MockMailer) -> MailOutbox {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(NOW));
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| Uuid::from_u128(99));
    MailOutbox::new(
        Arc::new(queue),
        Arc::new(mailer),
        Arc::new(clock),
        Arc::new(ids),
        DeliveryPolicy::default(),
    )
}

fn failing(transient: bool) -> MockMailer {
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(1).returning(move |_| {
        Err(if transient {
            MailError::Transient("busy".into())
        } else {
            MailError::Permanent("no such user".into())
        })
    });
    mailer
}

#[tokio::test]
async fn claimed_mail_is_delivered_and_marked_sent_under_its_claim() {
    let mut queue = MockMailQueue::new();
    queue
        .expect_claim_due()
        .with(
            eq(at(NOW)),
            eq(at(NOW + 300)),
            eq(Uuid::from_u128(99)),
            eq(16),
        )
        .times(1)
        .returning(|_, _, _, _| Ok(vec![queued(1, 1), queued(2, 1)]));
    queue
        .expect_mark_sent()
        .with(always(), eq(Uuid::from_u128(99)), eq(at(NOW)))
        .times(2)
        .returning(|_, _, _| Ok(()));
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(2).returning(|_| Ok(()));
    let (round, more) = outbox(queue, mailer)
        .deliver_due()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((round.sent, round.retried, round.given_up), (2, 0, 0));
    assert!(!more, "a short batch: nothing more is due");
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_the_backoff() {
    let mut queue = MockMailQueue::new();
    queue
        .expect_claim_due()
        .returning(|_, _, _, _| Ok(vec![queued(1, 3)]));
    // Third attempt failed: 30 s · 2² later.
    queue
        .expect_mark_failed()
        .with(always(), always(), eq(at(NOW)), eq(Some(at(NOW + 120))))
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let (round, _) = outbox(queue, failing(true))
        .deliver_due()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((round.sent, round.retried, round.given_up), (0, 1, 0));
    assert_eq!(round.failures.len(), 1);
}

#[tokio::test]
async fn the_last_attempt_and_a_permanent_refusal_give_up() {
    for (attempts, transient) in [(8, true), (1, false)] {
        let mut queue = MockMailQueue::new();
        queue
            .expect_claim_due()
            .returning(move |_, _, _, _| Ok(vec![queued(1, attempts)]));
        queue
            .expect_mark_failed()
            .with(always(), always(), always(), eq(None))
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let (round, _) = outbox(queue, failing(transient))
            .deliver_due()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            round.given_up, 1,
            "attempts {attempts}, transient {transient}"
        );
    }
}

#[test]
fn retries_double_up_to_the_cap() {
    let policy = DeliveryPolicy::default();
    assert_eq!(policy.retry_after(1), Duration::from_secs(30));
    assert_eq!(policy.retry_after(2), Duration::from_secs(60));
    assert_eq!(policy.retry_after(7), Duration::from_secs(1920));
    assert_eq!(policy.retry_after(8), Duration::from_secs(3600));
    assert_eq!(policy.retry_after(u32::MAX), Duration::from_secs(3600));
}

#[test]
fn a_mail_debug_shows_neither_subject_nor_body() {
    let shown = format!("{:?}", queued(1, 1));
    assert!(
        !shown.contains("\"b\"") && !shown.contains("\"s\""),
        "{shown}"
    );
}
