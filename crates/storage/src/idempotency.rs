//! [`IdempotencyStore`] over diesel: one row per (owner, key), arbitrated by the primary key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::{Eq, Filter, IsNull};
use diesel::prelude::*;
use taskapi_domain::IdempotencyStore;
use taskapi_domain::{HeldKey, IdempotencyKey, Reservation, StoreError, Task, UserId};

use crate::backend::{DbConnection, execute_natively};
use crate::errors::DbError;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::user_key;
use crate::schema::idempotency_keys as keys;
use crate::sql_types::{SqlTimestamp, SqlUuid};
use crate::task_snapshot;

/// Idempotency keys in the `idempotency_keys` table.
#[derive(Debug, Clone)]
pub(crate) struct DieselIdempotencyStore {
    pool: DbPool,
}

impl DieselIdempotencyStore {
    /// A store over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// A new key's row.
#[derive(Insertable)]
#[diesel(table_name = keys)]
struct NewKeyRow {
    owner_id: SqlUuid,
    key: String,
    fingerprint: String,
    created_at: SqlTimestamp,
}

/// What a reservation finds of an existing key.
#[derive(Queryable)]
struct KeyRow {
    fingerprint: String,
    task: Option<String>,
}

/// The query type of [`held_reservation`].
pub(crate) type HeldReservation = Filter<
    Filter<
        Filter<Filter<keys::table, Eq<keys::owner_id, SqlUuid>>, Eq<keys::key, String>>,
        Eq<keys::created_at, SqlTimestamp>,
    >,
    IsNull<keys::task>,
>;

/// The reservation `held` describes, while it is still uncompleted and not taken over (a
/// takeover moves `created_at` to the retry's instant).
pub(crate) fn held_reservation(held: &HeldKey) -> HeldReservation {
    keys::table
        .filter(keys::owner_id.eq(user_key(held.owner)))
        .filter(keys::key.eq(held.key.as_str().to_owned()))
        .filter(keys::created_at.eq(SqlTimestamp(held.reserved_at)))
        .filter(keys::task.is_null())
}

/// The task a completed key yields, or `None` while its request is running. A snapshot
/// that does not decode is corrupt: an internal error, never a made-up task.
fn created_task(found: &KeyRow, owner: UserId, key: &str) -> Result<Option<Task>, DbError> {
    found
        .task
        .as_deref()
        .map(|text| task_snapshot::decode(owner, text))
        .transpose()
        .map_err(|e| {
            DbError::Store(StoreError::internal(format!(
                "idempotency key {key:?}: {e}"
            )))
        })
}

/// `INSERT … ON CONFLICT DO NOTHING`, run natively (diesel's multi-backend connection
/// cannot express the conflict clause). Returns whether the row was inserted.
fn insert_if_absent(conn: &mut DbConnection, row: &NewKeyRow) -> QueryResult<bool> {
    let insert = diesel::insert_into(keys::table)
        .values(row)
        .on_conflict_do_nothing();
    execute_natively(conn, insert).map(|n| n == 1)
}

#[async_trait]
impl IdempotencyStore for DieselIdempotencyStore {
    async fn reserve(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let owner_id = owner;
        let owner = user_key(owner);
        let key = key.as_str().to_owned();
        self.pool
            .write(move |conn| {
                let this = keys::table
                    .filter(keys::owner_id.eq(owner))
                    .filter(keys::key.eq(&key));
                // An expired key is as good as unused.
                diesel::delete(this.filter(keys::created_at.lt(SqlTimestamp(expired_before))))
                    .execute(conn)?;
                // A reservation whose request died before completing may be taken over.
                let taken_over = diesel::update(
                    this.filter(keys::task.is_null())
                        .filter(keys::created_at.lt(SqlTimestamp(abandoned_before))),
                )
                .set((
                    keys::fingerprint.eq(&fingerprint),
                    keys::created_at.eq(SqlTimestamp(now)),
                ))
                .execute(conn)?;
                if taken_over == 1 {
                    return Ok::<_, DbError>(Reservation::Reserved);
                }
                let row = NewKeyRow {
                    owner_id: owner,
                    key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    created_at: SqlTimestamp(now),
                };
                // The primary key decides between concurrent duplicates: on PostgreSQL the
                // loser's insert waits for the winner's commit, then does nothing. Should the
                // winner release the key between our insert and our read, it is free again:
                // try once more (and say "in progress" if it keeps slipping away).
                for _ in 0..3 {
                    if insert_if_absent(conn, &row)? {
                        return Ok(Reservation::Reserved);
                    }
                    let found: Option<KeyRow> = this
                        .select((keys::fingerprint, keys::task))
                        .first(conn)
                        .optional()?;
                    if let Some(found) = found {
                        return Ok(Reservation::Taken {
                            created: created_task(&found, owner_id, &key)?,
                            fingerprint: found.fingerprint,
                        });
                    }
                }
                Ok(Reservation::Taken {
                    fingerprint: fingerprint.clone(),
                    created: None,
                })
            })
            .await
            .map_err(StoreError::from)
    }

    async fn release(&self, held: HeldKey) -> Result<(), StoreError> {
        self.pool
            .write(move |conn| {
                diesel::delete(held_reservation(&held)).execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::IdempotencyKeys, before).await?)
    }
}
