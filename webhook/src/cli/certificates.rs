//! The serving certificate of `webhook serve`, from files on disk.
//!
//! The pair may not be there yet when the pod starts (a Secret or
//! cert-manager Certificate created at the same time): the webhook then
//! stays up and unready, retrying, instead of crashing. Once loaded, the
//! files are re-read periodically, so a renewed pair is served to new
//! connections without a restart.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use certs::ReloadingCertResolver;
use rustls::server::{ClientHello, ResolvesServerCert};
use tokio_util::sync::CancellationToken;
use webhook::{metrics::Metrics, server::Readiness};

/// How often a missing or broken pair is retried at start-up.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// A resolver that has no certificate until the files load; handshakes fail
/// until then, which is what an unready replica should do.
#[derive(Debug, Default)]
struct Slot(RwLock<Option<Arc<ReloadingCertResolver>>>);

impl Slot {
    fn get(&self) -> Option<Arc<ReloadingCertResolver>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, resolver: Arc<ReloadingCertResolver>) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(resolver);
    }
}

impl ResolvesServerCert for Slot {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.get()?.resolve(hello)
    }
}

/// Starts loading `dir/tls.crt` and `dir/tls.key` in the background and
/// returns the resolver the TLS listener uses.
pub(crate) fn serving_certificates(
    dir: &Path,
    reload_interval: Duration,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
) -> Arc<dyn ResolvesServerCert> {
    let slot = Arc::new(Slot::default());
    tokio::spawn(load_and_watch(
        dir.to_owned(),
        reload_interval,
        Arc::clone(&slot),
        metrics,
        readiness,
        stop,
    ));
    slot
}

async fn load_and_watch(
    dir: PathBuf,
    reload_interval: Duration,
    slot: Arc<Slot>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
) {
    let mut last_error = String::new();
    let resolver = loop {
        let attempt = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || ReloadingCertResolver::load(&dir)).await
        };
        match attempt
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(resolver) => break Arc::new(resolver),
            Err(error) => {
                if error != last_error {
                    tracing::warn!(%error, "serving certificate not usable yet; retrying");
                    last_error = error;
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RETRY_INTERVAL) => {}
        }
    };
    metrics.set_certificate_expiry(resolver.not_after());
    slot.set(Arc::clone(&resolver));
    readiness.set_certificate_loaded();
    tracing::info!(dir = %dir.display(), "serving certificate loaded");

    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(reload_interval) => {}
        }
        let reloading = Arc::clone(&resolver);
        let Ok(outcome) = tokio::task::spawn_blocking(move || reloading.reload()).await else {
            tracing::error!("certificate reload task failed");
            continue;
        };
        match outcome {
            Ok(certs::ReloadOutcome::Unchanged) => {}
            Ok(certs::ReloadOutcome::Reloaded { not_after }) => {
                metrics.set_certificate_expiry(not_after);
                tracing::info!(dir = %dir.display(), "serving certificate reloaded");
            }
            Err(error) => {
                tracing::warn!(%error, "new serving certificate not usable; still serving the previous one");
            }
        }
    }
}
