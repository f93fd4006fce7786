//! The JSON Web Keys `push_material::private_jwk` makes of PEM keys, in
//! each form ESO reads (PKCS#1, PKCS#8 RSA and EC, SEC 1), imported into
//! the emulator as Key Vault takes them (it checks that the parts are one
//! key) and read back: the vault's public part is the key's, and ESO's
//! `equalKeys` then finds an RSA key unchanged.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{collections::BTreeMap, time::Duration};

use azure_wi_auth::{JsonWebKey, RetryPolicy, SecretClient};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::EncodePrivateKey as _;
use secret_sync::{push, push_material};

fn pem(kind: &str, der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {kind}-----\n{}\n-----END {kind}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_every_form_eso_reads_import_into_key_vault() {
    let mut config = Config::demo();
    config.role_assignments.push(RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::CryptoOfficer,
        scope: "orders-kv".into(),
    });
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token_file)
        .unwrap()
        .build()
        .unwrap();
    let keys = SecretClient::builder(&emulator.vault_url("orders-kv"), credential)
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_total: Duration::from_secs(5),
        })
        .build()
        .unwrap()
        .key_client();

    let rsa_key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let ec_key = p256::SecretKey::random(&mut rand::thread_rng());
    let ec384 = p384::SecretKey::random(&mut rand::thread_rng());
    let cases = [
        (
            "pkcs1-rsa",
            pem(
                "RSA PRIVATE KEY",
                rsa_key.to_pkcs1_der().unwrap().as_bytes(),
            ),
        ),
        (
            "pkcs8-rsa",
            pem("PRIVATE KEY", rsa_key.to_pkcs8_der().unwrap().as_bytes()),
        ),
        (
            "pkcs8-ec",
            pem("PRIVATE KEY", ec_key.to_pkcs8_der().unwrap().as_bytes()),
        ),
        (
            "sec1-ec384",
            pem("EC PRIVATE KEY", &ec384.to_sec1_der().unwrap()),
        ),
    ];
    let tags = push::managed_tags(&BTreeMap::new());
    for (name, value) in cases {
        let jwk = push_material::private_jwk(name, &value).unwrap();
        assert!(!format!("{jwk:?}").contains(jwk["d"].as_str().unwrap()));
        let imported = keys.import_key(name, jwk.json(), &tags).await.unwrap();
        assert!(push::is_managed(&imported.properties.tags), "{name}");
        let read = keys.get_key(name).await.unwrap();
        let b64 = |field: &str| {
            URL_SAFE_NO_PAD
                .decode(jwk[field].as_str().unwrap())
                .unwrap()
        };
        match &read.key {
            JsonWebKey::Rsa { n, e, .. } => {
                assert_eq!((n, e), (&b64("n"), &b64("e")), "{name}");
                assert!(push_material::same_key(&jwk, &read.key), "{name}");
            }
            JsonWebKey::Ec { x, y, .. } => {
                assert_eq!((x, y), (&b64("x"), &b64("y")), "{name}");
                assert!(!push_material::same_key(&jwk, &read.key), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // A symmetric key, what ESO makes of a value with no PEM block: Key
    // Vault's standard vaults refuse it.
    let oct = push_material::private_jwk("symmetric", b"secret").unwrap();
    match keys
        .import_key("symmetric", oct.json(), &tags)
        .await
        .unwrap_err()
    {
        azure_wi_auth::Error::KeyVault { status, code, .. } => {
            assert_eq!((status, code.as_str()), (400, "BadParameter"));
        }
        other => panic!("{other:?}"),
    }
}
