//! `secret-sync`: the controller process. `secret-sync run` reconciles
//! (as the leader, when `--leader-elect`); `secret-sync crds` prints the
//! CustomResourceDefinitions. Exit codes: 0 stopped on a signal, 2 could
//! not start or lost the lease.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use axum::{Router, routing::get};
use azure_wi_auth::{WorkloadIdentityCredential, WorkloadVaults};
use clap::{Parser, Subcommand};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use secret_sync::{
    api::crd,
    budget::KEY_VAULT_LIMIT,
    controller::{self, Context},
    fetch::Reader,
    lease,
};
use tokio_util::sync::CancellationToken;

/// External Secrets for Azure Key Vault, on workload identity.
#[derive(Debug, Parser)]
#[command(name = "secret-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reconcile SecretStores, ClusterSecretStores and ExternalSecrets.
    Run(RunArgs),
    /// Print the CustomResourceDefinitions (v1 stored, v1beta1 served).
    Crds,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// ExternalSecrets reconciled at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: u16,
    /// Key Vault requests per vault per 10 s, across all ExternalSecrets;
    /// Key Vault's own limit is 4,000.
    #[arg(long, value_name = "N", default_value_t = KEY_VAULT_LIMIT * 3 / 4)]
    vault_requests_per_10s: u32,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Reconcile only while holding the Lease (for more than one replica).
    #[arg(long)]
    leader_elect: bool,
    /// The Lease's namespace; by default POD_NAMESPACE.
    #[arg(
        long,
        env = "POD_NAMESPACE",
        value_name = "NS",
        default_value = "external-secrets"
    )]
    leader_elect_namespace: String,
    /// The Lease's name.
    #[arg(long, value_name = "NAME", default_value = "secret-sync-leader")]
    leader_elect_name: String,
    /// Log filter: a level or a tracing directive list. JSON on stderr,
    /// never a token or a secret value.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds => {
            print!("{}", crd::yaml());
            ExitCode::SUCCESS
        }
        Command::Run(args) => {
            if let Err(message) = init_logging(&args.log_level) {
                eprintln!("secret-sync: {message}");
                return ExitCode::from(2);
            }
            let _ = rustls::crypto::ring::default_provider().install_default();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the async runtime");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    tracing::error!(error = %message, "stopped");
                    ExitCode::from(2)
                }
            }
        }
    }
}

async fn run(args: RunArgs) -> Result<(), String> {
    let mut config = kube::Config::infer()
        .await
        .map_err(|e| format!("cannot reach the Kubernetes API: {e}"))?;
    // HTTPS_PROXY is for Entra ID and Key Vault (azure-wi-auth honours it);
    // kube-rs would take it for the API server too, which is reached
    // directly.
    config.proxy_url = None;
    let client = kube::Client::try_from(config)
        .map_err(|e| format!("cannot reach the Kubernetes API: {e}"))?;
    let vaults = WorkloadVaults::new().map_err(|e| e.to_string())?;
    // The controller's own identity, for stores without serviceAccountRef:
    // present when the webhook mutated this pod.
    let own = WorkloadIdentityCredential::from_env().ok();
    let controller_tenant = std::env::var(azure_wi_core::names::TENANT_ID_ENV).ok();
    let reader = Reader::new(vaults, own, None, args.vault_requests_per_10s);
    let ctx = Arc::new(Context::new(client.clone(), reader, controller_tenant));

    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    let metrics_ctx = Arc::clone(&ctx);
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(move || {
                let ctx = Arc::clone(&metrics_ctx);
                async move { metrics_text(&ctx) }
            }),
        );
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .map_err(|e| format!("--metrics-addr {}: {e}", args.metrics_addr))?;
    let http_stop = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(http_stop.cancelled_owned())
            .await;
    });

    if args.leader_elect {
        let me = std::env::var("POD_NAME")
            .unwrap_or_else(|_| format!("secret-sync-{}", std::process::id()));
        let leases: Api<Lease> = Api::namespaced(client, &args.leader_elect_namespace);
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                held = lease::try_hold(&leases, &args.leader_elect_name, &me) => {
                    if held.map_err(|e| format!("leader election: {e}"))? { break; }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        tracing::info!(holder = %me, "leading");
        let renew_stop = stop.clone();
        let renew_name = args.leader_elect_name.clone();
        tokio::spawn(async move {
            let mut last_renewed = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    () = renew_stop.cancelled() => return,
                    () = tokio::time::sleep(lease::RENEW_EVERY) => {}
                }
                match lease::try_hold(&leases, &renew_name, &me).await {
                    Ok(true) => last_renewed = tokio::time::Instant::now(),
                    Ok(false) | Err(_) if last_renewed.elapsed() >= lease::LEASE_DURATION => {
                        tracing::error!("lost the lease; stopping so another replica leads alone");
                        std::process::exit(2);
                    }
                    _ => {}
                }
            }
        });
    }
    tracing::info!(concurrency = args.concurrency, "reconciling");
    controller::run(ctx, args.concurrency, stop.clone()).await;
    Ok(())
}

fn metrics_text(ctx: &Context) -> String {
    format!(
        "# TYPE secret_sync_token_requests counter\nsecret_sync_token_requests_total {}\n\
         # TYPE secret_sync_key_vault_requests counter\nsecret_sync_key_vault_requests_total {}\n\
         # TYPE secret_sync_key_vault_throttled counter\nsecret_sync_key_vault_throttled_total {}\n\
         # TYPE secret_sync_syncs counter\nsecret_sync_syncs_total{{result=\"ok\"}} {}\nsecret_sync_syncs_total{{result=\"error\"}} {}\n# EOF\n",
        ctx.tokens.requests(),
        ctx.reader.requests(),
        ctx.reader.throttled(),
        ctx.metrics.synced_total(),
        ctx.metrics.failed_total(),
    )
}

fn init_logging(level: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("--log-level {level:?}: {e}"))?;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

async fn stop_on_signal(stop: CancellationToken) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::error!("cannot listen for SIGTERM");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = stop.cancelled() => return,
    }
    stop.cancel();
}
