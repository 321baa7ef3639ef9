//! Who may hold a stream of the change feed open.

use std::fmt;
use std::sync::Arc;

use chrono::TimeDelta;
use thiserror::Error;

use crate::{
    ApiTokenRepository, Clock, Credential, CredentialError, EventTicketRepository, NewEventTicket,
    Principal, Scope, SessionRepository, StoreError, TokenService, UserRepository,
};

/// How long a ticket works: long enough to open an `EventSource` right after asking for it.
const TICKET_TTL: TimeDelta = TimeDelta::seconds(30);

/// A ticket for `GET /events?ticket=`, in clear (shown once, stored only as a hash).
#[derive(Clone, PartialEq, Eq)]
pub struct EventTicket {
    /// The secret.
    pub secret: String,
    /// Seconds until it stops working.
    pub expires_in: i64,
}

impl fmt::Debug for EventTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTicket")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Why a ticket cannot be issued or used.
#[derive(Debug, Error)]
pub enum EventTicketError {
    /// The ticket is unknown, used, or expired, or its session has ended.
    #[error("the ticket is unknown, already used or expired, or its session has ended")]
    Invalid,
    /// The caller's credential cannot have tickets (an API token: send it as a header) or
    /// lacks `changes:read`.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tickets for the browser's `EventSource` (which cannot send headers), and the liveness
/// check of a stream's credential.
#[derive(Clone)]
pub struct EventAccessService {
    tickets: Arc<dyn EventTicketRepository>,
    sessions: Arc<dyn SessionRepository>,
    users: Arc<dyn UserRepository>,
    api_tokens: Arc<dyn ApiTokenRepository>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    /// Most API tokens an account may have: a liveness check reads them all.
    max_api_tokens: u32,
}

impl fmt::Debug for EventAccessService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventAccessService").finish_non_exhaustive()
    }
}

impl EventAccessService {
    /// Builds the service from its ports; `max_api_tokens` is `auth.max_api_tokens`.
    pub fn new(
        tickets: Arc<dyn EventTicketRepository>,
        sessions: Arc<dyn SessionRepository>,
        users: Arc<dyn UserRepository>,
        api_tokens: Arc<dyn ApiTokenRepository>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
        max_api_tokens: u32,
    ) -> Self {
        Self {
            tickets,
            sessions,
            users,
            api_tokens,
            tokens,
            clock,
            max_api_tokens,
        }
    }

    /// A single-use ticket standing for the caller's session for 30 seconds. Sessions only:
    /// an API token client sends its token as a header instead. Needs `changes:read` (a
    /// session has it).
    ///
    /// # Errors
    /// `Credential` for an API token; `Store`.
    pub async fn issue(&self, caller: &Principal) -> Result<EventTicket, EventTicketError> {
        caller.require(Scope::ChangesRead)?;
        let Credential::Session(session_id) = caller.credential else {
            return Err(CredentialError::SessionRequired.into());
        };
        let secret = self.tokens.new_refresh_token();
        let now = self.clock.now();
        self.tickets
            .insert(NewEventTicket {
                hash: self.tokens.hash_refresh_token(secret.expose()),
                user_id: caller.user_id,
                session_id,
                expires_at: now + TICKET_TTL,
            })
            .await?;
        Ok(EventTicket {
            secret: secret.expose().to_owned(),
            expires_in: TICKET_TTL.num_seconds(),
        })
    }

    /// The caller a ticket stands for, using the ticket up: it works once, within its 30
    /// seconds, while its session is live.
    ///
    /// # Errors
    /// `Invalid`; `Store`.
    pub async fn redeem(&self, secret: &str) -> Result<Principal, EventTicketError> {
        let now = self.clock.now();
        let hash = self.tokens.hash_refresh_token(secret);
        let Some((user_id, session_id)) = self.tickets.take(hash, now).await? else {
            return Err(EventTicketError::Invalid);
        };
        match self.sessions.find_with_user(session_id).await? {
            Some((session, user)) if session.is_live_for(user_id, &user, now) => Ok(Principal {
                user_id: user.id,
                role: user.role,
                credential: Credential::Session(session.id),
            }),
            _ => Err(EventTicketError::Invalid),
        }
    }

    /// Whether the credential a stream was opened with still works: its session is live
    /// (not ended, not expired, its account enabled and unchanged), or its API token still
    /// exists, unexpired, on an enabled account. Read from storage every time (a stream
    /// asks every heartbeat), so an ended session ends its streams on every instance.
    ///
    /// # Errors
    /// `Store`.
    pub async fn still_live(&self, principal: &Principal) -> Result<bool, StoreError> {
        let now = self.clock.now();
        match principal.credential {
            Credential::Session(id) => Ok(self
                .sessions
                .find_with_user(id)
                .await?
                .is_some_and(|(session, user)| session.is_live_for(principal.user_id, &user, now))),
            Credential::ApiToken { id, .. } => {
                let Some(user) = self.users.find_by_id(principal.user_id).await? else {
                    return Ok(false);
                };
                if user.disabled {
                    return Ok(false);
                }
                let tokens = self
                    .api_tokens
                    .list_for_user(principal.user_id, self.max_api_tokens.max(1))
                    .await?;
                Ok(tokens
                    .iter()
                    .any(|t| t.id == id && t.expires_at.is_none_or(|at| at > now)))
            }
        }
    }

    /// Forgets expired tickets; run periodically.
    ///
    /// # Errors
    /// `Store`.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.tickets.purge_expired(self.clock.now()).await
    }
}
