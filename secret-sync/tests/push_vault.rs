//! ESO's azurekv `PushSecret`, `DeleteSecret` and `SecretExists`
//! (`secret_sync::push_vault`) against the emulator: secrets, keys and
//! certificates written with ESO's `managed-by` tag and skipped when
//! unchanged (no new version), and every path that could touch an object
//! ESO did not make (a write as `Replace` makes it, the existence check
//! `IfNotExists` makes, a delete) refused with the object left as it was.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::{RetryPolicy, SecretClient};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::TryStreamExt as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use secret_sync::push_vault::{Pushed, delete_secret, push_secret, secret_exists};
use serde_json::json;

async fn vault(emulator: &Emulator, dir: &tempfile::TempDir) -> SecretClient {
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

fn data(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
        .collect()
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "json! literals are built in place"
)]
fn metadata(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
           "kind": "PushSecretMetadata", "spec": spec})
}

async fn versions(client: &SecretClient, name: &str) -> usize {
    client
        .list_secret_versions(name)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_as_eso_and_never_touches_what_eso_did_not_make() {
    let mut config = Config::demo_with_keys_and_certificates();
    for role in [
        Role::SecretsOfficer,
        Role::CryptoOfficer,
        Role::CertificatesOfficer,
    ] {
        config.role_assignments.push(RoleAssignment {
            principal_id: DEMO_OBJECT_ID.into(),
            role,
            scope: "orders-kv".into(),
        });
    }
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = vault(&emulator, &dir).await;
    let secret = data(&[("password", b"hunter2"), ("user", b"admin")]);

    // Objects ESO did not make: the demo's secret, key and certificate.
    let before = client.get_secret("db-password").await.unwrap();
    for (remote, text) in [
        (
            "db-password",
            "cannot get secret db-password: not managed by external-secrets",
        ),
        (
            "key/signing-rsa",
            "cannot get key signing-rsa: not managed by external-secrets",
        ),
    ] {
        let pem = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .unwrap()
            .to_pkcs1_pem(Default::default())
            .unwrap();
        let value = if remote.starts_with("key/") {
            data(&[("password", pem.as_bytes())])
        } else {
            secret.clone()
        };
        let error = push_secret(&client, &value, Some("password"), remote, None)
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), text);
        assert!(secret_exists(&client, remote).await.unwrap(), "{remote}");
    }
    let web_tls = client.get_secret("web-tls").await.unwrap();
    let pfx = STANDARD.decode(web_tls.value.expose()).unwrap();
    let error = push_secret(
        &client,
        &data(&[("tls", &pfx)]),
        Some("tls"),
        "cert/web-tls",
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot get certificate web-tls: not managed by external-secrets"
    );
    for (remote, text) in [
        (
            "db-password",
            "error getting secret db-password: not managed by external-secrets",
        ),
        (
            "key/signing-rsa",
            "error getting key signing-rsa: not managed by external-secrets",
        ),
        (
            "cert/web-tls",
            "error getting certificate web-tls: not managed by external-secrets",
        ),
    ] {
        assert_eq!(
            delete_secret(&client, remote)
                .await
                .unwrap_err()
                .to_string(),
            text
        );
    }
    let after = client.get_secret("db-password").await.unwrap();
    assert_eq!(after.value.expose(), before.value.expose());
    assert_eq!(after.properties.version, before.properties.version);
    assert!(after.properties.tags.is_empty());
    client.key_client().get_key("signing-rsa").await.unwrap();
    client
        .certificate_client()
        .get_certificate("web-tls")
        .await
        .unwrap();

    // A secret: written with ESO's tag, then skipped while unchanged.
    assert!(!secret_exists(&client, "pushed").await.unwrap());
    let push = |remote: &'static str, meta: Option<serde_json::Value>| {
        let client = client.clone();
        let secret = secret.clone();
        async move { push_secret(&client, &secret, Some("password"), remote, meta.as_ref()).await }
    };
    assert_eq!(push("pushed", None).await.unwrap(), Pushed::Written);
    assert_eq!(
        push("secret/pushed", None).await.unwrap(),
        Pushed::Unchanged
    );
    let read = client.get_secret("pushed").await.unwrap();
    assert_eq!(read.value.expose(), "hunter2");
    assert_eq!(read.properties.tags["managed-by"], "external-secrets");
    assert_eq!(versions(&client, "pushed").await, 1);
    // A content type asked for: written once, then unchanged.
    let typed = metadata(json!({"contentType": "text/plain", "tags": {"team": "a"}}));
    assert_eq!(
        push("pushed", Some(typed.clone())).await.unwrap(),
        Pushed::Written
    );
    assert_eq!(
        push("pushed", Some(typed)).await.unwrap(),
        Pushed::Unchanged
    );
    // None asked for: the current one is "don't care".
    assert_eq!(push("pushed", None).await.unwrap(), Pushed::Unchanged);
    let expiring = metadata(json!({"expirationDate": "2099-12-31T23:59:59Z"}));
    assert_eq!(
        push("pushed", Some(expiring.clone())).await.unwrap(),
        Pushed::Written
    );
    assert_eq!(
        push("pushed", Some(expiring)).await.unwrap(),
        Pushed::Unchanged
    );
    assert_eq!(versions(&client, "pushed").await, 3);
    let read = client.get_secret("pushed").await.unwrap();
    assert_eq!(
        read.properties.content_type.as_deref(),
        Some("text/plain"),
        "kept from the write that asked for it"
    );
    assert_eq!(
        read.properties.expires,
        Some(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_799))
    );

    // The whole Secret as sorted compact JSON.
    assert_eq!(
        push_secret(&client, &secret, None, "whole", None)
            .await
            .unwrap(),
        Pushed::Written
    );
    assert_eq!(
        client.get_secret("whole").await.unwrap().value.expose(),
        r#"{"password":"hunter2","user":"admin"}"#
    );

    // Bad input: nothing written.
    for (remote, key, meta, text) in [
        (
            "bad/x",
            Some("password"),
            None,
            "secret type bad not supported",
        ),
        (
            "other",
            Some("missing"),
            None,
            "secret key \"missing\" does not exist in the Secret",
        ),
        (
            "other",
            Some("password"),
            Some(metadata(json!({"tags": {"managed-by": "me"}}))),
            "error parsing tags in metadata: Cannot specify a 'managed-by' tag",
        ),
    ] {
        assert_eq!(
            push_secret(&client, &secret, key, remote, meta.as_ref())
                .await
                .unwrap_err()
                .to_string(),
            text
        );
    }
    assert!(!secret_exists(&client, "other").await.unwrap());
    assert_eq!(
        secret_exists(&client, "bad/x")
            .await
            .unwrap_err()
            .to_string(),
        "secret type 'bad' is not supported"
    );

    // A key: imported, then unchanged (RSA).
    let pem = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
        .unwrap()
        .to_pkcs1_pem(Default::default())
        .unwrap();
    let key = data(&[("key", pem.as_bytes())]);
    for expected in [Pushed::Written, Pushed::Unchanged] {
        assert_eq!(
            push_secret(&client, &key, Some("key"), "key/pushed-key", None)
                .await
                .unwrap(),
            expected
        );
    }
    // A certificate (the demo's PFX, as ESO would push it): imported, then
    // unchanged.
    let tls = data(&[("tls", &pfx)]);
    for expected in [Pushed::Written, Pushed::Unchanged] {
        assert_eq!(
            push_secret(&client, &tls, Some("tls"), "cert/pushed-cert", None)
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        client
            .certificate_client()
            .get_certificate("pushed-cert")
            .await
            .unwrap()
            .properties
            .tags["managed-by"],
        "external-secrets"
    );

    // Deletes of ESO's objects; a second finds nothing to do.
    for remote in ["pushed", "key/pushed-key", "cert/pushed-cert"] {
        assert!(delete_secret(&client, remote).await.unwrap(), "{remote}");
        assert!(!delete_secret(&client, remote).await.unwrap(), "{remote}");
        assert!(!secret_exists(&client, remote).await.unwrap(), "{remote}");
    }
}
