//! The Key Vault reads of a sync against the emulator, through
//! azure-wi-auth: a certificate is its DER, a key its public JWK, a
//! `property` reads into a JSON value, and `dataFrom.find` syncs of one
//! store and identity made together share one listing (for a few seconds
//! at most, never the whole refresh interval).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use azure_wi_auth::{SecretClient, WorkloadVaults};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use secret_sync::{
    api::ExternalSecret,
    fetch::{Caller, Reader},
    plan::plan,
    store::AzureStore,
    target::assemble,
};

fn external_secret(data: &str) -> ExternalSecret {
    yaml_serde::from_str(&format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: reads, namespace: team-a}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: store}}
{data}"#
    ))
    .unwrap()
}

/// A reader of `emulator`'s vault `orders-kv` as the demo workload, and
/// the store naming it (the token file lives in the returned directory).
fn reader_of(
    emulator: &Emulator,
) -> (
    Reader,
    AzureStore,
    tempfile::TempDir,
    azure_wi_auth::WorkloadIdentityCredential,
) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let own = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let http = emulator.client().unwrap();
    let reader = Reader::new(
        WorkloadVaults::with_http_client(http.clone()).unwrap(),
        Some(own.clone()),
        Some(http),
        3000,
    );
    let store = AzureStore {
        vault_url: emulator.vault_url("orders-kv"),
        cloud: azure_wi_core::AzureCloud::Public,
        tenant_id: Some(DEMO_TENANT.to_owned()),
        service_account: None,
        auth_secret: None,
        cluster: false,
        warnings: Vec::new(),
    };
    (reader, store, dir, own)
}

#[tokio::test]
async fn certificates_keys_properties_and_one_listing_for_syncs_made_together() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let (reader, store, _dir, own) = reader_of(&emulator);
    let http = emulator.client().unwrap();

    let typed = plan(&external_secret(
        r"  data:
  - secretKey: tls.crt
    remoteRef: {key: cert/web-tls}
  - secretKey: signing.jwk
    remoteRef: {key: key/signing-ec}
  - secretKey: signing.crv
    remoteRef: {key: key/signing-ec, property: crv}
  - secretKey: password
    remoteRef: {key: secret/db-password}
",
    ))
    .unwrap();
    let fetched = reader
        .fetch(&store, Caller::Controller, &typed)
        .await
        .unwrap();
    let data = assemble(&typed, &fetched).unwrap();

    // The certificate is the DER Key Vault holds as `cer`, not PEM.
    let direct = SecretClient::builder(&emulator.vault_url("orders-kv"), own)
        .with_http_client(http)
        .build()
        .unwrap();
    let certificate = direct
        .certificate_client()
        .get_certificate("web-tls")
        .await
        .unwrap();
    assert_eq!(data["tls.crt"], certificate.cer);
    assert_eq!(data["tls.crt"][0], 0x30, "DER starts with a SEQUENCE");
    // The key is its public JWK in JSON; property reads into it.
    let jwk: serde_json::Value = serde_json::from_slice(&data["signing.jwk"]).unwrap();
    assert_eq!(jwk["kty"], "EC");
    assert!(jwk["kid"].as_str().unwrap().contains("/keys/signing-ec/"));
    assert!(jwk.get("d").is_none(), "never the private part");
    assert_eq!(data["signing.crv"], jwk["crv"].as_str().unwrap().as_bytes());
    assert_eq!(data["password"], b"s3cr3t-from-key-vault");

    // dataFrom.find: three ExternalSecrets of one store and identity synced
    // together (within secret_sync::fetch::LISTING_REUSE) list the vault
    // once, then read each match.
    let find = plan(&external_secret(
        r#"  dataFrom:
  - find: {name: {regexp: "^db-"}}
"#,
    ))
    .unwrap();
    let before = emulator.counters().vault_requests();
    for _ in 0..3 {
        let fetched = reader
            .fetch(&store, Caller::Controller, &find)
            .await
            .unwrap();
        let found = assemble(&find, &fetched).unwrap();
        assert_eq!(found["db-password"], b"s3cr3t-from-key-vault");
    }
    let matches = 1;
    assert_eq!(
        emulator.counters().vault_requests() - before,
        1 + 3 * matches,
        "one listing, then the matches' reads"
    );
    assert_eq!(
        reader.requests(),
        4 + 1 + 3 * matches,
        "the budget counts what was sent"
    );
    // A listing older than the asking ExternalSecret's refresh is redone.
    let short = plan(&external_secret(
        r#"  dataFrom:
  - find: {name: {regexp: "^db-"}}
"#,
    ))
    .map(|mut p| {
        p.refresh = Some(Duration::from_millis(1));
        p
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = emulator.counters().vault_requests();
    reader
        .fetch(&store, Caller::Controller, &short)
        .await
        .unwrap();
    assert_eq!(emulator.counters().vault_requests() - before, 1 + matches);
}

/// ESO's `nestedJSONNoProperty` and `setSecretJSONWithProperty`
/// (providers/v1/azure/keyvault/keyvault_test.go), read from the
/// emulator's vault: a nested object keeps its bytes as stored, extracted
/// whole, read by `property`, or extracted under a `property`.
#[tokio::test]
async fn nested_json_values_keep_their_bytes_as_eso_reads_them() {
    use azure_wi_emulator::config::{SecretSeed, VersionSeed};
    const ESO_JSON: &str = r#"{"Name": "External", "LastName": "Secret", "Address": { "Street": "Myroad st.", "CP": "J4K4T4" } }"#;
    let mut config = Config::demo();
    config.vaults[0].secrets.push(SecretSeed {
        name: "eso-json".to_owned(),
        versions: vec![VersionSeed {
            value: ESO_JSON.to_owned(),
            content_type: None,
            enabled: true,
        }],
    });
    let emulator = Emulator::start(config).await.unwrap();
    let (reader, store, _dir, _) = reader_of(&emulator);
    let nested = plan(&external_secret(
        r"  data:
  - secretKey: address
    remoteRef: {key: eso-json, property: Address}
  dataFrom:
  - extract: {key: eso-json}
  - extract: {key: eso-json, property: Address}
",
    ))
    .unwrap();
    let fetched = reader
        .fetch(&store, Caller::Controller, &nested)
        .await
        .unwrap();
    let data = assemble(&nested, &fetched).unwrap();
    let raw = br#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#;
    assert_eq!(data["address"], raw);
    assert_eq!(data["Address"], raw);
    assert_eq!(data["Name"], b"External");
    assert_eq!(data["LastName"], b"Secret");
    assert_eq!(data["Street"], b"Myroad st.");
    assert_eq!(data["CP"], b"J4K4T4");

    // dataFrom[].rewrite: the extracted keys renamed, operation after
    // operation, before they are written.
    let renamed = plan(&external_secret(
        r#"  dataFrom:
  - extract: {key: eso-json}
    rewrite:
    - regexp: {source: "^(.*)$", target: "person-$1"}
    - regexp: {source: "-", target: "_"}
"#,
    ))
    .unwrap();
    let fetched = reader
        .fetch(&store, Caller::Controller, &renamed)
        .await
        .unwrap();
    let data = assemble(&renamed, &fetched).unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["person_Address", "person_LastName", "person_Name"]);
    assert_eq!(data["person_Address"], raw);
}
