//! Readiness answered from a recent probe: a flood of `GET /health/ready` costs at most one
//! database round trip per `max_age`, and a saturated pool cannot make every probe of every
//! instance queue for a connection at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use taskapi_domain::StoreError;
use tokio::sync::Mutex;

use crate::ReadinessCheck;

/// What a probe found, kept for the probes that follow it.
#[derive(Debug, Clone)]
enum Probe {
    Ready,
    Unavailable(String),
    Internal(String),
}

impl Probe {
    fn of(result: Result<(), StoreError>) -> Self {
        match result {
            Ok(()) => Self::Ready,
            Err(StoreError::Unavailable(cause)) => Self::Unavailable(cause.to_string()),
            Err(StoreError::Internal(cause)) => Self::Internal(cause.to_string()),
        }
    }

    fn result(&self) -> Result<(), StoreError> {
        match self {
            Self::Ready => Ok(()),
            Self::Unavailable(cause) => Err(StoreError::unavailable(cause.clone())),
            Self::Internal(cause) => Err(StoreError::internal(cause.clone())),
        }
    }
}

/// A [`ReadinessCheck`] that asks `inner` at most once per `max_age` and answers every other
/// check from that probe. Checks arriving while a probe runs wait for it (one probe in flight
/// at a time) instead of starting their own.
pub struct CachedReadiness {
    inner: Arc<dyn ReadinessCheck>,
    max_age: Duration,
    last: Mutex<Option<(Instant, Probe)>>,
}

impl std::fmt::Debug for CachedReadiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedReadiness")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl CachedReadiness {
    /// How old a probe result may be at most, as the readiness route promises.
    pub const MAX_AGE: Duration = Duration::from_secs(1);

    /// Wraps `inner`, answering from a probe at most `max_age` old.
    pub fn new(inner: Arc<dyn ReadinessCheck>, max_age: Duration) -> Self {
        Self {
            inner,
            max_age,
            last: Mutex::new(None),
        }
    }
}

#[async_trait]
impl ReadinessCheck for CachedReadiness {
    async fn check(&self) -> Result<(), StoreError> {
        let mut last = self.last.lock().await;
        if let Some((at, probe)) = last.as_ref()
            && at.elapsed() < self.max_age
        {
            return probe.result();
        }
        let probe = Probe::of(self.inner.check().await);
        let result = probe.result();
        *last = Some((Instant::now(), probe));
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its probes; fails them while `down` says so.
    #[derive(Default)]
    struct Counting {
        probes: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl ReadinessCheck for Counting {
        async fn check(&self) -> Result<(), StoreError> {
            self.probes.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.down.load(Ordering::SeqCst) {
                Err(StoreError::unavailable("connection refused"))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_flood_of_checks_costs_one_probe_per_max_age() {
        let inner = Arc::new(Counting::default());
        let cached = Arc::new(CachedReadiness::new(inner.clone(), Duration::from_secs(60)));
        let checks: Vec<_> = (0..200)
            .map(|_| {
                let cached = cached.clone();
                tokio::spawn(async move { cached.check().await })
            })
            .collect();
        for check in checks {
            assert!(matches!(check.await, Ok(Ok(()))));
        }
        assert_eq!(inner.probes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_old_probe_is_repeated_and_an_outage_is_reported_as_unavailable() {
        let inner = Arc::new(Counting::default());
        let cached = CachedReadiness::new(inner.clone(), Duration::from_millis(50));
        assert!(cached.check().await.is_ok());
        inner.down.store(true, Ordering::SeqCst);
        // Still within the first probe's age: its answer stands.
        assert!(cached.check().await.is_ok());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(matches!(
            cached.check().await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(inner.probes.load(Ordering::SeqCst), 2);
    }
}
