//! [`SessionRepository`] over diesel: sessions in `sessions`, refresh-token hashes in
//! `refresh_tokens`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::SessionRepository;
use taskapi_domain::{
    NewRefreshToken, RefreshTokenHash, RotateOutcome, Session, SessionId, StoreError, User, UserId,
};

use crate::errors::DbError;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{RefreshTokenRow, SessionRow, UserRow, session_key, stamp, user_key};
use crate::schema::{refresh_tokens, sessions, users};
use crate::sql_types::{SqlTimestamp, SqlUuid};

/// Sessions and their refresh tokens.
#[derive(Debug, Clone)]
pub(crate) struct DieselSessionRepository {
    pool: DbPool,
}

impl DieselSessionRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SessionRepository for DieselSessionRepository {
    async fn create(&self, session: Session, first: NewRefreshToken) -> Result<(), StoreError> {
        let row = SessionRow::from_domain(&session);
        let token = RefreshTokenRow::new(row.id, &first);
        self.pool
            .write(move |conn| {
                diesel::insert_into(sessions::table)
                    .values(&row)
                    .execute(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values(&token)
                    .execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn rotate(
        &self,
        presented: RefreshTokenHash,
        next: NewRefreshToken,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, StoreError> {
        let presented = presented.as_str().to_owned();
        let now = stamp(now);
        let outcome = self
            .pool
            .write(move |conn| {
                let running_sessions = sessions::table
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .select(sessions::id);
                // The one statement that decides: of concurrent rotations of one token, only
                // the first finds `used_at` still null.
                let won: Option<SqlUuid> = diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(&presented))
                        .filter(refresh_tokens::used_at.is_null())
                        .filter(refresh_tokens::expires_at.gt(now))
                        .filter(refresh_tokens::session_id.eq_any(running_sessions)),
                )
                .set(refresh_tokens::used_at.eq(now))
                .returning(refresh_tokens::session_id)
                .get_result(conn)
                .optional()?;
                let Some(session) = won else {
                    let used: Option<(Option<SqlTimestamp>, SqlUuid)> = refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(&presented))
                        .select((refresh_tokens::used_at, refresh_tokens::session_id))
                        .first(conn)
                        .optional()?;
                    return Ok(match used {
                        Some((Some(_), session)) => {
                            RotateOutcome::Reused(SessionId::from_uuid(session.0))
                        }
                        _ => RotateOutcome::Invalid,
                    });
                };
                diesel::insert_into(refresh_tokens::table)
                    .values(RefreshTokenRow::new(session, &next))
                    .execute(conn)?;
                let row: SessionRow = diesel::update(sessions::table.find(session))
                    .set(sessions::expires_at.eq(stamp(next.expires_at)))
                    .returning(sessions::all_columns)
                    .get_result(conn)?;
                Ok::<_, DbError>(RotateOutcome::Rotated(row.into_domain()))
            })
            .await?;
        Ok(outcome)
    }

    async fn find_with_user(&self, id: SessionId) -> Result<Option<(Session, User)>, StoreError> {
        let id = session_key(id);
        let found = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    sessions::table
                        .inner_join(users::table)
                        .filter(sessions::id.eq(id))
                        .select((sessions::all_columns, users::all_columns))
                        .first::<(SessionRow, UserRow)>(conn)
                        .optional()?,
                )
            })
            .await?;
        found
            .map(|(session, user)| Ok((session.into_domain(), user.into_domain()?)))
            .transpose()
    }

    async fn revoke(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let id = session_key(id);
        self.pool
            .write(move |conn| {
                diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(stamp(now)))
                .execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn revoke_by_token(
        &self,
        token: RefreshTokenHash,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionId>, StoreError> {
        let (token, owner, now) = (token.as_str().to_owned(), user_key(owner), stamp(now));
        let ended = self
            .pool
            .write(move |conn| {
                let session: Option<SqlUuid> = refresh_tokens::table
                    .inner_join(sessions::table.inner_join(users::table))
                    .filter(refresh_tokens::token_hash.eq(&token))
                    .filter(refresh_tokens::expires_at.gt(now))
                    .filter(sessions::user_id.eq(owner))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .filter(sessions::epoch.eq(users::session_epoch))
                    .select(sessions::id)
                    .first(conn)
                    .optional()?;
                if let Some(session) = session {
                    diesel::update(sessions::table.find(session))
                        .set(sessions::revoked_at.eq(now))
                        .execute(conn)?;
                }
                Ok::<_, DbError>(session.map(|s| SessionId::from_uuid(s.0)))
            })
            .await?;
        Ok(ended)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // A used token is kept until it expires, so that replaying it is recognised as
        // reuse; an ended session is useless at once (its tokens go with it).
        let mut purged = 0;
        for purge in [
            Purge::ExpiredRefreshTokens,
            Purge::ExpiredSessions,
            Purge::RevokedSessions,
        ] {
            purged += purge::in_batches(&self.pool, purge, now).await?;
        }
        Ok(purged)
    }
}
