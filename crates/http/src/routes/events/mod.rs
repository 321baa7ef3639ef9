//! Live events: `GET /events`, the caller's change feed as server-sent events, and
//! `POST /events/ticket`, the single-use ticket a browser's `EventSource` (which cannot
//! send headers) opens it with. The hub that wakes streams is [`crate::events`].

use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use paperclip::actix::{Apiv2Schema, OperationModifier, api_v2_operation, web};
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema as Apiv2SchemaTrait;
use serde::Serialize;
use taskapi_domain::{ChangeCursor, ChangeLimit, Principal};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::changes::{MAX_CURSOR_LEN, decode_cursor};
use super::resource;
use crate::AppState;
use crate::auth::{ChangesRead, ScopedUser};
use crate::error::ApiError;
use crate::events::StreamSlot;
use crate::query::{QueryParams, query_parameter};
use crate::reply::JsonCreated;
use crate::routes::changes::ChangeResponse;

/// Registers `/events` and `/events/ticket`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/events", "GET").route(web::get().to(follow)))
        .service(resource("/events/ticket", "POST").route(web::post().to(ticket)));
}

/// Most changes one read of a stream takes (then it reads again at once).
const READ_LIMIT: u16 = 100;

/// What an `EventSource` waits before reconnecting, in milliseconds (the stream's first
/// line).
const RETRY_MS: u32 = 3_000;

/// A single-use ticket for `GET /events?ticket=`, standing for the caller's session for
/// `expires_in` seconds (30). For browsers, whose `EventSource` cannot send an
/// `Authorization` header; sessions only (an API token client sends its token as a header).
#[api_v2_operation(operation_id = "create_event_ticket", tags(Changes))]
pub async fn ticket(
    state: Data<AppState>,
    caller: ScopedUser<ChangesRead>,
    _query: crate::query::NoQuery,
) -> Result<JsonCreated<EventTicketResponse>, ApiError> {
    let ticket = state.event_access.issue(&caller.0).await?;
    Ok(JsonCreated::new(EventTicketResponse {
        ticket: ticket.secret,
        expires_in: ticket.expires_in,
    })
    .header((CACHE_CONTROL, "no-store")))
}

/// A ticket for `GET /events?ticket=`.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct EventTicketResponse {
    /// The ticket: pass it as `?ticket=` once, within `expires_in` seconds.
    pub ticket: String,
    /// Seconds until it stops working (30).
    pub expires_in: i64,
}

/// The caller's changes as server-sent events, as they commit on any instance: `id:` the
/// change's cursor, `event: change`, `data:` the change as `GET /changes` shows it. Resumes
/// after `Last-Event-ID` (what `EventSource` sends when it reconnects) or `?cursor=`;
/// without either, from now. A comment line every `events.heartbeat` (15 s); the stream
/// ends when its session ends. Authorization: the bearer header, or `?ticket=` from
/// `POST /events/ticket`. 410 for a cursor older than `sync.retention`; 429 past
/// `events.max_streams_per_user` open streams.
#[api_v2_operation(operation_id = "follow_events", tags(Changes))]
pub async fn follow(
    state: Data<AppState>,
    request: EventsRequest,
) -> Result<EventStream, ApiError> {
    let EventsRequest { caller, cursor } = request;
    let cursor = match cursor {
        Some(cursor) => {
            state.changes.check_cursor(&cursor)?;
            cursor
        }
        None => state.changes.present().await?,
    };
    let slot = state
        .events
        .register(caller.user_id)
        .map_err(|too_many| ApiError::TooManyStreams(too_many.limit))?;
    let heartbeat = state.events.settings().heartbeat;
    Ok(EventStream(Follow {
        state: state.clone(),
        caller,
        cursor,
        slot,
        heartbeat,
        stage: Stage::Opening,
    }))
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Nothing sent yet: the `retry:` line comes first.
    Opening,
    /// Changes may be waiting: read them.
    Reading,
    /// Everything is sent: wait for a wake, a heartbeat or the hub's closing.
    Waiting,
}

/// One open stream's state.
struct Follow {
    state: Data<AppState>,
    caller: Principal,
    cursor: ChangeCursor,
    slot: StreamSlot,
    heartbeat: Duration,
    stage: Stage,
}

impl Follow {
    /// The next chunk to send, or `None` when the stream ends.
    async fn next_chunk(&mut self, ticks: &mut tokio::time::Interval) -> Option<Bytes> {
        loop {
            if *self.slot.closed.borrow() {
                return None;
            }
            match self.stage {
                Stage::Opening => {
                    self.stage = Stage::Reading;
                    return Some(Bytes::from(format!("retry: {RETRY_MS}\n: open\n\n")));
                }
                Stage::Reading => {
                    let limit = ChangeLimit::new(i64::from(READ_LIMIT)).unwrap_or_default();
                    let page = match self
                        .state
                        .changes
                        .read(&self.caller, Some(self.cursor), limit)
                        .await
                    {
                        Ok(page) => page,
                        Err(e) => {
                            // The client reconnects with its last event's id and gets the
                            // error as an answer (503, 410) or the changes.
                            log::warn!("live events: a stream ends, its read failed: {e}");
                            return None;
                        }
                    };
                    self.cursor = page.next;
                    if !page.has_more {
                        self.stage = Stage::Waiting;
                    }
                    if !page.changes.is_empty() {
                        return Some(render(page.changes));
                    }
                }
                Stage::Waiting => {
                    let mut closed = self.slot.closed.clone();
                    tokio::select! {
                        () = self.slot.wake.notified() => self.stage = Stage::Reading,
                        _ = ticks.tick() => {
                            match self.state.event_access.still_live(&self.caller).await {
                                Ok(true) => return Some(Bytes::from_static(b": heartbeat\n\n")),
                                Ok(false) => return None,
                                Err(e) => {
                                    log::warn!("live events: cannot check a stream's session: {e}");
                                    return Some(Bytes::from_static(b": heartbeat\n\n"));
                                }
                            }
                        }
                        _ = closed.changed() => return None,
                    }
                }
            }
        }
    }
}

/// Changes as server-sent events.
fn render(changes: Vec<taskapi_domain::Change>) -> Bytes {
    let mut out = String::new();
    for change in changes {
        let change = ChangeResponse::from(change);
        let data = serde_json::to_string(&change).unwrap_or_default();
        out.push_str("id: ");
        out.push_str(&change.cursor);
        out.push_str("\nevent: change\ndata: ");
        out.push_str(&data);
        out.push_str("\n\n");
    }
    Bytes::from(out)
}

/// A `text/event-stream` answer.
pub struct EventStream(Follow);

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl Responder for EventStream {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        let follow = self.0;
        let period = follow.heartbeat;
        let mut ticks = interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let body =
            futures_util::stream::unfold((follow, ticks), |(mut follow, mut ticks)| async move {
                let chunk = follow.next_chunk(&mut ticks).await?;
                Some((Ok::<_, std::convert::Infallible>(chunk), (follow, ticks)))
            });
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/event-stream"))
            .insert_header((CACHE_CONTROL, "no-store"))
            // Reverse proxies that buffer (nginx) pass this stream through as it comes.
            .insert_header(("x-accel-buffering", "no"))
            .streaming(body)
    }
}

impl Apiv2SchemaTrait for EventStream {}

impl OperationModifier for EventStream {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "200".into(),
            Either::Right(Response {
                description: Some(
                    "A stream of server-sent events (`text/event-stream`): `event: change` \
                     with the change as JSON in `data:` and its cursor in `id:`, and comment \
                     lines as heartbeats."
                        .into(),
                ),
                ..Default::default()
            }),
        );
    }
}

/// Who follows the events, and from where: the caller (by `?ticket=` or the bearer
/// header) and the cursor (`Last-Event-ID`, else `?cursor=`).
#[derive(Debug)]
pub struct EventsRequest {
    caller: Principal,
    cursor: Option<ChangeCursor>,
}

impl EventsRequest {
    /// The query's `ticket` and `cursor`, or the parameter errors.
    fn parse(query: &str) -> (Option<String>, Result<Option<ChangeCursor>, ApiError>) {
        let mut params = match QueryParams::parse(query) {
            Ok(params) => params,
            Err(e) => return (None, Err(e)),
        };
        let ticket = params.take("ticket");
        let mut errors = taskapi_domain::ValidationErrors::new();
        let cursor = params
            .take("cursor")
            .and_then(|raw| errors.check("cursor", decode_cursor(&raw)));
        match params.finish() {
            Ok(()) => {}
            Err(ApiError::Validation(unknown)) => errors.extend(unknown),
            Err(other) => return (ticket, Err(other)),
        }
        if errors.is_empty() {
            (ticket, Ok(cursor))
        } else {
            (ticket, Err(ApiError::Validation(errors)))
        }
    }
}

impl FromRequest for EventsRequest {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (ticket, from_query) = Self::parse(req.query_string());
        let last_event_id = req
            .headers()
            .get("last-event-id")
            .map(|v| v.to_str().map(str::to_owned));
        let state = req.app_data::<Data<AppState>>().cloned();
        let bearer = ticket
            .is_none()
            .then(|| ScopedUser::<ChangesRead>::from_request(req, payload));
        async move {
            // The credential first (401 before any parameter error), then the cursor.
            let caller = match (ticket, bearer) {
                (Some(ticket), _) => {
                    let state = state
                        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
                    state.event_access.redeem(&ticket).await?
                }
                (None, Some(bearer)) => bearer.await?.0,
                (None, None) => return Err(ApiError::Internal("no credential looked at".into())),
            };
            let cursor = match last_event_id {
                // What EventSource sends on reconnecting wins over the URL's first cursor.
                Some(Ok(raw)) if !raw.is_empty() => Some(
                    decode_cursor(&raw).map_err(|why| ApiError::invalid("Last-Event-ID", why))?,
                ),
                Some(Err(_)) => {
                    return Err(ApiError::invalid(
                        "Last-Event-ID",
                        super::changes::NOT_A_CHANGE_CURSOR,
                    ));
                }
                _ => from_query?,
            };
            Ok(Self { caller, cursor })
        }
        .boxed_local()
    }
}

impl Apiv2SchemaTrait for EventsRequest {
    fn name() -> Option<String> {
        <ScopedUser<ChangesRead> as Apiv2SchemaTrait>::name()
    }

    fn security_scheme() -> Option<paperclip::v2::models::SecurityScheme> {
        <ScopedUser<ChangesRead> as Apiv2SchemaTrait>::security_scheme()
    }
}

impl OperationModifier for EventsRequest {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        let mut cursor = query_parameter(
            "cursor",
            "Where to start: a change cursor (`next_cursor` of GET /changes, a change's \
             cursor, or `X-Changes-Cursor`). `Last-Event-ID` wins over it. Without either, \
             from now. One older than `sync.retention` is 410 Gone.",
            DataType::String,
            None,
        );
        cursor.min_length = Some(1);
        cursor.max_length = u32::try_from(MAX_CURSOR_LEN).ok();
        let ticket = query_parameter(
            "ticket",
            "A ticket from POST /events/ticket, instead of the Authorization header (for \
             EventSource). Single use, 30 seconds.",
            DataType::String,
            None,
        );
        for parameter in [cursor, ticket] {
            op.parameters.push(Either::Right(parameter));
        }
    }
}
