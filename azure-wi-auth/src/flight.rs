//! Single flight over the [token cache](crate::cache): the one place that
//! decides, for a key, whether a caller is served from the cache, served
//! while a background refresh runs, or queues for the key's one request.
//! Both credentials go through it, so they cannot drift apart.

use std::sync::{Arc, atomic::Ordering};

use futures::future::BoxFuture;

use crate::{
    AccessToken, Error,
    cache::{CacheKey, Decision, Entry, TokenCache, decide, random_jitter},
    clock::Clock,
    credential::SINGLE_FLIGHT_TRACE_TARGET,
};

/// One exchange with Entra ID (retries included), owned so that it can run
/// as a background refresh after its caller has been served.
pub(crate) type Exchange = BoxFuture<'static, Result<AccessToken, Error>>;

/// A token for `key`, making at most one exchange at a time per key.
///
/// `exchange` is only called when a request is needed (a cold or expired
/// entry, or a refresh due), so the cached path allocates nothing for it.
/// When the request fails, every caller that queued for it gets a clone of
/// its error.
pub(crate) async fn get_or_exchange(
    cache: &TokenCache,
    key: &CacheKey,
    clock: &Arc<dyn Clock>,
    exchange: impl FnOnce() -> Exchange,
) -> Result<AccessToken, Error> {
    serve_or_exchange(&cache.entry(key), &key.tenant, clock, exchange).await
}

/// As [`get_or_exchange`], for a key whose entry the caller already holds
/// (a credential's most recent key, found without building the key).
pub(crate) async fn serve_or_exchange(
    entry: &Arc<Entry>,
    tenant: &str,
    clock: &Arc<dyn Clock>,
    exchange: impl FnOnce() -> Exchange,
) -> Result<AccessToken, Error> {
    let now = clock.now();
    let cached = entry.cached();
    match decide(cached.as_deref(), now) {
        Decision::Serve => return Ok(cached.expect("Serve has a token").token.clone()),
        Decision::ServeAndRefresh => {
            let cached = cached.expect("ServeAndRefresh has a token");
            // Claimed on the token this caller found due, so that a token
            // stored by a refresh that has not yet finished is refreshed
            // in its turn (see the cache module).
            if cached.claim_refresh() {
                let entry = Arc::clone(entry);
                let due = Arc::clone(&cached);
                let clock = Arc::clone(clock);
                let refresh = exchange();
                tokio::spawn(async move {
                    let _flight = entry.flight.lock().await;
                    match refresh.await {
                        Ok(token) => entry.store(token, clock.now(), random_jitter()),
                        Err(error) => {
                            tracing::warn!(%error, "background token refresh failed; the current token is still served");
                            entry.postpone_refresh(&due, clock.now());
                        }
                    }
                    entry.generation.fetch_add(1, Ordering::AcqRel);
                });
            }
            return Ok(cached.token.clone());
        }
        Decision::Fetch => {}
    }
    let seen = entry.generation.load(Ordering::Acquire);
    tracing::trace!(
        target: SINGLE_FLIGHT_TRACE_TARGET,
        tenant = %tenant,
        "no usable cached token; queueing for this key's token request"
    );
    let mut flight = entry.flight.lock().await;
    let now = clock.now();
    if let Some(cached) = entry.cached()
        && decide(Some(&cached), now) != Decision::Fetch
    {
        return Ok(cached.token.clone());
    }
    if entry.generation.load(Ordering::Acquire) != seen
        && let Some(error) = &flight.last_error
    {
        // Someone else's request for this key failed while we waited.
        return Err(error.clone());
    }
    let result = exchange().await;
    entry.generation.fetch_add(1, Ordering::AcqRel);
    match result {
        Ok(token) => {
            entry.store(token.clone(), clock.now(), random_jitter());
            flight.last_error = None;
            Ok(token)
        }
        Err(error) => {
            flight.last_error = Some(error.clone());
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use tokio::sync::Semaphore;

    use super::*;
    use crate::clock::ManualClock;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;
    const HOUR: Duration = Duration::from_secs(3600);

    fn refresh(token: AccessToken) -> Exchange {
        Box::pin(async move { Ok(token) })
    }

    /// A caller who finds a token due is served it and starts its refresh,
    /// even when a refresh started for an earlier token has not finished.
    /// That is the moment after a background refresh has stored a new
    /// token and before its task ends; it lasts nanoseconds, but a token
    /// can be due as soon as it is stored (Entra's `refresh_in`, or a test's
    /// manual clock), and a caller then got the token and no refresh.
    /// Here the earlier refresh is held open at a gate while the due token
    /// is stored.
    #[tokio::test]
    async fn a_due_token_is_refreshed_while_an_earlier_refresh_is_unfinished() {
        let clock = Arc::new(ManualClock::new(T0));
        let now: Arc<dyn Clock> = clock.clone();
        let entry = Arc::new(Entry::default());
        entry.store(
            AccessToken::new("token-1", T0 + HOUR, None),
            T0,
            Duration::ZERO,
        );
        clock.advance(Duration::from_secs(3400));
        let at = now.now();

        // token-1 is due: its caller gets it and starts a refresh, which
        // waits at the gate (it has not run yet on this one thread).
        let gate = Arc::new(Semaphore::new(0));
        let held = Arc::clone(&gate);
        let served = serve_or_exchange(&entry, "tenant", &now, || {
            Box::pin(async move {
                held.acquire().await.unwrap().forget();
                Ok(AccessToken::new("token-1-refreshed", at + HOUR, None))
            })
        })
        .await
        .unwrap();
        assert_eq!(served.secret(), "token-1");

        // A token due at once lands while that refresh is unfinished
        // (stored under the flight lock, as a request's outcome is).
        {
            let _flight = entry.flight.try_lock().unwrap();
            entry.store(
                AccessToken::new("token-2", at + HOUR, Some(at)),
                at,
                Duration::ZERO,
            );
        }

        // Its caller gets it and starts its refresh.
        let mut started = false;
        let served = serve_or_exchange(&entry, "tenant", &now, || {
            started = true;
            refresh(AccessToken::new("token-3", at + HOUR, None))
        })
        .await
        .unwrap();
        assert_eq!(served.secret(), "token-2");
        assert!(started, "token-2 was due and no refresh was started");

        // Both refreshes run, one after the other; token-3 is served last.
        gate.add_permits(1);
        tokio::time::timeout(Duration::from_secs(10), async {
            while entry.serve(now.now()).map(|t| t.secret().to_owned()) != Some("token-3".into()) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("token-3 is stored once both refreshes have run");
    }
}
