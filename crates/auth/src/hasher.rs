//! bcrypt password hashing, off the async workers and bounded in parallelism.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use taskapi_domain::ports::PasswordHasher;
use taskapi_domain::{Password, PasswordHash};
use tokio::sync::Semaphore;

/// Hashes and verifies passwords with bcrypt at a configured cost.
///
/// Every hash runs on tokio's blocking pool, never on an async worker; a semaphore sized to
/// the machine's cores bounds how many run at once, so a login storm cannot occupy the whole
/// blocking pool and starve database calls that share it.
#[derive(Clone)]
pub struct BcryptHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    dummy: PasswordHash,
}

impl fmt::Debug for BcryptHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BcryptHasher")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl BcryptHasher {
    /// Lowest cost bcrypt accepts.
    pub const MIN_COST: u32 = 4;
    /// Highest cost bcrypt accepts.
    pub const MAX_COST: u32 = 31;

    /// Builds a hasher. Computes one dummy hash at this cost up front (blocking, once at
    /// start-up) for constant-time logins with unknown emails.
    ///
    /// # Errors
    /// When the cost is outside bcrypt's 4–31.
    pub fn new(cost: u32) -> Result<Self, String> {
        if !(Self::MIN_COST..=Self::MAX_COST).contains(&cost) {
            return Err(format!(
                "bcrypt cost must be between {} and {}",
                Self::MIN_COST,
                Self::MAX_COST
            ));
        }
        let random: [u8; 16] = std::array::from_fn(|i| {
            // Not a secret: the dummy only needs to be a well-formed hash nobody knows the
            // password of. uuid v7 carries 74 random bits.
            uuid::Uuid::now_v7().as_bytes()[i]
        });
        let dummy = bcrypt::hash(random, cost).map_err(|e| e.to_string())?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(cores)),
            dummy: PasswordHash::new(dummy),
        })
    }

    async fn run<T, F>(&self, job: F) -> Result<T, String>
    where
        F: FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| format!("hashing task failed: {e}"))?
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, String> {
        let cost = self.cost;
        self.run(move || bcrypt::hash(password.expose(), cost))
            .await
            .map(PasswordHash::new)
    }

    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, String> {
        // A malformed stored hash is "no match", not an error the client could trigger.
        self.run(move || Ok(bcrypt::verify(password.expose(), hash.as_str()).unwrap_or(false)))
            .await
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_cost() {
        let h = BcryptHasher::new(4).unwrap_or_else(|e| panic!("{e}"));
        let hash = h
            .hash(pw("correct horse"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert_eq!(h.verify(pw("correct horse"), hash.clone()).await, Ok(true));
        assert_eq!(h.verify(pw("wrong horse"), hash).await, Ok(false));
    }

    #[tokio::test]
    async fn malformed_hash_is_no_match() {
        let h = BcryptHasher::new(4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            h.verify(pw("whatever1"), PasswordHash::new("garbage".into()))
                .await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn dummy_hash_is_a_real_hash_at_the_same_cost() {
        let h = BcryptHasher::new(4).unwrap_or_else(|e| panic!("{e}"));
        assert!(h.dummy_hash().as_str().starts_with("$2b$04$"));
        assert_eq!(h.verify(pw("anything1"), h.dummy_hash()).await, Ok(false));
    }

    #[test]
    fn cost_out_of_range_is_refused() {
        assert!(BcryptHasher::new(3).is_err());
        assert!(BcryptHasher::new(32).is_err());
    }
}
