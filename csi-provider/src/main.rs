//! `azure-wi-csi-provider`: the provider process a DaemonSet runs on every
//! node beside the Secrets Store CSI Driver.
//!
//! It serves the driver's gRPC socket (`--endpoint`), `/healthz` and
//! `/metrics`, and stops cleanly on SIGTERM or SIGINT, removing its socket.
//! Flags keep the Azure provider's names and defaults where they exist, so
//! its DaemonSet's arguments carry over. Exit codes: 0 stopped on a signal,
//! 2 could not start or serve.

use std::{
    net::{IpAddr, SocketAddr},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use azure_wi_csi_provider::{
    Error,
    http::{HealthCheck, health_router, metrics_router},
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    server,
};
use clap::{ArgAction, Parser};
use tokio::net::TcpListener;
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
    http_address: IpAddr,
    /// Certificates are always written leaf first, then the chain; kept so
    /// the Azure provider's arguments are accepted. Only `true` is valid.
    #[arg(long, value_name = "BOOL", default_value = "true", value_parser = only_true,
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    construct_pem_chain: bool,
    /// The certificate and its key are always written to one file; kept so
    /// the Azure provider's arguments are accepted. Only `false` is valid.
    #[arg(long, value_name = "BOOL", default_value = "false", value_parser = only_false,
          action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    write_cert_and_key_in_separate_files: bool,
    /// Concurrent Key Vault requests per vault, across all mounts on the
    /// node, so a rotation sweep cannot stampede a vault.
    #[arg(long, value_name = "N", default_value_t = MountOptions::default().per_vault_concurrency)]
    per_vault_concurrency: usize,
    /// How long one mount may take, throttling waits included; kubelet
    /// retries a failed mount.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    mount_timeout: Duration,
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

fn only_true(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        _ => {
            Err("this provider always builds the PEM chain (leaf first); only true is valid".into())
        }
    }
}

fn only_false(value: &str) -> Result<bool, String> {
    match value {
        "false" => Ok(false),
        _ => Err("this provider writes a certificate and its key to one file, as the SecretProviderClass object asks; only false is valid".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = if args.verbosity >= 4 {
        "debug"
    } else {
        args.log_level.as_str()
    };
    if let Err(message) = init_logging(level) {
        eprintln!("azure-wi-csi-provider: {message}");
        return ExitCode::from(EXIT_FAILED);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!(error = %message, "stopped");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let socket = server::endpoint_path(&args.endpoint).map_err(|e| e.to_string())?;
    let vault = AzureKeyVault::new().map_err(|e| e.to_string())?;
    let mounter = Arc::new(Mounter::new(
        vault,
        MountOptions {
            per_vault_concurrency: args.per_vault_concurrency,
            deadline: args.mount_timeout,
            ..MountOptions::default()
        },
    ));
    let metrics = Arc::new(Metrics::new());
    let healthz = bind("--healthz-port", args.http_address, args.healthz_port).await?;
    let prometheus = bind("--prometheus-port", args.http_address, args.prometheus_port).await?;
    let listener = server::bind(&socket).map_err(|e| e.to_string())?;
    tracing::info!(
        socket = %socket.display(),
        healthz = %healthz.local_addr().map_err(|e| e.to_string())?,
        metrics = %prometheus.local_addr().map_err(|e| e.to_string())?,
        version = server::RUNTIME_VERSION,
        "serving"
    );

    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    let health = health_router(
        &args.healthz_path,
        HealthCheck {
            socket: socket.clone(),
            timeout: args.healthz_timeout,
        },
    );
    let http = |listener: TcpListener, router: axum::Router| {
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        })
    };
    let health_server = http(healthz, health);
    let metrics_server = http(prometheus, metrics_router(Arc::clone(&metrics)));
    let served = server::serve(listener, mounter, metrics, stop.clone().cancelled_owned()).await;
    // Whatever ended the gRPC server ends the HTTP ones.
    stop.cancel();
    let _ = std::fs::remove_file(&socket);
    for finished in [health_server.await, metrics_server.await] {
        finished
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("HTTP server: {e}"))?;
    }
    served.map_err(|e: Error| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(flag: &str, address: IpAddr, port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(SocketAddr::new(address, port))
        .await
        .map_err(|e| format!("{flag} {port}: cannot listen on {address}:{port}: {e}"))
}

fn init_logging(level: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("--log-level {level:?}: {e}"))?;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

async fn stop_on_signal(stop: CancellationToken) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = stop.cancelled() => return,
    }
    stop.cancel();
}
