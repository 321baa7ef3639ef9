//! [`SessionRepository`] over diesel: sessions in `sessions`, refresh-token hashes in
//! `refresh_tokens`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::SessionRepository;
use taskapi_domain::{
    NewRefreshToken, RefreshTokenHash, RotateOutcome, Rotation, SealedRefreshToken, Session,
    SessionId, StoreError, User, UserId,
};

use crate::backend::DbConnection;
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
    async fn create(
        &self,
        session: Session,
        first: NewRefreshToken,
        max_sessions: Option<u64>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let row = SessionRow::from_domain(&session);
        let token = RefreshTokenRow::new(row.id, &first);
        let now = stamp(session.created_at);
        let ended = self
            .pool
            .write(move |conn| {
                let ended = match max_sessions {
                    Some(cap) => end_least_recently_used(conn, row.user_id, cap, now)?,
                    None => Vec::new(),
                };
                diesel::insert_into(sessions::table)
                    .values(&row)
                    .execute(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values(&token)
                    .execute(conn)?;
                Ok::<_, DbError>(ended)
            })
            .await?;
        Ok(ended
            .into_iter()
            .map(|id| SessionId::from_uuid(id.0))
            .collect())
    }

    async fn rotate(
        &self,
        presented: RefreshTokenHash,
        next: NewRefreshToken,
        now: DateTime<Utc>,
        rules: Rotation,
    ) -> Result<RotateOutcome, StoreError> {
        let presented = presented.as_str().to_owned();
        let born_after = stamp(earlier(now, rules.max_age));
        // With no grace period nothing is ever replayed.
        let grace =
            (rules.grace > chrono::Duration::zero()).then(|| stamp(earlier(now, rules.grace)));
        let successor_hash = rules
            .sealed_successor
            .as_ref()
            .map(|_| next.hash.as_str().to_owned());
        let sealed = rules.sealed_successor.map(|s| s.as_str().to_owned());
        let max_age = rules.max_age;
        let now = stamp(now);
        let outcome = self
            .pool
            .write(move |conn| {
                // The one statement that decides: of concurrent rotations of one token, only
                // the first finds `used_at` still null.
                let won: Option<SqlUuid> = diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(&presented))
                        .filter(refresh_tokens::used_at.is_null())
                        .filter(refresh_tokens::expires_at.gt(now))
                        .filter(
                            refresh_tokens::session_id.eq_any(running_sessions(now, born_after)),
                        ),
                )
                .set((
                    refresh_tokens::used_at.eq(now),
                    refresh_tokens::successor_hash.eq(&successor_hash),
                    refresh_tokens::successor_sealed.eq(&sealed),
                ))
                .returning(refresh_tokens::session_id)
                .get_result(conn)
                .optional()?;
                let Some(session) = won else {
                    return already_used(conn, &presented, now, born_after, grace);
                };
                let created_at: SqlTimestamp = sessions::table
                    .find(session)
                    .select(sessions::created_at)
                    .first(conn)?;
                // The session's absolute end, whatever its refreshes.
                let ends = created_at
                    .0
                    .checked_add_signed(max_age)
                    .map_or(next.expires_at, |end| end.min(next.expires_at));
                let next = NewRefreshToken {
                    expires_at: ends,
                    ..next
                };
                diesel::insert_into(refresh_tokens::table)
                    .values(RefreshTokenRow::new(session, &next))
                    .execute(conn)?;
                let row: SessionRow = diesel::update(sessions::table.find(session))
                    .set((
                        sessions::expires_at.eq(stamp(ends)),
                        sessions::last_used_at.eq(now),
                    ))
                    .returning(sessions::all_columns)
                    .get_result(conn)?;
                Ok::<_, DbError>(RotateOutcome::Rotated(row.into_domain()))
            })
            .await?;
        Ok(outcome)
    }

    async fn list_running(
        &self,
        owner: UserId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let (owner, now) = (user_key(owner), stamp(now));
        let rows = self
            .pool
            .run(move |conn| {
                Ok::<_, DbError>(
                    sessions::table
                        .inner_join(users::table)
                        .filter(sessions::user_id.eq(owner))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .filter(sessions::epoch.eq(users::session_epoch))
                        .select(sessions::all_columns)
                        .order((sessions::last_used_at.desc(), sessions::id.desc()))
                        .limit(i64::from(limit))
                        .load::<SessionRow>(conn)?,
                )
            })
            .await?;
        Ok(rows.into_iter().map(SessionRow::into_domain).collect())
    }

    async fn revoke_for_owner(
        &self,
        id: SessionId,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, owner, now) = (session_key(id), user_key(owner), stamp(now));
        let ended = self
            .pool
            .write(move |conn| {
                let current_epoch = users::table
                    .filter(users::id.eq(owner))
                    .select(users::session_epoch);
                Ok::<_, DbError>(
                    diesel::update(
                        sessions::table
                            .filter(sessions::id.eq(id))
                            .filter(sessions::user_id.eq(owner))
                            .filter(sessions::revoked_at.is_null())
                            .filter(sessions::expires_at.gt(now))
                            .filter(sessions::epoch.eq_any(current_epoch)),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(conn)?,
                )
            })
            .await?;
        Ok(ended > 0)
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
            // Not sessions, but as dead once expired; the same housekeeping sweeps them.
            Purge::ExpiredApiTokens,
        ] {
            purged += purge::in_batches(&self.pool, purge, now).await?;
        }
        Ok(purged)
    }
}

/// `at - by`, or the earliest instant when that is out of range (a huge duration).
fn earlier(at: DateTime<Utc>, by: chrono::Duration) -> DateTime<Utc> {
    at.checked_sub_signed(by)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The query of [`running_sessions`].
type RunningSessions = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Filter<sessions::table, diesel::dsl::IsNull<sessions::revoked_at>>,
            diesel::dsl::Gt<sessions::expires_at, SqlTimestamp>,
        >,
        diesel::dsl::Gt<sessions::created_at, SqlTimestamp>,
    >,
    sessions::id,
>;

/// The ids of the sessions still running at `now`: not ended, not expired, started after
/// `born_after` (the absolute lifetime).
fn running_sessions(now: SqlTimestamp, born_after: SqlTimestamp) -> RunningSessions {
    sessions::table
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::created_at.gt(born_after))
        .select(sessions::id)
}

/// What presenting a token that did not rotate means: replayed within the grace period
/// (`grace`: rotated after this instant, its successor unused and its session running),
/// reused, or invalid.
fn already_used(
    conn: &mut DbConnection,
    presented: &str,
    now: SqlTimestamp,
    born_after: SqlTimestamp,
    grace: Option<SqlTimestamp>,
) -> Result<RotateOutcome, DbError> {
    type Used = (
        Option<SqlTimestamp>,
        SqlUuid,
        Option<String>,
        Option<String>,
    );
    let used: Option<Used> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(presented))
        .select((
            refresh_tokens::used_at,
            refresh_tokens::session_id,
            refresh_tokens::successor_hash,
            refresh_tokens::successor_sealed,
        ))
        .first(conn)
        .optional()?;
    let Some((Some(used_at), session, successor, sealed)) = used else {
        return Ok(RotateOutcome::Invalid);
    };
    let reused = RotateOutcome::Reused(SessionId::from_uuid(session.0));
    let (Some(since), Some(successor), Some(sealed)) = (grace, successor, sealed) else {
        return Ok(reused);
    };
    if used_at <= since {
        return Ok(reused);
    }
    let successor_unused: i64 = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(&successor))
        .filter(refresh_tokens::used_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .filter(refresh_tokens::session_id.eq_any(running_sessions(now, born_after)))
        .count()
        .get_result(conn)?;
    if successor_unused == 0 {
        return Ok(reused);
    }
    let row: SessionRow = sessions::table
        .find(session)
        .select(sessions::all_columns)
        .first(conn)?;
    Ok(RotateOutcome::Replayed {
        session: row.into_domain(),
        sealed: SealedRefreshToken::new(sealed),
    })
}

/// Inside a write transaction: ends `owner`'s least recently used running sessions so that,
/// with one more, it has at most `cap`; returns their ids. The account's row is locked first
/// (PostgreSQL), so that concurrent logins of one account take turns.
fn end_least_recently_used(
    conn: &mut DbConnection,
    owner: SqlUuid,
    cap: u64,
    now: SqlTimestamp,
) -> Result<Vec<SqlUuid>, DbError> {
    conn.engine().lock_owner(owner)?;
    let mut running: Vec<(SqlUuid, Option<SqlTimestamp>, SqlTimestamp)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::user_id.eq(owner))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::epoch.eq(users::session_epoch))
        .select((sessions::id, sessions::last_used_at, sessions::created_at))
        .load(conn)?;
    let held = u64::try_from(running.len()).unwrap_or(u64::MAX);
    let excess = usize::try_from((held + 1).saturating_sub(cap)).unwrap_or(usize::MAX);
    if excess == 0 {
        return Ok(Vec::new());
    }
    running.sort_by_key(|(id, used, created)| (used.unwrap_or(*created), *id));
    let victims: Vec<SqlUuid> = running
        .into_iter()
        .take(excess)
        .map(|(id, ..)| id)
        .collect();
    diesel::update(sessions::table.filter(sessions::id.eq_any(&victims)))
        .set(sessions::revoked_at.eq(now))
        .execute(conn)?;
    Ok(victims)
}
