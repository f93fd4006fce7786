//! `azure-wi-emulator`: the emulator as a process, and the demo.

use std::net::SocketAddr;
use std::path::PathBuf;

use azure_wi_core::names;
use azure_wi_emulator::{Config, Emulator, TokenSpec, demo};
use clap::{Parser, Subcommand};

/// A strict local emulator of the workload identity trust chain.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole chain once and print each step.
    Demo {
        /// Break one link to see the error a user gets, and the fix.
        #[arg(long = "break", value_enum)]
        broken: Option<demo::Break>,
    },
    /// Serve the issuer, Entra ID and Key Vault until interrupted.
    Serve {
        /// World to emulate (YAML or JSON); the demo's world by default.
        #[arg(long)]
        config: Option<PathBuf>,
        /// TLS listener.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// CONNECT proxy for clients that use HTTPS_PROXY.
        #[arg(long, default_value = "127.0.0.1:0")]
        proxy_listen: SocketAddr,
        /// Folder for the CA and a projected token.
        #[arg(long, default_value = "./emulator")]
        out: PathBuf,
        /// Namespace and ServiceAccount of the token written to --out.
        #[arg(long, default_value = "team-a")]
        namespace: String,
        /// ServiceAccount of the token written to --out.
        #[arg(long, default_value = "orders-api")]
        service_account: String,
        /// Describe a pod using an AKS identity binding instead: bind the
        /// ServiceAccount to the first identity, write a token for the token
        /// proxy's audience, and print the token proxy's variables.
        #[arg(long)]
        identity_binding: bool,
        /// Write one JSON line per answered request to stderr: its kind
        /// (token, secret_get, secret_list, key_get, ...), tenant or vault
        /// and object name, version, status and Retry-After; never a value
        /// or a token.
        #[arg(long)]
        log_requests: bool,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { broken } => demo::run(broken).await,
        Command::Serve {
            config,
            listen,
            proxy_listen,
            out,
            namespace,
            service_account,
            identity_binding,
            log_requests,
        } => serve(
            config,
            listen,
            proxy_listen,
            out,
            (&namespace, &service_account),
            Options {
                identity_binding,
                log_requests,
            },
        )
        .await
        .map(|()| true),
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("azure-wi-emulator: {error}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `serve`'s switches.
struct Options {
    identity_binding: bool,
    log_requests: bool,
}

async fn serve(
    config: Option<PathBuf>,
    listen: SocketAddr,
    proxy_listen: SocketAddr,
    out: PathBuf,
    (namespace, service_account): (&str, &str),
    Options {
        identity_binding,
        log_requests,
    }: Options,
) -> Result<(), String> {
    let mut config = match config {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Config::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Config::demo(),
    };
    let tenant = config.tenants[0].clone();
    let client_id = config
        .identities
        .first()
        .map(|i| i.client_id.clone())
        .unwrap_or_default();
    if identity_binding {
        config.bind(&client_id, namespace, service_account);
    }
    let emulator = Emulator::start_on(config, listen, proxy_listen)
        .await
        .map_err(|e| e.to_string())?;
    emulator.request_log().log_to_stderr(log_requests);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let ca = out.join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).map_err(|e| format!("{}: {e}", ca.display()))?;
    let mut spec = TokenSpec::new(namespace, service_account);
    if identity_binding {
        spec = spec.audience(azure_wi_emulator::binding::AUDIENCE);
    }
    let token = emulator
        .project_token(&out.join("tokens"), &spec)
        .map_err(|e| e.to_string())?;
    println!("# the environment a mutated pod gets, plus the way to reach the emulator:");
    println!("export {}={client_id}", names::CLIENT_ID_ENV);
    println!("export {}={tenant}", names::TENANT_ID_ENV);
    println!(
        "export {}={}",
        names::FEDERATED_TOKEN_FILE_ENV,
        token.display()
    );
    println!(
        "export {}={}",
        names::AUTHORITY_HOST_ENV,
        emulator.authority_host()
    );
    if identity_binding {
        println!(
            "# an identity-binding pod: its token is for {} and goes to the token proxy",
            azure_wi_emulator::binding::AUDIENCE
        );
        println!(
            "export {}={}",
            names::KUBERNETES_TOKEN_PROXY_ENV,
            emulator.identity_binding_url()
        );
        println!(
            "export {}={}",
            names::KUBERNETES_SNI_NAME_ENV,
            azure_wi_emulator::hosts::identity_binding()
        );
        println!("export {}={}", names::KUBERNETES_CA_FILE_ENV, ca.display());
        // The token proxy is reached by address, never through the proxy
        // below (Microsoft's Python SDK would send it there).
        println!("export NO_PROXY=127.0.0.1");
    }
    println!("export HTTPS_PROXY={}", emulator.proxy_url());
    // The emulator's CA, for Python's requests and for azure-wi-auth's
    // default transport.
    println!("export REQUESTS_CA_BUNDLE={}", ca.display());
    println!("export {}={}", names::EXTRA_CA_FILE_ENV, ca.display());
    println!(
        "# TLS listener {} (map {}, *.{} and the issuer's host to it)",
        emulator.addr(),
        azure_wi_emulator::hosts::entra(),
        azure_wi_emulator::hosts::vault_suffix(),
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
