//! PEM key files in the forms kube-apiserver's `--service-account-key-file`
//! and `--service-account-signing-key-file` accept: PKIX `PUBLIC KEY`,
//! PKCS#1 `RSA PUBLIC KEY` and `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY` and
//! SEC1 `EC PRIVATE KEY` (an `EC PARAMETERS` block, as `openssl ecparam
//! -genkey` writes, is skipped). A private key stands for its public half,
//! and is kept so that `azwi issuer` can sign its self-check token.
//!
//! Certificates and encrypted keys are refused with a message saying how to
//! get the plain key, rather than guessed at.

use std::path::Path;

use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _, ObjectIdentifier};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};

use crate::Error;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// A public key of a kind kube-apiserver signs ServiceAccount tokens with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA, for RS256.
    Rsa(rsa::RsaPublicKey),
    /// ECDSA on P-256, for ES256.
    P256(p256::PublicKey),
    /// ECDSA on P-384, for ES384.
    P384(p384::PublicKey),
    /// ECDSA on P-521, for ES512.
    P521(p521::PublicKey),
}

/// A private key read from a file, kept only to sign the issuer self-check
/// token. Its `Debug` names the algorithm, never the key.
#[derive(Clone)]
#[non_exhaustive]
pub enum PrivateKey {
    /// RSA (boxed: it is several times the size of the EC keys).
    Rsa(Box<rsa::RsaPrivateKey>),
    /// ECDSA on P-256.
    P256(p256::SecretKey),
    /// ECDSA on P-384.
    P384(p384::SecretKey),
    /// ECDSA on P-521.
    P521(p521::SecretKey),
}

/// One key found in a file: its public half, and its private half when the
/// file held a private key.
#[derive(Clone, Debug)]
pub struct Key {
    /// The public key, which goes into the JWKS.
    pub public: PublicKey,
    /// The private key, when the PEM block was one.
    pub private: Option<PrivateKey>,
}

// === impl PublicKey ===

impl PublicKey {
    /// The key as PKIX `SubjectPublicKeyInfo` DER, re-encoded the way Go's
    /// `x509.MarshalPKIXPublicKey` does (EC points uncompressed), since that
    /// is what kube-apiserver hashes into the `kid`.
    pub fn pkix_der(&self) -> Vec<u8> {
        let der = match self {
            Self::Rsa(k) => k.to_public_key_der(),
            Self::P256(k) => k.to_public_key_der(),
            Self::P384(k) => k.to_public_key_der(),
            Self::P521(k) => k.to_public_key_der(),
        };
        der.expect("encoding a valid in-memory public key as DER cannot fail")
            .into_vec()
    }
}

// === impl PrivateKey ===

impl PrivateKey {
    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Self::P256(k) => PublicKey::P256(k.public_key()),
            Self::P384(k) => PublicKey::P384(k.public_key()),
            Self::P521(k) => PublicKey::P521(k.public_key()),
        }
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Rsa(_) => "Rsa",
            Self::P256(_) => "P256",
            Self::P384(_) => "P384",
            Self::P521(_) => "P521",
        };
        write!(f, "PrivateKey::{kind}(<redacted>)")
    }
}

// === reading files ===

/// Reads every key in a PEM file.
///
/// # Errors
///
/// [`Error::ReadKey`] when the file cannot be read, [`Error::BadKey`] when
/// it holds no key, a block that is not a supported key, or a key that does
/// not decode.
pub fn read_key_file(path: &Path) -> Result<Vec<Key>, Error> {
    let text = std::fs::read(path).map_err(|source| Error::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    parse_pem_keys(&text).map_err(|what| Error::BadKey {
        path: path.to_owned(),
        what,
    })
}

/// Every key in PEM text; the error says what is wrong, without the path
/// (the caller adds it).
pub fn parse_pem_keys(text: &[u8]) -> Result<Vec<Key>, String> {
    let text = std::str::from_utf8(text)
        .map_err(|_| "is not a PEM file (it is not text; DER keys are not supported)".to_owned())?;
    let mut keys = Vec::new();
    for (index, block) in pem_blocks(text)?.into_iter().enumerate() {
        let (label, der) = pem_rfc7468::decode_vec(block.as_bytes())
            .map_err(|e| format!("PEM block {} does not decode: {e}", index + 1))?;
        if let Some(key) = parse_block(label, &der)
            .map_err(|what| format!("{label} (PEM block {}): {what}", index + 1))?
        {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err("holds no public or private key".to_owned());
    }
    Ok(keys)
}

/// Splits PEM text into its `-----BEGIN ...-----` to `-----END ...-----`
/// blocks, ignoring text around them as Go's `pem.Decode` does.
fn pem_blocks(text: &str) -> Result<Vec<&str>, String> {
    const BEGIN: &str = "-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| "has a BEGIN line that is not closed with -----".to_owned())?;
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = rest[start..]
            .find(&end_marker)
            .ok_or_else(|| format!("has no {end_marker} line"))?;
        let block_end = start + end + end_marker.len();
        blocks.push(&rest[start..block_end]);
        rest = &rest[block_end..];
    }
    if blocks.is_empty() {
        return Err("is not a PEM file (no -----BEGIN line)".to_owned());
    }
    Ok(blocks)
}

fn parse_block(label: &str, der: &[u8]) -> Result<Option<Key>, String> {
    let public = |public| {
        Ok(Some(Key {
            public,
            private: None,
        }))
    };
    let private = |private: PrivateKey| {
        Ok(Some(Key {
            public: private.public_key(),
            private: Some(private),
        }))
    };
    match label {
        "PUBLIC KEY" => public(parse_pkix(der)?),
        "RSA PUBLIC KEY" => public(PublicKey::Rsa(
            rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|e| e.to_string())?,
        )),
        "RSA PRIVATE KEY" => private(PrivateKey::Rsa(Box::new(
            rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|e| e.to_string())?,
        ))),
        "PRIVATE KEY" => private(parse_pkcs8(der)?),
        "EC PRIVATE KEY" => private(parse_sec1(der)?),
        "EC PARAMETERS" => Ok(None),
        "ENCRYPTED PRIVATE KEY" => {
            Err("encrypted keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)".to_owned())
        }
        "CERTIFICATE" => Err(
            "certificates are not supported; extract the public key (openssl x509 -in CERT -pubkey -noout)"
                .to_owned(),
        ),
        other => Err(format!(
            "unsupported PEM type {other:?}; give PUBLIC KEY, RSA PUBLIC KEY, RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY"
        )),
    }
}

fn parse_pkix(der: &[u8]) -> Result<PublicKey, String> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(|e| e.to_string())?;
    let e = |e: spki::Error| e.to_string();
    match info.algorithm.oid {
        RSA_ENCRYPTION => Ok(PublicKey::Rsa(
            rsa::RsaPublicKey::from_public_key_der(der).map_err(e)?,
        )),
        EC_PUBLIC_KEY => match curve(info.algorithm.parameters_oid().ok())? {
            Curve::P256 => Ok(PublicKey::P256(
                p256::PublicKey::from_public_key_der(der).map_err(e)?,
            )),
            Curve::P384 => Ok(PublicKey::P384(
                p384::PublicKey::from_public_key_der(der).map_err(e)?,
            )),
            Curve::P521 => Ok(PublicKey::P521(
                p521::PublicKey::from_public_key_der(der).map_err(e)?,
            )),
        },
        other => Err(unsupported_algorithm(other)),
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
    let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| e.to_string())?;
    let e = |e: pkcs8::Error| e.to_string();
    match info.algorithm.oid {
        RSA_ENCRYPTION => Ok(PrivateKey::Rsa(Box::new(
            rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(e)?,
        ))),
        EC_PUBLIC_KEY => match curve(info.algorithm.parameters_oid().ok())? {
            Curve::P256 => Ok(PrivateKey::P256(
                p256::SecretKey::from_pkcs8_der(der).map_err(e)?,
            )),
            Curve::P384 => Ok(PrivateKey::P384(
                p384::SecretKey::from_pkcs8_der(der).map_err(e)?,
            )),
            Curve::P521 => Ok(PrivateKey::P521(
                p521::SecretKey::from_pkcs8_der(der).map_err(e)?,
            )),
        },
        other => Err(unsupported_algorithm(other)),
    }
}

fn parse_sec1(der: &[u8]) -> Result<PrivateKey, String> {
    let key = sec1::EcPrivateKey::try_from(der).map_err(|e| e.to_string())?;
    let named = key.parameters.and_then(|p| p.named_curve());
    let e = |e: p256::elliptic_curve::Error| format!("not a valid key: {e}");
    match curve(named)? {
        Curve::P256 => Ok(PrivateKey::P256(
            p256::SecretKey::from_slice(key.private_key).map_err(e)?,
        )),
        Curve::P384 => Ok(PrivateKey::P384(
            p384::SecretKey::from_slice(key.private_key).map_err(e)?,
        )),
        Curve::P521 => Ok(PrivateKey::P521(
            p521::SecretKey::from_slice(key.private_key).map_err(e)?,
        )),
    }
}

enum Curve {
    P256,
    P384,
    P521,
}

fn curve(oid: Option<ObjectIdentifier>) -> Result<Curve, String> {
    match oid {
        Some(SECP256R1) => Ok(Curve::P256),
        Some(SECP384R1) => Ok(Curve::P384),
        Some(SECP521R1) => Ok(Curve::P521),
        Some(other) => Err(format!(
            "EC curve {other} is not supported; kube-apiserver signs with P-256, P-384 or P-521"
        )),
        None => Err("EC key names no curve".to_owned()),
    }
}

fn unsupported_algorithm(oid: ObjectIdentifier) -> String {
    format!("key algorithm {oid} is not supported; use an RSA or ECDSA (P-256, P-384, P-521) key")
}
