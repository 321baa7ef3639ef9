use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mockall::predicate::eq;
use uuid::Uuid;

use crate::*;

const DAY: i64 = 24 * 60 * 60;
const RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn caller() -> Principal {
    Principal {
        user_id: UserId::from_uuid(Uuid::from_u128(1)),
        role: Role::User,
        credential: Credential::Session(SessionId::from_uuid(Uuid::from_u128(5))),
    }
}

fn task(id: u128) -> Task {
    Task {
        id: TaskId::from_uuid(Uuid::from_u128(id)),
        list_id: ListId::inbox_of(caller().user_id),
        parent_id: None,
        position: "0".into(),
        created_by: caller().user_id,
        assignee_id: None,
        title: TaskTitle::parse("Buy milk").unwrap_or_else(|e| panic!("{e}")),
        description: Description::empty(),
        is_done: false,
        completed_at: None,
        priority: Priority::Medium,
        due_at: None,
        tags: Tags::default(),
        created_at: at(100),
        updated_at: at(100),
        version: 1,
    }
}

fn list(id: u128, member_count: i64) -> List {
    List {
        id: ListId::from_uuid(Uuid::from_u128(id)),
        name: ListName::parse("Home").unwrap_or_else(|e| panic!("{e}")),
        is_inbox: false,
        archived: false,
        role: ListRole::Editor,
        member_count,
        created_at: at(100),
        updated_at: at(100),
        version: 1,
    }
}

fn list_record(seq: i64, id: u128, op: ChangeOp) -> ChangeRecord {
    ChangeRecord {
        entity: Entity::List,
        list_id: Some(Uuid::from_u128(id)),
        ..record(seq, id, op)
    }
}

fn pos(seq: i64) -> ChangePosition {
    ChangePosition { txn: 7, seq }
}

fn record(seq: i64, id: u128, op: ChangeOp) -> ChangeRecord {
    ChangeRecord {
        position: pos(seq),
        entity: Entity::Task,
        op,
        id: Uuid::from_u128(id),
        list_id: None,
        at: at(1_000 + seq),
    }
}

fn cursor(seq: i64, seen_at: i64) -> ChangeCursor {
    ChangeCursor {
        position: pos(seq),
        seen_at: at(seen_at),
    }
}

fn service(log: MockChangeLog, now: i64) -> ChangeService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || at(now));
    ChangeService::new(Arc::new(log), Arc::new(clock), RETENTION)
}

fn limit(n: i64) -> ChangeLimit {
    ChangeLimit::new(n).unwrap_or_else(|e| panic!("{e}"))
}

async fn read(
    log: MockChangeLog,
    now: i64,
    from: Option<ChangeCursor>,
    size: i64,
) -> Result<ChangePage, ChangeError> {
    service(log, now).read(&caller(), from, limit(size)).await
}

#[test]
fn limits_are_1_to_1000_and_100_by_default() {
    assert_eq!(ChangeLimit::default().get(), 100);
    assert!(ChangeLimit::new(1).is_ok() && ChangeLimit::new(1000).is_ok());
    for bad in [0, -1, 1001, i64::MAX] {
        assert!(ChangeLimit::new(bad).is_err(), "{bad}");
    }
}

#[test]
fn positions_order_by_txn_then_seq() {
    let a = ChangePosition { txn: 1, seq: 9 };
    let b = ChangePosition { txn: 2, seq: 1 };
    let c = ChangePosition { txn: 2, seq: 2 };
    assert!(a < b && b < c);
}

#[tokio::test]
async fn without_a_cursor_the_page_is_empty_and_next_is_the_present() {
    let mut log = MockChangeLog::new();
    log.expect_read().never();
    log.expect_present().times(1).returning(|| Ok(pos(42)));
    let page = read(log, 5_000, None, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(page.changes.is_empty() && !page.has_more);
    assert_eq!(page.next, cursor(42, 5_000));
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_is_gone_and_nothing_is_read() {
    let mut log = MockChangeLog::new();
    log.expect_read().never();
    let now = 100 * DAY;
    let stale = cursor(3, now - 30 * DAY - 1);
    assert!(matches!(
        read(log, now, Some(stale), 100).await,
        Err(ChangeError::Gone)
    ));
    // Exactly at the retention it is still good.
    let mut log = MockChangeLog::new();
    log.expect_read()
        .returning(|_, _, _| Ok(ChangeBatch::default()));
    assert!(
        read(log, now, Some(cursor(3, now - 30 * DAY)), 100)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_log_is_read_for_the_caller_after_the_cursor_one_past_the_limit() {
    let mut log = MockChangeLog::new();
    log.expect_read()
        .with(eq(caller().user_id), eq(pos(3)), eq(11))
        .times(1)
        .returning(|_, _, _| Ok(ChangeBatch::default()));
    assert!(read(log, 5_000, Some(cursor(3, 4_000)), 10).await.is_ok());
}

#[tokio::test]
async fn changes_of_one_entity_collapse_into_its_latest_with_its_state_now() {
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|_, _, _| {
        Ok(ChangeBatch {
            records: vec![
                record(4, 10, ChangeOp::Upsert),
                record(5, 11, ChangeOp::Upsert),
                record(6, 10, ChangeOp::Upsert),
                record(7, 12, ChangeOp::Upsert),
            ],
            // 11 was deleted since; 12 is (no longer) the caller's.
            tasks: vec![task(10)],
            present: pos(9),
            ..ChangeBatch::default()
        })
    });
    let page = read(log, 5_000, Some(cursor(3, 4_000)), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.id, c.op, c.cursor.position, c.data.is_some()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Uuid::from_u128(11), ChangeOp::Delete, pos(5), false),
            (Uuid::from_u128(10), ChangeOp::Upsert, pos(6), true),
            (Uuid::from_u128(12), ChangeOp::Delete, pos(7), false),
        ]
    );
    assert_eq!(page.changes[1].data, Some(ChangedEntity::Task(task(10))));
    assert_eq!(page.changes[1].at, at(1_006));
    // The whole log was read: next is the present, seen now.
    assert!(!page.has_more);
    assert_eq!(page.next, cursor(9, 5_000));
}

#[tokio::test]
async fn list_changes_collapse_per_list_with_the_list_as_the_reader_sees_it_now() {
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|_, _, _| {
        Ok(ChangeBatch {
            records: vec![
                list_record(4, 20, ChangeOp::Upsert),
                // A task and a list may share an id: they are different entities.
                record(5, 20, ChangeOp::Upsert),
                list_record(6, 20, ChangeOp::Upsert),
                // Upserted, but the reader is no longer a member: a delete.
                list_record(7, 21, ChangeOp::Upsert),
            ],
            tasks: vec![task(20)],
            lists: vec![list(20, 3)],
            present: pos(9),
        })
    });
    let page = read(log, 5_000, Some(cursor(3, 4_000)), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.entity, c.id, c.op, c.cursor.position))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Entity::Task, Uuid::from_u128(20), ChangeOp::Upsert, pos(5)),
            (Entity::List, Uuid::from_u128(20), ChangeOp::Upsert, pos(6)),
            (Entity::List, Uuid::from_u128(21), ChangeOp::Delete, pos(7)),
        ]
    );
    assert_eq!(page.changes[1].data, Some(ChangedEntity::List(list(20, 3))));
    assert_eq!(page.changes[1].list_id, Some(Uuid::from_u128(20)));
    assert_eq!(page.changes[2].data, None);
}

#[tokio::test]
async fn a_lost_list_stays_lost_and_comes_before_a_later_gain_in_the_page() {
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|_, _, _| {
        Ok(ChangeBatch {
            records: vec![
                list_record(4, 20, ChangeOp::Upsert),
                list_record(5, 20, ChangeOp::Delete),
                list_record(6, 20, ChangeOp::Delete),
                list_record(7, 20, ChangeOp::Upsert),
                list_record(8, 20, ChangeOp::Upsert),
                // Lost at the end of the page though visible now (a gain follows later).
                list_record(9, 21, ChangeOp::Delete),
            ],
            lists: vec![list(20, 2), list(21, 2)],
            present: pos(9),
            ..ChangeBatch::default()
        })
    });
    let page = read(log, 5_000, Some(cursor(3, 4_000)), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.id, c.op, c.cursor.position, c.data.is_some()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Uuid::from_u128(20), ChangeOp::Delete, pos(6), false),
            (Uuid::from_u128(20), ChangeOp::Upsert, pos(8), true),
            (Uuid::from_u128(21), ChangeOp::Delete, pos(9), false),
        ]
    );
}

#[tokio::test]
async fn a_full_page_has_more_and_next_points_after_its_last_change() {
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|_, _, _| {
        Ok(ChangeBatch {
            records: vec![
                record(4, 10, ChangeOp::Upsert),
                record(5, 11, ChangeOp::Upsert),
                record(6, 12, ChangeOp::Upsert),
            ],
            tasks: vec![task(10), task(11), task(12)],
            present: pos(9),
            ..ChangeBatch::default()
        })
    });
    let page = read(log, 5_000, Some(cursor(3, 900)), 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(page.has_more);
    assert_eq!(page.changes.len(), 2);
    // Seen up to the last change shown, not up to now: the rest may be older.
    assert_eq!(page.next, cursor(5, 1_005));
}

#[tokio::test]
async fn next_never_goes_back_and_never_vouches_for_the_future() {
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|_, _, _| {
        Ok(ChangeBatch {
            present: pos(1),
            ..ChangeBatch::default()
        })
    });
    // A cursor ahead of the present (another instance's view) stays where it is.
    let page = read(log, 5_000, Some(cursor(8, 9_999)), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.next, cursor(8, 5_000));
}

#[tokio::test]
async fn purges_keep_the_retention_and_a_margin() {
    let now = 100 * DAY;
    let mut log = MockChangeLog::new();
    let margin = i64::try_from(PURGE_MARGIN.as_secs()).unwrap_or(0);
    log.expect_purge_before()
        .with(eq(at(now - 30 * DAY - margin)))
        .times(1)
        .returning(|_| Ok(3));
    assert_eq!(
        service(log, now)
            .purge_expired()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        3
    );
}

#[tokio::test]
async fn the_present_is_the_logs_seen_now() {
    let mut log = MockChangeLog::new();
    log.expect_present().returning(|| Ok(pos(77)));
    let present = service(log, 5_000)
        .present()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(present, cursor(77, 5_000));
}

#[tokio::test]
async fn an_api_token_reads_changes_only_with_changes_read() {
    let token = |scopes| Principal {
        credential: Credential::ApiToken {
            id: ApiTokenId::from_uuid(Uuid::from_u128(11)),
            scopes,
        },
        ..caller()
    };
    // The log mock has no expectations: any call would panic.
    let refused = service(MockChangeLog::new(), DAY)
        .read(
            &token(Scopes::of([Scope::TasksRead, Scope::TasksWrite])),
            None,
            limit(10),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(ChangeError::Credential(CredentialError::MissingScope(
                Scope::ChangesRead
            )))
        ),
        "{refused:?}"
    );
    let mut log = MockChangeLog::new();
    log.expect_present().returning(|| Ok(pos(3)));
    let page = service(log, DAY)
        .read(&token(Scopes::of([Scope::ChangesRead])), None, limit(10))
        .await;
    assert!(page.is_ok_and(|p| p.changes.is_empty() && p.next.position == pos(3)));
}
