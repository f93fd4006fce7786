//! Microsoft's own Rust Key Vault crate (`azure_security_keyvault_secrets`)
//! with our credential behind its `TokenCredential` trait (feature
//! `azure_core` of `azure-wi-auth`), against the emulator: the SDK's
//! challenge policy, with resource verification on, asks our credential for
//! the token.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::sync::Arc;

use azure_core::http::{ClientOptions, Transport};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};

#[tokio::test]
async fn microsofts_key_vault_crate_reads_a_secret_with_our_credential() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token_file)
        .unwrap()
        .build()
        .unwrap();

    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(emulator.client().unwrap()))),
            ..ClientOptions::default()
        },
        ..SecretClientOptions::default()
    };
    let client = SecretClient::new(
        &emulator.vault_url("orders-kv"),
        Arc::new(credential),
        Some(options),
    )
    .unwrap();
    let secret = client
        .get_secret("db-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.value.as_deref(), Some("s3cr3t-from-key-vault"));
    assert_eq!(emulator.counters().tokens_issued(), 1);

    // A refusal reaches the SDK's caller as Key Vault's 404.
    let missing = client.get_secret("nope", None).await.unwrap_err();
    assert!(
        format!("{missing:?}").contains(r#"error_code: Some("SecretNotFound")"#),
        "{missing}"
    );
    assert!(
        missing
            .to_string()
            .starts_with("A secret with (name/id) nope was not found"),
        "{missing}"
    );
}
