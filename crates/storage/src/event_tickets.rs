//! [`EventTicketRepository`] over diesel: the `event_tickets` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use taskapi_domain::{
    EventTicketRepository, NewEventTicket, RefreshTokenHash, SessionId, StoreError, UserId,
};

use crate::errors::DbError;
use crate::pool::DbPool;
use crate::purge::{self, Purge};
use crate::rows::{session_key, stamp, user_key};
use crate::schema::event_tickets;
use crate::sql_types::SqlUuid;

/// Event tickets in `event_tickets`.
#[derive(Debug, Clone)]
pub(crate) struct DieselEventTicketRepository {
    pool: DbPool,
}

impl DieselEventTicketRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl EventTicketRepository for DieselEventTicketRepository {
    async fn insert(&self, ticket: NewEventTicket) -> Result<(), StoreError> {
        self.pool
            .write(move |conn| {
                diesel::insert_into(event_tickets::table)
                    .values((
                        event_tickets::ticket_hash.eq(ticket.hash.as_str()),
                        event_tickets::user_id.eq(user_key(ticket.user_id)),
                        event_tickets::session_id.eq(session_key(ticket.session_id)),
                        event_tickets::expires_at.eq(stamp(ticket.expires_at)),
                    ))
                    .execute(conn)?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(StoreError::from)
    }

    async fn take(
        &self,
        hash: RefreshTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserId, SessionId)>, StoreError> {
        let taken: Option<(SqlUuid, SqlUuid)> = self
            .pool
            .write(move |conn| {
                // One statement: of concurrent uses of a ticket, one deletes the row and
                // gets it back; the others find nothing.
                let taken = diesel::delete(
                    event_tickets::table
                        .filter(event_tickets::ticket_hash.eq(hash.as_str()))
                        .filter(event_tickets::expires_at.gt(stamp(now))),
                )
                .returning((event_tickets::user_id, event_tickets::session_id))
                .get_result(conn)
                .optional()?;
                Ok::<_, DbError>(taken)
            })
            .await?;
        Ok(taken
            .map(|(user, session)| (UserId::from_uuid(user.0), SessionId::from_uuid(session.0))))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(purge::in_batches(&self.pool, Purge::ExpiredEventTickets, now).await?)
    }
}
