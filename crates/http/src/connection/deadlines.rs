//! The request side of the slow-client limits: a request body must arrive within
//! `server.request_body_timeout` of its head (else 408, and the connection closes), and a
//! request must have its answer within `server.request_timeout` (else 503 with
//! `Retry-After`). Also moves the connection's clock on, so that its stream awaits the next
//! head once a request has its answer.
//!
//! Requests that come without a [`ConnectionClock`] (not through [`super::serve`], as in
//! unit tests) pass through untouched.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, ResponseError};
use futures_util::Stream;
use tokio::time::{Sleep, sleep_until};

use super::clock::ConnectionClock;
use crate::error::ApiError;

/// Wraps every request: see the module docs.
pub(crate) async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(clock) = req.conn_data::<ConnectionClock>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let limits = clock.limits();
    let started = Instant::now();
    let timed_out = Rc::new(Cell::new(false));
    {
        let (_, payload) = req.parts_mut();
        let has_body = !matches!(payload, Payload::None);
        if let Some(deadline) = clock.request_started(has_body, started) {
            let inner = std::mem::replace(payload, Payload::None);
            let timed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                Box::pin(TimedPayload {
                    inner,
                    deadline,
                    timer: None,
                    clock: clock.clone(),
                    timed_out: timed_out.clone(),
                });
            *payload = Payload::from(timed);
        }
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let outcome = tokio::time::timeout(limits.request_timeout, next.call(req)).await;
    // A stream of events is answered when it ends, not when its head leaves: until then no
    // next head is awaited (the client sends nothing while it listens), and the head and
    // keep-alive deadlines start once the stream is over.
    let streaming = matches!(&outcome, Ok(Ok(response)) if is_event_stream(response));
    if !streaming {
        clock.answered(Instant::now());
    }
    match outcome {
        // The request went down with the handler's future, so the answer leaves as an
        // error, which the edge middleware renders like any other.
        Err(_elapsed) => {
            log::warn!(
                "{method} {} ran longer than server.request_timeout ({}); answered 503",
                crate::edge::loggable_path(uri.path()),
                humantime::format_duration(limits.request_timeout)
            );
            Err(ApiError::TimedOut.into())
        }
        Ok(response) if timed_out.get() => {
            let (request, _) = response?.into_parts();
            Ok(ServiceResponse::new(
                request,
                ApiError::RequestTimeout.error_response(),
            ))
        }
        Ok(response) if streaming => {
            let clock = clock.clone();
            Ok(response?.map_body(move |_, body| {
                BoxBody::new(AnsweredAtEnd {
                    body: body.boxed(),
                    clock: Some(clock),
                })
            }))
        }
        Ok(response) => Ok(response?.map_into_boxed_body()),
    }
}

/// Whether the answer is a stream of server-sent events (`text/event-stream`).
fn is_event_stream<B>(response: &ServiceResponse<B>) -> bool {
    response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// A streamed body that moves the connection's clock on when it ends (or is dropped, when
/// the client goes away): only then is the request answered.
struct AnsweredAtEnd {
    body: BoxBody,
    clock: Option<ConnectionClock>,
}

impl AnsweredAtEnd {
    fn end(&mut self) {
        if let Some(clock) = self.clock.take() {
            clock.answered(Instant::now());
        }
    }
}

impl Drop for AnsweredAtEnd {
    fn drop(&mut self) {
        self.end();
    }
}

impl MessageBody for AnsweredAtEnd {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_next(cx);
        if matches!(polled, Poll::Ready(None)) {
            this.end();
        }
        polled
    }
}

/// A request body that fails with a timeout once its deadline passes before it has arrived.
struct TimedPayload {
    inner: Payload,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    clock: ConnectionClock,
    timed_out: Rc<Cell<bool>>,
}

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.timed_out.get() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(None) => {
                this.clock.body_finished();
                return Poll::Ready(None);
            }
            Poll::Ready(Some(chunk)) => return Poll::Ready(Some(chunk)),
            Poll::Pending => {}
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(sleep_until(deadline.into())));
        if Instant::now() < deadline && timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.timed_out.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body did not arrive within server.request_body_timeout",
        )))))
    }
}
