// Test code: a fixture that does not read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use sha1::Digest as _;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pfx/");
    let text = std::fs::read_to_string(format!("{path}{name}")).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

#[test]
fn key_vaults_own_pfx_reads_with_the_zero_length_password() {
    let der = fixture("keyvault-recorded.pfx.b64");
    // The reason this module exists: the RFC's empty password fails.
    assert!(p12_keystore::Pkcs12Archive::from_pkcs12(&der, "").is_err());
    let contents = read(&der, "").unwrap();
    assert_eq!(contents.keys.len(), 1);
    assert_eq!(contents.certs.len(), 1);
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha1::Sha1::digest(&contents.certs[0]));
    assert_eq!(x5t, "YXVBxgHFX1eVrX2ZhVZBv8BRjLc");
    // PKCS#8: a SEQUENCE starting with version 0.
    assert_eq!(&contents.keys[0][..2], &[0x30, 0x82]);
}

#[test]
fn archives_of_either_empty_password_and_of_pbes2_read() {
    for (name, keys, certs) in [
        ("go-provider-rsa.pfx.b64", 1, 1),
        ("go-provider-ec-chain.pfx.b64", 1, 3),
        ("openssl-legacy.pfx.b64", 1, 3),
        ("openssl-aes.pfx.b64", 1, 3),
    ] {
        let contents = read(&fixture(name), "").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (contents.keys.len(), contents.certs.len()),
            (keys, certs),
            "{name}"
        );
    }
}

#[test]
fn the_legacy_reader_and_p12_keystore_agree_where_both_read() {
    for name in ["go-provider-ec-chain.pfx.b64", "openssl-legacy.pfx.b64"] {
        let der = fixture(name);
        let ours = read(&der, "").unwrap();
        let theirs = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "").unwrap();
        let keys: Vec<&[u8]> = theirs.keys.iter().map(|k| k.key.as_der()).collect();
        let certs: Vec<&[u8]> = theirs.certs.iter().map(|c| c.cert.as_der()).collect();
        assert_eq!(
            ours.keys.iter().map(|k| k.as_slice()).collect::<Vec<_>>(),
            keys,
            "{name}"
        );
        assert_eq!(
            ours.certs.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            certs,
            "{name}"
        );
    }
}

#[test]
fn a_wrong_password_is_refused_as_such() {
    let der = fixture("keyvault-recorded.pfx.b64");
    assert_eq!(read(&der, "hunter2").unwrap_err(), PfxError::Password);
}

#[test]
fn damaged_archives_are_refused_never_panic() {
    let der = fixture("keyvault-recorded.pfx.b64");
    assert!(matches!(read(b"", "").unwrap_err(), PfxError::Malformed(_)));
    assert!(matches!(
        read(b"not a pfx", "").unwrap_err(),
        PfxError::Malformed(_)
    ));
    for len in (0..der.len()).step_by(97) {
        assert!(read(&der[..len], "").is_err(), "truncated at {len}");
    }
    // Any flipped byte of the MAC'd content, or of the structure, is an
    // error, not a panic (nor a silently different archive).
    for at in (0..der.len()).step_by(53) {
        let mut damaged = der.clone();
        damaged[at] ^= 0x41;
        if let Ok(contents) = read(&damaged, "") {
            let original = read(&der, "").unwrap();
            assert_eq!(contents.certs, original.certs, "byte {at}");
        }
    }
}

#[test]
fn debug_never_shows_a_key() {
    let contents = read(&fixture("go-provider-rsa.pfx.b64"), "").unwrap();
    let text = format!("{contents:?}");
    assert_eq!(text, "PfxContents { keys: [1 redacted], certs: 1 }");
}
