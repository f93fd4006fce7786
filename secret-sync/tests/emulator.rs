//! The Key Vault reads of a sync against the emulator, through
//! azure-wi-auth: a certificate is its DER, a key its public JWK, a
//! `property` reads into a JSON value, and `dataFrom.find` syncs of one
//! store and identity made together share one listing (for a few seconds
//! at most, never the whole refresh interval); `metadataPolicy: Fetch`
//! reads a secret's, key's and certificate's tags; and every case of ESO's
//! azurekv `GetSecret`, `GetSecretMap` and `GetAllSecrets` tests that Key
//! Vault can hold gives ESO's bytes or ESO's error.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::{SecretClient, WorkloadVaults};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
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
    update_in(emulator, credential, "orders-kv", path, body).await;
}

/// [`update`] in vault `vault`.
async fn update_in(
    emulator: &Emulator,
    credential: &azure_wi_auth::WorkloadIdentityCredential,
    vault: &str,
    path: &str,
    body: serde_json::Value,
) {
    let token = credential
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap();
    let response = emulator
        .client()
        .unwrap()
        .patch(format!(
            "{}/{path}/?api-version=7.4",
            emulator.vault_url(vault)
        ))
        .bearer_auth(token.secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{path}: {}", response.text().await.unwrap());
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

/// ESO's `jsonTestString` (providers/v1/azure/keyvault/keyvault_test.go).
const ESO_JSON: &str = r#"{"Name": "External", "LastName": "Secret", "Address": { "Street": "Myroad st.", "CP": "J4K4T4" } }"#;
/// ESO's `jsonSingleTestString`.
const ESO_JSON_SINGLE: &str = r#"{"Name": "External", "LastName": "Secret" }"#;
/// ESO's `getTagMap()`.
const ESO_TAGS: &[(&str, &str)] = &[("tagname", "tagvalue"), ("tagname2", "tagvalue2")];
/// ESO's key operations of `jwkPubRSA`.
const ESO_RSA_OPS: &[&str] = &[
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "encrypt",
    "decrypt",
];

fn secret_seed(name: &str, values: &[&str]) -> azure_wi_emulator::config::SecretSeed {
    azure_wi_emulator::config::SecretSeed {
        name: name.to_owned(),
        versions: values
            .iter()
            .map(|value| azure_wi_emulator::config::VersionSeed {
                value: (*value).to_owned(),
                content_type: None,
                enabled: true,
            })
            .collect(),
    }
}

fn key_seed(
    name: &str,
    key: azure_wi_emulator::config::KeySpec,
    ops: &[&str],
) -> azure_wi_emulator::config::KeySeed {
    azure_wi_emulator::config::KeySeed {
        name: name.to_owned(),
        versions: vec![azure_wi_emulator::config::KeyVersionSeed {
            key,
            key_ops: Some(ops.iter().map(|op| (*op).to_owned()).collect()),
            enabled: true,
        }],
    }
}

fn certificate_seed(
    name: &str,
    content_type: azure_wi_emulator::config::CertificateContentType,
) -> azure_wi_emulator::config::CertificateSeed {
    use azure_wi_emulator::config::{CertificateIssuer, CertificateVersionSeed, Curve, KeySpec};
    azure_wi_emulator::config::CertificateSeed {
        name: name.to_owned(),
        versions: vec![CertificateVersionSeed {
            key: KeySpec::ec(Curve::P256),
            subject: format!("CN={name}.example.com"),
            dns_names: Vec::new(),
            issuer: CertificateIssuer::SelfSigned,
            content_type,
            validity_months: 12,
            enabled: true,
        }],
    }
}

/// What Key Vault answers to `GET <path>` in vault `vault`, as JSON.
async fn raw_get(
    emulator: &Emulator,
    credential: &azure_wi_auth::WorkloadIdentityCredential,
    vault: &str,
    path: &str,
) -> serde_json::Value {
    let token = credential
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap();
    let response = emulator
        .client()
        .unwrap()
        .get(format!(
            "{}/{path}?api-version=7.4",
            emulator.vault_url(vault)
        ))
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{vault}/{path}");
    response.json().await.unwrap()
}

/// A JSON string as Go's `encoding/json` writes it, for the strings these
/// cases hold (none has a character Go escapes otherwise than serde).
fn go_string(text: &str) -> String {
    assert!(
        !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) && !text.contains(char::is_control),
        "{text}"
    );
    serde_json::to_string(text).unwrap()
}

/// Go's `json.Marshal` of the `JSONWebKey` Key Vault returned (the Go
/// SDK's struct: its fields in their order, the absent ones left out):
/// the bytes ESO's `getSecretWithLegacySDK` gives for `key/`.
fn go_jwk(key: &serde_json::Value) -> String {
    let fields = [
        "kid", "kty", "key_ops", "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "crv",
        "x", "y",
    ];
    let written: Vec<String> = fields
        .iter()
        .filter_map(|field| {
            let value = key.get(*field)?;
            let text = match value {
                serde_json::Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|item| go_string(item.as_str().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                other => go_string(other.as_str().unwrap()),
            };
            Some(format!("\"{field}\":{text}"))
        })
        .collect();
    format!("{{{}}}", written.join(","))
}

/// ESO's `getSecretAllMetadata` of what Key Vault returned for an object
/// (a SecretBundle, KeyBundle or CertificateBundle): its tags, and each
/// attribute set as `attribute.*` in RFC 3339 UTC.
fn all_metadata(bundle: &serde_json::Value) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = bundle["tags"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    for (attribute, name) in [
        ("exp", "attribute.expires"),
        ("created", "attribute.created"),
        ("updated", "attribute.updated"),
        ("nbf", "attribute.notBefore"),
    ] {
        if let Some(seconds) = bundle["attributes"][attribute].as_i64() {
            let at = time::OffsetDateTime::from_unix_timestamp(seconds)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            all.insert(name.to_owned(), at);
        }
    }
    all
}

/// Go's `json.Marshal` of a `map[string]string`.
fn go_map(map: &BTreeMap<String, String>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", go_string(k), go_string(v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// A Secret's data, or the error that stops the sync.
type Outcome = Result<BTreeMap<String, Vec<u8>>, String>;

/// What one ExternalSecret of `spec` gives against `store`: its Secret's
/// data, or the error its condition would show (a plan's refusal, a
/// property or tag not found, an extract that is not JSON), or
/// `not found: <key>` for a remote that is gone (`deletionPolicy`
/// decides).
async fn outcome(reader: &Reader, store: &AzureStore, spec: &str) -> Outcome {
    let planned = plan(&external_secret(spec)).map_err(|e| e.to_string())?;
    let fetched = reader
        .fetch(store, Caller::Controller, &planned)
        .await
        .map_err(|e| match e {
            secret_sync::fetch::FetchError::NotFound(key) => format!("not found: {key}"),
            other => format!("{other:?}"),
        })?;
    assemble(&planned, &fetched).map_err(|e| e.to_string())
}

fn data(entries: &[(&str, &[u8])]) -> Outcome {
    Ok(entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
        .collect())
}

/// A `data` entry `v` reading `remote_ref` (a YAML flow mapping's body).
fn one(remote_ref: &str) -> String {
    format!("  data:\n  - secretKey: v\n    remoteRef: {{{remote_ref}}}\n")
}

/// A `dataFrom.extract` of `extract` (a YAML flow mapping's body).
fn extract(extract: &str) -> String {
    format!("  dataFrom:\n  - extract: {{{extract}}}\n")
}

/// ESO's `TestAzureKeyVaultSecretManagerGetSecret`,
/// `TestAzureKeyVaultSecretManagerGetSecretMap` and
/// `TestAzureKeyVaultSecretManagerGetAllSecrets` cases
/// (providers/v1/azure/keyvault/keyvault_test.go) against the emulator's
/// Key Vault: each case's vault holds what ESO's mock returns (under
/// ESO's names: `test-secret`, `key/keyname`, `cert/certname`,
/// `example-1`), tags and attributes set with Key Vault's `PATCH`; the
/// ExternalSecret asks what ESO's `ref` asks; the Secret's data is ESO's
/// expected bytes, or the error ESO's text. Where ESO's bytes come from
/// Key Vault's answer (a key's JWK, a certificate's DER, the `created`
/// and `updated` attributes Key Vault always returns, which ESO's
/// mocked bundles lack), they are made from the answer here as ESO's code
/// makes them: Go's `json.Marshal` of the Go SDK's `JSONWebKey`, the
/// `cer` bytes, `getSecretAllMetadata`.
#[tokio::test]
async fn eso_azurekv_cases_against_the_emulator() {
    use azure_wi_emulator::config::{
        CertificateContentType, Curve, DEMO_OBJECT_ID, KeySpec, Role, RoleAssignment, Vault,
    };
    use serde_json::json;

    let vault = |name: &str, secrets, keys, certificates| Vault {
        name: name.to_owned(),
        tenant: None,
        secrets,
        keys,
        certificates,
    };
    let test_secret = |values: &[&str]| vec![secret_seed("test-secret", values)];
    let rsa = || key_seed("keyname", KeySpec::rsa(2048), ESO_RSA_OPS);
    let certname = || certificate_seed("certname", CertificateContentType::Pkcs12);
    let mut config = Config::demo();
    config.vaults = vec![
        vault(
            "get-default",
            test_secret(&["Hello World!"]),
            vec![],
            vec![],
        ),
        vault("get-string", test_secret(&["changedvalue"]), vec![], vec![]),
        vault(
            "get-version",
            test_secret(&["changedvalue", "later"]),
            vec![],
            vec![],
        ),
        vault("get-json", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("get-rsa", vec![], vec![rsa()], vec![]),
        vault("key-tags", vec![], vec![rsa()], vec![]),
        vault(
            "get-ec",
            vec![],
            vec![key_seed(
                "keyname",
                KeySpec::ec(Curve::P521),
                &["sign", "verify"],
            )],
            vec![],
        ),
        vault("empty", vec![], vec![], vec![]),
        vault("get-cert", vec![], vec![], vec![certname()]),
        vault("cert-tags", vec![], vec![], vec![certname()]),
        vault(
            "get-expires",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "secret-tags",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault("no-tags", test_secret(&["Hello World!"]), vec![], vec![]),
        vault("tag-foo-bar", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-json", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-nested", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-dotted", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault(
            "dotted-value",
            test_secret(&[r#"{"foo.json":"bar"}"#]),
            vec![],
            vec![],
        ),
        vault(
            "map-single",
            test_secret(&[ESO_JSON_SINGLE]),
            vec![],
            vec![],
        ),
        vault(
            "map-json-tag",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "map-nested-tag",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "all-one-name",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-two-name",
            vec![
                secret_seed("example-1", &["changedvalue"]),
                secret_seed("not-valid", &["changedvalue"]),
            ],
            vec![],
            vec![],
        ),
        vault(
            "all-one-tag",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-two-tag",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-details",
            vec![
                secret_seed("example-1", &["changedvalue"]),
                azure_wi_emulator::config::SecretSeed {
                    name: "example-2".to_owned(),
                    versions: vec![azure_wi_emulator::config::VersionSeed {
                        value: "disabled".to_owned(),
                        content_type: None,
                        enabled: false,
                    }],
                },
                secret_seed("example-3", &["changedvalue"]),
                secret_seed("example-4", &["changedvalue"]),
                azure_wi_emulator::config::SecretSeed {
                    name: "example-json".to_owned(),
                    versions: vec![azure_wi_emulator::config::VersionSeed {
                        value: ESO_JSON.to_owned(),
                        content_type: Some("application/json".to_owned()),
                        enabled: true,
                    }],
                },
            ],
            vec![],
            vec![
                certificate_seed("example-cert", CertificateContentType::Pkcs12),
                certificate_seed("example-pem", CertificateContentType::Pem),
            ],
        ),
    ];
    config.role_assignments = config
        .vaults
        .iter()
        .flat_map(|vault| {
            [
                Role::SecretsOfficer,
                Role::CryptoOfficer,
                Role::CertificatesOfficer,
            ]
            .map(|role| RoleAssignment {
                principal_id: DEMO_OBJECT_ID.to_owned(),
                role,
                scope: vault.name.clone(),
            })
        })
        .collect();
    let emulator = Emulator::start(config).await.unwrap();
    let (reader, orders, _dir, own) = reader_of(&emulator);
    let store = |vault: &str| AzureStore {
        vault_url: emulator.vault_url(vault),
        ..orders.clone()
    };

    // Tags and attributes, as ESO's mocked bundles carry them.
    let tags = |pairs: &[(&str, &str)]| json!({"tags": pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()});
    let nested = r#"{"key":"value", "nested": {"foo":"bar"}}"#;
    let dev = r#"{"foo":"bar","nested.tag":{"foo":"bar"}}"#;
    #[rustfmt::skip]
    let patches: &[(&str, &str, serde_json::Value)] = &[
        ("key-tags", "keys/keyname", tags(ESO_TAGS)),
        ("cert-tags", "certificates/certname", tags(ESO_TAGS)),
        ("get-expires", "secrets/test-secret", json!({"attributes": {"exp": 1_893_456_000}})),
        ("secret-tags", "secrets/test-secret", tags(ESO_TAGS)),
        ("tag-foo-bar", "secrets/test-secret", tags(&[("foo", "bar")])),
        ("tag-json", "secrets/test-secret", tags(&[("foo", r#"{"key":"value"}"#)])),
        ("tag-nested", "secrets/test-secret", tags(&[("foo", nested)])),
        ("tag-dotted", "secrets/test-secret", tags(&[("foo", r#"{"foo.json":"bar"}"#)])),
        ("map-json-tag", "secrets/test-secret", tags(&[("json", r#"{"keyname":"keyvalue","x":"y"}"#)])),
        ("map-nested-tag", "secrets/test-secret", tags(&[("dev", dev), ("bug", "1137")])),
        ("all-one-tag", "secrets/example-1", tags(&[("environment", "dev")])),
        ("all-two-tag", "secrets/example-1", tags(&[("environment", "dev"), ("author", "seb")])),
        ("all-details", "secrets/example-1", tags(&[("environment", "dev"), ("author", "seb")])),
        ("all-details", "secrets/example-3", tags(&[("environment", "dev")])),
        ("all-details", "secrets/example-4", tags(&[("environment", "Dev"), ("author", "seb")])),
    ];
    for (vault, path, body) in patches {
        update_in(&emulator, &own, vault, path, body.clone()).await;
    }

    // What ESO's code makes of Key Vault's answers.
    let get = |vault: &'static str, path: &'static str| raw_get(&emulator, &own, vault, path);
    let rsa_jwk = go_jwk(&get("get-rsa", "keys/keyname").await["key"]);
    let ec_jwk = go_jwk(&get("get-ec", "keys/keyname").await["key"]);
    assert!(rsa_jwk.starts_with(r#"{"kid":"https://get-rsa."#) && rsa_jwk.contains(
        r#"","kty":"RSA","key_ops":["sign","verify","wrapKey","unwrapKey","encrypt","decrypt"],"n":""#
    ), "{rsa_jwk}");
    assert!(
        ec_jwk.contains(r#"","kty":"EC","key_ops":["sign","verify"],"crv":"P-521","x":""#),
        "{ec_jwk}"
    );
    let certificate = get("get-cert", "certificates/certname").await;
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        certificate["cer"].as_str().unwrap(),
    )
    .unwrap();
    let all_of =
        async |vault: &'static str, path: &'static str| all_metadata(&get(vault, path).await);
    let all_json =
        async |vault: &'static str, path: &'static str| go_map(&all_of(vault, path).await);
    // ESO's getSecretTagsWithLegacySDK: `test-secret_<tag>` (a JSON object
    // of strings split by field), then `test-secret_attribute.*`.
    let split = async |vault: &'static str, fields: &[(&str, &str)]| {
        let mut keys: BTreeMap<String, Vec<u8>> = fields
            .iter()
            .map(|(k, v)| (format!("test-secret_{k}"), v.as_bytes().to_vec()))
            .collect();
        for (name, at) in all_of(vault, "secrets/test-secret").await {
            if name.starts_with("attribute.") {
                keys.insert(format!("test-secret_{name}"), at.into_bytes());
            }
        }
        Ok::<_, String>(keys)
    };
    let versions = get("get-version", "secrets/test-secret/versions").await;
    let mut first_version = None;
    for item in versions["value"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let version = id.rsplit('/').next().unwrap();
        let read = get("get-version", "secrets/test-secret").await;
        let this = raw_get(
            &emulator,
            &own,
            "get-version",
            &format!("secrets/test-secret/{version}"),
        )
        .await;
        if this["value"] == "changedvalue" {
            assert_eq!(read["value"], "later", "the current version is another");
            first_version = Some(version.to_owned());
        }
    }
    let first_version = first_version.unwrap();
    let value_of = async |path: &'static str| {
        let secret = get("all-details", path).await;
        secret["value"].as_str().unwrap().as_bytes().to_vec()
    };
    let example_cert = value_of("secrets/example-cert").await;
    let example_pem = value_of("secrets/example-pem").await;
    assert!(example_pem.starts_with(b"-----BEGIN"), "the PEM secret");

    let not_json = "error unmarshalling json data: invalid character looking for beginning of value: dataFrom.extract needs the secret test-secret to hold a JSON object; use data with a secretKey for a plain value";
    let tag_nope = "tag something does not exist";
    let find = |tags: &str| {
        format!("  dataFrom:\n  - find: {{name: {{regexp: \"^example\"}}, tags: {tags}}}\n")
    };
    let changed: &[u8] = b"changedvalue";
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String, Outcome)> = vec![
        // TestAzureKeyVaultSecretManagerGetSecret
        ("makeValidSecretManagerTestCase", "get-default", one("key: test-secret"),
            data(&[("v", b"Hello World!")])),
        ("setSecretString", "get-string", one("key: test-secret"), data(&[("v", changed)])),
        ("setSecretStringWithVersion", "get-version",
            one(&format!("key: test-secret, version: {first_version}")), data(&[("v", changed)])),
        ("setSecretWithProperty", "get-json", one("key: test-secret, property: Name"),
            data(&[("v", b"External")])),
        ("badSecretWithProperty", "get-json", one("key: test-secret, property: Age"),
            Err("property Age does not exist in key test-secret".to_owned())),
        ("setPubRSAKey", "get-rsa", one("key: key/keyname"), data(&[("v", rsa_jwk.as_bytes())])),
        ("setPubECKey", "get-ec", one("key: key/keyname"), data(&[("v", ec_jwk.as_bytes())])),
        ("secretNotFound", "empty", one("key: test-secret"), Err("not found: test-secret".to_owned())),
        ("certNotFound", "empty", one("key: cert/certname"), Err("not found: cert/certname".to_owned())),
        ("keyNotFound", "empty", one("key: key/keyname"), Err("not found: key/keyname".to_owned())),
        ("setCertificate", "get-cert", one("key: cert/certname"), data(&[("v", &der)])),
        ("badSecretType", "empty", one("key: example/name"),
            Err("unknown Azure Keyvault object Type for name: remoteRef.key example/name has none of the prefixes secret/, cert/, key/; use <name>, secret/<name>, cert/<name> or key/<name>".to_owned())),
        ("setSecretWithExpiresAttribute", "get-expires",
            one("key: test-secret, metadataPolicy: Fetch, property: attribute.expires"),
            data(&[("v", b"2030-01-01T00:00:00Z")])),
        ("setSecretWithTag", "secret-tags", one("key: test-secret, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badSecretWithTag", "no-tags", one("key: test-secret, metadataPolicy: Fetch, property: something"),
            Err(tag_nope.to_owned())),
        ("setSecretWithNoSpecificTag", "secret-tags", one("key: test-secret, metadataPolicy: Fetch"),
            data(&[("v", all_json("secret-tags", "secrets/test-secret").await.as_bytes())])),
        ("setSecretWithNoTags", "no-tags", one("key: test-secret, metadataPolicy: Fetch"),
            data(&[("v", all_json("no-tags", "secrets/test-secret").await.as_bytes())])),
        ("setCertWithTag", "cert-tags", one("key: cert/certname, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badCertWithTag", "get-cert", one("key: cert/certname, metadataPolicy: Fetch, property: something"),
            Err(tag_nope.to_owned())),
        ("setCertWithNoSpecificTag", "cert-tags", one("key: cert/certname, metadataPolicy: Fetch"),
            data(&[("v", all_json("cert-tags", "certificates/certname").await.as_bytes())])),
        ("setCertWithNoTags", "get-cert", one("key: cert/certname, metadataPolicy: Fetch"),
            data(&[("v", all_json("get-cert", "certificates/certname").await.as_bytes())])),
        ("setKeyWithTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badKeyWithTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch, property: something"),
            Err(tag_nope.to_owned())),
        ("setKeyWithNoSpecificTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch"),
            data(&[("v", all_json("key-tags", "keys/keyname").await.as_bytes())])),
        ("setKeyWithNoTags", "get-rsa", one("key: key/keyname, metadataPolicy: Fetch"),
            data(&[("v", all_json("get-rsa", "keys/keyname").await.as_bytes())])),
        ("badPropertyTag", "no-tags", one("key: test-secret, property: tagname"),
            Err("property tagname does not exist in key test-secret".to_owned())),
        ("fetchSingleTag", "tag-foo-bar", one("key: test-secret, metadataPolicy: Fetch, property: foo"),
            data(&[("v", b"bar")])),
        ("fetchJSONTag", "tag-json", one("key: test-secret, metadataPolicy: Fetch, property: foo"),
            data(&[("v", br#"{"key":"value"}"#)])),
        ("fetchDottedJSONTag", "tag-json", one("key: test-secret, metadataPolicy: Fetch, property: foo.key"),
            data(&[("v", b"value")])),
        ("fetchNestedJSONTag", "tag-nested", one("key: test-secret, metadataPolicy: Fetch, property: foo.nested"),
            data(&[("v", br#"{"foo":"bar"}"#)])),
        ("fetchNestedDottedJSONTag", "tag-nested",
            one("key: test-secret, metadataPolicy: Fetch, property: foo.nested.foo"), data(&[("v", b"bar")])),
        ("fetchDottedKeyJSONTag", "tag-dotted",
            one("key: test-secret, metadataPolicy: Fetch, property: foo.foo.json"), data(&[("v", b"bar")])),
        ("fetchDottedSecretJSONTag", "dotted-value", one("key: test-secret, property: foo.json"),
            data(&[("v", b"bar")])),
        // ESO returns a certificate's Cer before reading any property.
        ("(cert/ with a property)", "get-cert", one("key: cert/certname, property: Name"),
            data(&[("v", &der)])),
        // TestAzureKeyVaultSecretManagerGetSecretMap
        ("badSecretString", "get-string", extract("key: test-secret"), Err(not_json.to_owned())),
        ("setSecretJSON", "map-single", extract("key: test-secret"),
            data(&[("Name", b"External"), ("LastName", b"Secret")])),
        ("setSecretJSONWithProperty", "get-json", extract("key: test-secret, property: Address"),
            data(&[("Street", b"Myroad st."), ("CP", b"J4K4T4")])),
        ("badSecretWithProperty", "get-json", extract("key: test-secret, property: Age"),
            Err("property Age does not exist in key test-secret".to_owned())),
        ("badPubRSAKey", "get-rsa", extract("key: key/keyname"),
            Err("cannot get use dataFrom to get key secret: dataFrom reads secrets only; use data with cert/ or key/".to_owned())),
        ("badCertificate", "get-cert", extract("key: cert/certname"),
            Err("cannot get use dataFrom to get certificate secret: dataFrom reads secrets only; use data with cert/ or key/".to_owned())),
        ("badSecretType", "empty", extract("key: example/name"),
            Err("unknown Azure Keyvault object Type for name: remoteRef.key example/name has none of the prefixes secret/, cert/, key/; use <name>, secret/<name>, cert/<name> or key/<name>".to_owned())),
        ("setSecretTags", "secret-tags", extract("key: test-secret, metadataPolicy: Fetch"),
            split("secret-tags", ESO_TAGS).await),
        ("setSecretWithJSONTag", "map-json-tag", extract("key: test-secret, metadataPolicy: Fetch"),
            split("map-json-tag", &[("json_keyname", "keyvalue"), ("json_x", "y")]).await),
        ("setSecretWithNoTags", "no-tags", extract("key: test-secret, metadataPolicy: Fetch"),
            split("no-tags", &[]).await),
        ("nestedJSONNoProperty", "get-json", extract("key: test-secret"),
            data(&[("Name", b"External"), ("LastName", b"Secret"),
                ("Address", br#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#)])),
        ("setNestedJSONTag", "map-nested-tag", extract("key: test-secret, metadataPolicy: Fetch, property: dev"),
            data(&[("test-secret_dev", dev.as_bytes())])),
        // TestAzureKeyVaultSecretManagerGetAllSecrets
        ("setOneSecretByName", "all-one-name", find("{}"), data(&[("example-1", changed)])),
        ("setTwoSecretsByName", "all-two-name", find("{}"), data(&[("example-1", changed)])),
        ("setOneSecretByTag", "all-one-tag", find("{environment: dev}"), data(&[("example-1", changed)])),
        ("setTwoSecretsByTag", "all-two-tag", find("{environment: dev, author: seb}"),
            data(&[("example-1", changed)])),
        // isValidSecret and okByTags: a disabled secret, a tag missing or
        // of another value, left out; a certificate's secret listed and
        // read as Key Vault holds it (base64 PKCS#12, PEM), a value whatever
        // its contentType.
        ("(find by tags)", "all-details", find("{environment: dev, author: seb}"),
            data(&[("example-1", changed)])),
        ("(find every enabled secret)", "all-details", find("{}"),
            data(&[("example-1", changed), ("example-3", changed), ("example-4", changed),
                ("example-cert", &example_cert), ("example-pem", &example_pem),
                ("example-json", ESO_JSON.as_bytes())])),
    ];
    let mut failed = Vec::new();
    for (case, vault, spec, expected) in &cases {
        let got = outcome(&reader, &store(vault), spec).await;
        if &got != expected {
            failed.push(format!(
                "{case} ({vault}): got {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
