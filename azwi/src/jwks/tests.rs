//! Kid derivation against vectors computed outside this crate (by the
//! `openssl` CLI when the fixtures were made: `openssl pkey -pubin -outform
//! DER | openssl dgst -sha256 -binary | base64url`), and JWK shapes.

use base64::Engine as _;
use sha2::Digest as _;

use super::*;
use crate::keys::{Key, PrivateKey, parse_pem_keys};

const RSA_PUB: &str = include_str!("../../tests/keys/rsa.pub");
const RSA_PKCS1_PUB: &str = include_str!("../../tests/keys/rsa-pkcs1.pub");
const RSA_PKCS1_KEY: &str = include_str!("../../tests/keys/rsa-pkcs1.key");
const RSA_PKCS8_KEY: &str = include_str!("../../tests/keys/rsa-pkcs8.key");
const P256_PUB: &str = include_str!("../../tests/keys/p256.pub");
const P256_SEC1_KEY: &str = include_str!("../../tests/keys/p256-sec1.key");
const P384_PUB: &str = include_str!("../../tests/keys/p384.pub");
const P384_PKCS8_KEY: &str = include_str!("../../tests/keys/p384-pkcs8.key");
const P521_PUB: &str = include_str!("../../tests/keys/p521.pub");
const P521_PKCS8_KEY: &str = include_str!("../../tests/keys/p521-pkcs8.key");
const P521_SEC1_KEY: &str = include_str!("../../tests/keys/p521-sec1.key");

/// Golden kids, from openssl over the fixture files.
const RSA_KID: &str = "MV9WNf8Td9d2oQvuZejjcCEItwU_JXraLe1e01LSAm4";
const P256_KID: &str = "UpFnaoFGCztYURxdvuq3mh9VJEzXGIWTuQ9zsT2snOs";
const P384_KID: &str = "ExV2Q5vLuwacd5nSi1IhqlPi66D5Q9WGQ8Y5EhQqNZY";
const P521_KID: &str = "P1SpdbB8K0EQ1S4M0x82hjW6CGeoDNIt0660yr2wGTc";

fn one(pem: &str) -> Key {
    let mut keys = parse_pem_keys(pem.as_bytes()).expect("fixture parses");
    assert_eq!(keys.len(), 1, "fixture holds one key");
    keys.remove(0)
}

/// The DER inside a `PUBLIC KEY` PEM, decoded here without the crate.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("fixture is base64")
}

#[test]
fn kid_is_base64url_sha256_of_the_file_der() {
    for pem in [RSA_PUB, P256_PUB, P384_PUB, P521_PUB] {
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(pem_der(pem)));
        let key = one(pem);
        assert_eq!(key.public.pkix_der(), pem_der(pem), "re-encoded DER");
        assert_eq!(key.public.key_id(), expected);
    }
}

#[test]
fn kid_matches_golden_vectors_for_every_input_form() {
    let cases = [
        (RSA_PUB, RSA_KID, "RS256"),
        (RSA_PKCS1_PUB, RSA_KID, "RS256"),
        (RSA_PKCS1_KEY, RSA_KID, "RS256"),
        (RSA_PKCS8_KEY, RSA_KID, "RS256"),
        (P256_PUB, P256_KID, "ES256"),
        (P256_SEC1_KEY, P256_KID, "ES256"),
        (P384_PUB, P384_KID, "ES384"),
        (P384_PKCS8_KEY, P384_KID, "ES384"),
        (P521_PUB, P521_KID, "ES512"),
        (P521_PKCS8_KEY, P521_KID, "ES512"),
        (P521_SEC1_KEY, P521_KID, "ES512"),
    ];
    for (pem, kid, alg) in cases {
        let jwk = one(pem).public.to_jwk();
        assert_eq!(jwk.kid, kid, "{}", pem.lines().next().unwrap_or_default());
        assert_eq!(jwk.alg, alg);
        assert_eq!(jwk.use_, "sig");
    }
}

#[test]
fn private_key_files_keep_the_private_key() {
    for pem in [
        RSA_PKCS1_KEY,
        RSA_PKCS8_KEY,
        P256_SEC1_KEY,
        P384_PKCS8_KEY,
        P521_SEC1_KEY,
    ] {
        let key = one(pem);
        let private = key.private.expect("a private key file");
        assert_eq!(private.public_key(), key.public);
    }
    assert!(one(RSA_PUB).private.is_none());
    assert!(matches!(
        one(P384_PKCS8_KEY).private,
        Some(PrivateKey::P384(_))
    ));
}

#[test]
fn rsa_jwk_carries_modulus_and_exponent() {
    let jwk = one(RSA_PUB).public.to_jwk();
    assert_eq!(jwk.kty, "RSA");
    assert_eq!(jwk.e.as_deref(), Some("AQAB"));
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk.n.expect("n"))
        .expect("n is base64url");
    assert_eq!(n.len(), 256, "2048-bit modulus, no leading zero");
    assert!(jwk.crv.is_none() && jwk.x.is_none() && jwk.y.is_none());
}

#[test]
fn ec_jwk_coordinates_are_the_der_point() {
    for (pem, crv, size) in [
        (P256_PUB, "P-256", 32),
        (P384_PUB, "P-384", 48),
        (P521_PUB, "P-521", 66),
    ] {
        let jwk = one(pem).public.to_jwk();
        assert_eq!(jwk.kty, "EC");
        assert_eq!(jwk.crv.as_deref(), Some(crv));
        let decode = |s: Option<String>| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.expect("coordinate"))
                .expect("base64url")
        };
        let (x, y) = (decode(jwk.x), decode(jwk.y));
        assert_eq!((x.len(), y.len()), (size, size));
        // The PKIX DER ends with the uncompressed point 04 || x || y.
        let der = pem_der(pem);
        let point = &der[der.len() - 2 * size - 1..];
        assert_eq!(point[0], 4);
        assert_eq!([x, y].concat(), point[1..]);
        assert!(jwk.n.is_none() && jwk.e.is_none());
    }
}

#[test]
fn jwks_json_has_kubernetes_field_names_and_drops_duplicates() {
    let keys = [
        one(RSA_PUB).public,
        one(RSA_PKCS1_KEY).public,
        one(P256_PUB).public,
    ];
    let jwks = Jwks::from_keys(&keys);
    assert_eq!(jwks.keys.len(), 2);
    let value: serde_json::Value =
        serde_json::from_str(&jwks.to_pretty_json()).expect("valid JSON");
    let rsa = &value["keys"][0];
    let mut fields: Vec<&str> = rsa
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(value["keys"][1]["crv"], "P-256");
    assert_eq!(jwks.algorithms(), ["ES256", "RS256"]);
    assert!(jwks.to_pretty_json().starts_with("{\n  \"keys\": [\n"));
}

#[test]
fn several_blocks_in_one_file_are_all_read() {
    let both = format!("{RSA_PUB}\n{P384_PUB}");
    let keys = parse_pem_keys(both.as_bytes()).expect("parses");
    let kids: Vec<String> = keys.iter().map(|k| k.public.key_id()).collect();
    assert_eq!(kids, [RSA_KID, P384_KID]);
}

#[test]
fn bad_input_says_what_is_wrong() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "no -----BEGIN line"),
        (b"\xff\xfe", "not text"),
        (
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "no -----END PUBLIC KEY----- line",
        ),
        (
            b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "does not decode",
        ),
        (
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "PUBLIC KEY (PEM block 1)",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "openssl x509",
        ),
        (
            b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
            "holds no public or private key",
        ),
    ];
    for (input, expected) in cases {
        let error = parse_pem_keys(input).expect_err("bad input is refused");
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
}

#[test]
fn unsupported_curve_is_named() {
    // A secp256k1 public key (OID 1.3.132.0.10), which kube-apiserver does
    // not sign with.
    let pem = "-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAE/CNfc60z25hdkIZf9wx8pLOh1RC10HpV\n36ZtbNb6od2bLoC9Zy9yr7RXhC5y307qLtVh48Ii4+txffNs8B9xNQ==\n-----END PUBLIC KEY-----\n";
    let error = parse_pem_keys(pem.as_bytes()).expect_err("refused");
    assert!(error.contains("1.3.132.0.10"), "{error}");
}
