//! [`ApiTokenRepository`] over diesel: personal API tokens in `api_tokens`, as hashes found
//! by their unique, non-secret prefix.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::{
    ApiToken, ApiTokenHash, ApiTokenId, ApiTokenInsert, ApiTokenRepository, StoreError, User,
    UserId,
};

use crate::errors::DbError;
use crate::pool::DbPool;
use crate::rows::{ApiTokenRow, UserRow, stamp, user_key};
use crate::schema::{api_tokens, users};
use crate::sql_types::SqlUuid;

/// Personal API tokens.
#[derive(Debug, Clone)]
pub(crate) struct DieselApiTokenRepository {
    pool: DbPool,
}

impl DieselApiTokenRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn token_key(id: ApiTokenId) -> SqlUuid {
    SqlUuid(id.as_uuid())
}

#[async_trait]
impl ApiTokenRepository for DieselApiTokenRepository {
    async fn insert(
        &self,
        token: ApiToken,
        hash: ApiTokenHash,
        max_tokens: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<ApiTokenInsert, StoreError> {
        let row = ApiTokenRow::new(&token, &hash);
        let now = stamp(now);
        let outcome = self
            .pool
            .write(move |conn| {
                if let Some(cap) = max_tokens {
                    // Concurrent creations of one account take turns here (PostgreSQL; on
                    // SQLite the write transaction already serialises them).
                    conn.engine().lock_owner(row.user_id)?;
                    diesel::delete(
                        api_tokens::table
                            .filter(api_tokens::user_id.eq(row.user_id))
                            .filter(api_tokens::expires_at.le(now)),
                    )
                    .execute(conn)?;
                    let held: i64 = api_tokens::table
                        .filter(api_tokens::user_id.eq(row.user_id))
                        .count()
                        .get_result(conn)?;
                    if u64::try_from(held).unwrap_or(0) >= cap {
                        return Ok(ApiTokenInsert::CapReached);
                    }
                }
                diesel::insert_into(api_tokens::table)
                    .values(&row)
                    .execute(conn)?;
                Ok::<_, DbError>(ApiTokenInsert::Inserted)
            })
            .await?;
        Ok(outcome)
    }

    async fn find_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<(ApiToken, ApiTokenHash, User)>, StoreError> {
        let prefix = prefix.to_owned();
        let found = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    api_tokens::table
                        .inner_join(users::table)
                        .filter(api_tokens::prefix.eq(&prefix))
                        .select((api_tokens::all_columns, users::all_columns))
                        .first::<(ApiTokenRow, UserRow)>(conn)
                        .optional()?,
                )
            })
            .await?;
        found
            .map(|(token, user)| {
                let (token, hash) = token.into_domain()?;
                Ok((token, hash, user.into_domain()?))
            })
            .transpose()
    }

    async fn touch(
        &self,
        id: ApiTokenId,
        now: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, now, before) = (token_key(id), stamp(now), stamp(before));
        self.pool
            .write(move |conn| {
                diesel::update(
                    api_tokens::table.filter(api_tokens::id.eq(id)).filter(
                        api_tokens::last_used_at
                            .is_null()
                            .or(api_tokens::last_used_at.lt(before)),
                    ),
                )
                .set(api_tokens::last_used_at.eq(now))
                .execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await?;
        Ok(())
    }

    async fn list_for_user(&self, owner: UserId, limit: u32) -> Result<Vec<ApiToken>, StoreError> {
        let owner = user_key(owner);
        let rows = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    api_tokens::table
                        .filter(api_tokens::user_id.eq(owner))
                        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
                        .limit(i64::from(limit))
                        .select(api_tokens::all_columns)
                        .load::<ApiTokenRow>(conn)?,
                )
            })
            .await?;
        rows.into_iter()
            .map(|row| row.into_domain().map(|(token, _)| token))
            .collect()
    }

    async fn delete(&self, owner: UserId, id: ApiTokenId) -> Result<bool, StoreError> {
        let (owner, id) = (user_key(owner), token_key(id));
        let deleted = self
            .pool
            .write(move |conn| {
                Ok::<_, DbError>(
                    diesel::delete(
                        api_tokens::table
                            .filter(api_tokens::id.eq(id))
                            .filter(api_tokens::user_id.eq(owner)),
                    )
                    .execute(conn)?,
                )
            })
            .await?;
        Ok(deleted > 0)
    }

    async fn revoke_all_for_user(&self, owner: UserId) -> Result<u64, StoreError> {
        let owner = user_key(owner);
        let deleted = self
            .pool
            .write(move |conn| {
                Ok::<_, DbError>(
                    diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(owner)))
                        .execute(conn)?,
                )
            })
            .await?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }
}
