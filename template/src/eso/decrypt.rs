//! ESO's `rsaDecrypt`: RSA-OAEP decryption with a PEM private key, for
//! values a provider stores encrypted.
//!
//! Source: external-secrets/external-secrets
//! `runtime/template/v2/decrypt.go` (the schemes, the hash names and the
//! error texts); Go's `crypto/rsa` for the OAEP failure text and the
//! refusal of keys under 1024 bits that Go 1.24 and later make.

use rsa::Oaep;
use rsa::traits::PublicKeyParts as _;

use super::pem::{self, PrivateKey};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add(
        "rsaDecrypt",
        &[Param::Str, Param::Str, Param::Str, Param::Str],
        None,
        rsa_decrypt,
    );
}

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// ESO's `getHash`: SHA-1 and SHA-512 by name, SHA-256 for anything
/// else (`None` and `SHA256` included).
fn oaep(hash: &[u8]) -> Oaep {
    match hash {
        b"SHA1" => Oaep::new::<sha1_010::Sha1>(),
        b"SHA512" => Oaep::new::<sha2::Sha512>(),
        _ => Oaep::new::<sha2::Sha256>(),
    }
}

/// `rsaDecrypt(scheme, hash, in, privateKey string) (string, error)`:
/// `in` unchanged for scheme `None`; for `RSA-OAEP`, `in` decrypted with
/// the RSA key of the first PEM block of `privateKey` (PKCS#1 or PKCS#8),
/// OAEP over `hash` with an empty label.
fn rsa_decrypt(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (scheme, hash, input, private_key) = (
        str_arg(&args, 0),
        str_arg(&args, 1),
        str_arg(&args, 2),
        str_arg(&args, 3),
    );
    match scheme {
        b"None" => Ok(Value::str(input)),
        b"RSA-OAEP" => {
            let (Some(block), _) = pem::decode(private_key) else {
                return Err(FuncError::new("failed to decode PEM block"));
            };
            let Some(key) = pem::parse_private_key(&block.bytes) else {
                return Err(FuncError::new(
                    "could not parse private key: unable to parse private key type",
                ));
            };
            let PrivateKey::Rsa(key) = key else {
                return Err(FuncError::new("could not parse RSA private key"));
            };
            let bits = key.n().bits();
            if bits < 1024 {
                return Err(FuncError::new(format!(
                    "error decrypting data with RSA: crypto/rsa: {bits}-bit keys are insecure \
                     (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
                )));
            }
            key.decrypt(oaep(hash), input).map(Value::str).map_err(|_| {
                FuncError::new("error decrypting data with RSA: crypto/rsa: decryption error")
            })
        }
        other => Err(FuncError::new(format!(
            "decryption scheme {} is not supported",
            pem::go_string_lossy(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::rand_core::{CryptoRng, RngCore};

    use super::super::pem::tests::{call, s};
    use super::*;

    const PK_RSA_PKCS8: &str = include_str!("../../tests/data/eso/rsaDecryptPKRSAPKCS8.pem");
    const DATA_PKCS8_B64: &str = include_str!("../../tests/data/eso/rsaDecryptDataPKCS8Base64.b64");
    const PK_RSA_PKCS1: &str = include_str!("../../tests/data/eso/rsaDecryptPKRSAPKCS1.pem");
    const DATA_PKCS1_B64: &str = include_str!("../../tests/data/eso/rsaDecryptDataPKCS1Base64.b64");
    const PUB_RSA_PKCS1: &str = include_str!("../../tests/data/eso/rsaDecryptPubKeyRSAPKCS1.pem");

    /// A deterministic source for the tests' own encryptions.
    struct Counter(u64);

    impl RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for Counter {}

    fn decrypt(scheme: &str, hash: &str, input: &[u8], key: &str) -> Result<Value, FuncError> {
        call(
            "rsaDecrypt",
            vec![s(scheme), s(hash), Value::str(input), s(key)],
        )
    }

    fn plain(v: Result<Value, FuncError>) -> Vec<u8> {
        v.unwrap().as_str().unwrap().as_bytes().to_vec()
    }

    /// ESO's `generateRSAPrivateKeyPEM`: a PKCS#1 "RSA PRIVATE KEY" block
    /// (here of the PKCS#8 test key, rather than a fresh one).
    fn pkcs1_pem() -> (String, rsa::RsaPublicKey) {
        let (block, _) = pem::decode(PK_RSA_PKCS8.as_bytes());
        let PrivateKey::Rsa(key) = pem::parse_pkcs8_private_key(&block.unwrap().bytes).unwrap()
        else {
            panic!("not RSA")
        };
        let pkcs8 = pem::marshal_pkcs8(&PrivateKey::Rsa(key.clone())).unwrap();
        // The PKCS#1 body is PKCS#8's last OCTET STRING.
        let mut outer = pem::der::Reader::new(&pkcs8);
        let mut r = pem::der::Reader::new(outer.expect(pem::der::SEQUENCE).unwrap());
        r.read().unwrap();
        r.read().unwrap();
        let pkcs1 = r.expect(pem::der::OCTET_STRING).unwrap();
        let text = String::from_utf8(pem::encode("RSA PRIVATE KEY", pkcs1)).unwrap();
        (text, key.to_public_key())
    }

    #[test]
    fn none_scheme() {
        // ESO: decrypt_test.go TestRsaDecrypt_NoneScheme.
        assert_eq!(
            plain(decrypt("None", "SHA256", b"plaintext", "irrelevant")),
            b"plaintext"
        );
    }

    #[test]
    fn invalid_pem() {
        // ESO: decrypt_test.go TestRsaDecrypt_InvalidPEM.
        assert_eq!(
            decrypt("RSA-OAEP", "SHA256", b"data", "not-a-valid-pem").unwrap_err(),
            FuncError::new("failed to decode PEM block")
        );
    }

    #[test]
    fn invalid_private_key() {
        // ESO: decrypt_test.go TestRsaDecrypt_InvalidPrivateKey.
        let block = String::from_utf8(pem::encode("CERTIFICATE", b"invalid")).unwrap();
        let err = decrypt("RSA-OAEP", "SHA256", b"data", &block).unwrap_err();
        assert!(err.0.starts_with("could not parse private key"), "{err:?}");
    }

    #[test]
    fn unsupported_scheme() {
        // ESO: decrypt_test.go TestRsaDecrypt_UnsupportedScheme.
        let (key, _) = pkcs1_pem();
        assert_eq!(
            decrypt("Unsupported", "SHA256", b"data", &key).unwrap_err(),
            FuncError::new("decryption scheme Unsupported is not supported")
        );
    }

    #[test]
    fn rsa_oaep_success() {
        // ESO: decrypt_test.go TestRsaDecrypt_RSAOAEP_Success.
        let (key, public) = pkcs1_pem();
        let ciphertext = public
            .encrypt(&mut Counter(1), Oaep::new::<sha2::Sha256>(), b"secret-data")
            .unwrap();
        assert_eq!(
            plain(decrypt("RSA-OAEP", "SHA256", &ciphertext, &key)),
            b"secret-data"
        );
        // SHA-512 and SHA-1 by name; an unknown name is SHA-256.
        for (hash, oaep) in [
            ("SHA512", Oaep::new::<sha2::Sha512>()),
            ("SHA1", Oaep::new::<sha1_010::Sha1>()),
            ("None", Oaep::new::<sha2::Sha256>()),
            ("MD5", Oaep::new::<sha2::Sha256>()),
        ] {
            let ciphertext = public.encrypt(&mut Counter(2), oaep, b"x").unwrap();
            assert_eq!(
                plain(decrypt("RSA-OAEP", hash, &ciphertext, &key)),
                b"x",
                "{hash}"
            );
        }
    }

    #[test]
    fn rsa_oaep_decryption_error() {
        // ESO: decrypt_test.go TestRsaDecrypt_RSAOAEP_DecryptionError.
        let (key, _) = pkcs1_pem();
        let err = decrypt("RSA-OAEP", "SHA256", b"not-encrypted-data", &key).unwrap_err();
        assert_eq!(
            err,
            FuncError::new("error decrypting data with RSA: crypto/rsa: decryption error")
        );
    }

    #[test]
    fn template_cases() {
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.decode(t).unwrap();
        // ESO: template_test.go TestExecute "rsa decrypt rsa-oaep sha1
        // pkcs8 data base64".
        assert_eq!(
            plain(decrypt(
                "RSA-OAEP",
                "SHA1",
                &b64(DATA_PKCS8_B64),
                PK_RSA_PKCS8
            )),
            b"a1b2c3d4"
        );
        // ESO: template_test.go TestExecute "rsa decrypt rsa-oaep sha256
        // pkcs1 data base64".
        assert_eq!(
            plain(decrypt(
                "RSA-OAEP",
                "SHA256",
                &b64(DATA_PKCS1_B64),
                PK_RSA_PKCS1
            )),
            b"hellopkcs1sha256"
        );
        // ESO: template_test.go TestExecute "rsa decrypt rsa-oaep sha256
        // pkcs1 data bin" (encrypted with rsaDecryptPubKeyRSAPKCS1).
        let (block, _) = pem::decode(PUB_RSA_PKCS1.as_bytes());
        let public = rsa::RsaPublicKey::from_public_key_der(&block.unwrap().bytes).unwrap();
        let ciphertext = public
            .encrypt(
                &mut Counter(3),
                Oaep::new::<sha2::Sha256>(),
                b"hellopkcs1sha256",
            )
            .unwrap();
        assert_eq!(
            plain(decrypt("RSA-OAEP", "SHA256", &ciphertext, PK_RSA_PKCS1)),
            b"hellopkcs1sha256"
        );
    }

    #[test]
    fn non_rsa_and_small_keys_are_refused() {
        let foo_key = include_str!("../../tests/data/eso/foo.key");
        assert_eq!(
            decrypt("RSA-OAEP", "SHA256", b"x", foo_key).unwrap_err(),
            FuncError::new("could not parse RSA private key")
        );
        let small = rsa::RsaPrivateKey::new(&mut Counter(4), 512).unwrap();
        let pem_text = String::from_utf8(pem::encode(
            "PRIVATE KEY",
            &pem::marshal_pkcs8(&PrivateKey::Rsa(Box::new(small))).unwrap(),
        ))
        .unwrap();
        assert_eq!(
            decrypt("RSA-OAEP", "SHA256", b"x", &pem_text).unwrap_err(),
            FuncError::new(
                "error decrypting data with RSA: crypto/rsa: 512-bit keys are insecure \
                 (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
            )
        );
    }
}
