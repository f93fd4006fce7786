//! The `webhook` binary: `webhook mutate` dry-runs the mutation on a pod.

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Mutate(args) => cli::mutate::run(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}
