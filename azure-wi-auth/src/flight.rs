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
            if !entry.refreshing.swap(true, Ordering::AcqRel) {
                let entry = Arc::clone(entry);
                let clock = Arc::clone(clock);
                let refresh = exchange();
                tokio::spawn(async move {
                    let _flight = entry.flight.lock().await;
                    match refresh.await {
                        Ok(token) => entry.store(token, clock.now(), random_jitter()),
                        Err(error) => {
                            tracing::warn!(%error, "background token refresh failed; the current token is still served");
                            entry.postpone_refresh(clock.now());
                        }
                    }
                    entry.generation.fetch_add(1, Ordering::AcqRel);
                    entry.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok(cached.expect("ServeAndRefresh has a token").token.clone());
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
