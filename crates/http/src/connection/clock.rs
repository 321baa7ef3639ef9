//! The per-connection clock: which deadline a connection is under right now. The stream
//! ([`super::stream`]) enforces it on the socket; the middleware ([`super::deadlines`]) moves
//! it on as requests start, finish reading their body and get their answer.
//!
//! A connection is single-threaded (one actix worker polls it), so this is plain `Rc` and
//! `Cell` state.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

/// The slow-client limits of every connection (`server.request_head_timeout` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest a request head may take to arrive in full.
    pub request_head_timeout: Duration,
    /// Longest a request body may take to arrive in full, counted from its head.
    pub request_body_timeout: Duration,
    /// Longest an idle keep-alive connection stays open; zero closes after each answer.
    pub keep_alive: Duration,
    /// Longest a request may run before it answers 503.
    pub request_timeout: Duration,
}

/// What the stream does once a deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnExpiry {
    /// No answer is under way: answer 408 and close.
    Answer408,
    /// The answer has been given (its body is being drained): close.
    Close,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head that must be complete by `deadline`. After an answer,
    /// `tighten` says the next byte to arrive starts the head's own clock (the deadline
    /// until then is only a backstop for bytes already buffered).
    Head { deadline: Instant, tighten: bool },
    /// A request is being served; its body (if any, and not read to its end yet) must be
    /// complete by `body_deadline`.
    Request {
        body_deadline: Option<Instant>,
        answered: bool,
    },
}

/// Shared by a connection's stream and the middleware of its requests.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionClock(Rc<State>);

#[derive(Debug)]
struct State {
    limits: ConnectionLimits,
    phase: Cell<Phase>,
    /// The connection task, woken when the middleware moves the deadline.
    waker: RefCell<Option<Waker>>,
}

impl ConnectionClock {
    /// A clock for a connection accepted at `now`: its first head is due a head timeout
    /// after the connection opened.
    pub(crate) fn new(limits: ConnectionLimits, now: Instant) -> Self {
        Self(Rc::new(State {
            limits,
            phase: Cell::new(Phase::Head {
                deadline: now + limits.request_head_timeout,
                tighten: false,
            }),
            waker: RefCell::new(None),
        }))
    }

    pub(crate) fn limits(&self) -> ConnectionLimits {
        self.0.limits
    }

    /// The deadline the socket is under, and what happens when it passes.
    pub(crate) fn deadline(&self) -> Option<(Instant, OnExpiry)> {
        match self.0.phase.get() {
            Phase::Head { deadline, .. } => Some((deadline, OnExpiry::Answer408)),
            Phase::Request {
                body_deadline: Some(deadline),
                answered: true,
            } => Some((deadline, OnExpiry::Close)),
            Phase::Request { .. } => None,
        }
    }

    /// Bytes arrived at `now`: after an answer, the first of them starts the next head's
    /// clock.
    pub(crate) fn bytes_arrived(&self, now: Instant) {
        if let Phase::Head {
            deadline,
            tighten: true,
        } = self.0.phase.get()
        {
            self.0.phase.set(Phase::Head {
                deadline: deadline.min(now + self.0.limits.request_head_timeout),
                tighten: false,
            });
        }
    }

    /// A request head has arrived at `now`; returns when its body (if it has one) is due.
    pub(crate) fn request_started(&self, has_body: bool, now: Instant) -> Option<Instant> {
        let body_deadline = has_body.then(|| now + self.0.limits.request_body_timeout);
        self.0.phase.set(Phase::Request {
            body_deadline,
            answered: false,
        });
        body_deadline
    }

    /// The request's body has been read to its end.
    pub(crate) fn body_finished(&self) {
        if let Phase::Request { answered, .. } = self.0.phase.get() {
            self.0.phase.set(Phase::Request {
                body_deadline: None,
                answered,
            });
        }
    }

    /// The request has its answer at `now`. Unless its body is still arriving (actix then
    /// drains or closes), the next head is awaited: it is due a head timeout after its first
    /// byte, and at the latest a keep-alive period plus a head timeout from now.
    pub(crate) fn answered(&self, now: Instant) {
        let limits = self.0.limits;
        let next = match self.0.phase.get() {
            Phase::Request {
                body_deadline: Some(deadline),
                ..
            } => Phase::Request {
                body_deadline: Some(deadline),
                answered: true,
            },
            _ => Phase::Head {
                deadline: now + limits.keep_alive + limits.request_head_timeout,
                tighten: true,
            },
        };
        self.0.phase.set(next);
        if let Some(waker) = self.0.waker.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }

    /// Remembers the connection task to wake when the deadline moves.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.0.waker.borrow_mut();
        match slot.as_ref() {
            Some(known) if known.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        request_head_timeout: Duration::from_secs(5),
        request_body_timeout: Duration::from_secs(10),
        keep_alive: Duration::from_secs(3),
        request_timeout: Duration::from_secs(30),
    };

    #[test]
    fn the_first_head_is_due_a_head_timeout_after_the_connection_opened() {
        let start = Instant::now();
        let clock = ConnectionClock::new(LIMITS, start);
        clock.bytes_arrived(start + Duration::from_secs(4));
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(5), OnExpiry::Answer408))
        );
    }

    #[test]
    fn a_later_head_is_due_a_head_timeout_after_its_first_byte() {
        let start = Instant::now();
        let clock = ConnectionClock::new(LIMITS, start);
        assert_eq!(clock.request_started(false, start), None);
        assert_eq!(clock.deadline(), None);
        clock.answered(start);
        // Idle: only the backstop (keep-alive closes the connection before it).
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(8), OnExpiry::Answer408))
        );
        clock.bytes_arrived(start + Duration::from_secs(1));
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(6), OnExpiry::Answer408))
        );
        // Later bytes of the same head do not move it.
        clock.bytes_arrived(start + Duration::from_secs(2));
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(6), OnExpiry::Answer408))
        );
    }

    #[test]
    fn a_body_still_arriving_after_the_answer_closes_at_its_deadline() {
        let start = Instant::now();
        let clock = ConnectionClock::new(LIMITS, start);
        let due = clock.request_started(true, start);
        assert_eq!(due, Some(start + Duration::from_secs(10)));
        // While the request runs, the middleware enforces the body's deadline.
        assert_eq!(clock.deadline(), None);
        clock.answered(start + Duration::from_secs(1));
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(10), OnExpiry::Close))
        );
    }

    #[test]
    fn a_body_read_to_its_end_lets_the_next_head_be_awaited() {
        let start = Instant::now();
        let clock = ConnectionClock::new(LIMITS, start);
        clock.request_started(true, start);
        clock.body_finished();
        clock.answered(start);
        assert!(matches!(clock.deadline(), Some((_, OnExpiry::Answer408))));
    }
}
