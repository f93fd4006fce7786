//! Reads one Key Vault secret with the pod's workload identity.
//!
//! ```text
//! read_secret <vault-url> <secret-name>
//! ```
//!
//! Configuration is what the webhook injects (`AZURE_CLIENT_ID`,
//! `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`).
//! `AZURE_WI_EXTRA_CA_FILE` optionally names one more root CA to trust (a
//! TLS-inspecting proxy's, or the emulator's); `HTTPS_PROXY` is honoured.

use azure_wi_auth::{SecretClient, WorkloadIdentityConfig, WorkloadIdentityCredential};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("read_secret: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(vault_url), Some(name)) = (args.next(), args.next()) else {
        return Err("usage: read_secret <vault-url> <secret-name>".into());
    };
    // One HTTP client (connection pool, roots, proxy) for Entra and the vault.
    let http = http_client()?;
    let credential = WorkloadIdentityCredential::builder(WorkloadIdentityConfig::from_env()?)
        .with_http_client(http.clone())
        .build()?;
    let client = SecretClient::builder(&vault_url, credential)
        .with_http_client(http)
        .build()?;
    let secret = client.get_secret(&name).await?;
    println!("{}", secret.value.expose());
    Ok(())
}

fn http_client() -> Result<reqwest::Client, Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if let Some(path) = std::env::var_os("AZURE_WI_EXTRA_CA_FILE") {
        for root in reqwest::Certificate::from_pem_bundle(&std::fs::read(path)?)? {
            builder = builder.add_root_certificate(root);
        }
    }
    Ok(builder.build()?)
}
