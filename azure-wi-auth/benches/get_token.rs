//! A cached `get_token` against an uncontended `RwLock` read, in one run.
//!
//! Both run inside `Runtime::block_on`, so the figures compare like with
//! like: the cost of serving a cached token is the cache lookup, the clock
//! read and a clone of the token.

#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use std::sync::{Arc, RwLock};

use azure_wi_auth::{
    Scope, WorkloadIdentityConfig, WorkloadIdentityCredential,
    transport::{HttpRequest, HttpResponse, Transport},
};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;

/// Answers every token request with a one-hour token.
#[derive(Debug)]
struct FixedToken;

impl Transport for FixedToken {
    fn send(&self, _request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async {
            Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln"}"#.to_vec(),
            })
        })
    }
}

fn cached_get_token(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
    let config = WorkloadIdentityConfig::builder()
        .client_id("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34")
        .tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47")
        .token_file(&token_file)
        .build()
        .unwrap();
    let credential = WorkloadIdentityCredential::builder(config)
        .with_transport(FixedToken)
        .build()
        .unwrap();
    let scopes: [Scope; 1] = ["https://vault.azure.net/.default".parse().unwrap()];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(credential.get_token(&scopes)).unwrap();

    let mut group = c.benchmark_group("token");
    group.bench_function("cached_get_token", |b| {
        b.iter(|| rt.block_on(credential.get_token(&scopes)).unwrap());
    });
    let lock = Arc::new(RwLock::new(String::from("eyJ0eXAiOiJKV1QifQ.e30.c2ln")));
    group.bench_function("rwlock_read_clone", |b| {
        b.iter(|| rt.block_on(async { lock.read().unwrap().clone() }));
    });
    group.finish();
}

criterion_group!(benches, cached_get_token);
criterion_main!(benches);
