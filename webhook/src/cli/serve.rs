//! `webhook serve`: the admission server as deployed in a cluster.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use azure_wi_runtime::{admin, log, signal};
use clap::Args;
use tokio::net::TcpListener;
use webhook::{
    config::MutationConfig,
    metrics::Metrics,
    server::{self, AdmissionState, Listeners, Readiness, ServerOptions, TlsMinVersion},
    serviceaccount::{ClusterServiceAccounts, ServiceAccountLookup, StaticServiceAccounts},
    tls::{SelfManaged, WebhookResources, defaults},
};

use super::input;

/// Arguments of `webhook serve`. Environment variables and flag names are
/// those of the reference webhook.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    mutation: super::flags::MutationFlags,
    /// Namespace the webhook runs in (for its certificate Secret).
    #[arg(long, env = "POD_NAMESPACE", value_name = "NS")]
    pod_namespace: Option<String>,
    /// Directory holding the serving pair as `tls.crt` and `tls.key`.
    #[arg(long, value_name = "DIR", default_value = "/certs")]
    webhook_cert_dir: PathBuf,
    /// Use the certificate files as given (cert-manager or your own CA)
    /// instead of managing a CA and serving pair in a Secret.
    #[arg(long)]
    disable_cert_rotation: bool,
    /// Secret holding the self-managed CA and serving pair.
    #[arg(long, value_name = "NAME", default_value = defaults::SECRET_NAME)]
    webhook_secret_name: String,
    /// Service the API server calls; the serving certificate names it.
    #[arg(long, value_name = "NAME", default_value = defaults::SERVICE_NAME)]
    webhook_service_name: String,
    /// MutatingWebhookConfiguration whose caBundle is kept filled.
    #[arg(
        long,
        value_name = "NAME",
        default_value = defaults::WEBHOOK_CONFIGURATION_NAME
    )]
    webhook_config_name: String,
    /// ValidatingWebhookConfiguration (the warn-only workload check) whose
    /// caBundle is kept filled; an empty value leaves none.
    #[arg(
        long,
        value_name = "NAME",
        default_value = defaults::VALIDATING_WEBHOOK_CONFIGURATION_NAME
    )]
    validating_webhook_config_name: String,
    /// Extra DNS name or IP address for the self-managed serving
    /// certificate (repeatable), e.g. 127.0.0.1 for a URL webhook on loopback.
    #[arg(long = "extra-san", value_name = "NAME_OR_IP")]
    extra_sans: Vec<String>,
    /// Lowest TLS version accepted: 1.2 or 1.3.
    #[arg(long, value_name = "V", default_value = "1.3")]
    tls_min_version: TlsMinVersion,
    /// Address of the HTTPS admission endpoint.
    #[arg(long, value_name = "ADDR", default_value = ":9443")]
    webhook_addr: String,
    /// Address of /healthz and /readyz (plain HTTP).
    #[arg(long, value_name = "ADDR", default_value = ":9440")]
    health_addr: String,
    /// Address of /metrics (plain HTTP).
    #[arg(long, value_name = "ADDR", default_value = ":8095")]
    metrics_addr: String,
    /// Serve ServiceAccounts from this JSON or YAML file instead of a cluster.
    #[arg(long, value_name = "FILE")]
    service_accounts: Option<String>,
    /// How long to keep serving, unready, after SIGTERM before closing the
    /// listeners, so the API server stops sending here first.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    shutdown_delay: Duration,
    /// How long a client may take to send request headers.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    header_read_timeout: Duration,
    /// How long one admission may take, body upload included; past it the
    /// request gets 408 and its connection is closed. Keep it a little
    /// above the webhook configuration's timeoutSeconds.
    #[arg(long, value_name = "DURATION", default_value = "12s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// After the shutdown delay, how long in-flight requests get to finish
    /// before their connections are closed and the process exits.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// Bytes of request bodies buffered at once across all admissions
    /// (at least one 7 MiB body); past it, requests get 503 with
    /// Retry-After instead of growing the process toward its memory limit.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    max_buffered_body_bytes: usize,
    /// Connections open at once on the admission port; past it, new ones
    /// wait in the kernel's listen backlog until one closes. Each open TLS
    /// connection costs memory; the default keeps 1,000 of them well inside
    /// the deployment's 256 MiB limit. The health and metrics ports are not
    /// counted.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_CONNECTIONS, value_parser = at_least_one)]
    max_connections: usize,
    /// How long writing a response may wait for a client that does not
    /// read it; then the connection is closed. The API server has given up
    /// by then (timeoutSeconds, 10 s in deploy/).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    response_write_timeout: Duration,
    /// How often the certificate files are checked for a renewed pair.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    cert_reload_interval: Duration,
    /// How long a ServiceAccount GET may take on a cache miss.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    service_account_get_timeout: Duration,
}

/// Why the server could not start: exit code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error(transparent)]
    Flags(#[from] super::flags::FlagError),
    /// `--log-level` or an address flag refused by the process shell.
    #[error(transparent)]
    Shell(#[from] azure_wi_runtime::Error),
    #[error(
        "self-managed certificates need POD_NAMESPACE (the downward API sets it in the \
         Deployment); or pass --disable-cert-rotation to use {0} as given"
    )]
    MissingPodNamespace(PathBuf),
    #[error(transparent)]
    ServiceAccounts(#[from] input::ServiceAccountFileError),
    #[error("cannot reach the Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}: cannot choose how the IMDS proxy runs")]
    ServerVersion(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Server(#[from] server::ServeError),
}

/// Runs the server until SIGTERM or SIGINT.
pub(crate) fn run(args: &ServeArgs) -> Result<ExitCode, ServeError> {
    // On standard output, where the reference webhook's deployments
    // collect it.
    log::init(&args.mutation.log_level, log::Output::Stdout)?;
    // Checked before anything starts; made again once the API server's
    // version has chosen how the proxy runs.
    args.mutation.config(true, false)?;
    if !args.disable_cert_rotation && args.pod_namespace.as_deref().unwrap_or("").is_empty() {
        return Err(ServeError::MissingPodNamespace(
            args.webhook_cert_dir.clone(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let needs_cluster = args.service_accounts.is_none() || !args.disable_cert_rotation;
        let client = if needs_cluster {
            Some(kube::Client::try_default().await?)
        } else {
            None
        };
        let native_sidecar = match &client {
            Some(client) if args.service_accounts.is_none() => {
                let version = client.apiserver_version().await?;
                let native = webhook::config::native_sidecars(&version.git_version)
                    .map_err(ServeError::ServerVersion)?;
                tracing::info!(
                    server_version = %version.git_version,
                    native_sidecar = native,
                    "the IMDS proxy runs as a {}",
                    if native { "native sidecar (an init container that keeps running)" } else { "container" }
                );
                native
            }
            _ => false,
        };
        let config = args.mutation.config(true, native_sidecar)?;
        let rotation = match (&client, args.disable_cert_rotation) {
            (Some(client), false) => Some(SelfManaged::new(
                client.clone(),
                WebhookResources {
                    namespace: args.pod_namespace.clone().unwrap_or_default(),
                    secret: args.webhook_secret_name.clone(),
                    service: args.webhook_service_name.clone(),
                    webhook_configuration: args.webhook_config_name.clone(),
                    validating_webhook_configuration: args.validating_webhook_config_name.clone(),
                    extra_sans: args.extra_sans.clone(),
                },
                &args.webhook_cert_dir,
            )),
            _ => None,
        };
        if let Some(path) = &args.service_accounts {
            let accounts = load_service_accounts(path)?;
            return serve(args, config, accounts, rotation).await;
        }
        let client = client.expect("a client is made whenever no ServiceAccount file is given");
        let accounts = ClusterServiceAccounts::new(client, args.service_account_get_timeout);
        tokio::spawn(accounts.clone().run());
        serve(args, config, accounts, rotation).await
    })
}

async fn serve<L: ServiceAccountLookup>(
    args: &ServeArgs,
    config: MutationConfig,
    service_accounts: L,
    rotation: Option<SelfManaged>,
) -> Result<ExitCode, ServeError> {
    let listeners = Listeners {
        webhook: admin::bind("--webhook-addr", &args.webhook_addr).await?,
        health: admin::bind("--health-addr", &args.health_addr).await?,
        metrics: admin::bind("--metrics-addr", &args.metrics_addr).await?,
    };
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::default();
    let stop = signal::shutdown_token();
    if let Some(rotation) = rotation {
        tokio::spawn(rotation.run(stop.clone()));
    }

    let certificates = crate::cli::serving_certs::watch(
        &args.webhook_cert_dir,
        args.cert_reload_interval,
        Arc::clone(&metrics),
        readiness.clone(),
        stop.clone(),
    );
    let state = Arc::new(AdmissionState {
        config,
        service_accounts,
        metrics,
    });
    let options = ServerOptions {
        tls_min_version: args.tls_min_version,
        header_read_timeout: args.header_read_timeout,
        shutdown_delay: args.shutdown_delay,
        request_timeout: args.request_timeout,
        drain_timeout: args.drain_timeout,
        max_buffered_body_bytes: args.max_buffered_body_bytes,
        max_connections: args.max_connections,
        response_write_timeout: args.response_write_timeout,
        ..ServerOptions::default()
    };
    let local = |l: &TcpListener| l.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(
        webhook = %local(&listeners.webhook),
        health = %local(&listeners.health),
        metrics = %local(&listeners.metrics),
        "serving"
    );
    server::run(listeners, state, readiness, certificates, options, stop).await?;
    Ok(ExitCode::SUCCESS)
}

/// `--max-connections`: a count of at least 1 (0 would refuse every
/// admission).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1: 0 would accept no admission at all".to_owned()),
        Ok(n) => Ok(n),
        Err(error) => Err(format!("expected a whole number: {error}")),
    }
}

fn load_service_accounts(path: &str) -> Result<StaticServiceAccounts, ServeError> {
    Ok(StaticServiceAccounts::new(input::service_accounts(
        path, "default",
    )?))
}
