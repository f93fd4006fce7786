//! Content per object type, with real keys and certificates: an openssl-made
//! PKCS#12 chain (tests/data/pkcs12), rcgen and `rsa` keys.

use azure_wi_auth::{CertificateProperties, SecretProperties, SecretValue};
use der::Decode;

use super::*;
use crate::objects::{Encoding, Format, ObjectType};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pkcs12/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}{name}")).expect("fixture exists")
}

fn spec(name: &str, encoding: Encoding, format: Format) -> ObjectSpec {
    ObjectSpec {
        name: name.into(),
        object_type: ObjectType::Secret,
        version: None,
        alias: None,
        encoding,
        format,
        file_permission: None,
        version_history: 0,
    }
}

fn secret(value: &str, content_type: Option<&str>, kid: bool) -> Secret {
    let mut properties =
        SecretProperties::from_id("https://kv1.vault.azure.net/secrets/s/v1").unwrap();
    properties.content_type = content_type.map(str::to_owned);
    properties.key_id = kid.then(|| "https://kv1.vault.azure.net/keys/s/v1".to_owned());
    Secret {
        properties,
        value: SecretValue::new(value),
    }
}

fn certificate(cer: Vec<u8>) -> azure_wi_auth::Certificate {
    let properties =
        CertificateProperties::from_id("https://kv1.vault.azure.net/certificates/tls/c1").unwrap();
    azure_wi_auth::Certificate::new(properties, cer)
}

#[test]
fn plain_secrets_follow_object_encoding() {
    let utf8 = spec("db", Encoding::Utf8, Format::Pem);
    assert_eq!(
        secret_file(&utf8, &secret("pa55 wörd\n", None, false)).unwrap(),
        "pa55 wörd\n".as_bytes()
    );
    // A content type on a secret that backs no certificate changes nothing.
    assert_eq!(
        secret_file(&utf8, &secret("x", Some("text/plain"), false)).unwrap(),
        b"x"
    );
    let hex = spec("blob", Encoding::Hex, Format::Pem);
    assert_eq!(
        secret_file(&hex, &secret("00ff10Ab\n", None, false)).unwrap(),
        [0x00, 0xff, 0x10, 0xab]
    );
    let base64 = spec("blob", Encoding::Base64, Format::Pem);
    assert_eq!(
        secret_file(&base64, &secret(" AAEC/w== ", None, false)).unwrap(),
        [0, 1, 2, 255]
    );
}

#[test]
fn undecodable_secrets_name_object_and_encoding_but_not_the_value() {
    let hex = spec("blob", Encoding::Hex, Format::Pem);
    let err = secret_file(&hex, &secret("s3cr3tzz", None, false))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "secret blob: the value is not valid hex (not a hex digit pair at offset 0); fix objectEncoding or the secret's value"
    );
    let err = secret_file(&hex, &secret("abc", None, false))
        .unwrap_err()
        .to_string();
    assert!(err.contains("odd number of hex digits (3)"), "{err}");
    let base64 = spec("blob", Encoding::Base64, Format::Pem);
    let err = secret_file(&base64, &secret("hunter2!", None, false))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("secret blob: the value is not valid base64 (invalid"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn pem_certificate_secret_is_written_as_stored() {
    let stored = format!("{}{}", fixture("leaf-key.pem"), fixture("leaf.pem"));
    let out = secret_file(
        &spec("tls", Encoding::Utf8, Format::Pem),
        &secret(&stored, Some(PEM_CONTENT_TYPE), true),
    )
    .unwrap();
    assert_eq!(out, stored.as_bytes());
}

#[test]
fn pkcs12_certificate_secret_becomes_key_then_leaf_intermediate_root() {
    // Golden: the PEM users see, built from the same openssl-made parts.
    let expected = [
        fixture("leaf-key.pem"),
        fixture("leaf.pem"),
        fixture("intermediate.pem"),
        fixture("root.pem"),
    ]
    .concat();
    for archive in ["legacy.pfx.b64", "aes.pfx.b64"] {
        let value = fixture(archive);
        let out = secret_file(
            &spec("tls", Encoding::Utf8, Format::Pem),
            &secret(&value, Some(PKCS12_CONTENT_TYPE), true),
        )
        .unwrap_or_else(|e| panic!("{archive}: {e}"));
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{archive}");
    }
}

#[test]
fn pfx_format_keeps_the_base64_text_or_decodes_it_with_base64_encoding() {
    let value = fixture("aes.pfx.b64");
    let text = secret_file(
        &spec("tls", Encoding::Utf8, Format::Pfx),
        &secret(&value, Some(PKCS12_CONTENT_TYPE), true),
    )
    .unwrap();
    assert_eq!(text, value.as_bytes());
    let binary = secret_file(
        &spec("tls", Encoding::Base64, Format::Pfx),
        &secret(&value, Some(PKCS12_CONTENT_TYPE), true),
    )
    .unwrap();
    assert_eq!(
        binary,
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .unwrap()
    );
    assert_eq!(binary[0], 0x30, "DER PFX starts with a SEQUENCE");
}

#[test]
fn certificate_secret_errors() {
    let pem = spec("tls", Encoding::Utf8, Format::Pem);
    let err = secret_file(&pem, &secret("x", Some("application/json"), true)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret tls backs a certificate with unknown content type \"application/json\": expected application/x-pem-file or application/x-pkcs12"
    );
    assert!(matches!(
        secret_file(&pem, &secret("x", None, true)).unwrap_err(),
        Error::UnknownContentType { .. }
    ));
    let err = secret_file(
        &pem,
        &secret("not base64!", Some(PKCS12_CONTENT_TYPE), true),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not base64"), "{err}");
    let err = secret_file(&pem, &secret("AAAA", Some(PKCS12_CONTENT_TYPE), true))
        .unwrap_err()
        .to_string();
    assert!(err.contains("PKCS#12 cannot be read"), "{err}");
}

#[test]
fn chain_order_handles_unrelated_and_self_signed_certificates() {
    let parse = |name: &str| {
        let (_, der) = pem_rfc7468::decode_vec(fixture(name).as_bytes()).unwrap();
        Certificate::from_der(&der).unwrap()
    };
    let (leaf, inter, root) = (
        parse("leaf.pem"),
        parse("intermediate.pem"),
        parse("root.pem"),
    );
    let subjects = |certs: Vec<&Certificate>| {
        certs
            .iter()
            .map(|c| c.subject().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subjects(chain_order(&[&root, &inter, &leaf])),
        [
            "CN=app.example.test",
            "CN=Test Intermediate CA",
            "CN=Test Root CA"
        ]
    );
    // Without the root the chain stops at the intermediate.
    assert_eq!(
        subjects(chain_order(&[&inter, &leaf])),
        ["CN=app.example.test", "CN=Test Intermediate CA"]
    );
    // A lone self-signed certificate is its own chain.
    assert_eq!(subjects(chain_order(&[&root])), ["CN=Test Root CA"]);
    assert!(chain_order(&[]).is_empty());
}

#[test]
fn ec_keys_become_the_same_spki_as_ring_writes() {
    for (alg, crv, size) in [
        (&rcgen::PKCS_ECDSA_P256_SHA256, EcCurve::P256, 32),
        (&rcgen::PKCS_ECDSA_P384_SHA384, EcCurve::P384, 48),
    ] {
        let pair = rcgen::KeyPair::generate_for(alg).unwrap();
        let raw = pair.public_key_raw();
        assert_eq!(raw.len(), 1 + 2 * size);
        let jwk = JsonWebKey::Ec {
            crv,
            x: raw[1..=size].to_vec(),
            y: raw[size + 1..].to_vec(),
            hsm: false,
        };
        let out = key_file("k", &jwk).unwrap();
        assert_eq!(
            out,
            pem(
                "PUBLIC KEY",
                &rcgen::PublicKeyData::subject_public_key_info(&pair)
            ),
            "{crv:?}"
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
    }
}

#[test]
fn p521_and_short_coordinates_are_padded_to_the_field_size() {
    let jwk = |x: Vec<u8>| JsonWebKey::Ec {
        crv: EcCurve::P521,
        x,
        y: vec![2; 66],
        hsm: false,
    };
    let out = key_file("k", &jwk(vec![1; 65])).unwrap();
    let (label, der) = pem_rfc7468::decode_vec(&out).unwrap();
    assert_eq!(label, "PUBLIC KEY");
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).unwrap();
    assert_eq!(spki.algorithm.oid, EC_PUBLIC_KEY);
    let point = spki.subject_public_key.raw_bytes();
    assert_eq!(point.len(), 133);
    assert_eq!(&point[..3], &[4, 0, 1], "x is left-padded with a zero");
    assert!(
        key_file("k", &jwk(vec![1; 67]))
            .unwrap_err()
            .to_string()
            .contains("longer than 66 bytes")
    );
}

#[test]
fn rsa_keys_become_the_same_spki_as_the_rsa_crate_writes() {
    use rsa::{pkcs8::EncodePublicKey, traits::PublicKeyParts};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private.to_public_key();
    let jwk = JsonWebKey::Rsa {
        n: public.n().to_bytes_be(),
        e: public.e().to_bytes_be(),
        hsm: false,
    };
    let expected = public
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    assert_eq!(
        String::from_utf8(key_file("k", &jwk).unwrap()).unwrap(),
        expected
    );
}

/// Key types and fields Key Vault never sends (`oct`, an RSA key without
/// `n`, fields that are not base64url) are refused by `azure-wi-auth`'s
/// reader before a key reaches here; what a typed key can still hold
/// without a public key PEM is a curve the Go provider does not write.
#[test]
fn keys_without_a_public_pem_are_refused_with_the_reason() {
    let err = key_file(
        "k",
        &JsonWebKey::Ec {
            crv: EcCurve::P256K,
            x: vec![1; 32],
            y: vec![2; 32],
            hsm: false,
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "key k: curve \"P-256K\" is not supported: expected P-256, P-384 or P-521"
    );
}

#[test]
fn certificates_are_one_pem_block_of_the_cer() {
    let leaf = fixture("leaf.pem");
    let (_, der) = pem_rfc7468::decode_vec(leaf.as_bytes()).unwrap();
    let out = cert_file("tls", &certificate(der)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        leaf,
        "byte for byte what openssl (and Go's pem.Encode) write"
    );
    let err = cert_file("tls", &certificate(b"nope".to_vec())).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cert tls: its cer is not a DER X.509 certificate"),
        "{err}"
    );
}

#[test]
fn separate_files_split_a_certificates_secret_only() {
    let pem = spec("tls", Encoding::Utf8, Format::Pem);
    let stored = [fixture("leaf-key.pem"), fixture("leaf.pem")].concat();
    let files =
        secret_files_separated(&pem, &secret(&stored, Some(PEM_CONTENT_TYPE), true)).unwrap();
    assert_eq!(
        files,
        [
            (".crt", fixture("leaf.pem").into_bytes()),
            (".key", fixture("leaf-key.pem").into_bytes()),
            ("", stored.clone().into_bytes()),
        ]
    );
    // A secret no certificate owns is one file, even holding PEM.
    let files = secret_files_separated(&pem, &secret(&stored, None, false)).unwrap();
    assert_eq!(files, [("", stored.clone().into_bytes())]);
    // objectEncoding applies to each file, as the Go provider decodes each:
    // PEM text is not base64, so the .crt fails first.
    let base64 = spec("tls", Encoding::Base64, Format::Pem);
    let err = secret_files_separated(&base64, &secret(&stored, Some(PEM_CONTENT_TYPE), true))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SecretDecoding {
                encoding: "base64",
                ..
            }
        ),
        "{err}"
    );
}

/// A file of the Go provider's tests (tests/data/go-provider).
fn go(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/go-provider/");
    std::fs::read_to_string(format!("{path}{name}")).expect("fixture exists")
}

/// The chain `orders` (lists of the named PEM files) gives, as PEM.
fn ordered(files: &[&str]) -> String {
    let ders: Vec<Vec<u8>> = files
        .iter()
        .map(|f| {
            let text = go(f);
            let (label, der) = pem_rfc7468::decode_vec(text.as_bytes()).expect("PEM");
            assert_eq!(label, "CERTIFICATE");
            der
        })
        .collect();
    let certs: Vec<Certificate> = ders
        .iter()
        .map(|d| Certificate::from_der(d).expect("certificate"))
        .collect();
    let refs: Vec<&Certificate> = certs.iter().collect();
    chain_order(&refs)
        .into_iter()
        .flat_map(|c| pem("CERTIFICATE", c.as_der()))
        .map(char::from)
        .collect()
}

/// `TestFetchCertChain`: the six orders of root, intermediate and server.
#[test]
fn go_fetch_cert_chain_every_order_is_leaf_first() {
    let expected = go("chain-expected.pem");
    let [root, int, server] = [
        "chain-root.pem",
        "chain-intermediate.pem",
        "chain-server.pem",
    ];
    for order in [
        [root, int, server],
        [root, server, int],
        [int, root, server],
        [int, server, root],
        [server, root, int],
        [server, int, root],
    ] {
        assert_eq!(ordered(&order), expected, "{order:?}");
    }
}

/// `TestFetchCertChainWithLeafMissingSKI`: the orders of its twelve cases
/// (the Go test lists six distinct ones twice), plus the other eighteen.
#[test]
fn go_fetch_cert_chain_with_leaf_missing_ski_every_order_is_leaf_first() {
    let expected = go("chain-no-leaf-ski-expected.pem");
    let mut files = [
        "chain-no-leaf-ski-root.pem",
        "chain-no-leaf-ski-intermediate1.pem",
        "chain-no-leaf-ski-intermediate2.pem",
        "chain-no-leaf-ski-server.pem",
    ];
    let mut seen = 0;
    permute(&mut files, 0, &mut |order| {
        assert_eq!(ordered(order), expected, "{order:?}");
        seen += 1;
    });
    assert_eq!(seen, 24);
}

fn permute<'a>(items: &mut [&'a str], k: usize, check: &mut impl FnMut(&[&'a str])) {
    if k == items.len() {
        check(items);
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permute(items, k + 1, check);
        items.swap(k, i);
    }
}

/// `TestFetchCertChainWarning`: without the intermediate, server then root
/// stay in that order (Go keeps the archive's order; this writes the leaf
/// first, which is the same here).
#[test]
fn go_fetch_cert_chain_warning_keeps_an_incomplete_chain() {
    let expected = format!("{}{}", go("chain-server.pem"), go("chain-root.pem"));
    assert_eq!(ordered(&["chain-server.pem", "chain-root.pem"]), expected);
}

/// `TestDecodePKCS12`: both of its PFX give its key and chain, byte for
/// byte (the first is in Key Vault's layout, zero-length password).
#[test]
fn go_decode_pkcs12_gives_the_go_providers_bytes() {
    for name in ["decode-pkcs12-rsa", "decode-pkcs12-ec-chain"] {
        let b64 = go(&format!("{name}.pfx.b64"));
        let pem = pkcs12_to_pem(name, b64.trim()).expect("decoded");
        assert_eq!(
            String::from_utf8(pem).expect("PEM is text"),
            go(&format!("{name}.expected.pem")),
            "{name}"
        );
    }
}
