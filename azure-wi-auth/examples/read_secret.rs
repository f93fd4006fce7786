//! Reads one Key Vault secret with the pod's workload identity.
//!
//! ```text
//! read_secret <vault-url> <secret-name>
//! ```
//!
//! Configuration is what the webhook injects (client id, tenant id, token
//! file and authority host). The library's default transport also honours
//! `HTTPS_PROXY` and `AZURE_WI_EXTRA_CA_FILE` (a PEM file of root CAs to
//! trust besides the platform's: a TLS-inspecting proxy's, or the
//! emulator's), so the credential and the client need no set-up here; the
//! client shares the credential's connections. In a pod given an AKS
//! identity binding (`AZURE_KUBERNETES_TOKEN_PROXY` and the rest set by the
//! webhook), the token exchange goes to the token proxy the same way.

use azure_wi_auth::{SecretClient, WorkloadIdentityCredential};

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
    let credential = WorkloadIdentityCredential::from_env()?;
    let client = SecretClient::new(&vault_url, credential)?;
    let secret = client.get_secret(&name).await?;
    println!("{}", secret.value.expose());
    Ok(())
}
