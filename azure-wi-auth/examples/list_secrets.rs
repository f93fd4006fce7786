//! Lists the secrets of a vault whose names match a regular expression, as
//! External Secrets' `dataFrom.find.name.regexp` does, and prints each
//! name with its current value's length (never the value).
//!
//! ```text
//! list_secrets <vault-url> <regex>
//! ```
//!
//! Configuration as in `read_secret`.

use azure_wi_auth::{SecretClient, WorkloadIdentityCredential};
use futures::TryStreamExt as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("list_secrets: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(vault_url), Some(pattern)) = (args.next(), args.next()) else {
        return Err("usage: list_secrets <vault-url> <regex>".into());
    };
    let pattern = regex_lite::Regex::new(&pattern)?;
    let credential = WorkloadIdentityCredential::from_env()?;
    let client = SecretClient::new(&vault_url, credential)?;
    let names: Vec<String> = client
        .list_secret_properties()
        .try_filter(|p| futures::future::ready(p.enabled && pattern.is_match(&p.name)))
        .map_ok(|p| p.name)
        .try_collect()
        .await?;
    for name in names {
        let secret = client.get_secret(&name).await?;
        println!("{name}\t{} bytes", secret.value.expose().len());
    }
    Ok(())
}
