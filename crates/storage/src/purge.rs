//! Housekeeping deletes in bounded batches: each batch is one statement of at most about
//! [`BATCH_ROWS`] rows in a short write transaction of its own, with a pause between
//! batches, so that no purge holds SQLite's single writer lock for long and requests'
//! writes get their turns in between. Every purge finds its rows through an index on the
//! column its condition is on (a storage test checks each plan).
//!
//! A new purge is one more [`Purge`] and one more arm of
//! [`purge_batch!`]: the batching, the pauses and the plan test come with it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::backend::execute_natively;
use crate::errors::DbError;
use crate::pool::DbPool;
use crate::sql_types::SqlTimestamp;

/// Rows one batch deletes (a few more when several share the batch's last instant).
pub(crate) const BATCH_ROWS: i64 = 500;

/// The pause between two batches of one purge: writers that queued behind a batch go first.
const PAUSE: Duration = Duration::from_millis(10);

/// One kind of row that can never be used again, by the indexed instant that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purge {
    /// Refresh tokens expired at the instant (`refresh_tokens_expires_at`).
    ExpiredRefreshTokens,
    /// Sessions expired at the instant (`sessions_expires_at`); their refresh tokens go
    /// with them (`ON DELETE CASCADE`, through `refresh_tokens_session_id`).
    ExpiredSessions,
    /// Sessions ended by the instant (`sessions_revoked_at`, over ended sessions only).
    RevokedSessions,
    /// Idempotency keys first used before the instant (`idempotency_keys_created_at`).
    IdempotencyKeys,
    /// Personal API tokens expired at the instant (`api_tokens_expires_at`).
    ExpiredApiTokens,
    /// Changes made before the instant (`changes_at`).
    Changes,
    /// One-time account tokens expired at the instant (`account_tokens_expires_at`).
    ExpiredAccountTokens,
    /// Mail delivered or given up by the instant (`outbound_mail_finished_at`, over
    /// finished mail only).
    FinishedMail,
    /// Tasks trashed before the instant (`tasks_trashed_at`, over trashed tasks only); their
    /// tags and their subtasks (trashed with them) go with them (`ON DELETE CASCADE`).
    Trash,
    /// Event tickets expired at the instant (`event_tickets_expires_at`).
    ExpiredEventTickets,
}

impl Purge {
    /// Every purge, for the plan test.
    #[cfg(feature = "test-support")]
    pub(crate) const ALL: [Purge; 10] = [
        Purge::ExpiredRefreshTokens,
        Purge::ExpiredSessions,
        Purge::RevokedSessions,
        Purge::IdempotencyKeys,
        Purge::ExpiredApiTokens,
        Purge::Changes,
        Purge::ExpiredAccountTokens,
        Purge::FinishedMail,
        Purge::Trash,
        Purge::ExpiredEventTickets,
    ];

    /// The index that finds this purge's rows.
    #[cfg(feature = "test-support")]
    pub(crate) fn index(self) -> &'static str {
        match self {
            Purge::ExpiredRefreshTokens => "refresh_tokens_expires_at",
            Purge::ExpiredSessions => "sessions_expires_at",
            Purge::RevokedSessions => "sessions_revoked_at",
            Purge::IdempotencyKeys => "idempotency_keys_created_at",
            Purge::ExpiredApiTokens => "api_tokens_expires_at",
            Purge::Changes => "changes_at",
            Purge::ExpiredAccountTokens => "account_tokens_expires_at",
            Purge::FinishedMail => "outbound_mail_finished_at",
            Purge::Trash => "tasks_trashed_at",
            Purge::ExpiredEventTickets => "event_tickets_expires_at",
        }
    }
}

/// One batch of `$purge` at instant `$at` (an [`SqlTimestamp`]) of at most `$limit` rows,
/// as a diesel statement bound to `$statement` for `$body`: `DELETE FROM t WHERE <key> IN
/// (SELECT <key> FROM t WHERE <instant> <= $at LIMIT $limit)`, by the table's primary key
/// and the purge's indexed instant, the same text on both engines. (Written as SQL: diesel
/// cannot select from the table a `DELETE` deletes from, nor compare a two-column key.)
macro_rules! purge_batch {
    ($purge:expr, $at:expr, $limit:expr, |$statement:ident| $body:expr) => {{
        use diesel::QueryDsl;
        use $crate::schema::{
            account_tokens, api_tokens, changes, event_tickets, idempotency_keys, outbound_mail,
            refresh_tokens, sessions, tasks,
        };
        let (at, limit): ($crate::sql_types::SqlTimestamp, i64) = ($at, $limit);
        // `picked` ends with the comparison's operator; the instant and the limit follow.
        let condition = |picked: &'static str| {
            diesel::dsl::sql::<diesel::sql_types::Bool>(picked)
                .bind::<$crate::sql_types::DbTimestamp, _>(at)
                .sql(" LIMIT ")
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .sql(")")
        };
        match $purge {
            $crate::purge::Purge::ExpiredRefreshTokens => {
                let $statement = diesel::delete(refresh_tokens::table.filter(condition(
                    "token_hash IN (SELECT token_hash FROM refresh_tokens WHERE expires_at <= ",
                )));
                $body
            }
            $crate::purge::Purge::ExpiredSessions => {
                let $statement = diesel::delete(sessions::table.filter(condition(
                    "id IN (SELECT id FROM sessions WHERE expires_at <= ",
                )));
                $body
            }
            $crate::purge::Purge::RevokedSessions => {
                let $statement = diesel::delete(sessions::table.filter(condition(
                    "id IN (SELECT id FROM sessions WHERE revoked_at <= ",
                )));
                $body
            }
            $crate::purge::Purge::IdempotencyKeys => {
                let $statement = diesel::delete(idempotency_keys::table.filter(condition(
                    "(owner_id, \"key\") IN (SELECT owner_id, \"key\" FROM idempotency_keys \
                     WHERE created_at < ",
                )));
                $body
            }
            $crate::purge::Purge::ExpiredApiTokens => {
                let $statement = diesel::delete(api_tokens::table.filter(condition(
                    "id IN (SELECT id FROM api_tokens WHERE expires_at <= ",
                )));
                $body
            }
            // By the feed's unique key, which PostgreSQL finds through its index (`seq`
            // has none: SQLite's is the rowid, which its schema cannot mirror).
            $crate::purge::Purge::Changes => {
                let $statement = diesel::delete(changes::table.filter(condition(
                    "(user_id, txn, seq) IN (SELECT user_id, txn, seq FROM changes WHERE at < ",
                )));
                $body
            }
            $crate::purge::Purge::ExpiredAccountTokens => {
                let $statement = diesel::delete(account_tokens::table.filter(condition(
                    "token_hash IN (SELECT token_hash FROM account_tokens WHERE expires_at <= ",
                )));
                $body
            }
            $crate::purge::Purge::FinishedMail => {
                let $statement = diesel::delete(outbound_mail::table.filter(condition(
                    "id IN (SELECT id FROM outbound_mail WHERE finished_at <= ",
                )));
                $body
            }
            $crate::purge::Purge::ExpiredEventTickets => {
                let $statement = diesel::delete(event_tickets::table.filter(condition(
                    "ticket_hash IN (SELECT ticket_hash FROM event_tickets WHERE expires_at <= ",
                )));
                $body
            }
            // Oldest first, in the order of `tasks_trashed_at`: so that no engine walks the
            // whole of `tasks_trash_by_list` (GET /trash's index, also over trashed tasks
            // only, but by list) to find a batch.
            $crate::purge::Purge::Trash => {
                let $statement = diesel::delete(
                    tasks::table.filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "id IN (SELECT id FROM tasks WHERE trashed_at < ",
                        )
                        .bind::<$crate::sql_types::DbTimestamp, _>(at)
                        .sql(" ORDER BY trashed_at LIMIT ")
                        .bind::<diesel::sql_types::BigInt, _>(limit)
                        .sql(")"),
                    ),
                );
                $body
            }
        }
    }};
}
// The engines use it only for the plan test.
#[cfg(feature = "test-support")]
pub(crate) use purge_batch;

/// Deletes every row of `purge` at `at`, batch after batch, and returns how many went.
/// It ends once a batch comes back short: rows only ever become purgeable as time passes,
/// and `at` stays put.
///
/// # Errors
/// The first batch that fails (those before it stay deleted).
pub(crate) async fn in_batches(
    pool: &DbPool,
    purge: Purge,
    at: DateTime<Utc>,
) -> Result<u64, DbError> {
    let mut total: u64 = 0;
    loop {
        let deleted = pool
            .write(move |conn| {
                let deleted = purge_batch!(purge, SqlTimestamp(at), BATCH_ROWS, |batch| {
                    execute_natively(conn, batch)
                });
                Ok::<_, DbError>(deleted?)
            })
            .await?;
        total = total.saturating_add(u64::try_from(deleted).unwrap_or(u64::MAX));
        if i64::try_from(deleted).unwrap_or(i64::MAX) < BATCH_ROWS {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}
