//! The provider's plain-HTTP health port (8989, as the Azure provider's):
//! `/healthz` for kubelet's liveness probe and `/readyz`. `/metrics` is the
//! process shell's ([`azure_wi_runtime::admin::metrics_router`]) on its own
//! port.
//!
//! `/healthz` answers 200 only when the provider socket itself serves a
//! `grpc.health.v1` check within the timeout: a process that answers HTTP
//! while the socket the driver dials is gone is not healthy.
//!
//! `/readyz` is the process shell's: unready until the socket has first
//! answered that check ([`ready_once_serving`]), and again for good once
//! shutdown begins, while in-flight mounts finish.

use std::{path::PathBuf, sync::Arc, time::Duration};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use azure_wi_runtime::{Condition, Readiness, admin};

use crate::server::health_check;

/// What `/readyz` says until the provider socket serves.
pub const NOT_SERVING: &str = "provider socket not serving";

/// Where the process shell serves readiness, on the health port too.
const READYZ_PATH: &str = "/readyz";

/// How often [`ready_once_serving`] asks the socket while it does not answer
/// yet: the socket is bound before the check starts, so the first attempt
/// normally succeeds, and a retry costs one connection attempt.
const SERVING_POLL: Duration = Duration::from_millis(50);

/// What `/healthz` checks.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    /// The provider socket.
    pub socket: PathBuf,
    /// How long the gRPC check may take.
    pub timeout: Duration,
}

/// A `--healthz-path` the health port cannot serve.
#[derive(Debug, thiserror::Error)]
#[error("--healthz-path {value:?}: {reason}")]
pub struct HealthzPathError {
    /// As given.
    pub value: String,
    /// Why it cannot be served.
    pub reason: &'static str,
}

/// The health port's router: `/healthz` at `path` (`--healthz-path`) runs
/// `check`; `/readyz` reports `readiness`.
///
/// # Errors
///
/// [`HealthzPathError`] when `path` does not start with `/` or is
/// `/readyz`, which the router could not serve (the router would panic).
pub fn router(
    path: &str,
    check: HealthCheck,
    readiness: Readiness,
) -> Result<Router, HealthzPathError> {
    let refused = |reason| HealthzPathError {
        value: path.to_owned(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(refused("a path starts with /"));
    }
    if path == READYZ_PATH {
        return Err(refused(
            "/readyz reports readiness on the same port; choose another path",
        ));
    }
    Ok(Router::new()
        .route(path, get(healthz))
        .with_state(Arc::new(check))
        .merge(admin::readyz_router(readiness)))
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

/// Sets `serving` once the socket in `check` answers a `grpc.health.v1`
/// check, asking again until it does. Ready means the socket the driver
/// dials serves, which the gRPC server's start alone does not prove.
pub async fn ready_once_serving(check: HealthCheck, serving: Condition) {
    while let Err(reason) = health_check(&check.socket, check.timeout).await {
        tracing::debug!(%reason, "the provider socket does not serve yet");
        tokio::time::sleep(SERVING_POLL).await;
    }
    tracing::info!("the provider socket serves: ready");
    serving.set(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> HealthCheck {
        HealthCheck {
            socket: PathBuf::from("/nonexistent/azure.sock"),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn healthz_paths_the_port_cannot_serve_are_refused_with_the_reason() {
        for (path, reason) in [
            (
                "healthz",
                "--healthz-path \"healthz\": a path starts with /",
            ),
            (
                "/readyz",
                "--healthz-path \"/readyz\": /readyz reports readiness on the same port",
            ),
        ] {
            let error = router(path, check(), Readiness::default())
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(reason), "{error}");
        }
        assert!(router("/healthz", check(), Readiness::default()).is_ok());
        assert!(router("/live", check(), Readiness::default()).is_ok());
    }
}
