//! ESO's azurekv certificate and key push cases
//! (external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault_test.go`,
//! `TestAzureKeyVaultPushSecret`), each a PushSecret pushing ESO's exact
//! value (`tests/data/eso/`, read by `src/push_material_tests.rs` too)
//! from a Kubernetes Secret to `cert/<name>` or `key/<name>`, through the
//! real controller on a real kube-apiserver, against the emulated Entra ID
//! and Key Vault; what each left in the vault read back through
//! Microsoft's Python SDK (`python/vault_state.py`).
//!
//! ESO's `certname` and `keyname` are one per case here (`cert-p12`,
//! `key-good`...), as every case runs at once on one vault.
//!
//! Needs Microsoft's Python SDK (`azure-identity`,
//! `azure-keyvault-secrets`, `-keys`, `-certificates`), as `.ci/run`
//! installs it.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

#[path = "support/key_vault.rs"]
mod key_vault;
#[path = "support/push.rs"]
mod push_support;
mod support;

use std::time::Duration;

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{Config, config::DEMO_CLIENT_ID};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use key_vault::{OFFICERS, grant};
use push_support::{World, eso_tag, found, push_secret_yaml};
use serde_json::json;
use support::{Cluster, apply, eventually, secret_store, service_account, trusting};

const NS: &str = "material";
/// The demo identity's ServiceAccount: every role on the vault.
const SA: &str = "material-sa";
const VAULT: &str = "orders-kv";
/// The SecretStore every PushSecret pushes to.
const STORE: &str = "kv";
/// The Secret holding ESO's values, one key each.
const SOURCE: &str = "eso";

/// ESO's values (base64, as keyvault_test.go decodes them): `p12Cert`,
/// `p12CertChainLegacy`, `p12CertChainModern`, goodKey, `RSAKeySuccess`'s,
/// `ECKeySuccess`'s, `invalidKey`'s and `certDERSuccess`'s (the leaf of
/// the three PFX, as `certFingerprintMatches` has it in the vault).
const P12_CERT: &str = include_str!("data/eso/p12-cert.b64");
const P12_CHAIN_LEGACY: &str = include_str!("data/eso/p12-cert-chain-legacy.b64");
const P12_CHAIN_MODERN: &str = include_str!("data/eso/p12-cert-chain-modern.b64");
const GOOD_KEY: &str = include_str!("data/eso/good-key.b64");
const RSA_KEY: &str = include_str!("data/eso/rsa-key.b64");
const EC_KEY: &str = include_str!("data/eso/ec-key.b64");
const INVALID_KEY: &str = include_str!("data/eso/invalid-key.b64");
const DER_CERT: &str = include_str!("data/eso/der-cert.b64");

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(Config::demo_with_keys_and_certificates(), plane, NS, SA);
    grant(
        &mut config,
        azure_wi_emulator::config::DEMO_OBJECT_ID,
        &OFFICERS,
        VAULT,
    );
    config
}

/// Secret `eso` with ESO's values under the keys the cases push, and
/// certNotACertificate's `foobar`.
fn source_yaml() -> String {
    let data = json!({
        "p12-cert": P12_CERT,
        "p12-cert-chain-legacy": P12_CHAIN_LEGACY,
        "p12-cert-chain-modern": P12_CHAIN_MODERN,
        "good-key": GOOD_KEY,
        "rsa-key": RSA_KEY,
        "ec-key": EC_KEY,
        "invalid-key": INVALID_KEY,
        "not-a-cert": STANDARD.encode("foobar"),
    });
    serde_json::to_string(&json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SOURCE, "namespace": NS},
        "data": data,
    }))
    .unwrap()
}

/// PushSecret `name` pushing Secret key `key` of [`SOURCE`] to
/// `remote_key`, with `extra` spec lines (indented by two).
fn push(name: &str, key: &str, remote_key: &str, extra: &str) -> String {
    push_secret_yaml(
        NS,
        name,
        &format!(
            "  secretStoreRefs: [{{name: {STORE}}}]\n  selector: {{secret: {{name: {SOURCE}}}}}\n{extra}  data:\n  - match: {{secretKey: {key}, remoteRef: {{remoteKey: {remote_key}}}}}\n"
        ),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The DER body of the one PEM block of `pem` labelled `label`.
fn pem_block(pem: &[u8], label: &str) -> Vec<u8> {
    let pem = std::str::from_utf8(pem).unwrap();
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = &pem[pem.find(&begin).unwrap() + begin.len()..pem.find(&end).unwrap()];
    let body: String = body.split_whitespace().collect();
    STANDARD.decode(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eso_certificates_and_keys_pushed_to_key_vault() {
    let cluster = Cluster::start(config, &[NS]).await;
    let mut setup = service_account(NS, SA, DEMO_CLIENT_ID);
    setup.push_str("---\n");
    setup.push_str(&secret_store(NS, STORE, "", VAULT, SA));
    apply(&cluster.client, NS, &setup).await;
    apply(&cluster.client, NS, &source_yaml()).await;
    let world = World::new(&cluster, NS, SA).await;

    tokio::join!(
        cert_p12_success(&world),
        cert_fingerprint_matches(&world),
        cert_not_a_certificate(&world),
        key_success(&world),
        rsa_key_success(&world),
        ec_key_success(&world),
        invalid_key(&world),
    );

    drop(world);
    cluster.stop().await;
}

/// certP12Success, certP12ChainLegacySuccess, certP12ChainModernSuccess:
/// each PFX is imported; the vault's certificate is the PFX's leaf
/// (`certDERSuccess`'s certificate: ESO's three PFX share it), tagged as
/// ESO tags it.
async fn cert_p12_success(w: &World<'_>) {
    let cases = [
        ("cert-p12", "p12-cert"),
        ("cert-p12-chain-legacy", "p12-cert-chain-legacy"),
        ("cert-p12-chain-modern", "p12-cert-chain-modern"),
    ];
    for (name, key) in cases {
        w.apply(&push(name, key, &format!("cert/{name}"), "")).await;
    }
    for (name, _) in cases {
        w.synced_ok(name).await;
    }
    let objects: Vec<String> = cases.iter().map(|(n, _)| format!("cert/{n}")).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let state = w.vault_state(VAULT, &objects).await;
    let leaf = hex(&STANDARD.decode(DER_CERT).unwrap());
    for object in objects {
        let cert = found(&state, object);
        assert_eq!(cert["cer"], leaf, "{object}");
        assert_eq!(cert["tags"], eso_tag(), "{object}");
        assert_eq!(cert["versions"], 1, "{object}");
    }
}

/// certFingerprintMatches: once the vault holds the certificate, pushing
/// the same PFX again imports nothing (no second version), though the
/// PushSecret is pushed again (a new `refreshTime`) and stays Synced.
async fn cert_fingerprint_matches(w: &World<'_>) {
    let name = "cert-fingerprint";
    w.apply(&push(
        name,
        "p12-cert",
        &format!("cert/{name}"),
        "  refreshInterval: 1s\n",
    ))
    .await;
    w.synced_ok(name).await;
    let object = format!("cert/{name}");
    let state = w.vault_state(VAULT, &[&object]).await;
    assert_eq!(found(&state, &object)["versions"], 1);
    let first = w.status(name).await.refresh_time.unwrap();
    // Two more pushes after the first.
    let mut seen = first.clone();
    for _ in 0..2 {
        let before = seen.clone();
        seen = eventually(Duration::from_secs(30), "a push again", || async {
            let now = w.status(name).await.refresh_time?;
            (now != before).then_some(now)
        })
        .await;
    }
    w.synced_ok(name).await;
    let state = w.vault_state(VAULT, &[&object]).await;
    let cert = found(&state, &object);
    assert_eq!(cert["versions"], 1, "pushed again at {seen}: {state:#}");
    assert_eq!(cert["cer"], hex(&STANDARD.decode(DER_CERT).unwrap()));
}

/// certNotACertificate: `foobar` is refused before any request, with
/// ESO's text; nothing is written.
async fn cert_not_a_certificate(w: &World<'_>) {
    let name = "cert-not-a-cert";
    w.apply(&push(name, "not-a-cert", &format!("cert/{name}"), ""))
        .await;
    w.errored(
        name,
        &format!("set secret failed: could not write remote ref not-a-cert to target secretstore {STORE}: value from secret is not a valid certificate: could not parse certificate value as PKCS#12, DER or PEM"),
    )
    .await;
    w.assert_absent(VAULT, &format!("cert/{name}")).await;
}

/// keySuccess: goodKey (PKCS#8 RSA) is imported; the vault's public part
/// is the key's, tagged as ESO tags it.
async fn key_success(w: &World<'_>) {
    use rsa::{pkcs8::DecodePrivateKey as _, traits::PublicKeyParts as _};
    let pem = STANDARD.decode(GOOD_KEY).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&pem_block(&pem, "PRIVATE KEY")).unwrap();
    pushed_rsa(
        w,
        "key-good",
        "good-key",
        &key.n().to_bytes_be(),
        &key.e().to_bytes_be(),
    )
    .await;
}

/// RSAKeySuccess: a PKCS#1 RSA key is imported; as keySuccess.
async fn rsa_key_success(w: &World<'_>) {
    use rsa::{pkcs1::DecodeRsaPrivateKey as _, traits::PublicKeyParts as _};
    let pem = STANDARD.decode(RSA_KEY).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs1_der(&pem_block(&pem, "RSA PRIVATE KEY")).unwrap();
    pushed_rsa(
        w,
        "key-rsa",
        "rsa-key",
        &key.n().to_bytes_be(),
        &key.e().to_bytes_be(),
    )
    .await;
}

/// Pushes Secret key `key` to `key/<name>` and checks the vault holds an
/// RSA key with modulus `n` and exponent `e`, tagged as ESO tags it.
async fn pushed_rsa(w: &World<'_>, name: &str, key: &str, n: &[u8], e: &[u8]) {
    w.apply(&push(name, key, &format!("key/{name}"), "")).await;
    w.synced_ok(name).await;
    let object = format!("key/{name}");
    let state = w.vault_state(VAULT, &[&object]).await;
    let vault = found(&state, &object);
    assert_eq!(vault["kty"], "RSA", "{state:#}");
    assert_eq!(vault["n"], hex(n), "{object}");
    assert_eq!(vault["e"], hex(e), "{object}");
    assert_eq!(vault["tags"], eso_tag(), "{object}");
}

/// ECKeySuccess: a SEC 1 P-384 key is imported; the vault's public point
/// is the key's, tagged as ESO tags it.
async fn ec_key_success(w: &World<'_>) {
    let name = "key-ec";
    let pem = STANDARD.decode(EC_KEY).unwrap();
    let key = p384::SecretKey::from_sec1_der(&pem_block(&pem, "EC PRIVATE KEY")).unwrap();
    let point =
        p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
    w.apply(&push(name, "ec-key", &format!("key/{name}"), ""))
        .await;
    w.synced_ok(name).await;
    let object = format!("key/{name}");
    let state = w.vault_state(VAULT, &[&object]).await;
    let vault = found(&state, &object);
    assert_eq!(vault["kty"], "EC", "{state:#}");
    assert_eq!(vault["crv"], "P-384");
    assert_eq!(vault["x"], hex(point.x().unwrap()));
    assert_eq!(vault["y"], hex(point.y().unwrap()));
    assert_eq!(vault["tags"], eso_tag());
}

/// invalidKey: a certificate pushed to `key/` is refused with ESO's text
/// (ESO's `keyname` being this case's); nothing is written.
async fn invalid_key(w: &World<'_>) {
    let name = "key-invalid";
    w.apply(&push(name, "invalid-key", &format!("key/{name}"), ""))
        .await;
    w.errored(
        name,
        &format!("set secret failed: could not write remote ref invalid-key to target secretstore {STORE}: could not load private key {name}: key type CERTIFICATE is not supported"),
    )
    .await;
    w.assert_absent(VAULT, &format!("key/{name}")).await;
}
