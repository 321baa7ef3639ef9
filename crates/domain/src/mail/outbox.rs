//! The outbox: delivers queued mail in the background, with bounded, backed-off retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Clock, IdGenerator, MailError, MailId, MailQueue, Mailer, StoreError};

/// How delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a message is given up.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_retry: Duration,
    /// How long a claimed message stays with its sender before another may take it over
    /// (longer than any one delivery can take).
    pub lease: Duration,
    /// Messages claimed at once.
    pub batch: u32,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            lease: Duration::from_secs(300),
            batch: 16,
        }
    }
}

impl DeliveryPolicy {
    /// The wait after the `attempts`-th failed attempt: `first_retry · 2^(attempts-1)`, at
    /// most `max_retry`.
    pub fn retry_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_retry
            .saturating_mul(1 << doublings)
            .min(self.max_retry)
    }
}

/// Delivers what the mail queue holds. Run [`MailOutbox::deliver_due`] now and then (and
/// when a message is queued); any number of instances may run it on one database.
#[derive(Clone)]
pub struct MailOutbox {
    queue: Arc<dyn MailQueue>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    policy: DeliveryPolicy,
}

impl fmt::Debug for MailOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailOutbox")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What one [`MailOutbox::deliver_due`] round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Messages delivered.
    pub sent: u32,
    /// Messages that failed and will be retried.
    pub retried: u32,
    /// Messages given up.
    pub given_up: u32,
    /// Each failed delivery: the message and why (never its content), for the log.
    pub failures: Vec<(MailId, String)>,
}

impl MailOutbox {
    /// An outbox delivering `queue`'s messages through `mailer`.
    pub fn new(
        queue: Arc<dyn MailQueue>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            queue,
            mailer,
            clock,
            ids,
            policy,
        }
    }

    /// Claims the messages due now (one batch) and delivers them one by one. Returns what
    /// happened, and whether a full batch was claimed (more may be due).
    ///
    /// # Errors
    /// `StoreError` when the queue cannot be read or updated; a failed delivery is no error
    /// (it is retried or given up as the policy says).
    pub async fn deliver_due(&self) -> Result<(DeliveryRound, bool), StoreError> {
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(self.policy.lease).unwrap_or(chrono::Duration::MAX);
        let claim = self.ids.new_id();
        let claimed = self
            .queue
            .claim_due(now, now + lease, claim, self.policy.batch)
            .await?;
        let full = u32::try_from(claimed.len()).unwrap_or(u32::MAX) >= self.policy.batch;
        let mut round = DeliveryRound::default();
        for queued in claimed {
            match self.mailer.send(&queued.mail).await {
                Ok(()) => {
                    self.queue
                        .mark_sent(queued.id, claim, self.clock.now())
                        .await?;
                    round.sent += 1;
                }
                Err(e) => {
                    let retry = matches!(e, MailError::Transient(_))
                        && queued.attempts < self.policy.max_attempts;
                    let now = self.clock.now();
                    let retry_at = retry.then(|| {
                        now + chrono::Duration::from_std(self.policy.retry_after(queued.attempts))
                            .unwrap_or(chrono::Duration::MAX)
                    });
                    self.queue
                        .mark_failed(queued.id, claim, now, retry_at)
                        .await?;
                    round.failures.push((queued.id, e.to_string()));
                    if retry {
                        round.retried += 1;
                    } else {
                        round.given_up += 1;
                    }
                }
            }
        }
        Ok((round, full))
    }

    /// Deletes delivered and given-up messages (whose bodies are already forgotten).
    ///
    /// # Errors
    /// `StoreError` when storage fails.
    pub async fn purge_finished(&self) -> Result<u64, StoreError> {
        self.queue.purge_finished(self.clock.now()).await
    }
}
