//! Reading a certificate's PKCS#12 (PFX) as Key Vault serves it: the
//! private keys (PKCS#8 DER) and the certificates (DER), in archive order.
//!
//! Key Vault serves a certificate's secret (content type
//! `application/x-pkcs12`) as a PFX without a password whose MAC and bag
//! encryption use the *zero-length* password: no bytes at all, as Windows
//! and .NET write a PFX for a null password. RFC 7292 (appendix B.1) turns
//! the empty password into the two zero bytes of an empty, terminated
//! BMPString instead, and that is all p12-keystore tries, so it refuses
//! Key Vault's own PFX ("MAC tag mismatch"). Go's `x/crypto/pkcs12` (the
//! Go CSI provider's reader) and OpenSSL retry with the zero-length
//! password; so does [`read`]. Checked against a PFX real Key Vault
//! returned for `GET /secrets/{name}` (Azure/azure-sdk-for-js, recording
//! "can get a certificate's secret in PKCS#12 format", 2020-04-28) and the
//! one in the Go provider's `TestDecodePKCS12`: both verify only with the
//! zero-length password.
//!
//! The legacy algorithms Key Vault and Windows use (PKCS#12 PBE with
//! 3DES or RC2, HMAC-SHA-1 or SHA-256 MAC) are read here; anything else
//! (PBES2 with AES, as OpenSSL 3 writes) is left to p12-keystore.

use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _, block_padding::Pkcs7};
use hmac::{KeyInit as _, Mac as _};
use pkcs12::kdf::{Pkcs12KeyType, derive_key};
use zeroize::Zeroizing;

/// What a PFX holds.
pub struct PfxContents {
    /// Private keys, PKCS#8 DER, in archive order.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Certificates, DER, in archive order.
    pub certs: Vec<Vec<u8>>,
}

impl std::fmt::Debug for PfxContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PfxContents")
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .field("certs", &self.certs.len())
            .finish()
    }
}

/// Why a PFX could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PfxError {
    /// The bytes are not a PKCS#12 structure.
    #[error("not a PKCS#12 archive ({0})")]
    Malformed(&'static str),
    /// The MAC does not verify, or a bag does not decrypt, with the
    /// password (nor, for an empty one, with the zero-length password).
    #[error("its MAC or encryption does not match the password")]
    Password,
    /// An algorithm p12-keystore could not read either.
    #[error("{0}")]
    Unreadable(String),
}

/// The most iterations of the PKCS#12 key derivation accepted, as
/// p12-keystore bounds them: more is not a real archive but CPU.
const MAX_ITERATIONS: u32 = 1_000_000;

/// Reads `der` with `password` (`""` for Key Vault's PFX).
///
/// # Errors
///
/// [`PfxError`] when neither this reader nor p12-keystore can read it.
pub fn read(der: &[u8], password: &str) -> Result<PfxContents, PfxError> {
    let own = legacy(der, password);
    match own {
        Ok(contents) => Ok(contents),
        Err(Unsupported) => p12_keystore::Pkcs12Archive::from_pkcs12(der, password)
            .map(|archive| PfxContents {
                keys: archive
                    .keys
                    .iter()
                    .map(|bag| Zeroizing::new(bag.key.as_der().to_vec()))
                    .collect(),
                certs: archive
                    .certs
                    .iter()
                    .map(|bag| bag.cert.as_der().to_vec())
                    .collect(),
            })
            .map_err(|e| PfxError::Unreadable(e.to_string())),
        Err(Failed(e)) => Err(e),
    }
}

/// Why [`legacy`] did not read an archive.
enum Legacy {
    /// An algorithm outside PKCS#12 PBE (p12-keystore may know it).
    Unsupported,
    Failed(PfxError),
}
use Legacy::{Failed, Unsupported};

impl From<PfxError> for Legacy {
    fn from(e: PfxError) -> Self {
        Failed(e)
    }
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
const OID: u8 = 0x06;
const EXPLICIT_0: u8 = 0xa0;
const IMPLICIT_0: u8 = 0x80;

/// The object identifiers of PKCS#12 (RFC 7292) and PKCS#7, DER-encoded
/// without tag and length: what a PFX reader and writer both name.
pub mod oid {
    /// `id-data`.
    pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    /// `id-encryptedData`.
    pub const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
    /// `keyBag`.
    pub const KEY_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
    ];
    /// `pkcs8ShroudedKeyBag`.
    pub const SHROUDED_KEY_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
    ];
    /// `certBag`.
    pub const CERT_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
    ];
    /// `x509Certificate`, a certBag's type.
    pub const X509_CERTIFICATE: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
    /// `localKeyID`, the attribute tying a key to its certificate.
    pub const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
    /// `id-sha1`.
    pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    /// `id-sha256`.
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    /// `pkcs-12PbeIds` (RFC 7292 appendix C): `pbeWithSHAAnd<cipher>` is
    /// this with one more arc naming the cipher.
    pub const PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
    /// `pbeWithSHAAnd3-KeyTripleDES-CBC`, Key Vault's for the key.
    pub const PBE_SHA1_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
    /// `pbeWithSHAAnd40BitRC2-CBC`, Key Vault's for the certificates.
    pub const PBE_SHA1_RC2_40: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x06];
}
use oid::{
    CERT_BAG, DATA, ENCRYPTED_DATA, KEY_BAG, PBE_PREFIX, SHA1, SHA256, SHROUDED_KEY_BAG,
    X509_CERTIFICATE,
};

/// One DER element after another, definite lengths only.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element's tag and content.
    fn next(&mut self) -> Result<(u8, &'a [u8]), PfxError> {
        let truncated = PfxError::Malformed("truncated");
        let (&tag, rest) = self.0.split_first().ok_or(truncated.clone())?;
        let (&first, rest) = rest.split_first().ok_or(truncated.clone())?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(PfxError::Malformed("indefinite (BER) length"));
            }
            if count > 4 {
                return Err(PfxError::Malformed("length too large"));
            }
            let bytes = rest.get(..count).ok_or(truncated.clone())?;
            let len = bytes
                .iter()
                .fold(0usize, |len, b| (len << 8) | usize::from(*b));
            (len, &rest[count..])
        };
        let content = rest.get(..len).ok_or(truncated)?;
        self.0 = &rest[len..];
        Ok((tag, content))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], PfxError> {
        match self.next()? {
            (t, content) if t == tag => Ok(content),
            _ => Err(PfxError::Malformed(what)),
        }
    }

    /// An OCTET STRING, primitive or constructed of primitive chunks.
    fn octets(&mut self, what: &'static str) -> Result<Vec<u8>, PfxError> {
        match self.next()? {
            (OCTET_STRING, content) => Ok(content.to_vec()),
            (OCTET_STRING_CONSTRUCTED, content) => chunks(content, OCTET_STRING, what),
            _ => Err(PfxError::Malformed(what)),
        }
    }
}

/// The concatenated contents of `tag` elements in `content`.
fn chunks(content: &[u8], tag: u8, what: &'static str) -> Result<Vec<u8>, PfxError> {
    let mut inner = Der(content);
    let mut out = Vec::new();
    while !inner.is_empty() {
        out.extend_from_slice(inner.expect(tag, what)?);
    }
    Ok(out)
}

/// A small non-negative INTEGER (versions, iteration counts).
fn small_integer(content: &[u8]) -> Result<u32, PfxError> {
    if content.is_empty() || content.len() > 4 || content[0] & 0x80 != 0 {
        return Err(PfxError::Malformed("an iteration count out of range"));
    }
    Ok(content.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)))
}

/// The password's bytes to try: the RFC's terminated BMPString, then for
/// the empty password the zero-length one.
fn candidates(password: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let mut bmp: Vec<u8> = password
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .chain([0, 0])
        .collect();
    let mut out = vec![Zeroizing::new(std::mem::take(&mut bmp))];
    if password.is_empty() {
        out.push(Zeroizing::new(Vec::new()));
    }
    out
}

/// Reads an archive whose encryption is PKCS#12 PBE, trying each password
/// encoding the MAC accepts.
fn legacy(der: &[u8], password: &str) -> Result<PfxContents, Legacy> {
    let mut outer = Der(der);
    let mut pfx = Der(outer.expect(SEQUENCE, "PFX")?);
    let version = small_integer(pfx.expect(INTEGER, "version")?)?;
    if version != 3 {
        return Err(PfxError::Malformed("version is not 3").into());
    }
    let mut auth_safe = Der(pfx.expect(SEQUENCE, "authSafe")?);
    if auth_safe.expect(OID, "authSafe content type")? != DATA {
        // Public-key integrity mode: not a Key Vault archive.
        return Err(Unsupported);
    }
    let content = Der(auth_safe.expect(EXPLICIT_0, "authSafe content")?).octets("authSafe")?;
    let passwords = candidates(password);
    let passwords: Vec<&[u8]> = if pfx.is_empty() {
        passwords.iter().map(|p| p.as_slice()).collect()
    } else {
        let mac = pfx.expect(SEQUENCE, "macData")?;
        let verified = mac_password(mac, &content, &passwords)?;
        vec![verified]
    };
    let mut last = PfxError::Password;
    for password in passwords {
        match contents(&content, password) {
            Ok(found) => return Ok(found),
            Err(Failed(e)) => last = e,
            Err(Unsupported) => return Err(Unsupported),
        }
    }
    Err(Failed(last))
}

/// The candidate the MAC verifies with.
fn mac_password<'p>(
    mac: &[u8],
    content: &[u8],
    passwords: &'p [Zeroizing<Vec<u8>>],
) -> Result<&'p [u8], Legacy> {
    let mut mac = Der(mac);
    let mut digest_info = Der(mac.expect(SEQUENCE, "macData digest")?);
    let mut algorithm = Der(digest_info.expect(SEQUENCE, "macData algorithm")?);
    let oid = algorithm.expect(OID, "macData algorithm")?;
    let digest = digest_info.expect(OCTET_STRING, "macData digest")?;
    let salt = mac.expect(OCTET_STRING, "macData salt")?;
    let iterations = if mac.is_empty() {
        1
    } else {
        small_integer(mac.expect(INTEGER, "macData iterations")?)?
    };
    let iterations = rounds(iterations)?;
    // HMAC over the content with the key the password derives, for the
    // MAC's digest.
    macro_rules! verifies {
        ($digest:ty, $len:expr, $password:expr) => {{
            let key = derive_key::<$digest>($password, salt, Pkcs12KeyType::Mac, iterations, $len);
            hmac::Hmac::<$digest>::new_from_slice(&key)
                .map(|mut m| {
                    m.update(content);
                    m.verify_slice(digest).is_ok()
                })
                .unwrap_or(false)
        }};
    }
    for password in passwords {
        let ok = match oid {
            SHA1 => verifies!(sha1::Sha1, 20, password),
            SHA256 => verifies!(sha2::Sha256, 32, password),
            _ => return Err(Unsupported),
        };
        if ok {
            return Ok(password);
        }
    }
    Err(Failed(PfxError::Password))
}

/// Iterations as the key derivation takes them, bounded.
fn rounds(iterations: u32) -> Result<i32, PfxError> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(PfxError::Malformed("an iteration count out of range"));
    }
    i32::try_from(iterations).map_err(|_| PfxError::Malformed("an iteration count out of range"))
}

/// The keys and certificates of an AuthenticatedSafe.
fn contents(auth_safe: &[u8], password: &[u8]) -> Result<PfxContents, Legacy> {
    let mut found = PfxContents {
        keys: Vec::new(),
        certs: Vec::new(),
    };
    let mut infos = Der(Der(auth_safe).expect(SEQUENCE, "AuthenticatedSafe")?);
    while !infos.is_empty() {
        let mut info = Der(infos.expect(SEQUENCE, "ContentInfo")?);
        let content_type = info.expect(OID, "ContentInfo type")?;
        let explicit = info.expect(EXPLICIT_0, "ContentInfo content")?;
        let safe_contents = match content_type {
            DATA => Zeroizing::new(Der(explicit).octets("SafeContents")?),
            ENCRYPTED_DATA => {
                let mut encrypted = Der(Der(explicit).expect(SEQUENCE, "EncryptedData")?);
                encrypted.expect(INTEGER, "EncryptedData version")?;
                let mut info = Der(encrypted.expect(SEQUENCE, "EncryptedContentInfo")?);
                info.expect(OID, "EncryptedContentInfo type")?;
                let algorithm = info.expect(SEQUENCE, "EncryptedContentInfo algorithm")?;
                let ciphertext = match info.next()? {
                    (IMPLICIT_0, content) => content.to_vec(),
                    (0xa0, content) => chunks(content, OCTET_STRING, "encrypted content")?,
                    _ => return Err(PfxError::Malformed("encrypted content").into()),
                };
                decrypt(algorithm, &ciphertext, password)?
            }
            _ => return Err(Unsupported),
        };
        bags(&safe_contents, password, &mut found)?;
    }
    Ok(found)
}

/// Adds the keys and certificates of a SafeContents to `found`.
fn bags(safe_contents: &[u8], password: &[u8], found: &mut PfxContents) -> Result<(), Legacy> {
    let mut bags = Der(Der(safe_contents).expect(SEQUENCE, "SafeContents")?);
    while !bags.is_empty() {
        let mut bag = Der(bags.expect(SEQUENCE, "SafeBag")?);
        let bag_id = bag.expect(OID, "SafeBag type")?;
        let value = bag.expect(EXPLICIT_0, "SafeBag value")?;
        if !bag.is_empty() && bag.peek() != Some(SET) {
            return Err(PfxError::Malformed("SafeBag attributes").into());
        }
        match bag_id {
            KEY_BAG => found.keys.push(Zeroizing::new(value.to_vec())),
            SHROUDED_KEY_BAG => {
                let mut shrouded = Der(Der(value).expect(SEQUENCE, "EncryptedPrivateKeyInfo")?);
                let algorithm = shrouded.expect(SEQUENCE, "EncryptedPrivateKeyInfo algorithm")?;
                let ciphertext = shrouded.expect(OCTET_STRING, "EncryptedPrivateKeyInfo data")?;
                found.keys.push(decrypt(algorithm, ciphertext, password)?);
            }
            CERT_BAG => {
                let mut cert_bag = Der(Der(value).expect(SEQUENCE, "CertBag")?);
                if cert_bag.expect(OID, "CertBag type")? == X509_CERTIFICATE {
                    let der = Der(cert_bag.expect(EXPLICIT_0, "CertBag value")?)
                        .octets("CertBag value")?;
                    found.certs.push(der);
                }
            }
            // CRLs, secrets and nested contents hold nothing mounted.
            _ => {}
        }
    }
    Ok(())
}

/// Decrypts with PKCS#12 PBE (RFC 7292 appendix B and C).
fn decrypt(
    algorithm: &[u8],
    ciphertext: &[u8],
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Legacy> {
    let mut algorithm = Der(algorithm);
    let oid = algorithm.expect(OID, "encryption algorithm")?;
    let Some((&arc, PBE_PREFIX)) = oid.split_last() else {
        return Err(Unsupported);
    };
    let mut params = Der(algorithm.expect(SEQUENCE, "PBE parameters")?);
    let salt = params.expect(OCTET_STRING, "PBE salt")?;
    let iterations = rounds(small_integer(params.expect(INTEGER, "PBE iterations")?)?)?;
    let derive = |kind, len| {
        Zeroizing::new(derive_key::<sha1::Sha1>(
            password, salt, kind, iterations, len,
        ))
    };
    let iv = derive(Pkcs12KeyType::Iv, 8);
    let plain = match arc {
        // pbeWithSHAAnd3-KeyTripleDES-CBC
        3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(
            &derive(Pkcs12KeyType::EncryptionKey, 24),
            &iv,
        )
        .map(|c| c.decrypt_padded_vec::<Pkcs7>(ciphertext)),
        // pbeWithSHAAnd2-KeyTripleDES-CBC
        4 => cbc::Decryptor::<des::TdesEde2>::new_from_slices(
            &derive(Pkcs12KeyType::EncryptionKey, 16),
            &iv,
        )
        .map(|c| c.decrypt_padded_vec::<Pkcs7>(ciphertext)),
        // pbeWithSHAAnd128BitRC2-CBC, pbeWithSHAAnd40BitRC2-CBC
        5 | 6 => cbc::Decryptor::<rc2::Rc2>::new_from_slices(
            &derive(Pkcs12KeyType::EncryptionKey, if arc == 5 { 16 } else { 5 }),
            &iv,
        )
        .map(|c| c.decrypt_padded_vec::<Pkcs7>(ciphertext)),
        _ => return Err(Unsupported),
    };
    match plain {
        Ok(Ok(plain)) => Ok(Zeroizing::new(plain)),
        // A wrong password shows as bad padding (or, rarely, as garbage
        // the DER reader refuses next).
        Ok(Err(_)) => Err(Failed(PfxError::Password)),
        Err(_) => Err(Failed(PfxError::Malformed("cipher key length"))),
    }
}

#[cfg(test)]
#[path = "pfx_tests.rs"]
mod tests;
