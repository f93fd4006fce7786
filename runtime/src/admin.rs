//! The admin endpoints: `/healthz` (the process answers), `/readyz` (it
//! can do its job: [`Readiness`]) and `/metrics` (a `prometheus-client`
//! registry in the OpenMetrics text format), as routers a binary serves on
//! one port or several.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    routing::get,
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Error, Readiness};

/// The content type of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Anything that holds the process's metrics registry.
pub trait EncodeMetrics: Send + Sync + 'static {
    /// The registry to encode.
    fn registry(&self) -> &Registry;

    /// The registry in the OpenMetrics text format.
    fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, self.registry());
        text
    }
}

impl EncodeMetrics for Registry {
    fn registry(&self) -> &Registry {
        self
    }
}

/// `/healthz`: 200 `ok` while the process serves HTTP at all.
pub fn healthz_router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

/// `/readyz`: 200 `ok`, or 503 `not ready: ` and every reason.
pub fn readyz_router(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/readyz",
            get(|State(readiness): State<Readiness>| async move {
                match readiness.check() {
                    Ok(()) => (StatusCode::OK, "ok".to_owned()),
                    Err(reasons) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready: {reasons}"),
                    ),
                }
            }),
        )
        .with_state(readiness)
}

/// `/metrics` of `metrics`.
pub fn metrics_router<M: EncodeMetrics>(metrics: Arc<M>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(metrics): State<Arc<M>>| async move {
                (
                    [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
                    metrics.encode(),
                )
            }),
        )
        .with_state(metrics)
}

/// Binds `value` for `flag`: `HOST:PORT`, `IP:PORT`, or `:PORT` for every
/// interface as in Go (dual-stack where IPv6 exists, IPv4 otherwise).
///
/// # Errors
///
/// [`Error::Address`] naming the flag, the value and why.
pub async fn bind(flag: &'static str, value: &str) -> Result<TcpListener, Error> {
    let error = |reason: String| Error::Address {
        flag,
        value: value.to_owned(),
        reason,
    };
    if let Some(port) = value.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| error("expected :PORT or HOST:PORT".into()))?;
        return match TcpListener::bind(SocketAddr::from(([0u16; 8], port))).await {
            Ok(listener) => Ok(listener),
            Err(_) => TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
                .await
                .map_err(|e| error(e.to_string())),
        };
    }
    let address: SocketAddr = value
        .parse()
        .map_err(|_| error("expected :PORT or IP:PORT".into()))?;
    TcpListener::bind(address)
        .await
        .map_err(|e| error(e.to_string()))
}

/// Binds `port` on `ip` for `flag`, a flag that names only the port while
/// another flag gives the interface (the Azure CSI provider's
/// `--healthz-port` with `--http-address`).
///
/// # Errors
///
/// [`Error::Address`] naming the flag, the port and the address it could
/// not listen on.
pub async fn bind_port(flag: &'static str, ip: IpAddr, port: u16) -> Result<TcpListener, Error> {
    TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| Error::Address {
            flag,
            value: port.to_string(),
            reason: format!("cannot listen on {ip}:{port}: {e}"),
        })
}

/// Serves `router` on `listener` until `stop` is cancelled.
///
/// # Errors
///
/// [`Error::Serve`] when accepting fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> Result<(), Error> {
    let address = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    axum::serve(listener, router)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .map_err(|source| Error::Serve { address, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get_text(address: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    #[tokio::test]
    async fn readyz_follows_readiness_and_metrics_encode_the_registry() {
        let readiness = Readiness::default();
        let synced = readiness.condition("caches not synced");
        let mut registry = Registry::default();
        let counter = prometheus_client::metrics::counter::Counter::<u64>::default();
        registry.register("things", "Things done", counter.clone());
        counter.inc();
        let router = healthz_router()
            .merge(readyz_router(readiness.clone()))
            .merge(metrics_router(Arc::new(registry)));
        let listener = bind("--metrics-addr", "127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, router, stop.clone()));

        assert_eq!(get_text(address, "/healthz").await, (200, "ok".into()));
        assert_eq!(
            get_text(address, "/readyz").await,
            (503, "not ready: caches not synced".into())
        );
        synced.set(true);
        assert_eq!(get_text(address, "/readyz").await, (200, "ok".into()));
        let (status, metrics) = get_text(address, "/metrics").await;
        assert_eq!(status, 200);
        assert!(metrics.contains("things_total 1"), "{metrics}");

        stop.cancel();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_port_in_use_names_its_flag_and_the_address() {
        let taken = bind_port("--healthz-port", [127, 0, 0, 1].into(), 0)
            .await
            .unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = bind_port("--healthz-port", [127, 0, 0, 1].into(), port)
            .await
            .unwrap_err()
            .to_string();
        let expected = format!("--healthz-port {port}: cannot listen on 127.0.0.1:{port}: ");
        assert!(error.starts_with(&expected), "{error}");
    }

    #[tokio::test]
    async fn a_bad_address_names_its_flag() {
        let error = bind("--metrics-addr", "localhost").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "--metrics-addr localhost: expected :PORT or IP:PORT"
        );
    }
}
