//! `azure-wi-proxy`: the IMDS proxy (`--proxy-port`, `--log-level`,
//! `--probe`, as the reference webhook injects them) and `azure-wi-proxy
//! init`, its NAT rules.

use std::process::ExitCode;

use azure_wi_core::names;
use azure_wi_proxy::{imds, nat, probe, server};
use azure_wi_runtime::{admin, log, signal};
use clap::{Parser, Subcommand};

/// The IMDS proxy.
#[derive(Debug, Parser)]
#[command(name = "azure-wi-proxy", version)]
struct Cli {
    /// Port to listen on, on localhost.
    #[arg(long, default_value_t = names::DEFAULT_PROXY_PORT, value_name = "PORT")]
    proxy_port: u16,
    /// Log level: empty (warnings and errors), info, debug, trace or all, as
    /// the reference proxy takes them, or a tracing directive list.
    #[arg(long, default_value = "", value_name = "LEVEL")]
    log_level: String,
    /// Ask the proxy on --proxy-port for /readyz (what postStart runs) and
    /// exit 0 once it answers.
    #[arg(long)]
    probe: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Set the NAT rules that send the pod's IMDS traffic to the proxy
    /// (PROXY_PORT, PROXY_UID, METADATA_IP, METADATA_PORT), as the
    /// azwi-proxy-init container does.
    Init,
}

/// Why the proxy stopped: exit code 1.
#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error(transparent)]
    Shell(#[from] azure_wi_runtime::Error),
    #[error("{0} is not set: the webhook injects it into the proxy's container")]
    MissingVariable(&'static str),
    #[error(transparent)]
    Server(#[from] server::ServerError),
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    #[error(transparent)]
    Nat(#[from] nat::SettingError),
    #[error("iptables {args}: {reason}")]
    Iptables { args: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // TLS is rustls on ring throughout (the exchange with Entra).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("azure-wi-proxy: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The reference's levels (`""`, `info`, `debug`, `trace`, `all`) as
/// tracing filters; anything else is the shell's to check.
fn level(given: &str) -> &str {
    match given {
        "" => "warn",
        "all" => "trace",
        other => other,
    }
}

fn run(cli: &Cli) -> Result<(), ProxyError> {
    log::init(level(&cli.log_level), log::Output::Stderr)?;
    // One thread: a sidecar serves one pod's few clients, and a second
    // thread would cost memory and cross-thread wake-ups for nothing.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ProxyError::Runtime)?;
    runtime.block_on(async {
        match (&cli.command, cli.probe) {
            (Some(Command::Init), _) => init(),
            (None, true) => Ok(probe::probe(cli.proxy_port).await?),
            (None, false) => serve(cli.proxy_port).await,
        }
    })
}

fn env(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn serve(port: u16) -> Result<(), ProxyError> {
    let required = |name| env(name).ok_or(ProxyError::MissingVariable(name));
    let settings = server::ProxySettings {
        default_client_id: env(names::CLIENT_ID_ENV),
        tenant_id: required(names::TENANT_ID_ENV)?,
        token_file: required(names::FEDERATED_TOKEN_FILE_ENV)?.into(),
        authority_host: env(names::AUTHORITY_HOST_ENV),
        imds_address: imds::IMDS_ADDRESS.to_owned(),
    };
    let router = server::router(settings, None)?;
    let listener =
        admin::bind_port("--proxy-port", std::net::Ipv4Addr::LOCALHOST.into(), port).await?;
    tracing::info!(port, "serving IMDS's token API");
    server::serve(listener, router, signal::shutdown_token()).await?;
    Ok(())
}

fn init() -> Result<(), ProxyError> {
    let settings = nat::NatSettings::from_lookup(|name| std::env::var(name).ok())?;
    // Runs one call; whether it succeeded, a failure being an error
    // unless `may_fail`.
    let iptables = |args: &[String], may_fail: bool| -> Result<bool, ProxyError> {
        let failed = |reason: String| ProxyError::Iptables {
            args: args.join(" "),
            reason,
        };
        let output = std::process::Command::new("iptables")
            .args(args)
            .output()
            .map_err(|e| failed(e.to_string()))?;
        let ok = output.status.success();
        if !ok && !may_fail {
            return Err(failed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        Ok(ok)
    };
    for call in nat::calls(&settings) {
        iptables(&call.args, call.may_fail)?;
    }
    let jump = nat::output_jump(&settings);
    if !iptables(&nat::with_op(&jump, "-C"), true)? {
        iptables(&nat::with_op(&jump, "-A"), false)?;
    }
    eprintln!(
        "azure-wi-proxy init: TCP to {}:{} goes to port {}, except user {}'s",
        settings.metadata_ip, settings.metadata_port, settings.proxy_port, settings.proxy_uid
    );
    Ok(())
}
