//! Ports: what the domain needs from the outside world. Adapters implement these traits;
//! services hold them as `Arc<dyn Port>` because the backend is chosen at run time.
//!
//! Every method documents what an adapter MUST return, so that all adapters behave alike.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The current time. Implementations return UTC truncated to whole microseconds, the
/// precision every storage backend keeps, so that what is stored reads back equal.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New ids. Production uses UUID v7 so ids sort by creation time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A fresh, unique id.
    fn new_id(&self) -> Uuid;
}

/// The system clock, truncated to microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        let micros = now.timestamp_micros();
        DateTime::from_timestamp_micros(micros).unwrap_or(now)
    }
}

/// UUID v7 ids.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Generator;

impl IdGenerator for UuidV7Generator {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}
