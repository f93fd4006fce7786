//! The gRPC shell: the provider socket and the `CSIDriverProvider`
//! service, plus `grpc.health.v1`.
//!
//! The driver dials `<dir>/<provider>.sock` with no transport security,
//! "secured only through filesystem ACLs", so the socket is created 0600
//! (the Azure provider does the same with umask 0077). It is bound under a
//! temporary name, chmod-ed, then renamed into place, so there is no moment
//! when the final path accepts connections with looser permissions.

use std::{
    future::Future,
    os::unix::fs::{FileTypeExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{
    Request, Response, Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{
    Error,
    metrics::Metrics,
    mount::Mounter,
    proto::{
        CSIDriverProvider, CSIDriverProviderServer, MountRequest, MountResponse, VersionRequest,
        VersionResponse,
    },
    vault::VaultObjects,
};

/// The provider API version, the only one the driver speaks.
pub const API_VERSION: &str = "v1alpha1";

/// `VersionResponse.runtime_name`: this crate, so driver logs tell it apart
/// from the Go provider (`secrets-store-csi-driver-provider-azure`).
pub const RUNTIME_NAME: &str = "azure-wi-csi-provider";

/// `VersionResponse.runtime_version`: the crate version (semver, as the
/// proto asks).
pub const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The socket path of an `--endpoint` such as `unix:///provider/azure.sock`.
///
/// # Errors
///
/// [`Error::InvalidEndpoint`] unless it is `unix://` followed by a path.
pub fn endpoint_path(endpoint: &str) -> Result<PathBuf, Error> {
    match endpoint.strip_prefix("unix://") {
        Some(path) if !path.is_empty() && !path.ends_with('/') => Ok(PathBuf::from(path)),
        _ => Err(Error::InvalidEndpoint {
            value: endpoint.to_owned(),
        }),
    }
}

/// Listens on `path` with mode 0600, replacing a stale socket left by a
/// previous run.
///
/// # Errors
///
/// [`Error::Socket`] when the path holds something other than a socket,
/// or binding, chmod or rename fails.
pub fn bind(path: &Path) -> Result<UnixListener, Error> {
    let failed = |what: &str, e: std::io::Error| Error::Socket {
        path: path.display().to_string(),
        reason: format!("{what}: {e}"),
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(|e| failed("removing the stale socket", e))?;
        }
        Ok(_) => {
            return Err(Error::Socket {
                path: path.display().to_string(),
                reason: "the path exists and is not a socket; refusing to delete it".to_owned(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed("inspecting the path", e)),
    }
    let file_name = path.file_name().ok_or_else(|| Error::Socket {
        path: path.display().to_string(),
        reason: "the path has no file name".to_owned(),
    })?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    // A leftover temporary from a crashed run with the same pid.
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary).map_err(|e| failed("binding", e))?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| failed("setting mode 0600", e))
        .and_then(|()| {
            std::fs::rename(&temporary, path).map_err(|e| failed("moving it into place", e))
        });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(listener)
}

/// A gRPC channel to the provider socket at `path`, as the driver dials
/// it (`:authority` localhost, no transport security): for the `/healthz`
/// check and for clients in tests and benchmarks.
///
/// # Errors
///
/// [`Error::Socket`] when nothing accepts connections there.
pub async fn connect(path: &Path) -> Result<Channel, Error> {
    let socket = path.to_owned();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                tokio::net::UnixStream::connect(socket)
                    .await
                    .map(TokioIo::new)
            }
        }))
        .await
        .map_err(|e| Error::Socket {
            path: path.display().to_string(),
            reason: format!("connecting: {e}"),
        })
}

/// Asks the provider at `path` for its `grpc.health.v1` status, as the
/// HTTP `/healthz` does: the process answering HTTP is not enough, the
/// socket the driver dials must serve.
///
/// # Errors
///
/// A sentence saying what failed: the connection, the call, the status
/// (anything but `SERVING`) or the `timeout`.
pub async fn health_check(path: &Path, timeout: Duration) -> Result<(), String> {
    let check = async {
        let channel = connect(path).await.map_err(|e| e.to_string())?;
        let status = tonic_health::pb::health_client::HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|e| format!("grpc.health.v1 Check failed: {}", e.message()))?
            .into_inner()
            .status();
        if status == ServingStatus::Serving {
            Ok(())
        } else {
            Err(format!("the provider reports {}", status.as_str_name()))
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .map_err(|_| format!("no health answer on {} within {timeout:?}", path.display()))?
}

/// The `CSIDriverProvider` service over a [`Mounter`].
#[derive(Debug)]
pub struct Provider<V> {
    mounter: Arc<Mounter<V>>,
    metrics: Arc<Metrics>,
}

impl<V> Provider<V> {
    /// The service for `mounter`, recording each mount in `metrics`.
    pub fn new(mounter: Arc<Mounter<V>>, metrics: Arc<Metrics>) -> Self {
        Self { mounter, metrics }
    }
}

#[tonic::async_trait]
impl<V: VaultObjects> CSIDriverProvider for Provider<V> {
    async fn version(
        &self,
        _request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        Ok(Response::new(VersionResponse {
            version: API_VERSION.to_owned(),
            runtime_name: RUNTIME_NAME.to_owned(),
            runtime_version: RUNTIME_VERSION.to_owned(),
        }))
    }

    async fn mount(
        &self,
        request: Request<MountRequest>,
    ) -> Result<Response<MountResponse>, Status> {
        let _in_flight = self.metrics.start();
        let started = Instant::now();
        let result = self.mounter.mount(request.get_ref()).await;
        self.metrics
            .finished(result.as_ref().map(|_| ()), started.elapsed());
        match result {
            Ok(response) => {
                tracing::info!(files = response.files.len(), "mounted");
                Ok(Response::new(response))
            }
            Err(e) => {
                // Error texts hold names and reasons only, never secrets.
                tracing::warn!(error = %e, reason = e.reason(), "mount failed");
                Err(e.to_status())
            }
        }
    }
}

/// Serves `CSIDriverProvider` and `grpc.health.v1` on `listener` until
/// `shutdown` completes, recording mounts in `metrics`.
///
/// # Errors
///
/// [`Error::Socket`] when the server stops on a transport error.
pub async fn serve<V: VaultObjects>(
    listener: UnixListener,
    mounter: Arc<Mounter<V>>,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let path = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
        .unwrap_or_default();
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<CSIDriverProviderServer<Provider<V>>>()
        .await;
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(CSIDriverProviderServer::new(Provider::new(
            mounter, metrics,
        )))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
        .map_err(|e| Error::Socket {
            path,
            reason: format!("serving gRPC: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_unix_paths() {
        assert_eq!(
            endpoint_path("unix:///provider/azure.sock").unwrap(),
            PathBuf::from("/provider/azure.sock")
        );
        assert_eq!(
            endpoint_path("unix://rel/azure.sock").unwrap(),
            PathBuf::from("rel/azure.sock")
        );
        for bad in [
            "",
            "/provider/azure.sock",
            "tcp://0.0.0.0:80",
            "unix://",
            "unix:///provider/",
        ] {
            let err = endpoint_path(bad).unwrap_err().to_string();
            assert!(err.contains("unix:///provider/azure.sock"), "{err}");
        }
    }

    #[tokio::test]
    async fn bind_refuses_to_delete_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azure.sock");
        std::fs::write(&path, "keep me").unwrap();
        let err = bind(&path).unwrap_err().to_string();
        assert!(err.contains("exists and is not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
        let missing_dir = dir.path().join("nope/azure.sock");
        assert!(
            bind(&missing_dir)
                .unwrap_err()
                .to_string()
                .contains("binding")
        );
    }
}
