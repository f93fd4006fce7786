//! The `azwi` binary: parses flags, runs one subcommand, prints its output.
//! Exit codes: 0 done (for `doctor`: nothing wrong), 1 `doctor` findings
//! (warnings or errors), 2 could not do it (bad input, unreadable or
//! unwritable files, a failed self-check, no cluster reachable).

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// Exit code for "could not do it".
const EXIT_FAILED: u8 = 2;

/// Azure workload identity for platform engineers: why a pod gets no Entra
/// token (`doctor`), and the issuer documents of self-managed clusters
/// (`jwks`, `issuer`).
#[derive(Debug, Parser)]
#[command(name = "azwi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find what stands between a pod and its Entra token: the issuer, the
    /// federated credential to create, the webhook's wiring, mislabelled
    /// workloads, unmutated pods, ServiceAccounts and secret delivery.
    /// Read-only, except for TokenRequests. Exit code 0: nothing wrong;
    /// 1: warnings or errors; 2: could not check.
    Doctor(DoctorArgs),
    /// Print the JWKS (`/openid/v1/jwks`) for the ServiceAccount signing
    /// keys, with the key ids kube-apiserver gives them.
    Jwks {
        /// PEM files with public or private keys (RSA, ECDSA P-256/384/521);
        /// the files given to kube-apiserver's --service-account-key-file.
        #[arg(long = "public-keys", required = true, num_args = 1.., value_name = "FILE")]
        public_keys: Vec<PathBuf>,
        /// Write the JWKS to this file (mode 0600) instead of stdout.
        #[arg(long = "output-file", value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
    /// Write the issuer's discovery document and JWKS into a folder laid out
    /// for upload, and check that a token signed by the private key
    /// validates against them.
    Issuer {
        /// The issuer, exactly as kube-apiserver's --service-account-issuer
        /// and the federated credential hold it (a trailing slash matters).
        #[arg(long = "issuer-url", value_name = "URL")]
        issuer_url: String,
        /// PEM files with the public or private keys tokens are signed with.
        #[arg(long = "public-keys", required = true, num_args = 1.., value_name = "FILE")]
        public_keys: Vec<PathBuf>,
        /// PEM private key to sign the self-check token with; by default
        /// the first private key among --public-keys. Without any, the
        /// check is skipped (and said so).
        #[arg(long = "private-key", value_name = "FILE")]
        private_key: Option<PathBuf>,
        /// Folder to write `.well-known/openid-configuration` and
        /// `openid/v1/jwks` into.
        #[arg(long = "output-dir", value_name = "DIR")]
        output_dir: PathBuf,
    },
}

/// `azwi doctor`'s flags.
#[derive(Debug, clap::Args)]
struct DoctorArgs {
    /// What to look at: pod/NAME, sa/NAME or deploy/NAME; by default every
    /// workload, pod and ServiceAccount in the namespace.
    #[arg(value_name = "TARGET")]
    target: Option<azwi::doctor::collect::Target>,
    /// The namespace; by default the kubeconfig context's.
    #[arg(
        short = 'n',
        long,
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long = "all-namespaces", conflicts_with = "target")]
    all_namespaces: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Also list checks that did not apply (CRDs not installed).
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Exchange a token issued now for each ServiceAccount with a client id
    /// at Entra (AZURE_AUTHORITY_HOST, or the public cloud), and report
    /// Entra's verdict. Needs create on serviceaccounts/token.
    #[arg(long = "check-entra")]
    check_entra: bool,
    /// Tenant for --check-entra when the ServiceAccount has no tenant-id
    /// annotation (default: AZURE_TENANT_ID).
    #[arg(long = "tenant-id", value_name = "GUID")]
    tenant_id: Option<String>,
    /// Scope to request with --check-entra.
    #[arg(long, value_name = "SCOPE", default_value_t = azure_wi_core::AzureCloud::Public.key_vault_scope())]
    scope: azure_wi_core::Scope,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Doctor(args) => doctor(args),
        Command::Jwks {
            public_keys,
            output_file,
        } => finish(jwks(&public_keys, output_file.as_deref())),
        Command::Issuer {
            issuer_url,
            public_keys,
            private_key,
            output_dir,
        } => finish(issuer(
            &issuer_url,
            &public_keys,
            private_key.as_deref(),
            &output_dir,
        )),
    }
}

/// Exit code 0 for done, 2 (with the error on stderr) for could not.
fn finish(result: Result<(), azwi::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn doctor(args: DoctorArgs) -> ExitCode {
    // The one TLS provider of the process: kube-rs and reqwest use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = azwi::doctor::Options {
        kubeconfig: args.kubeconfig,
        context: args.context,
        namespace: args.namespace,
        all_namespaces: args.all_namespaces,
        target: args.target,
        check_entra: args.check_entra,
        tenant_id: args.tenant_id,
        scope: args.scope,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(azwi::doctor::run(&options)) {
        Ok(outcome) => {
            let text = match args.output {
                Output::Text => {
                    azwi::doctor::render::text(&outcome.report, &outcome.scope, args.verbose)
                }
                Output::Json => azwi::doctor::render::json(&outcome.report, &outcome.scope),
            };
            print!("{text}");
            ExitCode::from(outcome.report.exit_code())
        }
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn jwks(public_keys: &[PathBuf], output_file: Option<&std::path::Path>) -> Result<(), azwi::Error> {
    let keys = read_keys(public_keys)?;
    let jwks = azwi::jwks::Jwks::from_keys(keys.iter().map(|k| &k.public));
    let text = jwks.to_pretty_json();
    match output_file {
        Some(path) => azwi::write_private_file(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn issuer(
    issuer_url: &str,
    public_keys: &[PathBuf],
    private_key: Option<&std::path::Path>,
    output_dir: &std::path::Path,
) -> Result<(), azwi::Error> {
    let keys = read_keys(public_keys)?;
    let jwks = azwi::jwks::Jwks::from_keys(keys.iter().map(|k| &k.public));
    let discovery = azwi::issuer::discovery(issuer_url, &jwks)?;
    let signer =
        match private_key {
            Some(path) => {
                let found = azwi::keys::read_key_file(path)?;
                let key = found.into_iter().find_map(|k| k.private).ok_or_else(|| {
                    azwi::Error::BadKey {
                        path: path.to_owned(),
                        what: "holds no private key (--private-key needs one)".to_owned(),
                    }
                })?;
                Some(key)
            }
            None => keys.iter().find_map(|k| k.private.clone()),
        };
    for path in azwi::issuer::write_documents(output_dir, &discovery, &jwks)? {
        println!("wrote {}", path.display());
    }
    println!("issuer: {issuer_url}");
    let slash = if issuer_url.ends_with('/') {
        "ends with a slash"
    } else {
        "has no trailing slash"
    };
    println!(
        "the federated credential's issuer and kube-apiserver's --service-account-issuer must be exactly {issuer_url:?} ({slash})"
    );
    println!(
        "upload the folder so that {}/.well-known/openid-configuration and {} are served",
        issuer_url.trim_end_matches('/'),
        discovery.jwks_uri
    );
    match signer {
        Some(key) => {
            azwi::issuer::self_check(output_dir, issuer_url, &key)?;
            println!(
                "self-check passed: a token signed by the private key validates against the written documents"
            );
        }
        None => eprintln!(
            "self-check skipped: no private key among --public-keys and no --private-key given"
        ),
    }
    Ok(())
}

fn read_keys(files: &[PathBuf]) -> Result<Vec<azwi::keys::Key>, azwi::Error> {
    let mut keys = Vec::new();
    for file in files {
        keys.extend(azwi::keys::read_key_file(file)?);
    }
    Ok(keys)
}

/// The error and its causes on one line, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
