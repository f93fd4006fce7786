//! `secret-sync`: the controller process. `secret-sync run` reconciles
//! (as the leader, when `--leader-elect`); `secret-sync crds` prints the
//! CustomResourceDefinitions; `secret-sync preflight` reads a cluster's
//! External Secrets objects and lists what would not be served (exit 0
//! all served, 1 not, 2 unreadable). Exit codes of `run`: 0 stopped on a
//! signal, 2 could not start (a flag or the kubeconfig is unusable).
//!
//! The process runs in the workspace's shell (`azure-wi-runtime`): JSON
//! logs, SIGTERM, `/healthz`, `/readyz` and `/metrics` on
//! `--metrics-addr`, and leader election whose lost term stops the
//! controllers and fences their writes. An API server that cannot be
//! reached makes the replica unready, never exit.

use std::{process::ExitCode, sync::Arc, time::Duration};

use azure_wi_auth::{WorkloadIdentityCredential, WorkloadVaults};
use azure_wi_runtime::{
    Readiness, admin,
    lease::{FenceLayer, LeaderElector, Leadership, Timings},
    log, signal,
};
use clap::{Parser, Subcommand};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use secret_sync::{
    api::crd,
    budget::KEY_VAULT_LIMIT,
    controller::{self, Context},
    fetch::Reader,
    process::{Health, StartError},
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long controllers get to finish the reconciles in flight once their
/// term is over or shutdown begins; their writes are fenced meanwhile, and
/// whatever is still running then is dropped.
const STOP_GRACE: Duration = Duration::from_secs(5);

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
    /// Read (get and list only) every SecretStore, ClusterSecretStore,
    /// ExternalSecret, ClusterExternalSecret and PushSecret and list what
    /// secret-sync would not serve, or would serve differently. Exit codes:
    /// 0 everything is served, 1 something is not, 2 the cluster could not
    /// be read.
    Preflight(PreflightArgs),
}

#[derive(Debug, clap::Args)]
struct PreflightArgs {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the
    /// pod's ServiceAccount).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<std::path::PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Output {
    /// One line per finding, under its object.
    Text,
    /// `served`, `checked`, `findings`, `notes`.
    Json,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// ExternalSecrets reconciled at once.
    #[arg(long, value_name = "N", default_value_t = secret_sync::controller::DEFAULT_CONCURRENCY)]
    concurrency: u16,
    /// Key Vault requests per vault per 10 s, across all ExternalSecrets;
    /// Key Vault's own limit is 4,000.
    #[arg(long, value_name = "N", default_value_t = KEY_VAULT_LIMIT * 3 / 4)]
    vault_requests_per_10s: u32,
    /// Address of /metrics, /healthz and /readyz (`IP:PORT` or `:PORT`).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: String,
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
    /// How long a standby waits, after the Lease last changed, before it
    /// takes over (whole seconds).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    leader_elect_lease_duration: Duration,
    /// How long a leader keeps reconciling after its last successful
    /// renewal; shorter than the lease duration, so it stops first.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    leader_elect_renew_deadline: Duration,
    /// How often the leader renews and a standby looks; also the bound on
    /// one Lease call.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    leader_elect_retry_period: Duration,
    /// Log filter: a level or a tracing directive list. JSON on stderr,
    /// never a token or a secret value.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
    /// Opens a template action (ESO's flag of the same name).
    #[arg(long, value_name = "DELIM", default_value = "{{")]
    template_left_delimiter: String,
    /// Closes a template action (ESO's flag of the same name).
    #[arg(long, value_name = "DELIM", default_value = "}}")]
    template_right_delimiter: String,
    /// Every Nth refresh of an ExternalSecret reads all its objects; the
    /// others read only what one listing of the vault shows changed since
    /// (secrets' current versions; keys, certificates, pinned versions and
    /// `find` are always read). 1 reads everything at every refresh.
    #[arg(long, value_name = "N", default_value_t = secret_sync::change::DEFAULT_FULL_READ_EVERY, value_parser = clap::value_parser!(u32).range(1..))]
    full_read_every: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds => {
            print!("{}", crd::yaml());
            ExitCode::SUCCESS
        }
        Command::Preflight(args) => preflight(&args),
        Command::Run(args) => {
            if let Err(error) = log::init(&args.log_level, log::Output::Stderr) {
                eprintln!("secret-sync: {error}");
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
                Err(error) => {
                    tracing::error!(%error, "could not start");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// `secret-sync preflight`: read, decide ([`secret_sync::preflight`]),
/// print.
fn preflight(args: &PreflightArgs) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| secret_sync::preflight::ReadError(format!("cannot start: {e}")))
        .and_then(|runtime| {
            runtime.block_on(async {
                let client = secret_sync::preflight::connect(
                    args.kubeconfig.as_deref(),
                    args.context.as_deref(),
                )
                .await?;
                secret_sync::preflight::read(&client).await
            })
        });
    let report = match read {
        Ok(cluster) => secret_sync::preflight::report(&cluster),
        Err(error) => {
            eprintln!("secret-sync preflight: {error}");
            return ExitCode::from(2);
        }
    };
    match args.output {
        Output::Text => print!("{}", report.text()),
        Output::Json => println!("{:#}", report.json()),
    }
    if report.served() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn run(args: RunArgs) -> Result<(), StartError> {
    let timings = if args.leader_elect {
        Some(Timings::new(
            args.leader_elect_lease_duration,
            args.leader_elect_renew_deadline,
            args.leader_elect_retry_period,
        )?)
    } else {
        None
    };
    // Reads the kubeconfig or the pod's service account; no request yet.
    let mut config = kube::Config::infer().await?;
    // HTTPS_PROXY is for Entra ID and Key Vault (azure-wi-auth honours it);
    // kube-rs would take it for the API server too, which is reached
    // directly.
    config.proxy_url = None;
    let vaults = WorkloadVaults::new()?;
    // The controller's own identity, for stores without serviceAccountRef:
    // present when the webhook mutated this pod.
    let own = WorkloadIdentityCredential::from_env().ok();
    let controller_tenant = std::env::var(azure_wi_core::names::TENANT_ID_ENV).ok();
    let reader = Reader::new(vaults, own, None, args.vault_requests_per_10s);

    let stop = signal::shutdown_token();
    let readiness = Readiness::default();
    let ready = readiness.condition("starting");
    let (synced_tx, synced) = watch::channel(false);
    let listener = admin::bind("--metrics-addr", &args.metrics_addr).await?;

    let (client, election) = match timings {
        Some(timings) => {
            let me = std::env::var("POD_NAME")
                .unwrap_or_else(|_| format!("secret-sync-{}", std::process::id()));
            let leases: Api<Lease> = Api::namespaced(
                kube::Client::try_from(config.clone())?,
                &args.leader_elect_namespace,
            );
            let (elector, leadership) =
                LeaderElector::new(leases, args.leader_elect_name.clone(), me, timings);
            let client = kube::client::ClientBuilder::try_from(config)?
                .with_layer(&FenceLayer::new(leadership.clone()))
                .build();
            (client, Some((elector, leadership)))
        }
        None => (kube::Client::try_from(config)?, None),
    };
    let mut ctx = Context::new(client, reader, controller_tenant);
    ctx.template_delims = azure_wi_template::Delims {
        left: args.template_left_delimiter.clone(),
        right: args.template_right_delimiter.clone(),
    };
    ctx.freshness = secret_sync::change::Freshness::new(args.full_read_every);
    let ctx = Arc::new(ctx);
    let metrics = Arc::new(controller::metrics::registry(
        Arc::clone(&ctx),
        election.as_ref().map(|(_, l)| l.clone()),
    ));
    let router = admin::healthz_router()
        .merge(admin::readyz_router(readiness.clone()))
        .merge(admin::metrics_router(metrics));
    let admin_server = tokio::spawn(admin::serve(listener, router, stop.clone()));

    match election {
        Some((elector, leadership)) => {
            tokio::spawn(follow_health(
                Some(leadership.clone()),
                synced.clone(),
                ready,
            ));
            let release = CancellationToken::new();
            let elector = tokio::spawn(elector.run(release.clone()));
            lead_while_elected(&ctx, args.concurrency, leadership, &synced_tx, &stop).await;
            // The controllers have stopped: hand the lease over at once.
            release.cancel();
            let _ = elector.await;
        }
        None => {
            tokio::spawn(follow_health(None, synced.clone(), ready));
            tracing::info!(concurrency = args.concurrency, "reconciling");
            controller::run(Arc::clone(&ctx), args.concurrency, stop.clone(), synced_tx).await;
        }
    }
    readiness.set_shutting_down();
    stop.cancel();
    if let Ok(Err(error)) = admin_server.await {
        tracing::warn!(%error, "admin server");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Runs the controllers during each term this replica leads, until
/// shutdown.
async fn lead_while_elected(
    ctx: &Arc<Context>,
    concurrency: u16,
    mut leadership: Leadership,
    synced: &watch::Sender<bool>,
    stop: &CancellationToken,
) {
    loop {
        // Shutdown first: a replica told to stop never starts a new term's
        // controllers, even when it is still leading.
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            elected = leadership.leading() => if !elected { return },
        }
        if stop.is_cancelled() {
            return;
        }
        tracing::info!(concurrency, "reconciling as the leader");
        let term = stop.child_token();
        let mut controllers = std::pin::pin!(controller::run(
            Arc::clone(ctx),
            concurrency,
            term.clone(),
            synced.clone(),
        ));
        // `term` is a child of `stop`: on SIGTERM the controllers may end
        // in the same poll as `stop`, and an ended future is not polled
        // again.
        let ended = tokio::select! {
            () = &mut controllers => true,
            () = leadership.lost() => {
                tracing::warn!("the term is over: stopping the controllers");
                false
            }
            () = stop.cancelled() => false,
        };
        term.cancel();
        if !ended
            && tokio::time::timeout(STOP_GRACE, &mut controllers)
                .await
                .is_err()
        {
            tracing::warn!(grace = ?STOP_GRACE, "reconciles still running were dropped");
        }
        synced.send_replace(false);
    }
}

/// Keeps `/readyz` on what the replica can do now.
async fn follow_health(
    mut leadership: Option<Leadership>,
    mut synced: watch::Receiver<bool>,
    ready: azure_wi_runtime::Condition,
) {
    loop {
        let health = Health {
            role: leadership.as_ref().map(Leadership::role),
            caches_synced: *synced.borrow_and_update(),
        };
        match health.ready() {
            Ok(()) => ready.set(true),
            Err(reason) => ready.set_unmet(reason),
        }
        let role_changed = async {
            match leadership.as_mut() {
                Some(l) => l.changed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = role_changed => if !changed { return },
            changed = synced.changed() => if changed.is_err() { return },
        }
    }
}
