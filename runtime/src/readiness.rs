//! What `/readyz` reports: a set of named conditions, each of which the
//! part of the process that knows it sets, and shutdown, after which the
//! process is never ready again. Nothing is ready until it says so.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

/// The process's readiness, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each condition: the reason it gives while not met, and whether it
    /// is met.
    conditions: Mutex<Vec<(String, bool)>>,
    shutting_down: AtomicBool,
}

/// One condition of readiness, set by whoever knows it.
#[derive(Debug, Clone)]
pub struct Condition {
    inner: Arc<Inner>,
    index: usize,
}

impl Readiness {
    /// A new condition, not met, reported as `unmet` (e.g. "ServiceAccount
    /// cache not synced") while it is not.
    #[must_use]
    pub fn condition(&self, unmet: impl Into<String>) -> Condition {
        let mut conditions = self
            .inner
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conditions.push((unmet.into(), false));
        Condition {
            inner: Arc::clone(&self.inner),
            index: conditions.len() - 1,
        }
    }

    /// Records that shutdown has begun: never ready again.
    pub fn set_shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// `Ok` when every condition is met and shutdown has not begun,
    /// otherwise every reason, joined by `; `.
    ///
    /// # Errors
    ///
    /// The reasons.
    pub fn check(&self) -> Result<(), String> {
        let conditions = self
            .inner
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut reasons: Vec<&str> = conditions
            .iter()
            .filter(|(_, met)| !met)
            .map(|(unmet, _)| unmet.as_str())
            .collect();
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            reasons.push("shutting down");
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons.join("; "))
        }
    }
}

impl Condition {
    /// Sets whether the condition is met.
    pub fn set(&self, met: bool) {
        self.update(|condition| condition.1 = met);
    }

    /// Changes the reason given while it is not met (a condition whose
    /// cause varies: "API server unreachable", "not leading yet").
    pub fn set_unmet(&self, unmet: impl Into<String>) {
        let unmet = unmet.into();
        self.update(|condition| *condition = (unmet, false));
    }

    fn update(&self, change: impl FnOnce(&mut (String, bool))) {
        let mut conditions = self
            .inner
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(condition) = conditions.get_mut(self.index) {
            change(condition);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_condition_is_met_and_never_after_shutdown() {
        let readiness = Readiness::default();
        assert_eq!(readiness.check(), Ok(()), "nothing to wait for");
        let certificate = readiness.condition("serving certificate not loaded");
        let cache = readiness.condition("ServiceAccount cache not synced");
        assert_eq!(
            readiness.check(),
            Err("serving certificate not loaded; ServiceAccount cache not synced".into())
        );
        certificate.set(true);
        cache.set(true);
        assert_eq!(readiness.check(), Ok(()));
        cache.set_unmet("API server unreachable");
        assert_eq!(readiness.check(), Err("API server unreachable".into()));
        cache.set(true);
        readiness.set_shutting_down();
        assert_eq!(readiness.check(), Err("shutting down".into()));
    }
}
