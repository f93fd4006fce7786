//! The `azwi` binary: parses flags, runs one subcommand, prints its output.
//! Exit codes: 0 done, 2 could not do it (bad input, unreadable or
//! unwritable files, a failed self-check). Code 1 is kept for findings of
//! checks that ran.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// Exit code for "could not do it".
const EXIT_FAILED: u8 = 2;

/// Azure workload identity helper for self-managed Kubernetes clusters.
#[derive(Debug, Parser)]
#[command(name = "azwi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", chain(&error));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn run(cli: Cli) -> Result<(), azwi::Error> {
    match cli.command {
        Command::Jwks {
            public_keys,
            output_file,
        } => {
            let keys = read_keys(&public_keys)?;
            let jwks = azwi::jwks::Jwks::from_keys(keys.iter().map(|k| &k.public));
            let text = jwks.to_pretty_json();
            match output_file {
                Some(path) => azwi::write_private_file(&path, text.as_bytes()),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
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
