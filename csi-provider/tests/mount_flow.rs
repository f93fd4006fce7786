//! The mount flow against an in-memory vault: what users see in the volume
//! for every object type, and the flow's limits (per-vault concurrency,
//! throttling within the deadline, the deadline itself).
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use azure_wi_auth::{EcCurve, JsonWebKey};
use azure_wi_csi_provider::{
    Error,
    mount::{MountOptions, Mounter},
    objects::ObjectType,
};
use base64::Engine;
use common::*;

fn ec_key() -> (JsonWebKey, String) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    let jwk = JsonWebKey::Ec {
        crv: EcCurve::P256,
        x: raw[1..33].to_vec(),
        y: raw[33..].to_vec(),
        hsm: false,
    };
    (jwk, pair.public_key_pem())
}

#[tokio::test]
async fn every_object_type_lands_as_the_azure_provider_writes_it() {
    let vault = MemoryVault::default();
    vault.put_secret("db-password", "0000000000000000000000000000000a", "old");
    vault.put_secret("db-password", "0123456789abcdef0123456789abcdef", "s3cr3t");
    vault.put(
        ObjectType::Secret,
        "tls",
        "t1",
        Payload::Secret {
            value: fixture("legacy.pfx.b64"),
            content_type: Some("application/x-pkcs12".into()),
            kid: true,
        },
    );
    let (jwk, public_pem) = ec_key();
    vault.put(ObjectType::Key, "signing", "k1", Payload::Key(jwk));
    let (_, leaf_der) = pem_rfc7468::decode_vec(fixture("leaf.pem").as_bytes()).unwrap();
    vault.put(ObjectType::Cert, "tls", "c1", Payload::Cert(leaf_der));

    let token = service_account_jwt("shop", "web");
    let request = driver_request(
        &[(
            "objects",
            &objects(&[
                "objectName: db-password;objectType: secret",
                "objectName: tls;objectType: secret;objectAlias: tls.pem;filePermission: '0600'",
                "objectName: tls;objectType: secret;objectAlias: tls.pfx;objectFormat: pfx;objectEncoding: base64",
                "objectName: signing;objectType: key",
                "objectName: tls;objectType: cert;objectAlias: tls.crt",
            ]),
        )],
        Some(&token),
    );
    let mounter = Mounter::new(vault.clone(), MountOptions::default());
    let response = mounter.mount(&request).await.unwrap();

    let chain = [
        fixture("leaf-key.pem"),
        fixture("leaf.pem"),
        fixture("intermediate.pem"),
        fixture("root.pem"),
    ]
    .concat();
    let got = files(&response);
    assert_eq!(got[0], ("db-password", 420, "s3cr3t".to_owned()));
    assert_eq!(got[1], ("tls.pem", 0o600, chain));
    assert_eq!(got[2].0, "tls.pfx");
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(fixture("legacy.pfx.b64").trim())
        .unwrap();
    assert_eq!(
        response.files[2].contents, pfx,
        "binary PFX with objectEncoding base64"
    );
    assert_eq!(got[3], ("signing", 420, public_pem));
    assert_eq!(got[4], ("tls.crt", 420, fixture("leaf.pem")));
    assert_eq!(
        versions(&response),
        [
            ("secret/db-password", "0123456789abcdef0123456789abcdef"),
            ("secret/tls", "t1"),
            ("secret/tls", "t1"),
            ("key/signing", "k1"),
            ("cert/tls", "c1"),
        ]
    );
    // Every call was made with the pod's own token.
    assert!(vault.seen_tokens().iter().all(|t| *t == token));
}

#[tokio::test]
async fn version_history_writes_numbered_files_newest_first() {
    let vault = MemoryVault::default();
    for (version, value) in [
        ("v1", "one"),
        ("v2", "two"),
        ("v3", "three"),
        ("v4", "four"),
    ] {
        vault.put_secret("api", version, value);
    }
    vault.put_version(
        ObjectType::Secret,
        "api",
        "v5-disabled",
        false,
        Payload::Secret {
            value: "x".into(),
            content_type: None,
            kid: false,
        },
    );
    let request = driver_request(
        &[(
            "objects",
            &objects(&[
                "objectName: api;objectType: secret;objectAlias: api-key;objectVersionHistory: 3",
            ]),
        )],
        Some(&service_account_jwt("shop", "web")),
    );
    let response = Mounter::new(vault, MountOptions::default())
        .mount(&request)
        .await
        .unwrap();
    assert_eq!(
        files(&response),
        [
            ("api-key/0", 420, "four".into()),
            ("api-key/1", 420, "three".into()),
            ("api-key/2", 420, "two".into())
        ]
    );
    assert_eq!(
        versions(&response),
        [
            ("secret/api/0", "v4"),
            ("secret/api/1", "v3"),
            ("secret/api/2", "v2")
        ]
    );
}

#[tokio::test]
async fn vault_errors_reach_the_user_with_the_fix() {
    let vault = MemoryVault::default();
    vault.put_secret("db", "v1", "x");
    vault.fail("db", Fault::Forbidden);
    let token = service_account_jwt("shop", "web");
    let mounter = Mounter::new(vault.clone(), MountOptions::default());
    let err = mounter
        .mount(&driver_request(
            &[("objects", &objects(&["objectName: db;objectType: secret"]))],
            Some(&token),
        ))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Key Vault Secrets User") && text.contains(CLIENT),
        "{text}"
    );
    assert!(!text.contains(&token));

    let err = mounter
        .mount(&driver_request(
            &[("objects", &objects(&["objectName: nope;objectType: cert"]))],
            Some(&token),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cert nope not found in Key Vault kv1: check objectName, objectType and objectVersion"
    );
}

#[tokio::test]
async fn invalid_requests_fetch_nothing() {
    let vault = MemoryVault::default();
    let mounter = Mounter::new(vault.clone(), MountOptions::default());
    let token = service_account_jwt("shop", "web");
    for (parameters, token) in [
        (
            vec![(
                "objects",
                objects(&["objectName: a;objectType: secret;objectAlias: ../../etc/x"]),
            )],
            Some(token.as_str()),
        ),
        (
            vec![(
                "objects",
                objects(&["objectName: a;objectType: kubernetes.io/dockerconfigjson"]),
            )],
            Some(token.as_str()),
        ),
        (
            vec![("objects", objects(&["objectName: a;objectType: secret"]))],
            None,
        ),
        (
            vec![
                ("objects", objects(&["objectName: a;objectType: secret"])),
                ("usePodIdentity", "true".to_owned()),
            ],
            Some(token.as_str()),
        ),
    ] {
        let parameters: Vec<(&str, &str)> =
            parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert!(
            mounter
                .mount(&driver_request(&parameters, token))
                .await
                .is_err()
        );
    }
    assert_eq!(vault.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_per_vault() {
    let vault = MemoryVault::default();
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    for name in &names {
        vault.put_secret(name, "v1", "x");
    }
    vault.set_delay(Duration::from_millis(100));
    let entries: Vec<String> = names
        .iter()
        .map(|n| format!("objectName: {n};objectType: secret"))
        .collect();
    let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
    let request = driver_request(
        &[("objects", &objects(&entries))],
        Some(&service_account_jwt("shop", "web")),
    );
    let mounter = Mounter::new(
        vault.clone(),
        MountOptions {
            per_vault_concurrency: 2,
            ..MountOptions::default()
        },
    );
    // Two mounts at once share the vault's two permits.
    let (a, b) = tokio::join!(mounter.mount(&request), mounter.mount(&request));
    assert_eq!(a.unwrap().files.len(), 6);
    assert_eq!(b.unwrap().files.len(), 6);
    assert_eq!(vault.calls(), 12);
    assert_eq!(vault.max_in_flight(), 2);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_waited_out_within_the_deadline() {
    let vault = MemoryVault::default();
    vault.put_secret("db", "v1", "x");
    vault.fail("db", Fault::Throttle(Duration::from_secs(5), 2));
    let request = driver_request(
        &[("objects", &objects(&["objectName: db;objectType: secret"]))],
        Some(&service_account_jwt("shop", "web")),
    );
    let mounter = Mounter::new(
        vault.clone(),
        MountOptions {
            deadline: Duration::from_secs(30),
            ..MountOptions::default()
        },
    );
    let started = tokio::time::Instant::now();
    let response = mounter.mount(&request).await.unwrap();
    assert_eq!(response.files[0].contents, b"x");
    assert_eq!(vault.calls(), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "two Retry-After waits of 5s"
    );

    // A Retry-After past the deadline fails at once with the throttling error.
    vault.fail("db", Fault::Throttle(Duration::from_secs(60), 1));
    let started = tokio::time::Instant::now();
    let err = mounter.mount(&request).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { status: 429, .. }), "{err}");
    assert!(err.to_string().contains("asked to wait 60s"));
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_twice_then_reported() {
    let vault = MemoryVault::default();
    vault.put_secret("db", "v1", "x");
    vault.fail("db", Fault::ServerError(2));
    let request = driver_request(
        &[("objects", &objects(&["objectName: db;objectType: secret"]))],
        Some(&service_account_jwt("shop", "web")),
    );
    let mounter = Mounter::new(vault.clone(), MountOptions::default());
    let started = tokio::time::Instant::now();
    let response = mounter.mount(&request).await.unwrap();
    assert_eq!(response.files[0].contents, b"x");
    assert_eq!(vault.calls(), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "waits of 1s and 2s"
    );

    // A third failure in a row is the mount's answer.
    vault.fail("db", Fault::ServerError(3));
    let err = mounter.mount(&request).await.unwrap_err();
    assert!(matches!(err, Error::KeyVault { status: 500, .. }), "{err}");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert_eq!(vault.calls(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_slow_vault_fails_the_mount_at_its_deadline() {
    let vault = MemoryVault::default();
    vault.put_secret("db", "v1", "x");
    vault.set_delay(Duration::from_secs(120));
    let request = driver_request(
        &[("objects", &objects(&["objectName: db;objectType: secret"]))],
        Some(&service_account_jwt("shop", "web")),
    );
    let mounter = Mounter::new(
        vault,
        MountOptions {
            deadline: Duration::from_secs(20),
            ..MountOptions::default()
        },
    );
    let started = tokio::time::Instant::now();
    let err = mounter.mount(&request).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(20));
    assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
    assert!(err.to_string().contains("deadline of 20s"), "{err}");
}
