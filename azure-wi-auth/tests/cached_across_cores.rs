//! Cached tokens read by many callers on two workers while they are
//! refreshed: the cache is read without a lock, so these tests check that
//! a caller gets a token of its own scope, old or new, never anything else,
//! that each refresh is one request, and that the new token replaces the
//! old one for everyone once it lands.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use azure_wi_auth::{AccessToken, Error, WorkloadIdentityCredential};
use tokio::{sync::Semaphore, task::JoinHandle};

use support::{Script, VAULT, fixture, scope};

const STORAGE: &str = "https://storage.azure.com/.default";

/// `n` callers, alternately for the vault and the storage scope (so the
/// credential's most recent scope keeps changing under them).
fn callers(
    credential: &WorkloadIdentityCredential,
    n: usize,
) -> Vec<(&'static str, JoinHandle<Result<AccessToken, Error>>)> {
    (0..n)
        .map(|i| {
            let credential = credential.clone();
            let which = if i % 2 == 0 { VAULT } else { STORAGE };
            let caller = tokio::spawn(async move { credential.get_token(&scope(which)).await });
            (which, caller)
        })
        .collect()
}

/// Calls `get_token` for `which` until it answers `expected`, every other
/// answer being `meanwhile`.
async fn until_served(
    credential: &WorkloadIdentityCredential,
    which: &str,
    expected: &str,
    meanwhile: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let token = credential.get_token(&scope(which)).await.unwrap();
        if token.secret() == expected {
            return;
        }
        assert_eq!(token.secret(), meanwhile, "{which}");
        assert!(Instant::now() < deadline, "{which} never served {expected}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_callers_across_a_refresh_get_their_own_scope_old_or_new() {
    const CALLERS: usize = 10_000;
    let gate = Arc::new(Semaphore::new(1));
    let f = fixture(Script {
        gate: Some(("vault".into(), gate.clone())),
        ..Script::default()
    });
    let vault = f.credential.get_token(&scope(VAULT)).await.unwrap();
    assert_eq!(vault.secret(), "token-1");
    let storage = f.credential.get_token(&scope(STORAGE)).await.unwrap();
    assert_eq!(storage.secret(), "token-2");

    // Both tokens are past their refresh time (5 min before expiry, minus
    // jitter) and still valid: callers are served the current token while
    // one background request per scope replaces it. The vault's is held
    // at the gate until half the callers have been spawned.
    f.clock.advance(Duration::from_secs(3600 - 60 - 200));
    let mut spawned = callers(&f.credential, CALLERS / 2);
    until_served(&f.credential, STORAGE, "token-3", "token-2").await;
    gate.add_permits(1);
    spawned.extend(callers(&f.credential, CALLERS / 2));
    for (which, caller) in spawned {
        let token = caller.await.unwrap().unwrap();
        let allowed: &[&str] = if which == VAULT {
            &["token-1", "token-4"]
        } else {
            &["token-2", "token-3"]
        };
        assert!(
            allowed.contains(&token.secret()),
            "{which} got {}",
            token.secret()
        );
    }
    until_served(&f.credential, VAULT, "token-4", "token-1").await;

    // Once a refresh has landed, the old token is served to no one.
    for (which, caller) in callers(&f.credential, CALLERS) {
        let expected = if which == VAULT { "token-4" } else { "token-3" };
        assert_eq!(caller.await.unwrap().unwrap().secret(), expected, "{which}");
    }
    // Two first requests and one refresh per scope.
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 4);
}
