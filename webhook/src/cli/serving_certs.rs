//! The serving certificate of `webhook serve`, from files on disk.
//!
//! The pair may not be there yet when the pod starts (a Secret or
//! cert-manager Certificate created at the same time): the webhook then
//! stays up and unready, retrying, instead of crashing. Once loaded, the
//! files are re-read periodically, so a renewed pair is served to new
//! connections without a restart. The loading, retrying and reloading are
//! `certs`' [`ReloadingCertResolver`]; this module only connects its news
//! to readiness and the expiry metric, and stops it with the server.

use std::{path::Path, sync::Arc, time::Duration};

use certs::ReloadingCertResolver;
use rustls::server::ResolvesServerCert;
use tokio_util::sync::CancellationToken;
use webhook::{metrics::Metrics, server::Readiness};

/// Starts watching `dir/tls.crt` and `dir/tls.key` in the background and
/// returns the resolver the TLS listener uses: it has no certificate (and
/// the replica is unready) until the files first hold a usable pair.
pub(crate) fn watch(
    dir: &Path,
    reload_interval: Duration,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    stop: CancellationToken,
) -> Arc<dyn ResolvesServerCert> {
    let resolver = Arc::new(ReloadingCertResolver::waiting(dir));
    let watch = Arc::clone(&resolver).spawn_watch(reload_interval, move |not_after| {
        metrics.set_certificate_expiry(not_after);
        readiness.set_certificate_loaded();
    });
    tokio::spawn(async move {
        stop.cancelled().await;
        watch.abort();
    });
    resolver
}
