//! The chain with a real cluster issuer: a kube-apiserver signs the
//! ServiceAccount token (TokenRequest, audience api://AzureADTokenExchange),
//! the emulated Entra ID validates it through the apiserver's own discovery
//! document and JWKS, and both `azure-wi-auth` and Microsoft's Python SDK
//! exchange it and read a Key Vault secret.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{path::Path, process::Command};

use azure_wi_auth::SecretClient;
use azure_wi_control_plane::{ControlPlane, TOKEN_EXCHANGE_AUDIENCE};
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use k8s_openapi::api::{
    authentication::v1::TokenRequest,
    core::v1::{Namespace, ServiceAccount},
};
use kube::{Api, api::PostParams};
use serde_json::{Value, json};

async fn token_request(client: &kube::Client) -> String {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let sa: ServiceAccount = serde_json::from_value(
        json!({"metadata": {"name": "orders-api", "namespace": "team-a",
        "annotations": {"azure.workload.identity/client-id": DEMO_CLIENT_ID}}}),
    )
    .unwrap();
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), "team-a");
    accounts.create(&PostParams::default(), &sa).await.unwrap();
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [TOKEN_EXCHANGE_AUDIENCE], "expirationSeconds": 3600}
    }))
    .unwrap();
    accounts
        .create_token_request("orders-api", &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kube_apiserver_token_is_exchanged_and_reads_a_secret() {
    let plane = ControlPlane::start().await.unwrap();
    let token = token_request(&plane.client().await.unwrap()).await;

    // The identity trusts the real issuer, exactly as the apiserver names it.
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.identities[0].federated_credentials[0].issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    let emulator = Emulator::start(config).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let token_file =
        azure_wi_emulator::issuer::write_token_file(&dir.path().join("tokens"), &token).unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let vault = SecretClient::builder(&emulator.vault_url("orders-kv"), credential)
        .with_http_client(emulator.client().unwrap())
        .build()
        .unwrap();
    assert_eq!(
        vault
            .get_secret("db-password")
            .await
            .unwrap()
            .value
            .expose(),
        "s3cr3t-from-key-vault"
    );

    // Microsoft's Python SDK, from the same token file.
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sdk.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(emulator.vault_url("orders-kv"))
        .args(["get", "db-password"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .env("AZURE_CLIENT_ID", DEMO_CLIENT_ID)
        .env("AZURE_TENANT_ID", DEMO_TENANT)
        .env(azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV, &token_file)
        .env("AZURE_AUTHORITY_HOST", emulator.authority_host())
        .env("REQUESTS_CA_BUNDLE", &ca_file)
        .env("HTTPS_PROXY", emulator.proxy_url())
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(answer["ok"], "s3cr3t-from-key-vault", "{answer:#}");

    // The apiserver's token for another ServiceAccount is refused by subject.
    let mut wrong = emulator.config();
    wrong.identities[0].federated_credentials[0].subject =
        "system:serviceaccount:team-a:other".into();
    emulator.update_config(|c| *c = wrong).unwrap();
    let scope = ["https://vault.azure.net/.default".parse().unwrap()];
    let fresh = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let error = fresh.get_token(&scope).await.unwrap_err();
    assert_eq!(error.entra().unwrap().code(), Some(700213), "{error}");
}
