//! Switches for reliability tests: injected latency and failures on the
//! Entra and Key Vault endpoints, and counters of what was asked.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Which endpoint a fault or counter is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /{tenant}/oauth2/v2.0/token`.
    Entra,
    /// Every Key Vault request.
    KeyVault,
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status to answer (429, 500, 503...).
    pub status: u16,
    /// `Retry-After` seconds to send with it.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default)]
struct Plan {
    latency: Duration,
    failures: Vec<Failure>,
}

/// Faults to inject, settable at run time from tests or the CLI.
#[derive(Debug, Default)]
pub struct Faults {
    entra: Mutex<Plan>,
    vault: Mutex<Plan>,
}

impl Faults {
    fn plan(&self, endpoint: Endpoint) -> std::sync::MutexGuard<'_, Plan> {
        let lock = match endpoint {
            Endpoint::Entra => &self.entra,
            Endpoint::KeyVault => &self.vault,
        };
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delays every answer of `endpoint` by `latency`.
    pub fn set_latency(&self, endpoint: Endpoint, latency: Duration) {
        self.plan(endpoint).latency = latency;
    }

    /// Makes the next `count` requests to `endpoint` fail with `failure`.
    pub fn fail_next(&self, endpoint: Endpoint, count: usize, failure: Failure) {
        self.plan(endpoint)
            .failures
            .extend(std::iter::repeat_n(failure, count));
    }

    /// Takes what applies to one request: a delay and maybe a failure.
    pub(crate) fn take(&self, endpoint: Endpoint) -> (Duration, Option<Failure>) {
        let mut plan = self.plan(endpoint);
        let failure = (!plan.failures.is_empty()).then(|| plan.failures.remove(0));
        (plan.latency, failure)
    }
}

/// How many requests each endpoint received.
#[derive(Debug, Default)]
pub struct Counters {
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    vault_requests: AtomicU64,
}

impl Counters {
    pub(crate) fn count(&self, endpoint: Endpoint) {
        match endpoint {
            Endpoint::Entra => &self.token_requests,
            Endpoint::KeyVault => &self.vault_requests,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    /// Token requests received, whatever their outcome.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Access tokens issued.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    /// Key Vault requests received.
    pub fn vault_requests(&self) -> u64 {
        self.vault_requests.load(Ordering::Relaxed)
    }
}
