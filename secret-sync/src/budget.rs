//! One request budget per vault, shared by every ExternalSecret reading
//! it: Key Vault allows 4,000 GETs per vault per 10 s; past that it
//! answers 429. The controller stays under a configured share of it and,
//! when Key Vault still throttles, waits as long as its `Retry-After`
//! says before any ExternalSecret of that vault reads again. A caller that
//! gets a wait requeues for it: never a hot loop. Pure: the clock is an
//! argument.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Key Vault's window.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Key Vault's limit for secret GETs per vault per window.
pub const KEY_VAULT_LIMIT: u32 = 4000;

#[derive(Debug)]
struct Window {
    start: Instant,
    used: u32,
    paused_until: Option<Instant>,
}

/// The budgets of every vault.
#[derive(Debug)]
pub struct Budget {
    per_window: u32,
    vaults: Mutex<HashMap<String, Window>>,
}

impl Budget {
    /// At most `per_window` requests per vault per 10 s.
    #[must_use]
    pub fn new(per_window: u32) -> Self {
        Self {
            per_window: per_window.max(1),
            vaults: Mutex::default(),
        }
    }

    /// Takes `requests` from `vault`'s budget, or says how long to wait
    /// before asking again (the window's end, or the vault's
    /// `Retry-After`). A sync larger than a whole window is let through
    /// alone at the start of a fresh one.
    ///
    /// # Errors
    ///
    /// The wait.
    pub fn take(&self, vault: &str, requests: u32, now: Instant) -> Result<(), Duration> {
        let mut vaults = self
            .vaults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = vaults.entry(vault.to_owned()).or_insert(Window {
            start: now,
            used: 0,
            paused_until: None,
        });
        if let Some(until) = window.paused_until {
            if now < until {
                return Err(until - now);
            }
            window.paused_until = None;
        }
        if now.duration_since(window.start) >= WINDOW {
            window.start = now;
            window.used = 0;
        }
        let fits = window.used + requests <= self.per_window;
        if fits || window.used == 0 {
            window.used = window.used.saturating_add(requests);
            Ok(())
        } else {
            Err(WINDOW.saturating_sub(now.duration_since(window.start)))
        }
    }

    /// Key Vault answered 429 or 503 asking to wait `retry_after`: no
    /// request to `vault` until then.
    pub fn pause(&self, vault: &str, retry_after: Duration, now: Instant) {
        let mut vaults = self
            .vaults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = vaults.entry(vault.to_owned()).or_insert(Window {
            start: now,
            used: 0,
            paused_until: None,
        });
        let until = now + retry_after;
        window.paused_until = Some(window.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_within_the_window_and_wait_for_the_next() {
        let budget = Budget::new(10);
        let t0 = Instant::now();
        assert_eq!(budget.take("kv", 6, t0), Ok(()));
        assert_eq!(budget.take("kv", 4, t0), Ok(()));
        // Full: wait for the rest of the window.
        assert_eq!(
            budget.take("kv", 1, t0 + Duration::from_secs(3)),
            Err(Duration::from_secs(7))
        );
        // Another vault has its own budget.
        assert_eq!(budget.take("other", 10, t0), Ok(()));
        // A new window.
        assert_eq!(budget.take("kv", 10, t0 + WINDOW), Ok(()));
        // A sync larger than a window goes alone into a fresh one.
        assert_eq!(budget.take("big", 25, t0), Ok(()));
        assert!(budget.take("big", 1, t0).is_err());
    }

    #[test]
    fn retry_after_pauses_the_vault() {
        let budget = Budget::new(100);
        let t0 = Instant::now();
        budget.pause("kv", Duration::from_secs(5), t0);
        assert_eq!(
            budget.take("kv", 1, t0 + Duration::from_secs(2)),
            Err(Duration::from_secs(3))
        );
        // A shorter pause does not cut a longer one short.
        budget.pause("kv", Duration::from_secs(1), t0 + Duration::from_secs(2));
        assert!(budget.take("kv", 1, t0 + Duration::from_secs(4)).is_err());
        assert_eq!(budget.take("kv", 1, t0 + Duration::from_secs(5)), Ok(()));
    }
}
