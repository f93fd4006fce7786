//! The accept loop shared by the webhook, health and metrics listeners.
//!
//! Each connection is served by hyper's HTTP/1.1 server with a header-read
//! timeout (slow clients are cut off) and a write deadline (clients that do
//! not read their response are cut off), optionally behind TLS with a
//! bounded handshake.
//!
//! A listener may cap its open connections. At the cap it stops accepting:
//! new connections wait in the kernel's listen backlog (1,024 with tokio's
//! `bind`; past it the kernel drops new SYNs and clients retry), which
//! costs the process nothing, until a connection closes. Waiting serves
//! good traffic better than accepting and closing at once: an API server
//! connection that arrives during a burst of idle connections is served a
//! few seconds later, when the header-read timeout has closed them, instead
//! of failing.
//!
//! On shutdown the listener is closed first, then every open connection
//! finishes the request it is serving and closes, or is closed at the end
//! of the drain time; the loop returns once all of them are done.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tokio_rustls::TlsAcceptor;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::write_deadline::WriteDeadline;

/// How often reaching the connection cap is logged at most, so an attack
/// does not turn into a flood of log lines.
const CAP_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Timeouts applied to every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// How long a client may take to send a request's headers.
    pub(crate) header_read: Duration,
    /// How long a TLS handshake may take.
    pub(crate) handshake: Duration,
    /// How long writing may wait for a client that does not read.
    pub(crate) write: Duration,
    /// How long a connection may take to finish its request once shutdown
    /// began; then it is closed.
    pub(crate) drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains.
/// With `max_connections`, at most that many connections are open at once
/// (from accept, through the TLS handshake, to close).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    max_connections: Option<usize>,
    shutdown: CancellationToken,
) {
    let connections = TaskTracker::new();
    let local = listener.local_addr().ok();
    let slots = max_connections.map(|n| Arc::new(Semaphore::new(n.max(1))));
    let mut last_warned: Option<Instant> = None;
    loop {
        // A slot first, then accept: at the cap, new connections wait in
        // the listen backlog rather than in memory.
        let slot = match &slots {
            Some(slots) => match take_slot(slots, &mut last_warned, &shutdown).await {
                Some(slot) => Some(slot),
                None => break,
            },
            None => None,
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = serve_connection(
            stream,
            peer,
            router.clone(),
            tls.clone(),
            timeouts,
            shutdown.clone(),
        );
        connections.spawn(async move {
            connection.await;
            // The slot is given back when the connection is gone.
            drop(slot);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    tracing::debug!(addr = ?local, "listener drained");
}

/// Waits for a free connection slot, logging (at most every
/// [`CAP_WARNING_INTERVAL`]) when there is none; `None` on shutdown.
async fn take_slot(
    slots: &Arc<Semaphore>,
    last_warned: &mut Option<Instant>,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
        return Some(slot);
    }
    if last_warned.is_none_or(|at| at.elapsed() >= CAP_WARNING_INTERVAL) {
        *last_warned = Some(Instant::now());
        tracing::warn!(
            "at the connection cap (--max-connections); new connections wait in the listen \
             backlog until one closes"
        );
    }
    tokio::select! {
        () = shutdown.cancelled() => None,
        slot = Arc::clone(slots).acquire_owned() => {
            Some(slot.expect("the connection semaphore is never closed"))
        }
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    shutdown: CancellationToken,
) {
    let stream = WriteDeadline::new(stream, timeouts.write);
    match tls {
        Some(acceptor) => {
            match tokio::time::timeout(timeouts.handshake, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => http1(stream, router, timeouts, shutdown).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        None => http1(stream, router, timeouts, shutdown).await,
    }
}

async fn http1<S>(stream: S, router: Router, timeouts: Timeouts, shutdown: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = shutdown.cancelled() => {
            // Finish the request in progress, then close; a request that
            // does not finish within the drain time (a stalled upload) is
            // dropped with its connection, so shutdown always ends.
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(timeouts.drain, connection).await {
                Ok(Err(error)) => {
                    tracing::debug!(%error, "connection ended with an error while draining");
                }
                Ok(Ok(())) => {}
                Err(_) => tracing::warn!(drain = ?timeouts.drain, "closed a connection still open at the end of the drain"),
            }
        }
    }
}

/// Builds the TLS acceptor: certificates come from `resolver` at every
/// handshake, so a reloaded pair is used by new connections at once.
pub(crate) fn tls_acceptor(
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
    min_version: TlsMinVersion,
) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match min_version {
        TlsMinVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsMinVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Lowest TLS version the webhook accepts (`--tls-min-version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMinVersion {
    /// TLS 1.2 and 1.3.
    V1_2,
    /// TLS 1.3 only, the default.
    #[default]
    V1_3,
}

impl std::str::FromStr for TlsMinVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1.2" => Ok(Self::V1_2),
            "1.3" => Ok(Self::V1_3),
            other => Err(format!(
                "unsupported TLS version {other:?}: expected 1.2 or 1.3"
            )),
        }
    }
}
