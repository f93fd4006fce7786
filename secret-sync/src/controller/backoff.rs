//! The delay before an object that failed is tried again: doubling with
//! each consecutive failure of that object, from [`FIRST`] up to [`CAP`],
//! and forgotten on its first success or once it is no longer tried. ESO
//! gets the same shape from controller-runtime's per-item exponential rate
//! limiter; the first delay here is seconds, not milliseconds, because each
//! retry may cost an Entra exchange and Key Vault reads.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
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

/// How long after its last failure an object's count is kept. An object
/// still failing is tried again at most [`CAP`] after each failure, so an
/// entry this old belongs to an object that is no longer tried: deleted
/// while failing (its reconcile never runs again to clear it).
pub const FORGET: Duration = Duration::from_secs(2 * CAP.as_secs());

/// Consecutive failures per object (by uid), with when the last one was.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Backoff {
    /// Records a failure of `uid`; the delay before its next try.
    pub fn failed(&self, uid: &str) -> Duration {
        self.failed_at(uid, Instant::now())
    }

    /// [`failed`](Self::failed) at `now`; entries of objects no longer
    /// tried (see [`FORGET`]) are dropped on the way.
    pub fn failed_at(&self, uid: &str, now: Instant) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.retain(|_, (_, last)| now.saturating_duration_since(*last) <= FORGET);
        let (count, last) = failures.entry(uid.to_owned()).or_insert((0, now));
        *count = count.saturating_add(1);
        *last = now;
        delay(*count)
    }

    /// How many objects have failures on record.
    pub fn tracked(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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

    #[test]
    fn an_object_no_longer_tried_is_forgotten() {
        let backoff = Backoff::default();
        let start = Instant::now();
        backoff.failed_at("deleted-while-failing", start);
        // Still failing, tried again within the cap: kept.
        for n in 1..=3 {
            backoff.failed_at("failing", start + CAP * n);
        }
        assert_eq!(backoff.tracked(), 1, "the deleted object's entry is gone");
        assert_eq!(
            backoff.failed_at("failing", start + CAP * 4),
            delay(4),
            "an object still failing keeps its count"
        );
    }
}
