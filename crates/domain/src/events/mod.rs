//! Live events (`GET /events`): who may follow the change feed as a stream, for how long —
//! the single-use tickets a browser's `EventSource` authenticates with, and the check that
//! ends a stream once its session ends.

mod ports;
mod service;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockEventTicketRepository;
pub use ports::{EventTicketRepository, NewEventTicket};
pub use service::{EventAccessService, EventTicket, EventTicketError};
