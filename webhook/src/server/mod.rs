//! The HTTPS admission server, with plain-HTTP health and metrics listeners.
//!
//! Shutdown follows what a rolling restart needs: when asked to stop, the
//! server first turns `/readyz` unready and keeps serving for the shutdown
//! delay (while the API server's endpoints catch up), then closes its
//! listeners and lets every in-flight admission finish before returning.
//!
//! The health listener runs on a thread of its own, so `/readyz` answers
//! within the probe's timeout however busy the admission workers are.

mod budget;
mod connections;
mod readiness;
mod routes;
mod write_deadline;

use std::{sync::Arc, time::Duration};

use azure_wi_runtime::admin;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use connections::TlsMinVersion;
pub use readiness::Readiness;
pub use routes::{
    AdmissionState, MAX_BODY_BYTES, MUTATE_PATH, OTHER_NAMESPACE_LABEL, VALIDATE_WORKLOADS_PATH,
    admission_router,
};

use crate::{
    metrics::Metrics,
    serviceaccount::{ServiceAccountLookup, SourceStatus},
};

/// The three bound listeners; binding is the caller's, so tests can use
/// port 0 on loopback.
#[derive(Debug)]
pub struct Listeners {
    /// HTTPS, serving [`MUTATE_PATH`] and [`VALIDATE_WORKLOADS_PATH`].
    pub webhook: TcpListener,
    /// Plain HTTP, serving `/healthz` and `/readyz`.
    pub health: TcpListener,
    /// Plain HTTP, serving `/metrics`.
    pub metrics: TcpListener,
}

/// The default cap on open admission connections (`--max-connections`).
///
/// Sized for the deployment's 256 MiB memory limit: an idle TLS connection
/// costs the process about 25 KiB (300 of them raised resident memory by
/// 7.5 MiB in `tests/attacks.rs`), so 1,000 cost about 25 MiB and leave the
/// rest of the limit to the 16 MiB body budget and the parsing it admits;
/// a connection that sends headers costs more (hyper's read buffer), but
/// only for the header-read timeout. The API server keeps a few
/// connections per replica alive, far below the cap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_000;

/// Timing and TLS settings of the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Lowest TLS version accepted.
    pub tls_min_version: TlsMinVersion,
    /// How long a client may take to send request headers.
    pub header_read_timeout: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// How long writing a response may wait for a client that does not
    /// read it; then the connection is closed, with the rest of the
    /// response. The clock runs from the first write the client keeps
    /// waiting until everything written has been taken, so a client
    /// reading a trickle at a time gets no longer than one reading nothing.
    /// Applies to every listener.
    pub response_write_timeout: Duration,
    /// Connections open at once on the admission listener, from accept to
    /// close (the health and metrics listeners have their own, uncapped).
    /// At the cap no more are accepted: new ones wait in the kernel's
    /// listen backlog until one closes, which costs the process nothing,
    /// where each accepted TLS connection costs it memory (see
    /// `--max-connections`).
    pub max_connections: usize,
    /// How long to keep serving, unready, after being asked to stop.
    pub shutdown_delay: Duration,
    /// How long one admission may take from its headers to its response,
    /// body upload included: a body that has not arrived by then gets 408
    /// and the connection is closed, so a stalled or trickling upload
    /// cannot hold a connection and its buffer. The API server gives up
    /// after the webhook configuration's `timeoutSeconds` (10 s in
    /// `deploy/`), so a little more than that loses nothing it would wait
    /// for.
    pub request_timeout: Duration,
    /// After the listeners close, how long in-flight requests get to
    /// finish; connections still open then are closed, so shutdown always
    /// ends (before the kubelet's SIGKILL).
    pub drain_timeout: Duration,
    /// Bytes of request bodies buffered at once across all admissions
    /// (never less than one maximal body); past it, 503 with Retry-After.
    pub max_buffered_body_bytes: usize,
}

impl ServerOptions {
    fn timeouts(&self) -> connections::Timeouts {
        connections::Timeouts {
            header_read: self.header_read_timeout,
            handshake: self.handshake_timeout,
            write: self.response_write_timeout,
            drain: self.drain_timeout,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            tls_min_version: TlsMinVersion::default(),
            header_read_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            response_write_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_delay: Duration::from_secs(5),
            request_timeout: Duration::from_secs(12),
            drain_timeout: Duration::from_secs(10),
            max_buffered_body_bytes: 16 << 20,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The TLS configuration was refused (for example no usable protocol version).
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The thread serving `--health-addr` could not be started.
    #[error("cannot start the thread serving --health-addr: {0}")]
    HealthThread(std::io::Error),
}

/// Runs the server until `stop` is cancelled, then shuts down as described
/// in the module docs.
///
/// `certificates` resolves the serving certificate at every handshake, so a
/// reloaded pair takes effect for new connections at once.
pub async fn run<L: ServiceAccountLookup>(
    listeners: Listeners,
    state: Arc<AdmissionState<L>>,
    readiness: Readiness,
    certificates: Arc<dyn rustls::server::ResolvesServerCert>,
    options: ServerOptions,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    let acceptor = connections::tls_acceptor(certificates, options.tls_min_version)?;
    let timeouts = options.timeouts();
    let serving = CancellationToken::new();
    let health = serve_health_on_own_thread(
        listeners.health,
        health_router(&readiness),
        timeouts,
        serving.clone(),
    )?;
    let webhook = tokio::spawn(connections::serve(
        listeners.webhook,
        with_request_limits(admission_router(Arc::clone(&state)), &options),
        Some(acceptor),
        timeouts,
        Some(options.max_connections),
        serving.clone(),
    ));
    let metrics = tokio::spawn(connections::serve(
        listeners.metrics,
        admin::metrics_router(Arc::clone(&state.metrics)),
        None,
        timeouts,
        None,
        serving.clone(),
    ));

    // Readiness and the cache size gauge follow the ServiceAccount source
    // as it reports changes, until asked to stop.
    tokio::select! {
        () = stop.cancelled() => {}
        () = follow_service_accounts(state.service_accounts.status(), &readiness, &state.metrics) => {
            stop.cancelled().await;
        }
    }

    tracing::info!(delay = ?options.shutdown_delay, "shutting down: unready, still serving");
    readiness.set_shutting_down();
    tokio::time::sleep(options.shutdown_delay).await;
    tracing::info!("closing listeners and draining in-flight requests");
    serving.cancel();
    for task in [webhook, metrics] {
        if let Err(error) = task.await {
            tracing::error!(%error, "a listener task failed");
        }
    }
    if health.await.is_err() {
        tracing::error!("the health listener's thread failed");
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The router of the plain-HTTP health listener: the process shell's
/// `/healthz`, and its `/readyz` over the webhook's conditions.
pub fn health_router(readiness: &Readiness) -> axum::Router {
    admin::healthz_router().merge(admin::readyz_router(readiness.process().clone()))
}

/// Serves the health listener on a thread of its own, with a runtime of its
/// own, until `stop` is cancelled; the receiver resolves when it is done.
///
/// The kubelet's readinessProbe gives `/readyz` one second, and a single
/// failure takes the replica out of the Service: probes must be answered
/// however busy the admission workers are (parsing large reviews, building
/// large patches). The listener is moved to the thread's runtime, so its
/// sockets are polled there and not by the busy workers.
fn serve_health_on_own_thread(
    listener: TcpListener,
    router: axum::Router,
    timeouts: connections::Timeouts,
    stop: CancellationToken,
) -> Result<tokio::sync::oneshot::Receiver<()>, ServeError> {
    let listener = listener.into_std().map_err(ServeError::HealthThread)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::HealthThread)?;
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("health".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => {
                        connections::serve(listener, router, None, timeouts, None, stop).await;
                    }
                    Err(error) => tracing::error!(%error, "cannot serve the health listener"),
                }
            });
            let _ = done.send(());
        })
        .map_err(ServeError::HealthThread)?;
    Ok(finished)
}

/// The admission listener's per-request limits around `router`: the
/// request deadline and the request-body budget.
fn with_request_limits(router: axum::Router, options: &ServerOptions) -> axum::Router {
    // One stack, applied once (see `admission_router`).
    router.layer(
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                budget::BodyBudget::new(options.max_buffered_body_bytes),
                budget::limit,
            ))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                options.request_timeout,
            )),
    )
}

/// Serves `router` over HTTPS on `listener` with the TLS settings, timeouts,
/// connection handling and per-request limits of [`run`]'s admission
/// listener, until `stop` is cancelled; then closes the listener and lets
/// in-flight requests finish.
///
/// For measuring the server itself: the load benchmark serves
/// [`admission_router`] plus a no-op route through it, so both routes share
/// one listener and every cost but the admission's own.
pub async fn serve_https(
    listener: TcpListener,
    router: axum::Router,
    certificates: Arc<dyn rustls::server::ResolvesServerCert>,
    options: &ServerOptions,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    let acceptor = connections::tls_acceptor(certificates, options.tls_min_version)?;
    connections::serve(
        listener,
        with_request_limits(router, options),
        Some(acceptor),
        options.timeouts(),
        Some(options.max_connections),
        stop,
    )
    .await;
    Ok(())
}

/// Mirrors every status the ServiceAccount source pushes into `/readyz` and
/// the cache size gauge; returns when the source will report no more.
async fn follow_service_accounts(
    mut status: tokio::sync::watch::Receiver<SourceStatus>,
    readiness: &Readiness,
    metrics: &Metrics,
) {
    loop {
        let now = *status.borrow_and_update();
        readiness.set_service_accounts_synced(now.synced);
        metrics.set_cache_size(now.len);
        if status.changed().await.is_err() {
            return;
        }
    }
}
