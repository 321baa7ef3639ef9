//! Mail: the messages the service sends (password resets, e-mail verification), the ports
//! that deliver and queue them, and the outbox that delivers queued mail in the background
//! with retries.

mod message;
mod outbox;
mod ports;

#[cfg(test)]
mod tests;

pub use message::{MailError, MailId, OutgoingMail, QueuedMail};
pub use outbox::{DeliveryPolicy, DeliveryRound, MailOutbox};
pub use ports::{MailQueue, MailSignal, Mailer};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockMailQueue, MockMailSignal, MockMailer};
