//! The Key Vault reads of a sync against the emulator, through
//! azure-wi-auth: a certificate is its DER, a key its public JWK, a
//! `property` reads into a JSON value, and `dataFrom.find` syncs of one
//! store and identity made together share one listing (for a few seconds
//! at most, never the whole refresh interval); `metadataPolicy: Fetch`
//! reads a secret's, key's and certificate's tags; and every case of ESO's
//! azurekv `GetSecret`, `GetSecretMap` and `GetAllSecrets` tests that Key
//! Vault can hold gives ESO's bytes or ESO's error.
#![allow(clippy::unwrap_used)]

#[path = "support/eso_provider.rs"]
mod eso_provider;

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::{SecretClient, WorkloadVaults};
use azure_wi_emulator::{Config, Emulator, config::DEMO_TENANT};
use eso_provider::Outcome;
use secret_sync::{
    api::ExternalSecret,
    fetch::{Caller, Reader},
    plan::plan,
    remote::Metadata,
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
    let (dir, own) = eso_provider::demo_credential(emulator);
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
    use eso_provider::ESO_JSON;
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

/// Sets `body` (`tags`, `attributes`) on the current version of the
/// object at `path` (`secrets/<name>`, `keys/<name>`,
/// `certificates/<name>`) of vault `orders-kv`, with Key Vault's `PATCH`,
/// as `credential`.
async fn update(
    emulator: &Emulator,
    credential: &azure_wi_auth::WorkloadIdentityCredential,
    path: &str,
    body: serde_json::Value,
) {
    eso_provider::update_in(emulator, credential, "orders-kv", path, body).await;
}

/// `metadataPolicy: Fetch` read from the emulator's vault (ESO's azurekv
/// provider, providers/v1/azure/keyvault/keyvault.go): the tags a client
/// set with `PATCH` on a secret, a key and a certificate, one by
/// `property` (a gjson path into a JSON tag; an `attribute.*` pseudo-tag),
/// all as JSON without it, split into `<name>_<tag>[_<field>]` keys by
/// `dataFrom.extract`; a tag that is not there fails with ESO's text.
#[tokio::test]
async fn metadata_policy_fetch_reads_the_tags_of_secrets_keys_and_certificates() {
    use azure_wi_emulator::config::{DEMO_OBJECT_ID, Role, RoleAssignment};
    use serde_json::json;
    let mut config = Config::demo_with_keys_and_certificates();
    for role in [
        Role::SecretsOfficer,
        Role::CryptoOfficer,
        Role::CertificatesOfficer,
    ] {
        config.role_assignments.push(RoleAssignment {
            principal_id: DEMO_OBJECT_ID.to_owned(),
            role,
            scope: "orders-kv".to_owned(),
        });
    }
    let emulator = Emulator::start(config).await.unwrap();
    let (reader, store, _dir, own) = reader_of(&emulator);
    update(
        &emulator,
        &own,
        "secrets/db-password",
        json!({"tags": {"owner": "team-a", "cfg": r#"{"env":"prod","tier":"gold"}"#},
               "attributes": {"exp": 1_893_456_000}}),
    )
    .await;
    update(
        &emulator,
        &own,
        "keys/signing-ec",
        json!({"tags": {"rotation": "90d"}}),
    )
    .await;
    update(
        &emulator,
        &own,
        "certificates/web-tls",
        json!({"tags": {"issuer-team": "pki", "note": "a<b&c>"}}),
    )
    .await;

    let fetch = plan(&external_secret(
        r"  data:
  - secretKey: owner
    remoteRef: {key: db-password, metadataPolicy: Fetch, property: owner}
  - secretKey: env
    remoteRef: {key: secret/db-password, metadataPolicy: Fetch, property: cfg.env}
  - secretKey: expires
    remoteRef: {key: db-password, metadataPolicy: Fetch, property: attribute.expires}
  - secretKey: rotation
    remoteRef: {key: key/signing-ec, metadataPolicy: Fetch, property: rotation}
  - secretKey: cert-team
    remoteRef: {key: cert/web-tls, metadataPolicy: Fetch, property: issuer-team}
  - secretKey: key-tags
    remoteRef: {key: key/signing-ec, metadataPolicy: Fetch}
  - secretKey: cert-tags
    remoteRef: {key: cert/web-tls, metadataPolicy: Fetch}
  - secretKey: password
    remoteRef: {key: db-password}
  dataFrom:
  - extract: {key: db-password, metadataPolicy: Fetch}
",
    ))
    .unwrap();
    let fetched = reader
        .fetch(&store, Caller::Controller, &fetch)
        .await
        .unwrap();
    let data = assemble(&fetch, &fetched).unwrap();
    let text = |k: &str| String::from_utf8(data[k].clone()).unwrap();

    // One tag by property, a path into a JSON tag, an attribute.
    assert_eq!(text("owner"), "team-a");
    assert_eq!(text("env"), "prod");
    assert_eq!(text("expires"), "2030-01-01T00:00:00Z");
    assert_eq!(text("rotation"), "90d");
    assert_eq!(text("cert-team"), "pki");
    // Without metadataPolicy the value, as before.
    assert_eq!(text("password"), "s3cr3t-from-key-vault");

    // All tags as Go's JSON, the attributes Key Vault returned among them
    // (as RFC 3339), `<`, `&`, `>` escaped as Go escapes them.
    let key_tags: BTreeMap<String, String> = serde_json::from_slice(&data["key-tags"]).unwrap();
    assert_eq!(key_tags["rotation"], "90d");
    let direct = azure_wi_auth::SecretClient::builder(&emulator.vault_url("orders-kv"), own)
        .with_http_client(emulator.client().unwrap())
        .build()
        .unwrap();
    // The same as the key's and certificate's own metadata read directly:
    // each kind's tags and attributes reach the fetch.
    let key = direct.key_client().get_key("signing-ec").await.unwrap();
    assert_eq!(key_tags, Metadata::from(&key.properties).all());
    assert!(key_tags.contains_key("attribute.created"));
    let cert_tags = text("cert-tags");
    assert!(
        cert_tags.contains(r#""note":"a\u003cb\u0026c\u003e""#),
        "{cert_tags}"
    );
    let cert_tags: BTreeMap<String, String> = serde_json::from_str(&cert_tags).unwrap();
    assert_eq!(cert_tags["issuer-team"], "pki");
    assert_eq!(cert_tags["note"], "a<b&c>");
    let certificate = direct
        .certificate_client()
        .get_certificate("web-tls")
        .await
        .unwrap();
    assert_eq!(cert_tags, Metadata::from(&certificate.properties).all());
    assert!(
        cert_tags.contains_key("attribute.notBefore")
            && cert_tags.contains_key("attribute.expires"),
        "a certificate's validity is among its attributes: {cert_tags:?}"
    );

    // dataFrom.extract: `<name>_<tag>`, a JSON object of strings split.
    assert_eq!(text("db-password_owner"), "team-a");
    assert_eq!(text("db-password_cfg_env"), "prod");
    assert_eq!(text("db-password_cfg_tier"), "gold");
    assert_eq!(
        text("db-password_attribute.expires"),
        "2030-01-01T00:00:00Z"
    );
    assert!(!data.contains_key("db-password_cfg"));

    // A tag that is not there: ESO's text, for a key and a certificate.
    for key in ["key/signing-ec", "cert/web-tls", "db-password"] {
        let absent = plan(&external_secret(&format!(
            "  data:\n  - secretKey: x\n    remoteRef: {{key: {key}, metadataPolicy: Fetch, property: nope}}\n"
        )))
        .unwrap();
        let fetched = reader
            .fetch(&store, Caller::Controller, &absent)
            .await
            .unwrap();
        let err = assemble(&absent, &fetched).unwrap_err().to_string();
        assert_eq!(err, "tag nope does not exist", "{key}");
    }
}

// === ESO's azurekv provider cases, each against a vault of its own ===

/// What one ExternalSecret of `spec` gives against `store`: its Secret's
/// data, the plan's refusal, the assembly's error (a property or tag not
/// found, an extract that is not JSON), or the remote key that is gone
/// (`deletionPolicy` decides).
async fn outcome(reader: &Reader, store: &AzureStore, spec: &str) -> Outcome {
    let planned = match plan(&external_secret(spec)) {
        Ok(planned) => planned,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let fetched = match reader.fetch(store, Caller::Controller, &planned).await {
        Ok(fetched) => fetched,
        Err(secret_sync::fetch::FetchError::NotFound(key)) => return Outcome::NotFound(key),
        Err(other) => return Outcome::ReadFailed(format!("{other:?}")),
    };
    match assemble(&planned, &fetched) {
        Ok(data) => Outcome::Synced(data),
        Err(e) => Outcome::Unusable(e.to_string()),
    }
}

/// ESO's `TestAzureKeyVaultSecretManagerGetSecret`,
/// `TestAzureKeyVaultSecretManagerGetSecretMap` and
/// `TestAzureKeyVaultSecretManagerGetAllSecrets` cases
/// (providers/v1/azure/keyvault/keyvault_test.go, the table in
/// `support/eso_provider.rs`) against the emulator's Key Vault, read and
/// assembled as the controller does: the Secret's data is ESO's expected
/// bytes, or the error ESO's text.
#[tokio::test]
async fn eso_azurekv_cases_against_the_emulator() {
    let emulator = Emulator::start(eso_provider::config()).await.unwrap();
    let (reader, orders, _dir, own) = reader_of(&emulator);
    let store = |vault: &str| AzureStore {
        vault_url: emulator.vault_url(vault),
        ..orders.clone()
    };
    let cases = eso_provider::prepare(&emulator, &own).await;
    let mut failed = Vec::new();
    for case in &cases {
        let got = outcome(&reader, &store(case.vault), &case.spec).await;
        if got != case.expected {
            failed.push(format!(
                "{} ({}): got {got:?}, expected {:?}",
                case.name, case.vault, case.expected
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
