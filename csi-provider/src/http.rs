//! The provider's plain-HTTP side: `/healthz` for kubelet's probes and
//! `/metrics` for Prometheus, on the ports the Azure provider uses (8989
//! and 8898).
//!
//! `/healthz` answers 200 only when the provider socket itself serves a
//! `grpc.health.v1` check within the timeout: a process that answers HTTP
//! while the socket the driver dials is gone is not healthy.

use std::{path::PathBuf, sync::Arc, time::Duration};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};

use crate::{metrics::Metrics, server::health_check};

/// What `/healthz` checks.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    /// The provider socket.
    pub socket: PathBuf,
    /// How long the gRPC check may take.
    pub timeout: Duration,
}

/// The health router: `path` (`/healthz` by default) runs `check`.
pub fn health_router(path: &str, check: HealthCheck) -> Router {
    Router::new()
        .route(path, get(healthz))
        .with_state(Arc::new(check))
}

async fn healthz(State(check): State<Arc<HealthCheck>>) -> impl IntoResponse {
    match health_check(&check.socket, check.timeout).await {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(reason) => {
            tracing::warn!(%reason, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n"))
        }
    }
}

/// The metrics router: `/metrics` in Prometheus' text format.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}
