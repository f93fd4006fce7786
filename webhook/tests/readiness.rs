//! `/readyz` and the cache size gauge follow what the ServiceAccount source
//! pushes, through the real `server::run`: no polling interval stands
//! between the watcher's initial sync and readiness.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use azure_wi_core::ServiceAccountInfo;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use webhook::{
    config::MutationConfig,
    metrics::Metrics,
    server::{self, AdmissionState, Listeners, Readiness, ServerOptions},
    serviceaccount::{LookupError, ServiceAccountLookup, SourceStatus},
};

/// A source whose status the test pushes by hand, as the watcher does.
struct Pushed(watch::Sender<SourceStatus>);

impl ServiceAccountLookup for Pushed {
    async fn lookup(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        Ok(None)
    }

    fn status(&self) -> watch::Receiver<SourceStatus> {
        self.0.subscribe()
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Waits (briefly) for `check` on what `path` answers.
async fn until(addr: std::net::SocketAddr, path: &str, check: impl Fn(u16, &str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = get(addr, path).await;
        if check(status, &body) {
            return;
        }
        assert!(Instant::now() < deadline, "{path}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn readiness_and_cache_size_follow_the_pushed_source_status() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = certs::CertificateAuthority::generate("test-ca", Duration::from_secs(86_400 * 800))
        .unwrap();
    let issued = certs::ServingCertificate::for_service("webhook", "test")
        .unwrap()
        .with_ip("127.0.0.1".parse().unwrap())
        .issue(&ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), issued.cert_pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), issued.key_pem().as_str()).unwrap();
    let certificates = Arc::new(certs::ReloadingCertResolver::load(dir.path()).unwrap());

    let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let listeners = Listeners {
        webhook: bind().await.unwrap(),
        health: bind().await.unwrap(),
        metrics: bind().await.unwrap(),
    };
    let health = listeners.health.local_addr().unwrap();
    let metrics_addr = listeners.metrics.local_addr().unwrap();
    let source = watch::Sender::new(SourceStatus::default());
    let state = Arc::new(AdmissionState {
        config: MutationConfig::default(),
        service_accounts: Pushed(source.clone()),
        metrics: Arc::new(Metrics::new()),
    });
    let readiness = Readiness::default();
    readiness.set_certificate_loaded();
    let stop = CancellationToken::new();
    let server = tokio::spawn(server::run(
        listeners,
        state,
        readiness,
        certificates,
        ServerOptions {
            shutdown_delay: Duration::ZERO,
            ..ServerOptions::default()
        },
        stop.clone(),
    ));

    // Unsynced source: unready, whatever time passes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get(health, "/readyz").await,
        (503, "not ready: ServiceAccount cache not synced".to_owned())
    );

    source.send_replace(SourceStatus {
        synced: true,
        len: 7,
    });
    until(health, "/readyz", |status, _| status == 200).await;
    until(metrics_addr, "/metrics", |_, body| {
        body.contains("azwi_serviceaccount_cache_size 7")
    })
    .await;

    source.send_replace(SourceStatus {
        synced: true,
        len: 9,
    });
    until(metrics_addr, "/metrics", |_, body| {
        body.contains("azwi_serviceaccount_cache_size 9")
    })
    .await;

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
