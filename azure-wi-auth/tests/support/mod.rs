//! A scripted token endpoint behind the credential's HTTP seam, and a
//! credential on a manual clock wired to it, shared by the integration tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of the fixture"
)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use azure_wi_auth::{
    RetryPolicy, Scope, WorkloadIdentityConfig, WorkloadIdentityCredential,
    clock::ManualClock,
    transport::{HttpRequest, HttpResponse, Transport},
};
use futures::future::BoxFuture;
use tokio::sync::Semaphore;

pub const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLyIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDp0ZWFtLWE6b3JkZXJzLWFwaSIsImF1ZCI6WyJhcGk6Ly9BenVyZUFEVG9rZW5FeGNoYW5nZSJdfQ.c2ln";

/// A scripted answer: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// Answers token requests from a script; requests whose scope contains
/// `gate` wait for a permit from `gate_permits` first.
#[derive(Debug, Default)]
pub struct Script {
    pub requests: AtomicUsize,
    pub bodies: Mutex<Vec<String>>,
    pub answers: Mutex<Vec<Answer>>,
    pub gate: Option<(String, Arc<Semaphore>)>,
    pub default_token: Mutex<u32>,
    /// This many requests fail at the network level before any answer.
    pub network_failures: AtomicUsize,
}

pub fn token_body(n: u32) -> String {
    format!(
        r#"{{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"token-{n}"}}"#
    )
}

/// The transport side of a shared [`Script`].
#[derive(Debug)]
pub struct Wire(pub Arc<Script>);

impl Transport for Wire {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        let script = &self.0;
        Box::pin(async move {
            let body = String::from_utf8(request.body).unwrap();
            script.requests.fetch_add(1, Ordering::SeqCst);
            script.bodies.lock().unwrap().push(body.clone());
            if script
                .network_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err("connection reset by peer".to_owned());
            }
            if let Some((scope, gate)) = &script.gate
                && body.contains(scope.as_str())
            {
                gate.acquire().await.unwrap().forget();
            }
            let scripted = {
                let mut answers = script.answers.lock().unwrap();
                (!answers.is_empty()).then(|| answers.remove(0))
            };
            let (status, headers, body) = scripted.unwrap_or_else(|| {
                let mut n = script.default_token.lock().unwrap();
                *n += 1;
                (200, Vec::new(), token_body(*n))
            });
            Ok(HttpResponse {
                status,
                headers,
                body: body.into_bytes(),
            })
        })
    }
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub token_file: std::path::PathBuf,
    pub script: Arc<Script>,
    pub clock: Arc<ManualClock>,
    pub credential: WorkloadIdentityCredential,
}

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

pub fn fixture(script: Script) -> Fixture {
    fixture_in(TENANT, script)
}

/// A fixture whose credential is for `tenant`.
pub fn fixture_in(tenant: &str, script: Script) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, ASSERTION).unwrap();
    let config = WorkloadIdentityConfig::builder()
        .client_id("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34")
        .tenant_id(tenant)
        .token_file(&token_file)
        .build()
        .unwrap();
    let script = Arc::new(script);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let credential = WorkloadIdentityCredential::builder(config)
        .with_transport(Wire(Arc::clone(&script)))
        .with_clock(clock.clone())
        .with_retry_policy(RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_total: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    Fixture {
        _dir: dir,
        token_file,
        script,
        clock,
        credential,
    }
}

pub fn scope(s: &str) -> [Scope; 1] {
    [s.parse().unwrap()]
}

pub const VAULT: &str = "https://vault.azure.net/.default";

pub const AADSTS700213: &str = r#"{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:team-a:orders-api'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.","error_codes":[700213],"trace_id":"t","correlation_id":"c"}"#;
