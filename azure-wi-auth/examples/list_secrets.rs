//! Lists the secrets of a vault whose names match a regular expression, as
//! External Secrets' `dataFrom.find.name.regexp` does, and prints each
//! name with its current value's length (never the value).
//!
//! ```text
//! list_secrets <vault-url> <regex>
//! ```
//!
//! Configuration as in `read_secret`.

use azure_wi_auth::{SecretClient, WorkloadIdentityConfig, WorkloadIdentityCredential};
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut http = reqwest::Client::builder();
    if let Some(path) = std::env::var_os("AZURE_WI_EXTRA_CA_FILE") {
        for root in reqwest::Certificate::from_pem_bundle(&std::fs::read(path)?)? {
            http = http.add_root_certificate(root);
        }
    }
    let http = http.build()?;
    let credential = WorkloadIdentityCredential::builder(WorkloadIdentityConfig::from_env()?)
        .with_http_client(http.clone())
        .build()?;
    let client = SecretClient::builder(&vault_url, credential)
        .with_http_client(http)
        .build()?;
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
