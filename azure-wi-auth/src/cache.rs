//! The token cache: one entry per (identity, scopes, claims), each with its
//! own lock, so one key's network call never holds up another key. Entries
//! decide from the clock alone whether a token is served as is, served
//! while a background refresh runs, or must be fetched first.
//!
//! An entry's token is read without a lock: it sits behind an [`ArcSwapOption`],
//! whose reads write nothing that other threads read (a thread-local debt
//! slot instead of a reference count or a reader count), so callers on
//! many cores serving the same cached token do not take turns on one cache
//! line. A new token replaces the old one whole.
//!
//! Who refreshes a token is decided on the stored token itself
//! ([`Cached::claim_refresh`]), not on one flag for the entry: such a flag
//! is still set for a moment after a refresh has stored its new token, so
//! a caller who found that new token already due saw "a refresh is running"
//! and started none, though the running one had produced the very token it
//! found due.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwapOption;

use crate::{AccessToken, ClientId, Error, Scope, TenantId};

/// How long before expiry a token is refreshed when Entra gives no
/// `refresh_in` (the Azure SDKs use the same margin).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Wait after a failed background refresh before the next one.
pub(crate) const REFRESH_RETRY: Duration = Duration::from_secs(30);
/// The refresh time is pulled earlier by up to this much, at random, so
/// that many replicas started together do not refresh together.
pub(crate) const MAX_REFRESH_JITTER: Duration = Duration::from_secs(60);

/// What a cache entry is keyed by: a token for one identity, set of scopes
/// and claims challenge is never handed out for another.
///
/// The identity is the tenant and client id, plus, when assertions are
/// given per call, the assertion's issuer, subject and audience: Entra ID
/// matches a federated credential on exactly these, so two assertions that agree on
/// them are worth the same token, and two that differ never share one. The
/// assertion itself is never part of the key (it rotates, and a key is no
/// place for a credential).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) subject: Option<Subject>,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<String>,
}

/// The issuer, subject and audiences (sorted) of a client assertion, as its
/// claims say: what Entra ID matches a federated identity credential on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Subject {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) audiences: Vec<String>,
}

impl CacheKey {
    /// The key for a request; scopes are sorted, so their order does not
    /// split the cache.
    pub(crate) fn new(
        tenant: &TenantId,
        client_id: &ClientId,
        subject: Option<Subject>,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Self {
        let mut sorted: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        sorted.sort();
        Self {
            tenant: tenant.as_str().to_owned(),
            client_id: client_id.as_str().to_owned(),
            subject,
            scopes: sorted,
            claims: claims.map(str::to_owned),
        }
    }
}

/// A cached token and when to refresh it.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) token: AccessToken,
    pub(crate) refresh_at: SystemTime,
    /// Set by the one caller that starts this token's background refresh.
    /// A token stored afterwards (the refresh's own, or this one again with
    /// a later refresh time after a failure) starts unclaimed.
    refresh_claimed: AtomicBool,
}

impl Cached {
    pub(crate) fn new(token: AccessToken, refresh_at: SystemTime) -> Self {
        Self {
            token,
            refresh_at,
            refresh_claimed: AtomicBool::new(false),
        }
    }

    /// Whether the caller is the first to claim this token's background
    /// refresh (and so must start it).
    pub(crate) fn claim_refresh(&self) -> bool {
        !self.refresh_claimed.swap(true, Ordering::AcqRel)
    }
}

/// What to do with a request, given the cache and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Serve the cached token.
    Serve,
    /// Serve the cached token and refresh it in the background.
    ServeAndRefresh,
    /// No usable token: fetch one and wait for it.
    Fetch,
}

/// The pure rule: a token is usable until it expires; past its refresh
/// time it is still served while a new one is fetched.
pub(crate) fn decide(cached: Option<&Cached>, now: SystemTime) -> Decision {
    match cached {
        Some(c) if now < c.token.expires_on() => {
            if now >= c.refresh_at {
                Decision::ServeAndRefresh
            } else {
                Decision::Serve
            }
        }
        _ => Decision::Fetch,
    }
}

/// When to refresh a token obtained at `now`: at Entra's `refresh_in` if it
/// gave one, else [`REFRESH_MARGIN`] before expiry (half the lifetime for
/// tokens shorter than twice the margin), pulled earlier by `jitter`, never
/// before `now`.
pub(crate) fn refresh_at(token: &AccessToken, now: SystemTime, jitter: Duration) -> SystemTime {
    let expires = token.expires_on();
    let lifetime = expires.duration_since(now).unwrap_or_default();
    let planned = match token.refresh_on() {
        Some(at) => at,
        None if lifetime >= REFRESH_MARGIN * 2 => expires - REFRESH_MARGIN,
        None => now + lifetime / 2,
    };
    let jitter = jitter.min(planned.duration_since(now).unwrap_or_default() / 2);
    (planned - jitter).max(now)
}

/// One key's state.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// Written only by the holder of [`Entry::flight`] (a request's outcome);
    /// read by every caller.
    current: ArcSwapOption<Cached>,
    /// Held while a request for this key is in flight; waiters queue here.
    pub(crate) flight: tokio::sync::Mutex<Flight>,
    /// Bumped when a flight ends, so a waiter knows one ended while it waited.
    pub(crate) generation: AtomicU64,
}

/// The outcome of the last flight: those who waited for it get a clone of
/// its error.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    pub(crate) last_error: Option<Error>,
}

impl Entry {
    /// The cached token, if any (expired or not).
    pub(crate) fn cached(&self) -> Option<Arc<Cached>> {
        self.current.load_full()
    }

    /// The cached token when it is served as is at `now` (not due for a
    /// refresh): the hot path, a lock-free load and a clone of the token.
    pub(crate) fn serve(&self, now: SystemTime) -> Option<AccessToken> {
        let current = self.current.load();
        current
            .as_deref()
            .filter(|c| decide(Some(c), now) == Decision::Serve)
            .map(|c| c.token.clone())
    }

    pub(crate) fn store(&self, token: AccessToken, now: SystemTime, jitter: Duration) {
        let refresh_at = refresh_at(&token, now, jitter);
        self.current
            .store(Some(Arc::new(Cached::new(token, refresh_at))));
    }

    /// After `failed`'s background refresh failed: keep serving it, with a
    /// fresh claim, and try again later (but not after it expires).
    ///
    /// Only while `failed` is still the stored token: one stored since then
    /// has its own refresh time and claim, which this failure says nothing
    /// about (replacing it would also drop a claim another refresh holds).
    pub(crate) fn postpone_refresh(&self, failed: &Arc<Cached>, now: SystemTime) {
        let postponed = Arc::new(Cached::new(
            failed.token.clone(),
            (now + REFRESH_RETRY).min(failed.token.expires_on()),
        ));
        self.current.compare_and_swap(failed, Some(postponed));
    }
}

/// All entries. The map's lock is held only to find or insert an entry.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<CacheKey, Arc<Entry>>>,
}

impl TokenCache {
    pub(crate) fn entry(&self, key: &CacheKey) -> Arc<Entry> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = entries.get(key) {
            return Arc::clone(entry);
        }
        Arc::clone(entries.entry(key.clone()).or_default())
    }
}

/// A random jitter up to [`MAX_REFRESH_JITTER`].
pub(crate) fn random_jitter() -> Duration {
    MAX_REFRESH_JITTER.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;

    fn token(lifetime: u64, refresh_in: Option<u64>) -> AccessToken {
        AccessToken::new(
            "t",
            T0 + Duration::from_secs(lifetime),
            refresh_in.map(|r| T0 + Duration::from_secs(r)),
        )
    }

    #[test]
    fn refresh_time_follows_refresh_in_else_five_minutes_before_expiry() {
        assert_eq!(
            refresh_at(&token(3600, None), T0, Duration::ZERO),
            T0 + Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_at(&token(86400, Some(43200)), T0, Duration::ZERO),
            T0 + Duration::from_secs(43200)
        );
        assert_eq!(
            refresh_at(&token(3600, None), T0, Duration::from_secs(60)),
            T0 + Duration::from_secs(3240)
        );
        // Short tokens refresh at half-life; jitter never reaches back past now.
        assert_eq!(
            refresh_at(&token(300, None), T0, Duration::ZERO),
            T0 + Duration::from_secs(150)
        );
        assert!(refresh_at(&token(10, None), T0, Duration::from_secs(60)) >= T0);
    }

    #[test]
    fn serves_until_expiry_and_refreshes_after_the_refresh_time() {
        let cached = Cached::new(token(3600, None), T0 + Duration::from_secs(3300));
        assert_eq!(decide(None, T0), Decision::Fetch);
        assert_eq!(decide(Some(&cached), T0), Decision::Serve);
        assert_eq!(
            decide(Some(&cached), T0 + Duration::from_secs(3300)),
            Decision::ServeAndRefresh
        );
        assert_eq!(
            decide(Some(&cached), T0 + Duration::from_secs(3599)),
            Decision::ServeAndRefresh
        );
        // An expired token is never served.
        assert_eq!(
            decide(Some(&cached), T0 + Duration::from_secs(3600)),
            Decision::Fetch
        );
    }

    #[test]
    fn a_failed_refresh_is_retried_later_but_not_after_expiry() {
        let entry = Entry::default();
        entry.store(token(3600, None), T0, Duration::ZERO);
        let failed = entry.cached().unwrap();
        assert!(failed.claim_refresh());
        entry.postpone_refresh(&failed, T0 + Duration::from_secs(3300));
        let postponed = entry.cached().unwrap();
        assert_eq!(postponed.refresh_at, T0 + Duration::from_secs(3330));
        // The retry is claimed afresh: one caller starts it.
        assert!(postponed.claim_refresh());
        assert!(!postponed.claim_refresh());
        entry.postpone_refresh(&postponed, T0 + Duration::from_secs(3590));
        assert_eq!(
            entry.cached().unwrap().refresh_at,
            T0 + Duration::from_secs(3600)
        );
    }

    #[test]
    fn a_failed_refresh_leaves_a_token_stored_since_alone() {
        let entry = Entry::default();
        entry.store(token(3600, None), T0, Duration::ZERO);
        let failed = entry.cached().unwrap();
        assert!(failed.claim_refresh());
        entry.store(token(7200, None), T0, Duration::ZERO);
        entry.postpone_refresh(&failed, T0 + Duration::from_secs(3300));
        let current = entry.cached().unwrap();
        assert_eq!(current.token.expires_on(), T0 + Duration::from_secs(7200));
        assert_eq!(current.refresh_at, T0 + Duration::from_secs(6900));
    }
}
