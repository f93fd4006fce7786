//! The PKCS#12 (PFX) Key Vault serves as a certificate's secret, in Key
//! Vault's own algorithms, written by a small DER encoder over RustCrypto
//! primitives (no OpenSSL).
//!
//! The layout and algorithms are those of a PFX real Key Vault returned
//! for `GET /secrets/{name}` of a certificate with content type
//! `application/x-pkcs12`, recorded by Azure/azure-sdk-for-js in
//! `sdk/keyvault/keyvault-certificates/recordings/node/certificates_client__create_read_update_and_delete/`
//! ("can get a certificate's secret in PKCS#12 format", 2020-06-25);
//! `openssl pkcs12 -info` on that value reads:
//!
//! ```text
//! MAC: sha1, Iteration 1
//! MAC length: 20, salt length: 20
//! PKCS7 Data
//! Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2000
//! PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 2000
//! Certificate bag
//! ```
//!
//! with an empty password taken as the zero-length one (no bytes, as Windows
//! writes a PFX for a null password: the recording's MAC verifies only
//! that way, not with RFC 7292's empty BMPString of two zero bytes, so
//! readers that try only the RFC's form refuse Key Vault's PFX), the key's
//! and the leaf's `localKeyID` both
//! `01 00 00 00`, the key's bag first, and a MAC `DigestInfo` whose SHA-1
//! algorithm identifier has no NULL parameters. A single writer choice of
//! algorithm (p12-keystore's) cannot give the key and the certificates
//! different ciphers, hence this module.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherEncrypt, BlockModeEncrypt as _, KeyInit, KeyIvInit as _};
use hmac::Mac as _;
use pkcs12::kdf::{Pkcs12KeyType, derive_key};
use sha1::Sha1;

use azure_wi_auth::pfx::oid::{
    CERT_BAG, DATA, ENCRYPTED_DATA, LOCAL_KEY_ID, SHROUDED_KEY_BAG, X509_CERTIFICATE,
};
pub use azure_wi_auth::pfx::oid::{PBE_SHA1_3DES, PBE_SHA1_RC2_40, SHA1};

/// Key Vault's iteration count for both bags' encryption.
const ITERATIONS: u32 = 2000;
/// Key Vault's `localKeyID`, tying the key to the leaf.
const KEY_ID: [u8; 4] = [1, 0, 0, 0];

/// Why a PFX could not be written (never for valid input: the ciphers'
/// key and IV sizes are fixed).
#[derive(Debug, thiserror::Error)]
pub enum PfxError {
    /// A derived key or IV had the wrong length for its cipher.
    #[error("cipher key or IV of the wrong length")]
    KeyLength,
}

/// A PFX with the zero-length password (see the module docs) holding `pkcs8` (shrouded with 3DES) and
/// `certs` (leaf first, encrypted with RC2-40), MAC'd with HMAC-SHA-1.
///
/// # Errors
///
/// [`PfxError`] if the key derivation fails.
pub fn write(pkcs8: &[u8], certs: &[Vec<u8>]) -> Result<Vec<u8>, PfxError> {
    let password: &[u8] = &[];
    let key_id_attr = set(&seq(&[oid(LOCAL_KEY_ID), set(&octets(&KEY_ID))].concat()));

    let (salt, encrypted_key) = encrypt::<des::TdesEde3>(pkcs8, password, 24)?;
    let shrouded = seq(&[alg(PBE_SHA1_3DES, &salt), octets(&encrypted_key)].concat());
    let key_bag = seq(&[
        oid(SHROUDED_KEY_BAG),
        explicit0(&shrouded),
        key_id_attr.clone(),
    ]
    .concat());
    let key_contents = seq(&key_bag);

    let mut cert_bags = Vec::new();
    for (i, der) in certs.iter().enumerate() {
        let cert_bag = seq(&[oid(X509_CERTIFICATE), explicit0(&octets(der))].concat());
        let mut bag = [oid(CERT_BAG), explicit0(&cert_bag)].concat();
        if i == 0 {
            bag.extend_from_slice(&key_id_attr);
        }
        cert_bags.extend_from_slice(&seq(&bag));
    }
    let (salt, encrypted_certs) = encrypt::<rc2::Rc2>(&seq(&cert_bags), password, 5)?;
    let encrypted_data = seq(&[
        integer(0),
        seq(&[
            oid(DATA),
            alg(PBE_SHA1_RC2_40, &salt),
            tlv(0x80, &encrypted_certs),
        ]
        .concat()),
    ]
    .concat());

    let auth_safe = seq(&[
        seq(&[oid(DATA), explicit0(&octets(&key_contents))].concat()),
        seq(&[oid(ENCRYPTED_DATA), explicit0(&encrypted_data)].concat()),
    ]
    .concat());

    let mac_salt: [u8; 20] = rand::random();
    let mac_key = derive_key::<Sha1>(password, &mac_salt, Pkcs12KeyType::Mac, 1, 20);
    let mut mac = hmac::Hmac::<Sha1>::new_from_slice(&mac_key).map_err(|_| PfxError::KeyLength)?;
    mac.update(&auth_safe);
    let digest = mac.finalize().into_bytes();
    let mac_data = seq(&[
        seq(&[seq(&oid(SHA1)), octets(&digest)].concat()),
        octets(&mac_salt),
    ]
    .concat());

    Ok(seq(&[
        integer(3),
        seq(&[oid(DATA), explicit0(&octets(&auth_safe))].concat()),
        mac_data,
    ]
    .concat()))
}

/// PKCS#12 PBE (RFC 7292 appendix B) in CBC with PKCS#7 padding, under a
/// fresh 8-byte salt (Key Vault's length). Returns the salt and the
/// ciphertext.
fn encrypt<C>(plain: &[u8], password: &[u8], key_len: usize) -> Result<([u8; 8], Vec<u8>), PfxError>
where
    C: KeyInit + BlockCipherEncrypt,
{
    let salt: [u8; 8] = rand::random();
    let iterations = i32::try_from(ITERATIONS).unwrap_or(i32::MAX);
    let kdf = |kind, len| derive_key::<Sha1>(password, &salt, kind, iterations, len);
    let key = kdf(Pkcs12KeyType::EncryptionKey, key_len);
    let iv = kdf(Pkcs12KeyType::Iv, 8);
    let cipher =
        cbc::Encryptor::<C>::new_from_slices(&key, &iv).map_err(|_| PfxError::KeyLength)?;
    Ok((salt, cipher.encrypt_padded_vec::<Pkcs7>(plain)))
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(content: &[u8]) -> Vec<u8> {
    tlv(0x30, content)
}

fn set(content: &[u8]) -> Vec<u8> {
    tlv(0x31, content)
}

fn oid(der: &[u8]) -> Vec<u8> {
    tlv(0x06, der)
}

fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

fn explicit0(content: &[u8]) -> Vec<u8> {
    tlv(0xa0, content)
}

/// A small non-negative INTEGER (the version numbers and the iteration
/// count, all below 2^15).
fn integer(value: u32) -> Vec<u8> {
    let bytes: Vec<u8> = value
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut content = if bytes.is_empty() { vec![0] } else { bytes };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// `AlgorithmIdentifier { oid, pkcs-12PbeParams { salt, iterations } }`.
fn alg(algorithm: &[u8], salt: &[u8]) -> Vec<u8> {
    seq(&[
        oid(algorithm),
        seq(&[octets(salt), integer(ITERATIONS)].concat()),
    ]
    .concat())
}

/// The algorithms a PFX says it is protected with, as this module writes
/// its layout (the key's safe first, in clear; the certificates' safe
/// encrypted): for checking what a vault serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms {
    /// The shrouded key bag's PBE OID (DER content bytes).
    pub key: Vec<u8>,
    /// The certificates' `EncryptedData` PBE OID.
    pub certs: Vec<u8>,
    /// The MAC's digest OID.
    pub mac: Vec<u8>,
    /// The MAC's iteration count, when given (absent means 1).
    pub mac_iterations: Option<Vec<u8>>,
}

/// Reads [`Algorithms`] from a PFX; `None` when it is not laid out as Key
/// Vault lays it out.
pub fn algorithms(pfx: &[u8]) -> Option<Algorithms> {
    let (_, pfx, _) = read(pfx)?;
    let top = children(pfx)?;
    let auth_safe = children(top.get(1)?.1)?;
    let (_, auth_safe, _) = read(auth_safe.get(1)?.1)?;
    let (_, auth_safe, _) = read(auth_safe)?;
    let safes = children(auth_safe)?;
    let key_safe = children(safes.first()?.1)?;
    (key_safe.first()?.1 == DATA).then_some(())?;
    let (_, key_contents, _) = read(key_safe.get(1)?.1)?;
    let (_, key_contents, _) = read(key_contents)?;
    let bags = children(key_contents)?;
    let bag = children(bags.first()?.1)?;
    (bag.first()?.1 == SHROUDED_KEY_BAG).then_some(())?;
    let (_, epki, _) = read(bag.get(1)?.1)?;
    let epki = children(epki)?;
    let key = children(epki.first()?.1)?.first()?.1.to_vec();
    let cert_safe = children(safes.get(1)?.1)?;
    (cert_safe.first()?.1 == ENCRYPTED_DATA).then_some(())?;
    let (_, encrypted, _) = read(cert_safe.get(1)?.1)?;
    let encrypted = children(encrypted)?;
    let eci = children(encrypted.get(1)?.1)?;
    let certs = children(eci.get(1)?.1)?.first()?.1.to_vec();
    let mac = children(top.get(2)?.1)?;
    let digest_info = children(mac.first()?.1)?;
    let mac_alg = children(digest_info.first()?.1)?.first()?.1.to_vec();
    Some(Algorithms {
        key,
        certs,
        mac: mac_alg,
        mac_iterations: mac.get(2).map(|(_, i)| i.to_vec()),
    })
}

/// One DER element: tag, content, and what follows.
fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let len = input.get(2..2 + n)?.iter().try_fold(0usize, |acc, b| {
            acc.checked_mul(256)?.checked_add(usize::from(*b))
        })?;
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

/// The elements of a constructed content.
fn children(mut content: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, inner, rest) = read(content)?;
        out.push((tag, inner));
        content = rest;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvault::material::{self, KeyMaterial};

    /// What Key Vault's own PFX says: the value recorded by
    /// Azure/azure-sdk-for-js (see the module's documentation).
    fn key_vaults() -> Algorithms {
        use base64::Engine as _;
        let b64: String = include_str!("../../testdata/key-vault-recorded.pfx.b64")
            .split_whitespace()
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        algorithms(&der).expect("Key Vault's PFX has the layout")
    }

    #[test]
    fn key_vaults_recorded_pfx_is_3des_rc2_40_and_sha1() {
        assert_eq!(
            key_vaults(),
            Algorithms {
                key: PBE_SHA1_3DES.to_vec(),
                certs: PBE_SHA1_RC2_40.to_vec(),
                mac: SHA1.to_vec(),
                mac_iterations: None,
            }
        );
    }

    #[test]
    fn writes_key_vaults_algorithms() {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).expect("key");
        let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&key).expect("der");
        let pfx = write(pkcs8.as_bytes(), &[vec![0x30, 0x00]]).expect("written");
        assert_eq!(algorithms(&pfx), Some(key_vaults()));
    }

    #[test]
    fn a_reader_verifies_the_mac_and_decrypts_both_bags() {
        let key = KeyMaterial::from_spec(&crate::config::KeySpec::rsa(2048)).expect("key");
        let leaf = material::issue(&key, "CN=pfx", &[], 1, None).expect("leaf");
        let certs = vec![leaf.leaf.clone()];
        let pfx = write(key.pkcs8_der(), &certs).expect("written");
        let read = azure_wi_auth::pfx::read(&pfx, "").expect("it reads");
        assert_eq!(read.keys.len(), 1);
        assert_eq!(read.keys[0].as_slice(), key.pkcs8_der());
        assert_eq!(read.certs, certs);
        assert_eq!(
            azure_wi_auth::pfx::read(&pfx, "x").unwrap_err(),
            azure_wi_auth::pfx::PfxError::Password,
            "the MAC binds the empty password"
        );
    }

    /// Key Vault's PFX and ours verify only with the zero-length password:
    /// a reader that tries only RFC 7292's empty BMPString refuses both.
    #[test]
    fn the_empty_password_is_the_zero_length_one_as_in_key_vaults() {
        use base64::Engine as _;
        let recorded = base64::engine::general_purpose::STANDARD
            .decode(
                include_str!("../../testdata/key-vault-recorded.pfx.b64")
                    .split_whitespace()
                    .collect::<String>(),
            )
            .expect("base64");
        let key = KeyMaterial::from_spec(&crate::config::KeySpec::rsa(2048)).expect("key");
        let leaf = material::issue(&key, "CN=pfx", &[], 1, None).expect("leaf");
        let ours = write(key.pkcs8_der(), &[leaf.leaf]).expect("written");
        for pfx in [&recorded, &ours] {
            assert!(p12_keystore::Pkcs12Archive::from_pkcs12(pfx, "").is_err());
            assert!(azure_wi_auth::pfx::read(pfx, "").is_ok());
        }
    }

    #[test]
    fn long_lengths_are_encoded_in_minimal_bytes() {
        assert_eq!(tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 0x100])[..4], [0x04, 0x82, 0x01, 0x00]);
        assert_eq!(integer(2000), [0x02, 0x02, 0x07, 0xd0]);
        assert_eq!(integer(0), [0x02, 0x01, 0x00]);
    }
}
