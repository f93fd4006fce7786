//! "Any number of cold callers cause one request", proven: the one request
//! is held until every caller has found the cache cold and queued for it,
//! so no caller can be served by a cache the request already warmed. And
//! when that request fails, every caller that queued gets its error as its
//! own variant.
//!
//! Queued callers are counted through the `tracing` event the credential
//! logs when it queues ([`SINGLE_FLIGHT_TRACE_TARGET`]), per tenant, so the
//! tests of this binary (each with its own tenant) do not count each
//! other's callers. The subscriber is process-wide, so these tests have a
//! binary of their own.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, OnceLock, atomic::Ordering},
};

use azure_wi_auth::{Error, SINGLE_FLIGHT_TRACE_TARGET};
use tokio::sync::Semaphore;
use tracing::{Event, Metadata, field, span};

use support::{AADSTS700213, Script, VAULT, fixture_in, scope};

/// Callers queued for a token request, per tenant.
#[derive(Debug, Default)]
struct Queued(Mutex<HashMap<String, usize>>);

impl Queued {
    /// The process-wide counter, installed as the `tracing` subscriber on
    /// first use.
    fn global() -> Arc<Queued> {
        static QUEUED: OnceLock<Arc<Queued>> = OnceLock::new();
        Arc::clone(QUEUED.get_or_init(|| {
            let queued = Arc::new(Queued::default());
            tracing::subscriber::set_global_default(Counter(Arc::clone(&queued))).unwrap();
            queued
        }))
    }

    fn count(&self, tenant: &str) -> usize {
        self.0.lock().unwrap().get(tenant).copied().unwrap_or(0)
    }
}

/// Counts the credential's "queueing" events by their `tenant` field and
/// ignores everything else.
#[derive(Debug)]
struct Counter(Arc<Queued>);

struct TenantField(Option<String>);

impl field::Visit for TenantField {
    fn record_debug(&mut self, field: &field::Field, value: &dyn fmt::Debug) {
        if field.name() == "tenant" {
            self.0 = Some(format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &field::Field, value: &str) {
        if field.name() == "tenant" {
            self.0 = Some(value.to_owned());
        }
    }
}

impl tracing::Subscriber for Counter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == SINGLE_FLIGHT_TRACE_TARGET
    }

    fn new_span(&self, _span: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _span: &span::Id, _values: &span::Record<'_>) {}

    fn record_follows_from(&self, _span: &span::Id, _follows: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() != SINGLE_FLIGHT_TRACE_TARGET {
            return;
        }
        let mut tenant = TenantField(None);
        event.record(&mut tenant);
        let tenant = tenant.0.expect("the queueing event names the tenant");
        *self.0.0.lock().unwrap().entry(tenant).or_default() += 1;
    }

    fn enter(&self, _span: &span::Id) {}

    fn exit(&self, _span: &span::Id) {}
}

/// Spawns `n` callers of `get_token` for the vault scope.
fn callers(
    credential: &azure_wi_auth::WorkloadIdentityCredential,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<azure_wi_auth::AccessToken, Error>>> {
    (0..n)
        .map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { credential.get_token(&scope(VAULT)).await })
        })
        .collect()
}

/// Waits until `n` callers for `tenant` have queued, checking that none
/// finished meanwhile (the answer is held, so none can).
async fn until_queued(
    queued: &Queued,
    tenant: &str,
    n: usize,
    callers: &[tokio::task::JoinHandle<Result<azure_wi_auth::AccessToken, Error>>],
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while queued.count(tenant) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} callers queued",
            queued.count(tenant)
        );
        assert!(
            callers.iter().all(|c| !c.is_finished()),
            "a caller finished before the answer was released"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(queued.count(tenant), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cold_callers_cause_one_request() {
    const TENANT: &str = "10000000-0000-4000-8000-000000000001";
    const CALLERS: usize = 10_000;
    let queued = Queued::global();
    let gate = Arc::new(Semaphore::new(0));
    let f = fixture_in(
        TENANT,
        Script {
            gate: Some(("vault".into(), gate.clone())),
            ..Script::default()
        },
    );
    let callers = callers(&f.credential, CALLERS);
    // Release the one request only once every caller found no token and
    // queued for it (the first of them is the one that sent it).
    until_queued(&queued, TENANT, CALLERS, &callers).await;
    // The first caller's request may still be reading the token file.
    while f.script.requests.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 1);
    gate.add_permits(1);
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().secret(), "token-1");
    }
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_waited_for_a_failed_request_get_its_variant_too() {
    const TENANT: &str = "20000000-0000-4000-8000-000000000002";
    const CALLERS: usize = 100;
    let queued = Queued::global();
    let gate = Arc::new(Semaphore::new(0));
    let f = fixture_in(
        TENANT,
        Script {
            gate: Some(("vault".into(), gate.clone())),
            ..Script::default()
        },
    );
    f.script
        .answers
        .lock()
        .unwrap()
        .push((401, Vec::new(), AADSTS700213.to_owned()));
    let callers = callers(&f.credential, CALLERS);
    until_queued(&queued, TENANT, CALLERS, &callers).await;
    gate.add_permits(1);
    for caller in callers {
        let error = caller.await.unwrap().unwrap_err();
        assert!(
            matches!(&error, Error::Entra { entra, diagnosis: Some(_) } if entra.code() == Some(700_213)),
            "{error:?}"
        );
    }
    // One request answered all of them; nobody sent another after it failed.
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 1);
}
