//! [`MailQueue`] over diesel: outgoing mail in `outbound_mail`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::MailQueue;
use taskapi_domain::{MailId, QueuedMail, StoreError};
use uuid::Uuid;

use crate::errors::DbError;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{OutboundMailRow, stamp};
use crate::schema::outbound_mail;
use crate::sql_types::SqlUuid;

/// The mail queue.
#[derive(Debug, Clone)]
pub(crate) struct DieselMailQueue {
    pool: DbPool,
}

impl DieselMailQueue {
    /// A queue over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl MailQueue for DieselMailQueue {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: Uuid,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let (now, lease_until, claim) = (stamp(now), stamp(lease_until), SqlUuid(claim));
        // Every instance polls: only a poll that finds mail due takes a write transaction
        // (SQLite's one writer lock), an idle queue costs one indexed read.
        let any_due: bool = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    diesel::select(diesel::dsl::exists(
                        outbound_mail::table
                            .filter(outbound_mail::finished_at.is_null())
                            .filter(outbound_mail::next_attempt_at.le(now)),
                    ))
                    .get_result(conn)?,
                )
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        let rows: Vec<OutboundMailRow> = self
            .pool
            .write(move |conn| {
                let due: Vec<SqlUuid> = outbound_mail::table
                    .filter(outbound_mail::finished_at.is_null())
                    .filter(outbound_mail::next_attempt_at.le(now))
                    .order((outbound_mail::next_attempt_at, outbound_mail::id))
                    .limit(i64::from(limit))
                    .select(outbound_mail::id)
                    .load(conn)?;
                let mut claimed = Vec::with_capacity(due.len());
                for id in due {
                    // Due-ness is checked again by the statement that claims: a concurrent
                    // claim (PostgreSQL) that got the row first moved it a lease ahead, so
                    // this one finds it no longer due and leaves it.
                    let row: Option<OutboundMailRow> = diesel::update(
                        outbound_mail::table
                            .find(id)
                            .filter(outbound_mail::finished_at.is_null())
                            .filter(outbound_mail::next_attempt_at.le(now)),
                    )
                    .set((
                        outbound_mail::claim.eq(Some(claim)),
                        outbound_mail::attempts.eq(outbound_mail::attempts + 1),
                        outbound_mail::next_attempt_at.eq(lease_until),
                    ))
                    .returning(outbound_mail::all_columns)
                    .get_result(conn)
                    .optional()?;
                    claimed.extend(row);
                }
                Ok::<_, DbError>(claimed)
            })
            .await?;
        rows.into_iter()
            .map(OutboundMailRow::into_claimed)
            .collect()
    }

    async fn mark_sent(
        &self,
        id: MailId,
        claim: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, claim, now) = (SqlUuid(id.as_uuid()), SqlUuid(claim), stamp(now));
        self.pool
            .write(move |conn| {
                diesel::update(
                    outbound_mail::table
                        .find(id)
                        .filter(outbound_mail::claim.eq(claim))
                        .filter(outbound_mail::finished_at.is_null()),
                )
                .set((
                    outbound_mail::finished_at.eq(Some(now)),
                    outbound_mail::body.eq(""),
                    outbound_mail::claim.eq(None::<SqlUuid>),
                ))
                .execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn mark_failed(
        &self,
        id: MailId,
        claim: Uuid,
        now: DateTime<Utc>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (id, claim, now) = (SqlUuid(id.as_uuid()), SqlUuid(claim), stamp(now));
        self.pool
            .write(move |conn| {
                let held = outbound_mail::table
                    .find(id)
                    .filter(outbound_mail::claim.eq(claim))
                    .filter(outbound_mail::finished_at.is_null());
                match retry_at {
                    Some(at) => diesel::update(held)
                        .set((
                            outbound_mail::next_attempt_at.eq(stamp(at)),
                            outbound_mail::claim.eq(None::<SqlUuid>),
                        ))
                        .execute(conn)?,
                    None => diesel::update(held)
                        .set((
                            outbound_mail::finished_at.eq(Some(now)),
                            outbound_mail::body.eq(""),
                            outbound_mail::claim.eq(None::<SqlUuid>),
                        ))
                        .execute(conn)?,
                };
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn purge_finished(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::FinishedMail, before).await?)
    }
}
