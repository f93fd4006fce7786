//! `azure-wi-auth`'s Key Vault key and certificate clients against the
//! emulator over TLS, on the world of
//! `Config::demo_with_keys_and_certificates`: typed RSA and EC keys with
//! their versions, certificates with the ids of their key and secret, the
//! certificate-backed secret told apart by `kid`, and the refusals a CSI
//! provider must report (missing object, disabled secret, missing role).

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::time::Duration;

use azure_wi_auth::{EcCurve, Error, JsonWebKey, RetryPolicy, SecretClient};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use futures::TryStreamExt as _;

fn vault(emulator: &Emulator, dir: &tempfile::TempDir) -> SecretClient {
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token_file)
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

#[tokio::test]
async fn reads_keys_certificates_and_their_secrets() {
    let mut config = Config::demo_with_keys_and_certificates();
    config.max_page_size = 1; // every list follows nextLink
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = vault(&emulator, &dir);
    let keys = secrets.key_client();
    let certificates = secrets.certificate_client();

    let rsa = keys.get_key("signing-rsa").await.unwrap();
    match &rsa.key {
        JsonWebKey::Rsa { n, e, .. } => {
            assert_eq!((n.len() * 8, e.as_slice()), (4096, &[1, 0, 1][..]))
        }
        other => panic!("{other:?}"),
    }
    let versions: Vec<_> = keys
        .list_key_versions("signing-rsa")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions.iter().all(|v| v.created.is_some()));
    let disabled = versions.iter().find(|v| !v.enabled).unwrap();
    let old = keys
        .get_key_version("signing-rsa", disabled.version.as_deref().unwrap())
        .await
        .unwrap();
    assert!(!old.properties.enabled);
    let ec = keys.get_key("signing-ec").await.unwrap();
    assert!(
        matches!(&ec.key, JsonWebKey::Ec { crv: EcCurve::P521, x, y, .. } if x.len() == 66 && y.len() == 66),
        "{ec:?}"
    );
    let names: Vec<String> = keys
        .list_key_properties()
        .map_ok(|k| k.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        names,
        ["signing-ec", "signing-rsa", "web-tls", "web-tls-pem"]
    );

    let cert = certificates.get_certificate("web-tls").await.unwrap();
    let version = cert.properties.version.clone().unwrap();
    assert_eq!(cert.cer.first(), Some(&0x30), "DER starts with a SEQUENCE");
    assert_eq!(cert.content_type.as_deref(), Some("application/x-pkcs12"));
    assert!(
        cert.key_id
            .as_deref()
            .unwrap()
            .ends_with(&format!("/keys/web-tls/{version}"))
    );
    assert_eq!(cert.properties.x5t.as_ref().map(Vec::len), Some(20));
    let backing = secrets.get_secret("web-tls").await.unwrap();
    assert_eq!(backing.properties.key_id, cert.key_id);
    assert!(backing.properties.managed);
    assert_eq!(
        backing.properties.content_type.as_deref(),
        Some("application/x-pkcs12")
    );
    let plain = secrets.get_secret("db-password").await.unwrap();
    assert_eq!(
        (plain.properties.key_id, plain.properties.managed),
        (None, false)
    );
    let pem = secrets.get_secret("web-tls-pem").await.unwrap();
    assert!(
        pem.value
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    let cert_versions: Vec<_> = certificates
        .list_certificate_versions("web-tls")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(cert_versions.len(), 2);
    let first = cert_versions.iter().find(|v| !v.enabled).unwrap();
    let first_version = first.version.as_deref().unwrap();
    let old = certificates
        .get_certificate_version("web-tls", first_version)
        .await
        .unwrap();
    assert!(!old.properties.enabled);
    let refused = secrets
        .get_secret_version("web-tls", first_version)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Forbidden { code, role: None, .. } if code == "SecretDisabled"),
        "{refused:?}"
    );
    let names: Vec<String> = certificates
        .list_certificate_properties()
        .map_ok(|c| c.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["web-tls", "web-tls-pem"]);
    // One token and one challenge served the three clients.
    assert_eq!(emulator.counters().tokens_issued(), 1);
}

#[tokio::test]
async fn refusals_name_the_object_the_vault_and_the_role() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = vault(&emulator, &dir);
    let vault_url = emulator.vault_url("orders-kv");

    let missing = secrets.key_client().get_key("nope").await.unwrap_err();
    assert!(matches!(missing, Error::KeyNotFound { .. }), "{missing:?}");
    assert_eq!(
        missing.to_string(),
        format!(
            "key nope was not found in Key Vault {vault_url} (KeyNotFound); check the name, or whether it was deleted"
        )
    );
    let missing = secrets
        .certificate_client()
        .get_certificate_version("web-tls", "0123")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, Error::CertificateNotFound { version: Some(v), .. } if v == "0123"),
        "{missing:?}"
    );

    // Only the Secrets User role left: keys and certificates are refused,
    // naming what to grant.
    emulator
        .update_config(|c| c.role_assignments.truncate(1))
        .unwrap();
    let key = secrets
        .key_client()
        .get_key("signing-ec")
        .await
        .unwrap_err();
    let text = key.to_string();
    assert!(
        text.contains("refused reading key signing-ec (ForbiddenByRbac)"),
        "{text}"
    );
    assert!(text.contains("needs the Key Vault Crypto User"), "{text}");
    let cert = secrets
        .certificate_client()
        .get_certificate("web-tls")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        cert.contains("needs the Key Vault Certificate User"),
        "{cert}"
    );
}
