//! A cached `get_token`, in one run against two baselines:
//!
//! * **uncontended**, in one thread: ours against an `RwLock` read and a
//!   clone of the token's text (the least a cache can do; goal ≤ 1.5x), with
//!   Microsoft's `azure_identity` 1.0 `WorkloadIdentityCredential` beside
//!   them. Each call runs inside `Runtime::block_on` on a current-thread
//!   runtime, so the figures compare like with like.
//! * **contended**: [`CALLERS`] tasks spawned at once on a multi-thread
//!   runtime with two workers, each asking for the cached token, ours
//!   against `azure_identity`'s (goal ≤ 1.0x).
//!
//! Both credentials get the same answer from the same kind of fake
//! transport (ours through [`Transport`], `azure_identity`'s through
//! `azure_core`'s `HttpClient` in its `ClientOptions::transport`), and both
//! are warmed with one call, so every measured call is a cache hit.
//!
//! Besides criterion's figures, each pair is also run in alternating rounds
//! and the ratio of the medians printed (`ratio ...`), so that the ratio
//! comes from one run under one load: these machines are shared.

#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use std::{
    future::Future,
    hint::black_box,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use azure_core::{
    credentials::TokenCredential,
    http::{AsyncRawResponse, ClientOptions, HttpClient, Request, StatusCode, headers::Headers},
};
use azure_identity::{
    ClientAssertionCredentialOptions, WorkloadIdentityCredential as SdkCredential,
    WorkloadIdentityCredentialOptions,
};
use azure_wi_auth::{
    Scope, WorkloadIdentityConfig, WorkloadIdentityCredential,
    transport::{HttpRequest, HttpResponse, Transport},
};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use tokio::runtime::Runtime;

/// Concurrent callers in the contended case.
const CALLERS: usize = 10_000;
/// Calls per round of the uncontended ratio.
const CALLS_PER_ROUND: u32 = 20_000;

const CLIENT_ID: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";
const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SCOPE: &str = "https://vault.azure.net/.default";
const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.e30.c2ln";
/// Entra ID's answer to a token request: a one-hour token.
const TOKEN_RESPONSE: &[u8] = br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln"}"#;

/// Answers every token request with [`TOKEN_RESPONSE`], for ours.
#[derive(Debug)]
struct FixedToken;

impl Transport for FixedToken {
    fn send(&self, _request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async {
            Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: TOKEN_RESPONSE.to_vec(),
            })
        })
    }
}

/// Answers every token request with [`TOKEN_RESPONSE`], for
/// `azure_identity`.
#[derive(Debug)]
struct SdkFixedToken;

#[async_trait::async_trait]
impl HttpClient for SdkFixedToken {
    async fn execute_request(&self, _request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut headers = Headers::new();
        headers.insert("content-type", "application/json; charset=utf-8");
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::Ok,
            headers,
            TOKEN_RESPONSE,
        ))
    }
}

/// Both credentials, made once for the whole run and leaked so that tasks
/// borrow them for `'static` without touching a shared reference count.
#[derive(Clone, Copy)]
struct Credentials {
    ours: &'static WorkloadIdentityCredential,
    scopes: &'static [Scope],
    theirs: &'static SdkCredential,
}

impl Credentials {
    /// Both credentials, reading their token file from `dir`.
    fn new(dir: &tempfile::TempDir) -> Self {
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
        let config = WorkloadIdentityConfig::builder()
            .client_id(CLIENT_ID)
            .tenant_id(TENANT_ID)
            .token_file(&token_file)
            .build()
            .unwrap();
        let ours = WorkloadIdentityCredential::builder(config)
            .with_transport(FixedToken)
            .build()
            .unwrap();
        let theirs = SdkCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: ClientOptions {
                    transport: Some(azure_core::http::Transport::new(Arc::new(SdkFixedToken))),
                    ..ClientOptions::default()
                },
            },
            client_id: Some(CLIENT_ID.to_owned()),
            tenant_id: Some(TENANT_ID.to_owned()),
            token_file_path: Some(token_file),
        }))
        .unwrap();
        let scope: Scope = SCOPE.parse().unwrap();
        Self {
            ours: Box::leak(Box::new(ours)),
            scopes: Box::leak(Box::new([scope])),
            theirs: Box::leak(Box::new(theirs)),
        }
    }

    /// One cached call of ours.
    async fn ours(self) {
        let token = self.ours.get_token(self.scopes).await.unwrap();
        assert_eq!(token.secret(), ACCESS_TOKEN);
        black_box(token);
    }

    /// One cached call of `azure_identity`'s.
    async fn theirs(self) {
        let token = self.theirs.get_token(&[SCOPE], None).await.unwrap();
        assert_eq!(token.token.secret(), ACCESS_TOKEN);
        black_box(token);
    }
}

/// `CALLERS` tasks spawned at once from a worker of `rt`, each running one
/// `call()`; the time until all have finished.
fn contended_round<F>(rt: &Runtime, call: impl Fn() -> F + Send + 'static) -> Duration
where
    F: Future<Output = ()> + Send + 'static,
{
    rt.block_on(rt.spawn(async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..CALLERS).map(|_| tokio::spawn(call())).collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    }))
    .unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Rounds for the printed ratios: one when criterion only checks that the
/// benchmarks run (`cargo test --benches`), none under `--profile-time` (a
/// profile of one benchmark), else enough for a steady median. A filter
/// does not skip them.
fn ratio_rounds() -> usize {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--profile-time") {
        0
    } else if args.iter().any(|arg| arg == "--bench") {
        41
    } else {
        1
    }
}

fn print_ratio(case: &str, ours: Duration, baseline_name: &str, baseline: Duration, per: &str) {
    if ratio_rounds() == 0 {
        return;
    }
    println!(
        "ratio {case}: ours {ours:?} / {baseline_name} {baseline:?} {per} = {:.2}x (medians of {} alternating rounds)",
        ours.as_secs_f64() / baseline.as_secs_f64(),
        ratio_rounds(),
    );
}

fn uncontended(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let credentials = Credentials::new(&dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(credentials.ours());
    rt.block_on(credentials.theirs());
    let lock = RwLock::new(String::from(ACCESS_TOKEN));
    let baseline = || rt.block_on(async { black_box(lock.read().unwrap().clone()) });

    let mut group = c.benchmark_group("token");
    group.bench_function("cached_get_token", |b| {
        b.iter(|| rt.block_on(credentials.ours()));
    });
    group.bench_function("rwlock_read_clone", |b| b.iter(baseline));
    group.bench_function("azure_identity_cached_get_token", |b| {
        b.iter(|| rt.block_on(credentials.theirs()));
    });
    group.finish();

    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            f();
        }
        start.elapsed() / CALLS_PER_ROUND
    };
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..ratio_rounds() {
        ours.push(time(&|| rt.block_on(credentials.ours())));
        base.push(time(&|| {
            baseline();
        }));
    }
    print_ratio(
        "uncontended (goal <= 1.5x)",
        median(ours),
        "RwLock read + clone",
        median(base),
        "per call",
    );
}

fn contended(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let credentials = Credentials::new(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(credentials.ours());
    rt.block_on(credentials.theirs());
    let ours_call = move || credentials.ours();
    let theirs_call = move || credentials.theirs();

    let mut group = c.benchmark_group("contended_10000_callers_2_workers");
    group.sample_size(20);
    group.bench_function("cached_get_token", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| contended_round(&rt, ours_call)).sum());
    });
    group.bench_function("azure_identity_cached_get_token", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| contended_round(&rt, theirs_call)).sum());
    });
    group.finish();

    let (mut ours_rounds, mut theirs_rounds) = (Vec::new(), Vec::new());
    for _ in 0..ratio_rounds() {
        ours_rounds.push(contended_round(&rt, ours_call));
        theirs_rounds.push(contended_round(&rt, theirs_call));
    }
    print_ratio(
        &format!("contended, {CALLERS} callers on 2 workers (goal <= 1.0x)"),
        median(ours_rounds),
        "azure_identity",
        median(theirs_rounds),
        "per round",
    );
}

criterion_group!(benches, uncontended, contended);
criterion_main!(benches);
