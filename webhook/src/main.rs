//! The `webhook` binary: `webhook serve` runs the admission server,
//! `webhook mutate` dry-runs the mutation on a pod.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Azure workload identity mutating admission webhook.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dry-run the mutation on a pod (or an AdmissionReview) and print the
    /// result; warnings and denials go to stderr.
    Mutate(cli::mutate::MutateArgs),
    /// Run the admission server (HTTPS admission endpoint, health and
    /// metrics listeners).
    Serve(Box<cli::serve::ServeArgs>),
    /// Write a CA and a serving certificate for the webhook's Service, and
    /// print the base64 caBundle for its MutatingWebhookConfiguration.
    Certs(cli::certs_command::CertsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One crypto provider for every TLS user in the process (server, kube
    // client): ring, never OpenSSL.
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        eprintln!("error: a rustls crypto provider was already installed");
        return ExitCode::from(2);
    }
    let result = match &cli.command {
        Command::Mutate(args) => cli::mutate::run(args).map_err(|e| e.to_string()),
        Command::Serve(args) => cli::serve::run(args).map_err(|e| e.to_string()),
        Command::Certs(args) => cli::certs_command::run(args).map_err(|e| e.to_string()),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}
