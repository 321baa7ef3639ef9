//! The accepted socket, wrapped so that the connection's deadline ([`ConnectionClock`]) holds
//! on it: actix-http's own head timer only covers a connection's first request.
//!
//! Only reads are watched: the deadline is looked at when a read finds nothing to read.
//! When it has passed while a head is awaited, the stream writes a 408 problem+json itself
//! (no answer is under way then), shuts its sending side, reads and discards what the client
//! still sends for at most [`LINGER`] (so that the close does not reset the connection before
//! the client reads the 408) and then reports the end of the stream, upon which actix closes
//! the connection. Should the client not even read what was written before, the
//! connection is dropped at once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Sleep, sleep_until};

use super::clock::{ConnectionClock, ConnectionLimits, OnExpiry};
use crate::edge::REQUEST_ID;
use crate::error::ApiError;

/// Longest the stream reads and discards after its 408 before it lets the connection close.
pub(crate) const LINGER: Duration = Duration::from_secs(1);

/// Bytes thrown away per read while lingering.
const DISCARD_CHUNK: usize = 4096;

/// The 408 for a head that did not arrive in time, as bytes on the wire.
fn head_timeout_answer() -> Vec<u8> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut problem = ApiError::RequestTimeout.problem();
    problem.request_id.clone_from(&id);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    log::debug!("{id}: closing a connection whose request head did not arrive in time");
    let mut answer = format!(
        "HTTP/1.1 408 Request Timeout\r\n\
         content-type: application/problem+json\r\n\
         content-length: {}\r\n\
         connection: close\r\n\
         {REQUEST_ID}: {id}\r\n\
         x-content-type-options: nosniff\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

#[derive(Debug)]
enum Closing {
    /// Writing the 408, then shutting the sending side.
    Answering { answer: Vec<u8>, written: usize },
    /// Discarding what the client still sends, until it closes or `until`.
    Lingering,
    /// Reads report the end of the stream.
    Ended,
    /// Every call fails: the connection is dropped.
    Aborted,
}

/// An accepted connection under its [`ConnectionClock`].
#[derive(Debug)]
pub(crate) struct GuardedStream {
    io: TcpStream,
    clock: ConnectionClock,
    timer: Pin<Box<Sleep>>,
    /// The instant `timer` is set for.
    timer_at: Instant,
    /// The last write could not proceed: actix still has bytes to send.
    write_blocked: bool,
    closing: Option<Closing>,
    /// Until when closing may take.
    closing_until: Instant,
}

impl GuardedStream {
    pub(crate) fn new(io: TcpStream, limits: ConnectionLimits) -> Self {
        let now = Instant::now();
        Self {
            io,
            clock: ConnectionClock::new(limits, now),
            timer: Box::pin(sleep_until(now.into())),
            timer_at: now,
            write_blocked: false,
            closing: None,
            closing_until: now,
        }
    }

    pub(crate) fn clock(&self) -> ConnectionClock {
        self.clock.clone()
    }

    /// Whether `at` has passed, registering for a wake-up at `at` otherwise.
    fn passed(&mut self, at: Instant, cx: &mut Context<'_>) -> bool {
        if Instant::now() >= at {
            return true;
        }
        if self.timer_at != at {
            self.timer.as_mut().reset(at.into());
            self.timer_at = at;
        }
        self.timer.as_mut().poll(cx).is_ready()
    }

    fn expire(&mut self, on_expiry: OnExpiry) {
        self.closing_until = Instant::now() + LINGER;
        self.closing = Some(if self.write_blocked {
            Closing::Aborted
        } else {
            match on_expiry {
                OnExpiry::Answer408 => Closing::Answering {
                    answer: head_timeout_answer(),
                    written: 0,
                },
                OnExpiry::Close => Closing::Ended,
            }
        });
    }

    /// Drives the closing sequence; `Ready` once reads should end (or fail).
    fn poll_closing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let until = self.closing_until;
            match &mut self.closing {
                None | Some(Closing::Ended) => return Poll::Ready(Ok(())),
                Some(Closing::Aborted) => return Poll::Ready(Err(timed_out())),
                Some(Closing::Answering { answer, written }) => {
                    let step = if *written < answer.len() {
                        Pin::new(&mut self.io)
                            .poll_write(cx, &answer[*written..])
                            .map_ok(|n| {
                                *written += n;
                                n == 0
                            })
                    } else {
                        Pin::new(&mut self.io).poll_shutdown(cx).map_ok(|()| true)
                    };
                    match step {
                        Poll::Ready(Ok(false)) => {}
                        Poll::Ready(Ok(true)) => self.closing = Some(Closing::Lingering),
                        Poll::Ready(Err(_)) => self.closing = Some(Closing::Ended),
                        Poll::Pending if self.passed(until, cx) => {
                            self.closing = Some(Closing::Aborted);
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Some(Closing::Lingering) => {
                    let mut scratch = [0u8; DISCARD_CHUNK];
                    let mut discard = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut self.io).poll_read(cx, &mut discard) {
                        Poll::Ready(Ok(())) if !discard.filled().is_empty() => {}
                        Poll::Ready(_) => self.closing = Some(Closing::Ended),
                        Poll::Pending if self.passed(until, cx) => {
                            self.closing = Some(Closing::Ended);
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client was too slow")
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.closing.is_some() {
                return this.poll_closing(cx);
            }
            let before = buf.filled().len();
            if let Poll::Ready(outcome) = Pin::new(&mut this.io).poll_read(cx, buf) {
                if buf.filled().len() > before {
                    this.clock.bytes_arrived(Instant::now());
                }
                return Poll::Ready(outcome);
            }
            this.clock.register(cx.waker());
            let Some((deadline, on_expiry)) = this.clock.deadline() else {
                return Poll::Pending;
            };
            if !this.passed(deadline, cx) {
                return Poll::Pending;
            }
            this.expire(on_expiry);
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.closing.is_some() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let outcome = Pin::new(&mut this.io).poll_write(cx, buf);
        this.write_blocked = outcome.is_pending();
        outcome
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing.is_some() {
            // Already shut (or about to be dropped).
            return Poll::Ready(Ok(()));
        }
        ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}
