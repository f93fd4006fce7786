//! The delay before an object that failed is tried again: doubling with
//! each consecutive failure of that object, from [`FIRST`] up to [`CAP`],
//! and forgotten on its first success. ESO gets the same shape from
//! controller-runtime's per-item exponential rate limiter; the first delay
//! here is seconds, not milliseconds, because each retry may cost an Entra
//! exchange and Key Vault reads.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// The first retry's delay.
pub const FIRST: Duration = Duration::from_secs(5);
/// The longest delay.
pub const CAP: Duration = Duration::from_secs(300);

/// The delay after `failures` consecutive failures (1 for the first).
#[must_use]
pub fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST.saturating_mul(1 << doublings).min(CAP)
}

/// Consecutive failures per object (by uid).
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Records a failure of `uid`; the delay before its next try.
    pub fn failed(&self, uid: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let count = failures.entry(uid.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        delay(*count)
    }

    /// Records a success of `uid`: its next failure starts over.
    pub fn succeeded(&self, uid: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_per_object_up_to_the_cap_and_reset_on_success() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| backoff.failed("a").as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff.failed("b"), FIRST, "objects are counted apart");
        backoff.succeeded("a");
        assert_eq!(backoff.failed("a"), FIRST);
        assert_eq!(delay(u32::MAX), CAP);
    }
}
