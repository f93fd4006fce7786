//! `azure-wi-csi-provider`: the provider process a DaemonSet runs on every
//! node beside the Secrets Store CSI Driver.
//!
//! It serves the driver's gRPC socket (`--endpoint`), `/healthz` and
//! `/readyz` (`--healthz-port`) and `/metrics` (`--prometheus-port`), and
//! stops cleanly on SIGTERM or SIGINT: unready at once, in-flight mounts
//! finished, its socket removed.
//! Flags keep the Azure provider's names and defaults where they exist, so
//! its DaemonSet's arguments carry over. Exit codes: 0 stopped on a signal,
//! 2 could not start or serve.

use std::{process::ExitCode, sync::Arc, time::Duration};

use azure_wi_auth::transport::ReqwestTransport;
use azure_wi_csi_provider::{
    http::{self, HealthCheck, HealthzPathError},
    identity_binding,
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    server,
    share::ShareWindow,
    shared_reads::SharedReads,
};
use azure_wi_runtime::{Readiness, admin, log, signal};
use clap::{ArgAction, Parser};
use tokio_util::sync::CancellationToken;

/// Exit code for "could not start or serve".
const EXIT_FAILED: u8 = 2;

/// Azure Key Vault provider for the Secrets Store CSI Driver, with
/// workload identity.
#[derive(Debug, Parser)]
#[command(name = "azure-wi-csi-provider", version, about)]
struct Args {
    /// The provider socket: `unix://` and a path. The driver finds
    /// `<dir>/azure.sock` in `/var/run/secrets-store-csi-providers`, mounted
    /// at `/provider` in the provider's pod.
    #[arg(
        long,
        value_name = "URL",
        default_value = "unix:///provider/azure.sock"
    )]
    endpoint: String,
    /// Port of the HTTP health endpoint.
    #[arg(long, value_name = "PORT", default_value_t = 8989)]
    healthz_port: u16,
    /// Path of the HTTP health endpoint.
    #[arg(long, value_name = "PATH", default_value = "/healthz")]
    healthz_path: String,
    /// How long the health endpoint's gRPC check of the socket may take.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    healthz_timeout: Duration,
    /// Port of the Prometheus `/metrics` endpoint.
    #[arg(long, value_name = "PORT", default_value_t = 8898)]
    prometheus_port: u16,
    /// Metrics backend; Prometheus is the only one.
    #[arg(long, value_name = "NAME", default_value = "Prometheus", value_parser = ["Prometheus", "prometheus"])]
    metrics_backend: String,
    /// Address the health and metrics ports listen on.
    #[arg(long, value_name = "IP", default_value = "0.0.0.0")]
    http_address: std::net::IpAddr,
    /// Certificates are always written leaf first, then the chain; kept so
    /// the Azure provider's arguments are accepted. Only `true` is valid.
    #[arg(long, value_name = "BOOL", default_value = "true", value_parser = only_true,
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    construct_pem_chain: bool,
    /// Also write a certificate's secret as `<file>.crt` (its
    /// certificates) and `<file>.key` (its keys), beside the usual file, as
    /// the Azure provider's flag of this name does.
    #[arg(long, value_name = "BOOL", default_value = "false", value_parser = go_bool,
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    write_cert_and_key_in_separate_files: bool,
    /// Concurrent Key Vault requests per vault, across all mounts on the
    /// node, so a rotation sweep cannot stampede a vault.
    #[arg(long, value_name = "N", default_value_t = MountOptions::default().per_vault_concurrency)]
    per_vault_concurrency: usize,
    /// How long a Key Vault read serves the other mounts that ask for the
    /// same object version (or the latest) as the same Entra identity (the
    /// access token's object id, got by each pod's own exchange): the
    /// replicas of a Deployment, in a rotation sweep, share one GET per
    /// object. A version written meanwhile is served by the next read
    /// after the window. 0s turns sharing off; at most 1m, and keep it
    /// shorter than the driver's --rotation-poll-interval.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = share_window)]
    read_sharing_window: ShareWindow,
    /// How long one mount may take, throttling waits included; kubelet
    /// retries a failed mount.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    mount_timeout: Duration,
    /// The identity-binding token proxy for mounts with
    /// `useAzureTokenProxy: "true"` (the Azure provider's flag).
    #[arg(long, value_name = "URL", default_value = identity_binding::DEFAULT_TOKEN_PROXY_URL)]
    token_proxy_url: String,
    /// The token proxy's TLS name; computed from the API server's
    /// certificate when empty, as the Azure provider computes it.
    #[arg(long, value_name = "NAME", default_value = "")]
    sni_name: String,
    /// Log filter: a level (error, warn, info, debug, trace) or a tracing
    /// directive list. Logs are JSON on stderr and never hold a token or a
    /// secret value.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
    /// klog verbosity of the Azure provider's arguments: 0-3 keep
    /// --log-level, 4 and above mean debug.
    #[arg(short = 'v', value_name = "N", default_value_t = 0)]
    verbosity: u8,
}

fn share_window(value: &str) -> Result<ShareWindow, String> {
    let window = humantime::parse_duration(value).map_err(|e| e.to_string())?;
    ShareWindow::new(window).map_err(|e| e.to_string())
}

fn only_true(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        _ => {
            Err("this provider always builds the PEM chain (leaf first); only true is valid".into())
        }
    }
}

/// A boolean flag value as Go's `flag.Bool` reads it (`strconv.ParseBool`),
/// so the Azure provider's arguments carry over in any of its spellings.
fn go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// Why the provider could not start or stopped on an error: exit code 2.
#[derive(Debug, thiserror::Error)]
enum RunError {
    /// A flag the process shell refused, or an HTTP port that failed.
    #[error(transparent)]
    Shell(#[from] azure_wi_runtime::Error),
    /// The endpoint, the socket, Key Vault client set-up or serving gRPC.
    #[error(transparent)]
    Provider(#[from] azure_wi_csi_provider::Error),
    /// The Key Vault client's transport (`AZURE_WI_EXTRA_CA_FILE`).
    #[error(transparent)]
    KeyVault(#[from] azure_wi_auth::Error),
    #[error(transparent)]
    HealthzPath(#[from] HealthzPathError),
    #[error("cannot read the address {flag} listens on: {source}")]
    LocalAddress {
        flag: &'static str,
        source: std::io::Error,
    },
    #[error("an HTTP server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = if args.verbosity >= 4 {
        "debug"
    } else {
        args.log_level.as_str()
    };
    if let Err(error) = log::init(level, log::Output::Stderr) {
        eprintln!("azure-wi-csi-provider: {error}");
        return ExitCode::from(EXIT_FAILED);
    }
    let ran = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)
        .and_then(|runtime| runtime.block_on(run(&args)));
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "stopped");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn run(args: &Args) -> Result<(), RunError> {
    let socket = server::endpoint_path(&args.endpoint)?;
    let readiness = Readiness::default();
    let serving = readiness.condition(http::NOT_SERVING);
    let check = HealthCheck {
        socket: socket.clone(),
        timeout: args.healthz_timeout,
    };
    let health_routes = http::router(&args.healthz_path, check.clone(), readiness.clone())?;
    let api_port = std::env::var("KUBERNETES_SERVICE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(443);
    let token_proxy = identity_binding::token_proxy(
        &args.token_proxy_url,
        &args.sni_name,
        std::path::Path::new(identity_binding::DEFAULT_CA_FILE),
        (identity_binding::API_SERVER_HOST, api_port),
    )
    .await;
    match &token_proxy {
        Ok(proxy) => tracing::info!(
            token_proxy = %proxy.url(),
            sni = proxy.sni().unwrap_or_default(),
            "identity binding mounts use this token proxy"
        ),
        Err(reason) => tracing::info!(%reason, "identity binding mounts will fail: no token proxy"),
    }
    let mut vault = AzureKeyVault::new()?.with_token_proxy(token_proxy)?;
    if args.read_sharing_window.is_on() {
        // Key Vault requests on a client of their own, behind the share.
        vault = vault.with_key_vault_transport(SharedReads::new(
            ReqwestTransport::from_env()?,
            args.read_sharing_window,
        ));
    }
    let mounter = Arc::new(Mounter::new(
        vault,
        MountOptions {
            per_vault_concurrency: args.per_vault_concurrency,
            deadline: args.mount_timeout,
            write_cert_and_key_in_separate_files: args.write_cert_and_key_in_separate_files,
            ..MountOptions::default()
        },
    ));
    let metrics = Arc::new(Metrics::new());
    let healthz = admin::bind_port("--healthz-port", args.http_address, args.healthz_port).await?;
    let prometheus =
        admin::bind_port("--prometheus-port", args.http_address, args.prometheus_port).await?;
    let listener = server::bind(&socket)?;
    let local = |flag, listener: &tokio::net::TcpListener| {
        listener
            .local_addr()
            .map_err(|source| RunError::LocalAddress { flag, source })
    };
    tracing::info!(
        socket = %socket.display(),
        healthz = %local("--healthz-port", &healthz)?,
        metrics = %local("--prometheus-port", &prometheus)?,
        version = server::RUNTIME_VERSION,
        write_cert_and_key_in_separate_files = args.write_cert_and_key_in_separate_files,
        read_sharing_window = ?args.read_sharing_window.duration(),
        "serving"
    );

    let stop = signal::shutdown_token();
    // The HTTP ports outlive the gRPC server's drain, so `/readyz` says
    // "shutting down" while in-flight mounts finish.
    let http_stop = CancellationToken::new();
    let health_server = tokio::spawn(admin::serve(healthz, health_routes, http_stop.clone()));
    let metrics_server = tokio::spawn(admin::serve(
        prometheus,
        admin::metrics_router(Arc::clone(&metrics)),
        http_stop.clone(),
    ));
    let ready = tokio::spawn(http::ready_once_serving(check, serving));
    let shutdown = {
        let (stop, readiness) = (stop.clone(), readiness.clone());
        async move {
            stop.cancelled().await;
            readiness.set_shutting_down();
        }
    };
    let served = server::serve(listener, mounter, metrics, shutdown).await;
    // Whatever ended the gRPC server ends the HTTP ones.
    readiness.set_shutting_down();
    ready.abort();
    stop.cancel();
    let _ = std::fs::remove_file(&socket);
    http_stop.cancel();
    for finished in [health_server.await, metrics_server.await] {
        finished??;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}
