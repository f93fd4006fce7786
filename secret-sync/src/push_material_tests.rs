//! ESO's `TestAzureKeyVaultPushSecret` key and certificate cases
//! (external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault_test.go`), with its test values
//! (base64 of the pushed bytes, as the Go test decodes them), read from
//! `tests/data/eso/` (its README names each), which
//! `tests/push_material_cases.rs` pushes through the controller.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::*;

/// `p12Cert` of keyvault_test.go.
const P12_CERT: &str = include_str!("../tests/data/eso/p12-cert.b64");

/// `p12CertChainLegacy` of keyvault_test.go.
const P12_CHAIN_LEGACY: &str = include_str!("../tests/data/eso/p12-cert-chain-legacy.b64");

/// `p12CertChainModern` of keyvault_test.go.
const P12_CHAIN_MODERN: &str = include_str!("../tests/data/eso/p12-cert-chain-modern.b64");

/// `goodKey` of keyvault_test.go.
const GOOD_KEY: &str = include_str!("../tests/data/eso/good-key.b64");

/// `RSAKeySuccess` of keyvault_test.go.
const RSA_KEY: &str = include_str!("../tests/data/eso/rsa-key.b64");

/// `ECKeySuccess` of keyvault_test.go.
const EC_KEY: &str = include_str!("../tests/data/eso/ec-key.b64");

/// `invalidKey` of keyvault_test.go.
const INVALID_KEY: &str = include_str!("../tests/data/eso/invalid-key.b64");

/// `certPEMSuccess` of keyvault_test.go.
const PEM_CERT: &str = include_str!("../tests/data/eso/pem-cert.b64");

/// `certPEMWithGarbageSuccess` of keyvault_test.go.
const PEM_CERT_WITH_GARBAGE: &str = include_str!("../tests/data/eso/pem-cert-with-garbage.b64");

/// `certDERSuccess` of keyvault_test.go.
const DER_CERT: &str = include_str!("../tests/data/eso/der-cert.b64");

fn bytes(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).unwrap()
}

/// keySuccess (PKCS#8 RSA), RSAKeySuccess (PKCS#1), ECKeySuccess (SEC 1)
/// and symmetricKeySuccess ("secret"): each a JWK ESO would import.
#[test]
fn keys_become_the_jwk_eso_imports() {
    for (case, value, kty, fields) in [
        (
            "keySuccess",
            bytes(GOOD_KEY),
            "RSA",
            &["n", "e", "d", "p", "q", "dp", "dq", "qi"][..],
        ),
        (
            "RSAKeySuccess",
            bytes(RSA_KEY),
            "RSA",
            &["n", "e", "d", "p", "q", "dp", "dq", "qi"][..],
        ),
        (
            "ECKeySuccess",
            bytes(EC_KEY),
            "EC",
            &["crv", "x", "y", "d"][..],
        ),
        ("symmetricKeySuccess", b"secret".to_vec(), "oct", &["k"][..]),
    ] {
        let jwk = private_jwk("keyname", &value).unwrap();
        assert_eq!(jwk["kty"], kty, "{case}");
        for field in fields {
            assert!(jwk[*field].is_string(), "{case}: {field}");
        }
    }
    let oct = private_jwk("keyname", b"secret").unwrap();
    assert_eq!(oct["k"], "c2VjcmV0");
    let ec = private_jwk("keyname", &bytes(EC_KEY)).unwrap();
    assert_eq!(ec["crv"], "P-384");
    // Coordinates and scalar at the curve's size (48 bytes: 64 base64url).
    for field in ["x", "y", "d"] {
        assert_eq!(ec[field].as_str().unwrap().len(), 64, "{field}");
    }
    let rsa = private_jwk("keyname", &bytes(GOOD_KEY)).unwrap();
    assert_eq!(rsa["e"], "AQAB");
}

/// invalidKey: a certificate pushed to `key/` is refused with ESO's text;
/// a key block that does not parse names the key, not its bytes.
#[test]
fn a_value_that_is_no_key_is_refused() {
    assert_eq!(
        private_jwk("keyname", &bytes(INVALID_KEY))
            .unwrap_err()
            .to_string(),
        "could not load private key keyname: key type CERTIFICATE is not supported"
    );
    let broken = b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    assert_eq!(
        private_jwk("keyname", broken).unwrap_err().to_string(),
        "could not load private key keyname: x509: failed to parse RSA private key"
    );
}

/// The certificate cases: PKCS#12 (one certificate, legacy and modern
/// chains), PEM, PEM after garbage and DER each hold the certificate ESO
/// compares with the vault's (certFingerprintMatches: p12Cert's is
/// certDERSuccess's).
#[test]
fn certificates_are_found_in_pkcs12_der_and_pem() {
    let der = bytes(DER_CERT);
    assert_eq!(certificate_der(&der).unwrap(), der);
    assert_eq!(
        certificate_der(&bytes(P12_CERT)).unwrap(),
        der,
        "certP12Success"
    );
    for (case, value) in [
        ("certP12ChainLegacySuccess", bytes(P12_CHAIN_LEGACY)),
        ("certP12ChainModernSuccess", bytes(P12_CHAIN_MODERN)),
        ("certPEMSuccess", bytes(PEM_CERT)),
        ("certPEMWithGarbageSuccess", bytes(PEM_CERT_WITH_GARBAGE)),
    ] {
        let leaf = certificate_der(&value).unwrap();
        assert!(is_certificate(&leaf), "{case}");
    }
    assert_eq!(certificate_der(&bytes(PEM_CERT)).unwrap(), der);
    assert_eq!(
        certificate_der(b"foobar").unwrap_err().to_string(),
        "value from secret is not a valid certificate: could not parse certificate value as PKCS#12, DER or PEM"
    );
}

/// equalKeys: an RSA key whose n and e the vault has is not imported
/// again; an EC key always is.
#[test]
fn only_an_rsa_key_is_found_unchanged() {
    let rsa = private_jwk("keyname", &bytes(GOOD_KEY)).unwrap();
    let field = |name: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(rsa[name].as_str().unwrap())
            .unwrap()
    };
    let vault = azure_wi_auth::JsonWebKey::Rsa {
        n: field("n"),
        e: field("e"),
        hsm: false,
    };
    assert!(same_key(&rsa, &vault));
    let other = azure_wi_auth::JsonWebKey::Rsa {
        n: field("n"),
        e: vec![3],
        hsm: false,
    };
    assert!(!same_key(&rsa, &other));
    // equalKeys compares Kty: the pushed RSA is not the vault's RSA-HSM.
    let hsm = azure_wi_auth::JsonWebKey::Rsa {
        n: field("n"),
        e: field("e"),
        hsm: true,
    };
    assert!(!same_key(&rsa, &hsm));
    let ec = private_jwk("keyname", &bytes(EC_KEY)).unwrap();
    let vault_ec = azure_wi_auth::JsonWebKey::Ec {
        crv: azure_wi_auth::EcCurve::P384,
        x: Vec::new(),
        y: Vec::new(),
        hsm: false,
    };
    assert!(!same_key(&ec, &vault_ec));
}
