//! `azure-wi-auth`'s Key Vault writes against the emulator, read back
//! through Microsoft's Python SDK (`python/client_writes.py`): a secret
//! set with content type, expiry and tags; a key imported from a private
//! JSON Web Key; certificates imported as PEM and as PFX with tags;
//! deletes of each kind; and the refusals a writer must report (the role
//! to grant, the object that is not there). These are the writes the
//! External Secrets Operator's azurekv PushSecret makes
//! (external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault.go`: `SetSecret` with the
//! `managed-by` tag, `ImportKey`, `ImportCertificate`, `Delete*`).
//!
//! Needs Microsoft's Python SDK, as `python_sdk.rs` says.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    collections::BTreeMap,
    path::Path,
    process::Command,
    time::{Duration, SystemTime},
};

use azure_wi_auth::{Error, JsonWebKey, RetryPolicy, SecretClient, SetSecretOptions};
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use serde_json::{Value, json};

struct Pod {
    _dir: tempfile::TempDir,
    token_file: std::path::PathBuf,
    ca_file: std::path::PathBuf,
}

fn pod(emulator: &Emulator) -> Pod {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(
            &dir.path().join("tokens"),
            &TokenSpec::new("team-a", "orders-api"),
        )
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    Pod {
        _dir: dir,
        token_file,
        ca_file,
    }
}

fn vault(emulator: &Emulator, pod: &Pod) -> SecretClient {
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, pod.token_file.clone())
        .unwrap()
        .build()
        .unwrap();
    SecretClient::builder(&emulator.vault_url("orders-kv"), credential)
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

/// `python3 python/client_writes.py VAULT MODE` with only a pod's
/// environment, its printed JSON.
fn python(emulator: &Emulator, pod: &Pod, mode: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("client_writes.py");
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .arg(emulator.vault_url("orders-kv"))
        .arg(mode);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "AZURE_CLIENT_SECRET",
    ] {
        command.env_remove(var);
    }
    let output = command
        .env(names::CLIENT_ID_ENV, DEMO_CLIENT_ID)
        .env(names::TENANT_ID_ENV, DEMO_TENANT)
        .env(names::FEDERATED_TOKEN_FILE_ENV, &pod.token_file)
        .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
        .env("REQUESTS_CA_BUNDLE", &pod.ca_file)
        .env("HTTPS_PROXY", emulator.proxy_url())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "Microsoft's Python SDK is missing (see python_sdk.rs)\n{stderr}"
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("client_writes.py printed no JSON ({e}): {stdout}\n{stderr}"))
}

fn ok(answer: &Value) -> &Value {
    assert!(answer.get("error").is_none(), "{answer:#}");
    &answer["ok"]
}

/// RFC 7517, appendix A.2: the example EC P-256 private key.
fn rfc7517_ec_key() -> Value {
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        "d": "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE",
    })
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_secrets_keys_and_certificates_as_microsofts_sdks_read_them() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let pod = pod(&emulator);
    let secrets = vault(&emulator, &pod);
    let keys = secrets.key_client();
    let certificates = secrets.certificate_client();
    let managed = tags(&[("managed-by", "external-secrets"), ("team", "a")]);

    // The demo identity is a Secrets User: every write names the role
    // that would grant it.
    let refusal = |error: Error| match error {
        Error::Forbidden { role, what, .. } => (role, what),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refusal(
            secrets
                .set_secret_with("pushed", "v1", &SetSecretOptions::default())
                .await
                .unwrap_err()
        ),
        (
            Some("Key Vault Secrets Officer"),
            "writing secret pushed".to_owned()
        )
    );
    assert_eq!(
        refusal(
            keys.import_key("pushed-key", &rfc7517_ec_key(), &managed)
                .await
                .unwrap_err()
        ),
        (
            Some("Key Vault Crypto Officer"),
            "importing key pushed-key".to_owned()
        )
    );
    assert_eq!(
        refusal(
            certificates
                .import_certificate("pushed-pem", "x", None, &managed)
                .await
                .unwrap_err()
        ),
        (
            Some("Key Vault Certificates Officer"),
            "importing certificate pushed-pem".to_owned()
        )
    );
    assert_eq!(
        refusal(secrets.delete_secret("db-password").await.unwrap_err()),
        (
            Some("Key Vault Secrets Officer"),
            "deleting secret db-password".to_owned()
        )
    );
    emulator
        .update_config(|c| {
            for role in [
                Role::SecretsOfficer,
                Role::CryptoOfficer,
                Role::CertificatesOfficer,
            ] {
                c.role_assignments.push(RoleAssignment {
                    principal_id: DEMO_OBJECT_ID.into(),
                    role,
                    scope: "orders-kv".into(),
                });
            }
        })
        .unwrap();

    // A secret with content type, expiry and tags, in one request; a
    // second write is a second version.
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(1_924_992_000);
    let options = SetSecretOptions {
        content_type: Some("text/plain".to_owned()),
        enabled: Some(true),
        expires: Some(expires),
        tags: managed.clone(),
    };
    let first = secrets
        .set_secret_with("pushed", "v1", &options)
        .await
        .unwrap();
    assert_eq!(first.value.expose(), "v1");
    assert_eq!(first.properties.tags, managed);
    assert_eq!(first.properties.expires, Some(expires));
    secrets
        .set_secret_with("pushed", "v2", &options)
        .await
        .unwrap();
    let read = secrets.get_secret("pushed").await.unwrap();
    assert_eq!(
        (
            read.value.expose(),
            read.properties.content_type.as_deref(),
            &read.properties.tags
        ),
        ("v2", Some("text/plain"), &managed)
    );
    // Without options, nothing but the value is sent: no tags, no type.
    let bare = secrets.set_secret("bare", "x").await.unwrap();
    assert!(bare.properties.tags.is_empty() && bare.properties.content_type.is_none());

    // A key from its private JWK: the answer is the public part.
    let key = keys
        .import_key("pushed-key", &rfc7517_ec_key(), &managed)
        .await
        .unwrap();
    assert_eq!(key.properties.tags, managed);
    let JsonWebKey::Ec { x, .. } = &key.key else {
        panic!("{:?}", key.key)
    };
    assert_eq!(
        hex(x),
        "30a0424cd21c2944838a2d75c92b37e76ea20d9f00893a3b4eee8a3c0aafec3e"
    );
    assert_eq!(
        keys.get_key("pushed-key").await.unwrap().properties.tags,
        managed
    );
    // A key the vault cannot take is its refusal, with the reason.
    let mut broken = rfc7517_ec_key();
    broken["y"] = json!("AQ");
    match keys
        .import_key("broken-key", &broken, &managed)
        .await
        .unwrap_err()
    {
        Error::KeyVault {
            status, code, what, ..
        } => assert_eq!(
            (status, code.as_str(), what.as_str()),
            (400, "BadParameter", "importing key broken-key")
        ),
        other => panic!("{other:?}"),
    }

    // Certificates as PEM (with its content type) and as PFX (the default).
    let material = python(&emulator, &pod, "material");
    let pem = certificates
        .import_certificate(
            "pushed-pem",
            material["pem"].as_str().unwrap(),
            Some("application/x-pem-file"),
            &managed,
        )
        .await
        .unwrap();
    assert_eq!(hex(&pem.cer), material["leaf"].as_str().unwrap());
    assert_eq!(pem.properties.tags, managed);
    assert_eq!(pem.content_type.as_deref(), Some("application/x-pem-file"));
    let pfx = certificates
        .import_certificate(
            "pushed-pfx",
            material["pfx"].as_str().unwrap(),
            None,
            &managed,
        )
        .await
        .unwrap();
    assert_eq!(pfx.content_type.as_deref(), Some("application/x-pkcs12"));
    assert_eq!(
        certificates
            .get_certificate("pushed-pfx")
            .await
            .unwrap()
            .properties
            .tags,
        managed
    );
    match certificates
        .import_certificate("not-a-cert", "bm90IGEgY2VydA==", None, &managed)
        .await
        .unwrap_err()
    {
        Error::KeyVault { status, what, .. } => assert_eq!(
            (status, what.as_str()),
            (400, "importing certificate not-a-cert")
        ),
        other => panic!("{other:?}"),
    }

    // Deletes of each kind; a second delete is the object's not-found.
    secrets.set_secret("gone-secret", "x").await.unwrap();
    secrets.delete_secret("gone-secret").await.unwrap();
    assert!(matches!(
        secrets.delete_secret("gone-secret").await.unwrap_err(),
        Error::SecretNotFound { name, version: None, .. } if name == "gone-secret"
    ));
    keys.import_key("gone-key", &rfc7517_ec_key(), &BTreeMap::new())
        .await
        .unwrap();
    keys.delete_key("gone-key").await.unwrap();
    assert!(matches!(
        keys.delete_key("gone-key").await.unwrap_err(),
        Error::KeyNotFound { name, .. } if name == "gone-key"
    ));
    certificates
        .import_certificate(
            "pushed-pfx-gone",
            material["pfx"].as_str().unwrap(),
            None,
            &managed,
        )
        .await
        .unwrap();
    certificates
        .delete_certificate("pushed-pfx-gone")
        .await
        .unwrap();
    assert!(matches!(
        certificates.delete_certificate("pushed-pfx-gone").await.unwrap_err(),
        Error::CertificateNotFound { name, .. } if name == "pushed-pfx-gone"
    ));
    assert!(matches!(
        secrets.get_secret("pushed-pfx-gone").await.unwrap_err(),
        Error::SecretNotFound { .. }
    ));

    // Microsoft's SDK reads back what was written.
    let seen = python(&emulator, &pod, "read");
    let managed_json = json!({"managed-by": "external-secrets", "team": "a"});
    assert_eq!(
        ok(&seen["secret"]),
        &json!({"value": "v2", "content_type": "text/plain", "tags": managed_json,
                "enabled": true, "expires": 1_924_992_000}),
        "{seen:#}"
    );
    assert_eq!(ok(&seen["versions"]), &json!(2), "{seen:#}");
    assert_eq!(
        ok(&seen["key"]),
        &json!({"kty": "EC", "crv": "P-256",
                "x": "30a0424cd21c2944838a2d75c92b37e76ea20d9f00893a3b4eee8a3c0aafec3e",
                "y": hex(match &key.key { JsonWebKey::Ec { y, .. } => y, other => panic!("{other:?}") }),
                "tags": managed_json}),
        "{seen:#}"
    );
    for (case, content_type) in [
        ("pem", "application/x-pem-file"),
        ("pfx", "application/x-pkcs12"),
    ] {
        assert_eq!(
            ok(&seen[case]),
            &json!({"cer": material["leaf"], "tags": managed_json, "content_type": content_type}),
            "{case}: {seen:#}"
        );
    }
    for (case, name) in [
        ("secret_deleted", "gone-secret"),
        ("key_deleted", "gone-key"),
        ("cert_deleted", "pushed-pfx-gone"),
    ] {
        assert_eq!(ok(&seen[case]), &json!(name), "{case}: {seen:#}");
    }
}
